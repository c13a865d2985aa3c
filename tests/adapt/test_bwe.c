/*
 * Unit tests for adapt/bwe, most of them driven by a simulated link.
 *
 * The simulator, stepped every millisecond: a sender paces ~1200-byte packets at
 * min(estimate, wanted), padded up to a probe's rate while one that hx_bwe_probe_due started
 * runs (every packet tagged with hx_bwe_probe_tag), through a link that is a policer (a token
 * bucket with a two-packet burst: what is over the rate is lost, never delayed, as nftables
 * `limit rate over` does), a FIFO queue (delay grows above the capacity, drop-tail past 400 ms
 * of queueing) or unlimited, 20 ms each way. The receiver's clock has its own origin. It sends
 * transport-cc feedback every 50..100 ms for what arrived by then and what was lost before it.
 *
 * The scenarios (the figures they produce print with HX_TEST_VERBOSE=1):
 *  - a 300 kbps policer from a 2 Mbps start: the loss controller brings the estimate under
 *    400 kbps within 5 s and keeps it within 150..450 kbps;
 *  - a 1 Mbps queue: the delay detector cuts within 2 s, the estimate settles within
 *    0.6..1.3 Mbps with no drop-tail loss and under 60 ms of queueing on average (probes into
 *    the full link included);
 *  - a 300 kbps policer lifted with 2 Mbps wanted: probing takes the estimate over 1.5 Mbps
 *    within 10 s;
 *  - 200 kbps app-limited on a clean link: no collapse, no probe, no growth past what the
 *    traffic showed;
 *  - a steady 1 Mbps: the acknowledged rate reads it within 3 % whenever asked;
 *  - the receiver's clock going back (the transport-cc reference time wraps): the acknowledged
 *    rate follows the new clock, and the detector still sees a queue;
 *  - all video paused: a probe alone (its end covered by no feedback) raises the estimate;
 *  - an outage takes the estimate under the lowest layer and pauses the video: when the link
 *    comes back, probes find it.
 * And without a simulator: REMB-only peers (REMB followed, receiver-report loss cutting it,
 * REMB ignored while transport-cc comes), the loss controller's floor (0.85 × what got
 * through), the configuration check, the [min, max] bounds (checked every simulated ms).
 */
#include "adapt/bwe.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

enum link_kind { LINK_NONE, LINK_POLICER, LINK_QUEUE };

#define PKT 1200
#define PAD 236          /* a padding packet: 224 bytes of padding and the RTP header */
#define ONE_WAY_US 20000 /* propagation, each way */
#define MAX_QUEUE_US 400000
#define PENDING 16384
#define T0 1000 /* the sender's clock at the start, ms */

typedef struct sim {
    hx_bwe b;
    int64_t now_ms;
    /* link */
    enum link_kind kind;
    uint32_t cap_bps;
    double tokens; /* policer: bytes */
    int64_t last_refill_us;
    int64_t busy_until_us; /* queue: when the last queued packet leaves */
    int64_t rx_clock_us;   /* the receiver's clock minus the sender's */
    /* sender */
    uint32_t wanted;
    uint32_t pause_below; /* video paused (only probes sent) while the estimate is under it */
    double credit;        /* bytes the pacer may send */
    bool probing;
    hx_bwe_probe probe;
    unsigned probes_started;
    double pad_credit; /* bytes of padding due while a probe runs */
    /* packets not reported yet, in sequence order */
    hx_bwe_pkt pend[PENDING], batch[PENDING];
    int64_t pend_at_us[PENDING]; /* arrival on the sender's clock, -1: lost */
    size_t p_head, p_n;
    int64_t next_fb_ms;
    uint32_t rng;
    /* measures since sim_reset_stats */
    uint32_t min_seen, max_seen;
    uint64_t sent, lost, queued, queued_us; /* queued: through the queue, for queued_us */
    /* trace, per 500 ms */
    uint64_t tr_sent, tr_lost;
    int64_t tr_max_queue_us;
} sim;

