/*
 * An indexed binary min-heap of deadlines. The node is embedded in the
 * owner's struct (an allocation, a transport) and records its own index, so
 * moving or removing it is O(log n) without a search, and the heap stores
 * only pointers: it owns no node and never allocates after init. The owner
 * finds itself from a node with HX_HEAP_ENTRY.
 *
 * Sized once (the owner's table cap), so a push can fail only when the
 * owner already holds more nodes than it said it would. Equal keys come
 * out in no particular order. Single-threaded, like its owners.
 */
#ifndef HX_COMMON_HEAP_H
#define HX_COMMON_HEAP_H

#include <stddef.h>
#include <stdint.h>

/** One deadline, embedded in its owner. Start with HX_HEAP_NODE_INIT (not in a heap). */
typedef struct hx_heap_node {
    int64_t at; /* the key: a time in ms; read it, change it with hx_heap_set */
    size_t pos; /* index in the heap, SIZE_MAX when not in one */
} hx_heap_node;

#define HX_HEAP_NODE_INIT ((hx_heap_node){.at = 0, .pos = SIZE_MAX})

/** The owner of a node: HX_HEAP_ENTRY(node, struct alloc, timer). */
#define HX_HEAP_ENTRY(node, type, member) ((type *)(((char *)(node)) - offsetof(type, member)))

typedef struct hx_heap {
    hx_heap_node **items; /* items[0] is the earliest */
    size_t n, cap;
} hx_heap;

/** An empty heap for up to cap nodes. 0, or -1 when out of memory. */
int hx_heap_init(hx_heap *h, size_t cap);
/** Free the array (the nodes are the owners'). Safe on a zeroed or freed heap. */
void hx_heap_free(hx_heap *h);
/** Insert a node that is in no heap, due at `at`. 0, or -1 when full (or, a bug that aborts
 *  where invariants are checked, when the node is already in a heap). */
int hx_heap_push(hx_heap *h, hx_heap_node *x, int64_t at);
/** Move a node in the heap to `at` (up or down), or push it. 0, or -1 when full. */
int hx_heap_set(hx_heap *h, hx_heap_node *x, int64_t at);
/** Take a node out; one in no heap is left alone. */
void hx_heap_remove(hx_heap *h, hx_heap_node *x);
/** The earliest node, or NULL when empty. */
hx_heap_node *hx_heap_top(const hx_heap *h);
/** Take out and return the earliest node, or NULL when empty. */
hx_heap_node *hx_heap_pop(hx_heap *h);
/** Heap order, back-indices and bounds hold: 0, or a negative line number. */
int hx_heap_check(const hx_heap *h);

#endif
