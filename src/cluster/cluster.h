/*
 * A node of a cluster (design.md §4, docs/scaling.md): which node hosts each room, so that any
 * node can mint a ticket that sends its client to the right one. Built on the Redis bus
 * (bus_redis.h: the registry of live nodes, and a connection for commands) and needs a store
 * the nodes share (PostgreSQL): a ticket minted on one node is checked and spent on another,
 * and a session's resume record is read by whichever node the room moves to.
 *
 * What Redis holds for it:
 *   <prefix>:room:<name>   the lease: the hosting node's id, PX cluster.lease_ms, renewed every
 *                          third of it while the room is open on that node (lease.h);
 *   <prefix>:rooms         a hash room -> node, written with the lease, read by every node
 *                          once a second: the view tickets are routed by.
 * Both are changed only by one Lua script (claim or renew, release), so the two agree.
 *
 * A node whose beacon says it drains hosts nothing new: its rooms go to the node
 * hx_cluster_successor names, which takes them over as their clients resume there.
 */
#ifndef HX_CLUSTER_CLUSTER_H
#define HX_CLUSTER_CLUSTER_H

#include "cluster/lease.h"
#include "cluster/placement.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct hx_server;
typedef struct hx_cluster hx_cluster;

/** The room's lease went to a live node: hand its sessions there (base: that node's URL). */
typedef void (*hx_cluster_moved_fn)(void *arg, const char *room, const hx_node_view *to);

/** For s (whose bus is a Redis bus), leases of lease_ms. NULL when out of memory. */
hx_cluster *hx_cluster_new(struct hx_server *s, int64_t lease_ms);
/** After the bus is closed (its pending replies come back NULL during the close). */
void hx_cluster_free(hx_cluster *c);
void hx_cluster_on_moved(hx_cluster *c, hx_cluster_moved_fn fn, void *arg);
/** From housekeeping: leases claimed, renewed, released; the view read once a second. */
void hx_cluster_tick(hx_cluster *c, int64_t mono_ms);

/**
 * Where a ticket for room should send its client: *to is the node (this one included). true
 * when that is another node. A room open or leased here stays here; a room a live node holds
 * goes there; a new room goes where hx_place_room puts it among the live nodes not draining
 * (this node alone while Redis is away).
 */
bool hx_cluster_route(hx_cluster *c, const char *room, hx_node_view *to);

/**
 * At a join or resume here: true (and *to) when another live node hosts room now, so the
 * client belongs there; false when the room may open or go on here.
 */
bool hx_cluster_elsewhere(hx_cluster *c, const char *room, hx_node_view *to);

/** The node a room of this one should go to when this one stops: hx_place_room over the live
 *  nodes but this one. true and *to, or false when there is none. */
bool hx_cluster_successor(hx_cluster *c, const char *room, hx_node_view *to);

/** This node stops (drain): every lease released now and none claimed again; from now on
 *  hx_cluster_route and hx_cluster_elsewhere send each room to its successor. */
void hx_cluster_stop(hx_cluster *c);

/** {"node": this id, "signal_urls": [every other live node's signal URL]} for a join result. */
json_t *hx_cluster_hint(hx_cluster *c, int version);

/** Whether the registry sees node (this one always). For hx_sessions_sweep_orphans. */
bool hx_cluster_node_alive(void *c, const char *node);
/** Whether this node has read the registry and found itself there (Redis has been up). */
bool hx_cluster_nodes_seen(const hx_cluster *c);

/** For /metrics: the room leases this node holds; *pending (if not NULL) gets those it claims
 * without holding them (being claimed, another node's name on them, or Redis away). Only rooms
 * with participants here are claimed. */
size_t hx_cluster_leases(const hx_cluster *c, size_t *pending);

#endif
