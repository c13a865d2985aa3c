/*
 * Moderators in the room (docs/protocol.md §2.4): the `moderate` and `vote`
 * messages, and the enforcement of moderation actions published on the bus
 * (whoever took them: a moderator here, the admin API, a vote's outcome,
 * another node) on the sessions this node holds.
 *
 * Enforcement, by action:
 *   mute / unmute   the engine stops / resumes forwarding the track
 *   timeout         listen_only: every track of the target is held (not
 *                   forwarded) and publishing is refused until it ends;
 *                   deny_join: the target's sessions are disconnected
 *   untimeout       held tracks are released
 *   kick / ban      the target's sessions are disconnected (close 4008)
 * and the room is told with one `moderation` event. Engine commands sent
 * for an action carry a request stamped with the time the action reached
 * this node; the engine's DONE for it feeds the enforcement histograms
 * (media stopped, transports closed), so /metrics shows how long an
 * acknowledged action takes to bite.
 */
#include "signal/registry.h"
#include "core/metric_names.h"

#include "common/clock.h"
#include "core/moderate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- messages from moderators ---------------------------------------------- */

static void answer(hx_session *s, const char *id, int rc, hx_mod_result *r)
{
    if (rc)
        hx_session_error(s, id, r->code, r->message);
    else
        hx_session_send(s, "ack", id, r->data);
}

void hx_session_moderate(hx_session *s, const char *id, json_t *data)
{
    if (!(s->p.grants & HX_GRANT_MODERATE)) {
        hx_session_error(s, id, "not_moderator", "moderation needs the moderate grant");
        return;
    }
    hx_mod_action a;
    const char *code;
    char why[256];
    if (hx_mod_action_parse(data, &a, &code, why, sizeof why)) {
        hx_session_error(s, id, code, why);
        return;
    }
    if (a.room[0] && strcmp(a.room, s->p.room->name)) {
        hx_session_error(s, id, "bad_request", "a moderator acts in their own room: leave data.room out");
        return;
    }
    memcpy(a.room, s->p.room->name, sizeof a.room);
    memcpy(a.actor, s->p.user, sizeof a.actor);
    hx_mod_result r;
    answer(s, id, hx_moderate(s->srv, &a, &r), &r);
}

void hx_session_vote(hx_session *s, const char *id, json_t *data)
{
    if (!(s->p.grants & HX_GRANT_MODERATE)) {
        hx_session_error(s, id, "not_moderator", "voting needs the moderate grant");
        return;
    }
    json_t *aid = json_object_get(data, "action_id"), *yes = json_object_get(data, "approve");
    if (!json_is_string(aid) || json_string_length(aid) >= HX_MOD_ID_LEN || !json_is_boolean(yes)) {
        hx_session_error(s, id, "bad_request", "vote needs data.action_id (string) and data.approve (boolean)");
        return;
    }
    hx_mod_result r;
    answer(s, id, hx_moderate_vote(s->srv, json_string_value(aid), s->p.user, json_is_true(yes), &r), &r);
}

/* --- enforcement ----------------------------------------------------------- */

/* The engine's MUTE for one track: forwarded only when neither muted nor held. */
void hx_session_post_mute(hx_session *s, const hx_track_info *t, int64_t stamp_ms)
{
    if (!s->media_serial) return;
    uint8_t buf[192];
    hx_sfu_builder b;
    hx_sfu_build(&b, buf, sizeof buf, HX_SFU_MUTE, s->media_serial * 2);
    hx_sfu_put_cstr(&b, HX_SFU_T_TRACK, t->id);
    hx_sfu_put_flags(&b, t->muted || t->held ? HX_SFU_F_ON : 0);
    hx_enforcement_stamp(&b, 'm', stamp_ms);
    hx_session_post(s, &b, NULL);
}

void hx_session_hold_tracks(hx_session *s, bool hold, int64_t stamp_ms)
{
    for (size_t i = 0; i < s->p.n_tracks; i++) {
        hx_track_info *t = &s->p.tracks[i];
        if (t->held == hold) continue;
        t->held = hold;
        hx_session_post_mute(s, t, stamp_ms);
    }
}

typedef struct enforce_ctx {
    const hx_bus_msg *m;
    int64_t stamp_ms;
} enforce_ctx;

