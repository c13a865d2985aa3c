/*
 * The TURN core's allocations (RFC 8656 §7-§12): Allocate's refusals
 * (437, 442, 440, 486, 508) and its retransmission, lifetimes run by the
 * deadline heap (expiry frees the relay; Refresh extends, Refresh 0
 * deletes), permissions and channels and their expiry, relaying both ways
 * (Send/Data indications, ChannelData over UDP and padded over streams),
 * the per-user bandwidth bucket, and a stream's close freeing its
 * allocation.
 */
#include "turn_fixture.h"

static fx *with_allow_all(void)
{
    hx_turn_config cfg;
    fx_config(&cfg);
    cfg.n_allow = 0; /* the documentation ranges below are public as far as the policy knows */
    return fx_new_with(&cfg);
}

static void mismatch_retransmit_and_transport(void **state)
{
    fx *f = fx_new();
    hx_turn_client c = fx_client(HX_TURN_UDP, 0, "203.0.113.5", 40000);
    fx_peer p = fx_peer_new(&c, "alice");
    hx_stun_msg m;
    fx_req r;
    fx_begin(f, &r, HX_STUN_ALLOCATE);
    fx_put_transport(&r, 17);
    assert_int_equal(fx_request(f, &p, &r, &m), 401);
    fx_begin(f, &r, HX_STUN_ALLOCATE);
    fx_put_transport(&r, 6); /* TCP relaying (RFC 6062) is not offered */
    assert_int_equal(fx_request(f, &p, &r, &m), 442);
    fx_begin(f, &r, HX_STUN_ALLOCATE);
    assert_int_equal(fx_request(f, &p, &r, &m), 400); /* no REQUESTED-TRANSPORT */
    fx_begin(f, &r, HX_STUN_ALLOCATE);
    fx_put_transport(&r, 17);
    assert_int_equal(fx_request(f, &p, &r, &m), 0);
    /* The same request again (a UDP retransmission): the same success, no second allocation. */
    fx_clear(f);
    hx_turn_core_client(f->core, &c, r.buf, (size_t)hx_stun_writer_finish(&r.w), f->now);
    fx_last_to(f, &c, &m);
    assert_int_equal(fx_code(&m), 0);
    assert_int_equal(hx_turn_core_allocations(f->core), 1);
    /* A new Allocate on the 5-tuple: 437. */
    fx_begin(f, &r, HX_STUN_ALLOCATE);
    fx_put_transport(&r, 17);
    assert_int_equal(fx_request(f, &p, &r, &m), 437);
    assert_int_equal(f->n_relays, 1);
    fx_free(f);
}

