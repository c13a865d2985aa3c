/*
 * The TURN core's entry points (core.h): life cycle, the demux of a client
 * message (STUN request or indication, or ChannelData, RFC 8656 §12.4),
 * the peer-to-client path (Data indication or ChannelData, §11.3, §12.6),
 * stream closes and the deadline tick. Requests go through long-term
 * authentication (auth.c) and the comprehension-required attribute check
 * before methods.c; indications and ChannelData are not authenticated
 * (their allocation's 5-tuple is) and are dropped silently when wrong.
 */
#include "turn/core_internal.h"

#include "common/bytes.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int hx_turn_core_new(const hx_turn_config *cfg, const uint8_t key[HX_TURN_NONCE_KEY_LEN],
                     const hx_turn_io *io, hx_turn_core **out, char *err, size_t errlen)
{
    *out = NULL;
    hx_turn_core *t = calloc(1, sizeof *t);
    if (!t) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    t->cfg = *cfg;
    t->io = *io;
    hx_strmap_init(&t->users);
    if (!t->cfg.max_total_allocations) t->cfg.max_total_allocations = 1;
    if (!t->cfg.nonce_lifetime_s) t->cfg.nonce_lifetime_s = 600;
    if (t->cfg.n_secrets > HX_TURN_MAX_SECRETS) t->cfg.n_secrets = HX_TURN_MAX_SECRETS;
    if (hx__turn_policy_init(&t->policy, &t->cfg, err, errlen) != 0) goto fail;
    hx_stun_key_init(&t->nonce_key, key, HX_TURN_NONCE_KEY_LEN);
    t->hash_seed = hx_rd32(key) ^ 2166136261u;
    t->nbuckets = 16;
    while (t->nbuckets < 2 * (size_t)t->cfg.max_total_allocations)
        t->nbuckets *= 2;
    t->buckets = calloc(t->nbuckets, sizeof *t->buckets);
    t->slots = calloc(t->cfg.max_total_allocations, sizeof *t->slots);
    if (!t->buckets || !t->slots || hx_heap_init(&t->heap, t->cfg.max_total_allocations)) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    *out = t;
    return 0;
fail:
    hx_turn_core_free(t);
    return -1;
}

void hx_turn_core_free(hx_turn_core *t)
{
    if (!t) return;
    for (uint32_t i = 0; t->slots && i < t->cfg.max_total_allocations; i++)
        if (t->slots[i]) hx__turn_alloc_free(t, t->slots[i]);
    hx_heap_free(&t->heap);
    hx_strmap_free(&t->users);
    hx_stun_key_clear(&t->nonce_key);
    free(t->buckets);
    free(t->slots);
    free(t);
}

void hx_turn_core_set_wall_offset(hx_turn_core *t, int64_t offset_ms)
{
    t->wall_offset_ms = offset_ms;
}

void hx_turn_core_set_secrets(hx_turn_core *t, const char secrets[][128], size_t n)
{
    if (n > HX_TURN_MAX_SECRETS) n = HX_TURN_MAX_SECRETS;
    memset(t->cfg.secrets, 0, sizeof t->cfg.secrets);
    for (size_t i = 0; i < n; i++)
        snprintf(t->cfg.secrets[i], sizeof t->cfg.secrets[i], "%s", secrets[i]);
    t->cfg.n_secrets = n;
}

/* --- client messages ----------------------------------------------------- */

/*
 * Comprehension-required attributes a TURN request may not carry: the ones
 * the codec did not know, and the ICE ones it knows for the agent
 * (RFC 8489 §14: a 420 lists them).
 */
static size_t unknown_attrs(const hx_stun_msg *m, uint16_t *out)
{
    size_t n = 0;
    for (unsigned i = 0; i < m->n_unknown; i++)
        out[n++] = m->unknown[i];
    for (unsigned i = 0; i < m->n_attrs && n < HX_STUN_MAX_UNKNOWN; i++)
        if (m->attrs[i].type == HX_STUN_ATTR_PRIORITY ||
            m->attrs[i].type == HX_STUN_ATTR_USE_CANDIDATE)
            out[n++] = m->attrs[i].type;
    return n;
}

static void binding(hx__turn_req *r)
{
    hx_stun_writer w;
    if (!hx__turn_answer_begin(r, &w, HX_STUN_BINDING_SUCCESS)) return;
    hx_stun_put_xor_addr(&w, HX_STUN_ATTR_XOR_MAPPED_ADDRESS, (const struct sockaddr *)&r->c->addr);
    hx__turn_answer_end(r, &w);
}

