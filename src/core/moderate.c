/*
 * The moderation service (moderate.h). Order, always: check, store (audit
 * record and sanction in one transaction), live state, bus. The bus
 * message carries both what to enforce (action, target) and the `moderation`
 * event the room is told (text), built here once.
 *
 * Targets. A participant id names someone in the room; sanctions then key
 * on their user (a kick or timeout follows the person to another device),
 * and on a device only when the request names one. A track id names its
 * publisher. Kicks and mutes need the target present; timeouts and bans
 * may be set ahead (an operator banning a user who is not online).
 *
 * Votes. A moderator's kick under `ratification = required` opens a vote
 * by itself among the moderators present (the target excluded); any action
 * with `propose` opens one and takes effect only if it passes. Operators
 * (the admin API) act without votes.
 */
#include "core/moderate.h"
#include "core/metric_names.h"

#include "common/clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int refuse(hx_mod_result *r, const char *code, const char *fmt, const char *arg)
{
    r->code = code;
    snprintf(r->message, sizeof r->message, fmt, arg ? arg : "");
    return -1;
}

static char *dumps(json_t *o)
{
    char *t = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    return t;
}

/* The audit record of an action (kind "moderation.<action>" or given). */
static hx_event action_event(const hx_mod_action *a, const char *kind, const char *detail, int64_t now)
{
    return (hx_event){.ts_ms = now,
                      .kind = kind,
                      .room = a->room[0] ? a->room : NULL,
                      .user = a->user[0] ? a->user : NULL,
                      .device = a->device[0] ? a->device : NULL,
                      .code = a->reason[0] ? a->reason : NULL,
                      .detail = detail};
}

static void log_store_error(hx_server *s, const char *op)
{
    hx_log(&s->log, HX_LOG_ERROR, "store.error", "op", op, "error", hx_store_errmsg(s->store), NULL);
    hx_metrics_inc(&s->metrics, HX_M_STORE_ERRORS_TOTAL);
}

/* Append one audit record; a failure is the caller's failure (nothing acknowledged). */
static int audit(hx_server *s, const hx_event *ev, hx_mod_result *r)
{
    if (s->store->ops->append_event(s->store, ev) == HX_STORE_OK) {
        hx_log(&s->log, HX_LOG_INFO, ev->kind, "room", ev->room, "user", ev->user, "code", ev->code, NULL);
        return 0;
    }
    log_store_error(s, "append_event");
    return refuse(r, "store_failed", "the audit record could not be written; nothing was done%s", NULL);
}

/* The room event and the enforcement order, on the bus. */
static void publish(hx_server *s, const char *what, const hx_mod_action *a, const hx_sanction *x, json_t *event)
{
    hx_bus_msg m = {.kind = HX_BUS_MODERATION, .at = x ? x->expires_ms : 0};
    hx_bus_set(m.action, what);
    hx_bus_set(m.id, a->id);
    hx_bus_set(m.room, a->room);
    hx_bus_set(m.participant, a->participant);
    hx_bus_set(m.user, a->user);
    hx_bus_set(m.device, a->device);
    hx_bus_set(m.track, a->track);
    hx_bus_set(m.actor, a->actor);
    hx_bus_set(m.policy, x && x->kind == HX_SANCTION_TIMEOUT ? hx_timeout_policy_name(x->policy) : "");
    json_object_set_new(event, "event", json_string(what));
    char *text = dumps(event);
    if (text && strlen(text) < sizeof m.text) memcpy(m.text, text, strlen(text) + 1);
    free(text);
    if (hx_bus_publish(s->bus, &m) != HX_BUS_OK)
        hx_log(&s->log, HX_LOG_ERROR, "bus.error", "op", "publish", "kind", "moderation", "action", what, NULL);
    hx_metrics_add(&s->metrics, HX_M_MODERATION_ACTIONS_TOTAL,
                   "action", what, 1);
}

static hx_sanction make_sanction(const hx_mod_action *a, hx_sanction_kind kind, int64_t duration, int64_t now)
{
    hx_sanction x = {.kind = kind, .created_ms = now, .expires_ms = duration ? now + duration : 0};
    memcpy(x.action_id, a->id, sizeof x.action_id);
    memcpy(x.room, a->room, sizeof x.room);
    memcpy(x.user, a->user, sizeof x.user);
    memcpy(x.device, a->device, sizeof x.device);
    memcpy(x.actor, a->actor, sizeof x.actor);
    memcpy(x.reason, a->reason, sizeof x.reason);
    return x;
}

