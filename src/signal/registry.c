/*
 * The session registry (registry.h): a doubly linked list (every session,
 * for ticks and shutdown) plus the index of sessions with media transports
 * (engine events are routed by transport serial). Lookups by identity walk
 * the list: they happen on moderator and operator actions, not per message.
 */
#include "signal/registry.h"

#include "common/clock.h"
#include "common/log.h"
#include "signal/signal_internal.h"

#include <stdlib.h>
#include <string.h>

void hx_sessions_add(hx_sessions *r, hx_session *s)
{
    s->prev = NULL;
    s->next = r->head;
    if (r->head) r->head->prev = s;
    r->head = s;
    r->n++;
}

void hx_sessions_remove(hx_sessions *r, hx_session *s)
{
    hx_session_drop_events(s); /* its connection is gone: what waited for it goes too */
    if (s->prev)
        s->prev->next = s->next;
    else
        r->head = s->next;
    if (s->next) s->next->prev = s->prev;
    s->prev = s->next = NULL;
    r->n--;
}

size_t hx_sessions_count(const hx_server *srv)
{
    return srv->sessions ? srv->sessions->n : 0;
}

static bool eq(const char *want, const char *have)
{
    return !want || !strcmp(want, have);
}

bool hx_session_any(const hx_session *s, const void *unused)
{
    (void)s;
    (void)unused;
    return true;
}

void hx_sessions_tick(hx_server *srv, int64_t mono_ms)
{
    hx_session *next;
    for (hx_session *s = srv->sessions ? srv->sessions->head : NULL; s; s = next) {
        next = s->next; /* the resume tick may free s (an AWAY session that expired) */
        if (!hx_session_resume_tick(s, mono_ms)) hx_session_tick(s, mono_ms);
    }
    if (!srv->stopping) hx_signal_heartbeat(srv, mono_ms);
}

bool hx_session_matches(const hx_session *s, const void *match)
{
    const hx_session_match *m = match;
    const hx_participant *p = &s->p;
    if (s->state == HX_SESSION_CLOSING) return false;
    if (m->joined_only && s->state != HX_SESSION_JOINED) return false;
    if (m->room && (!p->room || strcmp(m->room, p->room->name))) return false;
    return eq(m->user, p->user) && eq(m->device, p->device) && eq(m->sid, p->sid) &&
           eq(m->participant, p->id) && eq(m->jti, p->jti);
}

bool hx_session_revoked_by(const hx_session *s, const void *revoke_msg)
{
    const hx_bus_msg *m = revoke_msg;
    const hx_participant *p = &s->p;
    if (s->state != HX_SESSION_JOINED) return false;
    hx_revoke_kind kind;
    return hx_revoke_kind_parse(m->action, &kind) == 0 &&
           hx_revocation_matches(kind, m->value, m->at, p->jti, p->sid, p->user, p->token_iat);
}

size_t hx_sessions_each(hx_server *srv, hx_session_pred pred, const void *arg, hx_session_fn fn,
                        void *fn_arg)
{
    size_t n = 0;
    hx_session *next;
    for (hx_session *s = srv->sessions ? srv->sessions->head : NULL; s; s = next) {
        next = s->next; /* fn may not free s, but keep the walk independent of it */
        if (!pred(s, arg)) continue;
        if (fn) fn(s, fn_arg);
        n++;
    }
    return n;
}

hx_session *hx_sessions_find(hx_server *srv, hx_session_pred pred, const void *arg)
{
    for (hx_session *s = srv->sessions ? srv->sessions->head : NULL; s; s = s->next)
        if (pred(s, arg)) return s;
    return NULL;
}

typedef struct kick_args {
    const char *reason, *message;
    int code;
} kick_args;

static void kick_one(hx_session *s, void *arg)
{
    const kick_args *k = arg;
    hx_session_kick(s, k->reason, k->code, k->message);
}

