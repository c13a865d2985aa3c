/*
 * The TURN methods (RFC 8656): Allocate (§7.2), Refresh (§8), CreatePermission
 * (§9), ChannelBind (§12) and the Send indication (§11), once core.c has
 * authenticated the request. Each check cites its section; a refusal is
 * one error answer and no state change (CreatePermission with several
 * peers installs all or none).
 */
#include "turn/core_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static uint32_t lifetime_s(const hx__turn_req *r)
{
    uint32_t asked, max = r->t->cfg.max_lifetime_s;
    if (hx_stun_get_u32(r->m, HX_STUN_ATTR_LIFETIME, &asked) != HX_STUN_OK)
        asked = HX__TURN_DEFAULT_LIFETIME_S;
    return asked < max ? asked : max;
}

static uint32_t remaining_s(const hx__turn_alloc *a, int64_t now)
{
    return a->expires > now ? (uint32_t)((a->expires - now + 999) / 1000) : 0;
}

/* XOR-PEER-ADDRESS number i (a message may carry several, §9.1). */
static int peer_at(const hx_stun_msg *m, size_t i, hx__turn_addr *out)
{
    size_t seen = 0;
    for (unsigned k = 0; k < m->n_attrs; k++) {
        if (m->attrs[k].type != HX_STUN_ATTR_XOR_PEER_ADDRESS || seen++ != i) continue;
        hx_stun_msg one = *m; /* the getter takes the first: a table of just this one */
        one.attrs[0] = m->attrs[k];
        one.n_attrs = 1;
        struct sockaddr_storage ss;
        if (hx_stun_get_xor_addr(&one, HX_STUN_ATTR_XOR_PEER_ADDRESS, &ss) != HX_STUN_OK)
            return HX_STUN_EMALFORMED;
        return hx__turn_addr_from(out, &ss) ? HX_STUN_EMALFORMED : HX_STUN_OK;
    }
    return HX_STUN_EABSENT;
}

/* --- Allocate ------------------------------------------------------------ */

static void allocate_success(hx__turn_req *r, hx__turn_alloc *a, bool v6_refused)
{
    hx_stun_writer w;
    if (!hx__turn_answer_begin(r, &w, HX_STUN_ALLOCATE | HX_STUN_CLASS_SUCCESS)) return;
    for (int i = 0; i < 2; i++)
        if (a->relay[i])
            hx_stun_put_xor_addr(&w, HX_STUN_ATTR_XOR_RELAYED_ADDRESS,
                                 (const struct sockaddr *)&a->relayed_reported[i]);
    hx_stun_put_u32(&w, HX_STUN_ATTR_LIFETIME, remaining_s(a, r->now));
    hx_stun_put_xor_addr(&w, HX_STUN_ATTR_XOR_MAPPED_ADDRESS, (const struct sockaddr *)&r->c->addr);
    if (v6_refused) { /* §7.2: the IPv4 allocation stands; the IPv6 one failed with 440 */
        static const uint8_t err[] = {0x02, 0,   4,   40,  'A', 'd', 'd', 'r', 'e', 's', 's',
                                      ' ',  'F', 'a', 'm', 'i', 'l', 'y', ' ', 'n', 'o', 't',
                                      ' ',  'S', 'u', 'p', 'p', 'o', 'r', 't', 'e', 'd'};
        hx_stun_put(&w, HX__TURN_ATTR_ADDRESS_ERROR_CODE, err, sizeof err);
    }
    hx__turn_answer_end(r, &w);
}

/* The families asked for (§7.2 steps on REQUESTED- and ADDITIONAL-ADDRESS-FAMILY). */
static int families(hx__turn_req *r, int *first, bool *also_v6)
{
    uint32_t raf;
    const uint8_t *add;
    size_t add_len;
    bool has_raf = hx_stun_get_u32(r->m, HX_STUN_ATTR_REQUESTED_ADDRESS_FAMILY, &raf) == 0;
    bool has_add =
        hx_stun_get_bytes(r->m, HX__TURN_ATTR_ADDITIONAL_ADDRESS_FAMILY, &add, &add_len) == 0;
    *first = AF_INET;
    *also_v6 = false;
    if (has_raf && has_add) return HX_STUN_ERR_BAD_REQUEST;
    if (has_add) {
        if (add_len != 4 || add[0] != 0x02) return HX_STUN_ERR_BAD_REQUEST; /* only IPv6 */
        *also_v6 = true;
    }
    if (has_raf) {
        if (raf >> 24 == 0x01)
            *first = AF_INET;
        else if (raf >> 24 == 0x02)
            *first = AF_INET6;
        else
            return HX__TURN_ERR_ADDR_FAMILY;
    }
    return 0;
}