static hx_sanction_rec to_rec(const hx_sanction *x)
{
    return (hx_sanction_rec){.action_id = x->action_id, .kind = (int)x->kind, .room = x->room, .user = x->user,
                             .device = x->device, .policy = (int)x->policy, .created_ms = x->created_ms,
                             .expires_ms = x->expires_ms, .actor = x->actor, .reason = x->reason};
}

static json_t *sanction_json(const hx_sanction *x)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:s, s:s}", "kind", hx_sanction_kind_name(x->kind),
                          "action_id", x->action_id, "room", x->room, "user", x->user, "device", x->device,
                          "created_at_ms", (json_int_t)x->created_ms, "expires_at_ms", (json_int_t)x->expires_ms,
                          "actor", x->actor, "reason", x->reason);
    if (o && x->kind == HX_SANCTION_TIMEOUT)
        json_object_set_new(o, "policy", json_string(hx_timeout_policy_name(x->policy)));
    return o;
}

/* Store (sanction + record), then live. */
static int impose(hx_server *s, const hx_mod_action *a, const hx_sanction *x, hx_mod_result *r)
{
    int64_t now = x->created_ms;
    json_t *d = hx_mod_action_json(a);
    json_object_set_new(d, "sanction", sanction_json(x));
    char *detail = dumps(d);
    char kind[48];
    snprintf(kind, sizeof kind, "moderation.%s", hx_mod_kind_name(a->kind));
    hx_event ev = action_event(a, kind, detail, now);
    hx_sanction_rec rec = to_rec(x);
    int rc = s->store->ops->put_sanction(s->store, &rec, &ev);
    free(detail);
    if (rc != HX_STORE_OK) {
        log_store_error(s, "put_sanction");
        return refuse(r, "store_failed", "the store refused the action; nothing was done%s", NULL);
    }
    if (hx_sanctions_add(&s->sanctions, x)) /* durable already: enforced again after a restart */
        hx_log(&s->log, HX_LOG_ERROR, "moderation.full", "action_id", x->action_id, NULL);
    return 0;
}

/* Store (lift + record), then live. */
static int lift(hx_server *s, const hx_mod_action *a, const hx_sanction *x, const char *kind, hx_mod_result *r)
{
    json_t *d = hx_mod_action_json(a);
    json_object_set_new(d, "lifted", sanction_json(x));
    char *detail = dumps(d);
    hx_event ev = action_event(a, kind, detail, hx_now_ms());
    char id[HX_MOD_ID_LEN];
    memcpy(id, x->action_id, sizeof id);
    int rc = s->store->ops->lift_sanction(s->store, id, &ev);
    free(detail);
    if (rc != HX_STORE_OK && rc != HX_STORE_NOTFOUND) {
        log_store_error(s, "lift_sanction");
        return refuse(r, "store_failed", "the store refused the action; nothing was done%s", NULL);
    }
    hx_sanctions_lift(&s->sanctions, id);
    return 0;
}

/* --- targets --------------------------------------------------------------- */

static hx_track_info *find_track(hx_room *room, const char *track, hx_participant **owner)
{
    for (hx_participant *p = room ? room->head : NULL; p; p = p->next)
        for (size_t i = 0; i < p->n_tracks; i++)
            if (!strcmp(p->tracks[i].id, track)) {
                *owner = p;
                return &p->tracks[i];
            }
    return NULL;
}

static hx_participant *find_user(hx_room *room, const char *user)
{
    for (hx_participant *p = room ? room->head : NULL; p; p = p->next)
        if (!strcmp(p->user, user)) return p;
    return NULL;
}

/* Complete the target from the room; refuse what cannot be found. */
static int resolve(hx_server *s, hx_mod_action *a, hx_mod_result *r)
{
    hx_room *room = a->room[0] ? hx_rooms_find(&s->rooms, a->room) : NULL;
    bool needs_presence = a->kind == HX_MOD_KICK || a->kind == HX_MOD_MUTE || a->kind == HX_MOD_UNMUTE;
    if (a->track[0]) {
        hx_participant *owner = NULL;
        if (!find_track(room, a->track, &owner))
            return refuse(r, "unknown_track", "no track '%.64s' is published in this room", a->track);
        if (a->participant[0] && strcmp(a->participant, owner->id))
            return refuse(r, "unknown_track", "track '%.64s' is not that participant's", a->track);
        memcpy(a->participant, owner->id, sizeof a->participant);
    }
    if (a->participant[0]) {
        hx_participant *p = room ? hx_room_find_participant(room, a->participant) : NULL;
        if (!p) return refuse(r, "target_not_found", "participant '%.64s' is not in the room", a->participant);
        memcpy(a->user, p->user, sizeof a->user);
        return 0;
    }
    if (needs_presence && !find_user(room, a->user))
        return refuse(r, "target_not_found", "user '%.64s' is not in the room", a->user);
    return 0;
}

