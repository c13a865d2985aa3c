/*
 * Media signaling: the control plane's half of the engine boundary
 * (sfu/sfu.h). It turns the client's sdp.* / ice.* / track.* requests into
 * engine commands and the engine's events into messages to the client, and
 * keeps the room's view of who publishes what (for join results,
 * track.published events and auto-subscription). It never sees RTP; the
 * engine never sees JSON.
 *
 * Each joined session with media has two transports: the publisher
 * (id = serial * 2, the client offers) and the subscriber (serial * 2 + 1,
 * the engine offers). Requests that the engine completes carry the client's
 * request id in the REQUEST field; the engine echoes it in its DONE, answer
 * or ERROR event, which this file turns into the `ack` or `error`.
 *
 * Grants: publish for sending media, subscribe for receiving it, data for
 * the data channel. A session with none of them opens no transport.
 */
#include "signal/session.h"
#include "core/metric_names.h"

#include "common/clock.h"
#include "core/slo.h"
#include "signal/protocol.h"
#include "signal/registry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SDP (64 * 1024)
#define MAX_CANDIDATE 512

static const char *const roles[2] = {"publisher", "subscriber"};

static uint64_t transport_id(const hx_session *s, int role)
{
    return s->media_serial * 2 + (uint64_t)role;
}

void hx_session_media_key(uint64_t serial, char key[24])
{
    snprintf(key, 24, "%llx", (unsigned long long)serial);
}

/* Send a finished command; false (and an error to the client) when the engine refused it. */
bool hx_session_post(hx_session *s, hx_sfu_builder *b, const char *id)
{
    long n = hx_sfu_finish(b);
    hx_server *srv = s->srv;
    if (n < 0 || !srv->sfu_post || srv->sfu_post(srv->sfu_ctx, b->buf, (size_t)n) != 0) {
        if (id)
            hx_session_error(s, id, "media_unavailable",
                             "the media engine cannot take the request now");
        hx_metrics_add(&srv->metrics, HX_M_ENGINE_COMMANDS_REFUSED_TOTAL, NULL, NULL, 1);
        return false;
    }
    return true;
}

/* A command about one track on one of our transports. */
static bool track_command(hx_session *s, hx_sfu_kind kind, int role, const char *track,
                          const char *id, uint32_t flags)
{
    uint8_t buf[512];
    hx_sfu_builder b;
    hx_sfu_build(&b, buf, sizeof buf, kind, transport_id(s, role));
    hx_sfu_put_cstr(&b, HX_SFU_T_TRACK, track);
    if (flags) hx_sfu_put_flags(&b, flags);
    if (id) hx_sfu_put_cstr(&b, HX_SFU_T_REQUEST, id);
    return hx_session_post(s, &b, id);
}

void hx_session_media_open(hx_session *s, json_t *join_data)
{
    hx_server *srv = s->srv;
    uint32_t g = s->p.grants;
    uint32_t flags = (g & HX_GRANT_PUBLISH ? HX_SFU_F_PUBLISH : 0) |
                     (g & HX_GRANT_SUBSCRIBE ? HX_SFU_F_SUBSCRIBE : 0) |
                     (g & HX_GRANT_DATA ? HX_SFU_F_DATA : 0);
    json_t *as = json_object_get(join_data, "auto_subscribe");
    s->auto_subscribe = !json_is_false(as);
    if (!flags || !srv->sfu_post) return;

    s->media_serial = ++srv->next_media_serial;
    s->media_opened_ms = hx_mono_ms();
    hx_metrics_inc(&srv->metrics, HX_M_MEDIA_SESSIONS_TOTAL);
    char key[24];
    hx_session_media_key(s->media_serial, key);
    if (hx_strmap_put(&srv->sessions->by_media, key, s, NULL)) {
        s->media_serial = 0;
        return;
    }
    for (int role = 0; role < 2; role++) {
        uint8_t buf[512];
        hx_sfu_builder b;
        hx_sfu_build(&b, buf, sizeof buf, HX_SFU_TRANSPORT_OPEN, transport_id(s, role));
        hx_sfu_put_cstr(&b, HX_SFU_T_ROOM, s->p.room->name);
        hx_sfu_put_cstr(&b, HX_SFU_T_PARTICIPANT, s->p.id);
        hx_sfu_put_cstr(&b, HX_SFU_T_ROLE, roles[role]);
        hx_sfu_put_flags(&b, flags);
        hx_session_post(s, &b, NULL);
    }
    for (hx_participant *o = s->p.room->pub_head; o; o = o->pub_next) /* publishers only */
        for (size_t i = 0; o != &s->p && i < o->n_tracks; i++)
            hx_session_media_auto_subscribe(s, o->tracks[i].id);
}

