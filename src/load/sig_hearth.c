/*
 * Joining hearthd the way docs/protocol.md says a client does:
 *
 *   POST /v1/join-tickets (dev profile: X-User-Id "load<N>") -> ticket
 *   WebSocket /v1/signal?v=2 -> hello -> join {ticket, room, event_batch: true} -> ack
 *   room events one by one or several in one `room.events` (event_batch, §2), read alike
 *   publisher: sdp.offer {pc: publisher} -> ack {answer}; ice.candidate "" (ours are inline)
 *   every server sdp.offer {pc: subscriber, revision} -> sdp.answer {.., revision}
 *   server ice.candidate -> the named PeerConnection
 *   with --layer: track.layer {track, rid} for every remote video track
 *   (room.tracks in the join ack, track.published later), sent once the
 *   subscriber answer that carries it is acknowledged (the server must have
 *   the consumer), again after the next answer if it was refused
 *
 * Resume (§2.4). The participant keeps the latest resume token (the join
 * result's, then each `session.token`'s and each resume result's). When its
 * WebSocket ends without `leave` -- no `disconnect` at all (a cut, close
 * 1001/1006/1011/1012) or a `disconnect` with `resume: true` or reason
 * `shutdown` (a stopping server closes a connection whose `resume` it has
 * not taken yet without the hint) -- a reconnect begins: a new WebSocket
 * after `retry_after_ms` (when the server gave one) or the next backoff
 * step (100, 250, 500 ms, then every 1 s, each +-20 %),
 * again on every refused connection or `draining`, until the server's window
 * for it (restart_grace_s or drop_grace_s of the join result) has passed.
 * Its first message is `resume` {token, room, media: "renew"}; on the ack
 * both PeerConnections are closed and negotiated anew exactly as after a
 * join (new ICE and DTLS), the received streams folded into the figures
 * first, so that loss is counted while connected. A refusal (`rejoin: true`)
 * is a failed reconnect and ends the participant. Never after `left`,
 * `replaced`, `revoked`, `kicked`, `banned`, `timed_out`,
 * `negotiation_failed`: those end the participant.
 *
 * A reconnect is a "restart" when the server closed with a `disconnect`
 * shutdown or 1001, or when any participant saw the server stop (shutdown,
 * 1001, `draining`, a refused connection: run.shutdown_seen_us) after it
 * began: then the server had to bring the session back from its store. Else
 * a "drop". hearthd counts its side the same way (hearth_reconnects_total
 * {kind}), so the two agree.
 *
 * A join the server interrupts before its ack (restart: `draining`, 1001,
 * refused connections) starts again with a new ticket, with backoff, as long
 * as its deadline allows: still one join for the figures.
 *
 * Churn (worker.c picks lifetimes and drops): in the room with media
 * connected, a participant cuts its connection at drop_at_us (a TCP reset,
 * no close frame) and resumes; at leave_at_us it sends `leave` and is done
 * once the server closed (a leave the server never acknowledged, because it
 * went away, is resumed and sent again). Neither happens within 3 s of a
 * server stop being seen: a cut then is a restart, not a drop.
 *
 * The participant's join time runs from the ticket request to its first
 * media packet (media_rx.c); media connected (the join figures) is its first
 * PeerConnection up (worker.c). JSON is jansson, SDP text up to
 * HX_SDP_MAX_LEN: per participant, a few times, never per packet.
 */
#define _GNU_SOURCE /* memmem */
#include "load/load_internal.h"
#include "sdp/sdp.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BACKOFF_STEPS 4
#define TRY_TIMEOUT_US 5000000ull /* a resume connection that gets nowhere is tried again */
#define QUIET_AFTER_SHUTDOWN_US 3000000ull /* no churn drop this soon after a server stop */
#define DEFAULT_GRACE_S 30

static const uint32_t backoff_ms[BACKOFF_STEPS] = {100, 250, 500, 1000};

static int send_json(hx_load_part *p, json_t *msg)
{
    char *txt = json_dumps(msg, JSON_COMPACT);
    json_decref(msg);
    if (!txt) return -1;
    int rc = hx_lconn_ws_send(&p->ws, txt, strlen(txt));
    free(txt);
    return rc;
}

