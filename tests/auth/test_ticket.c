/*
 * Unit tests for auth/ticket: the sealed join ticket. A round trip keeps
 * every field (each string at HX_MAX_ID_LEN, extreme integers); anything
 * else is HX_TICKET_INVALID: the wrong key, every single-bit flip of the
 * text and of the raw bytes under it, every truncation, extra text, and
 * bodies that carry a valid MAC but break the layout (wrong format byte,
 * bad lengths, trailing bytes, invalid ids). The last group MACs hand-built
 * bodies with the test key, so each check is reached behind the MAC.
 */
#include "auth/ticket.h"

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
#define RAW_CAP 1024

static const uint8_t key[HX_TICKET_KEY_LEN] = {
    0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff,
    0x0f, 0x1e, 0x2d, 0x3c, 0x4b, 0x5a, 0x69, 0x78, 0x87, 0x96, 0xa5, 0xb4, 0xc3, 0xd2, 0xe1, 0xf0,
};

/* Printable id characters (hx_id_valid), cycled so positions differ. */
static void fill_id(char *dst, size_t n, unsigned seed)
{
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:@!~+=";
    for (size_t i = 0; i < n; i++) dst[i] = alphabet[(i * 7 + seed) % (sizeof alphabet - 1)];
    dst[n] = '\0';
}

static void max_ticket(hx_ticket *t)
{
    memset(t, 0, sizeof *t);
    for (int i = 0; i < HX_TICKET_ID_LEN; i++) t->id[i] = (uint8_t)(0xf0 ^ i);
    t->expires_ms = INT64_MAX;
    t->token_iat = INT64_MIN;
    t->protocol_version = 255;
    t->grants = 0xffffffffu;
    fill_id(t->user, HX_MAX_ID_LEN, 1);
    fill_id(t->device, HX_MAX_ID_LEN, 2);
    fill_id(t->sid, HX_MAX_ID_LEN, 3);
    fill_id(t->room, HX_MAX_ID_LEN, 4);
    fill_id(t->jti, HX_MAX_ID_LEN, 5);
}

static void small_ticket(hx_ticket *t)
{
    memset(t, 0, sizeof *t);
    assert_int_equal(hx_ticket_new_id(t), 0);
    t->expires_ms = 1700000030000;
    t->protocol_version = 2;
    t->grants = 7;
    strcpy(t->user, "alice");
    strcpy(t->device, "default");
    strcpy(t->room, "lobby");
    /* sid and jti empty, as in dev mode */
}

static void assert_ticket_equal(const hx_ticket *a, const hx_ticket *b)
{
    assert_memory_equal(a->id, b->id, HX_TICKET_ID_LEN);
    assert_true(a->expires_ms == b->expires_ms);
    assert_true(a->token_iat == b->token_iat);
    assert_int_equal(a->protocol_version, b->protocol_version);
    assert_int_equal(a->grants, b->grants);
    assert_string_equal(a->user, b->user);
    assert_string_equal(a->device, b->device);
    assert_string_equal(a->sid, b->sid);
    assert_string_equal(a->room, b->room);
    assert_string_equal(a->jti, b->jti);
}

static size_t seal(const hx_ticket *t, char *text)
{
    long n = hx_ticket_seal(key, t, text, TEXT_CAP);
    assert_true(n > 0);
    assert_int_equal(strlen(text), (size_t)n);
    return (size_t)n;
}

static int open_text(const char *text, size_t len)
{
    hx_ticket t;
    return hx_ticket_open(key, text, len, &t);
}

/* MAC an arbitrary body with the test key and encode it: a ticket the server could have sealed. */
static size_t forge(const uint8_t *body, size_t n, char *text)
{
    uint8_t raw[RAW_CAP];
    unsigned int maclen = 0;
    assert_true(n + 32 <= sizeof raw);
    memcpy(raw, body, n);
    assert_non_null(HMAC(EVP_sha256(), key, sizeof key, body, n, raw + n, &maclen));
    assert_int_equal(maclen, 32);
    long e = hx_b64_encode(raw, n + 32, text, TEXT_CAP, 1);
    assert_true(e > 0);
    return (size_t)e;
}

/* The raw body (without MAC) of a sealed ticket. */
static size_t body_of(const hx_ticket *t, uint8_t *body)
{
    char text[TEXT_CAP];
    size_t n = seal(t, text);
    long r = hx_b64_decode(text, n, body, RAW_CAP, 1);
    assert_true(r > 32);
    return (size_t)r - 32;
}

