/*
 * The cluster glue (cluster.h): lease.h's state machine driven on the control plane's loop,
 * its claims sent as one Lua script each on the Redis bus's connection, and the two views
 * tickets are routed by (the live nodes, from the registry; the room -> node hash).
 */
#include "cluster/cluster.h"
#include "core/metric_names.h"

#include "bus/bus_redis.h"
#include "common/clock.h"
#include "core/server.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NODES 64
#define VIEW_EVERY_MS 1000
#define KEY_MAX (HX_MAX_ID_LEN + 96)

/* Claim or renew: the lease is ours if free or already ours (then renewed and the hash
 * written); the answer is whoever holds it after. KEYS: lease, hash; ARGV: node, ms, room. */
static const char CLAIM[] = "local v = redis.call('GET', KEYS[1])\n"
                            "if not v or v == ARGV[1] then\n"
                            "  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])\n"
                            "  redis.call('HSET', KEYS[2], ARGV[3], ARGV[1])\n"
                            "  return ARGV[1]\n"
                            "end\n"
                            "return v\n";
/* Release, only what still names this node. Same KEYS and ARGV. */
static const char RELEASE[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end\n"
    "if redis.call('HGET', KEYS[2], ARGV[3]) == ARGV[1] then\n"
    "  redis.call('HDEL', KEYS[2], ARGV[3])\n"
    "end\n"
    "return 1\n";
/* A dead node's entry in the hash, once its lease ran out. ARGV: that node, -, room. */
static const char FORGET[] =
    "if redis.call('EXISTS', KEYS[1]) == 0 and redis.call('HGET', KEYS[2], ARGV[3]) == ARGV[1] "
    "then redis.call('HDEL', KEYS[2], ARGV[3]) end\n"
    "return 1\n";

struct hx_cluster {
    hx_server *s;
    hx_leases leases;
    hx_strmap holders; /* room -> malloc'd node id, from the hash */
    hx_node_view nodes[MAX_NODES];
    size_t n_nodes;
    int64_t view_ms;
    bool reading; /* an HGETALL is out */
    hx_cluster_moved_fn moved;
    void *moved_arg;
    bool stopped; /* hx_cluster_stop: no lease claimed again */
};

/* A claim in flight: which room it was for. */
typedef struct claim {
    hx_cluster *c;
    char room[];
} claim;

hx_cluster *hx_cluster_new(hx_server *s, int64_t lease_ms)
{
    hx_cluster *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->s = s;
    hx_leases_init(&c->leases, s->node, lease_ms);
    hx_strmap_init(&c->holders);
    c->view_ms = -VIEW_EVERY_MS;
    return c;
}

static int free_value(void *arg, const char *key, void *value)
{
    (void)arg, (void)key;
    free(value);
    return 1;
}

void hx_cluster_free(hx_cluster *c)
{
    if (!c) return;
    hx_leases_free(&c->leases);
    hx_strmap_foreach(&c->holders, free_value, NULL);
    hx_strmap_free(&c->holders);
    free(c);
}

void hx_cluster_on_moved(hx_cluster *c, hx_cluster_moved_fn fn, void *arg)
{
    c->moved = fn;
    c->moved_arg = arg;
}

static const hx_node_view *node(const hx_cluster *c, const char *id)
{
    for (size_t i = 0; i < c->n_nodes; i++)
        if (!strcmp(c->nodes[i].id, id)) return &c->nodes[i];
    return NULL;
}

/* One script on (lease key, hash) for room. 0 sent, -1 not (Redis away). */
static int script(hx_cluster *c, const char *body, const char *nodeid, const char *room,
                  hx_bus_redis_reply_fn fn, void *arg)
{
    const char *prefix = hx_bus_redis_prefix(c->s->bus);
    char lease[KEY_MAX], hash[KEY_MAX], ms[24];
    snprintf(lease, sizeof lease, "%s:room:%s", prefix, room);
    snprintf(hash, sizeof hash, "%s:rooms", prefix);
    snprintf(ms, sizeof ms, "%lld", (long long)c->leases.ttl_ms);
    const char *argv[] = {"EVAL", body, "2", lease, hash, nodeid, ms, room};
    size_t argl[8];
    for (size_t i = 0; i < 8; i++)
        argl[i] = strlen(argv[i]);
    return hx_bus_redis_command(c->s->bus, fn, arg, 8, argv, argl);
}

static void on_claimed(void *arg, const struct redisReply *r)
{
    claim *cl = arg;
    hx_cluster *c = cl->c;
    int64_t now = hx_mono_ms();
    if (!r || r->type != REDIS_REPLY_STRING || !r->len || r->len >= HX_NODE_ID_MAX) {
        hx_leases_failed(&c->leases, cl->room, now);
        free(cl);
        return;
    }
    char holder[HX_NODE_ID_MAX];
    memcpy(holder, r->str, r->len);
    holder[r->len] = '\0';
    const hx_node_view *to = node(c, holder);
    /* A draining holder is on its way out (its lease released or running out): wait. */
    hx_lease_outcome o = hx_leases_answer(&c->leases, cl->room, holder, to && !to->draining, now);
    if (o == HX_LEASE_MOVED && to) {
        hx_log(&c->s->log, HX_LOG_WARN, "cluster.room_moved", "room", cl->room, "to", holder, NULL);
        hx_metrics_inc(&c->s->metrics, HX_M_CLUSTER_ROOMS_MOVED_TOTAL);
        if (c->moved) c->moved(c->moved_arg, cl->room, to);
    }
    free(cl);
}

static void send_claim(void *arg, const char *room)
{
    hx_cluster *c = arg;
    size_t n = strlen(room);
    claim *cl = malloc(sizeof *cl + n + 1);
    if (!cl) {
        hx_leases_failed(&c->leases, room, hx_mono_ms());
        return;
    }
    cl->c = c;
    memcpy(cl->room, room, n + 1);
    if (script(c, CLAIM, c->s->node, room, on_claimed, cl)) {
        hx_leases_failed(&c->leases, room, hx_mono_ms());
        free(cl);
    }
}

static void no_reply(void *arg, const struct redisReply *r)
{
    (void)arg, (void)r;
}

static void release(void *arg, const char *room, bool held)
{
    hx_cluster *c = arg;
    (void)held; /* released either way: the script deletes only what names this node */
    script(c, RELEASE, c->s->node, room, no_reply, NULL);
    free(hx_strmap_del(&c->holders, room));
}

/* HGETALL's answer: the view tickets are routed by. Entries of nodes no longer alive are kept
 * out of it, and dropped from the hash once their lease is gone. */
static void on_holders(void *arg, const struct redisReply *r)
{
    hx_cluster *c = arg;
    c->reading = false;
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements % 2) return;
    hx_strmap_foreach(&c->holders, free_value, NULL);
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        const struct redisReply *k = r->element[i], *v = r->element[i + 1];
        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING ||
            k->len > HX_MAX_ID_LEN || !v->len || v->len >= HX_NODE_ID_MAX)
            continue;
        char room[HX_MAX_ID_LEN + 1], holder[HX_NODE_ID_MAX];
        memcpy(room, k->str, k->len);
        room[k->len] = '\0';
        memcpy(holder, v->str, v->len);
        holder[v->len] = '\0';
        if (!node(c, holder)) {
            if (c->n_nodes) script(c, FORGET, holder, room, no_reply, NULL);
            continue;
        }
        char *copy = strdup(holder);
        if (copy && hx_strmap_put(&c->holders, room, copy, NULL)) free(copy);
    }
}

