/*
 * The in-process bus (bus.h). Every message goes through the codec even
 * here, so what a subscriber sees is exactly what a remote node would
 * decode: a field that does not survive encoding fails on one node the
 * same way it would on many.
 *
 * Re-entrancy: a subscriber may publish (a kick that ends a vote, a ban
 * that tells the room). Such messages wait in a bounded FIFO and are
 * delivered by the outermost publish after the current message, so no
 * handler ever runs inside another.
 */
#include "bus/bus.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

typedef struct sub {
    hx_bus_cb cb;
    void *arg;
} sub;

typedef struct local_bus {
    hx_bus base;
    sub subs[HX_BUS_MAX_SUBS];
    size_t n_subs;
    bool delivering;
    hx_bus_msg *queue; /* ring of HX_BUS_MAX_QUEUE, allocated on first use */
    size_t q_head, q_len;
} local_bus;

static void deliver(local_bus *b, const hx_bus_msg *m)
{
    for (size_t i = 0; i < b->n_subs; i++)
        if (b->subs[i].cb) b->subs[i].cb(b->subs[i].arg, m);
}

static int local_publish(hx_bus *base, const hx_bus_msg *m)
{
    local_bus *b = (local_bus *)base;
    char wire[HX_BUS_MAX_BYTES];
    int n = hx_bus_encode(m, wire, sizeof wire);
    if (n < 0) return HX_BUS_ERROR;
    if (b->delivering) {
        if (!b->queue && !(b->queue = calloc(HX_BUS_MAX_QUEUE, sizeof *b->queue))) return HX_BUS_ERROR;
        if (b->q_len == HX_BUS_MAX_QUEUE) return HX_BUS_FULL;
        hx_bus_msg *slot = &b->queue[(b->q_head + b->q_len) % HX_BUS_MAX_QUEUE];
        if (hx_bus_decode(wire, (size_t)n, slot)) return HX_BUS_ERROR;
        b->q_len++;
        return HX_BUS_OK;
    }
    hx_bus_msg got;
    if (hx_bus_decode(wire, (size_t)n, &got)) return HX_BUS_ERROR;
    b->delivering = true;
    deliver(b, &got);
    while (b->q_len) {
        got = b->queue[b->q_head];
        b->q_head = (b->q_head + 1) % HX_BUS_MAX_QUEUE;
        b->q_len--;
        deliver(b, &got);
    }
    b->delivering = false;
    return HX_BUS_OK;
}

static int local_subscribe(hx_bus *base, hx_bus_cb cb, void *arg)
{
    local_bus *b = (local_bus *)base;
    for (size_t i = 0; i < b->n_subs; i++)
        if (!b->subs[i].cb) {
            b->subs[i] = (sub){cb, arg};
            return 0;
        }
    if (b->n_subs == HX_BUS_MAX_SUBS) return -1;
    b->subs[b->n_subs++] = (sub){cb, arg};
    return 0;
}

static void local_unsubscribe(hx_bus *base, hx_bus_cb cb, void *arg)
{
    local_bus *b = (local_bus *)base;
    /* Cleared, not compacted: an unsubscribe during a delivery keeps the walk's indexes valid. */
    for (size_t i = 0; i < b->n_subs; i++)
        if (b->subs[i].cb == cb && b->subs[i].arg == arg) b->subs[i] = (sub){0};
}

static void local_close(hx_bus *base)
{
    local_bus *b = (local_bus *)base;
    free(b->queue);
    free(b);
}

static const hx_bus_ops local_ops = {
    .name = "local",
    .publish = local_publish,
    .subscribe = local_subscribe,
    .unsubscribe = local_unsubscribe,
    .close = local_close,
};

hx_bus *hx_bus_local_new(void)
{
    local_bus *b = calloc(1, sizeof *b);
    if (!b) return NULL;
    b->base.ops = &local_ops;
    return &b->base;
}
