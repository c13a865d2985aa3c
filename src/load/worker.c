/*
 * A load worker: one thread, one libuv loop, a fixed slice of the
 * participants (global index i belongs to worker i % threads).
 *
 * Participants 0 .. publishers + subscribers - 1 are the steady ones; with
 * --churn, the churners come after them on the same join schedule, each
 * with its lifetime, whether it publishes and whether its connection is cut
 * once (exactly drop_pct % of them, spread evenly) fixed here; sig_hearth.c
 * acts on them.
 *
 * One 5 ms timer drives everything that is not a socket event: starting
 * participants on the join schedule (participant i at t0 + i / join_rate,
 * publishers first), ICE checks, consent and DTLS retransmits, publishers'
 * media pacing, join deadlines (HX_LOAD_JOIN_TIMEOUT_MS from the ticket
 * request to the first media packet, or to a connected publisher when there
 * is nothing to receive; with --churn, to the first connected
 * PeerConnection), the hearth target's retries and churn (sig_hearth.c),
 * the constrained receivers' RR + REMB (media_fb.c: the first --constrained
 * subscribers), and the phase main.c sets: in DRAIN publishers fall silent
 * while packets in flight are still counted; in STOP every connection and
 * socket is closed (WebSockets with a close frame, 1000: the session is
 * over), the loop runs until the close callbacks are done, and the
 * participants' streams are folded into the worker's figures.
 *
 * The join figures (DESIGN §8) are kept for every target: a join succeeds
 * when its first PeerConnection connects (ICE + DTLS) within
 * HX_LOAD_JOIN_TARGET_MS of its ticket request (hx__load_media_up).
 */
#include "load/load_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TICK_MS 5
#define MAX_FAIL_LOGS 10

uint64_t hx_load_now_us(void)
{
    return uv_hrtime() / 1000;
}

uint32_t hx__load_rand(hx_load_worker *w)
{
    uint32_t x = w->rnd; /* xorshift32 */
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return w->rnd = x;
}

void hx__load_rand_ice(hx_load_worker *w, char *out, size_t n)
{
    static const char ice[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < n; i++)
        out[i] = ice[hx__load_rand(w) % 64];
    out[n] = '\0';
}

static void close_part(hx_load_part *p)
{
    hx_lconn_close(&p->http);
    /* A close frame with 1000: the run is over, the session too (hearthd would otherwise hold
     * it for a resume until its drop window passes, and count it expired). */
    hx_lconn_ws_close(&p->ws, 1000);
    if (p->w->run->cfg->target == HX_LOAD_HEARTH) hx__load_hearth_end(p);
    if (p->pub) hx_lpc_close(p->pub);
    if (p->sub) hx_lpc_close(p->sub);
    p->pub = p->sub = NULL;
    free(p->ticket);
    p->ticket = NULL;
    hx__load_janus_free(p);
}

void hx__load_fail(hx_load_part *p, const char *why)
{
    if (p->state == HX_LP_FAILED || p->state == HX_LP_CLOSED || p->state == HX_LP_LEFT) return;
    hx_load_stats *st = &p->w->st;
    if (p->state == HX_LP_JOINED) st->joined--;
    if (!p->join_done) { /* the join ends here, without media */
        p->join_done = true;
        if (p->got_ticket)
            st->joins_failed++;
        else
            st->joins_no_ticket++;
    }
    if (p->ep_active) { /* a reconnect that ends here failed */
        p->ep_active = false;
        st->rc_failed[p->ep_kind]++;
    }
    if (p->renewing) {
        p->renewing = false;
        st->rc_renew_failed++;
    }
    p->sig = HX_LS_DONE;
    p->state = HX_LP_FAILED;
    p->w->st.failed++;
    if (p->w->st.failed <= MAX_FAIL_LOGS)
        fprintf(stderr, "hearth-load: participant %d failed: %s\n", p->index, why);
    /* Keep the received streams for the figures; stop everything else. */
    hx_lconn_close(&p->http);
    hx_lconn_close(&p->ws);
}

static void joined(hx_load_part *p)
{
    if (p->state != HX_LP_SIGNALING) return;
    p->state = HX_LP_JOINED;
    p->w->st.joined++;
}

void hx__load_first_media(hx_load_part *p, uint64_t now_us)
{
    p->first_media_us = now_us;
    hx_load_stats *st = &p->w->st;
    if (p->state == HX_LP_SIGNALING && st->n_join < HX_LOAD_MAX_PARTICIPANTS)
        st->join_ms[st->n_join++] = (uint32_t)((now_us - p->start_us) / 1000);
    joined(p);
}

