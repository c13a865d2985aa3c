/*
 * `track.receiving` (docs/protocol.md §2.8): the engine tells a subscriber transport which
 * layer of a track it receives now, its size when known, and whether its downlink's estimate
 * holds it below the layer it asked for (sfu/receiving.c, EV_RECEIVING); the session tells its
 * client
 *
 *     track.receiving {"track": "TR_...", "rid": "q", "width": 320, "height": 180,
 *                      "limited": true}
 *
 * with "rid" null while nothing is forwarded and no width/height while the size is unknown.
 * The event names a track of another participant in the room; one that left meanwhile is
 * dropped. The engine is trusted, but the rid and size are still checked before a client sees
 * them.
 */
#include "signal/session.h"

#include <stdio.h>
#include <string.h>

/* "WxH" with both in 1..16384, else false. */
static bool parse_size(const char *s, int *w, int *h)
{
    char tail;
    return sscanf(s, "%d x %d%c", w, h, &tail) == 2 && *w > 0 && *h > 0 && *w <= 16384 &&
           *h <= 16384;
}

json_t *hx_receiving_json(const char *track, const char *rid, const char *size, bool limited)
{
    for (const char *c = rid; *c; c++)
        if (!hx_rid_char(*c)) return NULL; /* RFC 8851's rid grammar (signal/layers.c) */
    json_t *data = json_pack("{s:s, s:o, s:b}", "track", track, "rid",
                             *rid ? json_string(rid) : json_null(), "limited", limited);
    int w, h;
    if (data && *size) {
        if (!parse_size(size, &w, &h)) {
            json_decref(data);
            return NULL;
        }
        json_object_set_new(data, "width", json_integer(w));
        json_object_set_new(data, "height", json_integer(h));
    }
    return data;
}

void hx_session_receiving(hx_session *s, const hx_sfu_msg *m)
{
    const char *track = hx_session_other_track(s, m->f[HX_SFU_T_TRACK].p, m->f[HX_SFU_T_TRACK].len);
    if (!track) return; /* unpublished meanwhile */
    char rid[20], size[16];
    if (m->f[HX_SFU_T_LAYER].len >= sizeof rid || m->f[HX_SFU_T_SIZE].len >= sizeof size) {
        hx_log(&s->srv->log, HX_LOG_ERROR, "engine.bad_event", "why", "receiving: field too long",
               "participant", s->p.id, NULL);
        return;
    }
    hx_sfu_field_copy(m, HX_SFU_T_LAYER, rid, sizeof rid);
    hx_sfu_field_copy(m, HX_SFU_T_SIZE, size, sizeof size);
    json_t *data = hx_receiving_json(track, rid, size, (m->flags & HX_SFU_F_LIMITED) != 0);
    if (!data) {
        hx_log(&s->srv->log, HX_LOG_ERROR, "engine.bad_event", "why", "receiving: malformed",
               "participant", s->p.id, NULL);
        return;
    }
    hx_session_send(s, "track.receiving", NULL, data);
}