/* --- votes ----------------------------------------------------------------- */

/* An open vote is stored whole (a restart loses no ballot) with the record of what changed. */
static int store_vote(hx_server *s, const hx_vote *v, const hx_event *ev, hx_mod_result *r)
{
    char *value = dumps(hx_vote_state_json(v));
    int rc = value ? s->store->ops->put_state(s->store, "vote", v->action.id, value, ev) : HX_STORE_ERROR;
    free(value);
    if (rc == HX_STORE_OK) return 0;
    log_store_error(s, "put_state");
    return refuse(r, "store_failed", "the vote could not be written; nothing was done%s", NULL);
}

static hx_vote *find_vote(const hx_server *s, const char *id)
{
    for (size_t i = 0; i < HX_MOD_MAX_VOTES; i++)
        if (s->votes[i] && !strcmp(s->votes[i]->action.id, id)) return s->votes[i];
    return NULL;
}

static json_t *event_for(const hx_mod_action *a, const hx_sanction *x)
{
    json_t *e = hx_mod_action_json(a);
    if (x) json_object_set_new(e, "expires_at_ms", json_integer(x->expires_ms));
    return e;
}

static void vote_event(hx_server *s, const char *what, const hx_vote *v)
{
    json_t *e = hx_mod_action_json(&v->action);
    json_object_set_new(e, "vote", hx_vote_json(v));
    publish(s, what, &v->action, NULL, e);
}

static int open_vote(hx_server *s, const hx_mod_action *a, bool emergency, hx_mod_result *r, hx_vote **out)
{
    size_t slot = HX_MOD_MAX_VOTES;
    for (size_t i = 0; i < HX_MOD_MAX_VOTES && slot == HX_MOD_MAX_VOTES; i++)
        if (!s->votes[i]) slot = i;
    if (slot == HX_MOD_MAX_VOTES) return refuse(r, "too_many_votes", "too many votes are open%s", NULL);
    /* The electorate: moderators present, not the target. */
    const char *voters[HX_MOD_MAX_VOTERS];
    int n = 0;
    hx_room *room = hx_rooms_find(&s->rooms, a->room);
    for (hx_participant *p = room ? room->head : NULL; p && n < HX_MOD_MAX_VOTERS; p = p->next)
        if ((p->grants & HX_GRANT_MODERATE) && strcmp(p->user, a->user)) voters[n++] = p->user;
    hx_vote *v = calloc(1, sizeof *v);
    if (!v) return refuse(r, "internal_error", "out of memory%s", NULL);
    hx_vote_open(v, a, emergency, voters, n, hx_moderation_policy(s, a->room), hx_now_ms());
    char *detail = dumps(hx_vote_json(v));
    hx_event ev = action_event(a, "vote.opened", detail, v->opened_ms);
    int rc = store_vote(s, v, &ev, r);
    free(detail);
    if (rc) {
        free(v);
        return -1;
    }
    s->votes[slot] = v;
    *out = v;
    vote_event(s, "vote.opened", v);
    return 0;
}

static int apply(hx_server *s, hx_mod_action *a, hx_mod_result *r);