void hx__turn_allocate(hx__turn_req *r)
{
    hx_turn_core *t = r->t;
    const hx_stun_msg *m = r->m;
    if (r->a) { /* §7.2: the 5-tuple is taken; a retransmission gets its answer again */
        if (!memcmp(r->a->tid, m->tid, HX_STUN_TID_LEN))
            allocate_success(r, r->a, false);
        else
            hx__turn_answer_error(r, HX_STUN_ERR_ALLOCATION_MISMATCH, "Allocation Mismatch");
        return;
    }
    uint32_t transport;
    if (hx_stun_get_u32(m, HX_STUN_ATTR_REQUESTED_TRANSPORT, &transport) != HX_STUN_OK) {
        hx__turn_answer_error(r, HX_STUN_ERR_BAD_REQUEST, "REQUESTED-TRANSPORT missing");
        return;
    }
    if (transport >> 24 != 17) { /* UDP only: no RFC 6062 TCP relaying */
        hx__turn_answer_error(r, HX__TURN_ERR_TRANSPORT, "Unsupported Transport Protocol");
        return;
    }
    const uint8_t *even;
    size_t even_len;
    bool want_even = hx_stun_get_bytes(m, HX_STUN_ATTR_EVEN_PORT, &even, &even_len) == 0;
    /* No port reservations are kept: R bit and RESERVATION-TOKEN cannot be met (§7.2). */
    if ((want_even && (even[0] & 0x80)) || hx_stun_find(m, HX_STUN_ATTR_RESERVATION_TOKEN)) {
        hx__turn_answer_error(r, HX__TURN_ERR_CAPACITY, "Insufficient Capacity");
        return;
    }
    int family;
    bool also_v6;
    int code = families(r, &family, &also_v6);
    if (code) {
        hx__turn_answer_error(r, code,
                              code == HX_STUN_ERR_BAD_REQUEST ? "Bad Request"
                                                              : "Address Family not Supported");
        return;
    }
    if (t->n_allocs >= t->cfg.max_total_allocations) {
        HX__COUNT(t, quota_refusals, 1);
        hx__turn_answer_error(r, HX__TURN_ERR_CAPACITY, "Insufficient Capacity");
        return;
    }
    hx__turn_user *u = hx__turn_user_get(t, r->user, r->now);
    if (!u) {
        hx__turn_answer_error(r, HX_STUN_ERR_SERVER_ERROR, "Server Error");
        return;
    }
    if (u->allocations >= t->cfg.max_allocations) {
        HX__COUNT(t, quota_refusals, 1);
        hx__turn_answer_error(r, HX__TURN_ERR_QUOTA, "Allocation Quota Reached");
        return;
    }
    hx__turn_alloc *a = hx__turn_alloc_new(t, r->c);
    int rc = a ? t->io.relay_open(t->io.ctx, a->id, family, want_even,
                                  &a->relay[hx__turn_family_index(family)],
                                  &a->relayed_reported[hx__turn_family_index(family)])
               : -ENOMEM;
    if (rc != 0) {
        if (a) hx__turn_alloc_free(t, a);
        if (!u->allocations) hx__turn_user_put(t, u);
        if (rc == -EAFNOSUPPORT)
            hx__turn_answer_error(r, HX__TURN_ERR_ADDR_FAMILY, "Address Family not Supported");
        else
            hx__turn_answer_error(r, HX__TURN_ERR_CAPACITY, "Insufficient Capacity");
        return;
    }
    bool v6_refused = false;
    if (also_v6 && t->io.relay_open(t->io.ctx, a->id, AF_INET6, want_even, &a->relay[1],
                                    &a->relayed_reported[1]) != 0) {
        a->relay[1] = NULL;
        v6_refused = true;
    }
    snprintf(a->username, sizeof a->username, "%s", r->username);
    a->key = r->fresh;
    r->key = &a->key;
    memcpy(a->tid, m->tid, HX_STUN_TID_LEN);
    a->user = u;
    u->allocations++;
    a->expires = r->now + (int64_t)lifetime_s(r) * 1000;
    hx__turn_alloc_reschedule(t, a);
    HX__COUNT(t, allocations_total, 1);
    HX__COUNT(t, allocations, 1);
    allocate_success(r, a, v6_refused);
}

/* --- Refresh ------------------------------------------------------------- */