size_t hx_sessions_kick(hx_server *srv, hx_session_pred pred, const void *arg, const char *reason,
                        int close_code, const char *message)
{
    kick_args k = {reason, message, close_code};
    return hx_sessions_each(srv, pred, arg, kick_one, &k);
}

static void notify_one(hx_session *s, void *msg)
{
    hx_session_push_event(s, msg);
}

size_t hx_sessions_notify(hx_server *srv, hx_session_pred pred, const void *arg, const char *type,
                          json_t *data)
{
    hx_fanout_msg *m = hx_fanout_msg_new(type, json_incref(data)); /* encoded once */
    size_t n = hx_sessions_each(srv, pred, arg, m ? notify_one : NULL, m);
    hx_fanout_msg_release(m);
    return n;
}

int hx_signal_revoke(hx_server *srv, hx_revoke_kind kind, const char *value, int64_t not_before,
                     const char *reason, int *disconnected)
{
    /* Delivery to this node's subscriber is synchronous (bus.h), so the
     * sessions matching now are exactly those the revocation closes here. */
    hx_bus_msg m = {.kind = HX_BUS_REVOKE, .at = not_before};
    hx_bus_set(m.action, hx_revoke_kind_name(kind));
    hx_bus_set(m.value, value);
    size_t n = hx_sessions_each(srv, hx_session_revoked_by, &m, NULL, NULL);
    if (hx_server_revoke(srv, kind, value, not_before, reason)) return -1;
    if (disconnected) *disconnected = (int)n;
    return 0;
}

/* The bus subscriber: what others decided, enforced on the sessions held here. */
static void on_bus(void *arg, const hx_bus_msg *m)
{
    hx_server *srv = arg;
    switch (m->kind) {
    case HX_BUS_REVOKE: {
        /* Remembered here too, so this node refuses the next ticket and join as well (a node
         * that published it has it already: the same entry again). Not stored: that is the
         * publishing node's, or the shared database's, to keep (docs/scaling.md). */
        hx_revoke_kind kind;
        if (hx_revoke_kind_parse(m->action, &kind) == 0) {
            int64_t now = hx_now_ms();
            int64_t expires = kind == HX_REVOKE_JTI
                                  ? now + (srv->cfg.max_lifetime_s + 2 * srv->cfg.leeway_s) * 1000
                                  : 0;
            hx_revocations_add(&srv->revocations, kind, m->value, m->at, expires);
        }
        hx_sessions_kick(srv, hx_session_revoked_by, m, "revoked", HX_CLOSE_REVOKED,
                         m->text[0] ? m->text : "revoked by the operator");
        break;
    }
    case HX_BUS_MODERATION:
        hx_signal_moderation(srv, m);
        break;
    case HX_BUS_ROOM_EVENT: { /* told to every member of the room held here */
        hx_room *r = m->room[0] ? hx_rooms_find(&srv->rooms, m->room) : NULL;
        json_t *data = r && m->action[0] ? json_loads(m->text, 0, NULL) : NULL;
        if (json_is_object(data)) hx_room_broadcast(r, NULL, m->action, json_incref(data));
        json_decref(data);
        break;
    }
    }
}

int hx_signal_attach(hx_server *srv)
{
    hx_sessions *r = calloc(1, sizeof *r);
    if (!r) return -1;
    hx_strmap_init(&r->by_media);
    srv->sessions = r;
    if (hx__fanout_start(srv) || (srv->bus && srv->bus->ops->subscribe(srv->bus, on_bus, srv))) {
        hx_signal_detach(srv);
        return -1;
    }
    return 0;
}

void hx_signal_detach(hx_server *srv)
{
    hx_sessions *r = srv->sessions;
    if (!r) return;
    if (srv->bus) srv->bus->ops->unsubscribe(srv->bus, on_bus, srv);
    hx__fanout_stop(srv);
    hx_strmap_free(&r->by_media);
    free(r);
    srv->sessions = NULL;
}