static int request(hx_load_part *p, const char *type, const char *id, json_t *data)
{
    return send_json(p, json_pack("{s:s,s:s,s:o}", "type", type, "id", id, "data", data));
}

/* ---- reconnect bookkeeping ------------------------------------------------------------- */

static void saw_shutdown(hx_load_part *p)
{
    _Atomic uint64_t *seen = &p->w->run->shutdown_seen_us;
    uint64_t now = hx_load_now_us(), old = atomic_load(seen);
    while (old < now && !atomic_compare_exchange_weak(seen, &old, now)) {
    }
}

/* ms +-20 %. */
static uint64_t jittered_us(hx_load_part *p, uint32_t ms)
{
    uint32_t span = ms / 5 * 2 + 1;
    return ((uint64_t)ms - ms / 5 + hx__load_rand(p->w) % span) * 1000;
}

/* Try again after ms (0: the next backoff step). */
static void retry_later(hx_load_part *p, uint32_t ms)
{
    if (!ms) {
        ms = backoff_ms[p->backoff < BACKOFF_STEPS ? p->backoff : BACKOFF_STEPS - 1];
        p->backoff++;
    }
    p->sig = HX_LS_WAIT;
    p->retry_at_us = hx_load_now_us() + jittered_us(p, ms);
}

static uint64_t window_us(const hx_load_part *p, int kind)
{
    int s = kind == HX_LOAD_RC_RESTART ? p->restart_grace_s : p->drop_grace_s;
    return (uint64_t)(s > 0 ? s : DEFAULT_GRACE_S) * 1000000u;
}

static void episode_kind(hx_load_part *p, int kind)
{
    if (kind != HX_LOAD_RC_RESTART || p->ep_kind == HX_LOAD_RC_RESTART) return;
    p->ep_kind = kind;
    p->ep_deadline_us = p->ep_start_us + window_us(p, kind);
}

static void episode_begin(hx_load_part *p, int kind)
{
    if (p->ep_active) {
        episode_kind(p, kind);
        return;
    }
    p->ep_active = true;
    p->ep_kind = kind;
    p->ep_start_us = hx_load_now_us();
    p->ep_deadline_us = p->ep_start_us + window_us(p, kind);
    p->backoff = 0;
}

static void episode_end(hx_load_part *p, bool resumed)
{
    if (!p->ep_active) return;
    p->ep_active = false;
    hx_load_stats *st = &p->w->st;
    if (resumed) {
        st->rc_resumed[p->ep_kind]++;
        atomic_fetch_add_explicit(&st->resumed, 1, memory_order_relaxed);
    } else {
        st->rc_failed[p->ep_kind]++;
    }
}

static void keep_token(hx_load_part *p, json_t *tok)
{
    const char *t = json_string_value(tok);
    if (!t) return;
    char *copy = strdup(t);
    if (!copy) return;
    free(p->token);
    p->token = copy;
}

/* The join result's (or resume result's) `resume`: the token and the windows. */
static void keep_resume(hx_load_part *p, json_t *data)
{
    json_t *r = json_object_get(data, "resume");
    if (!json_is_object(r)) return;
    keep_token(p, json_object_get(r, "token"));
    json_t *d = json_object_get(r, "drop_grace_s"), *x = json_object_get(r, "restart_grace_s");
    if (json_is_integer(d)) p->drop_grace_s = (int)json_integer_value(d);
    if (json_is_integer(x)) p->restart_grace_s = (int)json_integer_value(x);
}

/* A join that has to begin again (the server went away first): counted once. */
static void join_again(hx_load_part *p)
{
    if (p->join_retried) return;
    p->join_retried = true;
    p->w->st.joins_retried++;
}

/* ---- media ----------------------------------------------------------------------------- */

static void send_offer(hx_load_part *p)
{
    char *sdp = hx__load_publisher_offer(p);
    if (sdp &&
        request(p, "sdp.offer", "pub", json_pack("{s:s,s:s}", "pc", "publisher", "sdp", sdp)) != 0)
        hx__load_fail(p, "publisher offer send");
    free(sdp);
}

