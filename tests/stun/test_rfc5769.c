/*
 * RFC 5769 vectors against stun/: each sample is parsed (every attribute
 * read back with its expected value), its MESSAGE-INTEGRITY and FINGERPRINT
 * verify, and the writer rebuilds each one byte for byte from its fields
 * (padding byte 0x20, as the RFC's samples use). The long-term request
 * checks the MD5(username:realm:password) key. A flipped bit anywhere
 * breaks the integrity or fingerprint check or the parse.
 */
#include "stun/stun.h"
#include "rfc5769.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

static const uint8_t tid[12] = {0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34,
                                0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae};

static void key_init(hx_stun_key *k)
{
    assert_int_equal(hx_stun_key_init(k, (const uint8_t *)RFC5769_PASSWORD, 22), 0);
}

static void assert_bytes(const hx_stun_msg *m, uint16_t type, const char *want)
{
    const uint8_t *v;
    size_t n;
    assert_int_equal(hx_stun_get_bytes(m, type, &v, &n), 0);
    assert_int_equal(n, strlen(want));
    assert_memory_equal(v, want, n);
}

static void test_request_parse(void **state)
{
    hx_stun_msg m;
    hx_stun_key k;
    uint32_t prio;
    uint64_t tie;
    key_init(&k);
    assert_true(hx_stun_is(rfc5769_request, sizeof rfc5769_request));
    assert_int_equal(hx_stun_parse(&m, rfc5769_request, sizeof rfc5769_request), 0);
    assert_int_equal(m.type, HX_STUN_BINDING_REQUEST);
    assert_int_equal(hx_stun_method(m.type), HX_STUN_BINDING);
    assert_int_equal(hx_stun_class(m.type), HX_STUN_CLASS_REQUEST);
    assert_memory_equal(m.tid, tid, 12);
    assert_int_equal(m.n_attrs, 4);
    assert_int_equal(m.n_unknown, 0);
    assert_bytes(&m, HX_STUN_ATTR_SOFTWARE, "STUN test client");
    assert_bytes(&m, HX_STUN_ATTR_USERNAME, "evtj:h6vY");
    assert_int_equal(hx_stun_get_u32(&m, HX_STUN_ATTR_PRIORITY, &prio), 0);
    assert_int_equal(prio, 0x6e0001ff);
    assert_int_equal(hx_stun_get_u64(&m, HX_STUN_ATTR_ICE_CONTROLLED, &tie), 0);
    assert_true(tie == 0x932ff9b151263b36ull);
    assert_int_equal(hx_stun_get_u64(&m, HX_STUN_ATTR_ICE_CONTROLLING, &tie), HX_STUN_EABSENT);
    assert_int_equal(m.mi_off, 108 - 32);
    assert_int_equal(m.fp_off, 108 - 8);
    assert_int_equal(hx_stun_check_integrity(&m, &k), 0);
    assert_int_equal(hx_stun_check_fingerprint(&m), 0);

    hx_stun_key wrong;
    assert_int_equal(hx_stun_key_init(&wrong, (const uint8_t *)"VOkJxbRl1RmTxUk/WvJxBT", 22), 0);
    assert_int_equal(hx_stun_check_integrity(&m, &wrong), HX_STUN_EMISMATCH);
}

static void test_request_write(void **state)
{
    uint8_t out[256];
    hx_stun_writer w;
    hx_stun_key k;
    key_init(&k);
    hx_stun_writer_init(&w, out, sizeof out, HX_STUN_BINDING_REQUEST, tid);
    w.pad = 0x20;
    hx_stun_put(&w, HX_STUN_ATTR_SOFTWARE, "STUN test client", 16);
    hx_stun_put_u32(&w, HX_STUN_ATTR_PRIORITY, 0x6e0001ff);
    hx_stun_put_u64(&w, HX_STUN_ATTR_ICE_CONTROLLED, 0x932ff9b151263b36ull);
    hx_stun_put(&w, HX_STUN_ATTR_USERNAME, "evtj:h6vY", 9);
    hx_stun_put_integrity(&w, &k);
    hx_stun_put_fingerprint(&w);
    assert_int_equal(hx_stun_writer_finish(&w), sizeof rfc5769_request);
    assert_memory_equal(out, rfc5769_request, sizeof rfc5769_request);
}