/* A decided vote: record it, then carry out (proposal passed) or overturn (emergency failed). */
static void settle(hx_server *s, hx_vote *v)
{
    hx_mod_result r = {0};
    char *detail = dumps(hx_vote_json(v));
    hx_event ev = action_event(&v->action, "vote.closed", detail, hx_now_ms());
    ev.code = hx_vote_state_name(v->state);
    int rc = s->store->ops->delete_state(s->store, "vote", v->action.id, &ev);
    if (rc != HX_STORE_OK) { /* decided anyway: a restart would decide it again the same way */
        log_store_error(s, "delete_state");
        if (rc == HX_STORE_NOTFOUND && s->store->ops->append_event(s->store, &ev) != HX_STORE_OK)
            log_store_error(s, "append_event");
    }
    free(detail);
    vote_event(s, "vote.closed", v);
    if (!v->emergency && v->state == HX_VOTE_PASSED) {
        if (apply(s, &v->action, &r))
            hx_log(&s->log, HX_LOG_WARN, "moderation.vote_unenforced", "action_id", v->action.id, "code", r.code,
                   NULL);
    } else if (v->emergency && v->state == HX_VOTE_FAILED) {
        /* Overturned: the cooldown lifts and the kicked user is told they may return. */
        const hx_sanction *x = NULL;
        for (size_t i = 0; i < s->sanctions.n && !x; i++)
            if (!strcmp(s->sanctions.v[i].action_id, v->action.id)) x = &s->sanctions.v[i];
        if (x) {
            hx_sanction copy = *x;
            if (lift(s, &v->action, &copy, "moderation.overturned", &r) == 0)
                publish(s, "overturn", &v->action, NULL, event_for(&v->action, NULL));
        }
    }
}

static void close_vote(hx_server *s, hx_vote *v)
{
    for (size_t i = 0; i < HX_MOD_MAX_VOTES; i++)
        if (s->votes[i] == v) s->votes[i] = NULL;
    free(v);
}

/* --- actions --------------------------------------------------------------- */

static int64_t bounded(const hx_server *s, int64_t asked, int64_t dflt)
{
    int64_t d = asked ? asked : dflt;
    return d > s->mod_policy.max_duration_ms ? s->mod_policy.max_duration_ms : d; /* server-wide */
}

static int do_mute(hx_server *s, hx_mod_action *a, hx_mod_result *r, int64_t now)
{
    hx_participant *owner = NULL;
    hx_track_info *t = find_track(hx_rooms_find(&s->rooms, a->room), a->track, &owner);
    if (!t) return refuse(r, "unknown_track", "track '%.64s' is gone", a->track); /* since a vote opened */
    bool mute = a->kind == HX_MOD_MUTE;
    if (t->muted == mute)
        return refuse(r, mute ? "already_muted" : "not_muted", "track '%.64s' is already so", a->track);
    char kind[32];
    snprintf(kind, sizeof kind, "moderation.%s", hx_mod_kind_name(a->kind));
    char *detail = dumps(hx_mod_action_json(a));
    hx_event ev = action_event(a, kind, detail, now);
    int rc = audit(s, &ev, r);
    free(detail);
    if (rc) return -1;
    publish(s, hx_mod_kind_name(a->kind), a, NULL, event_for(a, NULL));
    return 0;
}

static int apply(hx_server *s, hx_mod_action *a, hx_mod_result *r)
{
    int64_t now = hx_now_ms();
    const hx_mod_policy *pol = hx_moderation_policy(s, a->room);
    const hx_sanction *same;
    hx_sanction x;
    switch (a->kind) {
    case HX_MOD_MUTE:
    case HX_MOD_UNMUTE:
        return do_mute(s, a, r, now);
    case HX_MOD_TIMEOUT:
        if (hx_sanctions_find_same(&s->sanctions, HX_SANCTION_TIMEOUT, a->room, a->user, a->device, now))
            return refuse(r, "already_timed_out", "'%.64s' is timed out already", a->user);
        x = make_sanction(a, HX_SANCTION_TIMEOUT, bounded(s, a->duration_ms, pol->timeout_default_ms), now);
        x.policy = pol->timeout;
        if (impose(s, a, &x, r)) return -1;
        publish(s, "timeout", a, &x, event_for(a, &x));
        return 0;
    case HX_MOD_KICK:
        x = make_sanction(a, HX_SANCTION_COOLDOWN, bounded(s, a->duration_ms, pol->kick_cooldown_ms), now);
        if (impose(s, a, &x, r)) return -1;
        publish(s, "kick", a, &x, event_for(a, &x));
        return 0;
    case HX_MOD_BAN:
        if (hx_sanctions_find_same(&s->sanctions, HX_SANCTION_BAN, a->room, a->user, a->device, now))
            return refuse(r, "already_banned", "'%.64s' is banned already", a->user[0] ? a->user : a->device);
        x = make_sanction(a, HX_SANCTION_BAN, a->duration_ms ? bounded(s, a->duration_ms, 0) : 0, now);
        if (impose(s, a, &x, r)) return -1;
        publish(s, "ban", a, &x, event_for(a, &x));
        return 0;
    case HX_MOD_UNTIMEOUT:
    case HX_MOD_UNBAN: {
        bool ban = a->kind == HX_MOD_UNBAN;
        same = hx_sanctions_find_same(&s->sanctions, ban ? HX_SANCTION_BAN : HX_SANCTION_TIMEOUT, a->room, a->user,
                                      a->device, now);
        if (!same)
            return refuse(r, ban ? "not_banned" : "not_timed_out", "no such sanction on '%.64s'",
                          a->user[0] ? a->user : a->device);
        x = *same;
        if (lift(s, a, &x, ban ? "moderation.unban" : "moderation.untimeout", r)) return -1;
        publish(s, hx_mod_kind_name(a->kind), a, &x, event_for(a, NULL));
        return 0;
    }
    }
    return refuse(r, "unknown_action", "no such action%s", NULL);
}

