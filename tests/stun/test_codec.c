/*
 * STUN codec rules beyond the RFC 5769 vectors: each header and attribute
 * layout rule of RFC 5389 rejects what it should (and only that),
 * attributes after MESSAGE-INTEGRITY are ignored, FINGERPRINT must be
 * last, unknown comprehension-required attributes are listed, typed
 * getters refuse wrong lengths (whatever type they are asked for), the
 * method/class bit layout, long HMAC keys (hashed first, RFC 2104) against
 * OpenSSL's one-shot HMAC, CRC-32 check value, and the writer's limits.
 */
#include "stun/stun.h"
#include "rfc5769.h"

#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

static const uint8_t tid[12] = {0};

static size_t header(uint8_t *b, uint16_t type, size_t body)
{
    b[0] = (uint8_t)(type >> 8);
    b[1] = (uint8_t)type;
    b[2] = (uint8_t)(body >> 8);
    b[3] = (uint8_t)body;
    b[4] = 0x21, b[5] = 0x12, b[6] = 0xa4, b[7] = 0x42;
    memset(b + 8, 0, 12);
    return 20 + body;
}

static void test_header_rules(void **state)
{
    uint8_t b[64] = {0};
    hx_stun_msg m;
    size_t n = header(b, 0x0001, 0);
    assert_int_equal(hx_stun_parse(&m, b, n), 0);
    assert_int_equal(hx_stun_parse(&m, b, 19), HX_STUN_EMALFORMED);
    assert_int_equal(hx_stun_parse(&m, b, 24), HX_STUN_EMALFORMED); /* trailing bytes */
    b[0] = 0x40;
    assert_int_equal(hx_stun_parse(&m, b, n), HX_STUN_EMALFORMED); /* top bits */
    assert_false(hx_stun_is(b, n));
    header(b, 0x0001, 0);
    b[7] = 0x43;
    assert_int_equal(hx_stun_parse(&m, b, n), HX_STUN_EMALFORMED); /* cookie */
    assert_false(hx_stun_is(b, n));
    n = header(b, 0x0001, 2);
    assert_int_equal(hx_stun_parse(&m, b, n), HX_STUN_EMALFORMED); /* length % 4 */
    n = header(b, 0x0001, 4);
    b[20] = 0x00, b[21] = 0x24, b[22] = 0x00, b[23] = 0x04; /* PRIORITY overruns */
    assert_int_equal(hx_stun_parse(&m, b, n), HX_STUN_EMALFORMED);
    n = header(b, 0x0001, 8);
    b[23] = 0x03; /* PRIORITY of 3 bytes */
    assert_int_equal(hx_stun_parse(&m, b, n), HX_STUN_EMALFORMED);
    b[21] = 0x99, b[22] = 0; /* unknown, 3 bytes: fine */
    assert_int_equal(hx_stun_parse(&m, b, n), 0);
    assert_int_equal(m.n_unknown, 1);
    assert_int_equal(m.unknown[0], 0x0099);
    /* RTP is not STUN. */
    uint8_t rtp[24] = {0x80, 0x60};
    assert_false(hx_stun_is(rtp, sizeof rtp));
}

static void test_method_class(void **state)
{
    assert_int_equal(hx_stun_method(0x0111), HX_STUN_BINDING);
    assert_int_equal(hx_stun_class(0x0111), HX_STUN_CLASS_ERROR);
    assert_int_equal(hx_stun_method(0x0003), HX_STUN_ALLOCATE);
    assert_int_equal(hx_stun_method(0x0016), HX_STUN_SEND);
    assert_int_equal(hx_stun_class(0x0016), HX_STUN_CLASS_INDICATION);
    assert_int_equal(hx_stun_method(0x0109), HX_STUN_CHANNEL_BIND);
    assert_int_equal(hx_stun_method(0x3eef), 0xfff);
}