static void check_response(const uint8_t *vec, size_t len, const struct sockaddr *want)
{
    hx_stun_msg m;
    hx_stun_key k;
    struct sockaddr_storage got;
    key_init(&k);
    assert_int_equal(hx_stun_parse(&m, vec, len), 0);
    assert_int_equal(m.type, HX_STUN_BINDING_SUCCESS);
    assert_int_equal(hx_stun_class(m.type), HX_STUN_CLASS_SUCCESS);
    assert_bytes(&m, HX_STUN_ATTR_SOFTWARE, "test vector");
    assert_int_equal(hx_stun_get_xor_addr(&m, HX_STUN_ATTR_XOR_MAPPED_ADDRESS, &got), 0);
    size_t salen =
        want->sa_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
    assert_memory_equal(&got, want, salen);
    assert_int_equal(hx_stun_check_integrity(&m, &k), 0);
    assert_int_equal(hx_stun_check_fingerprint(&m), 0);

    uint8_t out[256];
    hx_stun_writer w;
    hx_stun_writer_init(&w, out, sizeof out, HX_STUN_BINDING_SUCCESS, tid);
    w.pad = 0x20;
    hx_stun_put(&w, HX_STUN_ATTR_SOFTWARE, "test vector", 11);
    hx_stun_put_xor_addr(&w, HX_STUN_ATTR_XOR_MAPPED_ADDRESS, want);
    hx_stun_put_integrity(&w, &k);
    hx_stun_put_fingerprint(&w);
    assert_int_equal(hx_stun_writer_finish(&w), (long)len);
    assert_memory_equal(out, vec, len);
}

static void test_response_v4(void **state)
{
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(32853)};
    assert_int_equal(inet_pton(AF_INET, "192.0.2.1", &sin.sin_addr), 1);
    check_response(rfc5769_response_v4, sizeof rfc5769_response_v4, (struct sockaddr *)&sin);
}

static void test_response_v6(void **state)
{
    struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6, .sin6_port = htons(32853)};
    assert_int_equal(inet_pton(AF_INET6, "2001:db8:1234:5678:11:2233:4455:6677", &sin6.sin6_addr),
                     1);
    check_response(rfc5769_response_v6, sizeof rfc5769_response_v6, (struct sockaddr *)&sin6);
}

static const char lt_user[] =
    "\xe3\x83\x9e\xe3\x83\x88\xe3\x83\xaa\xe3\x83\x83\xe3\x82\xaf\xe3\x82\xb9";

static void test_long_term(void **state)
{
    hx_stun_msg m;
    hx_stun_key k;
    const uint8_t *v = rfc5769_request_long_term;
    size_t n = sizeof rfc5769_request_long_term;
    assert_int_equal(hx_stun_parse(&m, v, n), 0);
    assert_int_equal(m.fp_off, 0);
    assert_bytes(&m, HX_STUN_ATTR_USERNAME, lt_user);
    assert_bytes(&m, HX_STUN_ATTR_NONCE, "f//499k954d6OL34oL9FSTvy64sA");
    assert_bytes(&m, HX_STUN_ATTR_REALM, "example.org");
    assert_int_equal(hx_stun_check_fingerprint(&m), HX_STUN_EABSENT);
    assert_int_equal(hx_stun_key_init_long_term(&k, lt_user, "example.org", "TheMatrIX"), 0);
    assert_int_equal(hx_stun_check_integrity(&m, &k), 0);
    assert_int_equal(hx_stun_key_init_long_term(&k, lt_user, "example.org", "TheMatrix"), 0);
    assert_int_equal(hx_stun_check_integrity(&m, &k), HX_STUN_EMISMATCH);

    uint8_t out[256];
    hx_stun_writer w;
    assert_int_equal(hx_stun_key_init_long_term(&k, lt_user, "example.org", "TheMatrIX"), 0);
    hx_stun_writer_init(&w, out, sizeof out, HX_STUN_BINDING_REQUEST, v + 8);
    hx_stun_put(&w, HX_STUN_ATTR_USERNAME, lt_user, strlen(lt_user));
    hx_stun_put(&w, HX_STUN_ATTR_NONCE, "f//499k954d6OL34oL9FSTvy64sA", 28);
    hx_stun_put(&w, HX_STUN_ATTR_REALM, "example.org", 11);
    hx_stun_put_integrity(&w, &k);
    assert_int_equal(hx_stun_writer_finish(&w), (long)n);
    assert_memory_equal(out, v, n);
}

/* Every single-bit flip of every vector is caught by the parser, the MAC or the CRC. */
static void test_bit_flips(void **state)
{
    const struct {
        const uint8_t *v;
        size_t n;
    } vecs[] = {{rfc5769_request, sizeof rfc5769_request},
                {rfc5769_response_v4, sizeof rfc5769_response_v4},
                {rfc5769_response_v6, sizeof rfc5769_response_v6}};
    hx_stun_key k;
    key_init(&k);
    for (size_t i = 0; i < 3; i++) {
        uint8_t buf[128];
        for (size_t bit = 0; bit < vecs[i].n * 8; bit++) {
            hx_stun_msg m;
            memcpy(buf, vecs[i].v, vecs[i].n);
            buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            int ok = hx_stun_parse(&m, buf, vecs[i].n) == 0 && m.mi_off && m.fp_off &&
                     hx_stun_check_integrity(&m, &k) == 0 && hx_stun_check_fingerprint(&m) == 0;
            assert_false(ok);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_parse), cmocka_unit_test(test_request_write),
        cmocka_unit_test(test_response_v4),   cmocka_unit_test(test_response_v6),
        cmocka_unit_test(test_long_term),     cmocka_unit_test(test_bit_flips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
