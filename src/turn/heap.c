/*
 * The TURN core's deadlines: an indexed binary min-heap of timers, one per
 * allocation (its earliest due moment: lifetime, a permission or a
 * channel). Each timer knows its position, so a Refresh moves it in
 * O(log n) and a tick looks only at the top: expiry never walks the whole
 * table. The array is sized once to the allocations cap.
 */
#include "turn/core_internal.h"

#include <stdint.h>
#include <stdlib.h>

int hx__turn_heap_init(hx__turn_heap *h, size_t cap)
{
    h->n = 0;
    h->cap = cap;
    h->items = calloc(cap ? cap : 1, sizeof *h->items);
    return h->items ? 0 : -1;
}

void hx__turn_heap_free(hx__turn_heap *h)
{
    free(h->items);
    h->items = NULL;
    h->n = h->cap = 0;
}

static void place(hx__turn_heap *h, size_t i, hx__turn_timer *t)
{
    h->items[i] = t;
    t->pos = i;
}

static void up(hx__turn_heap *h, size_t i)
{
    hx__turn_timer *t = h->items[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (h->items[parent]->at <= t->at) break;
        place(h, i, h->items[parent]);
        i = parent;
    }
    place(h, i, t);
}

static void down(hx__turn_heap *h, size_t i)
{
    hx__turn_timer *t = h->items[i];
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        int64_t best = t->at;
        if (l < h->n && h->items[l]->at < best) m = l, best = h->items[l]->at;
        if (r < h->n && h->items[r]->at < best) m = r;
        if (m == i) break;
        place(h, i, h->items[m]);
        i = m;
    }
    place(h, i, t);
}

int hx__turn_heap_set(hx__turn_heap *h, hx__turn_timer *t, int64_t at)
{
    if (t->pos != SIZE_MAX) {
        int64_t old = t->at;
        t->at = at;
        if (at < old)
            up(h, t->pos);
        else
            down(h, t->pos);
        return 0;
    }
    if (h->n == h->cap) return -1;
    t->at = at;
    h->items[h->n] = t;
    t->pos = h->n++;
    up(h, t->pos);
    return 0;
}

void hx__turn_heap_remove(hx__turn_heap *h, hx__turn_timer *t)
{
    size_t i = t->pos;
    if (i == SIZE_MAX || i >= h->n || h->items[i] != t) return;
    t->pos = SIZE_MAX;
    hx__turn_timer *last = h->items[--h->n];
    if (i == h->n) return;
    place(h, i, last);
    up(h, i);
    down(h, last->pos);
}

hx__turn_timer *hx__turn_heap_top(const hx__turn_heap *h)
{
    return h->n ? h->items[0] : NULL;
}

int hx__turn_heap_check(const hx__turn_heap *h)
{
    for (size_t i = 0; i < h->n; i++) {
        if (h->items[i]->pos != i) return -1;
        if (i > 0 && h->items[(i - 1) / 2]->at > h->items[i]->at) return -1;
    }
    return 0;
}
