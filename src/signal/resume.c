/*
 * Resume (DESIGN §9, docs/protocol.md §2.4): a session outlives its
 * connection. A joined session whose WebSocket goes away without a word
 * becomes AWAY: still in its room, its messages dropped, its media
 * transports closed, for the drop window (after a restart, persist.c brings
 * the store's sessions back AWAY for the restart window). A `resume` on a
 * new connection with the session's token moves that connection to the session
 * (hx_sig_io.adopt) and frees the connection's own, empty session: same
 * participant id, grants and moderation state; the room hears
 * `participant.resumed` once. Media: the transports are kept when they live
 * and the client asks to keep them, else closed and opened again (new ICE
 * and DTLS), the published tracks coming back under their ids; an AWAY
 * session has none, so only a resume that takes over a live connection
 * can keep them.
 *
 * Checks, each with its code, in this order: the token's MAC and room
 * (`resume_invalid`), a moderator's sanction on the token's user, device and
 * room, a revocation of the token's credentials (both hold even once the
 * session is gone), the session (`resume_expired`: gone, or past its window),
 * the token's generation (`resume_replayed`: spent or superseded). Tokens
 * are numbered; a resume spends every earlier one, a rotation every one but
 * the previous (a rotation may cross a drop). Each number is persisted
 * before the token carrying it is handed out.
 */
#include "signal/session.h"
#include "core/metric_names.h"

#include "auth/grants_json.h"
#include "auth/resume_token.h"
#include "cluster/cluster.h"
#include "common/clock.h"
#include "core/slo.h"
#include "signal/registry.h"

#include <string.h>

static void refuse(hx_session *n, const char *id, const char *kind, const char *code,
                   const char *message, const hx_resume_token *t, bool rejoin)
{
    hx_server *srv = n->srv;
    hx_server_audit(srv, "resume.refused", t ? t->room : NULL, t ? t->user : NULL,
                    t ? t->device : NULL, t ? t->sid : NULL, code, NULL);
    hx_session_send(n, "error", id,
                    json_pack("{s:s, s:s, s:b}", "code", code, "message", message, "rejoin",
                              rejoin));
    hx_metrics_add(&srv->metrics, HX_M_SIGNAL_ERRORS_TOTAL,
                   "code", code, 1);
    /* An expiry is counted once, when the window passes (hx_session_resume_tick); a session
     * that ended otherwise (left, kicked) was not a reconnect to fail. */
    if (strcmp(code, "resume_expired") != 0) hx_slo_reconnect(srv, kind, code);
    n->state = HX_SESSION_CLOSING;
    n->io->close(n->io_ctx, rejoin ? HX_CLOSE_RESUME_REFUSED : HX_CLOSE_GOING_AWAY, code);
}

/* A new token numbered gen (persisted first); spend those below min_gen. */
static json_t *issue(hx_session *s, uint32_t gen, uint32_t min_gen, const hx_event *ev)
{
    hx_server *srv = s->srv;
    s->resume_gen = gen;
    s->resume_min_gen = min_gen;
    s->rotated_ms = hx_mono_ms();
    hx_session_persist_with(s, ev); /* logged when it fails: the token works until a restart */
    hx_resume_token t = {0};
    snprintf(t.participant, sizeof t.participant, "%s", s->p.id);
    t.gen = gen;
    t.issued_ms = hx_now_ms();
    memcpy(t.user, s->p.user, sizeof t.user);
    memcpy(t.device, s->p.device, sizeof t.device);
    snprintf(t.room, sizeof t.room, "%s", s->p.room ? s->p.room->name : "");
    memcpy(t.sid, s->p.sid, sizeof t.sid);
    memcpy(t.jti, s->p.jti, sizeof t.jti);
    t.token_iat = s->p.token_iat;
    char text[HX_RESUME_MAX_TEXT + 1];
    if (hx_resume_seal(srv->resume_key, &t, text, sizeof text) < 0) return NULL;
    return json_string(text);
}

json_t *hx_session_resume_grant(hx_session *s, uint32_t seen_gen, const hx_event *ev)
{
    /* Past the highest number seen: a token handed out just before a crash may be ahead of the
     * store. Every earlier token is spent. */
    uint32_t gen = (seen_gen > s->resume_gen ? seen_gen : s->resume_gen) + 1;
    json_t *tok = issue(s, gen, gen, ev);
    if (!tok) return NULL;
    return json_pack("{s:o, s:I, s:I}", "token", tok, "drop_grace_s",
                     (json_int_t)s->srv->cfg.drop_grace_s, "restart_grace_s",
                     (json_int_t)s->srv->cfg.restart_grace_s);
}

/* Renew media: close what is left of the old transports, open new ones. */
static void renew_media(hx_session *s)
{
    hx_session_media_close(s); /* keeps the tracks for their ids, resets the media state */
    json_t *jd = json_pack("{s:b}", "auto_subscribe", s->auto_subscribe);
    hx_session_media_open(s, jd);
    json_decref(jd);
}

