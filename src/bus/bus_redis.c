/*
 * The bus on Redis (bus_redis.h): a stream, not PUBLISH. Each node appends its messages to one
 * Redis stream (XADD, capped at about STREAM_MAX entries) and reads it with a blocking XREAD
 * from the last entry it has seen. Plain pub/sub delivers at most once, to whoever is subscribed
 * at that instant: a node whose connection was down for a moment would miss a revocation for
 * good. With the stream it reads on from where it was once it is back. Two hiredis connections
 * on the control plane's libuv loop: one appends, one blocks in XREAD. Messages cross as
 * bus_msg.c's text with `origin` set to the publishing node, so a node skips its own. Delivery
 * on this node goes through a local bus (bus_local.c), which keeps order and bounds re-entrant
 * publishes.
 */
#include "bus/bus_redis.h"

#include <hiredis/adapters/libuv.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TICK_MS 250             /* how often a connection that is down is looked after */
#define CONNECT_TIMEOUT_MS 1000 /* an attempt that has not connected by then is dropped */
#define STREAM_MAX 10000        /* entries kept (about: MAXLEN ~) */
#define READ_BLOCK_MS 5000
#define READ_COUNT 100
#define BEACON_EVERY 4 /* ticks: once a second */
#define BEACON_TTL_MS 3000
#define MAX_NODES 64    /* nodes kept from the registry */
#define BEACON_MAX 1024 /* bytes of one node's beacon kept */

typedef struct pending {
    size_t len;
    char *wire;
} pending;

typedef struct redis_bus {
    hx_bus base;
    hx_bus *local; /* delivery on this node */
    uv_loop_t *loop;
    char host[128];
    int port;
    char node[HX_BUS_STR];
    char channel[HX_BUS_STR + 8]; /* the stream's key */
    char last_id[64];             /* the last entry read; "": none yet (read from now on) */
    char prefix[64];              /* of every key */
    redisAsyncContext *pub, *sub; /* NULL while not connected */
    bool pub_up, sub_up;
    uint64_t pub_at, sub_at; /* when each connection was last attempted (loop ms) */
    uv_timer_t tick;
    pending *queue; /* ring of HX_BUS_MAX_QUEUE, on first use */
    size_t q_head, q_len;
    hx_bus_redis_stats st;
    bool closing;
    /* The node registry (bus_redis.h). */
    hx_bus_beacon_fn beacon;
    void *beacon_arg;
    unsigned ticks;
    bool reading_nodes; /* a SMEMBERS/MGET round is out */
    size_t n_nodes;
    struct {
        char id[HX_BUS_STR];
        char beacon[BEACON_MAX];
    } nodes[MAX_NODES];
} redis_bus;

/* Kept for when Redis is back (copy: the caller's heap copy of wire, taken over, or NULL);
 * past the bound the oldest goes. */
static void enqueue(redis_bus *b, const char *wire, size_t len, char *copy)
{
    if (!b->queue && !(b->queue = calloc(HX_BUS_MAX_QUEUE, sizeof *b->queue))) {
        free(copy);
        b->st.dropped++;
        return;
    }
    if (!copy && (copy = malloc(len))) memcpy(copy, wire, len);
    if (!copy) {
        b->st.dropped++;
        return;
    }
    if (b->q_len == HX_BUS_MAX_QUEUE) {
        free(b->queue[b->q_head].wire);
        b->q_head = (b->q_head + 1) % HX_BUS_MAX_QUEUE;
        b->q_len--;
        b->st.dropped++;
    }
    b->queue[(b->q_head + b->q_len++) % HX_BUS_MAX_QUEUE] = (pending){len, copy};
}

/* An XADD in flight: its bytes, kept until Redis has them. */
typedef struct sending {
    redis_bus *b;
    size_t len;
    char wire[];
} sending;

/* The XADD's answer. None (the connection died before it came) or an error: the message is
 * queued again for the next connection, so nothing published is lost to a dying socket. */
static void on_added(redisAsyncContext *ac, void *r, void *arg)
{
    sending *x = arg;
    redis_bus *b = x->b;
    const redisReply *reply = r;
    (void)ac;
    if (reply && reply->type != REDIS_REPLY_ERROR)
        b->st.published++;
    else if (!b->closing)
        enqueue(b, x->wire, x->len, NULL);
    free(x);
}

static void send_wire(redis_bus *b, const char *wire, size_t len)
{
    sending *x = malloc(sizeof *x + len);
    if (!x) {
        enqueue(b, wire, len, NULL);
        return;
    }
    x->b = b;
    x->len = len;
    memcpy(x->wire, wire, len);
    if (redisAsyncCommand(b->pub, on_added, x, "XADD %s MAXLEN ~ %d * m %b", b->channel, STREAM_MAX,
                          x->wire, len) != REDIS_OK) {
        enqueue(b, wire, len, NULL);
        free(x);
    }
}

