/*
 * The media worker's life: start (certificate, DTLS context, SCTP stack,
 * UDP socket, ICE demux, the two pipes), the loop on its own thread, a
 * 10 ms tick that drives every timer the transports have (DTLS
 * retransmission, ICE consent, SCTP, RTCP reports), and stop. Commands are
 * decoded here and dispatched to the transport, publish and subscribe
 * files; events leave through hx__emit.
 */
#define _GNU_SOURCE
#include "sfu/engine_internal.h"

#include "common/clock.h"
#include "common/invariant.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void hx_engine_config_default(hx_engine_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->host, sizeof cfg->host, "127.0.0.1");
    cfg->max_transports = 4096;
    cfg->remb_bps = 3000000;
    cfg->data_rate = 100;
    cfg->data_burst = 200;
    cfg->data_max_message = 65536;
    cfg->max_packet_rate = 5000;
    cfg->offer_timeout_ms = 10000;
    cfg->connect_timeout_ms = 15000;
    cfg->mlines_before_recycle = 32;
}

int64_t hx__now_ms(hx__engine *e)
{
    (void)e;
    return hx_mono_ms();
}

void hx__random_id(char *out, size_t cap, const char *prefix)
{
    uint8_t r[8];
    RAND_bytes(r, sizeof r);
    snprintf(out, cap, "%s%02x%02x%02x%02x%02x%02x%02x%02x", prefix, r[0], r[1], r[2], r[3], r[4],
             r[5], r[6], r[7]);
}

uint32_t hx__random_ssrc(void)
{
    uint32_t v = 0;
    while (v == 0)
        RAND_bytes((uint8_t *)&v, sizeof v);
    return v;
}

/* --- events ---------------------------------------------------------------- */

void hx__begin(hx__engine *e, hx_sfu_builder *b, hx_sfu_kind kind, uint64_t transport)
{
    hx_sfu_build(b, e->msg, HX_SFU_MSG_MAX, kind, transport);
}

void hx__emit(hx__engine *e, hx_sfu_builder *b)
{
    long n = hx_sfu_finish(b);
    /* A full events pipe means the control plane is stuck; dropping is all we can do. */
    if (n > 0) hx_sfu_pipe_send(e->events, b->buf, (size_t)n);
}

static void echo_request(hx_sfu_builder *b, const hx_sfu_msg *cmd)
{
    if (cmd && hx_sfu_has(cmd, HX_SFU_T_REQUEST))
        hx_sfu_put_str(b, HX_SFU_T_REQUEST, cmd->f[HX_SFU_T_REQUEST].p,
                       cmd->f[HX_SFU_T_REQUEST].len);
}

void hx__emit_error(hx__engine *e, uint64_t transport, const hx_sfu_msg *cmd, const char *code,
                    const char *reason)
{
    hx_sfu_builder b;
    hx__begin(e, &b, HX_SFU_EV_ERROR, transport);
    hx_sfu_put_cstr(&b, HX_SFU_T_CODE, code);
    hx_sfu_put_cstr(&b, HX_SFU_T_REASON, reason);
    echo_request(&b, cmd);
    hx__emit(e, &b);
}

void hx__emit_done(hx__engine *e, uint64_t transport, const hx_sfu_msg *cmd)
{
    if (!cmd || !hx_sfu_has(cmd, HX_SFU_T_REQUEST)) return;
    hx_sfu_builder b;
    hx__begin(e, &b, HX_SFU_EV_DONE, transport);
    echo_request(&b, cmd);
    hx__emit(e, &b);
}

void hx__emit_state(hx__transport *t, const char *state, const char *reason)
{
    if (!strcmp(t->state, state)) return;
    snprintf(t->state, sizeof t->state, "%s", state);
    hx_sfu_builder b;
    hx__begin(t->e, &b, HX_SFU_EV_STATE, t->id);
    hx_sfu_put_cstr(&b, HX_SFU_T_STATE, state);
    if (reason) hx_sfu_put_cstr(&b, HX_SFU_T_REASON, reason);
    hx__emit(t->e, &b);
}

const char *hx__transport_key(uint64_t id, char key[24])
{
    snprintf(key, 24, "%llx", (unsigned long long)id);
    return key;
}

hx__transport *hx__transport_get(hx__engine *e, uint64_t id)
{
    char key[24];
    return hx_strmap_get(&e->transports, hx__transport_key(id, key));
}

