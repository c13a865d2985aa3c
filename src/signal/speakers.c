/*
 * Active speakers, told to the room (issue 12; docs/protocol.md §2.6). The engine decides who
 * speaks from the RFC 6464 audio levels its publishers send (adapt/speaker.h) and emits
 * EV_SPEAKERS (sfu/sfu.h) when the set or its order changes: the room's name and a list
 * "TRACK:LEVEL,TRACK:LEVEL", loudest first, LEVEL 0-100, "" when nobody speaks any more.
 * Clients want people, not tracks: each track becomes the participant that publishes it, and
 * every member of the room, the speakers too, gets
 *
 *     room.speakers {"speakers": [{"participant": "p_...", "track": "TR_...", "level": 0.82}]}
 *
 * as a room event (signal/fanout.c): encoded once for the whole room, in order with the
 * track.published that named the track, and in a batch for the clients that asked (§2.5), but
 * a prompt one: it goes at the end of the loop turn, not after the batch's 100 ms hold, since
 * the detector's decision already takes 0.5-0.8 s and a highlight that lags looks wrong. A
 * room gets a list once per detector interval (500 ms by default) at most, and when a speaker's
 * track goes away.
 *
 * The event is routed by its room, not by the transport that carried it: that transport is any
 * publisher of the room, and its session may be on its way out while the room lives on.
 *
 * The room keeps the engine's last list (hx_room.speakers) so a client that joins or resumes
 * while someone speaks is told at once (hx_session_send_speakers), not at the next change. Tracks
 * are mapped to participants when a message is built, from the tracks the room's publishers
 * have now; a track no one publishes any more (closed since the engine decided) is left out.
 * The map walks the publishers' audio tracks once per message against the list (at most
 * HX_SPEAKERS_MAX items, and in practice a few).
 */
#include "signal/registry.h"
#include "core/metric_names.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One item of the engine's list. */
typedef struct item {
    const char *track;
    size_t len;
    int level;                 /* 0-100 */
    const hx_participant *who; /* NULL until mapped */
} item;

/* Split "TRACK:LEVEL,..." into items; malformed ones (and those past cap) are counted out. */
static size_t parse_list(const char *list, size_t len, item *out, size_t cap, size_t *bad)
{
    size_t n = 0;
    for (size_t i = 0; i < len;) {
        const char *s = list + i, *comma = memchr(s, ',', len - i);
        size_t l = comma ? (size_t)(comma - s) : len - i;
        i += l + 1;
        const char *colon = NULL;
        for (size_t k = l; k-- > 0;)
            if (s[k] == ':') {
                colon = s + k;
                break;
            }
        size_t tl = colon ? (size_t)(colon - s) : 0, dl = colon ? l - tl - 1 : 0;
        int level = dl ? 0 : -1;
        for (size_t k = 0; k < dl && k < 4 && level >= 0; k++) {
            char c = colon[1 + k];
            level = c >= '0' && c <= '9' ? level * 10 + (c - '0') : -1;
        }
        if (!tl || tl >= HX_TRACK_ID_LEN || dl > 3 || level < 0 || level > 100 || n == cap) {
            (*bad)++;
            continue;
        }
        out[n++] = (item){s, tl, level, NULL};
    }
    return n;
}

/* Each item's publisher, from the audio tracks the room's publishers have now. */
static void map_tracks(const hx_room *r, item *it, size_t n)
{
    size_t left = n;
    for (const hx_participant *p = r->pub_head; p && left; p = p->pub_next)
        for (size_t t = 0; t < p->n_tracks && left; t++) {
            const hx_track_info *ti = &p->tracks[t];
            if (strcmp(ti->kind, "audio") != 0) continue;
            size_t tl = strlen(ti->id);
            for (size_t i = 0; i < n; i++)
                if (!it[i].who && it[i].len == tl && !memcmp(it[i].track, ti->id, tl)) {
                    it[i].who = p;
                    left--;
                    break;
                }
        }
}

json_t *hx_speakers_json(const hx_room *r, const char *list, size_t len, size_t *dropped)
{
    item it[HX_SPEAKERS_MAX];
    size_t bad = 0, n = parse_list(list ? list : "", list ? len : 0, it, HX_SPEAKERS_MAX, &bad);
    if (r) map_tracks(r, it, n);
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++) {
        if (!it[i].who) {
            bad++;
            continue;
        }
        json_t *e = json_pack("{s:s, s:s%, s:f}", "participant", it[i].who->id, "track",
                              it[i].track, it[i].len, "level", it[i].level / 100.0);
        if (!e || json_array_append_new(arr, e)) {
            json_decref(arr);
            arr = NULL;
        }
    }
    if (dropped) *dropped = bad;
    return arr ? json_pack("{s:o}", "speakers", arr) : NULL;
}

void hx_signal_speakers(hx_server *srv, const hx_sfu_msg *m)
{
    const hx_sfu_str *room = &m->f[HX_SFU_T_ROOM], *list = &m->f[HX_SFU_T_SPEAKERS];
    char name[HX_MAX_ID_LEN + 1];
    if (!room->len || room->len > HX_MAX_ID_LEN || !hx_sfu_has(m, HX_SFU_T_SPEAKERS)) return;
    hx_room *r = hx_rooms_find(&srv->rooms, hx_sfu_field_copy(m, HX_SFU_T_ROOM, name, sizeof name));
    if (!r) return;                         /* closed meanwhile: nobody to tell */
    if (list->len > HX_SPEAKERS_LIST_MAX) { /* the engine writes at most 64 short items */
        hx_log(&srv->log, HX_LOG_ERROR, "engine.bad_event", "why", "speaker list too long", NULL);
        return;
    }
    size_t len = list->len;
    if (hx_room_set_speakers(r, list->p, len) != HX_ROOM_OK) return;
    hx_metrics_inc(&srv->metrics, HX_M_SPEAKER_CHANGES_TOTAL);
    json_t *data = hx_speakers_json(r, r->speakers, len, NULL);
    if (data) hx_room_broadcast_prompt(r, NULL, "room.speakers", data);
}

void hx_session_send_speakers(hx_session *s)
{
    hx_room *r = s->p.room;
    if (!r || !r->speakers) return;
    json_t *data = hx_speakers_json(r, r->speakers, strlen(r->speakers), NULL);
    json_t *arr = data ? json_object_get(data, "speakers") : NULL;
    if (arr && json_array_size(arr))
        hx_session_send(s, "room.speakers", NULL, data);
    else
        json_decref(data);
}
