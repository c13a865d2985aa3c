/*
 * Where a room lives in a cluster (docs/scaling.md, design.md §4): a pure
 * function of the room's name and the nodes alive, so that every node that
 * mints a ticket for a new room at the same moment, from the same view of
 * the registry, names the same node. The lease (lease.h) settles what the
 * views disagree on.
 */
#ifndef HX_CLUSTER_PLACEMENT_H
#define HX_CLUSTER_PLACEMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HX_NODE_ID_MAX 128  /* a node id, NUL included */
#define HX_NODE_URL_MAX 320 /* a node's base URL, NUL included */

/** One node as its registry beacon describes it. */
typedef struct hx_node_view {
    char id[HX_NODE_ID_MAX];
    char url[HX_NODE_URL_MAX]; /* http(s)://host:port, no trailing slash */
    int64_t sessions;
    bool draining; /* takes no new rooms */
} hx_node_view;

/**
 * The node a room with no live host should open on: the node with the fewest sessions among
 * those not draining; among equals, the highest rendezvous hash of (room, node id), so that
 * rooms spread over idle nodes instead of piling on the first. The index into nodes, or -1 when
 * every node drains (or n is 0).
 */
int hx_place_room(const char *room, const hx_node_view *nodes, size_t n);

/** The rendezvous weight of (room, node): FNV-1a over both, mixed. Exposed for the tests. */
uint64_t hx_place_weight(const char *room, const char *node);

/**
 * Parse a registry beacon ({"node", "url", "sessions", "draining", ...}, bus_redis.h) into v.
 * 0, or -1 when it is not a beacon (no node or url, or too long).
 */
int hx_node_view_parse(const char *json, hx_node_view *v);

/**
 * The signaling URL of a node's base URL for protocol version `version`: http -> ws,
 * https -> wss, "/v1/signal?v=N" appended. 0, or -1 when it does not fit or is not http(s).
 */
int hx_node_signal_url(const char *base, int version, char *out, size_t cap);

#endif