static void address_families(void **state)
{
    fx *f = fx_new();
    hx_turn_client c = fx_client(HX_TURN_UDP, 0, "203.0.113.5", 40000);
    fx_peer p = fx_peer_new(&c, "alice");
    hx_stun_msg m;
    fx_req r;
    fx_begin(f, &r, HX_STUN_ALLOCATE);
    fx_put_transport(&r, 17);
    assert_int_equal(fx_request(f, &p, &r, &m), 401);
    /* IPv6 asked, the relay host has none: 440. */
    fx_begin(f, &r, HX_STUN_ALLOCATE);
    fx_put_transport(&r, 17);
    hx_stun_put_u32(&r.w, HX_STUN_ATTR_REQUESTED_ADDRESS_FAMILY, 0x02000000);
    assert_int_equal(fx_request(f, &p, &r, &m), 440);
    /* A family that does not exist: 440; both attributes at once: 400. */
    fx_begin(f, &r, HX_STUN_ALLOCATE);
    fx_put_transport(&r, 17);
    hx_stun_put_u32(&r.w, HX_STUN_ATTR_REQUESTED_ADDRESS_FAMILY, 0x07000000);
    assert_int_equal(fx_request(f, &p, &r, &m), 440);
    fx_begin(f, &r, HX_STUN_ALLOCATE);
    fx_put_transport(&r, 17);
    hx_stun_put_u32(&r.w, HX_STUN_ATTR_REQUESTED_ADDRESS_FAMILY, 0x01000000);
    hx_stun_put_u32(&r.w, 0x8000, 0x02000000);
    assert_int_equal(fx_request(f, &p, &r, &m), 400);
    /* ADDITIONAL-ADDRESS-FAMILY IPv6 without IPv6: IPv4 granted, ADDRESS-ERROR-CODE 440. */
    fx_begin(f, &r, HX_STUN_ALLOCATE);
    fx_put_transport(&r, 17);
    hx_stun_put_u32(&r.w, 0x8000, 0x02000000);
    assert_int_equal(fx_request(f, &p, &r, &m), 0);
    const uint8_t *v;
    size_t n;
    assert_int_equal(hx_stun_get_bytes(&m, 0x8001, &v, &n), 0);
    assert_true(n >= 4);
    assert_int_equal(v[0], 0x02);
    assert_int_equal(v[2] * 100 + v[3], 440);
    fx_free(f);

    /* With IPv6 relays: both addresses in the answer, both relays open. */
    f = fx_new();
    f->v6 = true;
    p = fx_peer_new(&c, "alice");
    fx_begin(f, &r, HX_STUN_ALLOCATE);
    fx_put_transport(&r, 17);
    assert_int_equal(fx_request(f, &p, &r, &m), 401);
    fx_begin(f, &r, HX_STUN_ALLOCATE);
    fx_put_transport(&r, 17);
    hx_stun_put_u32(&r.w, 0x8000, 0x02000000);
    assert_int_equal(fx_request(f, &p, &r, &m), 0);
    int relayed = 0;
    for (unsigned i = 0; i < m.n_attrs; i++)
        relayed += m.attrs[i].type == HX_STUN_ATTR_XOR_RELAYED_ADDRESS;
    assert_int_equal(relayed, 2);
    assert_int_equal(fx_open_relays(f), 2);
    fx_free(f);
}

static void quotas_per_user_and_in_all(void **state)
{
    fx *f = fx_new(); /* 3 per user, 8 in all */
    hx_stun_msg m;
    fx_peer alice[4];
    for (int i = 0; i < 4; i++) {
        hx_turn_client c = fx_client(HX_TURN_UDP, 0, "203.0.113.5", 40000 + i);
        alice[i] = fx_peer_new(&c, "alice");
        /* The same user id under another expiry is the same user. */
        if (i == 2) fx_cred(&alice[i], FX_SECRET, "alice", FX_UNIX_S + 99);
        assert_int_equal(fx_allocate(f, &alice[i], &m, 0), i < 3 ? 0 : 486);
    }
    assert_int_equal(hx_turn_core_user_allocations(f->core, "alice"), 3);
    hx_turn_stats st;
    hx_turn_core_stats(f->core, &st);
    assert_int_equal(st.quota_refusals, 1);
    /* One of alice's goes: she may allocate again. */
    fx_req r;
    fx_begin(f, &r, HX_STUN_REFRESH);
    hx_stun_put_u32(&r.w, HX_STUN_ATTR_LIFETIME, 0);
    assert_int_equal(fx_request(f, &alice[0], &r, &m), 0);
    assert_int_equal(fx_allocate(f, &alice[3], &m, 0), 0);
    /* Other users up to the total cap of 8, then 508. */
    int ok = 0, full = 0;
    for (int i = 0; i < 6; i++) {
        hx_turn_client c = fx_client(HX_TURN_UDP, 0, "203.0.113.9", 41000 + i);
        char user[16];
        snprintf(user, sizeof user, "u%d", i);
        fx_peer p = fx_peer_new(&c, user);
        int code = fx_allocate(f, &p, &m, 0);
        ok += code == 0;
        full += code == 508;
    }
    assert_int_equal(ok, 5);
    assert_int_equal(full, 1);
    assert_int_equal(hx_turn_core_allocations(f->core), 8);
    fx_free(f);
}