static bool verbose(void)
{
    const char *v = getenv("HX_TEST_VERBOSE");
    return v && *v && strcmp(v, "0");
}

static uint32_t rnd(sim *s)
{
    s->rng = s->rng * 1103515245u + 12345u;
    return s->rng >> 16;
}

static void sim_reset_stats(sim *s)
{
    s->min_seen = UINT32_MAX;
    s->max_seen = 0;
    s->sent = s->lost = s->queued = s->queued_us = 0;
}

static sim the_sim; /* one at a time, not on the stack: ~800 KiB */

static sim *sim_new(const hx_bwe_config *cfg, enum link_kind kind, uint32_t cap_bps,
                    uint32_t wanted)
{
    sim *s = &the_sim;
    memset(s, 0, sizeof *s);
    hx_bwe_config def;
    hx_bwe_config_default(&def);
    hx_bwe_init(&s->b, cfg ? cfg : &def);
    s->now_ms = T0;
    s->kind = kind;
    s->cap_bps = cap_bps;
    s->tokens = 2 * PKT;
    s->last_refill_us = T0 * 1000;
    s->rx_clock_us = 987654321;
    s->wanted = wanted;
    s->next_fb_ms = s->now_ms + 50;
    s->rng = 1;
    sim_reset_stats(s);
    return s;
}

/* The link: the packet's arrival (on the sender's clock), or -1. */
static int64_t transmit(sim *s, int64_t send_us, uint16_t size)
{
    switch (s->kind) {
    case LINK_NONE:
        break;
    case LINK_POLICER: {
        s->tokens += (double)(send_us - s->last_refill_us) * s->cap_bps / 8e6;
        s->last_refill_us = send_us;
        if (s->tokens > 2 * PKT) s->tokens = 2 * PKT;
        if (s->tokens < size) return -1;
        s->tokens -= size;
        break;
    }
    case LINK_QUEUE: {
        int64_t start = s->busy_until_us > send_us ? s->busy_until_us : send_us;
        int64_t done = start + (int64_t)size * 8 * 1000000 / s->cap_bps;
        if (done - send_us > MAX_QUEUE_US) return -1; /* drop-tail */
        s->busy_until_us = done;
        s->queued++;
        s->queued_us += (uint64_t)(done - send_us);
        if (done - send_us > s->tr_max_queue_us) s->tr_max_queue_us = done - send_us;
        send_us = done;
        break;
    }
    }
    return send_us + ONE_WAY_US;
}

static void send_pkt(sim *s, uint16_t size)
{
    int64_t arr = transmit(s, s->now_ms * 1000, size);
    assert_true(s->p_n < PENDING);
    size_t k = (s->p_head + s->p_n++) % PENDING;
    s->pend[k] = (hx_bwe_pkt){s->now_ms, arr < 0 ? -1 : arr + s->rx_clock_us, size,
                              hx_bwe_probe_tag(&s->b, s->now_ms)};
    s->pend_at_us[k] = arr;
    s->sent++;
    s->tr_sent++;
    if (arr < 0) s->lost++, s->tr_lost++;
}

/* The receiver reports what arrived by a one-way trip ago and the losses before it. */
static void feedback(sim *s)
{
    int64_t by = s->now_ms * 1000 - ONE_WAY_US;
    size_t n = 0;
    for (size_t i = 0; i < s->p_n; i++) {
        int64_t at = s->pend_at_us[(s->p_head + i) % PENDING];
        if (at >= 0 && at <= by) n = i + 1;
        if (at > by) break;
    }
    for (size_t i = 0; i < n; i++)
        s->batch[i] = s->pend[(s->p_head + i) % PENDING];
    s->p_head = (s->p_head + n) % PENDING;
    s->p_n -= n;
    hx_bwe_on_feedback(&s->b, s->batch, n, s->now_ms);
}

