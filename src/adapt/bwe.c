/*
 * The downlink estimator (bwe.h has the algorithm and its constants).
 */
#include "adapt/bwe.h"

#include "common/invariant.h"

#include <math.h>
#include <string.h>

#define GROUP_MS 5
#define SMOOTHING 0.9
#define THRESHOLD_GAIN 4.0
#define K_UP 0.0087
#define K_DOWN 0.039
#define OVERUSE_MS 10.0
#define BETA 0.85
#define GROWTH 1.08 /* per second */
#define LOSS_INTERVAL_MS 300
#define LOSS_MIN_PACKETS 20
#define LOSS_STALE_MS 1000
#define REMB_ONLY_MS 2000 /* no transport-cc this long: REMB and RR decide */
#define PROBE_MS 150
#define PROBE_AFTER_OK_MS 1000
#define PROBE_AFTER_FAIL_MS 3000
#define PROBE_EVAL_MS 1500 /* feedback not covering a probe by its end + this: failed */
#define PROBE_MAX_LOSS 0.05
#define REWIND_BUCKETS 30 /* an arrival 3 s before the newest: the receiver's clock went back */

void hx_bwe_config_default(hx_bwe_config *c)
{
    c->min_bps = 100000;
    c->start_bps = 2000000;
    c->max_bps = 20000000;
}

const char *hx_bwe_config_check(const hx_bwe_config *c)
{
    if (c->min_bps < 30000) return "the minimum is under 30 kbps";
    if (c->max_bps > 1000000000u) return "the maximum is over 1 Gbps";
    if (c->min_bps > c->max_bps) return "the minimum is over the maximum";
    if (c->start_bps < c->min_bps || c->start_bps > c->max_bps)
        return "the start rate is outside minimum .. maximum";
    return NULL;
}

