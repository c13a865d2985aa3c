/*
 * The allocations table of the TURN core (RFC 8656 §2.2): found by 5-tuple
 * through a chained hash (seeded per process, so clients cannot aim for
 * one chain), and by id (slot << 0 | generation << 32) from the relay
 * side, so a datagram to a relay socket reaches its allocation in O(1)
 * and a stale id from a closed socket finds nothing.
 *
 * Permissions (§9) and channels (§12) are small fixed arrays inside the
 * allocation, searched linearly (HX__TURN_MAX_PERMS, HX__TURN_MAX_CHANNELS);
 * expired entries are skipped when looked up and removed when the
 * allocation's deadline fires (the earliest of its lifetime, permissions
 * and channels, kept in the core's heap).
 */
#include "turn/core_internal.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

/* --- addresses ----------------------------------------------------------- */

int hx__turn_addr_from(hx__turn_addr *a, const struct sockaddr_storage *ss)
{
    memset(a, 0, sizeof *a);
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *s = (const struct sockaddr_in *)ss;
        a->family = AF_INET;
        a->port = ntohs(s->sin_port);
        memcpy(a->ip, &s->sin_addr, 4);
        return 0;
    }
    if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)ss;
        a->family = AF_INET6;
        a->port = ntohs(s->sin6_port);
        memcpy(a->ip, &s->sin6_addr, 16);
        return 0;
    }
    return -1;
}

void hx__turn_addr_to(const hx__turn_addr *a, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof *ss);
    if (a->family == AF_INET) {
        struct sockaddr_in *s = (struct sockaddr_in *)ss;
        s->sin_family = AF_INET;
        s->sin_port = htons(a->port);
        memcpy(&s->sin_addr, a->ip, 4);
    } else {
        struct sockaddr_in6 *s = (struct sockaddr_in6 *)ss;
        s->sin6_family = AF_INET6;
        s->sin6_port = htons(a->port);
        memcpy(&s->sin6_addr, a->ip, 16);
    }
}

bool hx__turn_addr_ip_eq(const hx__turn_addr *a, const hx__turn_addr *b)
{
    return a->family == b->family && !memcmp(a->ip, b->ip, a->family == AF_INET ? 4 : 16);
}

bool hx__turn_addr_eq(const hx__turn_addr *a, const hx__turn_addr *b)
{
    return a->port == b->port && hx__turn_addr_ip_eq(a, b);
}

int hx__turn_family_index(int family)
{
    return family == AF_INET6 ? 1 : 0;
}

/* --- the table ----------------------------------------------------------- */

static uint32_t mix(uint32_t h, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u; /* FNV-1a */
    return h;
}

static uint32_t client_hash(const hx_turn_core *t, const hx_turn_client *c)
{
    hx__turn_addr a;
    hx__turn_addr_from(&a, &c->addr);
    uint32_t h = t->hash_seed;
    uint8_t head[12] = {(uint8_t)c->proto, a.family, (uint8_t)(a.port >> 8), (uint8_t)a.port};
    memcpy(head + 4, &c->conn, sizeof c->conn);
    h = mix(h, head, sizeof head);
    return mix(h, a.ip, a.family == AF_INET ? 4 : 16);
}

static bool same_client(const hx_turn_client *x, const hx_turn_client *y)
{
    hx__turn_addr a, b;
    if (x->proto != y->proto || x->conn != y->conn) return false;
    if (hx__turn_addr_from(&a, &x->addr) || hx__turn_addr_from(&b, &y->addr)) return false;
    return hx__turn_addr_eq(&a, &b);
}

hx__turn_alloc *hx__turn_alloc_find(const hx_turn_core *t, const hx_turn_client *c)
{
    uint32_t h = client_hash(t, c);
    for (hx__turn_alloc *a = t->buckets[h & (t->nbuckets - 1)]; a; a = a->next)
        if (a->hash == h && same_client(&a->client, c)) return a;
    return NULL;
}

hx__turn_alloc *hx__turn_alloc_by_id(const hx_turn_core *t, uint64_t id)
{
    uint32_t slot = (uint32_t)id;
    if (slot >= t->cfg.max_total_allocations) return NULL;
    hx__turn_alloc *a = t->slots[slot];
    return a && a->id == id ? a : NULL;
}