static void trace(sim *s, const char *name)
{
    if (!verbose() || !name) return;
    printf("  %-8s t=%5.1f s estimate %7u (delay %7.0f loss %7.0f) acked %7u lost %5.1f%% "
           "queue<=%3lld ms probes %llu/%llu\n",
           name, (s->now_ms - T0) / 1000.0, hx_bwe_estimate(&s->b), s->b.delay_bps, s->b.loss_bps,
           hx_bwe_acked(&s->b), s->tr_sent ? 100.0 * (double)s->tr_lost / (double)s->tr_sent : 0.0,
           (long long)(s->tr_max_queue_us / 1000), (unsigned long long)s->b.probes_ok,
           (unsigned long long)s->b.probes);
    s->tr_sent = s->tr_lost = 0;
    s->tr_max_queue_us = 0;
}

/* Run for ms; every millisecond, the estimate is within [min, max]. */
static void run(sim *s, int64_t ms, const char *name)
{
    int64_t end = s->now_ms + ms;
    for (; s->now_ms < end; s->now_ms++) {
        if (s->probing && s->now_ms >= s->probe.until_ms) s->probing = false;
        if (!s->probing && hx_bwe_probe_due(&s->b, s->wanted, s->now_ms, &s->probe)) {
            assert_true(s->probe.bps > hx_bwe_estimate(&s->b));
            assert_true(s->probe.bps <= s->b.cfg.max_bps);
            assert_true(s->probe.until_ms > s->now_ms);
            assert_int_not_equal(s->probe.id, 0);
            s->probing = true;
            s->probes_started++;
            if (verbose() && name)
                printf("  %-8s t=%5.1f s probe %u at %u bps\n", name, (s->now_ms - T0) / 1000.0,
                       s->probe.id, s->probe.bps);
        }
        uint32_t e = hx_bwe_estimate(&s->b);
        double rate = e < s->wanted ? e : s->wanted;
        if (e < s->pause_below) rate = 0; /* video paused */
        s->credit += rate / 8 / 1000;
        if (s->credit > 3 * PKT) s->credit = 3 * PKT;
        while (s->credit >= PKT) {
            uint16_t size = (uint16_t)(PKT - 50 + rnd(s) % 100);
            send_pkt(s, size);
            s->credit -= size;
        }
        /* A probe pads the rest up to its rate with small packets, as the engine does
         * (sfu/downlink.c: 224 bytes of RTX padding each). */
        if (s->probing && s->probe.bps > rate) {
            s->pad_credit += (s->probe.bps - rate) / 8 / 1000;
            while (s->pad_credit >= PAD) {
                send_pkt(s, PAD);
                s->pad_credit -= PAD;
            }
        } else {
            s->pad_credit = 0;
        }
        if (s->now_ms >= s->next_fb_ms) {
            feedback(s);
            s->next_fb_ms = s->now_ms + 50 + rnd(s) % 51;
        }
        e = hx_bwe_estimate(&s->b);
        assert_true(e >= s->b.cfg.min_bps && e <= s->b.cfg.max_bps);
        if (e < s->min_seen) s->min_seen = e;
        if (e > s->max_seen) s->max_seen = e;
        if ((s->now_ms - T0) % 500 == 0) trace(s, name);
    }
}

/* Run until cond holds or ms passed; the time it took, or -1. */
static int64_t run_until(sim *s, int64_t ms, const char *name, bool (*cond)(const sim *))
{
    int64_t start = s->now_ms;
    while (s->now_ms - start < ms) {
        run(s, 10, name);
        if (cond(s)) return s->now_ms - start;
    }
    return -1;
}

static bool under_400k(const sim *s)
{
    return hx_bwe_estimate(&s->b) < 400000;
}

static bool delay_under_1300k(const sim *s)
{
    return s->b.delay_bps < 1300000;
}

static bool over_1500k(const sim *s)
{
    return hx_bwe_estimate(&s->b) > 1500000;
}

static bool under_260k(const sim *s)
{
    return hx_bwe_estimate(&s->b) < 260000;
}