static double clampd(double v, double lo, double hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

static void update_estimate(hx_bwe *b, int64_t now_ms)
{
    double e = b->delay_bps < b->loss_bps ? b->delay_bps : b->loss_bps;
    bool remb_only = !b->twcc_ms || now_ms - b->twcc_ms > REMB_ONLY_MS;
    if (remb_only && b->remb_bps && b->remb_bps < e) e = b->remb_bps;
    e = clampd(e, b->cfg.min_bps, b->cfg.max_bps);
    b->estimate = (uint32_t)e;
    (void)HX_ALWAYS(b->estimate >= b->cfg.min_bps && b->estimate <= b->cfg.max_bps);
}

void hx_bwe_init(hx_bwe *b, const hx_bwe_config *cfg)
{
    memset(b, 0, sizeof *b);
    b->cfg = *cfg;
    b->delay_bps = b->loss_bps = cfg->start_bps;
    b->threshold = 12.5;
    b->bucket_at = -1;
    b->loss_first_arr = -1;
    b->loss_last_arr = INT64_MIN;
    b->estimate = cfg->start_bps;
}

uint32_t hx_bwe_acked(const hx_bwe *b)
{
    if (b->bucket_at < 0) return 0;
    /* Whole buckets only: the newest is still filling, and counted as 100 ms it read low. */
    uint64_t bytes = 0;
    int64_t n = b->bucket_at - b->acked_since;
    if (n > 10) n = 10;
    if (n < 3) return 0; /* under 300 ms of arrivals: not a rate yet */
    for (int64_t i = 1; i <= n; i++)
        bytes += b->bucket_bytes[(b->bucket_at - i) % HX_BWE_BUCKETS];
    uint64_t bps = bytes * 8 * 10 / (uint64_t)n;
    return bps > UINT32_MAX ? UINT32_MAX : (uint32_t)bps;
}

static void acked_add(hx_bwe *b, int64_t arrival_us, uint16_t size)
{
    int64_t at = arrival_us / 100000;
    if (b->bucket_at < 0) {
        b->bucket_at = b->acked_since = at;
        memset(b->bucket_bytes, 0, sizeof b->bucket_bytes);
    }
    if (at < b->bucket_at - REWIND_BUCKETS) {
        /* Far behind: the receiver's clock went back (transport-cc's 24-bit reference time
         * wraps every 12.4 days), not a late report. Start over from it, or the window would
         * stay on the old clock's last second and the rate would never change again. */
        b->bucket_at = b->acked_since = at;
        memset(b->bucket_bytes, 0, sizeof b->bucket_bytes);
    }
    if (at < b->bucket_at - (HX_BWE_BUCKETS - 1)) return; /* older than the window */
    if (at > b->bucket_at) {
        int64_t steps = at - b->bucket_at;
        if (steps > HX_BWE_BUCKETS) steps = HX_BWE_BUCKETS;
        for (int64_t i = 1; i <= steps; i++)
            b->bucket_bytes[(at - steps + i) % HX_BWE_BUCKETS] = 0;
        b->bucket_at = at;
    }
    if (at < b->acked_since) b->acked_since = at;
    b->bucket_bytes[at % HX_BWE_BUCKETS] += size;
}

/* The cap on growth: only as far as traffic has shown (no cap before the rate is known). */
static double grow(double rate, double acked, double dt_ms)
{
    double limit = acked > 0 ? 1.5 * acked + 10000 : 1e12;
    if (rate >= limit) return rate;
    double r = rate * pow(GROWTH, clampd(dt_ms, 0, 1000) / 1000.0);
    return r > limit ? limit : r;
}

/* Least-squares slope of the window. */
static double slope(const hx_bwe *b)
{
    double mx = 0, my = 0;
    for (unsigned i = 0; i < b->n_points; i++)
        mx += b->wx[i], my += b->wy[i];
    mx /= b->n_points, my /= b->n_points;
    double num = 0, den = 0;
    for (unsigned i = 0; i < b->n_points; i++) {
        num += (b->wx[i] - mx) * (b->wy[i] - my);
        den += (b->wx[i] - mx) * (b->wx[i] - mx);
    }
    return den == 0 ? 0 : num / den;
}

static void detect(hx_bwe *b, double send_delta_ms, int64_t now_ms)
{
    double trend = slope(b);
    double mt = (b->n_deltas < 60 ? b->n_deltas : 60) * trend * THRESHOLD_GAIN;
    if (mt > b->threshold) {
        b->over_ms = b->over_ms < 0 ? send_delta_ms / 2 : b->over_ms + send_delta_ms;
        b->over_count++;
        if (b->over_ms > OVERUSE_MS && b->over_count > 1 && trend >= b->prev_trend) {
            b->over_ms = 0;
            b->over_count = 0;
            b->signal = HX_BWE_OVERUSE;
        }
    } else if (mt < -b->threshold) {
        b->over_ms = -1;
        b->over_count = 0;
        b->signal = HX_BWE_UNDERUSE;
    } else {
        b->over_ms = -1;
        b->over_count = 0;
        b->signal = HX_BWE_NORMAL;
    }
    b->prev_trend = trend;
    /* The adaptive threshold (skipped for outliers). */
    double abs_mt = fabs(mt);
    if (b->last_threshold_ms == 0) b->last_threshold_ms = now_ms;
    if (abs_mt <= b->threshold + 15) {
        double k = abs_mt < b->threshold ? K_DOWN : K_UP;
        double dt = clampd((double)(now_ms - b->last_threshold_ms), 0, 100);
        b->threshold = clampd(b->threshold + k * (abs_mt - b->threshold) * dt, 6, 600);
    }
    b->last_threshold_ms = now_ms;
}

/* A group closed: compare it with the one before. */
static void group_done(hx_bwe *b, int64_t now_ms)
{
    if (b->have_prev) {
        double send_delta = (double)(b->g_send_ms - b->p_send_ms);
        double arr_delta = (double)(b->g_arrival_us - b->p_arrival_us) / 1000.0;
        if (send_delta >= 0 && arr_delta > -1000 && arr_delta < 3000) {
            double d = arr_delta - send_delta;
            b->acc_delay += d;
            b->smoothed = SMOOTHING * b->smoothed + (1 - SMOOTHING) * b->acc_delay;
            double x = (double)b->g_arrival_us / 1000.0;
            if (!b->have_first) b->first_arrival_ms = x, b->have_first = true;
            b->wx[b->head] = x - b->first_arrival_ms;
            b->wy[b->head] = b->smoothed;
            b->head = (b->head + 1) % HX_BWE_WINDOW;
            if (b->n_points < HX_BWE_WINDOW) b->n_points++;
            if (b->n_deltas < 1000) b->n_deltas++;
            if (b->n_points == HX_BWE_WINDOW) detect(b, send_delta, now_ms);
        }
    }
    b->p_send_ms = b->g_send_ms;
    b->p_arrival_us = b->g_arrival_us;
    b->have_prev = true;
}

static void on_arrival(hx_bwe *b, const hx_bwe_pkt *p, int64_t now_ms)
{
    if (b->in_group && p->send_ms < b->g_first_send_ms) return; /* reordered into an old group */
    if (!b->in_group || p->send_ms - b->g_first_send_ms > GROUP_MS) {
        if (b->in_group) group_done(b, now_ms);
        b->in_group = true;
        b->g_first_send_ms = p->send_ms;
        b->g_arrival_us = p->arrival_us;
    }
    b->g_send_ms = p->send_ms;
    if (p->arrival_us > b->g_arrival_us) b->g_arrival_us = p->arrival_us;
}

static void delay_control(hx_bwe *b, int64_t now_ms)
{
    double acked = hx_bwe_acked(b);
    double dt = b->last_delay_ms ? (double)(now_ms - b->last_delay_ms) : 0;
    b->last_delay_ms = now_ms;
    if (b->signal == HX_BWE_OVERUSE) {
        if (acked > 0 && BETA * acked < b->delay_bps) b->delay_bps = BETA * acked;
        b->signal = HX_BWE_NORMAL; /* one cut per detection */
    } else if (b->signal == HX_BWE_NORMAL) {
        b->delay_bps = grow(b->delay_bps, acked, dt);
    }
    b->delay_bps = clampd(b->delay_bps, b->cfg.min_bps, b->cfg.max_bps);
}

/* recv_bps: what arrived in the interval (0: unknown, the acknowledged rate stands in). */
static void loss_control(hx_bwe *b, double loss, double recv_bps, int64_t now_ms)
{
    double acked = hx_bwe_acked(b);
    double dt = b->last_loss_ms ? (double)(now_ms - b->last_loss_ms) : 0;
    b->last_loss_ms = now_ms;
    b->last_loss = loss;
    if (loss < 0.02) {
        b->loss_bps = grow(b->loss_bps, acked, dt);
    } else if (loss > 0.10) {
        double cut = b->loss_bps * (1 - 0.5 * loss);
        double got = recv_bps > 0 ? recv_bps : acked;
        if (got > 0 && cut > got) cut = got;
        if (cut < BETA * got) cut = BETA * got;
        if (cut < b->loss_bps) b->loss_bps = cut;
    }
    b->loss_bps = clampd(b->loss_bps, b->cfg.min_bps, b->cfg.max_bps);
}

static void probe_account(hx_bwe *b, const hx_bwe_pkt *p)
{
    if (!b->p_sent || p->send_ms < b->p_first_send)
        b->p_first_send = p->send_ms, b->p_first_size = p->size;
    if (p->send_ms >= b->p_last_send) b->p_last_send = p->send_ms, b->p_last_size = p->size;
    b->p_sent++;
    b->p_bytes_sent += p->size;
    if (p->arrival_us < 0) {
        b->p_lost++;
        return;
    }
    if (!b->p_bytes_recv || p->arrival_us < b->p_first_arr) b->p_first_arr = p->arrival_us;
    if (p->arrival_us > b->p_last_arr) b->p_last_arr = p->arrival_us;
    b->p_bytes_recv += p->size;
}

static void probe_finish(hx_bwe *b, int64_t now_ms)
{
    double result = 0;
    bool full = false; /* the probe found the link's capacity */
    double loss = b->p_sent ? (double)b->p_lost / b->p_sent : 1;
    if (b->p_sent >= 5 && loss <= PROBE_MAX_LOSS && b->p_last_send > b->p_first_send &&
        b->p_last_arr > b->p_first_arr) {
        double send = (double)(b->p_bytes_sent - b->p_last_size) * 8 * 1000 /
                      (double)(b->p_last_send - b->p_first_send);
        double recv = (double)(b->p_bytes_recv - b->p_first_size) * 8 * 1e6 /
                      (double)(b->p_last_arr - b->p_first_arr);
        full = recv < 0.9 * send;
        if (recv < 2 * send) result = full ? 0.95 * recv : send;
    }
    b->probe_state = 0;
    b->probes++;
    if (result > b->estimate) {
        b->probes_ok++;
        b->probe_failed = full;
        if (result > b->delay_bps) b->delay_bps = result;
        if (result > b->loss_bps) b->loss_bps = result;
        b->delay_bps = clampd(b->delay_bps, b->cfg.min_bps, b->cfg.max_bps);
        b->loss_bps = clampd(b->loss_bps, b->cfg.min_bps, b->cfg.max_bps);
        /* Probing a full link again soon would find the same ceiling, queueing media behind
         * its padding: wait as after a failure. */
        b->next_probe_ms = now_ms + (full ? PROBE_AFTER_FAIL_MS : PROBE_AFTER_OK_MS);
    } else {
        b->probe_failed = true;
        b->next_probe_ms = now_ms + PROBE_AFTER_FAIL_MS;
    }
}

void hx_bwe_on_feedback(hx_bwe *b, const hx_bwe_pkt *p, size_t n, int64_t now_ms)
{
    if (!n) return;
    b->twcc_ms = now_ms;
    bool covered = false;
    for (size_t i = 0; i < n; i++) {
        if (b->probe_state && p[i].probe == b->probe_id) probe_account(b, &p[i]);
        if (b->probe_state && p[i].send_ms >= b->probe_end_ms && !p[i].probe) covered = true;
        if (p[i].arrival_us >= 0) {
            acked_add(b, p[i].arrival_us, p[i].size);
            on_arrival(b, &p[i], now_ms);
        }
        /* A probe's losses are its answer, not congestion the media caused: the probe alone
         * decides what they mean (probe_finish). */
        if (p[i].probe) continue;
        b->loss_sent++;
        if (p[i].arrival_us < 0) {
            b->loss_lost++;
            continue;
        }
        b->loss_bytes += p[i].size;
        if (b->loss_first_arr < 0 || p[i].arrival_us < b->loss_first_arr)
            b->loss_first_arr = p[i].arrival_us;
        if (p[i].arrival_us > b->loss_last_arr) b->loss_last_arr = p[i].arrival_us;
    }
    if (b->probe_state && (covered || now_ms > b->probe_end_ms + PROBE_EVAL_MS))
        probe_finish(b, now_ms);
    delay_control(b, now_ms);
    if (!b->loss_start_ms) b->loss_start_ms = now_ms;
    bool full = b->loss_sent >= LOSS_MIN_PACKETS;
    /* An interval too sparse to judge is dropped after a second rather than judged later with
     * losses of long ago (a paused downlink sends only the odd probe). */
    if (now_ms - b->loss_start_ms >= (full ? LOSS_INTERVAL_MS : LOSS_STALE_MS)) {
        int64_t span = b->loss_last_arr - b->loss_first_arr;
        uint32_t got = b->loss_sent - b->loss_lost;
        double recv = b->loss_first_arr >= 0 && span >= 100000 && got >= 10
                          ? (double)b->loss_bytes * 8e6 / (double)span
                          : 0;
        if (full) loss_control(b, (double)b->loss_lost / b->loss_sent, recv, now_ms);
        b->loss_sent = b->loss_lost = 0;
        b->loss_start_ms = now_ms;
        b->loss_bytes = 0;
        b->loss_first_arr = -1;
        b->loss_last_arr = INT64_MIN;
    }
    update_estimate(b, now_ms);
}

void hx_bwe_on_remb(hx_bwe *b, uint64_t bps, int64_t now_ms)
{
    b->remb_bps = bps > UINT32_MAX ? UINT32_MAX : (uint32_t)bps;
    if (!b->remb_bps) b->remb_bps = 1; /* "nothing": the minimum */
    if (b->twcc_ms && now_ms - b->twcc_ms <= REMB_ONLY_MS) return;
    /* Without transport-cc the REMB is the estimate: the other controllers must not hold it. */
    b->delay_bps = clampd((double)b->remb_bps, b->cfg.min_bps, b->cfg.max_bps);
    /* Nor hold it above: a loss cut must start from the rate in use, not from a higher one
     * the REMB already took the estimate below (start, an earlier REMB). */
    if (b->last_loss < 0.02 || b->loss_bps > b->delay_bps) b->loss_bps = b->delay_bps;
    update_estimate(b, now_ms);
}

void hx_bwe_on_rr_loss(hx_bwe *b, uint8_t fraction_lost, int64_t now_ms)
{
    if (b->twcc_ms && now_ms - b->twcc_ms <= REMB_ONLY_MS) return;
    loss_control(b, fraction_lost / 256.0, 0, now_ms);
    update_estimate(b, now_ms);
}

bool hx_bwe_probe_due(hx_bwe *b, uint32_t wanted_bps, int64_t now_ms, hx_bwe_probe *out)
{
    if (b->probe_state == 1 && now_ms >= b->probe_end_ms) b->probe_state = 2;
    if (b->probe_state == 2 && now_ms > b->probe_end_ms + PROBE_EVAL_MS) {
        probe_finish(b, now_ms);
        update_estimate(b, now_ms);
    }
    /* Probes need transport-cc, though not recent feedback: a paused downlink sends nothing to
     * report on, and a probe is how it finds its way back. */
    if (b->probe_state || !b->twcc_ms) return false;
    /* A loss holds probes back only while it is news: paused, no feedback renews it. */
    bool lossy = b->last_loss > 0.02 && now_ms - b->last_loss_ms <= REMB_ONLY_MS;
    if (wanted_bps <= b->estimate || now_ms < b->next_probe_ms || lossy) return false;
    double target = b->estimate * (b->probe_failed ? 1.5 : 2.0);
    if (target > wanted_bps * 1.1) target = wanted_bps * 1.1;
    if (target > b->cfg.max_bps) target = b->cfg.max_bps;
    if (target <= b->estimate) return false;
    if (++b->probe_id == 0) b->probe_id = 1;
    b->probe_state = 1;
    b->probe_bps = (uint32_t)target;
    b->probe_end_ms = now_ms + PROBE_MS;
    b->p_sent = b->p_lost = 0;
    b->p_bytes_sent = b->p_bytes_recv = 0;
    b->p_first_send = b->p_last_send = b->p_first_arr = b->p_last_arr = 0;
    b->p_first_size = b->p_last_size = 0;
    *out = (hx_bwe_probe){b->probe_id, b->probe_bps, b->probe_end_ms};
    return true;
}
