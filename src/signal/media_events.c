/*
 * Engine events (sfu/sfu.h) back to clients: answers and subscriber
 * offers, candidates, transport states, tracks coming and going, and the
 * completion or refusal of requests. hx_signal_engine_event routes an event
 * by its transport id to the session that owns the transport; an event for
 * a transport whose session is gone is dropped (the session closed the
 * transport itself on its way out). Active speakers are the room's, not one
 * session's: they go by room name to signal/speakers.c. The layers a simulcast
 * publisher should send are its own: they go to its session (signal/layers.c).
 */
#include "signal/registry.h"
#include "core/metric_names.h"

#include "common/clock.h"
#include "core/slo.h"
#include "sfu/workers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const roles[2] = {"publisher", "subscriber"};

static json_t *field_json(const hx_sfu_msg *m, hx_sfu_tag tag)
{
    return json_stringn(m->f[tag].p ? m->f[tag].p : "", m->f[tag].len);
}

/* The request id echoed by the engine ("" when the client gave none: reply without id). */
static const char *request_id(const hx_sfu_msg *m, char buf[HX_ENVELOPE_MAX_ID + 1], bool *has)
{
    *has = hx_sfu_has(m, HX_SFU_T_REQUEST);
    hx_sfu_field_copy(m, HX_SFU_T_REQUEST, buf, HX_ENVELOPE_MAX_ID + 1);
    return buf[0] ? buf : NULL;
}