static void flush(redis_bus *b)
{
    while (b->q_len && b->pub_up) {
        pending *p = &b->queue[b->q_head];
        send_wire(b, p->wire, p->len);
        free(p->wire);
        b->q_head = (b->q_head + 1) % HX_BUS_MAX_QUEUE;
        b->q_len--;
    }
}

static void update_up(redis_bus *b)
{
    b->st.up = b->pub_up && b->sub_up;
}

static void on_read(redisAsyncContext *ac, void *r, void *arg);

/* The next read: entries after the last one seen, waiting up to READ_BLOCK_MS for some. */
static void read_next(redis_bus *b)
{
    if (!b->sub || b->closing) return;
    redisAsyncCommand(b->sub, on_read, b, "XREAD COUNT %d BLOCK %d STREAMS %s %s", READ_COUNT,
                      READ_BLOCK_MS, b->channel, b->last_id[0] ? b->last_id : "$");
}

/* One stream entry: [id, [field, value, ...]]; the message is field "m". */
static void on_entry(redis_bus *b, const redisReply *e)
{
    if (e->type != REDIS_REPLY_ARRAY || e->elements != 2) return;
    const redisReply *id = e->element[0], *kv = e->element[1];
    if (id->type != REDIS_REPLY_STRING || id->len >= sizeof b->last_id) return;
    memcpy(b->last_id, id->str, id->len);
    b->last_id[id->len] = '\0';
    if (kv->type != REDIS_REPLY_ARRAY) return;
    for (size_t i = 0; i + 1 < kv->elements; i += 2) {
        const redisReply *f = kv->element[i], *v = kv->element[i + 1];
        if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING || strcmp(f->str, "m"))
            continue;
        hx_bus_msg m;
        if (hx_bus_decode(v->str, v->len, &m) != 0) continue; /* not ours: ignored */
        if (!strcmp(m.origin, b->node)) continue; /* this node's own: delivered when published */
        b->st.received++;
        b->local->ops->publish(b->local, &m);
    }
}

/* XREAD's answer: nil when nothing came within the block, else [[key, [entry, ...]]]. */
static void on_read(redisAsyncContext *ac, void *r, void *arg)
{
    redis_bus *b = arg;
    const redisReply *reply = r;
    (void)ac;
    if (!reply || b->closing) return; /* the connection is going: its callback reconnects */
    if (reply->type == REDIS_REPLY_ARRAY)
        for (size_t k = 0; k < reply->elements; k++) {
            const redisReply *st = reply->element[k];
            if (st->type != REDIS_REPLY_ARRAY || st->elements != 2) continue;
            const redisReply *entries = st->element[1];
            if (entries->type != REDIS_REPLY_ARRAY) continue;
            for (size_t i = 0; i < entries->elements; i++)
                on_entry(b, entries->element[i]);
        }
    read_next(b);
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    redis_bus *b = ac->data;
    if (status != REDIS_OK) { /* hiredis frees the context after this; the tick tries again */
        if (ac == b->pub) b->pub = NULL;
        if (ac == b->sub) b->sub = NULL;
        return;
    }
    if (ac == b->pub) {
        b->pub_up = true;
        flush(b);
    } else if (ac == b->sub) {
        b->sub_up = true;
        read_next(b);
    }
    update_up(b);
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    redis_bus *b = ac->data;
    (void)status;
    if (ac == b->pub) b->pub = NULL, b->pub_up = false;
    if (ac == b->sub) b->sub = NULL, b->sub_up = false;
    update_up(b); /* the tick connects again */
}

static redisAsyncContext *open_one(redis_bus *b)
{
    redisAsyncContext *ac = redisAsyncConnect(b->host, b->port);
    if (!ac) return NULL;
    if (ac->err || redisLibuvAttach(ac, b->loop) != REDIS_OK) {
        redisAsyncFree(ac);
        return NULL;
    }
    /* The bus never keeps the loop alive: hearthd stops when its own handles have closed. */
    uv_unref((uv_handle_t *)&((redisLibuvEvents *)ac->ev.data)->handle);
    ac->data = b;
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    return ac;
}

/* One connection looked after: an attempt that has hung past CONNECT_TIMEOUT_MS is dropped
 * (hiredis's libuv adapter never hears of a refused connect), a missing one is attempted. */