static void lifetime_expiry_refresh_and_delete(void **state)
{
    fx *f = fx_new();
    hx_turn_client c = fx_client(HX_TURN_UDP, 0, "203.0.113.5", 40000);
    fx_peer p = fx_peer_new(&c, "alice");
    hx_stun_msg m;
    assert_int_equal(fx_allocate(f, &p, &m, 99999), 0);
    assert_int_equal(fx_u32(&m, HX_STUN_ATTR_LIFETIME), 3600); /* capped at max_lifetime_s */
    fx_req r;
    fx_begin(f, &r, HX_STUN_REFRESH);
    hx_stun_put_u32(&r.w, HX_STUN_ATTR_LIFETIME, 30);
    assert_int_equal(fx_request(f, &p, &r, &m), 0);
    assert_int_equal(fx_u32(&m, HX_STUN_ATTR_LIFETIME), 30);
    assert_int_equal(hx_turn_core_next_deadline(f->core), f->now + 30000);
    fx_advance(f, 29000);
    assert_int_equal(hx_turn_core_allocations(f->core), 1);
    assert_true(f->relays[0].open);
    fx_advance(f, 1000);
    assert_int_equal(hx_turn_core_allocations(f->core), 0); /* expired, relay closed */
    assert_false(f->relays[0].open);
    assert_int_equal(hx_turn_core_user_allocations(f->core, "alice"), 0);
    assert_int_equal(hx_turn_core_next_deadline(f->core), INT64_MAX);
    /* Refresh without an allocation: 437. */
    fx_begin(f, &r, HX_STUN_REFRESH);
    assert_int_equal(fx_request(f, &p, &r, &m), 437);
    /* A fresh one, deleted by LIFETIME 0 (answered with LIFETIME 0, signed). */
    assert_int_equal(fx_allocate(f, &p, &m, 0), 0);
    assert_int_equal(fx_u32(&m, HX_STUN_ATTR_LIFETIME), 600); /* RFC 8656 default */
    fx_begin(f, &r, HX_STUN_REFRESH);
    hx_stun_put_u32(&r.w, HX_STUN_ATTR_LIFETIME, 0);
    assert_int_equal(fx_request(f, &p, &r, &m), 0);
    assert_int_equal(fx_u32(&m, HX_STUN_ATTR_LIFETIME), 0);
    assert_int_equal(hx_turn_core_allocations(f->core), 0);
    assert_int_equal(fx_open_relays(f), 0);
    hx_turn_stats st;
    hx_turn_core_stats(f->core, &st);
    assert_int_equal(st.allocations, 0);
    assert_int_equal(st.allocations_total, 2);
    fx_free(f);
}

static void many_deadlines_fire_in_order(void **state)
{
    hx_turn_config cfg;
    fx_config(&cfg);
    cfg.max_total_allocations = 64;
    cfg.max_allocations = 64;
    fx *f = fx_new_with(&cfg);
    hx_stun_msg m;
    for (int i = 0; i < 40; i++) {
        hx_turn_client c = fx_client(HX_TURN_UDP, 0, "203.0.113.5", 30000 + i);
        fx_peer p = fx_peer_new(&c, "alice");
        assert_int_equal(fx_allocate(f, &p, &m, (uint32_t)(10 + (i * 37) % 40)), 0);
    }
    for (int s = 0; s <= 50; s++) {
        fx_advance(f, 1000);
        size_t want = 0;
        for (int i = 0; i < 40; i++)
            if (10 + (i * 37) % 40 > s + 1) want++;
        assert_int_equal(hx_turn_core_allocations(f->core), want);
    }
    fx_free(f);
}