int hx_moderate(hx_server *s, hx_mod_action *a, hx_mod_result *r)
{
    memset(r, 0, sizeof *r);
    hx_mod_new_id(a->id);
    bool operator = !strcmp(a->actor, HX_MOD_OPERATOR);
    if (a->room[0] && !hx_rooms_find(&s->rooms, a->room) &&
        (a->kind == HX_MOD_KICK || a->kind == HX_MOD_MUTE || a->kind == HX_MOD_UNMUTE))
        return refuse(r, "not_found", "no room '%.64s' is open", a->room);
    if (resolve(s, a, r)) return -1;
    hx_vote *v = NULL;
    if (a->propose && !operator) {
        if (open_vote(s, a, false, r, &v)) return -1;
        r->data = json_pack("{s:s, s:s, s:o}", "id", a->id, "status", "proposed", "vote", hx_vote_json(v));
        if (v->state != HX_VOTE_OPEN) { /* a lone moderator's proposal passes at once */
            settle(s, v);
            close_vote(s, v);
        }
        return 0;
    }
    if (apply(s, a, r)) return -1;
    r->data = json_pack("{s:s, s:s}", "id", a->id, "status", "done");
    if (a->kind == HX_MOD_KICK && !operator && hx_moderation_policy(s, a->room)->ratify &&
        open_vote(s, a, true, r, &v) == 0) {
        json_object_set_new(r->data, "vote", hx_vote_json(v));
        if (v->state != HX_VOTE_OPEN) {
            settle(s, v);
            close_vote(s, v);
        }
    }
    r->code = NULL; /* the kick stands even if its vote could not open (logged) */
    return 0;
}

int hx_moderate_vote(hx_server *s, const char *action_id, const char *voter, bool yes, hx_mod_result *r)
{
    memset(r, 0, sizeof *r);
    hx_vote *v = find_vote(s, action_id);
    if (!v) return refuse(r, "no_such_vote", "no open vote on '%.64s'", action_id);
    int64_t now = hx_now_ms();
    const char *code;
    hx_vote copy = *v;
    if (hx_vote_cast(&copy, voter, yes, now, &code)) {
        if (!strcmp(code, "vote_closed")) hx_moderation_tick(s, now);
        return refuse(r, code, code[0] == 'n' ? "you may not vote on '%.64s'" : "cannot vote on '%.64s' now",
                      action_id);
    }
    char detail[96];
    snprintf(detail, sizeof detail, "{\"action_id\":\"%s\",\"yes\":%s}", action_id, yes ? "true" : "false");
    hx_event ev = action_event(&v->action, "vote.cast", detail, now);
    ev.user = voter; /* the voter, not the target */
    if (store_vote(s, &copy, &ev, r)) return -1;
    *v = copy;
    r->data = json_pack("{s:s, s:o}", "id", action_id, "vote", hx_vote_json(v));
    if (v->state != HX_VOTE_OPEN) {
        settle(s, v);
        close_vote(s, v);
    } else {
        vote_event(s, "vote.cast", v);
    }
    return 0;
}

static void on_expired(void *arg, const hx_sanction *x)
{
    hx_server *s = arg;
    hx_mod_action a = {.kind = x->kind == HX_SANCTION_TIMEOUT ? HX_MOD_UNTIMEOUT : HX_MOD_UNBAN};
    memcpy(a.id, x->action_id, sizeof a.id);
    memcpy(a.room, x->room, sizeof a.room);
    memcpy(a.user, x->user, sizeof a.user);
    memcpy(a.device, x->device, sizeof a.device);
    snprintf(a.actor, sizeof a.actor, "expiry");
    if (x->kind != HX_SANCTION_COOLDOWN)
        publish(s, x->kind == HX_SANCTION_TIMEOUT ? "untimeout" : "unban", &a, x, event_for(&a, NULL));
}