static void look_after(redis_bus *b, redisAsyncContext **ac, bool up, uint64_t *at)
{
    uint64_t now = uv_now(b->loop);
    if (*ac && !up && now - *at >= CONNECT_TIMEOUT_MS) {
        redisAsyncContext *dead = *ac;
        *ac = NULL;
        redisAsyncFree(dead);
    }
    if (!*ac) {
        *at = now;
        if ((*ac = open_one(b))) b->st.reconnects++;
    }
}

/* The ids an MGET of beacons asked for, in its order. */
typedef struct asked {
    size_t n;
    char id[MAX_NODES][HX_BUS_STR];
} asked;

/* MGET's answer, one beacon per id asked (nil: expired, so no longer a member). */
static void on_beacons(redisAsyncContext *ac, void *r, void *arg)
{
    asked *q = arg;
    const redisReply *reply = r;
    redis_bus *b = ac->data;
    if (reply && !b->closing && reply->type == REDIS_REPLY_ARRAY && reply->elements == q->n) {
        b->n_nodes = 0;
        for (size_t i = 0; i < q->n; i++) {
            const redisReply *v = reply->element[i];
            if (v->type != REDIS_REPLY_STRING) {
                redisAsyncCommand(b->pub, NULL, NULL, "SREM %s:nodes %s", b->prefix, q->id[i]);
                continue;
            }
            if (v->len >= BEACON_MAX) continue;
            memcpy(b->nodes[b->n_nodes].id, q->id[i], HX_BUS_STR);
            memcpy(b->nodes[b->n_nodes].beacon, v->str, v->len);
            b->nodes[b->n_nodes++].beacon[v->len] = '\0';
        }
    }
    if (!b->closing) b->reading_nodes = false;
    free(q);
}

/* SMEMBERS's answer: the nodes named; their beacons next. */
static void on_members(redisAsyncContext *ac, void *r, void *arg)
{
    redis_bus *b = arg;
    const redisReply *reply = r;
    (void)ac;
    asked *q = NULL;
    if (!reply || b->closing || reply->type != REDIS_REPLY_ARRAY || !b->pub ||
        !(q = calloc(1, sizeof *q))) {
        if (!b->closing) b->reading_nodes = false;
        return;
    }
    const char *argv[MAX_NODES + 1] = {"MGET"};
    size_t argl[MAX_NODES + 1] = {4};
    char keys[MAX_NODES][HX_BUS_STR + 80];
    for (size_t i = 0; i < reply->elements && q->n < MAX_NODES; i++) {
        const redisReply *e = reply->element[i];
        if (e->type != REDIS_REPLY_STRING || e->len >= HX_BUS_STR) continue;
        memcpy(q->id[q->n], e->str, e->len + 1);
        int len = snprintf(keys[q->n], sizeof keys[q->n], "%s:node:%s", b->prefix, e->str);
        argv[q->n + 1] = keys[q->n];
        argl[q->n + 1] = (size_t)len;
        q->n++;
    }
    if (!q->n ||
        redisAsyncCommandArgv(b->pub, on_beacons, q, (int)q->n + 1, argv, argl) != REDIS_OK) {
        if (!q->n) b->n_nodes = 0;
        free(q);
        b->reading_nodes = false;
    }
}

/* Once a second: this node's beacon written, every node's read back. */
static void registry_round(redis_bus *b)
{
    if (!b->pub_up || !b->pub) return;
    if (b->beacon) {
        const char *json = b->beacon(b->beacon_arg);
        if (json) {
            redisAsyncCommand(b->pub, NULL, NULL, "SET %s:node:%s %s PX %d", b->prefix, b->node,
                              json, BEACON_TTL_MS);
            redisAsyncCommand(b->pub, NULL, NULL, "SADD %s:nodes %s", b->prefix, b->node);
        }
    }
    if (!b->reading_nodes &&
        redisAsyncCommand(b->pub, on_members, b, "SMEMBERS %s:nodes", b->prefix) == REDIS_OK)
        b->reading_nodes = true;
}

static void on_tick(uv_timer_t *t)
{
    redis_bus *b = t->data;
    if (b->closing) return;
    look_after(b, &b->pub, b->pub_up, &b->pub_at);
    look_after(b, &b->sub, b->sub_up, &b->sub_at);
    if (++b->ticks % BEACON_EVERY == 0) registry_round(b);
}

static int redis_publish(hx_bus *base, const hx_bus_msg *m)
{
    redis_bus *b = (redis_bus *)base;
    hx_bus_msg out = *m;
    if (!out.origin[0]) hx_bus_set(out.origin, b->node);
    char wire[HX_BUS_MAX_BYTES];
    int n = hx_bus_encode(&out, wire, sizeof wire);
    if (n < 0) return HX_BUS_ERROR;
    int rc = b->local->ops->publish(b->local, &out); /* here first, Redis or not */
    if (strcmp(out.origin, b->node)) return rc;      /* relayed from elsewhere: not sent again */
    if (b->pub_up)
        send_wire(b, wire, (size_t)n);
    else
        enqueue(b, wire, (size_t)n, NULL);
    return rc;
}

