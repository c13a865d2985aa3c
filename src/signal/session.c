/*
 * Session lifecycle and message dispatch. Every inbound message goes
 * through the same steps: closing sessions ignore it; the per-connection
 * token bucket admits or drops it; the envelope is decoded; the protocol
 * table for the session's version decides whether the type exists (and
 * whether it is deprecated); then the handler runs. Errors answer the
 * request and keep the connection, except where docs/protocol.md says the
 * server closes.
 */
#include "signal/session.h"
#include "core/metric_names.h"

#include "common/clock.h"
#include "core/slo.h"
#include "signal/envelope.h"
#include "signal/protocol.h"
#include "signal/registry.h"
#include "signal/signal_internal.h"

#include <stdlib.h>
#include <string.h>

#define DROP_WINDOW_MS 10000

void hx__session_deliver(hx_session *s, const char *text, size_t len)
{
    if (s->io->send(s->io_ctx, text, len) && s->state != HX_SESSION_CLOSING) {
        /* The client does not read what we send: drop it rather than buffer without end. */
        s->state = HX_SESSION_CLOSING;
        s->leave_reason = "closed";
        s->io->close(s->io_ctx, HX_CLOSE_POLICY, "send queue full");
    }
}

void hx_session_send(hx_session *s, const char *type, const char *id, json_t *data)
{
    size_t len;
    char *text = hx_envelope_encode(type, id, data, &len);
    if (!text) return;
    hx_session_flush_events(s); /* the room events before it come first, as they happened */
    hx__session_deliver(s, text, len);
    free(text);
}

void hx_session_error(hx_session *s, const char *id, const char *code, const char *message)
{
    hx_session_send(s, "error", id, json_pack("{s:s, s:s}", "code", code, "message", message));
    hx_metrics_add(&s->srv->metrics, HX_M_SIGNAL_ERRORS_TOTAL,
                   "code", code, 1);
}

hx_session *hx_session_open(hx_server *srv, const hx_sig_io *io, void *io_ctx, int version)
{
    hx_session *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->srv = srv;
    s->io = io;
    s->io_ctx = io_ctx;
    s->opened_ms = hx_mono_ms();
    hx_bucket_init(&s->bucket, srv->cfg.sig_rate, srv->cfg.sig_burst, s->opened_ms);
    s->p.owner = s;
    hx_sessions_add(srv->sessions, s);
    hx_metrics_inc(&srv->metrics, HX_M_SIGNAL_CONNECTIONS_TOTAL);

    s->version = version ? version : HX_PROTO_MAX;
    json_t *range = json_pack("{s:i, s:i}", "min", HX_PROTO_MIN, "max", HX_PROTO_MAX);
    if (!hx_protocol_served(s->version)) {
        char msg[96];
        snprintf(msg, sizeof msg, "protocol version %d is not served (%d..%d)", version,
                 HX_PROTO_MIN, HX_PROTO_MAX);
        hx_session_send(s, "error", NULL,
                        json_pack("{s:s, s:s, s:o}", "code", "unsupported_version", "message", msg,
                                  "versions", range));
        s->state = HX_SESSION_CLOSING;
        hx_slo_stage_failed(srv, "joined", "unsupported_version");
        io->close(io_ctx, HX_CLOSE_BAD_VERSION, "unsupported_version");
        return s;
    }
    const hx_config *c = &srv->cfg;
    hx_session_send(s, "hello", NULL,
                    json_pack("{s:i, s:o, s:s, s:{s:I, s:I, s:I, s:I, s:i}}", "version", s->version,
                              "versions", range, "server", "hearth/" HX_VERSION, "limits",
                              "max_message_bytes", (json_int_t)c->max_message_bytes, "rate_per_s",
                              (json_int_t)c->sig_rate, "burst", (json_int_t)c->sig_burst,
                              "join_timeout_ms", (json_int_t)c->join_timeout_ms, "ping_interval_s",
                              c->ping_interval_s));
    return s;
}