void hx_session_resume(hx_session *n, const char *id, json_t *data)
{
    hx_server *srv = n->srv;
    json_t *jt = json_object_get(data, "token"), *jr = json_object_get(data, "room");
    const char *want = json_string_value(json_object_get(data, "media"));
    if (!json_is_string(jt) || !json_is_string(jr)) {
        hx_session_error(n, id, "bad_request", "resume needs data.token and data.room (strings)");
        return;
    }
    hx_resume_token t;
    if (hx_resume_open(srv->resume_key, json_string_value(jt), json_string_length(jt), &t) ||
        strcmp(t.room, json_string_value(jr)) != 0) {
        refuse(n, id, "drop", "resume_invalid", "not a resume token of this server for this room",
               NULL, true);
        return;
    }
    hx_room *r = hx_rooms_find(&srv->rooms, t.room);
    hx_participant *p = r ? hx_room_find_participant(r, t.participant) : NULL;
    /* A cluster: the room's node takes the resume; a participant not here, whose room may be
     * (no live node hosts it), is taken over from the store the nodes share. */
    if (!p && !srv->stopping) {
        if (hx_session_redirect(n, id, t.room)) return;
        hx_session *taken = hx_session_take_over(srv, &t);
        if (taken) p = &taken->p;
    }
    hx_session *s = p ? p->owner : NULL;
    const char *kind = s && s->state == HX_SESSION_AWAY ? s->away_kind : "drop";
    if (srv->stopping) {
        if (hx_session_redirect(n, id, t.room)) return; /* a cluster: to the room's next node */
        hx_session_send(n, "error", id,
                        json_pack("{s:s, s:s, s:b, s:I}", "code", "draining", "message",
                                  "the server is stopping: resume again shortly", "rejoin", 0,
                                  "retry_after_ms", (json_int_t)srv->cfg.drain_retry_after_ms));
        n->state = HX_SESSION_CLOSING;
        n->io->close(n->io_ctx, HX_CLOSE_GOING_AWAY, "draining");
        return;
    }
    int64_t now = hx_now_ms(), mono = hx_mono_ms();
    const hx_sanction *x = hx_sanctions_join_block(&srv->sanctions, t.room, t.user, t.device, now);
    if (x) {
        refuse(n, id, kind, hx_sanction_code(x),
               "a moderator's sanction keeps this user out of the room", &t, true);
        return;
    }
    int rv = hx_revocations_check(&srv->revocations, t.jti, t.sid, t.user, t.token_iat);
    if (rv) {
        refuse(n, id, kind, hx_revoked_code(rv), "the credentials behind this session were revoked",
               &t, true);
        return;
    }
    if (!s || s == n || !n->io->adopt || s->state == HX_SESSION_CLOSING ||
        strcmp(s->p.user, t.user) || strcmp(s->p.device, t.device) ||
        (s->state == HX_SESSION_AWAY && mono >= s->away_until_ms)) {
        refuse(n, id, kind, "resume_expired",
               "the session is over (left, replaced, or its grace window passed)", &t, true);
        return;
    }
    if (t.gen < s->resume_min_gen) {
        hx_server_audit(srv, "resume.replay", t.room, t.user, t.device, t.sid, "resume_replayed",
                        NULL);
        refuse(n, id, kind, "resume_replayed", "this resume token has been used already", &t,
               true);
        return;
    }

    /* Take over: the old connection (if the client saw the drop first) goes quietly, with the
     * room events that were on their way to it. */
    hx_session_flush_events(s);
    if (s->state == HX_SESSION_JOINED && s->io->adopt) {
        s->io->adopt(s->io_ctx, NULL);
        s->io->close(s->io_ctx, HX_CLOSE_REPLACED, "resumed");
    }
    n->io->adopt(n->io_ctx, s);
    s->io = n->io;
    s->io_ctx = n->io_ctx;
    s->version = n->version;
    s->bucket = n->bucket;
    s->opened_ms = n->opened_ms;
    s->last_seen_ms = mono;
    s->last_ping_ms = 0;
    s->state = HX_SESSION_JOINED;
    s->draining = false;
    s->away_until_ms = 0;
    json_t *eb = json_object_get(data, "event_batch"); /* absent: as the session had it */
    if (json_is_boolean(eb)) s->event_batch = json_is_true(eb);
    n->adopted_by = s; /* hx_session_message frees n once this handler returns */
    n->state = HX_SESSION_CLOSING;
    n->io = hx_session_away_io();
    n->io_ctx = NULL;

    bool kept = s->media_serial && want && !strcmp(want, "keep");
    json_t *result = hx_session_join_result(s);
    json_object_set_new(result, "resumed", json_true());
    json_object_set_new(result, "media", json_string(kept ? "kept" : "renew"));
    hx_event ev = hx_session_event(s, "session.resume", kind, NULL); /* with the new token */
    json_t *grant = hx_session_resume_grant(s, t.gen, &ev);
    if (grant) json_object_set_new(result, "resume", grant);
    hx_session_send_result(s, id, result);
    hx_session_send_speakers(s);         /* who speaks now, not at the next change */
    if (kept) hx_session_send_layers(s); /* one may have been lost with the old connection */
    hx_room_broadcast(s->p.room, &s->p, "participant.resumed",
                      json_pack("{s:o}", "participant", hx_participant_json(&s->p)));
    hx_slo_reconnect(srv, kind, "resumed");
    hx_log(&srv->log, HX_LOG_INFO, "session.resumed", "room", s->p.room->name, "user", s->p.user,
           "kind", kind, "media", kept ? "kept" : "renew", NULL);
    if (!kept) renew_media(s);
}