static int redis_subscribe(hx_bus *base, hx_bus_cb cb, void *arg)
{
    redis_bus *b = (redis_bus *)base;
    return b->local->ops->subscribe(b->local, cb, arg);
}

static void redis_unsubscribe(hx_bus *base, hx_bus_cb cb, void *arg)
{
    redis_bus *b = (redis_bus *)base;
    b->local->ops->unsubscribe(b->local, cb, arg);
}

static void redis_close(hx_bus *base)
{
    redis_bus *b = (redis_bus *)base;
    b->closing = true;
    if (b->pub) redisAsyncFree(b->pub);
    if (b->sub) redisAsyncFree(b->sub);
    b->pub = b->sub = NULL;
    uv_close((uv_handle_t *)&b->tick, NULL);
    /* The close callbacks (the timer's, the connections' poll handles) run now: nothing else is
     * left on the loop when the server closes its bus. */
    uv_run(b->loop, UV_RUN_NOWAIT);
    for (; b->q_len; b->q_len--, b->q_head = (b->q_head + 1) % HX_BUS_MAX_QUEUE)
        free(b->queue[b->q_head].wire);
    free(b->queue);
    b->local->ops->close(b->local);
    free(b);
}

static const hx_bus_ops redis_ops = {
    .name = "redis",
    .publish = redis_publish,
    .subscribe = redis_subscribe,
    .unsubscribe = redis_unsubscribe,
    .close = redis_close,
};

hx_bus *hx_bus_redis_new(uv_loop_t *loop, const char *host, int port, const char *node,
                         const char *prefix)
{
    redis_bus *b = calloc(1, sizeof *b);
    if (!b) return NULL;
    if (!(b->local = hx_bus_local_new())) {
        free(b);
        return NULL;
    }
    b->base.ops = &redis_ops;
    b->loop = loop;
    snprintf(b->host, sizeof b->host, "%s", host);
    b->port = port;
    snprintf(b->node, sizeof b->node, "%s", node);
    snprintf(b->prefix, sizeof b->prefix, "%s", prefix && *prefix ? prefix : "hearth");
    snprintf(b->channel, sizeof b->channel, "%s:bus", b->prefix);
    /* Read from what is there when this node starts: a message older than the node is none of
     * its business (its sessions did not exist). */
    uv_timer_init(loop, &b->tick);
    b->tick.data = b;
    on_tick(&b->tick); /* the first attempts now */
    b->st.reconnects = 0;
    uv_timer_start(&b->tick, on_tick, TICK_MS, TICK_MS);
    uv_unref((uv_handle_t *)&b->tick);
    return &b->base;
}

void hx_bus_redis_stats_get(const hx_bus *base, hx_bus_redis_stats *out)
{
    const redis_bus *b = (const redis_bus *)base;
    *out = b->st;
}

void hx_bus_redis_set_beacon(hx_bus *base, hx_bus_beacon_fn fn, void *arg)
{
    redis_bus *b = (redis_bus *)base;
    b->beacon = fn;
    b->beacon_arg = arg;
}

size_t hx_bus_redis_each_node(const hx_bus *base,
                              void (*fn)(void *arg, const char *node, const char *beacon),
                              void *arg)
{
    const redis_bus *b = (const redis_bus *)base;
    for (size_t i = 0; i < b->n_nodes; i++)
        fn(arg, b->nodes[i].id, b->nodes[i].beacon);
    return b->n_nodes;
}

/* A caller's command in flight (hx_bus_redis_command). */
typedef struct call {
    hx_bus_redis_reply_fn fn;
    void *arg;
} call;

static void on_call(redisAsyncContext *ac, void *r, void *arg)
{
    call *c = arg;
    (void)ac;
    c->fn(c->arg, r);
    free(c);
}

int hx_bus_redis_command(hx_bus *base, hx_bus_redis_reply_fn fn, void *arg, int argc,
                         const char **argv, const size_t *argl)
{
    redis_bus *b = (redis_bus *)base;
    call *c;
    if (b->closing || !b->pub || !b->pub_up || !(c = malloc(sizeof *c))) return -1;
    c->fn = fn;
    c->arg = arg;
    if (redisAsyncCommandArgv(b->pub, on_call, c, argc, argv, argl) != REDIS_OK) {
        free(c);
        return -1;
    }
    return 0;
}

const char *hx_bus_redis_prefix(const hx_bus *base)
{
    return ((const redis_bus *)base)->prefix;
}