/* --- commands -------------------------------------------------------------- */

static hx__track *find_track(hx__engine *e, const hx_sfu_msg *m)
{
    char id[HX__ID_LEN];
    if (m->f[HX_SFU_T_TRACK].len >= sizeof id) return NULL; /* longer than any id of ours */
    return hx_strmap_get(&e->tracks, hx_sfu_field_copy(m, HX_SFU_T_TRACK, id, sizeof id));
}

static void on_command(void *ctx, const uint8_t *msg, size_t len)
{
    hx__engine *e = ctx;
    e->now_ms = hx__now_ms(e);
    hx_sfu_msg m;
    const char *why;
    if (HX_NEVER(hx_sfu_parse(msg, len, &m, &why) != 0))
        return; /* the control plane built it: a bug, not input */
    if (m.kind == HX_SFU_TRANSPORT_OPEN) {
        if (!hx__transport_open(e, &m, &why))
            hx__emit_error(e, m.transport, &m, "media_unavailable", why);
        return;
    }
    hx__transport *t = hx__transport_get(e, m.transport);
    if (!t) {
        if (m.kind != HX_SFU_TRANSPORT_CLOSE)
            hx__emit_error(e, m.transport, &m, "not_found", "no such transport");
        return;
    }
    switch (m.kind) {
    case HX_SFU_TRANSPORT_CLOSE: {
        char reason[64];
        hx_sfu_field_copy(&m, HX_SFU_T_REASON, reason, sizeof reason);
        uint64_t id = t->id;
        hx__transport_close(t, reason[0] ? reason : "closed");
        hx__emit_done(e, id, &m); /* closed: its sockets' packets are no longer forwarded */
        return;
    }
    case HX_SFU_REMOTE_SDP:
        if (t->role == HX__PUBLISHER && hx_sfu_field_is(&m, HX_SFU_T_SDP_TYPE, "offer"))
            hx__publisher_offer(t, &m);
        else if (t->role == HX__SUBSCRIBER && hx_sfu_field_is(&m, HX_SFU_T_SDP_TYPE, "answer"))
            hx__subscriber_answer(t, &m);
        else if (t->role == HX__SUBSCRIBER && hx_sfu_field_is(&m, HX_SFU_T_SDP_TYPE, "refusal"))
            hx__subscriber_refused(t, &m);
        else
            hx__emit_error(e, t->id, &m, "bad_request", "publishers offer, subscribers answer");
        return;
    case HX_SFU_ICE_RESTART:
        if (t->role != HX__SUBSCRIBER) { /* a publisher restarts by offering new credentials */
            hx__emit_error(e, t->id, &m, "bad_request", "the publisher restarts ICE with an offer");
        } else if (hx__transport_ice_restart(t) != 0) {
            hx__emit_error(e, t->id, &m, "internal_error", "no new ICE credentials");
        } else {
            t->renegotiate = true; /* the next offer carries the new credentials */
            hx__subscriber_maybe_offer(t);
            hx__emit_done(e, t->id, &m);
        }
        return;
    case HX_SFU_REMOTE_CANDIDATE:
        if (hx__transport_remote_candidate(t, m.f[HX_SFU_T_CANDIDATE].p,
                                           m.f[HX_SFU_T_CANDIDATE].len) == 0)
            hx__emit_done(e, t->id, &m);
        else
            hx__emit_error(e, t->id, &m, "bad_request", "not a candidate line hearth can use");
        return;
    default:
        break;
    }
    hx__track *tr = find_track(e, &m);
    if (!tr) {
        hx__emit_error(e, t->id, &m, "unknown_track", "no such track");
        return;
    }
    if (m.kind == HX_SFU_MUTE) {
        tr->muted = (m.flags & HX_SFU_F_ON) != 0;
        if (!tr->muted) hx__request_keyframe(tr, -1);
        hx__emit_done(e, t->id, &m);
        return;
    }
    if (t->role != HX__SUBSCRIBER) {
        hx__emit_error(e, t->id, &m, "bad_request", "track commands go to a subscriber transport");
        return;
    }
    if (m.kind == HX_SFU_SUBSCRIBE) {
        hx__subscribe(t, tr, &m);
        return;
    }
    hx__consumer *c = hx__consumer_find(t, tr->id);
    if (!c) {
        hx__emit_error(e, t->id, &m, "unknown_track", "not subscribed to that track");
        return;
    }
    switch (m.kind) {
    case HX_SFU_UNSUBSCRIBE:
        hx__unsubscribe(t, tr, &m);
        return;
    case HX_SFU_PAUSE:
        c->paused = true;
        break;
    case HX_SFU_RESUME:
        if (c->paused) {
            c->paused = false;
            c->need_keyframe = tr->kind == HX_SDP_VIDEO; /* audio has no keyframes to wait for */
            hx_seq_rw_switch(&c->rw);
            hx__request_keyframe(tr, hx__wanted_layer(c, e->now_ms));
        }
        break;
    case HX_SFU_SET_LAYER:
        for (int i = 0; i < tr->n_layers; i++)
            if (m.f[HX_SFU_T_LAYER].len == strlen(tr->layers[i].rid) &&
                !memcmp(m.f[HX_SFU_T_LAYER].p, tr->layers[i].rid, m.f[HX_SFU_T_LAYER].len) &&
                i != c->target_layer) {
                c->target_layer = i; /* switched at that layer's next keyframe */
                hx__request_keyframe(tr, i);
            }
        break;
    default:
        hx__emit_error(e, t->id, &m, "bad_request", "not a command");
        return;
    }
    hx__emit_done(e, t->id, &m);
}

