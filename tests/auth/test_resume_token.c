/*
 * Unit tests for auth/resume_token. A round trip keeps every field (each
 * string at its maximum); anything else is HX_RESUME_INVALID: another key,
 * every single-bit flip of the text, every truncation, a zero generation, and
 * bodies with a valid MAC but a broken layout (format byte, lengths, trailing
 * bytes, an invalid id), built and MAC'd here so each check is reached.
 */
#include "auth/resume_token.h"

#include "common/b64.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#define TEXT_CAP 2048

static const uint8_t key[HX_RESUME_KEY_LEN] = "0123456789abcdef0123456789abcdef";

static void fill_id(char *dst, size_t n, unsigned seed)
{
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789-_.:@";
    for (size_t i = 0; i < n; i++) dst[i] = alphabet[(i * 7 + seed) % (sizeof alphabet - 1)];
    dst[n] = '\0';
}

static void typical(hx_resume_token *t)
{
    memset(t, 0, sizeof *t);
    strcpy(t->participant, "p_0123456789abcdef");
    t->gen = 3;
    t->issued_ms = 1795600001234;
    strcpy(t->user, "alice");
    strcpy(t->device, "laptop");
    strcpy(t->room, "lobby");
    strcpy(t->sid, "sess-1");
    t->token_iat = 1795600000;
}

static long seal(const hx_resume_token *t, char *text)
{
    long n = hx_resume_seal(key, t, text, TEXT_CAP);
    assert_true(n > 0);
    return n;
}

static void round_trip(void **state)
{
    (void)state;
    hx_resume_token t, u;
    typical(&t);
    char text[TEXT_CAP];
    long n = seal(&t, text);
    assert_int_equal(hx_resume_open(key, text, (size_t)n, &u), HX_RESUME_OK);
    assert_string_equal(u.participant, "p_0123456789abcdef");
    assert_int_equal(u.gen, 3);
    assert_int_equal(u.issued_ms, 1795600001234);
    assert_string_equal(u.user, "alice");
    assert_string_equal(u.device, "laptop");
    assert_string_equal(u.room, "lobby");
    assert_string_equal(u.sid, "sess-1");
    assert_string_equal(u.jti, "");
    assert_int_equal(u.token_iat, 1795600000);

    /* Every field at its maximum. */
    fill_id(t.participant, HX_RESUME_PID_LEN - 1, 1);
    fill_id(t.user, HX_MAX_ID_LEN, 2);
    fill_id(t.device, HX_MAX_ID_LEN, 3);
    fill_id(t.room, HX_MAX_ID_LEN, 4);
    fill_id(t.sid, HX_MAX_ID_LEN, 5);
    fill_id(t.jti, HX_MAX_ID_LEN, 6);
    t.token_iat = INT64_MIN;
    t.gen = UINT32_MAX;
    t.issued_ms = INT64_MAX;
    n = seal(&t, text);
    assert_true(n <= HX_RESUME_MAX_TEXT);
    assert_int_equal(hx_resume_open(key, text, (size_t)n, &u), HX_RESUME_OK);
    assert_memory_equal(&t, &u, sizeof t);
}

static void tampering(void **state)
{
    (void)state;
    hx_resume_token t, u;
    typical(&t);
    char text[TEXT_CAP];
    long n = seal(&t, text);
    uint8_t other[HX_RESUME_KEY_LEN];
    memcpy(other, key, sizeof other);
    other[5] ^= 1;
    assert_int_equal(hx_resume_open(other, text, (size_t)n, &u), HX_RESUME_INVALID);
    for (long i = 0; i < n; i++)
        for (int bit = 0; bit < 8; bit++) {
            char copy[TEXT_CAP];
            memcpy(copy, text, (size_t)n);
            copy[i] ^= (char)(1 << bit);
            assert_int_equal(hx_resume_open(key, copy, (size_t)n, &u), HX_RESUME_INVALID);
        }
    for (long len = 0; len < n; len++)
        assert_int_equal(hx_resume_open(key, text, (size_t)len, &u), HX_RESUME_INVALID);
    char longer[TEXT_CAP];
    memcpy(longer, text, (size_t)n);
    memcpy(longer + n, "AAAA", 4);
    assert_int_equal(hx_resume_open(key, longer, (size_t)n + 4, &u), HX_RESUME_INVALID);
    assert_int_equal(hx_resume_open(key, "", 0, &u), HX_RESUME_INVALID);
}

/* A hand-built body, MAC'd with the test key, opened. */
static int open_body(const uint8_t *body, size_t len)
{
    uint8_t raw[1024];
    char text[TEXT_CAP];
    unsigned int maclen = 0;
    memcpy(raw, body, len);
    assert_non_null(HMAC(EVP_sha256(), key, sizeof key, body, len, raw + len, &maclen));
    long n = hx_b64_encode(raw, len + maclen, text, sizeof text, 1);
    assert_true(n > 0);
    hx_resume_token u;
    return hx_resume_open(key, text, (size_t)n, &u);
}

static size_t body(uint8_t *b, uint8_t format, uint32_t gen, const char *pid, const char *user)
{
    size_t n = 0;
    b[n++] = format;
    for (int i = 3; i >= 0; i--) b[n++] = (uint8_t)(gen >> (i * 8));
    for (int i = 0; i < 16; i++) b[n++] = (uint8_t)i;
    const char *strs[6] = {pid, user, "laptop", "lobby", "", ""};
    for (int i = 0; i < 6; i++) {
        b[n++] = (uint8_t)strlen(strs[i]);
        memcpy(b + n, strs[i], strlen(strs[i]));
        n += strlen(strs[i]);
    }
    return n;
}

static void layout_behind_mac(void **state)
{
    (void)state;
    uint8_t b[512];
    size_t n = body(b, 1, 1, "p_1", "alice");
    assert_int_equal(open_body(b, n), HX_RESUME_OK);
    n = body(b, 2, 1, "p_1", "alice");
    assert_int_equal(open_body(b, n), HX_RESUME_INVALID); /* format */
    n = body(b, 1, 0, "p_1", "alice");
    assert_int_equal(open_body(b, n), HX_RESUME_INVALID); /* generation 0 */
    n = body(b, 1, 1, "p_1", "al ice");
    assert_int_equal(open_body(b, n), HX_RESUME_INVALID); /* invalid id */
    n = body(b, 1, 1, "", "alice");
    assert_int_equal(open_body(b, n), HX_RESUME_INVALID); /* empty participant */
    n = body(b, 1, 1, "p_1", "alice");
    b[n++] = 0;
    assert_int_equal(open_body(b, n), HX_RESUME_INVALID); /* trailing byte */
    n = body(b, 1, 1, "p_1", "alice");
    assert_int_equal(open_body(b, n - 3), HX_RESUME_INVALID); /* a length past the end */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trip),
        cmocka_unit_test(tampering),
        cmocka_unit_test(layout_behind_mac),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