static void request(hx__turn_req *r)
{
    uint16_t method = hx_stun_method(r->m->type), unknown[HX_STUN_MAX_UNKNOWN];
    if (method == HX_STUN_BINDING) { /* a plain STUN server on the same port, no credentials */
        binding(r);
        return;
    }
    if (method != HX_STUN_ALLOCATE && method != HX_STUN_REFRESH &&
        method != HX_STUN_CREATE_PERMISSION && method != HX_STUN_CHANNEL_BIND) {
        hx__turn_answer_error(r, HX_STUN_ERR_BAD_REQUEST, "Bad Request");
        return;
    }
    if (hx__turn_authenticate(r) != 0) return;
    size_t n = unknown_attrs(r->m, unknown);
    if (n) { /* RFC 8489 §6.3.1.1, after authentication so the 420 is signed */
        hx__turn_answer_unknown(r, unknown, n);
        return;
    }
    switch (method) {
    case HX_STUN_ALLOCATE:
        hx__turn_allocate(r);
        break;
    case HX_STUN_REFRESH:
        hx__turn_refresh(r);
        break;
    case HX_STUN_CREATE_PERMISSION:
        hx__turn_create_permission(r);
        break;
    default:
        hx__turn_channel_bind(r);
        break;
    }
}

static void channel_data(hx_turn_core *t, const hx_turn_client *c, const uint8_t *buf, size_t len,
                         int64_t now_ms)
{
    /* §12.4: 4-byte header; the length excludes padding, which a datagram may carry. */
    uint16_t number = len >= 4 ? hx_rd16(buf) : 0;
    size_t dlen = len >= 4 ? hx_rd16(buf + 2) : 0;
    hx__turn_alloc *a;
    hx__turn_channel *ch;
    if (len < 4 || number < HX__TURN_CHANNEL_MIN || number > HX__TURN_CHANNEL_MAX ||
        4 + dlen > len || !(a = hx__turn_alloc_find(t, c)) ||
        !(ch = hx__turn_channel_by_number(a, number, now_ms))) {
        HX__COUNT(t, dropped_packets, 1);
        return;
    }
    hx__turn_to_peer(t, a, &ch->peer, buf + 4, dlen, now_ms);
}

void hx_turn_core_client(hx_turn_core *t, const hx_turn_client *c, const uint8_t *buf, size_t len,
                         int64_t now_ms)
{
    if (!len) return;
    if ((buf[0] & 0xc0) == 0x40) { /* §12.4: 0b01 starts ChannelData, 0b00 STUN */
        channel_data(t, c, buf, len, now_ms);
        return;
    }
    hx_stun_msg m;
    if (hx_stun_parse(&m, buf, len) != HX_STUN_OK) return;
    if (m.fp_off && hx_stun_check_fingerprint(&m) != HX_STUN_OK) return;
    hx__turn_req r = {.t = t, .c = c, .m = &m, .now = now_ms};
    r.a = hx__turn_alloc_find(t, c);
    uint16_t cls = hx_stun_class(m.type);
    if (cls == HX_STUN_CLASS_REQUEST)
        request(&r);
    else if (cls == HX_STUN_CLASS_INDICATION && hx_stun_method(m.type) == HX_STUN_SEND)
        hx__turn_send(&r);
    hx_stun_key_clear(&r.fresh);
}

/* --- peer datagrams ------------------------------------------------------ */

static size_t write_channel_data(const hx__turn_alloc *a, const hx__turn_channel *ch, uint8_t *buf,
                                 size_t cap, const uint8_t *data, size_t len)
{
    /* §12.5: over TCP and TLS, ChannelData is padded to a multiple of 4. */
    size_t pad = a->client.proto == HX_TURN_UDP ? 0 : (4 - (len & 3)) & 3;
    if (4 + len + pad > cap) return 0;
    hx_wr16(buf, ch->number);
    hx_wr16(buf + 2, (uint16_t)len);
    memcpy(buf + 4, data, len);
    memset(buf + 4 + len, 0, pad);
    return 4 + len + pad;
}

static size_t write_data_indication(hx__turn_alloc *a, const struct sockaddr_storage *peer,
                                    uint8_t *buf, size_t cap, const uint8_t *data, size_t len,
                                    uint64_t seq)
{
    uint8_t tid[HX_STUN_TID_LEN]; /* §11.3: any id; ours never repeats within an allocation */
    hx_wr64(tid, a->id);
    hx_wr32(tid + 8, (uint32_t)seq);
    hx_stun_writer w;
    hx_stun_writer_init(&w, buf, cap, HX_STUN_DATA | HX_STUN_CLASS_INDICATION, tid);
    hx_stun_put_xor_addr(&w, HX_STUN_ATTR_XOR_PEER_ADDRESS, (const struct sockaddr *)peer);
    hx_stun_put(&w, HX_STUN_ATTR_DATA, data, len);
    long n = hx_stun_writer_finish(&w);
    return n > 0 ? (size_t)n : 0;
}

