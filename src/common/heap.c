/*
 * The indexed min-heap (heap.h): an array of node pointers in heap order,
 * items[i]'s children at 2i+1 and 2i+2. Every write of a slot goes through
 * place(), which also updates the node's back-index, so items[i]->pos == i
 * holds whenever a call returns. Sifting moves the hole rather than
 * swapping: one write per level.
 */
#include "common/heap.h"

#include "common/invariant.h"

#include <stdlib.h>

int hx_heap_init(hx_heap *h, size_t cap)
{
    h->n = 0;
    h->cap = cap;
    h->items = calloc(cap ? cap : 1, sizeof *h->items);
    return h->items ? 0 : -1;
}

void hx_heap_free(hx_heap *h)
{
    free(h->items);
    h->items = NULL;
    h->n = h->cap = 0;
}

static void place(hx_heap *h, size_t i, hx_heap_node *x)
{
    h->items[i] = x;
    x->pos = i;
}

static void up(hx_heap *h, size_t i)
{
    hx_heap_node *x = h->items[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (h->items[parent]->at <= x->at) break;
        place(h, i, h->items[parent]);
        i = parent;
    }
    place(h, i, x);
}

static void down(hx_heap *h, size_t i)
{
    hx_heap_node *x = h->items[i];
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        int64_t best = x->at;
        if (l < h->n && h->items[l]->at < best) m = l, best = h->items[l]->at;
        if (r < h->n && h->items[r]->at < best) m = r;
        if (m == i) break;
        place(h, i, h->items[m]);
        i = m;
    }
    place(h, i, x);
}

/* x claims to be in h: it must be where it says. */
static int held(const hx_heap *h, const hx_heap_node *x)
{
    return x->pos != SIZE_MAX && HX_ALWAYS(x->pos < h->n && h->items[x->pos] == x);
}

int hx_heap_push(hx_heap *h, hx_heap_node *x, int64_t at)
{
    if (HX_NEVER(x->pos != SIZE_MAX) || h->n == h->cap) return -1;
    x->at = at;
    place(h, h->n++, x);
    up(h, x->pos);
    return 0;
}

int hx_heap_set(hx_heap *h, hx_heap_node *x, int64_t at)
{
    if (x->pos == SIZE_MAX) return hx_heap_push(h, x, at);
    if (!held(h, x)) return -1;
    int64_t old = x->at;
    x->at = at;
    if (at < old)
        up(h, x->pos);
    else
        down(h, x->pos);
    return 0;
}

void hx_heap_remove(hx_heap *h, hx_heap_node *x)
{
    if (!held(h, x)) return;
    size_t i = x->pos;
    x->pos = SIZE_MAX;
    hx_heap_node *last = h->items[--h->n];
    if (i == h->n) return;
    /* The last node fills the hole; it may belong above it or below. */
    place(h, i, last);
    up(h, i);
    down(h, last->pos);
}

hx_heap_node *hx_heap_top(const hx_heap *h)
{
    return h->n ? h->items[0] : NULL;
}

hx_heap_node *hx_heap_pop(hx_heap *h)
{
    hx_heap_node *x = hx_heap_top(h);
    if (x) hx_heap_remove(h, x);
    return x;
}

int hx_heap_check(const hx_heap *h)
{
    if (h->n > h->cap || (h->cap && !h->items)) return -__LINE__;
    for (size_t i = 0; i < h->n; i++) {
        if (!h->items[i] || h->items[i]->pos != i) return -__LINE__;
        if (i > 0 && h->items[(i - 1) / 2]->at > h->items[i]->at) return -__LINE__;
    }
    return 0;
}