static void negotiation_failed(hx_load_part *p, const char *why)
{
    p->w->st.neg_failures++;
    hx__load_fail(p, why);
}

static void on_sub_offer(hx_load_part *p, json_t *data)
{
    const char *offer = json_string_value(json_object_get(data, "sdp"));
    json_t *rev = json_object_get(data, "revision");
    if (!offer) return;
    if (getenv("HX_LOAD_DEBUG")) fprintf(stderr, "---- offer\n%s\n", offer);
    uint64_t before = p->w->st.failed;
    char *sdp = hx__load_subscriber_answer(p, offer);
    if (!sdp) { /* an offer we cannot answer (the participant failed with why) */
        if (p->w->st.failed != before) p->w->st.neg_failures++;
        return;
    }
    if (getenv("HX_LOAD_DEBUG")) fprintf(stderr, "---- answer\n%s\n", sdp);
    json_t *d = json_pack("{s:s,s:s}", "pc", "subscriber", "sdp", sdp);
    if (rev) json_object_set(d, "revision", rev);
    if (request(p, "sdp.answer", "sub", d) != 0) hx__load_fail(p, "subscriber answer send");
    free(sdp);
}

/* Remember a remote video track (once) to ask its layer of. */
static void note_track(hx_load_part *p, json_t *track)
{
    const char *id = json_string_value(json_object_get(track, "id"));
    const char *kind = json_string_value(json_object_get(track, "kind"));
    if (p->w->run->cfg->layer < 0 || !id || !kind || strcmp(kind, "video") != 0) return;
    if (strlen(id) >= sizeof p->vtracks[0].id) return;
    for (int i = 0; i < p->n_vtracks; i++)
        if (!strcmp(p->vtracks[i].id, id)) return;
    if (p->n_vtracks == HX_LOAD_MAX_VTRACKS) return;
    hx_load_vtrack *v = &p->vtracks[p->n_vtracks++];
    snprintf(v->id, sizeof v->id, "%s", id);
    v->state = 0;
}

static void note_room_tracks(hx_load_part *p, json_t *data)
{
    json_t *tracks = json_object_get(json_object_get(data, "room"), "tracks");
    size_t i;
    json_t *t;
    json_array_foreach(tracks, i, t) note_track(p, t);
}

/* After a subscriber answer is acknowledged: track.layer for the tracks not asked yet. */
static void ask_layers(hx_load_part *p)
{
    const char *rid = hx_load_layer_rid(p->w->run->cfg->layer);
    for (int i = 0; i < p->n_vtracks; i++) {
        hx_load_vtrack *v = &p->vtracks[i];
        if (v->state != 0) continue;
        char id[16];
        snprintf(id, sizeof id, "layer%d", i);
        if (request(p, "track.layer", id, json_pack("{s:s,s:s}", "track", v->id, "rid", rid)) == 0)
            v->state = 1;
    }
}

/* The reply to track.layer `id` ("layer<i>"): acknowledged, or to ask again later. */
static bool layer_reply(hx_load_part *p, const char *id, bool ok)
{
    int i;
    if (sscanf(id, "layer%d", &i) != 1 || i < 0 || i >= p->n_vtracks) return false;
    p->vtracks[i].state = ok ? 2 : 0;
    return true;
}

/* Resumed with media "renew": new PeerConnections, negotiated as after a join. The server
 * restores subscriptions and layer choices itself. */
static void renew_media(hx_load_part *p)
{
    if (p->pub) hx_lpc_close(p->pub);
    if (p->sub) hx_lpc_close(p->sub);
    p->pub = p->sub = NULL;
    hx_load_rx_finish(p, &p->w->st); /* the old streams' figures; new ones start afresh */
    p->n_rx = 0;
    p->media_ok = false;
    p->renewing = true;
    p->renew_deadline_us = hx_load_now_us() + HX_LOAD_JOIN_TIMEOUT_MS * 1000ull;
    if (p->publisher) send_offer(p);
}

/* ---- connections ----------------------------------------------------------------------- */

static void on_text(void *user, char *text, size_t len);
static void on_ws_open(void *user, int status, const char *body, size_t len);
static void on_ws_close(void *user, int err);
static void request_ticket(hx_load_part *p);

