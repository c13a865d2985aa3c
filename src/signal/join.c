/*
 * The `join` message: a ticket becomes a participant. Checks, each with its
 * own error code (docs/protocol.md §3), in this order: the ticket's MAC, its
 * expiry, its room, its protocol version, single use (the store records the
 * id, so a replay is refused even after a restart, and audited), then the
 * revocation set (a revocation may land between minting and joining), then
 * the room's cap. A participant with the same user and device is replaced:
 * the old session is told `replaced` and closed. Every refusal goes through
 * refuse(), which writes the one `auth.failure` audit record (with the
 * ticket's room, user, device and sid once the ticket has opened).
 */
#include "auth/grants_json.h"
#include "core/metric_names.h"
#include "cluster/cluster.h"
#include "common/clock.h"
#include "core/slo.h"
#include "signal/session.h"

#include "cluster/cluster.h"

#include <stdlib.h>
#include <string.h>

static void refuse(hx_session *s, const char *id, const char *code, const char *message,
                   const hx_ticket *t)
{
    hx_server_audit(s->srv, "auth.failure", t ? t->room : NULL, t ? t->user : NULL,
                    t ? t->device : NULL, t ? t->sid : NULL, code, NULL);
    hx_session_error(s, id, code, message);
    hx_metrics_add(&s->srv->metrics, HX_M_JOIN_FAILURES_TOTAL, "code",
                   code, 1);
    hx_slo_stage_failed(s->srv, "joined", code);
    if (t)
        hx_log(&s->srv->log, HX_LOG_INFO, "join.refused", "code", code, "room", t->room, "user",
               t->user, NULL);
    s->state = HX_SESSION_CLOSING;
    s->io->close(s->io_ctx, HX_CLOSE_JOIN_REFUSED, code);
}

static void adopt_ticket(hx_participant *p, const hx_ticket *t, int64_t now_ms)
{
    hx_participant_new_id(p);
    memcpy(p->user, t->user, sizeof p->user);
    memcpy(p->device, t->device, sizeof p->device);
    memcpy(p->sid, t->sid, sizeof p->sid);
    memcpy(p->jti, t->jti, sizeof p->jti);
    p->token_iat = t->token_iat;
    p->grants = t->grants;
    p->protocol_version = t->protocol_version;
    p->joined_ms = now_ms;
}

json_t *hx_session_join_result(hx_session *s)
{
    json_t *r = json_pack("{s:{s:s, s:s, s:s, s:I}, s:o, s:o}", "participant", "id", s->p.id,
                          "user", s->p.user, "device", s->p.device, "joined_at_ms",
                          (json_int_t)s->p.joined_ms, "grants", hx_grant_flags_json(s->p.grants),
                          "room", hx_room_json_slot(s->p.room, &s->p));
    json_t *ice = hx_session_ice_servers(s);
    if (r && ice) json_object_set_new(r, "ice_servers", ice);
    /* Where else to resume should this node go away (docs/protocol.md §2.9). */
    if (r && s->srv->cluster)
        json_object_set_new(r, "cluster", hx_cluster_hint(s->srv->cluster, s->version));
    return r;
}

