/*
 * Unit tests for common/b64: RFC 4648 §10 test vectors in both alphabets,
 * the url-mode strictness the token code depends on (no padding, no
 * foreign characters, canonical trailing bits), and short buffers.
 */
#include "common/b64.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

typedef struct vec {
    const char *raw, *std, *url;
} vec;

/* RFC 4648 §10; the url column is the same text with padding removed. */
static const vec rfc4648[] = {
    {"", "", ""},
    {"f", "Zg==", "Zg"},
    {"fo", "Zm8=", "Zm8"},
    {"foo", "Zm9v", "Zm9v"},
    {"foob", "Zm9vYg==", "Zm9vYg"},
    {"fooba", "Zm9vYmE=", "Zm9vYmE"},
    {"foobar", "Zm9vYmFy", "Zm9vYmFy"},
};

static void test_rfc4648_vectors(void **state)
{
    (void)state;
    char enc[32];
    uint8_t dec[32];
    for (size_t i = 0; i < sizeof rfc4648 / sizeof rfc4648[0]; i++) {
        const vec *v = &rfc4648[i];
        size_t n = strlen(v->raw);
        for (int url = 0; url <= 1; url++) {
            const char *want = url ? v->url : v->std;
            assert_int_equal(hx_b64_encoded_len(n, url), strlen(want));
            assert_int_equal(hx_b64_encode((const uint8_t *)v->raw, n, enc, sizeof enc, url),
                             strlen(want));
            assert_string_equal(enc, want);
            assert_int_equal(hx_b64_decode(want, strlen(want), dec, sizeof dec, url), n);
            assert_memory_equal(dec, v->raw, n);
        }
        /* Standard mode also takes the unpadded form. */
        assert_int_equal(hx_b64_decode(v->url, strlen(v->url), dec, sizeof dec, 0), n);
        assert_memory_equal(dec, v->raw, n);
    }
}

static void test_alphabets_differ(void **state)
{
    (void)state;
    static const uint8_t raw[] = {0xfb, 0xff, 0xbf, 0xff, 0xfe};
    char enc[16];
    uint8_t dec[16];
    assert_int_equal(hx_b64_encode(raw, sizeof raw, enc, sizeof enc, 0), 8);
    assert_string_equal(enc, "+/+///4=");
    assert_int_equal(hx_b64_encode(raw, sizeof raw, enc, sizeof enc, 1), 7);
    assert_string_equal(enc, "-_-___4");
    assert_int_equal(hx_b64_decode("-_-___4", 7, dec, sizeof dec, 1), 5);
    assert_memory_equal(dec, raw, sizeof raw);
    assert_int_equal(hx_b64_decode("+/+///4=", 8, dec, sizeof dec, 0), 5);
    assert_memory_equal(dec, raw, sizeof raw);
    /* Each alphabet refuses the other's two characters. */
    assert_int_equal(hx_b64_decode("+/+///4", 7, dec, sizeof dec, 1), -1);
    assert_int_equal(hx_b64_decode("-_-___4=", 8, dec, sizeof dec, 0), -1);
}

static void test_url_rejects(void **state)
{
    (void)state;
    uint8_t dec[32];
    static const char *const bad[] = {
        "Zg==",     /* padding is not allowed in url mode */
        "Zm8=",     /* ditto */
        "Zg=",      /* ditto, and not even well padded */
        "Z",        /* one character carries only 6 bits */
        "Zm9vY",    /* ditto after a full group */
        "Zm 9v",    /* whitespace */
        "Zm9v\n",   /* trailing newline */
        "Zm+v",     /* standard-alphabet character */
        "Zm/v",     /* ditto */
        "Zm9v.",    /* separator */
        "Zh",       /* non-zero trailing bits (canonical is "Zg") */
        "Zm9",      /* non-zero trailing bits (canonical is "Zm8") */
        "\xc3\xa9", /* non-ASCII */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(hx_b64_decode(bad[i], strlen(bad[i]), dec, sizeof dec, 1), -1);
    /* An embedded NUL counts as a character, not a terminator. */
    assert_int_equal(hx_b64_decode("Zm\0v", 4, dec, sizeof dec, 1), -1);
}

static void test_std_padding_rules(void **state)
{
    (void)state;
    uint8_t dec[32];
    static const char *const bad[] = {
        "Zg=",      /* padding must complete a group of four */
        "Z===",     /* at most two pad characters */
        "====",     /* nothing but padding */
        "Zg==Zg==", /* padding only at the end */
        "Zm=v",     /* ditto */
        "Zh==",     /* non-zero trailing bits */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(hx_b64_decode(bad[i], strlen(bad[i]), dec, sizeof dec, 0), -1);
}

static void test_short_buffers(void **state)
{
    (void)state;
    const uint8_t raw[] = "foobar";
    char enc[9];
    uint8_t dec[6];
    /* Encoding needs room for the NUL: 8 characters + 1. */
    assert_int_equal(hx_b64_encode(raw, 6, enc, 8, 0), -1);
    assert_int_equal(hx_b64_encode(raw, 6, enc, 9, 0), 8);
    assert_int_equal(hx_b64_encode(raw, 1, enc, 2, 1), -1);
    assert_int_equal(hx_b64_encode(raw, 1, enc, 3, 1), 2);
    assert_int_equal(hx_b64_encode(raw, 0, enc, 1, 1), 0);
    assert_string_equal(enc, "");
    assert_int_equal(hx_b64_encode(raw, 0, enc, 0, 1), -1);
    assert_int_equal(hx_b64_encode(raw, 1, NULL, 0, 1), -1);
    /* Decoding fails before writing when the output would not fit. */
    memset(dec, 0xaa, sizeof dec);
    assert_int_equal(hx_b64_decode("Zm9vYmFy", 8, dec, 5, 1), -1);
    assert_int_equal(dec[0], 0xaa);
    assert_int_equal(hx_b64_decode("Zm9vYmE", 7, dec, 4, 1), -1);
    assert_int_equal(hx_b64_decode("Zm9vYmE", 7, dec, 5, 1), 5);
    assert_int_equal(hx_b64_decode("Zm9vYmE=", 8, dec, 5, 0), 5);
    assert_int_equal(hx_b64_decode("", 0, NULL, 0, 1), 0);
    assert_int_equal(hx_b64_decode("Zg", 2, NULL, 0, 1), -1);
}

static void test_roundtrip_all_bytes(void **state)
{
    (void)state;
    uint8_t raw[256], dec[256];
    char enc[400];
    for (size_t i = 0; i < sizeof raw; i++)
        raw[i] = (uint8_t)(255 - i);
    for (size_t n = 0; n <= sizeof raw; n += 7) {
        for (int url = 0; url <= 1; url++) {
            long e = hx_b64_encode(raw, n, enc, sizeof enc, url);
            assert_int_equal(e, hx_b64_encoded_len(n, url));
            assert_int_equal(hx_b64_decode(enc, (size_t)e, dec, sizeof dec, url), n);
            assert_memory_equal(dec, raw, n);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc4648_vectors), cmocka_unit_test(test_alphabets_differ),
        cmocka_unit_test(test_url_rejects),     cmocka_unit_test(test_std_padding_rules),
        cmocka_unit_test(test_short_buffers),   cmocka_unit_test(test_roundtrip_all_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