static void test_config(void **state)
{
    (void)state;
    hx_bwe_config c;
    hx_bwe_config_default(&c);
    assert_null(hx_bwe_config_check(&c));
    assert_true(c.min_bps <= c.start_bps && c.start_bps <= c.max_bps);
    hx_bwe_config bad = c;
    bad.min_bps = 29999;
    bad.start_bps = 50000;
    assert_non_null(hx_bwe_config_check(&bad));
    bad = c;
    bad.max_bps = 1000000001u;
    assert_non_null(hx_bwe_config_check(&bad));
    bad = c;
    bad.min_bps = 3000000, bad.max_bps = 2000000, bad.start_bps = 2500000;
    assert_non_null(hx_bwe_config_check(&bad));
    bad = c;
    bad.start_bps = c.min_bps - 1;
    assert_non_null(hx_bwe_config_check(&bad));
    bad = c;
    bad.start_bps = c.max_bps + 1;
    assert_non_null(hx_bwe_config_check(&bad));
    /* the edges are usable */
    hx_bwe_config edge = {30000, 30000, 30000};
    assert_null(hx_bwe_config_check(&edge));
    edge = (hx_bwe_config){30000, 1000000000u, 1000000000u};
    assert_null(hx_bwe_config_check(&edge));
}

static void test_policer(void **state)
{
    (void)state;
    sim *s = sim_new(NULL, LINK_POLICER, 300000, 2000000);
    int64_t took = run_until(s, 5000, "policer", under_400k);
    if (verbose()) printf("  policer: under 400 kbps after %lld ms\n", (long long)took);
    assert_true(took >= 0);
    run(s, 5000 - (s->now_ms - T0), "policer"); /* to t = 5 s */
    sim_reset_stats(s);
    run(s, 25000, "policer");
    if (verbose()) printf("  policer: 5..30 s within %u..%u\n", s->min_seen, s->max_seen);
    assert_true(s->min_seen >= 150000);
    assert_true(s->max_seen <= 450000);
}

static void test_queue(void **state)
{
    (void)state;
    sim *s = sim_new(NULL, LINK_QUEUE, 1000000, 2000000);
    /* The delay detector, not the losses of a full queue, brings the rate down. */
    int64_t took = run_until(s, 2000, "queue", delay_under_1300k);
    if (verbose())
        printf("  queue: delay-based rate under 1.3 Mbps after %lld ms\n", (long long)took);
    assert_true(took >= 0);
    run(s, 5000 - (s->now_ms - T0), "queue");
    sim_reset_stats(s);
    run(s, 25000, "queue");
    if (verbose())
        printf("  queue: 5..30 s within %u..%u, %llu of %llu packets lost, %.1f ms queued on "
               "average\n",
               s->min_seen, s->max_seen, (unsigned long long)s->lost, (unsigned long long)s->sent,
               s->queued_us / 1000.0 / (double)s->queued);
    assert_true(s->min_seen >= 600000);
    assert_true(s->max_seen <= 1300000);
    assert_int_equal(s->lost, 0);
    assert_true(s->queued_us < s->queued * 60000); /* no standing queue: 60 ms on average */
}

static void test_lifted(void **state)
{
    (void)state;
    sim *s = sim_new(NULL, LINK_POLICER, 300000, 2000000);
    run(s, 10000, "lifted");
    assert_true(hx_bwe_estimate(&s->b) < 450000);
    s->kind = LINK_NONE;
    if (verbose()) printf("  lifted: limit lifted at t=10 s\n");
    int64_t took = run_until(s, 10000, "lifted", over_1500k);
    if (verbose()) printf("  lifted: over 1.5 Mbps %lld ms after\n", (long long)took);
    assert_true(took >= 0);
    assert_true(s->b.probes_ok > 0);
}

