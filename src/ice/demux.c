/*
 * Demux tables (see demux.h). Both tables use linear probing with
 * backward-shift deletion, so there are no tombstones and a probe stops at
 * the first empty slot. Sizes are powers of two at least twice the most
 * entries they may hold (load <= 1/2).
 */
#include "ice/demux.h"
#include "ice/ice_internal.h"

#include <netinet/in.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

static size_t pow2_at_least(size_t n)
{
    size_t p = 16;
    while (p < n)
        p <<= 1;
    return p;
}

int hx_ice_demux_init(hx_ice_demux *d, size_t max_agents)
{
    memset(d, 0, sizeof *d);
    if (max_agents == 0 || max_agents > (1u << 20)) return HX_ICE_EINVAL;
    if (RAND_bytes((uint8_t *)&d->seed, sizeof d->seed) != 1) return HX_ICE_EINVAL;
    d->max_agents = max_agents;
    d->ufrag_mask = pow2_at_least(2 * max_agents) - 1;
    d->addr_mask = pow2_at_least(2 * max_agents * HX_ICE_MAX_PAIRS) - 1;
    d->ufrags = calloc(d->ufrag_mask + 1, sizeof *d->ufrags);
    d->addrs = calloc(d->addr_mask + 1, sizeof *d->addrs);
    if (!d->ufrags || !d->addrs) {
        hx_ice_demux_free(d);
        return HX_ICE_EFULL;
    }
    return 0;
}

void hx_ice_demux_free(hx_ice_demux *d)
{
    free(d->ufrags);
    free(d->addrs);
    d->ufrags = NULL;
    d->addrs = NULL;
}

/* ---- ufrag -> agent ---- */

static size_t ufrag_slot(const hx_ice_demux *d, const uint8_t *u, size_t n)
{
    return (size_t)hx__ice_hash_bytes(u, n, d->seed) & d->ufrag_mask;
}

static bool ufrag_is(const hx_ice_agent *a, const uint8_t *u, size_t n)
{
    return strlen(a->local_ufrag) == n && !memcmp(a->local_ufrag, u, n);
}

hx_ice_agent *hx_ice_demux_by_ufrag(const hx_ice_demux *d, const uint8_t *ufrag, size_t len)
{
    for (size_t i = ufrag_slot(d, ufrag, len);; i = (i + 1) & d->ufrag_mask) {
        hx_ice_agent *a = d->ufrags[i];
        if (!a || ufrag_is(a, ufrag, len)) return a;
    }
}

int hx_ice_demux_add(hx_ice_demux *d, hx_ice_agent *a)
{
    const uint8_t *u = (const uint8_t *)a->local_ufrag;
    size_t n = strlen(a->local_ufrag);
    if (d->n_agents == d->max_agents) return HX_ICE_EFULL;
    size_t i = ufrag_slot(d, u, n);
    for (; d->ufrags[i]; i = (i + 1) & d->ufrag_mask)
        if (ufrag_is(d->ufrags[i], u, n)) return HX_ICE_EEXIST;
    d->ufrags[i] = a;
    d->n_agents++;
    return 0;
}

/* Backward-shift deletion for either table: move later entries of the run into the hole. */
#define DELETE_AT(tab, mask, hole, home_of, empty, is_empty)                                       \
    do {                                                                                           \
        size_t h_ = (hole);                                                                        \
        for (size_t j_ = (h_ + 1) & (mask); !is_empty(tab[j_]); j_ = (j_ + 1) & (mask)) {          \
            size_t home_ = home_of(tab[j_]);                                                       \
            if (((j_ - home_) & (mask)) >= ((j_ - h_) & (mask))) {                                 \
                tab[h_] = tab[j_];                                                                 \
                h_ = j_;                                                                           \
            }                                                                                      \
        }                                                                                          \
        tab[h_] = empty;                                                                           \
    } while (0)

#define UFRAG_EMPTY(x) ((x) == NULL)
#define UFRAG_HOME(x) ufrag_slot(d, (const uint8_t *)(x)->local_ufrag, strlen((x)->local_ufrag))
#define ADDR_EMPTY(x) ((x).agent == NULL)
#define ADDR_HOME(x) addr_slot(d, (x).key)

/* ---- address -> agent ---- */

static bool addr_key(const struct sockaddr_storage *ss, uint8_t key[20])
{
    memset(key, 0, 20);
    key[0] = (uint8_t)ss->ss_family;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *s = (const void *)ss;
        memcpy(key + 2, &s->sin_port, 2);
        memcpy(key + 4, &s->sin_addr, 4);
        return true;
    }
    if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *s = (const void *)ss;
        memcpy(key + 2, &s->sin6_port, 2);
        memcpy(key + 4, &s->sin6_addr, 16);
        return true;
    }
    return false;
}

static size_t addr_slot(const hx_ice_demux *d, const uint8_t key[20])
{
    return (size_t)hx__ice_hash_bytes(key, 20, d->seed) & d->addr_mask;
}

static void addr_delete(hx_ice_demux *d, size_t i)
{
    static const hx_ice_demux_addr empty;
    d->addrs[i].agent->demux_refs--;
    DELETE_AT(d->addrs, d->addr_mask, i, ADDR_HOME, empty, ADDR_EMPTY);
    d->n_addrs--;
}

void hx_ice_demux_remove_ufrag(hx_ice_demux *d, hx_ice_agent *a)
{
    const uint8_t *u = (const uint8_t *)a->local_ufrag;
    size_t n = strlen(a->local_ufrag);
    for (size_t i = ufrag_slot(d, u, n); d->ufrags[i]; i = (i + 1) & d->ufrag_mask) {
        if (d->ufrags[i] == a) {
            DELETE_AT(d->ufrags, d->ufrag_mask, i, UFRAG_HOME, NULL, UFRAG_EMPTY);
            d->n_agents--;
            break;
        }
    }
}