void hx_session_drain(hx_session *s)
{
    hx_server *srv = s->srv;
    if (s->state != HX_SESSION_JOINED) {
        hx_session_kick(s, "shutdown", HX_CLOSE_GOING_AWAY, "the server is shutting down");
        return;
    }
    json_t *d = json_pack("{s:s, s:s, s:b, s:I}", "reason", "shutdown", "message",
                          "the server is restarting: resume shortly", "resume", 1,
                          "retry_after_ms", (json_int_t)srv->cfg.drain_retry_after_ms);
    /* A node of a cluster: resume on the node its room goes to now, without waiting. */
    hx_node_view to;
    char url[HX_NODE_URL_MAX + 32];
    if (d && srv->cluster && hx_cluster_successor(srv->cluster, s->p.room->name, &to) &&
        !hx_node_signal_url(to.url, s->version, url, sizeof url)) {
        json_object_set_new(d, "message", json_string("this node is stopping: resume there"));
        json_object_set_new(d, "retry_after_ms", json_integer(0));
        json_object_set_new(d, "signal_url", json_string(url));
        json_object_set_new(d, "node", json_string(to.id));
    }
    hx_session_send(s, "disconnect", NULL, d);
    s->draining = true;
    s->state = HX_SESSION_CLOSING;
    s->io->close(s->io_ctx, HX_CLOSE_GOING_AWAY, "shutdown");
}

void hx_signal_media_lost(void *server, uint64_t transport)
{
    hx_server *srv = server;
    char key[24];
    hx_session_media_key(transport / 2, key);
    hx_session *s = hx_strmap_get(&srv->sessions->by_media, key);
    if (!s || s->state != HX_SESSION_JOINED) return; /* its other transport came first */
    hx_session_send(s, "disconnect", NULL,
                    json_pack("{s:s, s:s, s:b, s:I}", "reason", "media_restart", "message",
                              "the media worker of this call restarted: resume now", "resume", 1,
                              "retry_after_ms", (json_int_t)0));
    s->draining = true; /* AWAY for the restart window, then a resume renews its media */
    s->state = HX_SESSION_CLOSING;
    s->io->close(s->io_ctx, HX_CLOSE_GOING_AWAY, "media_restart");
}

bool hx_session_suspend(hx_session *s)
{
    hx_server *srv = s->srv;
    int64_t window = s->draining ? srv->cfg.restart_grace_s : srv->cfg.drop_grace_s;
    /* Version 1 has no `resume`: its sessions leave at once, as before. */
    if (!s->p.room || !s->io->adopt || window <= 0 || s->version < 2 ||
        (s->no_resume && !s->draining))
        return false;
    /* Away means no media: nobody answers its subscriber offers, so its transports close (the
     * room sees its tracks unpublished) and a resume opens new ones; the tracks come back under
     * their ids. */
    hx_session_media_close(s);
    hx_session_drop_events(s); /* the connection is gone */
    s->io = hx_session_away_io();
    s->io_ctx = NULL;
    s->state = HX_SESSION_AWAY;
    s->away_kind = s->draining ? "restart" : "drop";
    s->away_until_ms = hx_mono_ms() + window * 1000;
    hx_log(&srv->log, HX_LOG_INFO, "session.away", "room", s->p.room->name, "user", s->p.user,
           "kind", s->away_kind, NULL);
    return true;
}

bool hx_session_resume_tick(hx_session *s, int64_t mono_ms)
{
    hx_server *srv = s->srv;
    if (s->io == hx_session_away_io()) {
        if (s->state == HX_SESSION_AWAY && mono_ms >= s->away_until_ms && !srv->stopping) {
            hx_slo_reconnect(srv, s->away_kind, "expired");
            hx_session_kick(s, "closed", HX_CLOSE_NORMAL, "did not come back in time");
        }
        if (s->state != HX_SESSION_CLOSING) return true; /* AWAY: nothing else to tick */
        hx_sessions_remove(srv->sessions, s); /* expired, or kicked while away */
        hx_session_free(s);
        return true;
    }
    if (s->state == HX_SESSION_JOINED && s->resume_gen &&
        mono_ms - s->rotated_ms >= srv->cfg.resume_rotate_s * 1000) {
        json_t *tok = issue(s, s->resume_gen + 1, s->resume_gen, NULL);
        if (tok) hx_session_send(s, "session.token", NULL, json_pack("{s:o}", "token", tok));
    }
    return false;
}
