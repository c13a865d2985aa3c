/*
 * The bus between nodes on Redis (issue 13, docs/scaling.md): every node appends each message
 * to one Redis stream and reads the stream from where it was; a message from another node is
 * delivered to this node's subscribers as bus_local.c delivers its own. A node's own messages
 * reach its subscribers at once, Redis or not: publish() keeps bus.h's promise (every local
 * subscriber has had it when it returns). While Redis is away, calls go on; what this node
 * publishes meanwhile waits in a bounded queue (HX_BUS_MAX_QUEUE, the oldest dropped past it,
 * counted) and goes out when the connection is back, and a node whose reading connection was
 * down reads on from the last entry it had; a connection that is down is tried again every
 * second.
 * A Redis that restarts without persistence loses only what no node had read yet and nobody
 * queued.
 */
#ifndef HX_BUS_BUS_REDIS_H
#define HX_BUS_BUS_REDIS_H

#include "bus/bus.h"

#include <stdint.h>
#include <uv.h>

typedef struct hx_bus_redis_stats {
    uint64_t published; /* sent to Redis */
    uint64_t received;  /* from other nodes, delivered here */
    uint64_t dropped;   /* queued while Redis was away and dropped past the bound */
    uint64_t reconnects;
    int up; /* both connections (publish, subscribe) are up */
} hx_bus_redis_stats;

/**
 * A bus on the Redis at host:port, for this node (`node`: its id in each message's origin) on
 * the stream "<prefix>:bus", run on `loop`. It connects in the background and keeps trying; NULL
 * only when out of memory.
 */
hx_bus *hx_bus_redis_new(uv_loop_t *loop, const char *host, int port, const char *node,
                         const char *prefix);

/**
 * The node registry on the same Redis: every second a node writes its beacon (a JSON object
 * the caller builds: its id, URL, load) under "<prefix>:node:<id>" with a 3 s expiry and names
 * itself in the set "<prefix>:nodes"; it reads every node's beacon back each second, so
 * hx_bus_redis_each_node sees the nodes alive within the last ~3 s (itself included), without
 * a round trip. A node whose beacon expired is dropped from the set.
 */
typedef const char *(*hx_bus_beacon_fn)(void *arg); /* a JSON object, valid until the next call */
void hx_bus_redis_set_beacon(hx_bus *b, hx_bus_beacon_fn fn, void *arg);
/** Each node last read: fn(arg, node id, its beacon JSON). How many. */
size_t hx_bus_redis_each_node(const hx_bus *b,
                              void (*fn)(void *arg, const char *node, const char *beacon),
                              void *arg);

/**
 * One command of another part of hearthd (the room leases, cluster.c) on the connection that
 * appends: fn(arg, reply) once, with the reply, or NULL when there is none (the connection was
 * down, dropped, or the bus is closing: then during hx_bus ops->close). 0 when sent; -1 when
 * the connection is down (fn is not called).
 */
struct redisReply;
typedef void (*hx_bus_redis_reply_fn)(void *arg, const struct redisReply *reply);
int hx_bus_redis_command(hx_bus *b, hx_bus_redis_reply_fn fn, void *arg, int argc,
                         const char **argv, const size_t *argl);
/** The key prefix (cluster.prefix) every key of this bus starts with. */
const char *hx_bus_redis_prefix(const hx_bus *b);

/** Counters and state of a bus made by hx_bus_redis_new. */
void hx_bus_redis_stats_get(const hx_bus *b, hx_bus_redis_stats *out);

#endif
