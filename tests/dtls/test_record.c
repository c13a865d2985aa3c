/*
 * Unit tests for dtls/record: the RFC 7983 first-byte classifier and the
 * record scanner. Hand-built datagrams: one record of each clear shape,
 * several records in one datagram (callback order, fields, stop), and each
 * header rule broken on its own (type, version, epoch, lengths); every
 * truncation of a valid two-record datagram fails; the scanner hands out
 * nothing from a datagram whose tail is bad. Also the RFC 5764 §4.2 key
 * split, checked against a hand-laid exporter output.
 */
#include "dtls/dtls_internal.h"
#include "dtls/record.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

static size_t put_record(uint8_t *p, uint8_t type, uint16_t version, uint16_t epoch, uint64_t seq,
                         const uint8_t *body, size_t len)
{
    p[0] = type;
    p[1] = (uint8_t)(version >> 8), p[2] = (uint8_t)version;
    p[3] = (uint8_t)(epoch >> 8), p[4] = (uint8_t)epoch;
    for (int i = 0; i < 6; i++)
        p[5 + i] = (uint8_t)(seq >> (8 * (5 - i)));
    p[11] = (uint8_t)(len >> 8), p[12] = (uint8_t)len;
    if (len) memcpy(p + 13, body, len);
    return 13 + len;
}

typedef struct seen {
    hx_dtls_record r[8];
    int n, stop_after;
} seen;

static int collect(void *user, const hx_dtls_record *r)
{
    seen *s = user;
    s->r[s->n++] = *r;
    return s->stop_after && s->n >= s->stop_after;
}

static void test_classifier(void **state)
{
    (void)state;
    uint8_t b[1];
    for (int v = 0; v < 256; v++) {
        b[0] = (uint8_t)v;
        assert_int_equal(hx_dtls_is_dtls(b, 1), v >= 20 && v <= 63);
    }
    assert_false(hx_dtls_is_dtls(b, 0));
}

static void test_valid_datagrams(void **state)
{
    (void)state;
    uint8_t hs[40] = {1}; /* ClientHello header + some body */
    uint8_t ccs[1] = {1}, alert[2] = {2, 40}, app[100];
    memset(app, 0xab, sizeof app);
    uint8_t dg[512];
    size_t n = put_record(dg, 22, 0xFEFF, 0, 0, hs, sizeof hs);
    n += put_record(dg + n, 20, 0xFEFD, 0, 1, ccs, 1);
    n += put_record(dg + n, 22, 0xFEFD, 1, 0xA0B0C0D0E0F1ULL, app, 40);
    n += put_record(dg + n, 23, 0xFEFD, 1, 2, app, sizeof app);
    n += put_record(dg + n, 21, 0xFEFD, 0, 3, alert, 2);
    seen s = {0};
    assert_int_equal(hx_dtls_record_scan(dg, n, collect, &s), 5);
    assert_int_equal(s.n, 5);
    assert_int_equal(s.r[0].type, 22);
    assert_int_equal(s.r[0].version, 0xFEFF);
    assert_int_equal(s.r[0].len, sizeof hs);
    assert_ptr_equal(s.r[0].body, dg + 13);
    assert_int_equal(s.r[2].epoch, 1);
    assert_true(s.r[2].seq == 0xA0B0C0D0E0F1ULL);
    assert_int_equal(s.r[3].type, 23);
    assert_memory_equal(s.r[3].body, app, sizeof app);
    assert_int_equal(s.r[4].body[1], 40);
    assert_true(hx_dtls_is_client_hello(dg, n));
    /* The callback can stop the walk; the count is still the datagram's. */
    seen t = {.stop_after = 2};
    assert_int_equal(hx_dtls_record_scan(dg, n, collect, &t), 5);
    assert_int_equal(t.n, 2);
    /* Not a ClientHello: a ServerHello first. */
    hs[0] = 2;
    n = put_record(dg, 22, 0xFEFD, 0, 0, hs, sizeof hs);
    assert_int_equal(hx_dtls_record_scan(dg, n, NULL, NULL), 1);
    assert_false(hx_dtls_is_client_hello(dg, n));
    /* Largest allowed ciphertext. */
    static uint8_t big[13 + HX_DTLS_RECORD_MAX_BODY + 1];
    n = put_record(big, 23, 0xFEFD, 1, 9, NULL, 0);
    big[11] = (uint8_t)(HX_DTLS_RECORD_MAX_BODY >> 8), big[12] = (uint8_t)HX_DTLS_RECORD_MAX_BODY;
    assert_int_equal(hx_dtls_record_scan(big, 13 + HX_DTLS_RECORD_MAX_BODY, NULL, NULL), 1);
    big[12] += 1;
    assert_int_equal(hx_dtls_record_scan(big, sizeof big, NULL, NULL), HX_DTLS_REC_BAD_LENGTH);
}

static void expect_one(uint8_t type, uint16_t version, uint16_t epoch, size_t len, int want)
{
    uint8_t dg[64], body[40] = {1};
    size_t n = put_record(dg, type, version, epoch, 0, body, len);
    seen s = {0};
    assert_int_equal(hx_dtls_record_scan(dg, n, collect, &s), want);
    assert_int_equal(s.n, want > 0 ? want : 0);
}

