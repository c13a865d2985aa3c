/*
 * Media workers (issue 13, docs/scaling.md): several engines behind one sfu.h boundary. The
 * control plane posts every command to hx_workers_post as it would to one engine; the command
 * goes to the worker of its transport, and a transport goes to the worker of its room (room
 * affinity: a room's publishers and subscribers forward within one engine, no relay). A room's
 * worker is chosen when its first transport opens, the one with the fewest open transports,
 * and kept while the room has any.
 *
 * Pure bookkeeping over the commands themselves (the TRANSPORT_OPEN's room, the transport id
 * of every other): no thread, no socket; the carrier behind each worker (engine.h) is the
 * caller's. Control plane only.
 */
#ifndef HX_SFU_WORKERS_H
#define HX_SFU_WORKERS_H

#include "common/strmap.h"
#include "sfu/sfu.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HX_MAX_WORKERS 16

typedef int (*hx_worker_post_fn)(void *ctx, const uint8_t *msg, size_t len);

typedef struct hx_workers {
    size_t n;
    hx_worker_post_fn post;
    void *ctx[HX_MAX_WORKERS];
    uint32_t transports[HX_MAX_WORKERS]; /* open on each */
    uint64_t posted[HX_MAX_WORKERS];     /* commands each took */
    bool down[HX_MAX_WORKERS];           /* restarting: takes no new room */
    hx_strmap rooms;                     /* room -> its worker_room */
    hx_strmap by_transport;              /* hex transport id -> worker index + 1 */
} hx_workers;

/** n workers (1..HX_MAX_WORKERS), each posted to with post(ctx[i], ...). 0, or -1 for a bad n. */
int hx_workers_init(hx_workers *w, size_t n, hx_worker_post_fn post, void *const *ctx);
void hx_workers_free(hx_workers *w);

/**
 * The sfu_post of the control plane (ctx: the hx_workers): the command to its worker. A
 * TRANSPORT_OPEN places the transport (and a new room); a TRANSPORT_CLOSE forgets it once
 * posted. A command for a transport nobody placed goes to worker 0, whose engine refuses it as
 * an engine alone would. 0, or the worker's refusal (its queue is full), or -1 for a command
 * that does not parse (an invariant: the control plane builds them).
 */
int hx_workers_post(void *ctx, const uint8_t *msg, size_t len);

/** A worker died: every transport on it is forgotten, each reported to lost(arg, transport)
 *  first, and its rooms with them; it takes no new room until hx_workers_set_down(.., false). */
void hx_workers_lost(hx_workers *w, int worker, void (*lost)(void *arg, uint64_t transport),
                     void *arg);
/** Mark a worker down (no new rooms go to it) or up again. */
void hx_workers_set_down(hx_workers *w, int worker, bool down);

/** The worker hosting room, or -1. */
int hx_workers_of_room(const hx_workers *w, const char *room);
/** The worker of a transport, or -1. */
int hx_workers_of_transport(const hx_workers *w, uint64_t transport);

#endif
