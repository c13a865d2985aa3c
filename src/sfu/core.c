/*
 * The engine core's life and its command dispatch (core.h): create (DTLS
 * certificate and context, SCTP stack, ICE demux, scratch), commands decoded
 * and handed to the transport, publish and subscribe files, events out
 * through io.event, the timer that drives every transport's timers, and
 * free. Nothing here reads a clock or touches a socket.
 */
#include "sfu/engine_internal.h"

#include "common/bytes.h"

#include "common/invariant.h"

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
    hx_bwe_config_default(&cfg->bwe);
    hx_speaker_config_default(&cfg->speaker);
}

static void random_bytes(hx__engine *e, void *buf, size_t n)
{
    if (e->io.random)
        e->io.random(e->io.ctx, buf, n);
    else if (RAND_bytes(buf, (int)n) != 1)
        memset(buf, 0, n); /* OpenSSL's generator failed: ids stay unique by the next call's luck */
}

void hx__random_id(hx__engine *e, char *out, size_t cap, const char *prefix)
{
    uint8_t r[8];
    random_bytes(e, r, sizeof r);
    snprintf(out, cap, "%s%02x%02x%02x%02x%02x%02x%02x%02x", prefix, r[0], r[1], r[2], r[3], r[4],
             r[5], r[6], r[7]);
}

uint32_t hx__random_ssrc(hx__engine *e)
{
    uint32_t v = 0;
    for (int i = 0; v == 0 && i < 64; i++)
        random_bytes(e, &v, sizeof v);
    return v ? v : 1;
}

/* --- events ---------------------------------------------------------------- */

void hx__begin(hx__engine *e, hx_sfu_builder *b, hx_sfu_kind kind, uint64_t transport)
{
    hx_sfu_build(b, e->msg, HX_SFU_MSG_MAX, kind, transport);
}

void hx__emit(hx__engine *e, hx_sfu_builder *b)
{
    long n = hx_sfu_finish(b);
    if (HX_NEVER(n <= 0)) return; /* every event fits HX_SFU_MSG_MAX */
    if (e->n_relay_in) { /* a stand-in's (relay.c): its publisher's own worker reports */
        hx__transport *t = hx__transport_get(e, hx_rd64(b->buf + 8));
        if (t && t->relay) return;
    }
    e->io.event(e->io.ctx, b->buf, (size_t)n);
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

static void dispatch(hx__engine *e, const hx_sfu_msg *mp)
{
    hx_sfu_msg m = *mp;
    const char *why;
    if (m.kind >= HX_SFU_RELAY_OUT && m.kind <= HX_SFU_RELAY_DROP) {
        hx__relay_command(e, &m); /* the dispatch's own (sfu/workers.c): nothing answers */
        return;
    }
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
        hx__layers_check(tr); /* a paused subscription wants no layer (dynacast.c) */
        break;
    case HX_SFU_RESUME:
        if (c->paused) {
            c->paused = false;
            hx__layers_check(tr);
            c->need_keyframe = tr->kind == HX_SDP_VIDEO; /* audio has no keyframes to wait for */
            hx_seq_rw_switch(&c->rw);
            hx__request_keyframe(tr, hx__wanted_layer(c, e->now_ms));
        }
        break;
    case HX_SFU_SET_LAYER:
        hx__consumer_ask(c, &m.f[HX_SFU_T_LAYER], &m.f[HX_SFU_T_SIZE]); /* receiving.c */
        break;
    case HX_SFU_PIN: /* its downlink serves it first: allocate again at once */
        if (c->pinned != ((m.flags & HX_SFU_F_ON) != 0)) {
            c->pinned = (m.flags & HX_SFU_F_ON) != 0;
            hx__dl_replan(t);
        }
        break;
    default:
        hx__emit_error(e, t->id, &m, "bad_request", "not a command");
        return;
    }
    hx__emit_done(e, t->id, &m);
}

void hx_engine_core_command(hx_engine_core *e, const uint8_t *msg, size_t len, int64_t now_ms)
{
    e->now_ms = now_ms;
    hx_sfu_msg m;
    const char *why;
    if (HX_NEVER(hx_sfu_parse(msg, len, &m, &why) != 0))
        return; /* the control plane built it: a bug, not input */
    dispatch(e, &m);
    /* What the command changed on its transport is due when it is due (deadline.c); what it
     * changed elsewhere (a subscriber to renegotiate, a keyframe to ask) armed itself. */
    hx__transport *t = hx__transport_get(e, m.transport);
    if (t) hx__rearm(t);
    hx__sctp_touched(e);
}

/* --- life ----------------------------------------------------------------- */

static int first_value(void *arg, const char *key, void *value)
{
    (void)key;
    *(void **)arg = value;
    return -1; /* stop: closing changes the map */
}

void hx_engine_core_shutdown(hx_engine_core *e, int64_t now_ms)
{
    e->now_ms = now_ms;
    e->stopping = true;
    for (;;) {
        hx__transport *t = NULL;
        hx_strmap_foreach(&e->transports, first_value, &t);
        if (!t) break;
        hx__transport_close(t, "shutdown");
    }
}

void hx_engine_core_free(hx_engine_core *e, int64_t now_ms)
{
    if (!e) return;
    hx_engine_core_shutdown(e, now_ms);
    hx_sctp_stack_destroy(e->sctp);
    hx_heap_free(&e->timers);
    hx_dtls_ctx_free(e->dtls);
    hx_dtls_cert_free(&e->cert);
    hx_ice_demux_free(&e->demux);
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
    free(e);
}