static void open_ws(hx_load_part *p, hx_load_sig_state next)
{
    p->sig = next;
    p->disc_seen = p->disc_resume = false;
    p->disc_reason[0] = '\0';
    p->disc_retry_ms = 0;
    p->leave_acked = false;
    p->retry_at_us = hx_load_now_us() + TRY_TIMEOUT_US; /* the try's own deadline */
    p->ws.user = p;
    p->ws.on_http = on_ws_open;
    p->ws.on_text = on_text;
    p->ws.on_close = on_ws_close;
    if (next == HX_LS_RESUME) p->w->st.rc_tries++;
    if (hx_lconn_ws(&p->ws, &p->w->loop, p->ip, p->port, "/v1/signal?v=2", NULL) != 0)
        retry_later(p, 0); /* the previous handle is still closing, say */
}

static void left(hx_load_part *p)
{
    p->sig = HX_LS_DONE;
    p->state = HX_LP_LEFT;
    if (p->pub) hx_lpc_close(p->pub);
    if (p->sub) hx_lpc_close(p->sub);
    p->pub = p->sub = NULL;
    free(p->token);
    p->token = NULL;
    atomic_fetch_add_explicit(&p->w->st.left, 1, memory_order_relaxed);
}

/*
 * The signaling connection is gone (err: the transport's, close code: the server's close frame,
 * 0 when none came). Resume when the protocol says so, join again when there is no session yet,
 * else the participant is done.
 */
static void lost(hx_load_part *p, int err, int code)
{
    bool resumable;
    int kind = HX_LOAD_RC_DROP;
    uint32_t delay = 0;
    char why[96];
    if (err == UV_ECONNREFUSED) saw_shutdown(p);
    if (p->disc_seen) {
        resumable = p->disc_resume;
        if (!strcmp(p->disc_reason, "shutdown")) {
            kind = HX_LOAD_RC_RESTART;
            saw_shutdown(p);
        }
        if (p->disc_retry_ms > 0) delay = (uint32_t)p->disc_retry_ms;
        /* A stopping server closes a connection whose join or resume it has not taken yet with
         * a plain shutdown: again once it is back (a resume, or a join when there is no
         * session yet). */
        if (kind == HX_LOAD_RC_RESTART) resumable = true;
        if (!resumable) {
            snprintf(why, sizeof why, "the server ended the session: %s", p->disc_reason);
            if (!strcmp(p->disc_reason, "negotiation_failed"))
                negotiation_failed(p, why);
            else
                hx__load_fail(p, why);
            return;
        }
    } else if (code == 1001 || code == 1012) {
        resumable = true;
        kind = HX_LOAD_RC_RESTART;
        saw_shutdown(p);
    } else {
        /* No close frame (a cut, a refused or failed connection, a failed handshake) or 1011:
         * resume. Any other code without a `disconnect` is not one the protocol resumes. */
        resumable = code == 0 || code == 1006 || code == 1011;
    }
    if (!resumable) {
        snprintf(why, sizeof why, "signaling closed with %d", code);
        hx__load_fail(p, why);
        return;
    }
    if (p->token) {
        episode_begin(p, kind);
        retry_later(p, delay);
    } else { /* the join did not get its ack: a new ticket (the old one may be spent) */
        join_again(p);
        retry_later(p, delay);
    }
}

static void on_ws_close(void *user, int err)
{
    hx_load_part *p = user;
    if (atomic_load(&p->w->run->phase) == HX_LOAD_STOP) return;
    if (p->state == HX_LP_FAILED || p->state == HX_LP_CLOSED || p->state == HX_LP_LEFT) return;
    if (p->sig == HX_LS_WAIT || p->sig == HX_LS_DONE) return; /* already handled (`draining`) */
    if (p->sig == HX_LS_LEAVING && p->leave_acked) {
        left(p);
        return;
    }
    lost(p, err, p->ws.close_code);
}

static void on_ws_open(void *user, int status, const char *body, size_t len)
{
    /* The 101: the server speaks first (hello). */
}

/* ---- messages -------------------------------------------------------------------------- */