/* Token bucket per connection; sustained flooding ends the session. */
static int admit(hx_session *s)
{
    int64_t now = hx_mono_ms();
    if (hx_bucket_take(&s->bucket, now)) return 1;
    hx_metrics_inc(&s->srv->metrics, HX_M_SIGNAL_RATE_LIMITED_TOTAL);
    if (now - s->drop_window_ms > DROP_WINDOW_MS) {
        s->drop_window_ms = now;
        s->dropped_in_window = 0;
    }
    if (++s->dropped_in_window > (int)s->srv->cfg.sig_burst) {
        hx_session_kick(s, "rate_limited", HX_CLOSE_POLICY,
                        "too many messages: sustained flooding");
        return 0;
    }
    if (now - s->last_limit_error_ms >= 1000) {
        s->last_limit_error_ms = now;
        hx_session_error(s, NULL, "rate_limited", "message dropped: over the rate limit");
    }
    return 0;
}

static void handle(hx_session *s, const hx_msg_desc *d, const char *id, json_t *data)
{
    switch (d->kind) {
    case HX_MSG_JOIN:
        if (s->state == HX_SESSION_JOINED) {
            hx_session_error(s, id, "already_joined", "this session has joined already");
            return;
        }
        hx_session_join(s, id, data);
        return;
    case HX_MSG_RESUME:
        if (s->state == HX_SESSION_JOINED) {
            hx_session_error(s, id, "already_joined", "this session has joined already");
            return;
        }
        hx_session_resume(s, id, data);
        return;
    case HX_MSG_LEAVE:
        hx_session_send(s, "ack", id, NULL);
        s->leave_reason = "left";
        s->state = HX_SESSION_CLOSING;
        s->io->close(s->io_ctx, HX_CLOSE_NORMAL, "left");
        return;
    case HX_MSG_PING:
        hx_session_send(
            s, "ack", id,
            json_pack("{s:b, s:I}", "pong", 1, "server_time_ms", (json_int_t)hx_now_ms()));
        return;
    case HX_MSG_ROOM_INFO:
        hx_session_send(s, "ack", id, json_pack("{s:o}", "room", hx_room_json(s->p.room, NULL)));
        return;
    case HX_MSG_MODERATE:
        hx_session_moderate(s, id, data);
        return;
    case HX_MSG_VOTE:
        hx_session_vote(s, id, data);
        return;
    case HX_MSG_DATA_SEND:
        hx_session_data_send(s, id, data);
        return;
    default:
        hx_session_media_request(s, d->kind, id, data);
        return;
    }
}

void hx_session_message(hx_session *s, const char *buf, size_t len)
{
    if (s->state == HX_SESSION_CLOSING || !admit(s)) return;
    hx_metrics_inc(&s->srv->metrics, HX_M_SIGNAL_MESSAGES_TOTAL);

    hx_envelope env;
    const char *why;
    if (hx_envelope_decode(buf, len, &env, &why)) {
        hx_session_error(s, env.id, "malformed_message", why);
        hx_envelope_free(&env);
        return;
    }
    const hx_msg_desc *d = hx_protocol_lookup(s->version, env.type);
    if (!d) {
        char msg[128];
        snprintf(msg, sizeof msg, "unknown message type '%.64s' in protocol version %d", env.type,
                 s->version);
        hx_session_error(s, env.id, "unsupported_type", msg);
    } else if (s->state != HX_SESSION_JOINED && d->kind != HX_MSG_JOIN &&
               d->kind != HX_MSG_RESUME) {
        hx_session_error(s, env.id, "not_joined", "join first");
    } else {
        if (hx_protocol_deprecated(d, s->version)) {
            char msg[160];
            snprintf(msg, sizeof msg, "'%s' is deprecated in version %d and removed in version %d",
                     d->type, d->deprecated_in, d->removed_in);
            hx_session_send(s, "deprecated", env.id,
                            json_pack("{s:s, s:i, s:i, s:s}", "message_type", d->type,
                                      "deprecated_in", d->deprecated_in, "removed_in",
                                      d->removed_in, "message", msg));
        }
        hx_session_audit_message(s, d->type, env.data, len);
        handle(s, d, env.id, env.data);
    }
    hx_envelope_free(&env);
    if (s->adopted_by) { /* resumed: the connection now belongs to another session */
        hx_sessions_remove(s->srv->sessions, s);
        hx_session_free(s);
    }
}