void hx_turn_core_peer(hx_turn_core *t, uint64_t id, const struct sockaddr_storage *peer,
                       const uint8_t *buf, size_t len, int64_t now_ms)
{
    hx__turn_alloc *a = hx__turn_alloc_by_id(t, id);
    hx__turn_addr from;
    hx__turn_perm *p;
    /* §11.3, §12.6: only from peers with a permission (an own IP: only from own ports). */
    if (!a || hx__turn_addr_from(&from, peer) || !(p = hx__turn_perm_find(a, &from, now_ms)) ||
        (p->own_only && !hx__turn_policy_own_port(&t->policy, &from))) {
        HX__COUNT(t, dropped_packets, 1);
        return;
    }
    if (!hx__turn_user_spend(t, a->user, HX__TURN_TO_CLIENT, len, now_ms)) {
        HX__COUNT(t, quota_refusals, 1);
        return;
    }
    size_t cap = 0, n;
    uint8_t *out = t->io.client_slot(t->io.ctx, &a->client, &cap);
    if (!out) return;
    hx__turn_channel *ch = hx__turn_channel_by_peer(a, &from, now_ms);
    if (ch)
        n = write_channel_data(a, ch, out, cap, buf, len);
    else
        n = write_data_indication(
            a, peer, out, cap, buf, len,
            atomic_load_explicit(&t->counters.relayed_packets, memory_order_relaxed));
    t->io.client_commit(t->io.ctx, &a->client, n);
    if (!n) {
        HX__COUNT(t, dropped_packets, 1); /* larger than the client's path takes */
        return;
    }
    HX__COUNT(t, relayed_packets, 1);
    HX__COUNT(t, relayed_bytes, len);
}

/* --- streams and time ---------------------------------------------------- */

void hx_turn_core_conn_closed(hx_turn_core *t, const hx_turn_client *c)
{
    hx__turn_alloc *a = hx__turn_alloc_find(t, c);
    if (a) hx__turn_alloc_free(t, a);
}

void hx_turn_core_tick(hx_turn_core *t, int64_t now_ms)
{
    hx_heap_node *top;
    while ((top = hx_heap_top(&t->heap)) && top->at <= now_ms) {
        hx__turn_alloc *a = HX_HEAP_ENTRY(top, hx__turn_alloc, timer);
        if (hx__turn_alloc_sweep(a, now_ms))
            hx__turn_alloc_free(t, a);
        else
            hx__turn_alloc_reschedule(t, a);
    }
}

int64_t hx_turn_core_next_deadline(const hx_turn_core *t)
{
    const hx_heap_node *top = hx_heap_top(&t->heap);
    return top ? top->at : INT64_MAX;
}

/* --- introspection ------------------------------------------------------- */

size_t hx_turn_core_allocations(const hx_turn_core *t)
{
    return t->n_allocs;
}

size_t hx_turn_core_user_allocations(const hx_turn_core *t, const char *user)
{
    const hx__turn_user *u = hx_strmap_get(&t->users, user);
    return u ? u->allocations : 0;
}

void hx_turn_core_stats(const hx_turn_core *t, hx_turn_stats *out)
{
#define LOAD(f) atomic_load_explicit(&t->counters.f, memory_order_relaxed)
    memset(out, 0, sizeof *out);
    out->allocations = LOAD(allocations);
    out->allocations_total = LOAD(allocations_total);
    out->auth_failures = LOAD(auth_failures);
    out->refused_peers = LOAD(refused_peers);
    out->quota_refusals = LOAD(quota_refusals);
    out->relayed_packets = LOAD(relayed_packets);
    out->relayed_bytes = LOAD(relayed_bytes);
    out->dropped_packets = LOAD(dropped_packets);
#undef LOAD
}

typedef struct user_sum {
    size_t total;
    bool over;
    uint32_t cap;
} user_sum;

static int sum_user(void *arg, const char *key, void *value)
{
    user_sum *s = arg;
    const hx__turn_user *u = value;
    s->total += u->allocations;
    if (u->allocations > s->cap || u->allocations == 0) s->over = true;
    return 0;
}

int hx_turn_core_check(const hx_turn_core *t)
{
    size_t in_slots = 0, in_buckets = 0;
    for (uint32_t i = 0; i < t->cfg.max_total_allocations; i++) {
        const hx__turn_alloc *a = t->slots[i];
        if (!a) continue;
        in_slots++;
        if ((uint32_t)a->id != i || hx__turn_alloc_find(t, &a->client) != a) return -__LINE__;
        if (a->timer.pos == SIZE_MAX || !a->user || (!a->relay[0] && !a->relay[1]))
            return -__LINE__;
        if (a->n_perms > HX__TURN_MAX_PERMS || a->n_channels > HX__TURN_MAX_CHANNELS)
            return -__LINE__;
    }
    for (size_t b = 0; b < t->nbuckets; b++)
        for (const hx__turn_alloc *a = t->buckets[b]; a; a = a->next)
            in_buckets++;
    if (in_slots != t->n_allocs || in_buckets != t->n_allocs) return -__LINE__;
    if (t->n_allocs > t->cfg.max_total_allocations) return -__LINE__;
    if (t->heap.n != t->n_allocs || hx_heap_check(&t->heap)) return -__LINE__;
    user_sum s = {0, false, t->cfg.max_allocations};
    hx_strmap_foreach((hx_strmap *)&t->users, sum_user, &s);
    if (s.over || s.total != t->n_allocs) return -__LINE__;
    if (atomic_load_explicit(&t->counters.allocations, memory_order_relaxed) != t->n_allocs)
        return -__LINE__;
    return 0;
}
