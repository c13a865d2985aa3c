/*
 * The downlink allocator (alloc.h).
 */
#include "adapt/alloc.h"

#include "common/invariant.h"

#define CLIMB_MARGIN 1.15
#define KEEP_FACTOR 0.75
#define KEEP_FIRST 0.4 /* the first in order: the picture a subscriber looks at */

/* The layer at or below `top` that is sending, lowest first when `lowest`. -1: none. */
static int sending(const hx_alloc_track *t, int top, int lowest)
{
    if (lowest) {
        for (int l = 0; l <= top; l++)
            if (t->layer_bps[l]) return l;
        return -1;
    }
    for (int l = top; l >= 0; l--)
        if (t->layer_bps[l]) return l;
    return -1;
}

static int before(const hx_alloc_track *a, const hx_alloc_track *b)
{
    if (a->priority != b->priority) return a->priority > b->priority;
    return a->size > b->size;
}

uint32_t hx_alloc_run(hx_alloc_track *t, size_t n, uint32_t budget_bps, uint32_t *wanted_bps)
{
    if (n > HX_ALLOC_MAX_TRACKS) n = HX_ALLOC_MAX_TRACKS;
    uint8_t order[HX_ALLOC_MAX_TRACKS];
    uint64_t wanted = 0;
    for (size_t i = 0; i < n; i++) { /* insertion sort: stable, n is small */
        hx_alloc_track *x = &t[i];
        if (x->n_layers > HX_ALLOC_MAX_LAYERS) x->n_layers = HX_ALLOC_MAX_LAYERS;
        if (x->max_layer >= x->n_layers) x->max_layer = (int8_t)(x->n_layers - 1);
        if (x->max_layer < 0) x->max_layer = 0;
        size_t j = i;
        while (j > 0 && before(x, &t[order[j - 1]])) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = (uint8_t)i;
        int w = sending(x, x->max_layer, 0);
        if (w >= 0) wanted += x->layer_bps[w];
    }
    if (wanted_bps) *wanted_bps = wanted > UINT32_MAX ? UINT32_MAX : (uint32_t)wanted;
    int64_t left = budget_bps;
    /* Every track its lowest sending layer, in order, while it fits. */
    for (size_t k = 0; k < n; k++) {
        hx_alloc_track *x = &t[order[k]];
        int l = sending(x, x->max_layer, 1);
        if (l < 0) { /* nothing sending: whatever comes costs nothing known yet */
            x->result = x->max_layer;
            continue;
        }
        /* Resuming a paused track needs the margin; one that forwards keeps its lowest layer
         * until the budget is clearly short of it (estimates wobble by more than a tenth). */
        double keep = k == 0 ? KEEP_FIRST : KEEP_FACTOR;
        int64_t cost = (int64_t)(x->layer_bps[l] * (x->current < 0 ? CLIMB_MARGIN : keep));
        if (cost <= left) {
            x->result = (int8_t)l;
            left -= x->layer_bps[l] < left ? x->layer_bps[l] : left;
        } else {
            x->result = -1;
        }
    }
    /* Then each climbs as far as what is left allows. */
    for (size_t k = 0; k < n; k++) {
        hx_alloc_track *x = &t[order[k]];
        if (x->result < 0 || !x->layer_bps[x->result]) continue;
        for (int l = x->max_layer; l > x->result; l--) {
            if (!x->layer_bps[l]) continue;
            int64_t extra = (int64_t)x->layer_bps[l] - x->layer_bps[x->result];
            int64_t need = l > x->current
                               ? (int64_t)(x->layer_bps[l] * CLIMB_MARGIN) - x->layer_bps[x->result]
                               : extra;
            if (need <= left) {
                left -= extra;
                x->result = (int8_t)l;
                break;
            }
        }
    }
    int64_t used = (int64_t)budget_bps - left;
    for (size_t i = 0; i < n; i++)
        (void)HX_ALWAYS(t[i].result >= -1 && t[i].result <= t[i].max_layer);
    return used < 0 ? 0 : (uint32_t)used;
}