void hx__turn_refresh(hx__turn_req *r)
{
    hx_turn_core *t = r->t;
    hx__turn_alloc *a = r->a;
    if (!a) {
        hx__turn_answer_error(r, HX_STUN_ERR_ALLOCATION_MISMATCH, "Allocation Mismatch");
        return;
    }
    uint32_t raf;
    if (hx_stun_get_u32(r->m, HX_STUN_ATTR_REQUESTED_ADDRESS_FAMILY, &raf) == 0 &&
        !a->relay[(raf >> 24) == 0x02 ? 1 : 0]) { /* §8: a family this allocation has not */
        hx__turn_answer_error(r, HX__TURN_ERR_PEER_FAMILY, "Peer Address Family Mismatch");
        return;
    }
    uint32_t life = lifetime_s(r);
    hx_stun_writer w;
    if (life == 0) { /* §8: LIFETIME 0 deletes; the answer is signed with the key it had */
        r->fresh = a->key;
        r->key = &r->fresh;
        r->a = NULL;
        hx__turn_alloc_free(t, a);
    } else {
        a->expires = r->now + (int64_t)life * 1000;
        hx__turn_alloc_reschedule(t, a);
    }
    if (!hx__turn_answer_begin(r, &w, HX_STUN_REFRESH | HX_STUN_CLASS_SUCCESS)) return;
    hx_stun_put_u32(&w, HX_STUN_ATTR_LIFETIME, life);
    hx__turn_answer_end(r, &w);
}

/* --- CreatePermission and ChannelBind ------------------------------------ */

/* The policy's verdict on a peer for this allocation, or an error code answered. */
static int judge(hx__turn_req *r, const hx__turn_addr *peer, hx__turn_verdict *v)
{
    if (!r->a->relay[hx__turn_family_index(peer->family)]) {
        hx__turn_answer_error(r, HX__TURN_ERR_PEER_FAMILY, "Peer Address Family Mismatch");
        return -1;
    }
    *v = hx__turn_policy_ip(&r->t->policy, peer);
    if (*v == HX__PEER_REFUSED) {
        HX__COUNT(r->t, refused_peers, 1);
        hx__turn_answer_error(r, HX_STUN_ERR_FORBIDDEN, "Forbidden");
        return -1;
    }
    return 0;
}

static void empty_success(hx__turn_req *r, uint16_t method)
{
    hx_stun_writer w;
    if (!hx__turn_answer_begin(r, &w, method | HX_STUN_CLASS_SUCCESS)) return;
    hx__turn_answer_end(r, &w);
}

void hx__turn_create_permission(hx__turn_req *r)
{
    hx__turn_alloc *a = r->a;
    if (!a) {
        hx__turn_answer_error(r, HX_STUN_ERR_ALLOCATION_MISMATCH, "Allocation Mismatch");
        return;
    }
    hx__turn_addr peers[HX_STUN_MAX_ATTRS];
    hx__turn_verdict verdicts[HX_STUN_MAX_ATTRS];
    size_t n = 0;
    int rc;
    while ((rc = peer_at(r->m, n, &peers[n])) == HX_STUN_OK) {
        if (judge(r, &peers[n], &verdicts[n])) return; /* §9.2: all or none */
        n++;
    }
    if (rc == HX_STUN_EMALFORMED || n == 0) {
        hx__turn_answer_error(r, HX_STUN_ERR_BAD_REQUEST, "XOR-PEER-ADDRESS missing or malformed");
        return;
    }
    hx__turn_alloc_sweep(a, r->now);
    size_t fresh = 0;
    for (size_t i = 0; i < n; i++)
        if (!hx__turn_perm_find(a, &peers[i], r->now)) fresh++;
    if (a->n_perms + fresh > HX__TURN_MAX_PERMS) {
        hx__turn_answer_error(r, HX__TURN_ERR_CAPACITY, "Insufficient Capacity");
        return;
    }
    for (size_t i = 0; i < n; i++)
        hx__turn_perm_set(a, &peers[i], verdicts[i] == HX__PEER_OWN_ONLY, r->now);
    hx__turn_alloc_reschedule(r->t, a);
    empty_success(r, HX_STUN_CREATE_PERMISSION);
}

