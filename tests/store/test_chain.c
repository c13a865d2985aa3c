/*
 * Unit tests for the pure chain module (src/store/chain.c): the canonical
 * content encoding, the two hashes and the retention classes. The vectors
 * were computed independently from the encoding as chain.h describes it
 * (Python's hashlib and struct), not from this code.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "store/chain.h"

static const hx_event vector_ev = {
    .ts_ms = 1700000000123,
    .kind = "session.join",
    .room = "lobby",
    .user = "alice",
    .device = "phone",
    .sid = NULL,
    .code = "",
    .detail = "{\"a\":1}",
};

static const char vector_encoding[] =
    "0000018bcfe5687b01000000000000000c73657373696f6e2e6a6f696e0100000000000000056c6f626279010000"
    "000000000005616c69636501000000000000000570686f6e65000100000000000000000100000000000000077b22"
    "61223a317d";
static const char vector_content[] =
    "69d420bb4807d0e2ea73fee07c47d627e1c2a320522fd6ea45fcd50de944720a";
static const char vector_hash[] =
    "ed5d2b40a2261c4d9add9b2b67bc1649dffa565d34a8a781ce7ed61bff02d7f3";
/* The next link: a server-chain revocation at ts -5 with every other field NULL. */
static const char vector_content2[] =
    "a46ed69157719e387b13d7bcca47a6b64760ddc8719f5f9c990bc6c17c5c0706";
static const char vector_hash2[] =
    "6b6f18e3af3d17177648251321e7f8482dfde66714b4c51145ff6bdb9cfddead";

static void hex(const uint8_t *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
}

static void assert_hash_hex(const uint8_t h[HX_CHAIN_HASH_LEN], const char *want)
{
    char got[2 * HX_CHAIN_HASH_LEN + 1];
    hex(h, HX_CHAIN_HASH_LEN, got);
    assert_string_equal(got, want);
}

static void test_encoding_vector(void **state)
{
    uint8_t buf[256], small[10];
    char text[2 * sizeof buf + 1];
    (void)state;

    size_t n = hx_chain_encode(&vector_ev, NULL, 0);
    assert_int_equal(n, (sizeof vector_encoding - 1) / 2);
    assert_int_equal(hx_chain_encode(&vector_ev, buf, sizeof buf), n);
    hex(buf, n, text);
    assert_string_equal(text, vector_encoding);
    /* A short buffer gets the start and the full length, never more bytes. */
    memset(small, 0xee, sizeof small);
    assert_int_equal(hx_chain_encode(&vector_ev, small, 8), n);
    assert_memory_equal(small, buf, 8);
    assert_int_equal(small[8], 0xee);
}

static void test_hash_vectors(void **state)
{
    uint8_t ch[HX_CHAIN_HASH_LEN], h[HX_CHAIN_HASH_LEN], zero[HX_CHAIN_HASH_LEN] = {0};
    hx_chain_link first, second;
    hx_event ev2 = {.ts_ms = -5, .kind = "revocation"};
    (void)state;

    assert_int_equal(hx_chain_content_hash(&vector_ev, ch), 0);
    assert_hash_hex(ch, vector_content);
    assert_int_equal(hx_chain_link_hash(zero, 1, vector_ev.ts_ms, vector_ev.kind, ch, h), 0);
    assert_hash_hex(h, vector_hash);

    /* The first link of a chain: seq 1 after 32 zero bytes. */
    assert_int_equal(hx_chain_next(0, NULL, &vector_ev, &first), 0);
    assert_int_equal(first.seq, 1);
    assert_memory_equal(first.prev_hash, zero, sizeof zero);
    assert_hash_hex(first.content_hash, vector_content);
    assert_hash_hex(first.hash, vector_hash);

    assert_int_equal(hx_chain_next(first.seq, first.hash, &ev2, &second), 0);
    assert_int_equal(second.seq, 2);
    assert_memory_equal(second.prev_hash, first.hash, HX_CHAIN_HASH_LEN);
    assert_hash_hex(second.content_hash, vector_content2);
    assert_hash_hex(second.hash, vector_hash2);
}