static void test_header_rules(void **state)
{
    (void)state;
    expect_one(22, 0xFEFD, 0, 12, 1);
    expect_one(19, 0xFEFD, 0, 12, HX_DTLS_REC_BAD_TYPE);
    expect_one(24, 0xFEFD, 1, 12, HX_DTLS_REC_BAD_TYPE);
    expect_one(22, 0x0303, 0, 12, HX_DTLS_REC_BAD_VERSION); /* TLS 1.2 */
    expect_one(22, 0xFEFC, 0, 12, HX_DTLS_REC_BAD_VERSION); /* DTLS 1.3 */
    expect_one(22, 0xFEFD, 2, 12, HX_DTLS_REC_BAD_EPOCH);
    expect_one(23, 0xFEFD, 0, 12, HX_DTLS_REC_BAD_EPOCH);
    expect_one(20, 0xFEFD, 0, 2, HX_DTLS_REC_BAD_LENGTH);
    expect_one(20, 0xFEFD, 1, 2, 1); /* encrypted: any length */
    expect_one(21, 0xFEFD, 0, 3, HX_DTLS_REC_BAD_LENGTH);
    expect_one(22, 0xFEFD, 0, 11, HX_DTLS_REC_BAD_LENGTH);
    expect_one(23, 0xFEFD, 1, 0, 1);
    assert_int_equal(hx_dtls_record_scan(NULL, 0, NULL, NULL), HX_DTLS_REC_EMPTY);
    uint8_t one = 22;
    assert_int_equal(hx_dtls_record_scan(&one, 0, NULL, NULL), HX_DTLS_REC_EMPTY);
    assert_string_equal(hx_dtls_record_strerror(HX_DTLS_REC_BAD_EPOCH), "bad epoch");
}

static void test_truncation_and_bad_tail(void **state)
{
    (void)state;
    uint8_t body[30] = {1}, dg[128];
    size_t n = put_record(dg, 22, 0xFEFD, 0, 0, body, sizeof body);
    size_t first = n;
    n += put_record(dg + n, 23, 0xFEFD, 1, 1, body, 20);
    for (size_t cut = 1; cut < n; cut++) {
        int want = cut == first ? 1 : HX_DTLS_REC_TRUNCATED;
        seen s = {0};
        assert_int_equal(hx_dtls_record_scan(dg, cut, collect, &s), want);
        assert_int_equal(s.n, want > 0 ? 1 : 0);
    }
    /* A good head with a bad second record: nothing is handed out. */
    dg[first + 3] = 7; /* epoch 0x0701 */
    seen s = {0};
    assert_int_equal(hx_dtls_record_scan(dg, n, collect, &s), HX_DTLS_REC_BAD_EPOCH);
    assert_int_equal(s.n, 0);
    assert_false(hx_dtls_is_client_hello(dg, n));
    /* Trailing garbage shorter than a header. */
    dg[first + 3] = 0;
    assert_int_equal(hx_dtls_record_scan(dg, n + 5, NULL, NULL), HX_DTLS_REC_TRUNCATED);
}

static void test_srtp_key_split(void **state)
{
    (void)state;
    /* RFC 5764 §4.2 layout for AES-CM: ck(16) sk(16) cs(14) ss(14). */
    uint8_t m[60];
    for (int i = 0; i < 60; i++)
        m[i] = (uint8_t)i;
    hx_dtls_srtp_keys c = {0}, s = {0};
    uint8_t kl, sl;
    assert_int_equal(hx__srtp_profile_lengths(HX_DTLS_SRTP_AES128_CM_SHA1_80, &kl, &sl), 0);
    assert_int_equal(kl, 16);
    assert_int_equal(sl, 14);
    hx__srtp_keys_split(HX_DTLS_CLIENT, m, kl, sl, &c);
    hx__srtp_keys_split(HX_DTLS_SERVER, m, kl, sl, &s);
    assert_memory_equal(c.local_key, m, 16);
    assert_memory_equal(c.remote_key, m + 16, 16);
    assert_memory_equal(c.local_salt, m + 32, 14);
    assert_memory_equal(c.remote_salt, m + 46, 14);
    assert_memory_equal(s.local_key, m + 16, 16);
    assert_memory_equal(s.remote_salt, m + 32, 14);
    /* GCM: ck(16) sk(16) cs(12) ss(12). */
    assert_int_equal(hx__srtp_profile_lengths(HX_DTLS_SRTP_AEAD_AES_128_GCM, &kl, &sl), 0);
    assert_int_equal(sl, 12);
    hx__srtp_keys_split(HX_DTLS_SERVER, m, kl, sl, &s);
    assert_memory_equal(s.local_salt, m + 44, 12);
    assert_memory_equal(s.remote_salt, m + 32, 12);
    assert_int_equal(s.salt_len, 12);
    assert_int_equal(hx__srtp_profile_lengths(0x0002, &kl, &sl), -1); /* AES128_CM_SHA1_32 */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classifier),     cmocka_unit_test(test_valid_datagrams),
        cmocka_unit_test(test_header_rules),   cmocka_unit_test(test_truncation_and_bad_tail),
        cmocka_unit_test(test_srtp_key_split),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
