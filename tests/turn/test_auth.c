/*
 * The TURN core's long-term authentication (RFC 8489 §9.2, RFC 8656 §5)
 * over REST credentials: the 401 challenge, a full Allocate, stale and
 * foreign nonces (438), expired usernames, forged passwords, a second
 * (rotation) secret, wrong usernames on an existing allocation (441),
 * missing attributes (400), unknown comprehension-required attributes
 * (420, signed), and the counters each refusal moves.
 */
#include "turn_fixture.h"

static void challenge_then_allocate(void **state)
{
    fx *f = fx_new();
    hx_turn_client c = fx_client(HX_TURN_UDP, 0, "203.0.113.5", 40000);
    fx_peer p = fx_peer_new(&c, "alice");
    hx_stun_msg m;

    /* Without credentials: 401 with REALM and NONCE, unsigned, not an auth failure. */
    fx_req r;
    fx_begin(f, &r, HX_STUN_ALLOCATE);
    fx_put_transport(&r, 17);
    assert_int_equal(fx_request(f, &p, &r, &m), 401);
    assert_int_equal(hx_stun_method(m.type), HX_STUN_ALLOCATE);
    assert_int_equal(strlen(p.nonce), 32);
    hx_turn_stats st;
    hx_turn_core_stats(f->core, &st);
    assert_int_equal(st.auth_failures, 0);

    /* With them: a signed success, relayed and mapped addresses, the lifetime asked. */
    fx_begin(f, &r, HX_STUN_ALLOCATE);
    fx_put_transport(&r, 17);
    hx_stun_put_u32(&r.w, HX_STUN_ATTR_LIFETIME, 1200);
    assert_int_equal(fx_request(f, &p, &r, &m), 0);
    assert_memory_equal(m.tid, r.buf + 8, HX_STUN_TID_LEN);
    struct sockaddr_storage relayed, mapped;
    assert_int_equal(hx_stun_get_xor_addr(&m, HX_STUN_ATTR_XOR_RELAYED_ADDRESS, &relayed), 0);
    assert_true(fx_same_addr(&relayed, &fx_relay_at(f, 0)->addr));
    assert_int_equal(hx_stun_get_xor_addr(&m, HX_STUN_ATTR_XOR_MAPPED_ADDRESS, &mapped), 0);
    assert_true(fx_same_addr(&mapped, &c.addr));
    assert_int_equal(fx_u32(&m, HX_STUN_ATTR_LIFETIME), 1200);
    assert_int_equal(hx_turn_core_allocations(f->core), 1);
    assert_int_equal(hx_turn_core_user_allocations(f->core, "alice"), 1);
    hx_turn_core_stats(f->core, &st);
    assert_int_equal(st.allocations, 1);
    assert_int_equal(st.allocations_total, 1);
    fx_free(f);
}

static void stale_nonce_gets_438_and_a_new_one(void **state)
{
    fx *f = fx_new();
    hx_turn_client c = fx_client(HX_TURN_UDP, 0, "203.0.113.5", 40000);
    fx_peer p = fx_peer_new(&c, "alice");
    hx_stun_msg m;
    fx_req r;
    fx_begin(f, &r, HX_STUN_ALLOCATE);
    fx_put_transport(&r, 17);
    assert_int_equal(fx_request(f, &p, &r, &m), 401);
    char old[128];
    snprintf(old, sizeof old, "%s", p.nonce);
    fx_advance(f, (int64_t)f->cfg.nonce_lifetime_s * 1000 + 1000);
    fx_begin(f, &r, HX_STUN_ALLOCATE);
    fx_put_transport(&r, 17);
    assert_int_equal(fx_request(f, &p, &r, &m), 438); /* and p took the new nonce */
    assert_string_not_equal(old, p.nonce);
    fx_begin(f, &r, HX_STUN_ALLOCATE);
    fx_put_transport(&r, 17);
    assert_int_equal(fx_request(f, &p, &r, &m), 0);
    fx_free(f);
}