/* --- the socket ------------------------------------------------------------ */

void hx__engine_rx(hx__engine *e, hx_udp_pkt *p); /* io.c */

static void on_readable(uv_poll_t *h, int status, int events)
{
    hx__engine *e = h->data;
    if (status < 0 || !(events & UV_READABLE)) return;
    e->now_ms = hx__now_ms(e);
    for (int rounds = 0; rounds < 8; rounds++) { /* bounded: let timers and commands run too */
        hx_udp_pkt *pkts;
        int n = hx_udp_recv(e->udp, &pkts);
        if (n <= 0) break;
        for (int i = 0; i < n; i++)
            hx__engine_rx(e, &pkts[i]);
        hx_udp_flush(e->udp);
        /* A short batch emptied the socket: the poll wakes us for more, no empty recvmmsg. */
        if (n < HX_UDP_BATCH) break;
    }
    hx_udp_flush(e->udp);
}

static int tick_one(void *arg, const char *key, void *value)
{
    (void)arg;
    (void)key;
    hx__transport_tick(value);
    return 0;
}

static void on_tick(uv_timer_t *h)
{
    hx__engine *e = h->data;
    e->now_ms = hx__now_ms(e);
    hx_sctp_stack_tick(e->sctp, HX__TICK_MS);
    hx__tcp_tick(e);
    hx_strmap_foreach(&e->transports, tick_one, NULL);
    hx_udp_flush(e->udp);
}

/* --- start and stop -------------------------------------------------------- */

static int first_value(void *arg, const char *key, void *value)
{
    (void)key;
    *(void **)arg = value;
    return -1; /* stop: closing changes the map */
}

static void on_stop(uv_async_t *h)
{
    hx__engine *e = h->data;
    e->stopping = true;
    for (;;) {
        hx__transport *t = NULL;
        hx_strmap_foreach(&e->transports, first_value, &t);
        if (!t) break;
        hx__transport_close(t, "shutdown");
    }
    hx_udp_flush(e->udp);
    hx__tcp_stop(e);
    uv_poll_stop(&e->poll);
    uv_close((uv_handle_t *)&e->poll, NULL);
    uv_close((uv_handle_t *)&e->tick, NULL);
    uv_close((uv_handle_t *)&e->stop_async, NULL);
    hx_sfu_pipe_close(&e->commands, NULL);
}

static void *run(void *arg)
{
    hx__engine *e = arg;
    uv_run(&e->loop, UV_RUN_DEFAULT);
    return NULL;
}

