/*
 * Layers nobody watches are paused at the publisher (issue 12, LiveKit's "dynacast"): for each
 * simulcast track the engine keeps which layers its subscribers could want — every layer up to
 * the highest any of its consumers asked for (`track.layer`; the best one by default), the
 * lowest alone when nobody subscribes or every subscription is paused — and tells the control plane
 * with EV_LAYERS (sfu.h) whenever that set changes, which tells the publishing client to stop or
 * resume encoding them. A subscriber whose downlink caps it lower still wants its asked-for layer
 * (its estimate may climb back), so caps never pause a layer.
 *
 * More layers wanted is told at once (a subscriber waits for them); fewer only once the smaller
 * set has held HX__LAYERS_SHRINK_MS, so a subscriber who leaves and comes back, or flips
 * between layers, does not make the encoder stop and restart.
 */
#include "sfu/engine_internal.h"

#include <string.h>

static uint8_t wanted_mask(const hx__track *tr)
{
    int top = 0;
    for (const hx__consumer *c = tr->consumers; c; c = c->track_next)
        if (!c->paused && c->target_layer > top) top = c->target_layer;
    if (top >= tr->n_layers) top = tr->n_layers - 1;
    /* Other workers' subscribers too, on the home of a room spread over workers (relay.c). */
    return (uint8_t)(((1u << (top + 1)) - 1) | hx__relay_wanted(tr));
}

static void emit_layers(hx__track *tr)
{
    if (hx__relay_layers(tr)) return; /* a mirror: told to its home, not to the control plane */
    char rids[HX__MAX_LAYERS * (HX_SDP_TOKEN_LEN + 1)];
    size_t len = 0;
    for (int l = 0; l < tr->n_layers; l++) {
        if (!(tr->active_mask >> l & 1)) continue;
        size_t n = strlen(tr->layers[l].rid);
        if (len) rids[len++] = ',';
        memcpy(rids + len, tr->layers[l].rid, n);
        len += n;
    }
    hx_sfu_builder b;
    hx__begin(tr->pub->e, &b, HX_SFU_EV_LAYERS, tr->pub->id);
    hx_sfu_put_cstr(&b, HX_SFU_T_TRACK, tr->id);
    hx_sfu_put_cstr(&b, HX_SFU_T_MID, tr->mid);
    hx_sfu_put_str(&b, HX_SFU_T_LAYERS, rids, len);
    hx__emit(tr->pub->e, &b);
}

void hx__layers_check(hx__track *tr)
{
    if (tr->n_layers < 2 || tr->kind != HX_SDP_VIDEO || !tr->announced) return;
    int64_t now = tr->pub->e->now_ms;
    uint8_t want = wanted_mask(tr);
    if (want & ~tr->active_mask) { /* more: at once */
        tr->active_mask |= want;
        tr->shrink_at_ms = 0;
        emit_layers(tr);
    }
    if (want == tr->active_mask) {
        tr->shrink_at_ms = 0;
        return;
    }
    if (!tr->shrink_at_ms) { /* fewer: once it has held */
        tr->shrink_at_ms = now + HX__LAYERS_SHRINK_MS;
        hx__arm(tr->pub, tr->shrink_at_ms);
        return;
    }
    if (now < tr->shrink_at_ms) return;
    tr->active_mask = want;
    tr->shrink_at_ms = 0;
    emit_layers(tr);
}

int64_t hx__layers_due(const hx__transport *t)
{
    int64_t due = INT64_MAX;
    for (int i = 0; i < t->n_tracks; i++)
        if (t->tracks[i]->shrink_at_ms && t->tracks[i]->shrink_at_ms < due)
            due = t->tracks[i]->shrink_at_ms;
    return due;
}

void hx__layers_tick(hx__transport *t)
{
    for (int i = 0; i < t->n_tracks; i++)
        if (t->tracks[i]->shrink_at_ms && t->e->now_ms >= t->tracks[i]->shrink_at_ms)
            hx__layers_check(t->tracks[i]);
}
