/*
 * Room leases (design.md §4, docs/scaling.md): which node hosts a room, decided in Redis with
 * SET NX PX and renewed while the room is open here. This is the state machine only: no
 * sockets, no clock of its own (LAYOUT: each state machine runs in unit tests with a fake
 * clock); cluster.c sends what it asks for and feeds the answers back.
 *
 * Per room open on this node:
 *   CLAIMING  no answer yet: the room runs here meanwhile (calls never wait on Redis);
 *   HELD      Redis said this node holds it; renewed every ttl/3;
 *   WAIT      another node's name is on it but that node is not alive (its lease runs out
 *             within the TTL): asked again every ttl/3, the room running here meanwhile;
 *   CONTESTED a live node's name is on it: asked again a whole TTL later (that node may have
 *             just died, its beacon outliving its lease); still there, the room is LOST;
 *   LOST      a live node holds it: the caller hands the room's sessions to that node; asked
 *             again after a whole TTL in case that node dies too.
 * A claim that gets no answer (Redis away) changes nothing and is sent again at the next
 * interval: calls go on while Redis is away, and a Redis that comes back empty is claimed
 * again by whoever has the room open.
 */
#ifndef HX_CLUSTER_LEASE_H
#define HX_CLUSTER_LEASE_H

#include "cluster/placement.h"
#include "common/strmap.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum hx_lease_state {
    HX_LEASE_CLAIMING = 0,
    HX_LEASE_HELD,
    HX_LEASE_WAIT,
    HX_LEASE_CONTESTED,
    HX_LEASE_LOST,
} hx_lease_state;

typedef struct hx_lease {
    hx_lease_state state;
    bool in_flight;              /* a claim is out, its answer not in */
    bool wanted;                 /* marked by the last hx_leases_want round */
    int64_t next_ms;             /* when the next claim goes out */
    int64_t sent_ms;             /* when the one in flight went */
    int64_t confirmed_ms;        /* when Redis last said it is ours (0: never) */
    char holder[HX_NODE_ID_MAX]; /* the other node on it (WAIT, LOST) */
    char room[];
} hx_lease;

typedef struct hx_leases {
    hx_strmap by_room; /* room -> hx_lease * */
    int64_t ttl_ms;
    char self[HX_NODE_ID_MAX];
} hx_leases;

/** What an answer means for the caller. */
typedef enum hx_lease_outcome {
    HX_LEASE_OURS = 0, /* held (or kept) */
    HX_LEASE_PENDING,  /* a dead node's lease: wait for it to run out */
    HX_LEASE_MOVED,    /* a live node holds it: hand the room over (once per LOST) */
    HX_LEASE_UNKNOWN,  /* no lease for that room here (closed meanwhile): ignore */
} hx_lease_outcome;

void hx_leases_init(hx_leases *L, const char *self, int64_t ttl_ms);
void hx_leases_free(hx_leases *L);

/** A round of marks: every room open here, then hx_leases_sweep. New rooms are due at once.
 *  0, or -1 out of memory. */
int hx_leases_want(hx_leases *L, const char *room, int64_t now_ms);
/** Rooms not marked since the last sweep are forgotten; release(room, held) for each (held:
 *  Redis had said it is ours, so the caller deletes the key if it still names this node). */
size_t hx_leases_sweep(hx_leases *L, void (*release)(void *arg, const char *room, bool held),
                       void *arg);
/** Forget every lease: release(room, held) for each (this node stops). */
void hx_leases_release_all(hx_leases *L, void (*release)(void *arg, const char *room, bool held),
                           void *arg);
/** Every lease due at now_ms: send(room) is to send one claim and marks it in flight. An
 *  answer that has not come within a TTL is given up (in flight no more). */
size_t hx_leases_due(hx_leases *L, int64_t now_ms, void (*send)(void *arg, const char *room),
                     void *arg);
/** Redis's answer: holder is the node named on the room after the claim; holder_alive whether
 *  the registry sees that node (ignored when it is this node). */
hx_lease_outcome hx_leases_answer(hx_leases *L, const char *room, const char *holder,
                                  bool holder_alive, int64_t now_ms);
/** The claim got no answer (Redis away, an error reply): nothing changes, tried again later. */
void hx_leases_failed(hx_leases *L, const char *room, int64_t now_ms);
/** The lease of room, or NULL. */
const hx_lease *hx_leases_get(const hx_leases *L, const char *room);

#endif