int hx_engine_core_new(const hx_engine_config *cfg, const char *const *candidates, size_t n,
                       const hx_engine_io *io, hx_engine_core **out, char *err, size_t errlen)
{
    *out = NULL;
    if (n > HX_ENGINE_MAX_ANNOUNCE * 2) {
        snprintf(err, errlen, "too many candidates");
        return -1;
    }
    hx__engine *e = calloc(1, sizeof *e);
    if (!e) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    e->cfg = *cfg;
    e->io = *io;
    e->debug = getenv("HX_ENGINE_DEBUG") != NULL;
    hx_strmap_init(&e->transports);
    hx_strmap_init(&e->tracks);
    hx_strmap_init(&e->rooms);
    for (size_t i = 0; i < n; i++) {
        snprintf(e->candidates[i], sizeof e->candidates[i], "%s", candidates[i]);
        e->candidate_ptrs[i] = e->candidates[i];
    }
    e->n_candidates = n;
    e->sdp_a = malloc(sizeof *e->sdp_a);
    e->sdp_b = malloc(sizeof *e->sdp_b);
    e->nego = malloc(sizeof *e->nego);
    e->sdp_text = malloc(HX_SDP_MAX_LEN + 1);
    e->msg = malloc(HX_SFU_MSG_MAX);
    e->offer_tracks = malloc(HX__MAX_CONSUMERS * sizeof *e->offer_tracks);
    e->relay = malloc(HX__RELAY_MAX);
    if (!e->sdp_a || !e->sdp_b || !e->nego || !e->sdp_text || !e->msg || !e->offer_tracks ||
        !e->relay) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    e->sctp_due = INT64_MAX;
    if (hx_ice_demux_init(&e->demux, cfg->max_transports) != 0 ||
        hx_heap_init(&e->timers, cfg->max_transports) != 0) {
        snprintf(err, errlen, "ice demux, timers: out of memory");
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
    *out = e;
    return 0;
fail:
    hx_engine_core_free(e, 0);
    return -1;
}

void hx_engine_core_set_io(hx_engine_core *e, const hx_engine_io *io)
{
    e->io = *io;
}

void hx_engine_core_set_wall_offset(hx_engine_core *e, int64_t unix_ms_minus_mono_ms)
{
    e->wall_offset_ms = unix_ms_minus_mono_ms;
}

size_t hx_engine_core_transports(const hx_engine_core *e)
{
    return e->transports.count;
}

/* --- invariants ----------------------------------------------------------- */

typedef struct check_ctx {
    const hx__engine *e;
    int bad;
    size_t n, relays; /* transports, stand-ins among them */
} check_ctx;

static int check_transport(void *arg, const char *key, void *value)
{
    check_ctx *k = arg;
    const hx__transport *t = value;
    char want[24];
    k->n++;
#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if (!(x)) {                                                                                \
            k->bad = -__LINE__;                                                                    \
            return -1;                                                                             \
        }                                                                                          \
    } while (0)
    CHECK(t->e == k->e && !t->closing);
    CHECK(!strcmp(key, hx__transport_key(t->id, want)));
    CHECK(t->path.proto <= HX_PATH_TCP);
    CHECK(t->path.proto != HX_PATH_TCP || (t->path.conn && t->path.conn == t->tcp_conn));
    CHECK(t->n_tracks <= HX__MAX_TRACKS && t->n_consumers <= HX__MAX_CONSUMERS);
    CHECK(t->role == HX__SUBSCRIBER || t->n_consumers == 0);
    CHECK(t->role == HX__PUBLISHER || t->n_tracks == 0);
    CHECK(!t->room_of || hx_strmap_get(&k->e->rooms, t->room) == t->room_of);
    CHECK(!t->room_of || t->room_of->n_relays <= HX__MAX_RELAYS);
    /* A relay's stand-in (relay.c): a publisher of mirrors only, nothing negotiated, no ICE. */
    k->relays += t->relay;
    CHECK(!t->relay || (t->role == HX__PUBLISHER && !t->ice_registered && !t->dtls &&
                        !t->srtp_in && !t->srtp_out && !t->sctp && t->n_tracks > 0 &&
                        t->relay_peer.proto == HX_PATH_UDP));
    /* Deadlines (deadline.c): no work due before the transport's timer fires. */
    int64_t due = hx__transport_due((hx__transport *)t);
    CHECK(due == INT64_MAX || (t->timer.pos != SIZE_MAX && t->timer.at <= due));
    for (int i = 0; i < t->n_tracks; i++) {
        const hx__track *tr = t->tracks[i];
        CHECK(tr->pub == t && tr->n_layers <= HX__MAX_LAYERS && tr->svc_layers <= HX__MAX_LAYERS);
        CHECK(hx_strmap_get(&k->e->tracks, tr->id) == tr);
        for (const hx__consumer *c = tr->consumers; c; c = c->track_next)
            CHECK(c->track == tr && c->sub && c->sub->role == HX__SUBSCRIBER);
    }
    for (int i = 0; i < t->n_consumers; i++) {
        const hx__consumer *c = t->consumers[i];
        CHECK(c->sub == t && c->track);
        CHECK(c->layer < (int)c->track->n_layers && c->target_layer < (int)c->track->n_layers);
        CHECK(c->svc_cur >= -1 && c->svc_cur < HX__MAX_LAYERS && c->svc_target >= 0 &&
              c->svc_target < HX__MAX_LAYERS);
        bool linked = false;
        for (const hx__consumer *x = c->track->consumers; x; x = x->track_next)
            linked |= x == c;
        CHECK(linked);
    }
#undef CHECK
    return 0;
}

int hx_engine_core_check(const hx_engine_core *e)
{
    check_ctx k = {e, 0, 0, 0};
    hx_strmap_foreach((hx_strmap *)&e->transports, check_transport, &k);
    if (k.bad) return k.bad;
    if (k.n != e->transports.count || k.relays != e->n_relay_in) return -__LINE__;
    return 0;
}