static size_t addr_find(const hx_ice_demux *d, const uint8_t key[20], bool *found)
{
    size_t i = addr_slot(d, key);
    for (; d->addrs[i].agent; i = (i + 1) & d->addr_mask)
        if (!memcmp(d->addrs[i].key, key, 20)) return *found = true, i;
    return *found = false, i;
}

/* The agent's current pairs name its entries; an address it dropped since may still name it
 * (entries go stale lazily), and only then does removal walk the whole table. */
void hx_ice_demux_remove(hx_ice_demux *d, hx_ice_agent *a)
{
    hx_ice_demux_remove_ufrag(d, a);
    for (unsigned p = 0; p < a->n_pairs && a->demux_refs; p++) {
        uint8_t key[20];
        bool found;
        struct sockaddr_storage pa;
        hx_ice_addr_storage(&a->pairs[p].addr, &pa);
        if (!addr_key(&pa, key)) continue;
        size_t i = addr_find(d, key, &found);
        if (found && d->addrs[i].agent == a) addr_delete(d, i);
    }
    /* Deleting shifts entries backwards, so re-examine slot i after a delete. */
    for (size_t i = 0; a->demux_refs && i <= d->addr_mask;) {
        if (d->addrs[i].agent == a)
            addr_delete(d, i);
        else
            i++;
    }
}

hx_ice_agent *hx_ice_demux_by_addr(hx_ice_demux *d, const struct sockaddr_storage *from)
{
    uint8_t key[20];
    bool found;
    if (!addr_key(from, key)) return NULL;
    size_t i = addr_find(d, key, &found);
    if (!found) return NULL;
    hx_ice_agent *a = d->addrs[i].agent;
    if (hx_ice_agent_find_pair(a, from)) return a;
    addr_delete(d, i); /* stale: the agent dropped that pair */
    return NULL;
}

/* Drop every entry whose agent no longer holds the pair. */
static void sweep(hx_ice_demux *d)
{
    for (size_t i = 0; i <= d->addr_mask;) {
        hx_ice_demux_addr *e = &d->addrs[i];
        struct sockaddr_storage ss = {0};
        if (!e->agent) {
            i++;
            continue;
        }
        ss.ss_family = e->key[0];
        if (ss.ss_family == AF_INET) {
            struct sockaddr_in *s = (void *)&ss;
            memcpy(&s->sin_port, e->key + 2, 2);
            memcpy(&s->sin_addr, e->key + 4, 4);
        } else {
            struct sockaddr_in6 *s = (void *)&ss;
            memcpy(&s->sin6_port, e->key + 2, 2);
            memcpy(&s->sin6_addr, e->key + 4, 16);
        }
        if (hx_ice_agent_find_pair(e->agent, &ss))
            i++;
        else
            addr_delete(d, i);
    }
}

int hx_ice_demux_learn(hx_ice_demux *d, const struct sockaddr_storage *from, hx_ice_agent *a)
{
    uint8_t key[20];
    bool found;
    if (!addr_key(from, key)) return HX_ICE_EINVAL;
    size_t i = addr_find(d, key, &found);
    if (found) {
        d->addrs[i].agent->demux_refs--;
        d->addrs[i].agent = a;
        a->demux_refs++;
        return 0;
    }
    if (2 * (d->n_addrs + 1) > d->addr_mask + 1) {
        sweep(d);
        if (2 * (d->n_addrs + 1) > d->addr_mask + 1) return HX_ICE_EFULL;
        i = addr_find(d, key, &found);
    }
    memcpy(d->addrs[i].key, key, 20);
    d->addrs[i].agent = a;
    a->demux_refs++;
    d->n_addrs++;
    return 0;
}

/* The agent a STUN message is for: by USERNAME's local half, else by address. */
static hx_ice_agent *stun_agent(hx_ice_demux *d, const hx_stun_msg *m,
                                const struct sockaddr_storage *from)
{
    const uint8_t *v, *remote;
    size_t n, local_len, remote_len;
    if (!hx_stun_get_bytes(m, HX_STUN_ATTR_USERNAME, &v, &n) &&
        hx__ice_username_split(v, n, &local_len, &remote, &remote_len))
        return hx_ice_demux_by_ufrag(d, v, local_len);
    return hx_ice_demux_by_addr(d, from);
}

int hx_ice_demux_input(hx_ice_demux *d, const uint8_t *pkt, size_t len,
                       const struct sockaddr_storage *from, int64_t now_ms, uint8_t *out,
                       size_t cap, size_t *out_len, hx_ice_agent **agent)
{
    *out_len = 0;
    *agent = NULL;
    if (!hx_stun_is(pkt, len)) {
        if (!(*agent = hx_ice_demux_by_addr(d, from))) return d->n_unrouted++, HX_ICE_ENOAGENT;
        d->n_media++;
        return HX_ICE_RX_MEDIA;
    }
    hx_stun_msg m;
    if (hx_stun_parse(&m, pkt, len)) return d->n_unrouted++, HX_ICE_EMALFORMED;
    if (!(*agent = stun_agent(d, &m, from))) return d->n_unrouted++, HX_ICE_ENOAGENT;
    d->n_stun++;
    int rc = hx_ice_agent_on_msg(*agent, &m, from, now_ms, out, cap, out_len);
    if (rc == HX_ICE_RX_VALID) hx_ice_demux_learn(d, from, *agent); /* full: media unrouted */
    return rc;
}