/* A layer choice as the session keeps it (signal/subs.c): a rid, or "@WxH" for a size. */
static void put_choice(hx_sfu_builder *b, const char *choice)
{
    if (choice[0] == '@')
        hx_sfu_put_cstr(b, HX_SFU_T_SIZE, choice + 1);
    else
        hx_sfu_put_cstr(b, HX_SFU_T_LAYER, choice);
}

/* A track that (re)appears, or all of them after a resume: what the room's default and the
 * session's own choices (signal/subs.c) say, its layer and pin included. */
void hx_session_media_auto_subscribe(hx_session *s, const char *track)
{
    if (!s->media_serial || !(s->p.grants & HX_GRANT_SUBSCRIBE)) return;
    const hx_sub_choice *c = hx_session_sub_choice(s, track);
    int want = c ? c->subscribed : -1;
    if (want == 0 || (want < 0 && !s->auto_subscribe)) return;
    track_command(s, HX_SFU_SUBSCRIBE, 1, track, NULL, 0);
    if (c && c->layer[0]) {
        uint8_t buf[256];
        hx_sfu_builder b;
        hx_sfu_build(&b, buf, sizeof buf, HX_SFU_SET_LAYER, transport_id(s, 1));
        hx_sfu_put_cstr(&b, HX_SFU_T_TRACK, track);
        put_choice(&b, c->layer);
        hx_session_post(s, &b, NULL);
    }
    if (c && c->pinned) track_command(s, HX_SFU_PIN, 1, track, NULL, HX_SFU_F_ON);
}

static json_t *track_json(const hx_participant *p, const hx_track_info *t)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", t->id, "participant", p->id, "kind",
                     t->kind, "stream", p->id, "mid", t->mid);
}

json_t *hx_room_tracks_json(const hx_room *r, const hx_participant *except)
{
    json_t *a = json_array();
    for (const hx_participant *p = r->pub_head; p; p = p->pub_next)
        for (size_t i = 0; p != except && i < p->n_tracks; i++)
            json_array_append_new(a, track_json(p, &p->tracks[i]));
    return a;
}

static void tell_others(hx_session *s, const char *type, json_t *data)
{
    hx_room_broadcast(s->p.room, &s->p, type, data);
}

static void unpublish_all(hx_session *s)
{
    for (size_t i = 0; i < s->p.n_tracks; i++) {
        hx_session_audit_track(s, "track.unpublished", &s->p.tracks[i], "closed");
        tell_others(
            s, "track.unpublished",
            json_pack("{s:{s:s, s:s}}", "track", "id", s->p.tracks[i].id, "participant", s->p.id));
    }
    s->p.n_tracks = 0;
    if (s->p.room) hx_room_tracks_changed(s->p.room, &s->p);
}

void hx_session_media_close(hx_session *s)
{
    hx_slo_media_closed(s->srv, &s->p.slo); /* the join funnel: where it stopped, unless media flowed */
    /* a resume's new offer gets these ids back (docs/protocol.md §2.4) */
    if (s->p.n_tracks && (s->prior || (s->prior = calloc(HX_MAX_TRACKS, sizeof *s->prior)))) {
        memcpy(s->prior, s->p.tracks, HX_MAX_TRACKS * sizeof *s->prior);
        s->n_prior = s->p.n_tracks;
    }
    unpublish_all(s);
    hx_session_layers_forget(s, NULL); /* new transports start with every layer sent */
    s->offer_pending = false;
    s->sub_revision = 0;
    s->sub_answered = false;
    s->media_connected = false;
    memset(s->media_stats, 0, sizeof s->media_stats);
    if (!s->media_serial) return;
    for (int role = 0; role < 2; role++) {
        uint8_t buf[128];
        hx_sfu_builder b;
        hx_sfu_build(&b, buf, sizeof buf, HX_SFU_TRANSPORT_CLOSE, transport_id(s, role));
        hx_sfu_put_cstr(&b, HX_SFU_T_REASON, s->leave_reason ? s->leave_reason : "closed");
        /* A forced disconnect: the engine's DONE for the last close times it. */
        if (role == 1 && s->kick_started_ms) hx_enforcement_stamp(&b, 'c', s->kick_started_ms);
        hx_session_post(s, &b, NULL);
    }
    char key[24];
    hx_session_media_key(s->media_serial, key);
    hx_strmap_del(&s->srv->sessions->by_media, key);
    s->media_serial = 0;
}