void hx_session_too_large(hx_session *s)
{
    if (s->state == HX_SESSION_CLOSING) return;
    char msg[96];
    snprintf(msg, sizeof msg, "message over %zu bytes", s->srv->cfg.max_message_bytes);
    hx_session_error(s, NULL, "message_too_large", msg);
    s->state = HX_SESSION_CLOSING;
    s->leave_reason = "closed";
    s->io->close(s->io_ctx, HX_CLOSE_TOO_BIG, "message_too_large");
}

/* Take the participant out of its room and tell the others why. */
static void leave_room(hx_session *s, const char *reason)
{
    hx_room *r = s->p.room;
    if (!r) return;
    hx_session_media_close(s); /* media stops before the room hears of it */
    /* It can no longer resume: the record goes, with the leave's audit record (one sync). */
    hx_event ev = hx_session_event(s, "session.leave", reason, NULL);
    hx_session_forget_with(s, &ev);
    hx_room_remove(r, &s->p, hx_now_ms());
    hx_room_broadcast(
        r, NULL, "participant.left",
        json_pack("{s:o, s:s}", "participant", hx_participant_json(&s->p), "reason", reason));
}

void hx_session_kick(hx_session *s, const char *reason, int close_code, const char *message)
{
    if (s->state == HX_SESSION_CLOSING) return;
    hx_session_send(s, "disconnect", NULL,
                    json_pack("{s:s, s:s}", "reason", reason, "message", message));
    s->state = HX_SESSION_CLOSING;
    s->kick_started_ms = hx_mono_ms();
    /* The room learns at once; the socket closes once the notice is out. */
    leave_room(s, reason);
    s->io->close(s->io_ctx, close_code, reason);
}

void hx_session_seen(hx_session *s, int64_t mono_ms)
{
    s->last_seen_ms = mono_ms;
}

void hx_session_tick(hx_session *s, int64_t mono_ms)
{
    if (s->state == HX_SESSION_AWAY) return;
    if (s->state == HX_SESSION_OPEN && mono_ms - s->opened_ms >= s->srv->cfg.join_timeout_ms) {
        hx_session_error(s, NULL, "join_timeout", "no join in time");
        hx_slo_stage_failed(s->srv, "joined", "join_timeout");
        s->state = HX_SESSION_CLOSING;
        s->io->close(s->io_ctx, HX_CLOSE_JOIN_TIMEOUT, "join_timeout");
        return;
    }
    /* Keep-alive: ping a peer quiet for an interval; one silent for two intervals is gone. */
    if (s->state == HX_SESSION_CLOSING) return;
    int64_t interval = 1000LL * s->srv->cfg.ping_interval_s;
    int64_t silent = mono_ms - (s->last_seen_ms ? s->last_seen_ms : s->opened_ms);
    if (silent >= 2 * interval) {
        hx_session_kick(s, "timeout", HX_CLOSE_TIMEOUT, "no answer to pings");
    } else if (silent >= interval && mono_ms - s->last_ping_ms >= interval && s->io->ping) {
        s->last_ping_ms = mono_ms;
        s->io->ping(s->io_ctx);
    }
    hx_session_ice_tick(s, mono_ms);
}

void hx_session_closed(hx_session *s)
{
    hx_server *srv = s->srv;
    /* Gone without a word (or drained): the participant waits for a resume. */
    if ((s->state == HX_SESSION_JOINED || s->draining) && hx_session_suspend(s)) return;
    leave_room(s, s->leave_reason ? s->leave_reason : "closed");
    if (s->kick_started_ms) {
        static const double bounds[] = HX_M_KICK_BOUNDS;
        hx_metrics_observe(&srv->metrics, HX_M_FORCED_DISCONNECT_SECONDS, bounds,
                           sizeof bounds / sizeof bounds[0],
                           (double)(hx_mono_ms() - s->kick_started_ms) / 1000.0);
    }
    hx_sessions_remove(srv->sessions, s);
    hx_session_free(s);
}

