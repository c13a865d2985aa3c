/*
 * Media workers (issue 13, docs/scaling.md): several engines behind one sfu.h boundary. The
 * control plane posts every command to hx_workers_post as it would to one engine; the command
 * goes to the worker of its transport. A room's first transport places it on the worker with
 * the fewest open transports, its home, where its publishers and (room affinity) its
 * subscribers go, forwarding within one engine.
 *
 * A room whose subscribers outgrow the home (split_subscribers subscriber transports there)
 * spreads: its next subscribers go to other workers, split_subscribers each, and each of
 * those gets one copy of each published stream from the home (sfu/relay.h). The dispatch
 * sets the relays up itself: RELAY_OUT to the home when a worker joins the room, RELAY_IN
 * to that worker for each track the home published (the track's description comes with its
 * TRACK_PUBLISHED event, which hx_workers_event reads), RELAY_DROP when a track closes, and
 * RELAY_OUT off once the worker hosts none of the room's transports any more.
 *
 * Pure bookkeeping over the commands and events themselves: no thread, no socket; the carrier
 * behind each worker (engine.h) is the caller's. Control plane only.
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

#define HX_WORKER_ADDR_MAX 64

typedef struct hx_workers {
    size_t n;
    hx_worker_post_fn post;
    void *ctx[HX_MAX_WORKERS];
    uint32_t transports[HX_MAX_WORKERS]; /* open on each */
    uint64_t posted[HX_MAX_WORKERS];     /* commands each took */
    bool down[HX_MAX_WORKERS];           /* restarting: takes no new room */
    /* A room's subscriber transports on one worker before it spreads to another; 0: never. */
    uint32_t split_subscribers;
    char addr[HX_MAX_WORKERS][HX_WORKER_ADDR_MAX]; /* media sockets, "ip:port"; "": unknown */
    uint32_t spread_rooms;                         /* rooms on more than one worker now */
    uint64_t relays_started;                       /* a worker joined a room's spread */
    hx_strmap rooms;                               /* room -> its worker_room */
    hx_strmap by_transport;                        /* hex transport id -> its placement */
    hx_strmap tracks;                              /* track id -> what a mirror needs of it */
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

/** Where worker i's media socket is ("ip:port"), once it is ready: the relays' address. */
void hx_workers_set_addr(hx_workers *w, int worker, const char *addr);
/** An event from a worker (before the control plane handles it): tracks published and closed
 *  feed the relays of spread rooms. */
void hx_workers_event(hx_workers *w, const uint8_t *msg, size_t len);

/** The home of room (its publishers' worker), or -1. */
int hx_workers_of_room(const hx_workers *w, const char *room);
/** How many of room's transports worker i hosts (0 for a room not placed). */
uint32_t hx_workers_room_on(const hx_workers *w, const char *room, int worker);
/** The worker of a transport, or -1. */
int hx_workers_of_transport(const hx_workers *w, uint64_t transport);

#endif