static void permissions_channels_and_relaying(void **state)
{
    fx *f = with_allow_all();
    hx_turn_client c = fx_client(HX_TURN_UDP, 0, "203.0.113.5", 40000);
    fx_peer p = fx_peer_new(&c, "alice");
    hx_stun_msg m;
    assert_int_equal(fx_allocate(f, &p, &m, 0), 0);
    uint64_t id = fx_relay_at(f, 0)->id;
    struct sockaddr_storage peer = fx_addr("192.0.2.10", 7000);

    /* No permission: Send is dropped, the peer's datagram too. */
    fx_clear(f);
    fx_send_indication(f, &p, "192.0.2.10", 7000, "ping", 4);
    hx_turn_core_peer(f->core, id, &peer, (const uint8_t *)"pong", 4, f->now);
    assert_int_equal(f->n_out, 0);

    assert_int_equal(fx_permission(f, &p, "192.0.2.10", &m), 0);
    fx_clear(f);
    fx_send_indication(f, &p, "192.0.2.10", 7000, "ping", 4);
    const fx_msg *o = NULL;
    assert_int_equal(fx_to_peers(f, &o), 1);
    assert_int_equal(o->len, 4);
    assert_memory_equal(o->buf, "ping", 4);
    assert_true(fx_same_addr(&o->peer, &peer));
    assert_int_equal(o->relay, 1);

    /* Peer to client without a channel: a Data indication with XOR-PEER-ADDRESS. */
    fx_clear(f);
    hx_turn_core_peer(f->core, id, &peer, (const uint8_t *)"pong!", 5, f->now);
    fx_last_to(f, &c, &m);
    assert_int_equal(m.type, HX_STUN_DATA | HX_STUN_CLASS_INDICATION);
    struct sockaddr_storage from;
    assert_int_equal(hx_stun_get_xor_addr(&m, HX_STUN_ATTR_XOR_PEER_ADDRESS, &from), 0);
    assert_true(fx_same_addr(&from, &peer));
    const uint8_t *d;
    size_t dl;
    assert_int_equal(hx_stun_get_bytes(&m, HX_STUN_ATTR_DATA, &d, &dl), 0);
    assert_int_equal(dl, 5);
    assert_memory_equal(d, "pong!", 5);
    /* A stale allocation id (another generation) reaches nothing. */
    fx_clear(f);
    hx_turn_core_peer(f->core, id + (1ull << 32), &peer, (const uint8_t *)"x", 1, f->now);
    assert_int_equal(f->n_out, 0);

    /* A channel: ChannelData both ways (unpadded over UDP). */
    assert_int_equal(fx_channel(f, &p, 0x4001, "192.0.2.10", 7000, &m), 0);
    fx_clear(f);
    fx_channel_data(f, &p, 0x4001, "abcde", 5);
    assert_int_equal(fx_to_peers(f, &o), 1);
    assert_memory_equal(o->buf, "abcde", 5);
    fx_clear(f);
    hx_turn_core_peer(f->core, id, &peer, (const uint8_t *)"xyz", 3, f->now);
    o = fx_last_to(f, &c, NULL);
    assert_int_equal(o->len, 7);
    assert_int_equal(hx_rd16(o->buf), 0x4001);
    assert_int_equal(hx_rd16(o->buf + 2), 3);
    assert_memory_equal(o->buf + 4, "xyz", 3);
    /* An unbound channel and a reserved number are dropped. */
    fx_clear(f);
    fx_channel_data(f, &p, 0x4002, "abcde", 5);
    uint8_t bad[8] = {0x7f, 0xff, 0, 4, 1, 2, 3, 4};
    hx_turn_core_client(f->core, &c, bad, sizeof bad, f->now);
    uint8_t truncated[6] = {0x40, 0x01, 0, 9, 1, 2};
    hx_turn_core_client(f->core, &c, truncated, sizeof truncated, f->now);
    assert_int_equal(fx_to_peers(f, NULL), 0);

    /* Channel rules: range, one number one peer. */
    assert_int_equal(fx_channel(f, &p, 0x3fff, "192.0.2.10", 7001, &m), 400);
    assert_int_equal(fx_channel(f, &p, 0x8000, "192.0.2.10", 7001, &m), 400);
    assert_int_equal(fx_channel(f, &p, 0x4001, "192.0.2.10", 7001, &m), 400);
    assert_int_equal(fx_channel(f, &p, 0x4003, "192.0.2.10", 7000, &m), 400);
    assert_int_equal(fx_channel(f, &p, 0x4001, "192.0.2.10", 7000, &m), 0); /* a refresh */
    assert_int_equal(fx_channel(f, &p, 0x4FFF, "192.0.2.11", 7000, &m), 0);
    assert_int_equal(fx_channel(f, &p, 0x7FFF, "192.0.2.12", 7000, &m), 0); /* RFC 5766 range */

    hx_turn_stats st;
    hx_turn_core_stats(f->core, &st);
    assert_int_equal(st.relayed_packets, 4);
    assert_int_equal(st.relayed_bytes, 4 + 5 + 5 + 3);
    fx_free(f);
}