void hx__turn_channel_bind(hx__turn_req *r)
{
    hx__turn_alloc *a = r->a;
    if (!a) {
        hx__turn_answer_error(r, HX_STUN_ERR_ALLOCATION_MISMATCH, "Allocation Mismatch");
        return;
    }
    uint32_t cn;
    hx__turn_addr peer;
    if (hx_stun_get_u32(r->m, HX_STUN_ATTR_CHANNEL_NUMBER, &cn) != HX_STUN_OK ||
        peer_at(r->m, 0, &peer) != HX_STUN_OK) {
        hx__turn_answer_error(r, HX_STUN_ERR_BAD_REQUEST,
                              "CHANNEL-NUMBER or XOR-PEER-ADDRESS missing");
        return;
    }
    uint16_t number = (uint16_t)(cn >> 16);
    if (number < HX__TURN_CHANNEL_MIN || number > HX__TURN_CHANNEL_MAX) { /* §12.2 */
        hx__turn_answer_error(r, HX_STUN_ERR_BAD_REQUEST, "channel number out of range");
        return;
    }
    hx__turn_verdict v;
    if (judge(r, &peer, &v)) return;
    if (v == HX__PEER_OWN_ONLY && !hx__turn_policy_own_port(&r->t->policy, &peer)) {
        HX__COUNT(r->t, refused_peers, 1); /* the SFU's IP, another port */
        hx__turn_answer_error(r, HX_STUN_ERR_FORBIDDEN, "Forbidden");
        return;
    }
    hx__turn_alloc_sweep(a, r->now);
    hx__turn_channel *by_n = hx__turn_channel_by_number(a, number, r->now);
    hx__turn_channel *by_p = hx__turn_channel_by_peer(a, &peer, r->now);
    if (by_n != by_p) { /* §12.2: one number, one peer, both ways */
        hx__turn_answer_error(r, HX_STUN_ERR_BAD_REQUEST, "channel or peer already bound");
        return;
    }
    bool need_perm = !hx__turn_perm_find(a, &peer, r->now);
    if ((!by_n && a->n_channels == HX__TURN_MAX_CHANNELS) ||
        (need_perm && a->n_perms == HX__TURN_MAX_PERMS)) {
        hx__turn_answer_error(r, HX__TURN_ERR_CAPACITY, "Insufficient Capacity");
        return;
    }
    if (!by_n) {
        by_n = &a->channels[a->n_channels++];
        by_n->number = number;
        by_n->peer = peer;
    }
    by_n->expires = r->now + HX__TURN_CHANNEL_MS;
    hx__turn_perm_set(a, &peer, v == HX__PEER_OWN_ONLY, r->now); /* §12.2: refreshes it too */
    hx__turn_alloc_reschedule(r->t, a);
    empty_success(r, HX_STUN_CHANNEL_BIND);
}

/* --- relaying to peers --------------------------------------------------- */

void hx__turn_to_peer(hx_turn_core *t, hx__turn_alloc *a, const hx__turn_addr *peer,
                      const uint8_t *data, size_t len, int64_t now_ms)
{
    void *relay = a->relay[hx__turn_family_index(peer->family)];
    hx__turn_perm *p = relay ? hx__turn_perm_find(a, peer, now_ms) : NULL;
    /* §11.2 (Send) and §12.5 (ChannelData): no permission, no packet; an own IP only to own ports.
     */
    if (!p || (p->own_only && !hx__turn_policy_own_port(&t->policy, peer))) {
        HX__COUNT(t, dropped_packets, 1);
        return;
    }
    if (!hx__turn_user_spend(t, a->user, HX__TURN_TO_PEER, len, now_ms)) {
        HX__COUNT(t, quota_refusals, 1);
        return;
    }
    size_t cap = 0;
    uint8_t *buf = t->io.peer_slot(t->io.ctx, relay, &cap);
    if (!buf) return;
    if (len > cap) {
        t->io.peer_commit(t->io.ctx, relay, NULL, 0);
        HX__COUNT(t, dropped_packets, 1);
        return;
    }
    struct sockaddr_storage to;
    hx__turn_addr_to(peer, &to);
    memcpy(buf, data, len);
    t->io.peer_commit(t->io.ctx, relay, &to, len);
    HX__COUNT(t, relayed_packets, 1);
    HX__COUNT(t, relayed_bytes, len);
}

void hx__turn_send(hx__turn_req *r)
{
    hx__turn_addr peer;
    const uint8_t *data;
    size_t len;
    /* §11.2: indications are not authenticated and never answered; bad ones are dropped. */
    if (!r->a || peer_at(r->m, 0, &peer) != HX_STUN_OK ||
        hx_stun_get_bytes(r->m, HX_STUN_ATTR_DATA, &data, &len) != HX_STUN_OK) {
        HX__COUNT(r->t, dropped_packets, 1);
        return;
    }
    hx__turn_to_peer(r->t, r->a, &peer, data, len, r->now);
}
