/*
 * The worker dispatch (workers.h). Each transport points at its room's record, so a close
 * (which names only the transport) finds the room it leaves.
 */
#include "sfu/workers.h"

#include "common/invariant.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROOM_MAX 256 /* a room name, NUL included (identifiers are at most 128 bytes) */

typedef struct worker_room {
    int worker;
    uint32_t transports;
    char name[]; /* the room */
} worker_room;

int hx_workers_init(hx_workers *w, size_t n, hx_worker_post_fn post, void *const *ctx)
{
    memset(w, 0, sizeof *w);
    if (n < 1 || n > HX_MAX_WORKERS) return -1;
    w->n = n;
    w->post = post;
    for (size_t i = 0; i < n; i++)
        w->ctx[i] = ctx[i];
    hx_strmap_init(&w->rooms);
    hx_strmap_init(&w->by_transport);
    return 0;
}

static int free_room(void *arg, const char *key, void *value)
{
    (void)arg, (void)key;
    free(value);
    return 1;
}

void hx_workers_free(hx_workers *w)
{
    hx_strmap_foreach(&w->rooms, free_room, NULL);
    hx_strmap_free(&w->rooms);
    hx_strmap_free(&w->by_transport); /* values are the rooms' records, freed above */
}

static void key_of(uint64_t transport, char key[24])
{
    snprintf(key, 24, "%llx", (unsigned long long)transport);
}

static worker_room *room_of(const hx_workers *w, uint64_t transport)
{
    char key[24];
    key_of(transport, key);
    return hx_strmap_get(&w->by_transport, key);
}

int hx_workers_of_transport(const hx_workers *w, uint64_t transport)
{
    const worker_room *r = room_of(w, transport);
    return r ? r->worker : -1;
}

int hx_workers_of_room(const hx_workers *w, const char *room)
{
    const worker_room *r = hx_strmap_get(&w->rooms, room);
    return r ? r->worker : -1;
}

static int least_loaded(const hx_workers *w)
{
    int best = -1;
    for (size_t i = 0; i < w->n; i++)
        if (!w->down[i] && (best < 0 || w->transports[i] < w->transports[best])) best = (int)i;
    return best < 0 ? 0 : best; /* all down: the first (its post refuses until it is back) */
}

void hx_workers_set_down(hx_workers *w, int worker, bool down)
{
    if (worker >= 0 && (size_t)worker < w->n) w->down[worker] = down;
}

typedef struct lost_ctx {
    int worker;
    uint64_t *ids; /* the transports lost, reported once the maps are consistent again */
    size_t n, cap;
} lost_ctx;

static int lose_transport(void *arg, const char *key, void *value)
{
    lost_ctx *c = arg;
    worker_room *r = value;
    if (r->worker != c->worker) return 0;
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 64;
        uint64_t *ids = realloc(c->ids, cap * sizeof *ids);
        if (!ids) return 1; /* forgotten all the same; its session learns when it next posts */
        c->ids = ids, c->cap = cap;
    }
    c->ids[c->n++] = strtoull(key, NULL, 16);
    r->transports--;
    return 1;
}

static int lose_room(void *arg, const char *key, void *value)
{
    (void)key;
    lost_ctx *c = arg;
    worker_room *r = value;
    if (r->worker != c->worker) return 0;
    (void)HX_ALWAYS(r->transports == 0);
    free(r);
    return 1;
}

void hx_workers_lost(hx_workers *w, int worker, void (*lost)(void *arg, uint64_t transport),
                     void *arg)
{
    if (worker < 0 || (size_t)worker >= w->n) return;
    lost_ctx c = {.worker = worker};
    hx_strmap_foreach(&w->by_transport, lose_transport, &c);
    hx_strmap_foreach(&w->rooms, lose_room, &c);
    w->transports[worker] = 0;
    w->down[worker] = true;
    for (size_t i = 0; lost && i < c.n; i++)
        lost(arg, c.ids[i]);
    free(c.ids);
}

/* A new transport (a TRANSPORT_OPEN): its room's worker, the room placed when new; -1 when
 * out of memory. */
static int place(hx_workers *w, const hx_sfu_msg *m)
{
    char room[ROOM_MAX];
    hx_sfu_field_copy(m, HX_SFU_T_ROOM, room, sizeof room);
    worker_room *r = hx_strmap_get(&w->rooms, room);
    if (!r) {
        size_t n = strlen(room);
        if (!(r = calloc(1, sizeof *r + n + 1))) return -1;
        memcpy(r->name, room, n + 1);
        r->worker = least_loaded(w);
        if (hx_strmap_put(&w->rooms, room, r, NULL)) {
            free(r);
            return -1;
        }
    }
    char key[24];
    key_of(m->transport, key);
    if (hx_strmap_put(&w->by_transport, key, r, NULL)) {
        if (!r->transports) free(hx_strmap_del(&w->rooms, room));
        return -1;
    }
    r->transports++;
    w->transports[r->worker]++;
    return r->worker;
}

/* A transport closed: its room loses it, and the room its worker once it has none. */
static void forget(hx_workers *w, uint64_t transport, worker_room *r)
{
    char key[24];
    key_of(transport, key);
    hx_strmap_del(&w->by_transport, key);
    if (HX_ALWAYS(w->transports[r->worker] > 0)) w->transports[r->worker]--;
    if (HX_ALWAYS(r->transports > 0) && --r->transports == 0)
        free(hx_strmap_del(&w->rooms, r->name));
}

int hx_workers_post(void *ctx, const uint8_t *msg, size_t len)
{
    hx_workers *w = ctx;
    hx_sfu_msg m;
    const char *why;
    if (HX_NEVER(hx_sfu_parse(msg, len, &m, &why) != 0)) return -1;
    worker_room *r = room_of(w, m.transport);
    int worker = r ? r->worker : m.kind == HX_SFU_TRANSPORT_OPEN ? place(w, &m) : -1;
    if (worker < 0) worker = 0;
    int rc = w->post(w->ctx[worker], msg, len);
    if (rc == 0) w->posted[worker]++;
    /* Closed, or an open the engine never took: the transport is gone. */
    if ((m.kind == HX_SFU_TRANSPORT_CLOSE || (rc && m.kind == HX_SFU_TRANSPORT_OPEN && !r)) &&
        (r = room_of(w, m.transport)))
        forget(w, m.transport, r);
    return rc;
}