static void test_app_limited(void **state)
{
    (void)state;
    /* From the default 2 Mbps start, and from just above what is sent. */
    static const uint32_t starts[] = {2000000, 250000};
    for (size_t i = 0; i < sizeof starts / sizeof *starts; i++) {
        hx_bwe_config c;
        hx_bwe_config_default(&c);
        c.start_bps = starts[i];
        sim *s = sim_new(&c, LINK_NONE, 0, 200000);
        run(s, 30000, "applim");
        if (verbose())
            printf("  applim: start %u: %u..%u, %u probes\n", starts[i], s->min_seen, s->max_seen,
                   s->probes_started);
        assert_true(s->min_seen >= starts[i] * 0.99);
        /* believed only as far as traffic showed it: 1.5 × acked + 10 kbps */
        if (starts[i] < 330000) assert_true(s->max_seen <= 340000);
        assert_int_equal(s->probes_started, 0);
        assert_int_equal(s->b.probes, 0);
        assert_true(hx_bwe_acked(&s->b) > 180000 && hx_bwe_acked(&s->b) < 220000);
    }
}

/* The acknowledged rate of a steady 1 Mbps reads 1 Mbps whenever it is asked. */
static void test_acked_rate(void **state)
{
    (void)state;
    sim *s = sim_new(NULL, LINK_NONE, 0, 1000000);
    run(s, 2000, NULL);
    uint32_t lo = UINT32_MAX, hi = 0;
    for (int i = 0; i < 300; i++) {
        run(s, 10, NULL);
        uint32_t a = hx_bwe_acked(&s->b);
        if (a < lo) lo = a;
        if (a > hi) hi = a;
    }
    if (verbose()) printf("  acked: %u..%u\n", lo, hi);
    assert_true(lo >= 970000);
    assert_true(hi <= 1030000);
}

/* Transport-cc's reference time wraps (2^24 × 64 ms): the receiver's clock goes back. */
static void test_receiver_clock_back(void **state)
{
    (void)state;
    sim *s = sim_new(NULL, LINK_NONE, 0, 1000000);
    s->rx_clock_us = (int64_t)(1 << 24) * 64000 - 3000000; /* wraps ~2 s in */
    run(s, 3000, "rewind");
    uint32_t a = hx_bwe_acked(&s->b);
    assert_true(a > 900000 && a < 1100000);
    s->rx_clock_us -= (int64_t)(1 << 24) * 64000;
    s->wanted = 300000;
    run(s, 3000, "rewind");
    a = hx_bwe_acked(&s->b);
    if (verbose()) printf("  rewind: acked %u after the clock went back\n", a);
    assert_true(a > 250000 && a < 350000);
    /* and the detector still works on the new clock: a queue is seen */
    s->kind = LINK_QUEUE;
    s->cap_bps = 250000;
    int64_t took = run_until(s, 3000, "rewind", under_260k);
    assert_true(took >= 0);
}

static bool holds_wanted(const sim *s)
{
    return hx_bwe_estimate(&s->b) >= s->wanted;
}

/* All video paused: only a probe's padding is sent, and nothing after it covers it. The probe
 * ends on hx_bwe_probe_due's timeout, and its result is the estimate at once, so the video can
 * resume. */
static void test_probe_alone(void **state)
{
    (void)state;
    hx_bwe_config c;
    hx_bwe_config_default(&c);
    c.start_bps = 300000;
    sim *s = sim_new(&c, LINK_NONE, 0, 300000);
    run(s, 2000, "alone"); /* transport-cc flowing */
    s->wanted = s->pause_below = 550000;
    int64_t took = run_until(s, 10000, "alone", holds_wanted);
    if (verbose())
        printf("  alone: estimate %u after %lld ms, %u probes\n", hx_bwe_estimate(&s->b),
               (long long)took, s->probes_started);
    assert_true(took >= 0 && took < 2500);
    assert_int_equal(s->probes_started, 1);
}

static bool over_900k(const sim *s)
{
    return hx_bwe_estimate(&s->b) > 900000;
}

/* An outage takes the estimate under the lowest layer: video pauses, nothing is stamped. When
 * the link comes back, probes find it and the video resumes. */
