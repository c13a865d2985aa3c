/*
 * Transport addresses as table keys, for the agent's pairs and the demux's
 * 5-tuple map. The hash is a seeded multiply-xorshift over the key bytes:
 * the seed is random per demux, so a peer cannot aim many addresses at one
 * bucket without knowing it.
 */
#include "ice/ice_internal.h"

#include <netinet/in.h>
#include <string.h>

bool hx__ice_addr_ok(const struct sockaddr_storage *a)
{
    return a->ss_family == AF_INET || a->ss_family == AF_INET6;
}

bool hx__ice_addr_equal(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family) return false;
    if (a->ss_family == AF_INET) {
        const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    if (a->ss_family == AF_INET6) {
        const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
        return x->sin6_port == y->sin6_port && !memcmp(&x->sin6_addr, &y->sin6_addr, 16);
    }
    return false;
}

static uint64_t mix(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    return h ^ (h >> 33);
}

uint64_t hx__ice_hash_bytes(const void *p, size_t n, uint64_t seed)
{
    const uint8_t *b = p;
    uint64_t h = mix(seed ^ (n * 0x9e3779b97f4a7c15ull));
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, b, 8);
        h = mix(h ^ w);
        b += 8;
        n -= 8;
    }
    uint64_t tail = 0;
    memcpy(&tail, b, n);
    return mix(h ^ tail ^ ((uint64_t)n << 56));
}

uint64_t hx__ice_addr_hash(const struct sockaddr_storage *a, uint64_t seed)
{
    uint8_t key[2 + 2 + 16] = {(uint8_t)a->ss_family};
    size_t n = 4;
    if (a->ss_family == AF_INET) {
        const struct sockaddr_in *x = (const void *)a;
        memcpy(key + 2, &x->sin_port, 2);
        memcpy(key + 4, &x->sin_addr, 4);
        n += 4;
    } else if (a->ss_family == AF_INET6) {
        const struct sockaddr_in6 *x = (const void *)a;
        memcpy(key + 2, &x->sin6_port, 2);
        memcpy(key + 4, &x->sin6_addr, 16);
        n += 16;
    }
    return hx__ice_hash_bytes(key, n, seed);
}

void hx__ice_addr_copy(struct sockaddr_storage *dst, const struct sockaddr_storage *src)
{
    memset(dst, 0, sizeof *dst);
    if (src->ss_family == AF_INET) {
        const struct sockaddr_in *s = (const void *)src;
        struct sockaddr_in *d = (void *)dst;
        d->sin_family = AF_INET;
        d->sin_port = s->sin_port;
        d->sin_addr = s->sin_addr;
    } else if (src->ss_family == AF_INET6) {
        const struct sockaddr_in6 *s = (const void *)src;
        struct sockaddr_in6 *d = (void *)dst;
        d->sin6_family = AF_INET6;
        d->sin6_port = s->sin6_port;
        d->sin6_addr = s->sin6_addr;
        d->sin6_scope_id = s->sin6_scope_id; /* needed to send to link-local peers */
    }
}

bool hx__ice_username_split(const uint8_t *v, size_t n, size_t *local_len, const uint8_t **remote,
                            size_t *remote_len)
{
    const uint8_t *colon = memchr(v, ':', n);
    if (!colon) return false;
    *local_len = (size_t)(colon - v);
    *remote = colon + 1;
    *remote_len = n - *local_len - 1;
    return true;
}

socklen_t hx_ice_addr_storage(const hx_ice_addr *a, struct sockaddr_storage *out)
{
    memset(out, 0, sizeof *out);
    if (a->sa.sa_family == AF_INET) {
        memcpy(out, &a->in4, sizeof a->in4);
        return sizeof a->in4;
    }
    if (a->sa.sa_family == AF_INET6) {
        memcpy(out, &a->in6, sizeof a->in6);
        return sizeof a->in6;
    }
    return 0;
}

void hx__ice_pair_addr_set(hx_ice_addr *dst, const struct sockaddr_storage *src)
{
    struct sockaddr_storage clean;
    hx__ice_addr_copy(&clean, src); /* family, port and address only */
    memset(dst, 0, sizeof *dst);
    if (clean.ss_family == AF_INET) memcpy(&dst->in4, &clean, sizeof dst->in4);
    if (clean.ss_family == AF_INET6) memcpy(&dst->in6, &clean, sizeof dst->in6);
}

bool hx__ice_pair_addr_is(const hx_ice_addr *p, const struct sockaddr_storage *a)
{
    struct sockaddr_storage s;
    hx_ice_addr_storage(p, &s);
    return hx__ice_addr_equal(&s, a);
}
