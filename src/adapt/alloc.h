/*
 * Splitting a subscriber's downlink budget over the video tracks it receives (docs/design.md §1).
 *
 * Tracks are served in order: higher priority first (the active speaker, pinned tracks), then
 * the larger requested size, then as given. Every track first gets its lowest layer that is
 * sending while the budget holds it (those that do not fit are paused: audio is never starved
 * by video); then, in the same order, each climbs as high as what is left allows, never above
 * the layer its subscriber asked for. Climbing above the layer a track forwards now, or resuming
 * a paused one, costs 15 % more than the layer's rate, and a track keeps its lowest layer until
 * the budget falls under 75 % of it (40 % for the first in order, the picture the subscriber
 * looks at: an estimate that dips under a congested link must not freeze it), so a budget near
 * a layer's rate does not flap.
 *
 * Pure: rates in, layers out.
 */
#ifndef HX_ADAPT_ALLOC_H
#define HX_ADAPT_ALLOC_H

#include <stddef.h>
#include <stdint.h>

#define HX_ALLOC_MAX_LAYERS 5 /* 3 simulcast layers, the lowest in 3 temporal steps */
#define HX_ALLOC_MAX_TRACKS 64

typedef struct hx_alloc_track {
    uint8_t n_layers;                        /* 1..HX_ALLOC_MAX_LAYERS */
    uint32_t layer_bps[HX_ALLOC_MAX_LAYERS]; /* measured; 0: not sending */
    int8_t max_layer;                        /* the highest the subscriber wants */
    int8_t current;                          /* what it forwards now, -1: nothing */
    uint8_t priority;                        /* higher first */
    uint32_t size;                           /* requested size for the order (0: unknown) */
    int8_t result;                           /* out: the layer to forward, -1: paused */
} hx_alloc_track;

/**
 * Decide each track's layer within budget_bps. Returns the rate used; *wanted_bps (if not
 * NULL) is what every track at its wanted layer would take (what a probe should aim for).
 */
uint32_t hx_alloc_run(hx_alloc_track *t, size_t n, uint32_t budget_bps, uint32_t *wanted_bps);

#endif