static void test_resume_after_outage(void **state)
{
    (void)state;
    sim *s = sim_new(NULL, LINK_NONE, 0, 1000000);
    s->pause_below = 250000;
    run(s, 3000, "outage");
    s->kind = LINK_POLICER;
    s->cap_bps = 30000;
    run(s, 5000, "outage");
    assert_true(hx_bwe_estimate(&s->b) < 250000);
    s->kind = LINK_NONE;
    int64_t took = run_until(s, 20000, "outage", over_900k);
    if (verbose()) printf("  outage: over 900 kbps %lld ms after\n", (long long)took);
    assert_true(took >= 0);
}

static void test_remb_only(void **state)
{
    (void)state;
    hx_bwe b;
    hx_bwe_config c;
    hx_bwe_config_default(&c);
    hx_bwe_init(&b, &c);
    assert_int_equal(hx_bwe_estimate(&b), c.start_bps);
    int64_t now = 5000;
    hx_bwe_on_remb(&b, 800000, now);
    assert_int_equal(hx_bwe_estimate(&b), 800000);
    hx_bwe_on_remb(&b, 3000000, now += 1000);
    assert_int_equal(hx_bwe_estimate(&b), 3000000);
    hx_bwe_on_remb(&b, 1200000, now += 1000);
    assert_int_equal(hx_bwe_estimate(&b), 1200000);
    /* out of range: the bounds */
    hx_bwe_on_remb(&b, 0, now += 1000);
    assert_int_equal(hx_bwe_estimate(&b), c.min_bps);
    hx_bwe_on_remb(&b, 1ull << 40, now += 1000);
    assert_int_equal(hx_bwe_estimate(&b), c.max_bps);
    hx_bwe_on_remb(&b, 1200000, now += 1000);
    assert_int_equal(hx_bwe_estimate(&b), 1200000);
    /* little loss: the REMB still decides */
    hx_bwe_on_rr_loss(&b, 2, now += 1000);
    assert_int_equal(hx_bwe_estimate(&b), 1200000);
    /* over 10 %: cut by half of it at once (25 %: 12.5 %), and again */
    hx_bwe_on_rr_loss(&b, 64, now += 1000);
    assert_int_equal(hx_bwe_estimate(&b), 1050000);
    hx_bwe_on_rr_loss(&b, 64, now += 1000);
    assert_true(hx_bwe_estimate(&b) < 1000000);
    uint32_t cut = hx_bwe_estimate(&b);
    /* the same REMB again does not undo the cut while loss goes on */
    hx_bwe_on_remb(&b, 1200000, now += 100);
    assert_int_equal(hx_bwe_estimate(&b), cut);
    /* between 2 and 10 %: held */
    hx_bwe_on_rr_loss(&b, 13, now += 1000);
    assert_int_equal(hx_bwe_estimate(&b), cut);
    /* clean again: it grows back toward the REMB, never past it */
    for (int i = 0; i < 10; i++)
        hx_bwe_on_rr_loss(&b, 0, now += 1000);
    assert_true(hx_bwe_estimate(&b) > cut);
    assert_true(hx_bwe_estimate(&b) <= 1200000);
    hx_bwe_on_remb(&b, 1500000, now += 100);
    assert_int_equal(hx_bwe_estimate(&b), 1500000);
    /* REMB-only peers are never probed */
    hx_bwe_probe p;
    assert_false(hx_bwe_probe_due(&b, 5000000, now += 100, &p));
}