/* Each field flip must move the content hash: nothing is left out or ambiguous. */
static void test_content_is_unambiguous(void **state)
{
    uint8_t base[HX_CHAIN_HASH_LEN], h[HX_CHAIN_HASH_LEN];
    (void)state;

    hx_event a = {.ts_ms = 1, .kind = "k", .user = "ab", .device = "c"};
    assert_int_equal(hx_chain_content_hash(&a, base), 0);

    hx_event shifted = a; /* the same bytes, another boundary */
    shifted.user = "a";
    shifted.device = "bc";
    hx_event empty = a; /* "" is not NULL */
    empty.sid = "";
    hx_event ts = a;
    ts.ts_ms = 2;
    hx_event room = a;
    room.room = "ab";
    hx_event detail = a;
    detail.detail = "{}";
    const hx_event *variants[] = {&shifted, &empty, &ts, &room, &detail};
    for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++) {
        assert_int_equal(hx_chain_content_hash(variants[i], h), 0);
        if (memcmp(h, base, sizeof h) == 0) fail_msg("variant %zu hashes like the original", i);
    }
    /* And the same content hashes the same. */
    hx_event same = a;
    assert_int_equal(hx_chain_content_hash(&same, h), 0);
    assert_memory_equal(h, base, sizeof h);
}

/* The link covers seq, ts_ms, kind and prev_hash on its own. */
static void test_link_covers_its_fields(void **state)
{
    uint8_t prev[HX_CHAIN_HASH_LEN] = {1}, ch[HX_CHAIN_HASH_LEN] = {2}, base[HX_CHAIN_HASH_LEN],
            h[HX_CHAIN_HASH_LEN];
    (void)state;

    assert_int_equal(hx_chain_link_hash(prev, 5, 100, "k", ch, base), 0);
    assert_int_equal(hx_chain_link_hash(prev, 6, 100, "k", ch, h), 0);
    assert_memory_not_equal(h, base, sizeof h);
    assert_int_equal(hx_chain_link_hash(prev, 5, 101, "k", ch, h), 0);
    assert_memory_not_equal(h, base, sizeof h);
    assert_int_equal(hx_chain_link_hash(prev, 5, 100, "kk", ch, h), 0);
    assert_memory_not_equal(h, base, sizeof h);
    prev[31] = 9;
    assert_int_equal(hx_chain_link_hash(prev, 5, 100, "k", ch, h), 0);
    assert_memory_not_equal(h, base, sizeof h);
}

static void test_event_class(void **state)
{
    static const struct {
        const char *kind;
        hx_audit_class want;
    } cases[] = {
        {"moderation.kick", HX_CLASS_MODERATION},
        {"moderation.mute", HX_CLASS_MODERATION},
        {"vote.cast", HX_CLASS_MODERATION},
        {"vote.outcome", HX_CLASS_MODERATION},
        {"ban", HX_CLASS_MODERATION},
        {"ban.user", HX_CLASS_MODERATION},
        {"unban", HX_CLASS_MODERATION},
        {"revocation", HX_CLASS_MODERATION},
        {"unrevoke", HX_CLASS_MODERATION},
        {"sanction.expired", HX_CLASS_MODERATION},
        {"session.join", HX_CLASS_SESSION},
        {"session.leave", HX_CLASS_SESSION},
        {"auth.failure", HX_CLASS_SESSION},
        {"ticket.replay", HX_CLASS_SESSION},
        {"negotiation.failure", HX_CLASS_SESSION},
        {"moderation", HX_CLASS_SESSION},      /* the prefix is "moderation." */
        {"vote", HX_CLASS_SESSION},            /* "vote." */
        {"sanction", HX_CLASS_SESSION},        /* "sanction." */
        {"Moderation.kick", HX_CLASS_SESSION}, /* case matters */
        {"unba", HX_CLASS_SESSION},
        {"", HX_CLASS_SESSION},
        {NULL, HX_CLASS_SESSION},
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (hx_event_class(cases[i].kind) != cases[i].want)
            fail_msg("%s: class %d, expected %d", cases[i].kind ? cases[i].kind : "(null)",
                     hx_event_class(cases[i].kind), cases[i].want);
}

static void test_chain_name(void **state)
{
    (void)state;
    assert_string_equal(hx_chain_name(NULL), "(server)");
    assert_string_equal(hx_chain_name("lobby"), "lobby");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encoding_vector),
        cmocka_unit_test(test_hash_vectors),
        cmocka_unit_test(test_content_is_unambiguous),
        cmocka_unit_test(test_link_covers_its_fields),
        cmocka_unit_test(test_event_class),
        cmocka_unit_test(test_chain_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