static void permission_and_channel_expiry(void **state)
{
    fx *f = with_allow_all();
    hx_turn_client c = fx_client(HX_TURN_UDP, 0, "203.0.113.5", 40000);
    fx_peer p = fx_peer_new(&c, "alice");
    hx_stun_msg m;
    assert_int_equal(fx_allocate(f, &p, &m, 3600), 0);
    uint64_t id = fx_relay_at(f, 0)->id;
    assert_int_equal(fx_permission(f, &p, "192.0.2.10", &m), 0);
    assert_int_equal(fx_channel(f, &p, 0x4010, "192.0.2.20", 5000, &m), 0);
    struct sockaddr_storage a = fx_addr("192.0.2.10", 1), b = fx_addr("192.0.2.20", 5000);

    fx_advance(f, 299000); /* the permission has a second left */
    fx_clear(f);
    hx_turn_core_peer(f->core, id, &a, (const uint8_t *)"1", 1, f->now);
    assert_int_equal(f->n_out, 1);
    fx_advance(f, 1000); /* 300 s: gone */
    fx_clear(f);
    hx_turn_core_peer(f->core, id, &a, (const uint8_t *)"1", 1, f->now);
    fx_send_indication(f, &p, "192.0.2.10", 1, "x", 1);
    assert_int_equal(f->n_out, 0);
    /* The channel's own permission also lapsed at 300 s: ChannelBind refreshes both. */
    fx_channel_data(f, &p, 0x4010, "x", 1);
    assert_int_equal(fx_to_peers(f, NULL), 0);
    assert_int_equal(fx_channel(f, &p, 0x4010, "192.0.2.20", 5000, &m), 0);
    fx_clear(f);
    fx_channel_data(f, &p, 0x4010, "x", 1);
    assert_int_equal(fx_to_peers(f, NULL), 1);
    fx_advance(f, 600000); /* the channel (600 s) is gone, number free for another peer */
    fx_clear(f);
    fx_channel_data(f, &p, 0x4010, "x", 1);
    hx_turn_core_peer(f->core, id, &b, (const uint8_t *)"1", 1, f->now);
    assert_int_equal(f->n_out, 0);
    assert_int_equal(fx_channel(f, &p, 0x4010, "192.0.2.30", 5000, &m), 0);
    assert_int_equal(hx_turn_core_allocations(f->core), 1);
    fx_free(f);
}

static void stream_clients_and_close(void **state)
{
    fx *f = with_allow_all();
    hx_turn_client c = fx_client(HX_TURN_TCP, 42, "203.0.113.5", 40000);
    hx_turn_client other = fx_client(HX_TURN_TCP, 43, "203.0.113.5", 40000);
    fx_peer p = fx_peer_new(&c, "alice");
    hx_stun_msg m;
    assert_int_equal(fx_allocate(f, &p, &m, 0), 0);
    uint64_t id = fx_relay_at(f, 0)->id;
    assert_int_equal(fx_channel(f, &p, 0x4001, "192.0.2.10", 7000, &m), 0);
    struct sockaddr_storage peer = fx_addr("192.0.2.10", 7000);
    fx_clear(f);
    hx_turn_core_peer(f->core, id, &peer, (const uint8_t *)"xyz", 3, f->now);
    const fx_msg *o = fx_last_to(f, &c, NULL);
    assert_int_equal(o->len, 8); /* padded to 4 on streams (§12.5) */
    assert_int_equal(hx_rd16(o->buf + 2), 3);
    assert_int_equal(o->buf[7], 0);
    fx_clear(f);
    fx_channel_data(f, &p, 0x4001, "abcde", 5); /* sent padded, relayed without the padding */
    const fx_msg *to = NULL;
    assert_int_equal(fx_to_peers(f, &to), 1);
    assert_int_equal(to->len, 5);
    /* Another connection from the same address is another 5-tuple. */
    hx_turn_core_conn_closed(f->core, &other);
    assert_int_equal(hx_turn_core_allocations(f->core), 1);
    hx_turn_core_conn_closed(f->core, &c);
    assert_int_equal(hx_turn_core_allocations(f->core), 0);
    assert_int_equal(fx_open_relays(f), 0);
    fx_free(f);
}

