/*
 * The lease state machine (lease.h). Times are the caller's monotonic ms.
 */
#include "cluster/lease.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void hx_leases_init(hx_leases *L, const char *self, int64_t ttl_ms)
{
    memset(L, 0, sizeof *L);
    hx_strmap_init(&L->by_room);
    L->ttl_ms = ttl_ms > 0 ? ttl_ms : 1;
    snprintf(L->self, sizeof L->self, "%s", self ? self : "");
}

static int free_one(void *arg, const char *key, void *value)
{
    (void)arg, (void)key;
    free(value);
    return 1;
}

void hx_leases_free(hx_leases *L)
{
    hx_strmap_foreach(&L->by_room, free_one, NULL);
    hx_strmap_free(&L->by_room);
}

static int64_t renew_every(const hx_leases *L)
{
    return L->ttl_ms / 3 > 0 ? L->ttl_ms / 3 : 1;
}

int hx_leases_want(hx_leases *L, const char *room, int64_t now_ms)
{
    hx_lease *l = hx_strmap_get(&L->by_room, room);
    if (l) {
        l->wanted = true;
        return 0;
    }
    size_t n = strlen(room);
    if (!(l = calloc(1, sizeof *l + n + 1))) return -1;
    memcpy(l->room, room, n + 1);
    l->state = HX_LEASE_CLAIMING;
    l->wanted = true;
    l->next_ms = now_ms;
    if (hx_strmap_put(&L->by_room, room, l, NULL)) {
        free(l);
        return -1;
    }
    return 0;
}

static int clear_mark(void *arg, const char *key, void *value)
{
    (void)arg, (void)key;
    ((hx_lease *)value)->wanted = false;
    return 0;
}

typedef struct sweep_ctx {
    void (*release)(void *arg, const char *room, bool held);
    void *arg;
    size_t n;
} sweep_ctx;

static int sweep_one(void *arg, const char *key, void *value)
{
    sweep_ctx *c = arg;
    hx_lease *l = value;
    if (l->wanted) {
        l->wanted = false; /* the next round marks it again */
        return 0;
    }
    if (c->release) c->release(c->arg, key, l->state == HX_LEASE_HELD || l->confirmed_ms);
    free(l);
    c->n++;
    return 1;
}

size_t hx_leases_sweep(hx_leases *L, void (*release)(void *arg, const char *room, bool held),
                       void *arg)
{
    sweep_ctx c = {release, arg, 0};
    hx_strmap_foreach(&L->by_room, sweep_one, &c);
    return c.n;
}

void hx_leases_release_all(hx_leases *L, void (*release)(void *arg, const char *room, bool held),
                           void *arg)
{
    hx_strmap_foreach(&L->by_room, clear_mark, NULL);
    hx_leases_sweep(L, release, arg);
}

typedef struct due_ctx {
    hx_leases *L;
    int64_t now;
    void (*send)(void *arg, const char *room);
    void *arg;
    size_t n;
} due_ctx;

static int due_one(void *arg, const char *key, void *value)
{
    due_ctx *c = arg;
    hx_lease *l = value;
    if (l->in_flight && c->now - l->sent_ms >= c->L->ttl_ms) l->in_flight = false; /* lost */
    if (l->in_flight || c->now < l->next_ms) return 0;
    l->in_flight = true;
    l->sent_ms = c->now;
    l->next_ms = c->now + renew_every(c->L);
    c->n++;
    c->send(c->arg, key);
    return 0;
}

size_t hx_leases_due(hx_leases *L, int64_t now_ms, void (*send)(void *arg, const char *room),
                     void *arg)
{
    due_ctx c = {L, now_ms, send, arg, 0};
    hx_strmap_foreach(&L->by_room, due_one, &c);
    return c.n;
}

hx_lease_outcome hx_leases_answer(hx_leases *L, const char *room, const char *holder,
                                  bool holder_alive, int64_t now_ms)
{
    hx_lease *l = hx_strmap_get(&L->by_room, room);
    if (!l) return HX_LEASE_UNKNOWN;
    l->in_flight = false;
    if (holder && !strcmp(holder, L->self)) {
        l->state = HX_LEASE_HELD;
        l->confirmed_ms = now_ms;
        l->holder[0] = '\0';
        return HX_LEASE_OURS;
    }
    if (!holder || !*holder) return HX_LEASE_UNKNOWN; /* not an answer: tried again later */
    snprintf(l->holder, sizeof l->holder, "%s", holder);
    if (!holder_alive) {
        l->state = HX_LEASE_WAIT;
        return HX_LEASE_PENDING;
    }
    /* A live node's name on it. That node may have died a moment ago (its beacon outlives its
     * lease by a second or so): ask again a whole TTL later, and hand the room over only if the
     * name is still there, so that clients are never sent to a node that just died. */
    hx_lease_state was = l->state;
    l->next_ms = now_ms + L->ttl_ms;
    l->confirmed_ms = 0;
    if (was == HX_LEASE_LOST)
        return HX_LEASE_PENDING; /* handed over already; that node may die too */
    l->state = was == HX_LEASE_CONTESTED ? HX_LEASE_LOST : HX_LEASE_CONTESTED;
    return l->state == HX_LEASE_LOST ? HX_LEASE_MOVED : HX_LEASE_PENDING;
}

void hx_leases_failed(hx_leases *L, const char *room, int64_t now_ms)
{
    hx_lease *l = hx_strmap_get(&L->by_room, room);
    if (!l) return;
    l->in_flight = false;
    (void)now_ms; /* next_ms was set when it went out: the next interval tries again */
}

const hx_lease *hx_leases_get(const hx_leases *L, const char *room)
{
    return hx_strmap_get(&L->by_room, room);
}