static void nonce_of_another_client_or_forged_is_refused(void **state)
{
    fx *f = fx_new();
    hx_turn_client c1 = fx_client(HX_TURN_UDP, 0, "203.0.113.5", 40000);
    hx_turn_client c2 = fx_client(HX_TURN_UDP, 0, "203.0.113.6", 40000);
    fx_peer p1 = fx_peer_new(&c1, "alice"), p2 = fx_peer_new(&c2, "bob");
    hx_stun_msg m;
    fx_req r;
    fx_begin(f, &r, HX_STUN_ALLOCATE);
    fx_put_transport(&r, 17);
    assert_int_equal(fx_request(f, &p1, &r, &m), 401);
    snprintf(p2.nonce, sizeof p2.nonce, "%s", p1.nonce); /* replayed from another address */
    fx_begin(f, &r, HX_STUN_ALLOCATE);
    fx_put_transport(&r, 17);
    assert_int_equal(fx_request(f, &p2, &r, &m), 438);
    p2.nonce[5] = p2.nonce[5] == 'a' ? 'b' : 'a'; /* tampered */
    fx_begin(f, &r, HX_STUN_ALLOCATE);
    fx_put_transport(&r, 17);
    assert_int_equal(fx_request(f, &p2, &r, &m), 438);
    snprintf(p2.nonce, sizeof p2.nonce, "not-a-nonce-of-ours");
    fx_begin(f, &r, HX_STUN_ALLOCATE);
    fx_put_transport(&r, 17);
    assert_int_equal(fx_request(f, &p2, &r, &m), 438);
    assert_int_equal(hx_turn_core_allocations(f->core), 0);
    fx_free(f);
}

static void expired_username_is_401(void **state)
{
    fx *f = fx_new();
    hx_turn_client c = fx_client(HX_TURN_UDP, 0, "203.0.113.5", 40000);
    fx_peer p = fx_peer_new(&c, "alice");
    fx_cred(&p, FX_SECRET, "alice", FX_UNIX_S - 1); /* lapsed a second ago */
    hx_stun_msg m;
    assert_int_equal(fx_allocate(f, &p, &m, 0), 401);
    assert_int_equal(hx_turn_core_allocations(f->core), 0);
    hx_turn_stats st;
    hx_turn_core_stats(f->core, &st);
    assert_int_equal(st.auth_failures, 1);
    /* Valid now, then the clock passes its expiry: a Refresh is refused. */
    fx_cred(&p, FX_SECRET, "alice", FX_UNIX_S + 10);
    assert_int_equal(fx_allocate(f, &p, &m, 0), 0);
    f->now += 11000;
    fx_req r;
    fx_begin(f, &r, HX_STUN_REFRESH);
    assert_int_equal(fx_request(f, &p, &r, &m), 401);
    fx_free(f);
}

static void forged_password_is_401(void **state)
{
    fx *f = fx_new();
    hx_turn_client c = fx_client(HX_TURN_UDP, 0, "203.0.113.5", 40000);
    fx_peer p = fx_peer_new(&c, "alice");
    fx_cred(&p, "someone-elses-secret-99", "alice", FX_UNIX_S + 3600);
    hx_stun_msg m;
    assert_int_equal(fx_allocate(f, &p, &m, 0), 401);
    /* The right password for another username does not do either. */
    fx_peer q = fx_peer_new(&c, "alice");
    fx_peer other = fx_peer_new(&c, "mallory");
    memcpy(q.password, other.password, sizeof q.password);
    hx_stun_key_init_long_term(&q.key, q.username, FX_REALM, q.password);
    snprintf(q.nonce, sizeof q.nonce, "%s", p.nonce);
    assert_int_equal(fx_allocate(f, &q, &m, 0), 401);
    /* Nor a username that is not "<expiry>:<user>". */
    fx_peer z = fx_peer_new(&c, "alice");
    snprintf(z.username, sizeof z.username, "alice");
    hx_turn_cred_password(FX_SECRET, z.username, z.password);
    hx_stun_key_init_long_term(&z.key, z.username, FX_REALM, z.password);
    snprintf(z.nonce, sizeof z.nonce, "%s", p.nonce);
    assert_int_equal(fx_allocate(f, &z, &m, 0), 401);
    hx_turn_stats st;
    hx_turn_core_stats(f->core, &st);
    assert_int_equal(st.auth_failures, 3);
    assert_int_equal(hx_turn_core_allocations(f->core), 0);
    fx_free(f);
}

static void every_secret_verifies(void **state)
{
    hx_turn_config cfg;
    fx_config(&cfg);
    snprintf(cfg.secrets[1], sizeof cfg.secrets[1], FX_SECRET2);
    cfg.n_secrets = 2;
    fx *f = fx_new_with(&cfg);
    hx_turn_client c1 = fx_client(HX_TURN_UDP, 0, "203.0.113.5", 40000);
    hx_turn_client c2 = fx_client(HX_TURN_UDP, 0, "203.0.113.5", 40001);
    fx_peer p1 = fx_peer_new(&c1, "alice"), p2 = fx_peer_new(&c2, "alice");
    fx_cred(&p2, FX_SECRET2, "alice", FX_UNIX_S + 3600);
    hx_stun_msg m;
    assert_int_equal(fx_allocate(f, &p1, &m, 0), 0);
    assert_int_equal(fx_allocate(f, &p2, &m, 0), 0);
    /* Rotated out: the second secret no longer verifies new allocations. */
    hx_turn_core_set_secrets(f->core, (const char(*)[128]) & cfg.secrets[0], 1);
    hx_turn_client c3 = fx_client(HX_TURN_UDP, 0, "203.0.113.5", 40002);
    fx_peer p3 = fx_peer_new(&c3, "alice");
    fx_cred(&p3, FX_SECRET2, "alice", FX_UNIX_S + 3600);
    assert_int_equal(fx_allocate(f, &p3, &m, 0), 401);
    fx_free(f);
}