static void read_nodes(void *arg, const char *id, const char *beacon)
{
    hx_cluster *c = arg;
    (void)id;
    if (c->n_nodes < MAX_NODES && !hx_node_view_parse(beacon, &c->nodes[c->n_nodes])) c->n_nodes++;
}

/* A room with participants here (those away, who may resume, included) wants its lease. An
 * empty one does not, though it stays open for rooms.empty_timeout_s: a room this node handed
 * over, or whose people all left, must not be claimed back when its holder dies, which would
 * move its clients a second time, away from the node they resumed on. */
static int want_room(void *arg, const char *key, void *value)
{
    hx_cluster *c = arg;
    const hx_room *r = value;
    if (r->count) hx_leases_want(&c->leases, key, hx_mono_ms());
    return 0;
}

void hx_cluster_tick(hx_cluster *c, int64_t mono_ms)
{
    if (c->stopped) return;
    if (mono_ms - c->view_ms >= VIEW_EVERY_MS) {
        c->view_ms = mono_ms;
        c->n_nodes = 0;
        hx_bus_redis_each_node(c->s->bus, read_nodes, c);
        char hash[KEY_MAX];
        snprintf(hash, sizeof hash, "%s:rooms", hx_bus_redis_prefix(c->s->bus));
        const char *argv[] = {"HGETALL", hash};
        size_t argl[] = {7, strlen(hash)};
        if (!c->reading && !hx_bus_redis_command(c->s->bus, on_holders, c, 2, argv, argl))
            c->reading = true;
    }
    hx_strmap_foreach(&c->s->rooms.by_name, want_room, c);
    hx_leases_sweep(&c->leases, release, c);
    hx_leases_due(&c->leases, mono_ms, send_claim, c);
}

