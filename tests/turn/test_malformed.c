/*
 * Malformed input never crashes the TURN core nor breaks its invariants:
 * every truncation of valid requests, random bytes, STUN headers with
 * random attributes (from UDP and stream clients), ChannelData with lying
 * lengths, and datagrams to relays of unknown allocations. Run under ASan
 * and UBSan in build-asan; hx_turn_core_check after each message.
 */
#include "turn_fixture.h"

static uint32_t rng = 12345;

static uint32_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

static void feed(fx *f, const hx_turn_client *c, const uint8_t *b, size_t n)
{
    hx_turn_core_client(f->core, c, b, n, f->now);
    assert_int_equal(hx_turn_core_check(f->core), 0);
}

static void truncations_of_valid_requests(void **state)
{
    fx *f = fx_new();
    hx_turn_client c = fx_client(HX_TURN_UDP, 0, "203.0.113.5", 40000);
    fx_peer p = fx_peer_new(&c, "alice");
    hx_stun_msg m;
    assert_int_equal(fx_allocate(f, &p, &m, 0), 0);
    uint16_t methods[] = {HX_STUN_ALLOCATE, HX_STUN_REFRESH, HX_STUN_CREATE_PERMISSION,
                          HX_STUN_CHANNEL_BIND, HX_STUN_SEND | HX_STUN_CLASS_INDICATION};
    for (size_t k = 0; k < sizeof methods / sizeof methods[0]; k++) {
        fx_req r;
        fx_begin(f, &r, methods[k]);
        fx_put_transport(&r, 17);
        hx_stun_put_u32(&r.w, HX_STUN_ATTR_CHANNEL_NUMBER, 0x40010000);
        struct sockaddr_storage a = fx_addr("8.8.8.8", 53);
        hx_stun_put_xor_addr(&r.w, HX_STUN_ATTR_XOR_PEER_ADDRESS, (struct sockaddr *)&a);
        hx_stun_put(&r.w, HX_STUN_ATTR_DATA, "data", 4);
        hx_stun_put(&r.w, HX_STUN_ATTR_USERNAME, p.username, strlen(p.username));
        hx_stun_put(&r.w, HX_STUN_ATTR_REALM, FX_REALM, strlen(FX_REALM));
        hx_stun_put(&r.w, HX_STUN_ATTR_NONCE, p.nonce, strlen(p.nonce));
        hx_stun_put_integrity(&r.w, &p.key);
        hx_stun_put_fingerprint(&r.w);
        size_t n = (size_t)hx_stun_writer_finish(&r.w);
        for (size_t len = 0; len <= n; len++) {
            uint8_t copy[2048];
            memcpy(copy, r.buf, len);
            feed(f, &c, copy, len);
            if (len >= 4) { /* and with the length field lying */
                hx_wr16(copy + 2, (uint16_t)(len > 20 ? len - 20 : 0));
                feed(f, &c, copy, len);
            }
        }
    }
    fx_free(f);
}

static void random_bytes_and_attributes(void **state)
{
    hx_turn_config cfg;
    fx_config(&cfg);
    snprintf(cfg.allow[0], sizeof cfg.allow[0], "0.0.0.0/0");
    cfg.n_allow = 1;
    fx *f = fx_new_with(&cfg);
    hx_turn_client cs[3] = {fx_client(HX_TURN_UDP, 0, "203.0.113.5", 40000),
                            fx_client(HX_TURN_TCP, 9, "203.0.113.5", 40000),
                            fx_client(HX_TURN_TLS, 10, "2001:db8::5", 1)};
    for (int i = 0; i < 3; i++) {
        fx_peer p = fx_peer_new(&cs[i], "alice");
        hx_stun_msg m;
        assert_int_equal(fx_allocate(f, &p, &m, 0), 0);
    }
    uint8_t b[1600];
    for (int iter = 0; iter < 20000; iter++) {
        hx_turn_client *c = &cs[next() % 3];
        size_t n = next() % sizeof b;
        for (size_t i = 0; i < n; i++)
            b[i] = (uint8_t)next();
        switch (iter % 4) {
        case 0: /* plain noise */
            break;
        case 1: { /* a STUN header of a TURN method and class, random attributes */
            if (n < 20) n = 20;
            n &= ~(size_t)3;
            uint16_t methods[] = {1, 3, 4, 6, 7, 8, 9, 0x3ff};
            uint16_t t = methods[next() % 8];
            uint16_t type = (uint16_t)((t & 0xf) | (t & 0x70) << 1 | (t & 0xf80) << 2) |
                            (uint16_t)((next() % 4) == 1 ? HX_STUN_CLASS_INDICATION : 0);
            hx_wr16(b, type);
            hx_wr16(b + 2, (uint16_t)(n - 20));
            hx_wr32(b + 4, HX_STUN_MAGIC);
            for (size_t off = 20; off + 4 <= n;) { /* attribute headers that mostly fit */
                uint16_t types[] = {0x0012, 0x0013, 0x000c, 0x000d, 0x0019, 0x0017, 0x8000,
                                    0x0018, 0x0022, 0x0006, 0x0015, 0x0014, 0x0008, 0x8028};
                size_t alen = next() % 24;
                hx_wr16(b + off, types[next() % 14]);
                hx_wr16(b + off + 2, (uint16_t)alen);
                off += 4 + ((alen + 3) & ~(size_t)3);
            }
            break;
        }
        case 2: /* ChannelData with any length */
            if (n < 4) n = 4;
            b[0] = (uint8_t)(0x40 | (next() & 0x3f));
            break;
        default: /* to a relay, from anyone */
            hx_turn_core_peer(f->core, (uint64_t)(next() % 4) << 32 | (next() % 10), &c->addr, b, n,
                              f->now);
            break;
        }
        feed(f, c, b, n);
        if (iter % 1000 == 0) fx_advance(f, 7000);
    }
    fx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(truncations_of_valid_requests),
        cmocka_unit_test(random_bytes_and_attributes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