/* The addresses to announce: configured, else the bound one, else every interface's. */
static void announce(hx__engine *e, const struct sockaddr_storage *local)
{
    char addrs[HX_ENGINE_MAX_ANNOUNCE][64];
    size_t n = 0;
    for (size_t i = 0; i < e->cfg.n_announce; i++)
        snprintf(addrs[n++], sizeof addrs[0], "%s", e->cfg.announce[i]);
    bool wildcard = !strcmp(e->cfg.host, "0.0.0.0") || !strcmp(e->cfg.host, "::");
    if (!n && !wildcard) snprintf(addrs[n++], sizeof addrs[0], "%s", e->cfg.host);
    struct ifaddrs *ifs = NULL;
    if (!n && getifaddrs(&ifs) == 0) {
        for (struct ifaddrs *i = ifs; i && n < HX_ENGINE_MAX_ANNOUNCE; i = i->ifa_next) {
            if (!i->ifa_addr || !(i->ifa_flags & IFF_UP) || (i->ifa_flags & IFF_LOOPBACK)) continue;
            /* An IPv6 wildcard socket is dual-stack: it serves both families. */
            int fam = i->ifa_addr->sa_family;
            if (fam != local->ss_family && !(local->ss_family == AF_INET6 && fam == AF_INET))
                continue;
            const void *a = fam == AF_INET
                                ? (const void *)&((struct sockaddr_in *)i->ifa_addr)->sin_addr
                                : (const void *)&((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr;
            if (fam == AF_INET6 && IN6_IS_ADDR_LINKLOCAL((const struct in6_addr *)a)) continue;
            inet_ntop(fam, a, addrs[n], sizeof addrs[0]);
            n++;
        }
        freeifaddrs(ifs);
    }
    e->n_candidates = 0;
    for (size_t i = 0; i < n; i++) {
        struct sockaddr_storage ss;
        memset(&ss, 0, sizeof ss);
        struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
        if (inet_pton(AF_INET, addrs[i], &a4->sin_addr) == 1) {
            a4->sin_family = AF_INET;
            a4->sin_port = htons((uint16_t)e->port);
        } else if (inet_pton(AF_INET6, addrs[i], &a6->sin6_addr) == 1) {
            a6->sin6_family = AF_INET6;
            a6->sin6_port = htons((uint16_t)e->port);
        } else {
            continue;
        }
        hx_ice_candidate c;
        char foundation[24];
        snprintf(foundation, sizeof foundation, "%zu", i + 1);
        if (hx_ice_candidate_host(&c, foundation, HX_ICE_UDP, &ss, (unsigned)(8191 - i)) == 0 &&
            hx_ice_candidate_format(&c, e->candidates[e->n_candidates], sizeof e->candidates[0]) >
                0)
            e->n_candidates++;
        if (!e->tcp_listening) continue;
        /* The passive ICE-TCP candidate on the same address (ranked below UDP by its priority). */
        if (ss.ss_family == AF_INET)
            ((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)e->tcp_port);
        else
            ((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)e->tcp_port);
        snprintf(foundation, sizeof foundation, "%zu", i + 101);
        if (hx_ice_candidate_host(&c, foundation, HX_ICE_TCP, &ss, (unsigned)(8191 - i)) == 0 &&
            hx_ice_candidate_format(&c, e->candidates[e->n_candidates], sizeof e->candidates[0]) >
                0)
            e->n_candidates++;
    }
    for (size_t i = 0; i < e->n_candidates; i++)
        e->candidate_ptrs[i] = e->candidates[i];
}

static void free_pipe(hx_sfu_pipe *p)
{
    free(p);
}

static void engine_free(hx__engine *e)
{
    if (e->loop_ready) { /* a start that failed after the loop was made */
        hx__tcp_stop(e);
        uv_run(&e->loop, UV_RUN_DEFAULT);
        uv_loop_close(&e->loop);
    }
    hx_sctp_stack_destroy(e->sctp);
    hx_dtls_ctx_free(e->dtls);
    hx_dtls_cert_free(&e->cert);
    hx_ice_demux_free(&e->demux);
    hx_udp_close(e->udp);
    hx_strmap_free(&e->transports);
    hx_strmap_free(&e->tracks);
    hx_strmap_free(&e->rooms);
    free(e->sdp_a);
    free(e->sdp_b);
    free(e->nego);
    free(e->sdp_text);
    free(e->msg);
    free(e->offer_tracks);
    free(e->relay);
    free(e->tcp_rx);
    free(e);
}

int hx_engine_start(const hx_engine_config *cfg, uv_loop_t *events_loop, hx_sfu_deliver_fn deliver,
                    void *ctx, hx_engine **out, char *err, size_t errlen)
{
    *out = NULL;
    hx__engine *e = calloc(1, sizeof *e);
    if (!e) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    e->cfg = *cfg;
    e->debug = getenv("HX_ENGINE_DEBUG") != NULL;
    e->events_loop = events_loop;
    hx_strmap_init(&e->transports);
    hx_strmap_init(&e->tracks);
    hx_strmap_init(&e->rooms);
    e->sdp_a = malloc(sizeof *e->sdp_a);
    e->sdp_b = malloc(sizeof *e->sdp_b);
    e->nego = malloc(sizeof *e->nego);
    e->sdp_text = malloc(HX_SDP_MAX_LEN + 1);
    e->msg = malloc(HX_SFU_MSG_MAX);
    e->offer_tracks = malloc(HX__MAX_CONSUMERS * sizeof *e->offer_tracks);
    e->relay = malloc(HX__RELAY_MAX);
    e->tcp_rx = malloc(HX__TCP_CHUNK);
    if (!e->sdp_a || !e->sdp_b || !e->nego || !e->sdp_text || !e->msg || !e->offer_tracks ||
        !e->relay || !e->tcp_rx) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (hx_udp_open(cfg->host, cfg->port, &e->udp, err, errlen) != 0) goto fail;
    e->port = hx_udp_port(e->udp);
    if (hx_ice_demux_init(&e->demux, cfg->max_transports) != 0) {
        snprintf(err, errlen, "ice demux: out of memory");
        goto fail;
    }
    if (hx_dtls_cert_generate(&e->cert) != 0) {
        snprintf(err, errlen, "cannot generate the DTLS certificate");
        goto fail;
    }
    hx_dtls_config dc = {.cert = &e->cert};
    if (hx_dtls_ctx_new(&e->dtls, &dc) != 0) {
        snprintf(err, errlen, "cannot create the DTLS context");
        goto fail;
    }
    hx_sctp_stack_config sc = {.crc32c_offload = false};
    if (hx_sctp_stack_create(&sc, &e->sctp) != 0) {
        snprintf(err, errlen, "cannot start the SCTP stack");
        goto fail;
    }
    if (uv_loop_init(&e->loop) != 0) {
        snprintf(err, errlen, "uv_loop_init failed");
        goto fail;
    }
    e->loop_ready = true;
    if (cfg->tcp_port >= 0 && hx__tcp_listen(e, cfg->host, cfg->tcp_port, err, errlen) != 0)
        goto fail;
    announce(e, hx_udp_local(e->udp));
    if (!e->n_candidates) {
        snprintf(err, errlen, "no address to announce for media (set media.announce)");
        goto fail;
    }
    if (!(e->events = malloc(sizeof *e->events))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    hx_sfu_pipe_init(&e->commands, &e->loop, 64u << 20, on_command, e);
    hx_sfu_pipe_init(e->events, events_loop, 64u << 20, deliver, ctx);
    uv_async_init(&e->loop, &e->stop_async, on_stop);
    e->stop_async.data = e;
    uv_poll_init(&e->loop, &e->poll, hx_udp_fd(e->udp));
    e->poll.data = e;
    uv_poll_start(&e->poll, UV_READABLE, on_readable);
    uv_timer_init(&e->loop, &e->tick);
    e->tick.data = e;
    uv_timer_start(&e->tick, on_tick, HX__TICK_MS, HX__TICK_MS);
    if (pthread_create(&e->thread, NULL, run, e) != 0) {
        snprintf(err, errlen, "cannot start the media thread");
        on_stop(&e->stop_async);
        uv_run(&e->loop, UV_RUN_DEFAULT);
        uv_loop_close(&e->loop);
        e->loop_ready = false;
        hx_sfu_pipe_close(e->events, free_pipe);
        goto fail;
    }
    *out = (hx_engine *)e;
    return 0;
fail:
    engine_free(e);
    return -1;
}

int hx_engine_post(void *engine, const uint8_t *msg, size_t len)
{
    return hx_sfu_pipe_send(&((hx__engine *)engine)->commands, msg, len);
}

int hx_engine_port(const hx_engine *engine)
{
    return ((const hx__engine *)engine)->port;
}

int hx_engine_tcp_port(const hx_engine *engine)
{
    const hx__engine *e = (const hx__engine *)engine;
    return e->tcp_listening ? e->tcp_port : -1;
}

void hx_engine_stop(hx_engine *engine)
{
    hx__engine *e = (hx__engine *)engine;
    if (!e) return;
    uv_async_send(&e->stop_async);
    pthread_join(e->thread, NULL);
    uv_loop_close(&e->loop);
    e->loop_ready = false;
    hx_sfu_pipe_close(e->events, free_pipe); /* its handle lives on the control plane's loop */
    engine_free(e);
}