void hx_session_audit_track(hx_session *s, const char *kind, const hx_track_info *t,
                            const char *reason)
{
    json_t *d = json_pack("{s:s, s:s, s:s, s:s}", "participant", s->p.id, "track", t->id, "kind",
                          t->kind, "mid", t->mid);
    char *detail = d ? json_dumps(d, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(d);
    hx_server_audit_relaxed(s->srv, kind, s->p.room ? s->p.room->name : NULL, s->p.user,
                            s->p.device, s->p.sid, reason, detail);
    free(detail);
}

static void track_published(hx_session *s, const hx_sfu_msg *m)
{
    if (!s->p.room || s->p.n_tracks >= HX_MAX_TRACKS || !hx_participant_tracks(&s->p)) return;
    hx_track_info *t = &s->p.tracks[s->p.n_tracks];
    memset(t, 0, sizeof *t);
    hx_sfu_field_copy(m, HX_SFU_T_TRACK, t->id, sizeof t->id);
    hx_sfu_field_copy(m, HX_SFU_T_MEDIA_KIND, t->kind, sizeof t->kind);
    hx_sfu_field_copy(m, HX_SFU_T_MID, t->mid, sizeof t->mid);
    if (!t->id[0]) return;
    s->p.n_tracks++;
    hx_room_tracks_changed(s->p.room, &s->p);
    for (size_t i = 0; i < s->n_prior; i++) /* resumed: a moderator's mute holds (§2.4) */
        if (!strcmp(s->prior[i].id, t->id) && s->prior[i].muted) {
            t->muted = true;
            hx_session_post_mute(s, t, hx_mono_ms());
        }
    hx_session_persist(s); /* what a restart must know */
    if (hx_sanctions_publish_block(&s->srv->sanctions, s->p.room->name, s->p.user, s->p.device, hx_now_ms()))
        hx_session_hold_tracks(s, true, hx_mono_ms()); /* offered before the timeout, published after */
    json_t *ev = json_pack("{s:{s:s, s:s, s:s, s:s, s:s}}", "track", "id", t->id, "participant",
                           s->p.id, "kind", t->kind, "stream", s->p.id, "mid", t->mid);
    hx_room_broadcast(s->p.room, &s->p, "track.published", ev);
    hx_session_audit_track(s, "track.published", t, NULL);
    hx_metrics_add(&s->srv->metrics, HX_M_TRACKS_PUBLISHED_TOTAL,
                   "kind", t->kind, 1);
    for (hx_participant *o = s->p.room->head; o; o = o->next)
        if (o != &s->p) hx_session_media_auto_subscribe(o->owner, t->id);
}

static void track_closed(hx_session *s, const hx_sfu_msg *m)
{
    char id[HX_TRACK_ID_LEN], reason[96];
    hx_sfu_field_copy(m, HX_SFU_T_TRACK, id, sizeof id);
    hx_sfu_field_copy(m, HX_SFU_T_REASON, reason, sizeof reason);
    for (size_t i = 0; i < s->p.n_tracks; i++) {
        if (strcmp(s->p.tracks[i].id, id) != 0) continue;
        hx_session_layers_forget(s, id);
        hx_session_audit_track(s, "track.unpublished", &s->p.tracks[i],
                               reason[0] ? reason : "unpublished");
        memmove(&s->p.tracks[i], &s->p.tracks[i + 1],
                (s->p.n_tracks - i - 1) * sizeof s->p.tracks[0]);
        s->p.n_tracks--;
        if (s->p.room) hx_room_tracks_changed(s->p.room, &s->p);
        if (s->p.room && s->state == HX_SESSION_JOINED) hx_session_persist(s);
        json_t *ev = json_pack("{s:{s:s, s:s}, s:s}", "track", "id", id, "participant", s->p.id,
                               "reason", reason[0] ? reason : "unpublished");
        hx_room_broadcast(s->p.room, &s->p, "track.unpublished", ev);
        if (strcmp(reason, "unpublished") != 0 && reason[0])
            hx_log(&s->srv->log, HX_LOG_WARN, "track.withdrawn", "room", s->p.room->name,
                   "participant", s->p.id, "track", id, "reason", reason, NULL);
        return;
    }
}

static void local_sdp(hx_session *s, int role, const hx_sfu_msg *m)
{
    if (role == 0) { /* the answer to the client's publisher offer */
        if (!s->offer_pending) return;
        s->offer_pending = false;
        hx_session_send(
            s, "ack", s->offer_id[0] ? s->offer_id : NULL,
            json_pack("{s:s, s:o}", "type", "answer", "sdp", field_json(m, HX_SFU_T_SDP)));
        return;
    }
    char rev[24];
    hx_sfu_field_copy(m, HX_SFU_T_REVISION, rev, sizeof rev);
    long r = strtol(rev, NULL, 10);
    s->sub_revision = r > s->sub_revision ? r : s->sub_revision + 1;
    s->sub_answered = false;
    hx_slo_offer(s->srv, roles[1]);
    hx_slo_media_negotiating(s->srv, &s->p.slo);
    hx_session_send(s, "sdp.offer", NULL,
                    json_pack("{s:s, s:o, s:I}", "pc", roles[1], "sdp", field_json(m, HX_SFU_T_SDP),
                              "revision", (json_int_t)s->sub_revision));
}

/* A negotiation on pc failed: one log line, an audit event, a counter. */
static void negotiation_failure(hx_session *s, int role, const char *code, const char *reason,
                                const char *revision, bool final)
{
    hx_server *srv = s->srv;
    const char *room = s->p.room ? s->p.room->name : NULL;
    /* One line in the normal log, with the reason (never the SDP). */
    hx_log(&srv->log, HX_LOG_WARN, "negotiation.failed", "room", room, "participant", s->p.id,
           "pc", roles[role], "code", code, "revision", revision, "reason", reason, "final",
           final ? "true" : "false", NULL);
    /* DESIGN §6: audited with the code and reason, never the SDP. */
    json_t *d = json_pack("{s:s, s:s, s:b}", "pc", roles[role], "reason", reason, "final", final);
    if (revision) json_object_set_new(d, "revision", json_string(revision));
    char *detail = json_dumps(d, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(d);
    hx_server_audit(srv, "negotiation.failure", room, s->p.user, s->p.device, s->p.sid, code,
                    detail);
    free(detail);
    hx_metrics_add(&srv->metrics, HX_M_NEGOTIATION_FAILURES_TOTAL, "code", code, 1);
}

static void engine_error(hx_session *s, int role, const hx_sfu_msg *m)
{
    char code[48], reason[256], idbuf[HX_ENVELOPE_MAX_ID + 1];
    bool has;
    const char *id = request_id(m, idbuf, &has);
    hx_sfu_field_copy(m, HX_SFU_T_CODE, code, sizeof code);
    hx_sfu_field_copy(m, HX_SFU_T_REASON, reason, sizeof reason);
    if (!code[0]) snprintf(code, sizeof code, "internal_error");
    if (role == 0 && s->offer_pending && (!has || !strcmp(idbuf, s->offer_id))) {
        s->offer_pending = false;
        hx_slo_offer_failed(s->srv, roles[0], code); /* the client's offer: no answer */
    }
    if (role == 1 && !has && !strcmp(code, "negotiation_failed")) {
        hx_slo_offer(s->srv, roles[1]); /* a subscriber offer that could not be built */
        hx_slo_offer_failed(s->srv, roles[1], code);
    }
    if (role == 1 && !strcmp(code, "bad_sdp"))
        s->sub_answered = false; /* the client may answer again */
    hx_session_error(s, id, code, reason[0] ? reason : code);
    if (!strcmp(code, "bad_sdp") || !strcmp(code, "negotiation_failed"))
        negotiation_failure(s, role, code, reason[0] ? reason : code, NULL, false);
}


/* The engine gave up on the subscriber offer, or rolled back and offers again. */
static void negotiation_failed(hx_session *s, int role, const hx_sfu_msg *m)
{
    char code[48], reason[256], rev[24];
    hx_sfu_field_copy(m, HX_SFU_T_CODE, code, sizeof code);
    hx_sfu_field_copy(m, HX_SFU_T_REASON, reason, sizeof reason);
    hx_sfu_field_copy(m, HX_SFU_T_REVISION, rev, sizeof rev);
    bool final = (m->flags & HX_SFU_F_FINAL) != 0;
    s->sub_answered = true; /* that revision awaits nothing any more */
    negotiation_failure(s, role, code, reason, rev, final);
    hx_slo_offer_failed(s->srv, roles[role], code); /* offer_refused, answer_timeout */
    if (final) {
        hx_metrics_inc(&s->srv->metrics, HX_M_NEGOTIATION_REJOINS_TOTAL);
        hx_session_kick(s, "negotiation_failed", HX_CLOSE_NEGOTIATION,
                        "the subscriber connection could not be renegotiated: rejoin");
    }
}

/* The round trip and jitter measurements of EV_STATS (sfu.h), one observation per report. */
static void media_measures(hx_metrics *mx, const hx_sfu_msg *m)
{
    static const double bounds[] = HX_M_MEDIA_MEASURE_BOUNDS;
    static const struct {
        int stat;
        const char *name, *help;
    } h[] = {
        {HX_SFU_S_RTT_US, HX_M_MEDIA_RTT_SECONDS},
        {HX_SFU_S_JITTER_IN_US, HX_M_MEDIA_JITTER_SECONDS},
        {HX_SFU_S_JITTER_OUT_US, HX_M_MEDIA_SUBSCRIBER_JITTER_SECONDS},
    };
    for (size_t i = 0; i < sizeof h / sizeof h[0]; i++)
        if (m->stats[h[i].stat] != HX_SFU_UNKNOWN)
            hx_metrics_observe(mx, h[i].name, h[i].help, bounds, sizeof bounds / sizeof bounds[0],
                               (double)m->stats[h[i].stat] / 1e6);
}

/* Engine counters are cumulative per transport: add what changed to the server's metrics. */
static void media_stats(hx_session *s, int role, const hx_sfu_msg *m)
{
    static const struct {
        const char *name, *help, *reason;
    } names[HX_SFU_STATS_N] = {
        [HX_SFU_S_PACKETS_IN] = {HX_M_MEDIA_PACKETS_RECEIVED_TOTAL, NULL},
        [HX_SFU_S_BYTES_IN] = {HX_M_MEDIA_BYTES_RECEIVED_TOTAL, NULL},
        [HX_SFU_S_PACKETS_OUT] = {HX_M_MEDIA_PACKETS_SENT_TOTAL, NULL},
        [HX_SFU_S_BYTES_OUT] = {HX_M_MEDIA_BYTES_SENT_TOTAL, NULL},
        [HX_SFU_S_LOST] = {HX_M_MEDIA_PACKETS_LOST_TOTAL, NULL},
        [HX_SFU_S_NACKS] = {HX_M_MEDIA_NACKS_TOTAL, NULL},
        [HX_SFU_S_PLIS] = {HX_M_MEDIA_KEYFRAME_REQUESTS_TOTAL, NULL},
        [HX_SFU_S_DROPPED_SRTP] = {HX_M_MEDIA_PACKETS_DROPPED_TOTAL, "srtp_auth"},
        [HX_SFU_S_DROPPED_LIMIT] = {HX_M_MEDIA_PACKETS_DROPPED_TOTAL, "rate_limit"},
    };
    media_measures(&s->srv->metrics, m);
    /* With several media workers, what each forwards (docs/scaling.md: do they share the load) */
    hx_workers *w = s->srv->workers;
    int worker = w && w->n > 1 ? hx_workers_of_transport(w, m->transport) : -1;
    for (int i = 0; i < HX_SFU_STATS_N; i++) {
        uint64_t prev = s->media_stats[role][i], now = m->stats[i];
        if (!names[i].name) continue; /* a measurement, not a counter */
        if (now > prev)
            hx_metrics_add(&s->srv->metrics, names[i].name, names[i].help,
                           names[i].reason ? "reason" : NULL, names[i].reason,
                           (double)(now - prev));
        if (now > prev && worker >= 0 && i == HX_SFU_S_PACKETS_OUT) {
            char label[16];
            snprintf(label, sizeof label, "%d", worker);
            hx_metrics_add(&s->srv->metrics, HX_M_WORKER_PACKETS_SENT_TOTAL, "worker",
                           label, (double)(now - prev));
        }
        s->media_stats[role][i] = now;
    }
}

void hx_session_engine_event(hx_session *s, int role, const hx_sfu_msg *m)
{
    if (s->state == HX_SESSION_CLOSING) return;
    char idbuf[HX_ENVELOPE_MAX_ID + 1];
    bool has;
    switch (m->kind) {
    case HX_SFU_EV_LOCAL_SDP:
        local_sdp(s, role, m);
        return;
    case HX_SFU_EV_LOCAL_CANDIDATE:
        hx_session_send(s, "ice.candidate", NULL,
                        json_pack("{s:s, s:o, s:o}", "pc", roles[role], "candidate",
                                  field_json(m, HX_SFU_T_CANDIDATE), "sdp_mid",
                                  field_json(m, HX_SFU_T_MID)));
        return;
    case HX_SFU_EV_STATE: {
        if (hx_sfu_field_is(m, HX_SFU_T_STATE, "failed") ||
            hx_sfu_field_is(m, HX_SFU_T_STATE, "disconnected")) {
            char st[16], why[128];
            hx_sfu_field_copy(m, HX_SFU_T_STATE, st, sizeof st);
            hx_sfu_field_copy(m, HX_SFU_T_REASON, why, sizeof why);
            hx_log(&s->srv->log, HX_LOG_WARN, "media.transport", "room",
                   s->p.room ? s->p.room->name : NULL, "participant", s->p.id, "pc", roles[role],
                   "state", st, "reason", why, NULL);
            if (!strcmp(st, "failed")) hx_slo_media_failed(s->srv, &s->p.slo, why);
        }
        if (hx_sfu_field_is(m, HX_SFU_T_STATE, "connected"))
            hx_slo_media_reached(s->srv, &s->p.slo, "dtls_connected"); /* ICE and DTLS up */
        json_t *d =
            json_pack("{s:s, s:o}", "pc", roles[role], "state", field_json(m, HX_SFU_T_STATE));
        if (hx_sfu_has(m, HX_SFU_T_REASON))
            json_object_set_new(d, "reason", field_json(m, HX_SFU_T_REASON));
        hx_session_send(s, "media.state", NULL, d);
        if (!s->media_connected && hx_sfu_field_is(m, HX_SFU_T_STATE, "connected")) {
            /* DESIGN §8, join success: from transports opened (join) to media connected. */
            static const double bounds[] = HX_M_JOIN_MEDIA_BOUNDS;
            s->media_connected = true;
            hx_metrics_observe(&s->srv->metrics, HX_M_JOIN_MEDIA_SECONDS, bounds,
                               sizeof bounds / sizeof bounds[0],
                               (double)(hx_mono_ms() - s->media_opened_ms) / 1000.0);
        }
        char st[16];
        hx_metrics_add(&s->srv->metrics, HX_M_TRANSPORT_STATES_TOTAL, "state",
                       hx_sfu_field_copy(m, HX_SFU_T_STATE, st, sizeof st), 1);
        return;
    }
    case HX_SFU_EV_TRACK_PUBLISHED:
        track_published(s, m);
        return;
    case HX_SFU_EV_TRACK_CLOSED:
        track_closed(s, m);
        return;
    case HX_SFU_EV_DONE: {
        const char *id = request_id(m, idbuf, &has);
        hx_session_send(s, "ack", id, NULL);
        return;
    }
    case HX_SFU_EV_ERROR:
        engine_error(s, role, m);
        return;
    case HX_SFU_EV_STATS:
        media_stats(s, role, m);
        return;
    case HX_SFU_EV_NEGOTIATION_FAILED:
        negotiation_failed(s, role, m);
        return;
    case HX_SFU_EV_MILESTONE: { /* "ice_connected", "first_media": the join funnel's */
        char st[16];
        hx_slo_media_reached(s->srv, &s->p.slo, hx_sfu_field_copy(m, HX_SFU_T_STATE, st, sizeof st));
        return;
    }
    case HX_SFU_EV_LAYERS: /* on the publisher's transport: its own tracks */
        if (role == 0) hx_session_layers(s, m);
        return;
    case HX_SFU_EV_RECEIVING: /* on the subscriber's transport: others' tracks */
        if (role == 1) hx_session_receiving(s, m);
        return;
    default: /* keyframe requests: the engine counts them in its stats; speakers: by room */
        return;
    }
}

void hx_signal_engine_event(void *server, const uint8_t *msg, size_t len)
{
    hx_server *srv = server;
    hx_sfu_msg m;
    const char *why;
    if (hx_sfu_parse(msg, len, &m, &why) != 0) {
        hx_log(&srv->log, HX_LOG_ERROR, "engine.bad_event", "why", why, NULL);
        return;
    }
    if (hx_signal_enforcement_done(srv, &m)) return;
    if (m.kind == HX_SFU_EV_SPEAKERS) { /* the room's, whichever publisher carried it */
        hx_signal_speakers(srv, &m);
        return;
    }
    char key[24];
    hx_session_media_key(m.transport / 2, key);
    hx_session *s = hx_strmap_get(&srv->sessions->by_media, key);
    if (s) hx_session_engine_event(s, (int)(m.transport & 1), &m);
}