void hx_session_free(hx_session *s)
{
    if (!s) return;
    free(s->prior);
    free(s->choices);
    free(s->layers);
    free(s->p.tracks);
    free(s);
}

json_t *hx_participant_json(const hx_participant *p)
{
    return json_pack("{s:s, s:s, s:s, s:I}", "id", p->id, "user", p->user, "device", p->device,
                     "joined_at_ms", (json_int_t)p->joined_ms);
}

/* The encoded participant JSON of p, made once; NULL when it does not fit (never, for ids). */
static const char *participant_text(hx_participant *p, size_t *len)
{
    if (!p->json_len) {
        json_t *j = hx_participant_json(p);
        size_t n =
            j ? json_dumpb(j, p->json, sizeof p->json, JSON_COMPACT | JSON_PRESERVE_ORDER) : 0;
        json_decref(j);
        if (n == 0 || n > sizeof p->json) return NULL;
        p->json_len = (uint16_t)n;
    }
    *len = p->json_len;
    return p->json;
}

char *hx_room_participants_text(hx_room *r, const hx_participant *except, size_t *len)
{
    size_t cap = 2, n = 0, pl;
    for (hx_participant *p = r->head; p; p = p->next) {
        if (p == except) continue;
        if (!participant_text(p, &pl)) return NULL;
        cap += pl + 1;
    }
    char *b = malloc(cap);
    if (!b) return NULL;
    b[n++] = '[';
    for (hx_participant *p = r->head; p; p = p->next) {
        if (p == except) continue;
        const char *pt = participant_text(p, &pl);
        if (n > 1) b[n++] = ',';
        memcpy(b + n, pt, pl);
        n += pl;
    }
    b[n++] = ']';
    *len = n;
    return b;
}

/* Where a join result's participant list goes (hx_session_send_result): a key and value pair
 * that can only be this one, since a quote inside a JSON string is always escaped. */
#define LIST_SLOT "\"participants\":\"@hx.participants@\""

json_t *hx_room_json_slot(const hx_room *r, const hx_participant *except)
{
    return json_pack("{s:s, s:i, s:s, s:o}", "name", r->name, "max_participants",
                     r->max_participants, "participants", "@hx.participants@", "tracks",
                     hx_room_tracks_json(r, except));
}

static json_t *participants_json(const hx_room *r, const hx_participant *except)
{
    json_t *list = json_array();
    for (const hx_participant *p = r->head; p; p = p->next)
        if (p != except) json_array_append_new(list, hx_participant_json(p));
    return list;
}

void hx_session_send_result(hx_session *s, const char *id, json_t *result)
{
    hx_room *r = s->p.room;
    size_t len = 0, ll = 0, total = 0;
    char *text = hx_envelope_encode("ack", id, json_incref(result), &len);
    char *list = text && r ? hx_room_participants_text(r, &s->p, &ll) : NULL;
    char *slot = list ? strstr(text, LIST_SLOT) : NULL, *out = NULL;
    if (slot) {
        size_t head = (size_t)(slot - text) + strlen("\"participants\":");
        size_t tail = sizeof LIST_SLOT - 1, rest = len - (size_t)(slot - text) - tail;
        total = head + ll + rest;
        if ((out = malloc(total + 1))) {
            memcpy(out, text, head);
            memcpy(out + head, list, ll);
            memcpy(out + head + ll, slot + tail, rest + 1);
        }
    }
    if (out) {
        hx_session_flush_events(s);
        hx__session_deliver(s, out, total);
        json_decref(result);
    } else { /* out of memory, or no slot: the list built the slow way */
        json_t *room = json_object_get(result, "room");
        if (r && room) json_object_set_new(room, "participants", participants_json(r, &s->p));
        hx_session_send(s, "ack", id, result);
    }
    free(out);
    free(list);
    free(text);
}

json_t *hx_room_json(const hx_room *r, const hx_participant *except)
{
    return json_pack("{s:s, s:i, s:o, s:o}", "name", r->name, "max_participants",
                     r->max_participants, "participants", participants_json(r, except), "tracks",
                     hx_room_tracks_json(r, except));
}