void hx__load_media_up(hx_load_part *p, uint64_t now_us)
{
    if (p->media_ok) return;
    hx_load_stats *st = &p->w->st;
    p->media_ok = true;
    if (p->renewing) {
        p->renewing = false;
        st->rc_renewed++;
    }
    if (!p->join_done) { /* DESIGN §8: a valid ticket that reached media connected within 5 s */
        p->join_done = true;
        p->media_up_us = now_us;
        uint64_t ms = (now_us - p->start_us) / 1000;
        if (st->n_connect < HX_LOAD_MAX_PARTICIPANTS)
            st->connect_ms[st->n_connect++] = (uint32_t)ms;
        if (ms <= HX_LOAD_JOIN_TARGET_MS) {
            st->joins_succeeded++;
        } else {
            st->joins_failed++;
            st->joins_late++;
        }
    }
    if (p->churn) {
        joined(p); /* churn: in the room once media connected, whether or not packets come */
        if (!p->leave_at_us) {
            p->leave_at_us = now_us + p->lifetime_us;
            /* the cut: somewhere in 10-80 % of the stay */
            double at = (0.1 + 0.7 * (hx__load_rand(p->w) % 10001) / 10000.0) * p->lifetime_us;
            p->drop_at_us = now_us + (uint64_t)at;
        }
    }
}

static void pub_up(hx_lpc *pc)
{
    hx__load_media_up(pc->part, hx_load_now_us());
    if (!pc->part->expects_media) joined(pc->part);
}

static void sub_up(hx_lpc *pc)
{
    uint64_t now = hx_load_now_us();
    hx__load_media_up(pc->part, now);
    hx_load_rx_feedback(pc->part, now, true); /* a constrained receiver's REMB, before video */
}

static void pc_fail(hx_lpc *pc, const char *why)
{
    /* Reconnecting: the resume renews the media, these PeerConnections are on their way out. */
    if (pc->part->ep_active) return;
    hx__load_fail(pc->part, why);
}

static void pub_rtcp(hx_lpc *pc, uint8_t *pkt, size_t len, uint64_t now_us)
{
    hx_load_tx_rtcp(pc->part, pkt, len);
}

static void sub_rtp(hx_lpc *pc, uint8_t *pkt, size_t len, uint64_t now_us)
{
    hx_load_rx_rtp(pc->part, pkt, len, now_us);
}

const hx_lpc_cbs hx__load_pub_cbs = {.on_up = pub_up, .on_fail = pc_fail, .on_rtcp = pub_rtcp};
const hx_lpc_cbs hx__load_sub_cbs = {.on_up = sub_up, .on_fail = pc_fail, .on_rtp = sub_rtp};

static void start_part(hx_load_part *p, uint64_t now_us)
{
    p->state = HX_LP_SIGNALING;
    p->start_us = now_us;
    p->deadline_us = now_us + HX_LOAD_JOIN_TIMEOUT_MS * 1000ull;
    p->w->st.joins_started++;
    if (p->w->run->cfg->target == HX_LOAD_JANUS) p->got_ticket = true; /* no tickets there */
    int rc = p->w->run->cfg->target == HX_LOAD_JANUS ? hx__load_janus_start(p)
                                                     : hx__load_hearth_start(p);
    if (rc != 0) hx__load_fail(p, "could not start signaling");
}

static void tick_closed(uv_handle_t *h) {}

static void stop_all(hx_load_worker *w)
{
    w->stopping = true;
    for (int i = 0; i < w->n_parts; i++) {
        hx_load_part *p = &w->parts[i];
        hx_load_rx_finish(p, &w->st);
        /* first: a reconnect under way is "in progress", not failed by the end of the run */
        if (w->run->cfg->target == HX_LOAD_HEARTH) hx__load_hearth_end(p);
        if (p->state == HX_LP_SIGNALING) hx__load_fail(p, "not joined when the run ended");
        close_part(p);
        if (p->state != HX_LP_FAILED && p->state != HX_LP_LEFT) p->state = HX_LP_CLOSED;
    }
    uv_timer_stop(&w->tick);
    uv_close((uv_handle_t *)&w->tick, tick_closed);
}