static void test_remb_with_twcc(void **state)
{
    (void)state;
    hx_bwe b;
    hx_bwe_config c;
    hx_bwe_config_default(&c);
    hx_bwe_init(&b, &c);
    int64_t now = 5000;
    /* 1 Mbps, clean, reported every 100 ms for 2 s */
    int64_t send = now - 1000;
    for (int k = 0; k < 20; k++) {
        hx_bwe_pkt p[10];
        for (int i = 0; i < 10; i++, send += 10)
            p[i] = (hx_bwe_pkt){send, 123456789 + send * 1000 + 30000, 1250, 0};
        hx_bwe_on_feedback(&b, p, 10, now += 100);
    }
    uint32_t e = hx_bwe_estimate(&b);
    assert_true(e >= 1000000);
    hx_bwe_on_remb(&b, 300000, now += 10);
    assert_int_equal(hx_bwe_estimate(&b), e);
    hx_bwe_on_rr_loss(&b, 128, now += 10);
    assert_int_equal(hx_bwe_estimate(&b), e);
    /* nor does the next feedback take the REMB in */
    for (int k = 0; k < 5; k++) {
        hx_bwe_pkt p[10];
        for (int i = 0; i < 10; i++, send += 10)
            p[i] = (hx_bwe_pkt){send, 123456789 + send * 1000 + 30000, 1250, 0};
        hx_bwe_on_feedback(&b, p, 10, now += 100);
    }
    assert_true(hx_bwe_estimate(&b) >= e);
    /* transport-cc stops: after 2 s the REMB decides */
    hx_bwe_on_remb(&b, 300000, now += 2500);
    assert_int_equal(hx_bwe_estimate(&b), 300000);
}

/* Heavy loss cuts, but not below 0.85 × what got through. */
static void test_loss_floor(void **state)
{
    (void)state;
    hx_bwe b;
    hx_bwe_config c;
    hx_bwe_config_default(&c);
    hx_bwe_init(&b, &c);
    int64_t now = 5000, send = now - 100;
    /* 1 Mbps gets through throughout (one 1250-byte packet every 10 ms) */
    for (int k = 0; k < 50; k++) {
        hx_bwe_pkt p[100];
        size_t n = 0;
        for (int i = 0; i < 10; i++, send += 10) {
            p[n++] = (hx_bwe_pkt){send, 123456789 + send * 1000 + 30000, 1250, 0};
            /* from 2 s on, nine lost for each that arrives */
            for (int j = 0; k >= 20 && j < 9; j++)
                p[n++] = (hx_bwe_pkt){send, -1, 1250, 0};
        }
        hx_bwe_on_feedback(&b, p, n, now += 100);
        if (k == 19) assert_true(hx_bwe_estimate(&b) >= 1400000);
    }
    uint32_t a = hx_bwe_acked(&b), e = hx_bwe_estimate(&b);
    assert_true(a > 950000 && a < 1050000);
    assert_true(e >= 0.8 * a && e <= 0.92 * a);
    assert_true(b.last_loss > 0.85);
}

static void test_bounds(void **state)
{
    (void)state;
    hx_bwe_config c = {500000, 600000, 800000};
    assert_null(hx_bwe_config_check(&c));
    /* a 300 kbps policer cannot take it under the minimum, nor a free link over the maximum
     * (run() checks every millisecond) */
    sim *s = sim_new(&c, LINK_POLICER, 300000, 2000000);
    run(s, 10000, "bounds");
    assert_int_equal(s->min_seen, 500000);
    s->kind = LINK_NONE;
    sim_reset_stats(s);
    run(s, 15000, "bounds");
    assert_int_equal(hx_bwe_estimate(&s->b), 800000);
    assert_true(s->max_seen <= 800000);
    /* at the maximum nothing is probed */
    unsigned probes = s->probes_started;
    run(s, 5000, "bounds");
    assert_int_equal(s->probes_started, probes);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config),
        cmocka_unit_test(test_policer),
        cmocka_unit_test(test_queue),
        cmocka_unit_test(test_lifted),
        cmocka_unit_test(test_app_limited),
        cmocka_unit_test(test_acked_rate),
        cmocka_unit_test(test_receiver_clock_back),
        cmocka_unit_test(test_probe_alone),
        cmocka_unit_test(test_resume_after_outage),
        cmocka_unit_test(test_remb_only),
        cmocka_unit_test(test_remb_with_twcc),
        cmocka_unit_test(test_loss_floor),
        cmocka_unit_test(test_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