hx__turn_alloc *hx__turn_alloc_new(hx_turn_core *t, const hx_turn_client *c)
{
    if (t->n_allocs >= t->cfg.max_total_allocations) return NULL;
    uint32_t slot = 0;
    while (t->slots[slot])
        slot++; /* below the cap: one is free (control path) */
    hx__turn_alloc *a = calloc(1, sizeof *a);
    if (!a) return NULL;
    a->client = *c;
    a->id = (uint64_t)++t->next_gen << 32 | slot;
    a->timer = HX_HEAP_NODE_INIT;
    a->hash = client_hash(t, c);
    size_t b = a->hash & (t->nbuckets - 1);
    a->next = t->buckets[b];
    t->buckets[b] = a;
    t->slots[slot] = a;
    t->n_allocs++;
    return a;
}

void hx__turn_alloc_free(hx_turn_core *t, hx__turn_alloc *a)
{
    for (hx__turn_alloc **p = &t->buckets[a->hash & (t->nbuckets - 1)]; *p; p = &(*p)->next)
        if (*p == a) {
            *p = a->next;
            break;
        }
    t->slots[(uint32_t)a->id] = NULL;
    t->n_allocs--;
    hx_heap_remove(&t->heap, &a->timer);
    for (int i = 0; i < 2; i++)
        if (a->relay[i]) t->io.relay_close(t->io.ctx, a->relay[i]);
    if (a->user) {
        hx__turn_user_put(t, a->user);
        atomic_fetch_sub_explicit(&t->counters.allocations, 1, memory_order_relaxed);
    }
    hx_stun_key_clear(&a->key);
    free(a);
}

/* --- deadlines ----------------------------------------------------------- */

void hx__turn_alloc_reschedule(hx_turn_core *t, hx__turn_alloc *a)
{
    int64_t at = a->expires;
    for (size_t i = 0; i < a->n_perms; i++)
        if (a->perms[i].expires < at) at = a->perms[i].expires;
    for (size_t i = 0; i < a->n_channels; i++)
        if (a->channels[i].expires < at) at = a->channels[i].expires;
    /* The heap is as large as the slot array: an allocation always fits. */
    hx_heap_set(&t->heap, &a->timer, at);
}

bool hx__turn_alloc_sweep(hx__turn_alloc *a, int64_t now_ms)
{
    for (size_t i = 0; i < a->n_perms;)
        if (a->perms[i].expires <= now_ms)
            a->perms[i] = a->perms[--a->n_perms];
        else
            i++;
    for (size_t i = 0; i < a->n_channels;)
        if (a->channels[i].expires <= now_ms)
            a->channels[i] = a->channels[--a->n_channels];
        else
            i++;
    return a->expires <= now_ms;
}

/* --- permissions and channels -------------------------------------------- */

hx__turn_perm *hx__turn_perm_find(hx__turn_alloc *a, const hx__turn_addr *ip, int64_t now_ms)
{
    for (size_t i = 0; i < a->n_perms; i++)
        if (a->perms[i].expires > now_ms && hx__turn_addr_ip_eq(&a->perms[i].ip, ip))
            return &a->perms[i];
    return NULL;
}

int hx__turn_perm_set(hx__turn_alloc *a, const hx__turn_addr *ip, bool own_only, int64_t now_ms)
{
    hx__turn_perm *p = NULL;
    for (size_t i = 0; i < a->n_perms && !p; i++)
        if (hx__turn_addr_ip_eq(&a->perms[i].ip, ip)) p = &a->perms[i];
    if (!p) {
        if (a->n_perms == HX__TURN_MAX_PERMS) {
            hx__turn_alloc_sweep(a, now_ms); /* an expired one may make room */
            if (a->n_perms == HX__TURN_MAX_PERMS) return -1;
        }
        p = &a->perms[a->n_perms++];
        p->ip = *ip;
        p->ip.port = 0;
    }
    p->own_only = own_only;
    p->expires = now_ms + HX__TURN_PERM_MS;
    return 0;
}

hx__turn_channel *hx__turn_channel_by_number(hx__turn_alloc *a, uint16_t n, int64_t now_ms)
{
    for (size_t i = 0; i < a->n_channels; i++)
        if (a->channels[i].number == n && a->channels[i].expires > now_ms) return &a->channels[i];
    return NULL;
}

hx__turn_channel *hx__turn_channel_by_peer(hx__turn_alloc *a, const hx__turn_addr *p,
                                           int64_t now_ms)
{
    for (size_t i = 0; i < a->n_channels; i++)
        if (a->channels[i].expires > now_ms && hx__turn_addr_eq(&a->channels[i].peer, p))
            return &a->channels[i];
    return NULL;
}
