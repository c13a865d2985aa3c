/*
 * The peer policy (docs/turn.md): every forbidden range refused with 403
 * by CreatePermission and ChannelBind (and counted), IPv4-mapped IPv6
 * judged as IPv4, allow-list CIDRs accepted, and the SFU's own ip:port
 * reachable while other ports on its IP are refused (ChannelBind) or
 * dropped (Send, ChannelData, and datagrams from them). All in the core:
 * nothing is sent anywhere.
 */
#include "turn_fixture.h"

#include "turn/core_internal.h"

static const char *const forbidden[] = {
    "0.0.0.0",
    "0.1.2.3",
    "127.0.0.1",
    "127.255.255.254",
    "10.0.0.1",
    "10.255.255.255",
    "172.16.0.1",
    "172.31.255.255",
    "192.168.0.1",
    "192.168.255.255",
    "100.64.0.1",
    "100.127.255.255",
    "169.254.0.1",
    "169.254.169.254",
    "224.0.0.1",
    "239.255.255.250",
    "255.255.255.255",
    "240.0.0.1",
    "::",
    "::1",
    "fc00::1",
    "fdff:ffff::1",
    "fe80::1",
    "febf::1",
    "ff02::1",
    "ff0e::1",
    "::ffff:127.0.0.1",
    "::ffff:10.1.2.3",
    "::ffff:169.254.169.254",
    "::127.0.0.1",
    "fec0::1",
};

static const char *const public_ones[] = {
    "1.1.1.1",         "8.8.8.8",      "9.255.255.255",  "11.0.0.1",
    "100.63.255.255",  "100.128.0.1",  "172.15.255.255", "172.32.0.1",
    "192.167.255.255", "192.169.0.1",  "169.253.0.1",    "223.255.255.255",
    "2001:4860::8888", "2a00:1450::1", "::ffff:8.8.8.8", "fbff::1",
};

static void classifier_table(void **state)
{
    for (size_t i = 0; i < sizeof forbidden / sizeof forbidden[0]; i++) {
        hx__turn_cidr c;
        assert_int_equal(hx__turn_cidr_parse(forbidden[i], &c), 0);
        if (!hx__turn_addr_forbidden(&c.net)) fail_msg("%s should be forbidden", forbidden[i]);
    }
    for (size_t i = 0; i < sizeof public_ones / sizeof public_ones[0]; i++) {
        hx__turn_cidr c;
        assert_int_equal(hx__turn_cidr_parse(public_ones[i], &c), 0);
        if (hx__turn_addr_forbidden(&c.net)) fail_msg("%s should be allowed", public_ones[i]);
    }
}