static void on_hello(hx_load_part *p)
{
    const hx_load_cfg *cfg = p->w->run->cfg;
    if (p->sig == HX_LS_JOIN) {
        if (!p->ticket || request(p, "join", "join",
                                  json_pack("{s:s,s:s,s:b}", "ticket", p->ticket, "room", cfg->room,
                                            "event_batch", 1)))
            hx__load_fail(p, "join send");
        free(p->ticket);
        p->ticket = NULL;
    } else if (p->sig == HX_LS_RESUME) {
        /* Crossed a restart since the connection was lost: the server brings the session back
         * from its store and counts it so. */
        if (atomic_load(&p->w->run->shutdown_seen_us) >= p->ep_start_us)
            episode_kind(p, HX_LOAD_RC_RESTART);
        if (request(p, "resume", "resume",
                    json_pack("{s:s,s:s,s:s,s:b}", "token", p->token, "room", cfg->room, "media",
                              "renew", "event_batch", 1)) != 0)
            hx__load_fail(p, "resume send");
    }
}

static void on_ack(hx_load_part *p, const char *id, json_t *data)
{
    if (layer_reply(p, id, true)) return;
    if (!strcmp(id, "sub")) {
        ask_layers(p);
    } else if (!strcmp(id, "join")) {
        p->sig = HX_LS_OPEN;
        p->backoff = 0;
        keep_resume(p, data);
        note_room_tracks(p, data);
        if (p->publisher) send_offer(p);
    } else if (!strcmp(id, "resume")) {
        p->sig = HX_LS_OPEN;
        p->backoff = 0;
        episode_end(p, true);
        keep_resume(p, data);
        note_room_tracks(p, data);
        const char *media = json_string_value(json_object_get(data, "media"));
        if (!media || strcmp(media, "kept") != 0) renew_media(p);
    } else if (!strcmp(id, "leave")) {
        p->leave_acked = true;
    } else if (!strcmp(id, "pub")) {
        const char *answer = json_string_value(json_object_get(data, "sdp"));
        if (!p->pub || !answer || hx__load_sdp_apply_answer(p->pub, answer) != 0) {
            negotiation_failed(p, "publisher answer");
            return;
        }
        request(p, "ice.candidate", "eoc",
                json_pack("{s:s,s:s,s:s}", "pc", "publisher", "candidate", "", "sdp_mid", "0"));
    }
}

static void on_error(hx_load_part *p, const char *id, json_t *data)
{
    const char *code = json_string_value(json_object_get(data, "code")) ?: "?";
    char why[256];
    snprintf(why, sizeof why, "server error for '%s': %s (%s)", id ? id : "-", code,
             json_string_value(json_object_get(data, "message")) ?: "");
    json_t *ra = json_object_get(data, "retry_after_ms");
    uint32_t retry =
        json_is_integer(ra) && json_integer_value(ra) > 0 ? (uint32_t)json_integer_value(ra) : 0;
    if (id && (!strcmp(id, "join") || !strcmp(id, "resume")) && !strcmp(code, "draining")) {
        /* The server is stopping (it closes next): again once it is back. */
        saw_shutdown(p);
        if (!strcmp(id, "resume"))
            episode_kind(p, HX_LOAD_RC_RESTART);
        else
            join_again(p);
        retry_later(p, retry);
        hx_lconn_close(&p->ws);
    } else if (id && !strcmp(id, "resume")) {
        /* `rejoin: true`: the session is over for the server. A failed reconnect. */
        episode_end(p, false);
        hx__load_fail(p, why);
    } else if (id && (!strcmp(id, "pub") || !strcmp(id, "sub"))) {
        negotiation_failed(p, why);
    } else if (id && !strcmp(id, "join")) {
        hx__load_fail(p, why);
    } else {
        fprintf(stderr, "hearth-load: participant %d: %s\n", p->index, why);
    }
}