/* data.pc as a role index, or -1 (after answering the error). */
static int pc_role(hx_session *s, const char *id, json_t *data, int want)
{
    const char *pc = json_string_value(json_object_get(data, "pc"));
    int role = pc && !strcmp(pc, "publisher") ? 0 : pc && !strcmp(pc, "subscriber") ? 1 : -1;
    if (role < 0 || (want >= 0 && role != want)) {
        char msg[96];
        if (want >= 0)
            snprintf(msg, sizeof msg, "data.pc must be \"%s\"", roles[want]);
        else
            snprintf(msg, sizeof msg, "data.pc must be \"publisher\" or \"subscriber\"");
        hx_session_error(s, id, "bad_request", msg);
        return -1;
    }
    return role;
}

static const char *sdp_text(hx_session *s, const char *id, json_t *data)
{
    json_t *j = json_object_get(data, "sdp");
    if (!json_is_string(j) || json_string_length(j) == 0 || json_string_length(j) > MAX_SDP) {
        hx_session_error(s, id, "bad_request",
                         "data.sdp must be a non-empty string of at most 65536 bytes");
        return NULL;
    }
    return json_string_value(j);
}

static void remote_sdp(hx_session *s, const char *id, int role, const char *type, const char *sdp,
                       const char *revision)
{
    size_t cap = strlen(sdp) + 4096; /* the SDP, a few short fields, the resume hints */
    uint8_t *buf = malloc(cap);
    if (!buf) {
        hx_session_error(s, id, "internal_error", "out of memory");
        return;
    }
    hx_sfu_builder b;
    hx_sfu_build(&b, buf, cap, HX_SFU_REMOTE_SDP, transport_id(s, role));
    hx_sfu_put_cstr(&b, HX_SFU_T_SDP_TYPE, type);
    hx_sfu_put_cstr(&b, HX_SFU_T_SDP, sdp);
    if (role == 0 && s->n_prior) { /* resumed: the tracks come back under their ids (§2.4) */
        char hints[HX_MAX_TRACKS * (32 + HX_TRACK_ID_LEN + 2)];
        size_t n = 0;
        for (size_t i = 0; i < s->n_prior; i++)
            n += (size_t)snprintf(hints + n, sizeof hints - n, "%s%s:%s", i ? "," : "",
                                  s->prior[i].mid, s->prior[i].id);
        hx_sfu_put_str(&b, HX_SFU_T_TRACK, hints, n);
    }
    if (revision) hx_sfu_put_cstr(&b, HX_SFU_T_REVISION, revision);
    hx_sfu_put_cstr(&b, HX_SFU_T_REQUEST, id ? id : "");
    bool posted = hx_session_post(s, &b, id ? id : "");
    if (role == 0) { /* DESIGN §8: the client's offer, answered or failed by the server */
        hx_slo_offer(s->srv, roles[0]);
        if (posted)
            hx_slo_media_negotiating(s->srv, &s->p.slo);
        else
            hx_slo_offer_failed(s->srv, roles[0], "engine_unavailable");
    }
    if (posted && role == 0) {
        s->offer_pending = true;
        snprintf(s->offer_id, sizeof s->offer_id, "%s", id ? id : "");
    }
    free(buf);
}

static void on_offer(hx_session *s, const char *id, json_t *data)
{
    if (pc_role(s, id, data, 0) < 0) return;
    const char *sdp = sdp_text(s, id, data);
    if (!sdp) return;
    if (!(s->p.grants & (HX_GRANT_PUBLISH | HX_GRANT_DATA))) {
        hx_session_error(s, id, "not_allowed", "this session may not publish");
        return;
    }
    if (hx_sanctions_publish_block(&s->srv->sanctions, s->p.room->name, s->p.user, s->p.device, hx_now_ms())) {
        hx_session_error(s, id, "timed_out", "timed out by a moderator: listening only until it ends");
        return;
    }
    if (s->offer_pending) {
        hx_session_error(s, id, "negotiation_in_progress",
                         "wait for the answer to the previous offer");
        return;
    }
    remote_sdp(s, id, 0, "offer", sdp, NULL);
}