static void cidr_parse_and_match(void **state)
{
    hx__turn_cidr c;
    hx__turn_addr a;
    assert_int_equal(hx__turn_cidr_parse("10.1.0.0/16", &c), 0);
    struct sockaddr_storage ss = fx_addr("10.1.200.3", 1);
    hx__turn_addr_from(&a, &ss);
    assert_true(hx__turn_cidr_match(&c, &a));
    ss = fx_addr("10.2.0.1", 1);
    hx__turn_addr_from(&a, &ss);
    assert_false(hx__turn_cidr_match(&c, &a));
    ss = fx_addr("::ffff:10.1.0.9", 1); /* mapped: matches the IPv4 CIDR */
    hx__turn_addr_from(&a, &ss);
    assert_true(hx__turn_cidr_match(&c, &a));
    assert_int_equal(hx__turn_cidr_parse("fd00::/8", &c), 0);
    ss = fx_addr("fd12::1", 1);
    hx__turn_addr_from(&a, &ss);
    assert_true(hx__turn_cidr_match(&c, &a));
    assert_int_equal(hx__turn_cidr_parse("0.0.0.0/0", &c), 0);
    static const char *const bad[] = {"",     "10.0.0.0/33", "::/129",      "10.0.0/8",
                                      "host", "10.0.0.0/",   "10.0.0.0/8x", "/8"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(hx__turn_cidr_parse(bad[i], &c), -1);
    /* A core refuses to start on a list it cannot read. */
    hx_turn_config cfg;
    fx_config(&cfg);
    snprintf(cfg.allow[0], sizeof cfg.allow[0], "10.0.0.0/99");
    cfg.n_allow = 1;
    hx_turn_core *core = NULL;
    hx_turn_io io = {0};
    uint8_t key[HX_TURN_NONCE_KEY_LEN] = {0};
    char err[256];
    assert_int_equal(hx_turn_core_new(&cfg, key, &io, &core, err, sizeof err), -1);
    assert_non_null(strstr(err, "10.0.0.0/99"));
}

static fx *allocated(hx_turn_config *cfg, fx_peer *p, bool v6)
{
    fx *f = fx_new_with(cfg);
    f->v6 = v6;
    hx_turn_client c = fx_client(HX_TURN_UDP, 0, "203.0.113.5", 40000);
    *p = fx_peer_new(&c, "alice");
    hx_stun_msg m;
    fx_req r;
    fx_begin(f, &r, HX_STUN_ALLOCATE);
    fx_put_transport(&r, 17);
    assert_int_equal(fx_request(f, p, &r, &m), 401);
    fx_begin(f, &r, HX_STUN_ALLOCATE);
    fx_put_transport(&r, 17);
    if (v6) hx_stun_put_u32(&r.w, 0x8000, 0x02000000); /* an IPv6 relay too */
    assert_int_equal(fx_request(f, p, &r, &m), 0);
    return f;
}

static void forbidden_peers_get_403(void **state)
{
    hx_turn_config cfg;
    fx_config(&cfg);
    fx_peer p;
    fx *f = allocated(&cfg, &p, true);
    hx_stun_msg m;
    size_t n = sizeof forbidden / sizeof forbidden[0];
    for (size_t i = 0; i < n; i++) {
        if (fx_permission(f, &p, forbidden[i], &m) != 403)
            fail_msg("permission to %s", forbidden[i]);
        if (fx_channel(f, &p, 0x4000, forbidden[i], 3478, &m) != 403)
            fail_msg("channel to %s", forbidden[i]);
    }
    hx_turn_stats st;
    hx_turn_core_stats(f->core, &st);
    assert_int_equal(st.refused_peers, 2 * n);
    /* A CreatePermission listing a public peer and a forbidden one installs neither. */
    fx_req r;
    fx_begin(f, &r, HX_STUN_CREATE_PERMISSION);
    struct sockaddr_storage ok = fx_addr("8.8.8.8", 1), no = fx_addr("10.0.0.1", 1);
    hx_stun_put_xor_addr(&r.w, HX_STUN_ATTR_XOR_PEER_ADDRESS, (struct sockaddr *)&ok);
    hx_stun_put_xor_addr(&r.w, HX_STUN_ATTR_XOR_PEER_ADDRESS, (struct sockaddr *)&no);
    assert_int_equal(fx_request(f, &p, &r, &m), 403);
    fx_clear(f);
    fx_send_indication(f, &p, "8.8.8.8", 53, "q", 1);
    assert_int_equal(fx_to_peers(f, NULL), 0);
    /* Public peers of both families are fine. */
    assert_int_equal(fx_permission(f, &p, "8.8.8.8", &m), 0);
    assert_int_equal(fx_permission(f, &p, "2001:4860::8888", &m), 0);
    fx_clear(f);
    fx_send_indication(f, &p, "2001:4860::8888", 53, "q", 1);
    const fx_msg *o = NULL;
    assert_int_equal(fx_to_peers(f, &o), 1);
    assert_int_equal(o->relay, 2); /* through the IPv6 relay */
    fx_free(f);
}

static void peer_family_without_relay_is_443(void **state)
{
    hx_turn_config cfg;
    fx_config(&cfg);
    fx_peer p;
    fx *f = allocated(&cfg, &p, false);
    hx_stun_msg m;
    assert_int_equal(fx_permission(f, &p, "2001:4860::8888", &m), 443);
    fx_free(f);
}

static void allow_list_opens_ranges(void **state)
{
    hx_turn_config cfg;
    fx_config(&cfg);
    static const char *const allow[] = {"127.0.0.1", "10.20.0.0/16", "fd00:1::/32"};
    for (size_t i = 0; i < 3; i++)
        snprintf(cfg.allow[i], sizeof cfg.allow[i], "%s", allow[i]);
    cfg.n_allow = 3;
    fx_peer p;
    fx *f = allocated(&cfg, &p, true);
    hx_stun_msg m;
    assert_int_equal(fx_permission(f, &p, "127.0.0.1", &m), 0);
    assert_int_equal(fx_permission(f, &p, "127.0.0.2", &m), 403);
    assert_int_equal(fx_permission(f, &p, "10.20.255.1", &m), 0);
    assert_int_equal(fx_permission(f, &p, "10.21.0.1", &m), 403);
    assert_int_equal(fx_permission(f, &p, "fd00:1:ffff::9", &m), 0);
    assert_int_equal(fx_permission(f, &p, "fd00:2::9", &m), 403);
    assert_int_equal(fx_channel(f, &p, 0x4100, "127.0.0.1", 5555, &m), 0);
    /* Allowed: every port. */
    fx_clear(f);
    fx_send_indication(f, &p, "127.0.0.1", 1, "a", 1);
    fx_send_indication(f, &p, "10.20.255.1", 65535, "b", 1);
    assert_int_equal(fx_to_peers(f, NULL), 2);
    fx_free(f);
}

static void own_addresses_only_their_ports(void **state)
{
    hx_turn_config cfg;
    fx_config(&cfg);
    cfg.own[0] = fx_addr("10.0.0.5", 40000); /* the SFU's UDP and ICE-TCP ports */
    cfg.own[1] = fx_addr("10.0.0.5", 40001);
    cfg.own[2] = fx_addr("203.0.113.80", 3479); /* a public own address: the same rule */
    cfg.n_own = 3;
    fx_peer p;
    fx *f = allocated(&cfg, &p, false);
    hx_stun_msg m;
    uint64_t id = fx_relay_at(f, 0)->id;
    assert_int_equal(fx_permission(f, &p, "10.0.0.5", &m), 0);
    assert_int_equal(fx_permission(f, &p, "10.0.0.6", &m), 403);
    assert_int_equal(fx_channel(f, &p, 0x4000, "10.0.0.5", 40000, &m), 0);
    assert_int_equal(fx_channel(f, &p, 0x4001, "10.0.0.5", 22, &m), 403);
    assert_int_equal(fx_channel(f, &p, 0x4002, "203.0.113.80", 3479, &m), 0);
    assert_int_equal(fx_channel(f, &p, 0x4003, "203.0.113.80", 3480, &m), 403);

    fx_clear(f);
    fx_send_indication(f, &p, "10.0.0.5", 40001, "ok", 2);
    fx_channel_data(f, &p, 0x4000, "ok", 2);
    const fx_msg *o = NULL;
    assert_int_equal(fx_to_peers(f, &o), 2);
    assert_int_equal(fx_port(&o->peer), 40000);
    /* Other ports on the SFU's IP: dropped, both ways. */
    fx_clear(f);
    fx_send_indication(f, &p, "10.0.0.5", 22, "no", 2);
    fx_send_indication(f, &p, "10.0.0.5", 40002, "no", 2);
    struct sockaddr_storage ssh = fx_addr("10.0.0.5", 22), media = fx_addr("10.0.0.5", 40000);
    hx_turn_core_peer(f->core, id, &ssh, (const uint8_t *)"no", 2, f->now);
    assert_int_equal(f->n_out, 0);
    hx_turn_core_peer(f->core, id, &media, (const uint8_t *)"ok", 2, f->now);
    assert_int_equal(f->n_out, 1);
    /* The own IP written as IPv4-mapped IPv6 is still the own IP with its rule. */
    assert_int_equal(fx_permission(f, &p, "::ffff:10.0.0.5", &m), 443); /* no IPv6 relay here */
    fx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(classifier_table),
        cmocka_unit_test(cidr_parse_and_match),
        cmocka_unit_test(forbidden_peers_get_403),
        cmocka_unit_test(peer_family_without_relay_is_443),
        cmocka_unit_test(allow_list_opens_ranges),
        cmocka_unit_test(own_addresses_only_their_ports),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