static void on_msg(hx_load_part *p, json_t *msg)
{
    const char *type = json_string_value(json_object_get(msg, "type"));
    const char *id = json_string_value(json_object_get(msg, "id"));
    json_t *data = json_object_get(msg, "data");
    if (!type) {
    } else if (!strcmp(type, "hello")) {
        on_hello(p);
    } else if (!strcmp(type, "ack") && id) {
        on_ack(p, id, data);
    } else if (!strcmp(type, "error") && id && layer_reply(p, id, false)) {
        /* not subscribed yet (unknown_track): asked again after the next answer */
    } else if (!strcmp(type, "error")) {
        on_error(p, id, data);
    } else if (!strcmp(type, "room.events")) { /* event_batch: several events, in order */
        size_t i;
        json_t *ev;
        json_array_foreach(json_object_get(data, "events"), i, ev)
        {
            const char *t = json_string_value(json_object_get(ev, "type"));
            if (t && strcmp(t, "room.events") != 0) on_msg(p, ev);
        }
    } else if (!strcmp(type, "track.published")) {
        note_track(p, json_object_get(data, "track"));
    } else if (!strcmp(type, "sdp.offer")) {
        on_sub_offer(p, data);
    } else if (!strcmp(type, "ice.candidate")) {
        const char *pcname = json_string_value(json_object_get(data, "pc"));
        const char *cand = json_string_value(json_object_get(data, "candidate"));
        hx_lpc *pc = pcname && !strcmp(pcname, "publisher") ? p->pub : p->sub;
        if (pc && cand && *cand) hx_lpc_add_candidate(pc, cand);
    } else if (!strcmp(type, "session.token")) {
        keep_token(p, json_object_get(data, "token"));
    } else if (!strcmp(type, "disconnect")) {
        const char *reason = json_string_value(json_object_get(data, "reason"));
        json_t *ra = json_object_get(data, "retry_after_ms");
        p->disc_seen = true;
        p->disc_resume = json_is_true(json_object_get(data, "resume"));
        snprintf(p->disc_reason, sizeof p->disc_reason, "%s", reason ? reason : "");
        p->disc_retry_ms = json_is_integer(ra) ? (int)json_integer_value(ra) : 0;
    }
}

/* Room events hearth-load has no use for (participants joining, leaving, moderation): not
 * parsed. One process plays every client of a big room, and parsing each client's copy of
 * each event was most of its CPU at 1,000 participants (a real client parses its own).
 * Only a message whose envelope starts with its type is recognized; anything else is parsed.
 * Track events matter only when layers are asked for (note_track). */
static bool unused_event(const hx_load_part *p, const char *text, size_t len)
{
    static const char head[] = "{\"type\":\"";
    size_t h = sizeof head - 1;
    if (len < h || memcmp(text, head, h) != 0) return false;
    const char *type = text + h, *end = memchr(type, '"', len - h);
    if (!end) return false;
    size_t n = (size_t)(end - type);
    bool batch = n == 11 && !memcmp(type, "room.events", 11);
    if (!batch && !(n > 12 && !memcmp(type, "participant.", 12))) return false;
    return p->w->run->cfg->layer < 0 || !memmem(text, len, "\"track.", 7);
}

static void on_text(void *user, char *text, size_t len)
{
    hx_load_part *p = user;
    if (unused_event(p, text, len)) return;
    json_t *msg = json_loadb(text, len, 0, NULL);
    if (!msg) return;
    on_msg(p, msg);
    json_decref(msg);
}

/* ---- the ticket ------------------------------------------------------------------------ */

static bool join_retry_ok(hx_load_part *p)
{
    return atomic_load(&p->w->run->phase) != HX_LOAD_STOP &&
           hx_load_now_us() + 100000 < p->deadline_us;
}

static void on_ticket(void *user, int status, const char *body, size_t len)
{
    hx_load_part *p = user;
    json_t *j = body ? json_loadb(body, len, 0, NULL) : NULL;
    const char *t = json_string_value(json_object_get(j, "ticket"));
    if (status != 201 || !t) {
        /* Starting, stopping or busy: again. Anything else is an answer. */
        if ((status == 503 || status == 429 || status == 502) && join_retry_ok(p)) {
            if (status == 503) saw_shutdown(p);
            join_again(p);
            retry_later(p, 0);
        } else {
            char why[160];
            snprintf(why, sizeof why, "ticket request: HTTP %d %.100s", status, body ? body : "");
            hx__load_fail(p, why);
        }
        json_decref(j);
        return;
    }
    free(p->ticket);
    p->ticket = strdup(t);
    p->got_ticket = true;
    json_decref(j);
    if (!p->ticket) {
        hx__load_fail(p, "out of memory");
        return;
    }
    open_ws(p, HX_LS_JOIN);
}