static void on_answer(hx_session *s, const char *id, json_t *data)
{
    if (pc_role(s, id, data, 1) < 0) return;
    /* {"error": "..."} instead of "sdp": the client could not apply the offer (§2.2). */
    json_t *je = json_object_get(data, "error");
    if (je && (!json_is_string(je) || json_string_length(je) > 512)) {
        hx_session_error(s, id, "bad_request", "data.error must be a string of at most 512 bytes");
        return;
    }
    const char *sdp = je ? "" : sdp_text(s, id, data);
    if (!sdp) return;
    json_t *jr = json_object_get(data, "revision");
    if (!json_is_integer(jr) || json_integer_value(jr) != s->sub_revision || s->sub_answered) {
        char msg[96];
        snprintf(msg, sizeof msg,
                 "no subscriber offer with that revision awaits an answer (current: %ld)",
                 s->sub_revision);
        hx_session_error(s, id, "bad_request", msg);
        return;
    }
    char rev[24];
    snprintf(rev, sizeof rev, "%ld", s->sub_revision);
    s->sub_answered = true;
    if (je) {
        uint8_t buf[1024];
        hx_sfu_builder b;
        hx_sfu_build(&b, buf, sizeof buf, HX_SFU_REMOTE_SDP, transport_id(s, 1));
        hx_sfu_put_cstr(&b, HX_SFU_T_SDP_TYPE, "refusal");
        hx_sfu_put_str(&b, HX_SFU_T_REASON, json_string_value(je), json_string_length(je));
        hx_sfu_put_cstr(&b, HX_SFU_T_REVISION, rev);
        hx_sfu_put_cstr(&b, HX_SFU_T_REQUEST, id ? id : "");
        hx_session_post(s, &b, id ? id : "");
        return;
    }
    remote_sdp(s, id, 1, "answer", sdp, rev);
}

static void on_candidate(hx_session *s, const char *id, json_t *data)
{
    int role = pc_role(s, id, data, -1);
    if (role < 0) return;
    json_t *c = json_object_get(data, "candidate");
    if (!json_is_string(c) || json_string_length(c) > MAX_CANDIDATE) {
        hx_session_error(s, id, "bad_request",
                         "data.candidate must be a string (\"\" ends the candidates)");
        return;
    }
    uint8_t buf[MAX_CANDIDATE + 256];
    hx_sfu_builder b;
    hx_sfu_build(&b, buf, sizeof buf, HX_SFU_REMOTE_CANDIDATE, transport_id(s, role));
    hx_sfu_put_str(&b, HX_SFU_T_CANDIDATE, json_string_value(c), json_string_length(c));
    const char *mid = json_string_value(json_object_get(data, "sdp_mid"));
    if (mid && strlen(mid) < 32) hx_sfu_put_cstr(&b, HX_SFU_T_MID, mid);
    hx_sfu_put_cstr(&b, HX_SFU_T_REQUEST, id ? id : "");
    hx_session_post(s, &b, id ? id : "");
}

/* A track id published by someone else in the room, or NULL (after the error). */
const char *hx_session_other_track(const hx_session *s, const char *id, size_t len)
{
    for (hx_participant *o = s->p.room ? s->p.room->pub_head : NULL; o; o = o->pub_next)
        for (size_t i = 0; o != &s->p && i < o->n_tracks; i++)
            if (strlen(o->tracks[i].id) == len && !memcmp(o->tracks[i].id, id, len))
                return o->tracks[i].id;
    return NULL;
}

static const char *other_track(hx_session *s, const char *id, json_t *data)
{
    const char *t = json_string_value(json_object_get(data, "track"));
    if (!t) {
        hx_session_error(s, id, "bad_request", "data.track must be a track id");
        return NULL;
    }
    const char *found = hx_session_other_track(s, t, strlen(t));
    if (!found) hx_session_error(s, id, "unknown_track", "no such track in this room");
    return found;
}

