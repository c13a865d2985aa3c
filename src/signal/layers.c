/*
 * Layers nobody watches, told to their publisher (issue 12, LiveKit's "dynacast"; docs/
 * protocol.md §2.7). The engine knows which simulcast layers of a track its subscribers could
 * want (sfu/dynacast.c) and emits EV_LAYERS on the publisher's transport when that set changes:
 * the track, its mid in the publisher's SDP, and the rids to keep sending ("q" or "q,h,f").
 * The publisher alone (not the room) gets
 *
 *     track.layers {"track": "TR_...", "mid": "1", "active": ["q", "h"]}
 *
 * and pauses the encodings it does not name (RTCRtpEncodingParameters.active = false), so
 * hearth receives no bytes on them, until a later `track.layers` names them again. A client that
 * ignores it keeps sending every layer: nothing breaks, it only costs its uplink and hearth's.
 *
 * The session keeps the last list told for each of its tracks (hx_session.layers: a slot per
 * track, HX_MAX_TRACKS of them, so a track of its own always finds one). A resume that keeps the
 * PeerConnections tells them again after its result, in case the connection dropped with one on
 * its way; transports that close forget them all, since new ones start with every layer sent,
 * as does a client's new publisher PC. A list longer than HX_LAYERS_LIST_MAX (rids far longer
 * than anyone uses) is not told: that client keeps sending all.
 *
 * The engine is trusted, but its list is still checked (the mid against the track's, every rid
 * against RFC 8851's grammar) before a client is told to stop sending something.
 */
#include "signal/session.h"
#include "core/metric_names.h"

#include <stdio.h>
#include <string.h>

bool hx_rid_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

json_t *hx_layers_json(const char *track, const char *mid, const char *list, size_t len)
{
    if (!list || !len) return NULL; /* the engine always keeps the lowest layer */
    json_t *active = json_array();
    if (!active) return NULL;
    for (size_t i = 0; i <= len;) {
        size_t l = 0;
        while (i + l < len && hx_rid_char(list[i + l]))
            l++;
        bool ends = i + l == len || list[i + l] == ',';
        if (!l || !ends || json_array_append_new(active, json_stringn(list + i, l))) {
            json_decref(active);
            return NULL;
        }
        i += l + 1;
    }
    return json_pack("{s:s, s:s, s:o}", "track", track, "mid", mid, "active", active);
}

static const hx_track_info *own_track(const hx_session *s, const hx_sfu_str *id)
{
    for (size_t i = 0; i < s->p.n_tracks; i++)
        if (strlen(s->p.tracks[i].id) == id->len && !memcmp(s->p.tracks[i].id, id->p, id->len))
            return &s->p.tracks[i];
    return NULL;
}

static hx_layers_note *note_of(hx_session *s, const char *track)
{
    hx_layers_note *free_slot = NULL;
    if (!s->layers && !(s->layers = calloc(HX_MAX_TRACKS, sizeof *s->layers))) return NULL;
    for (size_t i = 0; i < HX_MAX_TRACKS; i++) {
        if (!strcmp(s->layers[i].track, track)) return &s->layers[i];
        if (!free_slot && !s->layers[i].track[0]) free_slot = &s->layers[i];
    }
    return free_slot;
}

static void bad_event(hx_session *s, const char *why)
{
    hx_log(&s->srv->log, HX_LOG_ERROR, "engine.bad_event", "why", why, "participant", s->p.id,
           NULL);
}

void hx_session_layers(hx_session *s, const hx_sfu_msg *m)
{
    const hx_sfu_str *list = &m->f[HX_SFU_T_LAYERS], *mid = &m->f[HX_SFU_T_MID];
    const hx_track_info *t = s->p.room ? own_track(s, &m->f[HX_SFU_T_TRACK]) : NULL;
    if (!t) return; /* closed meanwhile, or more tracks than the room keeps */
    if (hx_sfu_has(m, HX_SFU_T_MID) &&
        (mid->len != strlen(t->mid) || (mid->len && memcmp(mid->p, t->mid, mid->len)))) {
        bad_event(s, "layers for a track under another mid");
        return;
    }
    if (list->len >= HX_LAYERS_LIST_MAX) {
        bad_event(s, "layer list too long");
        return;
    }
    json_t *data = hx_layers_json(t->id, t->mid, list->p, list->len);
    hx_layers_note *n = note_of(s, t->id);
    if (!data || !n) { /* a slot per track: none free only if the engine names tracks twice */
        bad_event(s, data ? "no room to keep the layers (or out of memory)" : "malformed layer list");
        json_decref(data);
        return;
    }
    snprintf(n->track, sizeof n->track, "%s", t->id);
    memcpy(n->list, list->p, list->len);
    n->list[list->len] = '\0';
    hx_metrics_inc(&s->srv->metrics, HX_M_LAYER_CHANGES_TOTAL);
    hx_session_send(s, "track.layers", NULL, data);
}

void hx_session_send_layers(hx_session *s)
{
    for (size_t i = 0; s->layers && i < s->p.n_tracks; i++) {
        const hx_track_info *t = &s->p.tracks[i];
        for (size_t k = 0; k < HX_MAX_TRACKS; k++) {
            const hx_layers_note *n = &s->layers[k];
            if (!n->track[0] || strcmp(n->track, t->id) != 0) continue;
            json_t *data = hx_layers_json(t->id, t->mid, n->list, strlen(n->list));
            if (data) hx_session_send(s, "track.layers", NULL, data);
            break;
        }
    }
}

void hx_session_layers_forget(hx_session *s, const char *track)
{
    for (size_t i = 0; s->layers && i < HX_MAX_TRACKS; i++)
        if (!track || !strcmp(s->layers[i].track, track))
            memset(&s->layers[i], 0, sizeof s->layers[i]);
}