static void on_tick(uv_timer_t *t)
{
    hx_load_worker *w = t->data;
    const hx_load_cfg *cfg = w->run->cfg;
    int phase = atomic_load(&w->run->phase);
    if (phase == HX_LOAD_STOP) {
        if (!w->stopping) stop_all(w);
        return;
    }
    uint64_t now = hx_load_now_us();
    for (int i = 0; i < w->n_parts; i++) {
        hx_load_part *p = &w->parts[i];
        if (p->state == HX_LP_WAITING) {
            uint64_t at = w->run->t0_us + (uint64_t)(p->index * 1e6 / cfg->join_rate);
            if (phase == HX_LOAD_RUN && now >= at) start_part(p, now);
            continue;
        }
        if (p->state == HX_LP_CLOSED || p->state == HX_LP_LEFT) continue;
        if (p->pub) hx_lpc_tick(p->pub, now);
        if (p->sub) hx_lpc_tick(p->sub, now);
        if (p->state == HX_LP_FAILED) continue;
        if (p->publisher) hx_load_tx_tick(p, now);
        if (p->constrained) hx_load_rx_feedback(p, now, false);
        if (p->janus) hx__load_janus_tick(p, now);
        if (cfg->target == HX_LOAD_HEARTH) hx__load_hearth_tick(p, now);
        if (p->state == HX_LP_FAILED || p->state == HX_LP_LEFT) continue;
        if (p->state == HX_LP_SIGNALING && now > p->deadline_us)
            hx__load_fail(p, p->expects_media ? "no media in time" : "not connected in time");
    }
}

int hx_load_worker_new(hx_load_worker **out, hx_load_run *run, int index)
{
    const hx_load_cfg *cfg = run->cfg;
    hx_load_worker *w = calloc(1, sizeof *w);
    if (!w) return -1;
    w->run = run;
    w->index = index;
    w->rnd = 0x9e3779b9u ^ (uint32_t)(index * 7919 + 1) ^ (uint32_t)uv_hrtime();
    if (!w->rnd) w->rnd = 1;
    int steady = cfg->publishers + cfg->subscribers, total = steady + cfg->churn;
    for (int i = index; i < total; i += cfg->threads)
        w->n_parts++;
    w->parts = calloc((size_t)(w->n_parts ? w->n_parts : 1), sizeof *w->parts);
    if (!w->parts || hx_dtls_cert_generate(&w->cert) != 0) goto fail;
    hx_dtls_config dc = {.cert = &w->cert};
    if (hx_dtls_ctx_new(&w->dtls_ctx, &dc) != 0) goto fail;
    char host[64] = ""; /* a numeric address fits; p->ip is as large */
    int port = 0;
    const char *u = strstr(cfg->url, "://");
    u = u ? u + 3 : cfg->url;
    if (sscanf(u, "%63[^:/]:%d", host, &port) != 2 || port <= 0 || port > 65535) goto fail;
    int n = 0;
    for (int i = index; i < total; i += cfg->threads, n++) {
        hx_load_part *p = &w->parts[n];
        p->w = w;
        p->index = i;
        p->publisher = i < cfg->publishers;
        p->expects_media = cfg->publishers - (p->publisher ? 1 : 0) > 0;
        p->constrained = i >= cfg->publishers && i < cfg->publishers + cfg->constrained;
        if (cfg->churn) { /* churn mode: everyone is in once media connects (hx__load_media_up) */
            p->expects_media = false;
            p->churn = i >= steady;
        }
        if (p->churn) {
            int k = i - steady; /* exactly drop_pct % of the churners, spread evenly */
            p->drop_planned = (k + 1) * cfg->drop_pct / 100 > k * cfg->drop_pct / 100;
            p->publisher = (int)(hx__load_rand(w) % 100) < cfg->churn_pub_pct;
            double life = cfg->life_min_s + (cfg->life_max_s - cfg->life_min_s) *
                                                (hx__load_rand(w) % 10001) / 10000.0;
            p->lifetime_us = (uint64_t)(life * 1e6);
        }
        snprintf(p->ip, sizeof p->ip, "%s", host);
        p->port = port;
        p->tx.ssrc_a = 0x10000000u + (uint32_t)i * 4; /* audio, then one per video layer */
        p->tx.seq_a = (uint16_t)hx__load_rand(w);
        for (int l = 0; l < HX_LOAD_MAX_LAYERS; l++) {
            p->tx.v[l].ssrc = p->tx.ssrc_a + 1 + (uint32_t)l;
            p->tx.v[l].seq = (uint16_t)hx__load_rand(w);
        }
    }
    *out = w;
    return 0;
fail:
    hx_load_worker_free(w);
    return -1;
}

void *hx_load_worker_main(void *arg)
{
    hx_load_worker *w = arg;
    if (uv_loop_init(&w->loop) != 0) return NULL;
    uv_timer_init(&w->loop, &w->tick);
    w->tick.data = w;
    uv_timer_start(&w->tick, on_tick, TICK_MS, TICK_MS);
    atomic_fetch_add(&w->run->ready, 1);
    uv_run(&w->loop, UV_RUN_DEFAULT);
    uv_loop_close(&w->loop);
    return NULL;
}

hx_load_stats *hx_load_worker_stats(hx_load_worker *w)
{
    return &w->st;
}

void hx_load_worker_free(hx_load_worker *w)
{
    if (!w) return;
    hx_dtls_ctx_free(w->dtls_ctx);
    hx_dtls_cert_free(&w->cert);
    free(w->parts);
    free(w);
}