static void test_after_integrity(void **state)
{
    uint8_t b[256];
    hx_stun_writer w;
    hx_stun_msg m;
    hx_stun_key k;
    assert_int_equal(hx_stun_key_init(&k, (const uint8_t *)"pw", 2), 0);
    hx_stun_writer_init(&w, b, sizeof b, HX_STUN_BINDING_REQUEST, tid);
    hx_stun_put(&w, HX_STUN_ATTR_USERNAME, "a:b", 3);
    hx_stun_put_integrity(&w, &k);
    hx_stun_put_u32(&w, HX_STUN_ATTR_PRIORITY, 5); /* ignored: after MI */
    hx_stun_put_u32(&w, 0x0077, 5);                /* ignored too, so not "unknown" */
    hx_stun_put_fingerprint(&w);
    long n = hx_stun_writer_finish(&w);
    assert_true(n > 0);
    assert_int_equal(hx_stun_parse(&m, b, (size_t)n), 0);
    assert_null(hx_stun_find(&m, HX_STUN_ATTR_PRIORITY));
    assert_int_equal(m.n_unknown, 0);
    assert_int_equal(hx_stun_check_fingerprint(&m), 0);
    /* MI covers the message up to itself, with the length adjusted to end there (§15.4). */
    assert_int_equal(hx_stun_check_integrity(&m, &k), 0);
    b[n - 12] ^= 1; /* inside an ignored attribute: MI still fine, FINGERPRINT not */
    assert_int_equal(hx_stun_parse(&m, b, (size_t)n), 0);
    assert_int_equal(hx_stun_check_integrity(&m, &k), 0);
    assert_int_equal(hx_stun_check_fingerprint(&m), HX_STUN_EMISMATCH);
    hx_stun_writer_init(&w, b, sizeof b, HX_STUN_BINDING_REQUEST, tid);
    hx_stun_put(&w, HX_STUN_ATTR_USERNAME, "a:b", 3);
    hx_stun_put_integrity(&w, &k);
    hx_stun_put_fingerprint(&w);
    n = hx_stun_writer_finish(&w);
    assert_int_equal(hx_stun_parse(&m, b, (size_t)n), 0);
    assert_int_equal(hx_stun_check_integrity(&m, &k), 0);
    /* Nothing may follow FINGERPRINT. */
    uint8_t c[256];
    memcpy(c, b, (size_t)n);
    memcpy(c + n, "\x00\x24\x00\x04\x00\x00\x00\x01", 8);
    c[3] = (uint8_t)(c[3] + 8);
    assert_int_equal(hx_stun_parse(&m, c, (size_t)n + 8), HX_STUN_EMALFORMED);
}

static void test_getters_check_lengths(void **state)
{
    uint8_t b[64];
    hx_stun_msg m;
    struct sockaddr_storage ss;
    uint32_t u32;
    uint64_t u64;
    int code;
    const char *reason;
    size_t rlen;
    size_t n = header(b, 0x0001, 8);
    memcpy(b + 20, "\x80\x99\x00\x02\x00\x01\x00\x00", 8); /* unknown optional, 2 bytes */
    assert_int_equal(hx_stun_parse(&m, b, n), 0);
    assert_int_equal(hx_stun_get_xor_addr(&m, 0x8099, &ss), HX_STUN_EMALFORMED);
    assert_int_equal(hx_stun_get_u32(&m, 0x8099, &u32), HX_STUN_EMALFORMED);
    assert_int_equal(hx_stun_get_u64(&m, 0x8099, &u64), HX_STUN_EMALFORMED);
    assert_int_equal(hx_stun_get_error(&m, &code, &reason, &rlen), HX_STUN_EABSENT);
    /* XOR-MAPPED-ADDRESS: family 1 needs 8 bytes, family 2 needs 20. */
    n = header(b, 0x0101, 24);
    memcpy(b + 20, "\x00\x20\x00\x14\x00\x01", 6);
    memset(b + 26, 0, 18);
    assert_int_equal(hx_stun_parse(&m, b, n), 0);
    assert_int_equal(hx_stun_get_xor_addr(&m, HX_STUN_ATTR_XOR_MAPPED_ADDRESS, &ss),
                     HX_STUN_EMALFORMED);
    b[25] = 0x02;
    assert_int_equal(hx_stun_get_xor_addr(&m, HX_STUN_ATTR_XOR_MAPPED_ADDRESS, &ss), 0);
    assert_int_equal(ss.ss_family, AF_INET6);
    b[25] = 0x03;
    assert_int_equal(hx_stun_get_xor_addr(&m, HX_STUN_ATTR_XOR_MAPPED_ADDRESS, &ss),
                     HX_STUN_EMALFORMED);
    /* ERROR-CODE class 7 is out of range. */
    n = header(b, 0x0111, 8);
    memcpy(b + 20, "\x00\x09\x00\x04\x00\x00\x07\x00", 8);
    assert_int_equal(hx_stun_parse(&m, b, n), 0);
    assert_int_equal(hx_stun_get_error(&m, &code, &reason, &rlen), HX_STUN_EMALFORMED);
    b[26] = 4, b[27] = 20;
    assert_int_equal(hx_stun_get_error(&m, &code, &reason, &rlen), 0);
    assert_int_equal(code, 420);
    assert_int_equal(rlen, 0);
}