static void set_mute(hx_session *s, void *arg)
{
    const enforce_ctx *c = arg;
    for (size_t i = 0; i < s->p.n_tracks; i++) {
        hx_track_info *t = &s->p.tracks[i];
        if (strcmp(t->id, c->m->track)) continue;
        t->muted = !strcmp(c->m->action, "mute");
        hx_session_post_mute(s, t, c->stamp_ms);
        hx_session_persist(s); /* a resume keeps the mute (§2.4) */
    }
}

static void hold(hx_session *s, void *arg)
{
    const enforce_ctx *c = arg;
    hx_session_hold_tracks(s, !strcmp(c->m->action, "timeout"), c->stamp_ms);
}

static void tell_room(hx_server *srv, const hx_bus_msg *m)
{
    hx_room *r = m->room[0] ? hx_rooms_find(&srv->rooms, m->room) : NULL;
    json_t *data = m->text[0] ? json_loads(m->text, 0, NULL) : NULL;
    if (r && data) hx_room_broadcast(r, NULL, "moderation", json_incref(data));
    json_decref(data);
}

void hx_signal_moderation(hx_server *srv, const hx_bus_msg *m)
{
    enforce_ctx c = {m, hx_mono_ms()};
    hx_session_match who = {.room = m->room[0] ? m->room : NULL,
                            .user = m->user[0] ? m->user : NULL,
                            .device = m->device[0] ? m->device : NULL,
                            .joined_only = true};
    if (!who.user && !who.device) who.participant = m->participant[0] ? m->participant : "";
    const char *a = m->action;
    /* Tell the room first: a kicked participant's leave then follows the reason for it. */
    tell_room(srv, m);
    if (!strcmp(a, "mute") || !strcmp(a, "unmute")) {
        hx_session_match owner = {.participant = m->participant, .joined_only = true};
        hx_sessions_each(srv, hx_session_matches, &owner, set_mute, &c);
    } else if (!strcmp(a, "timeout") && !strcmp(m->policy, "deny_join")) {
        hx_sessions_kick(srv, hx_session_matches, &who, "timed_out", HX_CLOSE_MODERATED,
                         m->text[0] ? "timed out by a moderator" : "timed out");
    } else if (!strcmp(a, "timeout") || !strcmp(a, "untimeout")) {
        hx_sessions_each(srv, hx_session_matches, &who, hold, &c);
    } else if (!strcmp(a, "kick") || !strcmp(a, "ban")) {
        hx_sessions_kick(srv, hx_session_matches, &who, a[0] == 'k' ? "kicked" : "banned", HX_CLOSE_MODERATED,
                         a[0] == 'k' ? "removed from the room by a moderator" : "banned by a moderator");
    } else if (!strcmp(a, "overturn") && m->user[0]) {
        /* The kicked user, wherever else they are connected, learns they may return. */
        hx_session_match anywhere = {.user = m->user, .joined_only = true};
        json_t *data = json_loads(m->text, 0, NULL);
        if (data) hx_sessions_notify(srv, hx_session_matches, &anywhere, "moderation", data);
        json_decref(data);
    }
}

/* --- enforcement latency ----------------------------------------------------- */

void hx_enforcement_stamp(hx_sfu_builder *b, char what, int64_t mono_ms)
{
    char req[32];
    int n = snprintf(req + 1, sizeof req - 1, "%c%lld", what, (long long)mono_ms);
    req[0] = '\0'; /* a request no client id can be (ids never hold NUL): ours */
    hx_sfu_put_str(b, HX_SFU_T_REQUEST, req, (size_t)n + 1);
}

bool hx_signal_enforcement_done(hx_server *srv, const hx_sfu_msg *m)
{
    const hx_sfu_str *req = &m->f[HX_SFU_T_REQUEST];
    if (m->kind != HX_SFU_EV_DONE || req->len < 3 || req->p[0] != '\0') return false;
    char what = req->p[1];
    char num[24];
    size_t n = req->len - 2 < sizeof num - 1 ? req->len - 2 : sizeof num - 1;
    memcpy(num, req->p + 2, n);
    num[n] = '\0';
    double s = (double)(hx_mono_ms() - strtoll(num, NULL, 10)) / 1000.0;
    static const double bounds[] = HX_M_MODERATION_BOUNDS;
    if (what == 'm')
        hx_metrics_observe(&srv->metrics, HX_M_MODERATION_MEDIA_STOP_SECONDS,
                           bounds, sizeof bounds / sizeof bounds[0], s);
    else
        hx_metrics_observe(&srv->metrics, HX_M_FORCED_DISCONNECT_MEDIA_SECONDS,
                           bounds, sizeof bounds / sizeof bounds[0], s);
    return true;
}