void hx_session_media_request(hx_session *s, int kind, const char *id, json_t *data)
{
    if (!s->media_serial) {
        hx_session_error(s, id, s->srv->sfu_post ? "not_allowed" : "media_unavailable",
                         s->srv->sfu_post ? "this session has no media grants"
                                          : "this server has no media engine");
        return;
    }
    switch (kind) {
    case HX_MSG_SDP_OFFER:
        on_offer(s, id, data);
        return;
    case HX_MSG_SDP_ANSWER:
        on_answer(s, id, data);
        return;
    case HX_MSG_ICE_CANDIDATE:
        on_candidate(s, id, data);
        return;
    case HX_MSG_ICE_RESTART: /* the subscriber's; a publisher offers new credentials itself */
        if (pc_role(s, id, data, 1) < 0) return;
        uint8_t buf[256];
        hx_sfu_builder b;
        hx_sfu_build(&b, buf, sizeof buf, HX_SFU_ICE_RESTART, transport_id(s, 1));
        hx_sfu_put_cstr(&b, HX_SFU_T_REQUEST, id ? id : "");
        hx_session_post(s, &b, id ? id : "");
        return;
    }
    if (!(s->p.grants & HX_GRANT_SUBSCRIBE)) {
        hx_session_error(s, id, "not_allowed", "this session may not subscribe");
        return;
    }
    const char *t = other_track(s, id, data);
    if (!t) return;
    if (kind == HX_MSG_TRACK_PIN) { /* served first by the downlink (docs/protocol.md §2.8) */
        json_t *jp = json_object_get(data, "pinned");
        if (!json_is_boolean(jp)) {
            hx_session_error(s, id, "bad_request", "data.pinned must be true or false");
            return;
        }
        if (track_command(s, HX_SFU_PIN, 1, t, id ? id : "", json_is_true(jp) ? HX_SFU_F_ON : 0))
            hx_session_pin_note(s, t, json_is_true(jp));
        return;
    }
    static const struct {
        int msg;
        hx_sfu_kind cmd;
    } map[] = {
        {HX_MSG_TRACK_SUBSCRIBE, HX_SFU_SUBSCRIBE}, {HX_MSG_TRACK_UNSUBSCRIBE, HX_SFU_UNSUBSCRIBE},
        {HX_MSG_TRACK_PAUSE, HX_SFU_PAUSE},         {HX_MSG_TRACK_RESUME, HX_SFU_RESUME},
        {HX_MSG_TRACK_LAYER, HX_SFU_SET_LAYER},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        if (map[i].msg != kind) continue;
        if (kind != HX_MSG_TRACK_LAYER) {
            if (track_command(s, map[i].cmd, 1, t, id ? id : "", 0) &&
                (kind == HX_MSG_TRACK_SUBSCRIBE || kind == HX_MSG_TRACK_UNSUBSCRIBE))
                hx_session_sub_note(s, t, kind == HX_MSG_TRACK_SUBSCRIBE, NULL);
            return;
        }
        /* A rid, or a size: the smallest layer at least that large (docs/protocol.md §2.8). */
        char choice[24];
        const char *rid = json_string_value(json_object_get(data, "rid"));
        json_t *w = json_object_get(data, "width"), *h = json_object_get(data, "height");
        if (w || h) {
            if (!json_is_integer(w) || !json_is_integer(h) || json_integer_value(w) < 1 ||
                json_integer_value(w) > 16384 || json_integer_value(h) < 1 ||
                json_integer_value(h) > 16384 || rid) {
                hx_session_error(s, id, "bad_request",
                                 "data.width and data.height must be pixels (1..16384), "
                                 "without data.rid");
                return;
            }
            snprintf(choice, sizeof choice, "@%dx%d", (int)json_integer_value(w),
                     (int)json_integer_value(h));
        } else if (!rid || strlen(rid) > 16) {
            hx_session_error(s, id, "bad_request", "data.rid must name a layer (q, h or f)");
            return;
        } else {
            snprintf(choice, sizeof choice, "%s", rid);
        }
        uint8_t buf[256];
        hx_sfu_builder b;
        hx_sfu_build(&b, buf, sizeof buf, HX_SFU_SET_LAYER, transport_id(s, 1));
        hx_sfu_put_cstr(&b, HX_SFU_T_TRACK, t);
        put_choice(&b, choice);
        hx_sfu_put_cstr(&b, HX_SFU_T_REQUEST, id ? id : "");
        if (hx_session_post(s, &b, id ? id : "")) hx_session_sub_note(s, t, -1, choice);
        return;
    }
}