void hx_session_join(hx_session *s, const char *id, json_t *data)
{
    hx_server *srv = s->srv;
    json_t *jt = json_object_get(data, "ticket"), *jr = json_object_get(data, "room");
    if (!json_is_string(jt) || !json_is_string(jr)) {
        hx_session_error(s, id, "bad_request", "join needs data.ticket and data.room (strings)");
        return;
    }
    if (srv->stopping) { /* draining (docs/protocol.md §2.4) */
        /* A cluster: the room's next node takes it; the ticket is still good there. */
        if (hx_session_redirect(s, id, json_string_value(jr))) return;
        hx_session_error(s, id, "draining", "the server is stopping: join again shortly");
        hx_slo_stage_failed(srv, "joined", "draining");
        s->state = HX_SESSION_CLOSING;
        s->io->close(s->io_ctx, HX_CLOSE_GOING_AWAY, "draining");
        return;
    }
    hx_ticket t;
    if (hx_ticket_open(srv->ticket_key, json_string_value(jt), json_string_length(jt), &t)) {
        refuse(s, id, "ticket_invalid", "not a valid ticket of this server", NULL);
        return;
    }
    int64_t now = hx_now_ms();
    if (now > t.expires_ms) {
        refuse(s, id, "ticket_expired", "the ticket has expired: request a new one", &t);
        return;
    }
    if (strcmp(t.room, json_string_value(jr)) != 0) {
        refuse(s, id, "ticket_wrong_room", "the ticket is for another room", &t);
        return;
    }
    if (t.protocol_version != s->version) {
        refuse(s, id, "ticket_wrong_version", "the ticket was issued for another protocol version",
               &t);
        return;
    }
    /* Before the ticket is spent: the node that hosts the room takes it. */
    if (hx_session_redirect(s, id, t.room)) return;
    char tid[2 * HX_TICKET_ID_LEN + 1];
    hx_ticket_id_hex(&t, tid);
    int rc = srv->store->ops->consume_ticket(srv->store, tid, t.expires_ms);
    if (rc == HX_STORE_EXISTS) {
        char detail[80];
        snprintf(detail, sizeof detail, "{\"ticket\":\"%s\"}", tid);
        hx_server_audit(srv, "ticket.replay", t.room, t.user, t.device, t.sid, "ticket_replayed",
                        detail);
        refuse(s, id, "ticket_replayed", "the ticket has been used already", &t);
        return;
    }
    if (rc != HX_STORE_OK) {
        hx_log(&srv->log, HX_LOG_ERROR, "store.error", "op", "consume_ticket", "error",
               hx_store_errmsg(srv->store), NULL);
        hx_session_error(s, id, "internal_error", "the store failed; try again");
        return;
    }
    int rv = hx_revocations_check(&srv->revocations, t.jti, t.sid, t.user, t.token_iat);
    if (rv) {
        refuse(s, id, hx_revoked_code(rv), "the credentials behind this ticket were revoked", &t);
        return;
    }
    const hx_sanction *x = hx_sanctions_join_block(&srv->sanctions, t.room, t.user, t.device, now);
    if (x) {
        /* Minted before the sanction: the door holds anyway. */
        refuse(s, id, hx_sanction_code(x), "a moderator's sanction keeps this user out of the room", &t);
        return;
    }
    int err = 0;
    bool fresh = !hx_rooms_find(&srv->rooms, t.room);
    hx_room *room = hx_rooms_open(&srv->rooms, t.room, srv->cfg.max_participants, now, &err);
    if (!room) {
        refuse(s, id, "internal_error", "cannot open more rooms", &t);
        return;
    }
    if (fresh) /* before the join's own record (webhooks: docs/webhooks.md) */
        hx_server_audit_relaxed(srv, "room.started", t.room, NULL, NULL, NULL, NULL, NULL);
    hx_participant *old = hx_room_find_user_device(room, t.user, t.device);
    if (old)
        hx_session_kick(old->owner, "replaced", HX_CLOSE_REPLACED,
                        "the same user and device joined again");

    adopt_ticket(&s->p, &t, now);
    int added = hx_room_add(room, &s->p);
    if (added != HX_ROOM_OK) {
        if (added == HX_ROOM_FULL)
            refuse(s, id, "room_full", "the room is full", &t);
        else
            refuse(s, id, "internal_error", "out of memory", &t);
        return;
    }
    s->state = HX_SESSION_JOINED;
    s->auto_subscribe = !json_is_false(json_object_get(data, "auto_subscribe"));
    s->event_batch = s->version >= 2 && json_is_true(json_object_get(data, "event_batch"));
    hx_metrics_inc(&srv->metrics, HX_M_JOINS_TOTAL);
    hx_slo_stage(srv, "joined");

    json_t *result = hx_session_join_result(s);
    json_t *jd = s->addr[0] ? json_pack("{s:s}", "addr", s->addr) : NULL; /* who, from where */
    char *detail = jd ? json_dumps(jd, JSON_COMPACT) : NULL;
    json_decref(jd);
    /* The session record (persisted before the token is handed out) and the join's audit
     * record, in one transaction: one sync per join, not two. */
    hx_event ev = hx_session_event(s, "session.join", NULL, detail);
    json_t *resume = hx_session_resume_grant(s, 0, &ev);
    free(detail);
    if (resume) json_object_set_new(result, "resume", resume);
    hx_session_send_result(s, id, result);
    hx_session_send_speakers(s); /* who speaks now, not at the next change */
    hx_room_broadcast(room, &s->p, "participant.joined",
                      json_pack("{s:o}", "participant", hx_participant_json(&s->p)));
    hx_session_media_open(s, data);
}