static void test_long_key_matches_openssl(void **state)
{
    uint8_t key[100], mac[20], want[20];
    unsigned int wlen;
    for (size_t i = 0; i < sizeof key; i++)
        key[i] = (uint8_t)(i * 7);
    for (size_t klen = 0; klen <= sizeof key; klen += 10) {
        hx_stun_key k;
        assert_int_equal(hx_stun_key_init(&k, key, klen), 0);
        const uint8_t *parts[2] = {rfc5769_request, rfc5769_request + 50};
        size_t lens[2] = {50, 58};
        hx_stun_hmac(&k, parts, lens, 2, mac);
        assert_non_null(HMAC(EVP_sha1(), key, (int)klen, rfc5769_request, 108, want, &wlen));
        assert_memory_equal(mac, want, 20);
    }
    /* An unset key never verifies. */
    hx_stun_key none = {0};
    hx_stun_msg m;
    assert_int_equal(hx_stun_parse(&m, rfc5769_request, sizeof rfc5769_request), 0);
    assert_int_equal(hx_stun_check_integrity(&m, &none), HX_STUN_EMISMATCH);
}

static void test_crc32(void **state)
{
    assert_int_equal(hx_stun_crc32(0, (const uint8_t *)"123456789", 9), 0xcbf43926u);
    uint32_t part = hx_stun_crc32(0, (const uint8_t *)"1234", 4);
    assert_int_equal(hx_stun_crc32(part, (const uint8_t *)"56789", 5), 0xcbf43926u);
}

static void test_writer_limits(void **state)
{
    uint8_t b[64];
    hx_stun_writer w;
    hx_stun_key k;
    struct sockaddr_storage un = {.ss_family = AF_UNIX};
    assert_int_equal(hx_stun_key_init(&k, (const uint8_t *)"pw", 2), 0);
    hx_stun_writer_init(&w, b, 19, HX_STUN_BINDING_REQUEST, tid);
    assert_int_equal(hx_stun_writer_finish(&w), HX_STUN_ENOSPACE);
    hx_stun_writer_init(&w, b, sizeof b, 0xc001, tid);
    assert_int_equal(hx_stun_writer_finish(&w), HX_STUN_EINVAL);
    hx_stun_writer_init(&w, b, 44, HX_STUN_BINDING_REQUEST, tid);
    hx_stun_put_integrity(&w, &k); /* 20 + 24 fits exactly */
    assert_int_equal(hx_stun_writer_finish(&w), 44);
    hx_stun_put_fingerprint(&w);
    assert_int_equal(hx_stun_writer_finish(&w), HX_STUN_ENOSPACE);
    hx_stun_put_u32(&w, HX_STUN_ATTR_PRIORITY, 1); /* sticky */
    assert_int_equal(hx_stun_writer_finish(&w), HX_STUN_ENOSPACE);
    hx_stun_writer_init(&w, b, sizeof b, HX_STUN_BINDING_REQUEST, tid);
    hx_stun_put_xor_addr(&w, HX_STUN_ATTR_XOR_MAPPED_ADDRESS, (struct sockaddr *)&un);
    assert_int_equal(hx_stun_writer_finish(&w), HX_STUN_EINVAL);
    hx_stun_writer_init(&w, b, sizeof b, HX_STUN_BINDING_ERROR, tid);
    hx_stun_put_error(&w, 700, "x");
    assert_int_equal(hx_stun_writer_finish(&w), HX_STUN_EINVAL);
    hx_stun_key unset = {0};
    hx_stun_writer_init(&w, b, sizeof b, HX_STUN_BINDING_REQUEST, tid);
    hx_stun_put_integrity(&w, &unset);
    assert_int_equal(hx_stun_writer_finish(&w), HX_STUN_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_rules),
        cmocka_unit_test(test_method_class),
        cmocka_unit_test(test_after_integrity),
        cmocka_unit_test(test_getters_check_lengths),
        cmocka_unit_test(test_long_key_matches_openssl),
        cmocka_unit_test(test_crc32),
        cmocka_unit_test(test_writer_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