static void on_ticket_fail(void *user, int err)
{
    hx_load_part *p = user;
    if (err == UV_ECONNREFUSED) saw_shutdown(p);
    if (join_retry_ok(p)) { /* the server is down (a restart): again with backoff */
        join_again(p);
        retry_later(p, 0);
    } else
        hx__load_fail(p, "ticket request failed");
}

static void request_ticket(hx_load_part *p)
{
    const hx_load_cfg *cfg = p->w->run->cfg;
    char headers[128], body[256];
    p->sig = HX_LS_TICKET;
    snprintf(headers, sizeof headers, "X-User-Id: load%d\r\nX-Device-Id: d%d\r\n", p->index,
             p->index);
    json_t *b = json_pack("{s:s,s:i}", "room", cfg->room, "protocol_version", 2);
    char *bt = b ? json_dumps(b, JSON_COMPACT) : NULL;
    json_decref(b);
    if (!bt) {
        hx__load_fail(p, "out of memory");
        return;
    }
    snprintf(body, sizeof body, "%s", bt);
    free(bt);
    p->http.user = p;
    p->http.on_http = on_ticket;
    p->http.on_close = on_ticket_fail;
    if (hx_lconn_http(&p->http, &p->w->loop, p->ip, p->port, "POST", "/v1/join-tickets", headers,
                      body) != 0)
        retry_later(p, 0);
}

int hx__load_hearth_start(hx_load_part *p)
{
    request_ticket(p);
    return 0;
}

/* ---- timers ---------------------------------------------------------------------------- */

static void cut(hx_load_part *p)
{
    p->dropped = true;
    p->w->st.dropped++;
    hx_lconn_reset(&p->ws); /* no close frame: the network went */
    episode_begin(p, HX_LOAD_RC_DROP);
    retry_later(p, 0);
}

static void churn_tick(hx_load_part *p, uint64_t now)
{
    if (p->sig != HX_LS_OPEN || !p->media_ok || p->disc_seen || !p->leave_at_us ||
        atomic_load(&p->w->run->phase) != HX_LOAD_RUN)
        return;
    bool drop_due =
        p->drop_planned && !p->dropped && (now >= p->drop_at_us || now >= p->leave_at_us);
    if (drop_due) {
        if (now - atomic_load(&p->w->run->shutdown_seen_us) >= QUIET_AFTER_SHUTDOWN_US) cut(p);
        return; /* and leave once back */
    }
    if (now >= p->leave_at_us) {
        p->sig = HX_LS_LEAVING;
        p->leave_acked = false;
        if (request(p, "leave", "leave", json_object()) != 0) { /* the connection is going */
            p->sig = HX_LS_OPEN;
        }
    }
}

void hx__load_hearth_tick(hx_load_part *p, uint64_t now)
{
    if (p->state == HX_LP_FAILED || p->state == HX_LP_CLOSED || p->state == HX_LP_LEFT) return;
    if (p->renewing && now > p->renew_deadline_us) {
        hx__load_fail(p, "media not connected again after a resume");
        return;
    }
    if (p->ep_active && p->sig != HX_LS_OPEN && now > p->ep_deadline_us) {
        episode_end(p, false);
        hx__load_fail(p, "could not resume within the server's window");
        return;
    }
    if (p->sig == HX_LS_RESUME && now > p->retry_at_us) { /* that try got nowhere */
        hx_lconn_close(&p->ws);
        retry_later(p, 0);
        return;
    }
    if (p->sig == HX_LS_WAIT && now >= p->retry_at_us) {
        if (p->token)
            open_ws(p, HX_LS_RESUME);
        else if (join_retry_ok(p))
            request_ticket(p);
        return;
    }
    if (p->churn) churn_tick(p, now);
}

void hx__load_hearth_end(hx_load_part *p)
{
    if (p->ep_active) {
        p->ep_active = false;
        p->w->st.rc_in_progress[p->ep_kind]++;
    }
    free(p->token);
    p->token = NULL;
}
