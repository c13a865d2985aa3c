/*
 * Who speaks in a room (issue 12): every audio packet's RFC 6464 level goes to the room's
 * detector (adapt/speaker.h), keyed by its track; when the detector's decision changes, the
 * engine emits EV_SPEAKERS (sfu.h) with the tracks, loudest first, and the control plane tells
 * the room. The detector comes with a room's first level (3.6 KB); decisions fall due on its
 * interval grid: a publisher transport in the room has that deadline while anyone is, or was
 * just, reported speaking (deadline.c), so a room that falls silent (Opus DTX: no packets at
 * all) still hears that nobody speaks. A room's detector holds HX_SPEAKER_MAX audio tracks; when
 * it is full, a track that sends speech takes the place of the quietest one that is not
 * speaking (hx_speaker_evict), which rejoins when it speaks.
 */
#include "sfu/engine_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t key_of(const hx__track *tr)
{
    return (uint64_t)(uintptr_t)tr;
}

int hx__speaker_rank(const hx__transport *pub)
{
    const hx__room *r = pub->room_of;
    if (!r || !r->speakers) return -1;
    const hx_speaker_detector *d = r->speakers;
    for (size_t i = 0; i < d->n_rep; i++) /* as last told the room, loudest first */
        for (int k = 0; k < pub->n_tracks; k++)
            if (pub->tracks[k]->kind == HX_SDP_AUDIO && d->rep[i] == key_of(pub->tracks[k]))
                return (int)i;
    return -1;
}

void hx__speakers_tick(hx__transport *t)
{
    hx__room *r = t->room_of;
    if (!r || !r->speakers) return;
    hx_speaker out[HX_SPEAKER_MAX];
    bool changed = false;
    size_t n = hx_speaker_tick(r->speakers, t->e->now_ms, out, HX_SPEAKER_MAX, &changed);
    if (!changed) return;
    char list[HX_SPEAKER_MAX * (HX__ID_LEN + 6)];
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        const hx__track *tr = (const hx__track *)(uintptr_t)out[i].key;
        int lv = (int)(out[i].level * 100 + 0.5f);
        int w = snprintf(list + len, sizeof list - len, "%s%s:%d", i ? "," : "", tr->id,
                         lv < 0     ? 0
                         : lv > 100 ? 100
                                    : lv);
        if (w < 0 || (size_t)w >= sizeof list - len) break;
        len += (size_t)w;
    }
    hx_sfu_builder b;
    hx__begin(t->e, &b, HX_SFU_EV_SPEAKERS, t->id);
    hx_sfu_put_cstr(&b, HX_SFU_T_ROOM, t->room);
    hx_sfu_put_str(&b, HX_SFU_T_SPEAKERS, list, len);
    hx__emit(t->e, &b);
}

void hx__speakers_level(hx__transport *t, hx__track *tr, const uint8_t *pkt, const hx_rtp_hdr *h)
{
    int voice;
    uint8_t level;
    if (hx_rtp_ext_audio_level(pkt, h, tr->ext_id[HX_SDP_EXT_AUDIO_LEVEL], &voice, &level) != 0)
        return;
    hx__room *r = t->room_of;
    if (!r) return;
    int64_t now = t->e->now_ms;
    if (!r->speakers) {
        if (!(r->speakers = malloc(sizeof *r->speakers))) return;
        if (hx_speaker_init(r->speakers, &t->e->cfg.speaker, now) != 0) {
            free(r->speakers); /* the control plane checked the config: not reached */
            r->speakers = NULL;
            return;
        }
    }
    if (!tr->speaker_source) {
        int rc = hx_speaker_add(r->speakers, key_of(tr));
        uint64_t out;
        /* Full: speech makes room by evicting the quietest source (it comes back when it
         * speaks); a quiet packet does not. */
        if (rc == HX_SPEAKER_EFULL && level <= t->e->cfg.speaker.threshold &&
            hx_speaker_evict(r->speakers, &out) == 0) {
            ((hx__track *)(uintptr_t)out)->speaker_source = false;
            rc = hx_speaker_add(r->speakers, key_of(tr));
        }
        if (rc != 0) return;
        tr->speaker_source = true;
    }
    hx_speaker_level(r->speakers, key_of(tr), voice, level, now);
    int64_t due = hx_speaker_next_due(r->speakers);
    if (now >= due) hx__speakers_tick(t);
    hx__arm(t, hx_speaker_next_due(r->speakers));
}

void hx__speakers_forget(hx__track *tr)
{
    if (!tr->speaker_source) return;
    hx__room *r = tr->pub->room_of;
    if (r && r->speakers) hx_speaker_remove(r->speakers, key_of(tr));
    tr->speaker_source = false;
}

int64_t hx__speakers_due(const hx__transport *t)
{
    bool audio = false;
    for (int i = 0; i < t->n_tracks && !audio; i++)
        audio = t->tracks[i]->speaker_source;
    if (!audio) return INT64_MAX;
    const hx__room *r = t->room_of;
    if (!r || !r->speakers || (!r->speakers->n_cur && !r->speakers->n_rep)) return INT64_MAX;
    return hx_speaker_next_due(r->speakers);
}