static void test_roundtrip_max_fields(void **state)
{
    (void)state;
    hx_ticket t, u;
    char text[TEXT_CAP];
    max_ticket(&t);
    size_t n = seal(&t, text);
    assert_true(n <= HX_TICKET_MAX_TEXT);
    for (size_t i = 0; i < n; i++) /* base64url, no padding: safe in JSON and URLs */
        assert_non_null(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", text[i]));
    memset(&u, 0x5a, sizeof u);
    assert_int_equal(hx_ticket_open(key, text, n, &u), HX_TICKET_OK);
    assert_ticket_equal(&t, &u);
    /* Sealing is deterministic: the same ticket gives the same text. */
    char again[TEXT_CAP];
    assert_int_equal(seal(&u, again), n);
    assert_string_equal(again, text);

    /* Other extremes. */
    t.expires_ms = INT64_MIN;
    t.token_iat = INT64_MAX;
    t.protocol_version = 0;
    t.grants = 0x80000001u;
    n = seal(&t, text);
    assert_int_equal(hx_ticket_open(key, text, n, &u), HX_TICKET_OK);
    assert_ticket_equal(&t, &u);
}

static void test_roundtrip_small(void **state)
{
    (void)state;
    hx_ticket t, u;
    char text[TEXT_CAP];
    small_ticket(&t);
    size_t n = seal(&t, text);
    assert_int_equal(hx_ticket_open(key, text, n, &u), HX_TICKET_OK);
    assert_ticket_equal(&t, &u);
    assert_string_equal(u.sid, "");
    assert_string_equal(u.jti, "");
    /* Only len bytes are read: text followed by junk opens as long as len stops before it. */
    memcpy(text + n, "junk", 5);
    assert_int_equal(hx_ticket_open(key, text, n, &u), HX_TICKET_OK);
}

static void test_seal_short_buffer(void **state)
{
    (void)state;
    hx_ticket t;
    char text[TEXT_CAP];
    max_ticket(&t);
    size_t n = seal(&t, text);
    assert_int_equal(hx_ticket_seal(key, &t, text, n), HX_TICKET_NOSPACE); /* no room for the NUL */
    assert_int_equal(hx_ticket_seal(key, &t, text, 0), HX_TICKET_NOSPACE);
    assert_int_equal(hx_ticket_seal(key, &t, text, n + 1), (long)n);
}

static void test_wrong_key(void **state)
{
    (void)state;
    hx_ticket t, u;
    char text[TEXT_CAP];
    small_ticket(&t);
    size_t n = seal(&t, text);
    for (int i = 0; i < HX_TICKET_KEY_LEN; i++) {
        uint8_t other[HX_TICKET_KEY_LEN];
        memcpy(other, key, sizeof other);
        other[i] ^= 0x01;
        assert_int_equal(hx_ticket_open(other, text, n, &u), HX_TICKET_INVALID);
    }
}

static void test_text_bit_flips(void **state)
{
    (void)state;
    hx_ticket t;
    char text[TEXT_CAP];
    max_ticket(&t);
    size_t n = seal(&t, text);
    for (size_t i = 0; i < n; i++)
        for (int b = 0; b < 8; b++) {
            text[i] ^= (char)(1 << b);
            if (open_text(text, n) != HX_TICKET_INVALID) fail_msg("text flip at %zu bit %d accepted", i, b);
            text[i] ^= (char)(1 << b);
        }
    assert_int_equal(open_text(text, n), HX_TICKET_OK);
}

static void test_raw_bit_flips(void **state)
{
    (void)state;
    hx_ticket t;
    char text[TEXT_CAP], flipped[TEXT_CAP];
    uint8_t raw[RAW_CAP];
    small_ticket(&t);
    for (int pass = 0; pass < 2; pass++) {
        size_t n = seal(&t, text);
        long r = hx_b64_decode(text, n, raw, sizeof raw, 1);
        assert_true(r > 0);
        for (long i = 0; i < r; i++)
            for (int b = 0; b < 8; b++) {
                raw[i] ^= (uint8_t)(1 << b);
                long e = hx_b64_encode(raw, (size_t)r, flipped, sizeof flipped, 1);
                assert_int_equal(e, (long)n);
                if (open_text(flipped, (size_t)e) != HX_TICKET_INVALID)
                    fail_msg("raw flip at %ld bit %d accepted", i, b);
                raw[i] ^= (uint8_t)(1 << b);
            }
        max_ticket(&t);
    }
}

static void test_truncated_and_extended(void **state)
{
    (void)state;
    hx_ticket t;
    char text[TEXT_CAP];
    max_ticket(&t);
    size_t n = seal(&t, text);
    for (size_t len = 0; len < n; len++)
        if (open_text(text, len) != HX_TICKET_INVALID) fail_msg("prefix of %zu accepted", len);
    /* Whole raw bytes cut off the end (so the text stays canonical). */
    uint8_t raw[RAW_CAP];
    char cut[TEXT_CAP];
    long r = hx_b64_decode(text, n, raw, sizeof raw, 1);
    for (long k = 1; k < r; k++) {
        long e = hx_b64_encode(raw, (size_t)(r - k), cut, sizeof cut, 1);
        assert_int_equal(open_text(cut, (size_t)e), HX_TICKET_INVALID);
    }
    /* Extra bytes after a valid ticket. */
    for (int extra = 1; extra <= 4; extra++) {
        memset(raw + r, 0, (size_t)extra);
        long e = hx_b64_encode(raw, (size_t)(r + extra), cut, sizeof cut, 1);
        assert_int_equal(open_text(cut, (size_t)e), HX_TICKET_INVALID);
    }
    memcpy(cut, text, n);
    memcpy(cut + n, "AAAA", 4);
    assert_int_equal(open_text(cut, n + 4), HX_TICKET_INVALID);
}

static void test_too_long_and_garbage(void **state)
{
    (void)state;
    char big[HX_TICKET_MAX_TEXT * 2];
    memset(big, 'A', sizeof big);
    assert_int_equal(open_text(big, HX_TICKET_MAX_TEXT + 1), HX_TICKET_INVALID);
    assert_int_equal(open_text(big, sizeof big), HX_TICKET_INVALID);
    assert_int_equal(open_text(big, HX_TICKET_MAX_TEXT), HX_TICKET_INVALID);
    assert_int_equal(open_text("", 0), HX_TICKET_INVALID);
    assert_int_equal(open_text("not a ticket!", 13), HX_TICKET_INVALID);
    static const char padded[] = "AQ==";
    assert_int_equal(open_text(padded, 4), HX_TICKET_INVALID);
    /* A valid ticket with padding, whitespace or standard-alphabet characters is not base64url. */
    hx_ticket t;
    char text[TEXT_CAP];
    max_ticket(&t);
    size_t n = seal(&t, text);
    memcpy(big, text, n);
    big[n] = '=';
    assert_int_equal(open_text(big, n + 1), HX_TICKET_INVALID);
    big[n] = '\n';
    assert_int_equal(open_text(big, n + 1), HX_TICKET_INVALID);
    for (size_t i = 0; i < n; i++)
        if (text[i] == '-' || text[i] == '_') {
            memcpy(big, text, n);
            big[i] = text[i] == '-' ? '+' : '/';
            assert_int_equal(open_text(big, n), HX_TICKET_INVALID);
        }
}

/* Layout offsets of the body. */
enum { OFF_FORMAT = 0, OFF_ID = 1, OFF_EXP = 17, OFF_IAT = 25, OFF_VER = 33, OFF_GRANTS = 34, OFF_STRS = 38 };

static void test_forged_layout_checks(void **state)
{
    (void)state;
    hx_ticket t, u;
    uint8_t body[RAW_CAP], b2[RAW_CAP];
    char text[TEXT_CAP];
    small_ticket(&t);
    size_t n = body_of(&t, body);
    /* The forge helper matches the real MAC: the unmodified body opens. */
    assert_int_equal(open_text(text, forge(body, n, text)), HX_TICKET_OK);

    /* Format byte: only 1. */
    for (int f = 0; f < 256; f++) {
        if (f == 1) continue;
        memcpy(b2, body, n);
        b2[OFF_FORMAT] = (uint8_t)f;
        assert_int_equal(open_text(text, forge(b2, n, text)), HX_TICKET_INVALID);
    }
    /* Trailing bytes after the last string. */
    memcpy(b2, body, n);
    b2[n] = 0;
    assert_int_equal(open_text(text, forge(b2, n + 1, text)), HX_TICKET_INVALID);
    /* The body stops inside a string. */
    assert_int_equal(open_text(text, forge(body, n - 1, text)), HX_TICKET_INVALID);

    /* The user length byte: too long for the body, longer than an id may be. */
    memcpy(b2, body, n);
    b2[OFF_STRS] = (uint8_t)(body[OFF_STRS] + 1);
    assert_int_equal(open_text(text, forge(b2, n, text)), HX_TICKET_INVALID);
    memcpy(b2, body, n);
    b2[OFF_STRS] = 255;
    assert_int_equal(open_text(text, forge(b2, n, text)), HX_TICKET_INVALID);

    /* Invalid ids behind a valid MAC: a space, a NUL inside, empty user / device / room. */
    memcpy(b2, body, n);
    b2[OFF_STRS + 1 + 2] = ' ';
    assert_int_equal(open_text(text, forge(b2, n, text)), HX_TICKET_INVALID);
    memcpy(b2, body, n);
    b2[OFF_STRS + 1 + 2] = '\0';
    assert_int_equal(open_text(text, forge(b2, n, text)), HX_TICKET_INVALID);
    memcpy(b2, body, n);
    b2[OFF_STRS + 1 + 2] = '/';
    assert_int_equal(open_text(text, forge(b2, n, text)), HX_TICKET_INVALID);

    static const struct {
        const char *user, *device, *room;
    } empty[] = {{"", "d", "r"}, {"u", "", "r"}, {"u", "d", ""}};
    for (size_t i = 0; i < sizeof empty / sizeof empty[0]; i++) {
        hx_ticket e = t;
        strcpy(e.user, empty[i].user);
        strcpy(e.device, empty[i].device);
        strcpy(e.room, empty[i].room);
        size_t en = body_of(&e, b2);
        assert_int_equal(open_text(text, forge(b2, en, text)), HX_TICKET_INVALID);
    }

    /* A 129-byte string field, one past HX_MAX_ID_LEN, with a valid MAC. */
    uint8_t *p = b2;
    memcpy(p, body, OFF_STRS);
    p += OFF_STRS;
    const char *fields[5] = {"u", "d", "", "r", ""};
    for (int i = 0; i < 5; i++) {
        size_t l = strlen(fields[i]);
        if (i == 4) {
            *p++ = HX_MAX_ID_LEN + 1;
            memset(p, 'j', HX_MAX_ID_LEN + 1);
            p += HX_MAX_ID_LEN + 1;
        } else {
            *p++ = (uint8_t)l;
            memcpy(p, fields[i], l);
            p += l;
        }
    }
    assert_int_equal(open_text(text, forge(b2, (size_t)(p - b2), text)), HX_TICKET_INVALID);
    /* The same at exactly HX_MAX_ID_LEN opens. */
    b2[(size_t)(p - b2) - (HX_MAX_ID_LEN + 2)] = HX_MAX_ID_LEN;
    assert_int_equal(hx_ticket_open(key, text, forge(b2, (size_t)(p - b2) - 1, text), &u), HX_TICKET_OK);
    assert_int_equal(strlen(u.jti), HX_MAX_ID_LEN);

    /* Fields at their offsets, big-endian. */
    memcpy(b2, body, n);
    memset(b2 + OFF_EXP, 0, 8);
    b2[OFF_EXP + 7] = 0x2a;
    b2[OFF_IAT] = 0x80;
    memset(b2 + OFF_IAT + 1, 0, 7);
    b2[OFF_VER] = 9;
    b2[OFF_GRANTS] = 0x12;
    b2[OFF_GRANTS + 1] = 0x34;
    b2[OFF_GRANTS + 2] = 0x56;
    b2[OFF_GRANTS + 3] = 0x78;
    assert_int_equal(hx_ticket_open(key, text, forge(b2, n, text), &u), HX_TICKET_OK);
    assert_true(u.expires_ms == 42);
    assert_true(u.token_iat == INT64_MIN);
    assert_int_equal(u.protocol_version, 9);
    assert_int_equal(u.grants, 0x12345678u);
    assert_memory_equal(u.id, t.id, HX_TICKET_ID_LEN);
}

static void test_id_hex(void **state)
{
    (void)state;
    hx_ticket t;
    char hex[2 * HX_TICKET_ID_LEN + 1];
    memset(&t, 0, sizeof t);
    for (int i = 0; i < HX_TICKET_ID_LEN; i++) t.id[i] = (uint8_t)(i * 0x11);
    t.id[15] = 0xa5;
    memset(hex, 'X', sizeof hex);
    hx_ticket_id_hex(&t, hex);
    assert_string_equal(hex, "00112233445566778899aabbccddeea5");
    memset(t.id, 0, sizeof t.id);
    hx_ticket_id_hex(&t, hex);
    assert_string_equal(hex, "00000000000000000000000000000000");
}

static void test_new_ids_differ(void **state)
{
    (void)state;
    enum { N = 256 };
    static hx_ticket ts[N];
    static const uint8_t zero[HX_TICKET_ID_LEN];
    for (int i = 0; i < N; i++) {
        assert_int_equal(hx_ticket_new_id(&ts[i]), 0);
        assert_memory_not_equal(ts[i].id, zero, HX_TICKET_ID_LEN);
        for (int j = 0; j < i; j++) assert_memory_not_equal(ts[i].id, ts[j].id, HX_TICKET_ID_LEN);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_max_fields), cmocka_unit_test(test_roundtrip_small),
        cmocka_unit_test(test_seal_short_buffer),    cmocka_unit_test(test_wrong_key),
        cmocka_unit_test(test_text_bit_flips),       cmocka_unit_test(test_raw_bit_flips),
        cmocka_unit_test(test_truncated_and_extended), cmocka_unit_test(test_too_long_and_garbage),
        cmocka_unit_test(test_forged_layout_checks), cmocka_unit_test(test_id_hex),
        cmocka_unit_test(test_new_ids_differ),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