static void wrong_username_on_allocation_is_441(void **state)
{
    fx *f = fx_new();
    hx_turn_client c = fx_client(HX_TURN_UDP, 0, "203.0.113.5", 40000);
    fx_peer p = fx_peer_new(&c, "alice");
    hx_stun_msg m;
    assert_int_equal(fx_allocate(f, &p, &m, 0), 0);
    fx_peer q = fx_peer_new(&c, "bob"); /* same 5-tuple, another (valid) credential */
    snprintf(q.nonce, sizeof q.nonce, "%s", p.nonce);
    fx_req r;
    fx_begin(f, &r, HX_STUN_REFRESH);
    fx_clear(f);
    fx_send(f, &q, &r, true);
    fx_last_to(f, &c, &m);
    assert_int_equal(fx_code(&m), 441);
    fx_free(f);
}

static void missing_realm_is_400_and_unknown_attribute_420(void **state)
{
    fx *f = fx_new();
    hx_turn_client c = fx_client(HX_TURN_UDP, 0, "203.0.113.5", 40000);
    fx_peer p = fx_peer_new(&c, "alice");
    hx_stun_msg m;
    fx_req r;
    fx_begin(f, &r, HX_STUN_ALLOCATE);
    fx_put_transport(&r, 17);
    assert_int_equal(fx_request(f, &p, &r, &m), 401);
    /* MESSAGE-INTEGRITY without REALM: 400 (RFC 8489 §9.2.4). */
    fx_begin(f, &r, HX_STUN_ALLOCATE);
    fx_put_transport(&r, 17);
    hx_stun_put(&r.w, HX_STUN_ATTR_USERNAME, p.username, strlen(p.username));
    hx_stun_put(&r.w, HX_STUN_ATTR_NONCE, p.nonce, strlen(p.nonce));
    hx_stun_put_integrity(&r.w, &p.key);
    fx_clear(f);
    fx_send(f, &p, &r, false);
    fx_last_to(f, &c, &m);
    assert_int_equal(fx_code(&m), 400);
    /* An unknown comprehension-required attribute: 420 listing it, signed. */
    fx_begin(f, &r, HX_STUN_ALLOCATE);
    fx_put_transport(&r, 17);
    uint8_t v[4] = {1, 2, 3, 4};
    hx_stun_put(&r.w, 0x0077, v, sizeof v);
    hx_stun_put(&r.w, 0xC077, v, sizeof v); /* comprehension-optional: ignored */
    assert_int_equal(fx_request(f, &p, &r, &m), 420);
    const uint8_t *u;
    size_t n;
    assert_int_equal(hx_stun_get_bytes(&m, HX_STUN_ATTR_UNKNOWN_ATTRIBUTES, &u, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(hx_rd16(u), 0x0077);
    assert_int_equal(hx_turn_core_allocations(f->core), 0);
    fx_free(f);
}

static void binding_is_answered_without_credentials(void **state)
{
    fx *f = fx_new();
    hx_turn_client c = fx_client(HX_TURN_TCP, 7, "2001:db8::77", 4444);
    fx_peer p = fx_peer_new(&c, "alice");
    hx_stun_msg m;
    fx_req r;
    fx_begin(f, &r, HX_STUN_BINDING_REQUEST);
    assert_int_equal(fx_request(f, &p, &r, &m), 0);
    struct sockaddr_storage mapped;
    assert_int_equal(hx_stun_get_xor_addr(&m, HX_STUN_ATTR_XOR_MAPPED_ADDRESS, &mapped), 0);
    assert_true(fx_same_addr(&mapped, &c.addr));
    fx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(challenge_then_allocate),
        cmocka_unit_test(stale_nonce_gets_438_and_a_new_one),
        cmocka_unit_test(nonce_of_another_client_or_forged_is_refused),
        cmocka_unit_test(expired_username_is_401),
        cmocka_unit_test(forged_password_is_401),
        cmocka_unit_test(every_secret_verifies),
        cmocka_unit_test(wrong_username_on_allocation_is_441),
        cmocka_unit_test(missing_realm_is_400_and_unknown_attribute_420),
        cmocka_unit_test(binding_is_answered_without_credentials),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