/* Another live node that hosts rooms (not draining): *to. */
static bool other(const hx_cluster *c, const char *id, hx_node_view *to)
{
    if (!id || !*id || !strcmp(id, c->s->node)) return false;
    const hx_node_view *v = node(c, id);
    if (!v || v->draining) return false;
    *to = *v;
    return true;
}

bool hx_cluster_successor(hx_cluster *c, const char *room, hx_node_view *to)
{
    hx_node_view others[MAX_NODES];
    size_t n = 0;
    for (size_t i = 0; i < c->n_nodes; i++)
        if (strcmp(c->nodes[i].id, c->s->node)) others[n++] = c->nodes[i];
    int i = hx_place_room(room, others, n);
    if (i < 0) return false;
    *to = others[i];
    return true;
}

void hx_cluster_stop(hx_cluster *c)
{
    if (c->stopped) return;
    c->stopped = true;
    hx_leases_release_all(&c->leases, release, c); /* the successors claim them at once */
}

bool hx_cluster_elsewhere(hx_cluster *c, const char *room, hx_node_view *to)
{
    if (c->stopped) return hx_cluster_successor(c, room, to);
    const hx_lease *l = hx_leases_get(&c->leases, room);
    if (l && l->state == HX_LEASE_LOST) return other(c, l->holder, to);
    if (l && l->state == HX_LEASE_HELD) return false;
    return other(c, hx_strmap_get(&c->holders, room), to);
}

bool hx_cluster_route(hx_cluster *c, const char *room, hx_node_view *to)
{
    if (c->stopped) return hx_cluster_successor(c, room, to);
    const hx_lease *l = hx_leases_get(&c->leases, room);
    if (l || hx_rooms_find(&c->s->rooms, room)) return hx_cluster_elsewhere(c, room, to);
    if (other(c, hx_strmap_get(&c->holders, room), to)) return true;
    int i = hx_place_room(room, c->nodes, c->n_nodes);
    return i >= 0 && other(c, c->nodes[i].id, to);
}

json_t *hx_cluster_hint(hx_cluster *c, int version)
{
    json_t *urls = json_array();
    for (size_t i = 0; i < c->n_nodes; i++) {
        char url[HX_NODE_URL_MAX + 32];
        if (!strcmp(c->nodes[i].id, c->s->node) || c->nodes[i].draining ||
            hx_node_signal_url(c->nodes[i].url, version, url, sizeof url))
            continue;
        json_array_append_new(urls, json_string(url));
    }
    return json_pack("{s:s, s:o}", "node", c->s->node, "signal_urls", urls);
}

bool hx_cluster_node_alive(void *arg, const char *id)
{
    hx_cluster *c = arg;
    return !strcmp(id, c->s->node) || node(c, id);
}

bool hx_cluster_nodes_seen(const hx_cluster *c)
{
    return node(c, c->s->node) != NULL;
}

static int count_leases(void *arg, const char *key, void *value)
{
    (void)key;
    const hx_lease *l = value;
    size_t *n = arg;
    n[l->state == HX_LEASE_HELD ? 0 : 1]++;
    return 0;
}

size_t hx_cluster_leases(const hx_cluster *c, size_t *pending)
{
    size_t n[2] = {0, 0};
    hx_strmap_foreach((hx_strmap *)&c->leases.by_room, count_leases, n);
    if (pending) *pending = n[1];
    return n[0];
}