void hx_moderation_tick(hx_server *s, int64_t now_ms)
{
    for (size_t i = 0; i < HX_MOD_MAX_VOTES; i++) {
        hx_vote *v = s->votes[i];
        if (v && hx_vote_tick(v, now_ms) != HX_VOTE_OPEN) {
            settle(s, v);
            close_vote(s, v);
        }
    }
    /* Expired rows stay in the store until its sweep; the live set lets go now. */
    hx_sanctions_sweep(&s->sanctions, now_ms, on_expired, s);
}

json_t *hx_moderation_votes_json(const hx_server *s, const char *room)
{
    json_t *a = json_array();
    for (size_t i = 0; i < HX_MOD_MAX_VOTES; i++)
        if (s->votes[i] && (!room || !strcmp(room, s->votes[i]->action.room)))
            json_array_append_new(a, hx_vote_json(s->votes[i]));
    return a;
}

json_t *hx_moderation_sanctions_json(const hx_server *s, const char *room)
{
    json_t *a = json_array();
    for (size_t i = 0; i < s->sanctions.n; i++)
        if (!room || !strcmp(room, s->sanctions.v[i].room))
            json_array_append_new(a, sanction_json(&s->sanctions.v[i]));
    return a;
}

static int load_one(void *arg, const hx_sanction_rec *rec)
{
    hx_server *s = arg;
    hx_sanction x = {.kind = (hx_sanction_kind)rec->kind,
                     .policy = (hx_timeout_policy)rec->policy,
                     .created_ms = rec->created_ms,
                     .expires_ms = rec->expires_ms};
    snprintf(x.action_id, sizeof x.action_id, "%s", rec->action_id);
    snprintf(x.room, sizeof x.room, "%s", rec->room ? rec->room : "");
    snprintf(x.user, sizeof x.user, "%s", rec->user ? rec->user : "");
    snprintf(x.device, sizeof x.device, "%s", rec->device ? rec->device : "");
    snprintf(x.actor, sizeof x.actor, "%s", rec->actor ? rec->actor : "");
    snprintf(x.reason, sizeof x.reason, "%s", rec->reason ? rec->reason : "");
    return hx_sanctions_add(&s->sanctions, &x);
}

/* --- room policies ---------------------------------------------------------- */

const hx_mod_policy *hx_moderation_policy(const hx_server *s, const char *room)
{
    const hx_mod_policy *p = room && *room ? hx_strmap_get(&s->room_policies, room) : NULL;
    return p ? p : &s->mod_policy;
}

int hx_moderation_set_policy(hx_server *s, const char *room, json_t *fields, hx_mod_result *r)
{
    memset(r, 0, sizeof *r);
    hx_mod_policy p = s->mod_policy; /* a room's policy overrides the server's, field by field */
    if (fields && hx_mod_policy_from_json(fields, &p, r->message, sizeof r->message)) {
        r->code = "bad_request";
        return -1;
    }
    char *value = fields ? dumps(hx_mod_policy_json(&p)) : NULL;
    hx_event ev = {.ts_ms = hx_now_ms(), .kind = "moderation.policy", .room = room,
                   .code = fields ? "set" : "reset", .detail = value};
    int rc = fields ? s->store->ops->put_state(s->store, "policy", room, value, &ev)
                    : s->store->ops->delete_state(s->store, "policy", room, &ev);
    free(value);
    if (rc != HX_STORE_OK && rc != HX_STORE_NOTFOUND) {
        log_store_error(s, "policy");
        return refuse(r, "store_failed", "the policy could not be written; nothing changed%s", NULL);
    }
    hx_mod_policy *old = NULL, *fresh = fields ? malloc(sizeof *fresh) : NULL;
    if (fresh) {
        *fresh = p;
        if (hx_strmap_put(&s->room_policies, room, fresh, (void **)&old)) free(fresh);
    } else {
        old = hx_strmap_del(&s->room_policies, room);
    }
    free(old);
    r->data = json_pack("{s:s, s:b, s:o}", "room", room, "custom", fields != NULL, "policy",
                        hx_mod_policy_json(hx_moderation_policy(s, room)));
    return 0;
}