static void bandwidth_bucket_drops_and_counts(void **state)
{
    hx_turn_config cfg;
    fx_config(&cfg);
    cfg.max_bps = 80000; /* 10 kB/s per direction */
    fx *f = fx_new_with(&cfg);
    hx_turn_client c = fx_client(HX_TURN_UDP, 0, "203.0.113.5", 40000);
    fx_peer p = fx_peer_new(&c, "alice");
    hx_stun_msg m;
    assert_int_equal(fx_allocate(f, &p, &m, 0), 0);
    assert_int_equal(fx_permission(f, &p, "192.0.2.10", &m), 0);
    uint8_t data[1000] = {0};
    fx_clear(f);
    for (int i = 0; i < 15; i++)
        fx_send_indication(f, &p, "192.0.2.10", 7000, data, sizeof data);
    assert_int_equal(fx_to_peers(f, NULL), 10); /* a second's worth, then drops */
    hx_turn_stats st;
    hx_turn_core_stats(f->core, &st);
    assert_int_equal(st.quota_refusals, 5);
    /* The other direction has its own bucket. */
    uint64_t id = fx_relay_at(f, 0)->id;
    struct sockaddr_storage peer = fx_addr("192.0.2.10", 7000);
    fx_clear(f);
    for (int i = 0; i < 12; i++)
        hx_turn_core_peer(f->core, id, &peer, data, sizeof data, f->now);
    assert_int_equal(f->n_out, 10);
    /* Half a second later, half a second's worth more. */
    f->now += 500;
    fx_clear(f);
    for (int i = 0; i < 10; i++)
        fx_send_indication(f, &p, "192.0.2.10", 7000, data, sizeof data);
    assert_int_equal(fx_to_peers(f, NULL), 5);
    fx_free(f);
}

static void relay_failure_and_oversized(void **state)
{
    fx *f = with_allow_all();
    hx_turn_client c = fx_client(HX_TURN_UDP, 0, "203.0.113.5", 40000);
    fx_peer p = fx_peer_new(&c, "alice");
    hx_stun_msg m;
    f->relay_fail = -EADDRINUSE; /* the port range is exhausted */
    assert_int_equal(fx_allocate(f, &p, &m, 0), 508);
    assert_int_equal(hx_turn_core_allocations(f->core), 0);
    assert_int_equal(hx_turn_core_user_allocations(f->core, "alice"), 0);
    f->relay_fail = 0;
    assert_int_equal(fx_allocate(f, &p, &m, 0), 0);
    assert_int_equal(fx_permission(f, &p, "192.0.2.10", &m), 0);
    /* A peer datagram that does not fit the client's path once wrapped is dropped. */
    f->slot_cap_udp = 100;
    uint8_t big[200] = {0};
    struct sockaddr_storage peer = fx_addr("192.0.2.10", 7000);
    fx_clear(f);
    hx_turn_core_peer(f->core, fx_relay_at(f, 0)->id, &peer, big, sizeof big, f->now);
    assert_int_equal(f->n_out, 0);
    hx_turn_stats st;
    hx_turn_core_stats(f->core, &st);
    assert_true(st.dropped_packets >= 1);
    fx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(mismatch_retransmit_and_transport),
        cmocka_unit_test(address_families),
        cmocka_unit_test(quotas_per_user_and_in_all),
        cmocka_unit_test(lifetime_expiry_refresh_and_delete),
        cmocka_unit_test(many_deadlines_fire_in_order),
        cmocka_unit_test(permissions_channels_and_relaying),
        cmocka_unit_test(permission_and_channel_expiry),
        cmocka_unit_test(stream_clients_and_close),
        cmocka_unit_test(bandwidth_bucket_drops_and_counts),
        cmocka_unit_test(relay_failure_and_oversized),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