static int load_policy(void *arg, const char *room, const char *value)
{
    hx_server *s = arg;
    json_t *o = json_loads(value, 0, NULL);
    hx_mod_policy p = s->mod_policy, *fresh;
    char why[128];
    if (hx_mod_policy_from_json(o, &p, why, sizeof why) || !(fresh = malloc(sizeof *fresh))) {
        hx_log(&s->log, HX_LOG_ERROR, "moderation.policy_unreadable", "room", room, "error", why, NULL);
    } else {
        *fresh = p;
        if (hx_strmap_put(&s->room_policies, room, fresh, NULL)) free(fresh);
    }
    json_decref(o);
    return 0;
}

static int free_policy(void *arg, const char *key, void *value)
{
    (void)arg;
    (void)key;
    free(value);
    return 1;
}

void hx_moderation_free(hx_server *s)
{
    hx_strmap_foreach(&s->room_policies, free_policy, NULL);
    hx_strmap_free(&s->room_policies);
    for (size_t i = 0; i < HX_MOD_MAX_VOTES; i++) {
        free(s->votes[i]);
        s->votes[i] = NULL;
    }
    hx_sanctions_free(&s->sanctions);
}

static int load_vote(void *arg, const char *key, const char *value)
{
    hx_server *s = arg;
    json_t *o = json_loads(value, 0, NULL);
    hx_vote v;
    int bad = hx_vote_from_json(o, &v);
    json_decref(o);
    size_t slot = 0;
    while (slot < HX_MOD_MAX_VOTES && s->votes[slot]) slot++;
    if (bad || slot == HX_MOD_MAX_VOTES || !(s->votes[slot] = malloc(sizeof v))) {
        hx_log(&s->log, HX_LOG_ERROR, "moderation.vote_unreadable", "action_id", key, NULL);
        return 0; /* the others still load; this one's record stays in the audit trail */
    }
    *s->votes[slot] = v;
    return 0;
}

int hx_moderation_load(hx_server *s)
{
    hx_mod_policy *p = &s->mod_policy;
    const hx_config *c = &s->cfg;
    hx_mod_policy_default(p);
    hx_timeout_policy_parse(c->timeout_policy, &p->timeout); /* validated at start */
    p->ratify = strcmp(c->ratification, "none") != 0;
    p->vote_window_ms = c->vote_window_s * 1000;
    p->quorum_pct = (int)c->quorum_pct;
    p->majority_pct = (int)c->majority_pct;
    p->kick_cooldown_ms = c->kick_cooldown_s * 1000;
    p->timeout_default_ms = c->timeout_s * 1000;
    hx_sanctions_init(&s->sanctions);
    hx_strmap_init(&s->room_policies);
    if (s->store->ops->list_state(s->store, "policy", load_policy, s) != HX_STORE_OK) return -1;
    if (s->store->ops->list_sanctions(s->store, hx_now_ms(), load_one, s) != HX_STORE_OK) return -1;
    /* Open votes go on where they were; one past its deadline is decided at the first tick. */
    return s->store->ops->list_state(s->store, "vote", load_vote, s) == HX_STORE_OK ? 0 : -1;
}

int hx_server_unrevoke(hx_server *s, hx_revoke_kind kind, const char *value, const char *actor, const char *reason)
{
    char detail[HX_MAX_ID_LEN * 2 + 64];
    json_t *d = json_pack("{s:s, s:s, s:s}", "kind", hx_revoke_kind_name(kind), "value", value, "actor", actor);
    char *t = dumps(d);
    snprintf(detail, sizeof detail, "%s", t ? t : "{}");
    free(t);
    hx_event ev = {.ts_ms = hx_now_ms(),
                   .kind = "unrevoke",
                   .user = kind == HX_REVOKE_USER ? value : NULL,
                   .sid = kind == HX_REVOKE_SID ? value : NULL,
                   .code = reason,
                   .detail = detail};
    int rc = s->store->ops->delete_revocation(s->store, kind, value, &ev);
    if (rc == HX_STORE_NOTFOUND) return HX_STORE_NOTFOUND;
    if (rc != HX_STORE_OK) {
        log_store_error(s, "delete_revocation");
        return -1;
    }
    hx_revocations_remove(&s->revocations, kind, value);
    hx_log(&s->log, HX_LOG_INFO, "unrevoke", "kind", hx_revoke_kind_name(kind), "value", value, NULL);
    return 0;
}
