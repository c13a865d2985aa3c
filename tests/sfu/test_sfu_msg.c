/*
 * The engine boundary's codec: round trips of every field type, the exact
 * wire layout of a small message, and each way a message can be malformed.
 */
#include "sfu/sfu.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

static void test_round_trip(void **state)
{
    (void)state;
    uint8_t buf[1024];
    hx_sfu_builder b;
    hx_sfu_build(&b, buf, sizeof buf, HX_SFU_TRANSPORT_OPEN, 0x0102030405060708ull);
    hx_sfu_put_cstr(&b, HX_SFU_T_ROOM, "lobby");
    hx_sfu_put_cstr(&b, HX_SFU_T_PARTICIPANT, "p_0123456789abcdef");
    hx_sfu_put_cstr(&b, HX_SFU_T_ROLE, "publisher");
    hx_sfu_put_flags(&b, HX_SFU_F_PUBLISH | HX_SFU_F_DATA);
    uint64_t st[HX_SFU_STATS_N] = {1, 2, 3, 0xffffffffffffffffull, 5, 6, 7};
    hx_sfu_put_stats(&b, st);
    hx_sfu_put_str(&b, HX_SFU_T_SDP, "", 0);
    long n = hx_sfu_finish(&b);
    assert_true(n > 0);
    assert_int_equal(n % 4, 0);

    hx_sfu_msg m;
    const char *why = NULL;
    assert_int_equal(hx_sfu_parse(buf, (size_t)n, &m, &why), 0);
    assert_int_equal(m.kind, HX_SFU_TRANSPORT_OPEN);
    assert_true(m.transport == 0x0102030405060708ull);
    assert_true(hx_sfu_field_is(&m, HX_SFU_T_ROOM, "lobby"));
    assert_true(hx_sfu_field_is(&m, HX_SFU_T_PARTICIPANT, "p_0123456789abcdef"));
    assert_true(hx_sfu_field_is(&m, HX_SFU_T_ROLE, "publisher"));
    assert_false(hx_sfu_field_is(&m, HX_SFU_T_ROLE, "publishe"));
    assert_int_equal(m.flags, HX_SFU_F_PUBLISH | HX_SFU_F_DATA);
    assert_memory_equal(m.stats, st, sizeof st);
    assert_true(hx_sfu_has(&m, HX_SFU_T_SDP));
    assert_int_equal(m.f[HX_SFU_T_SDP].len, 0);
    assert_false(hx_sfu_has(&m, HX_SFU_T_TRACK));
    assert_null(m.f[HX_SFU_T_TRACK].p);
    assert_string_equal(hx_sfu_kind_name(m.kind), "transport.open");
    assert_string_equal(hx_sfu_kind_name(HX_SFU_EV_ERROR), "ev.error");
    assert_string_equal(hx_sfu_kind_name(HX_SFU_EV_MILESTONE), "ev.milestone");
    assert_string_equal(hx_sfu_kind_name(HX_SFU_PIN), "pin"); /* the last command */
    assert_string_equal(hx_sfu_kind_name(999), "unknown");
}

/* The layout is the contract with a future worker process: pin it down. */
static void test_wire_layout(void **state)
{
    (void)state;
    uint8_t buf[64];
    hx_sfu_builder b;
    hx_sfu_build(&b, buf, sizeof buf, HX_SFU_EV_STATE, 42);
    hx_sfu_put_cstr(&b, HX_SFU_T_STATE, "failed");
    long n = hx_sfu_finish(&b);
    static const uint8_t want[] = {
        0x00, 0x42, 0x00,           0x01, 0x00, 0x00, 0x00, 0x1c, 0,   0,   0,   0,   0, 0,
        0,    42,   HX_SFU_T_STATE, 0,    0x00, 0x06, 'f',  'a',  'i', 'l', 'e', 'd', 0, 0,
    };
    assert_int_equal(n, sizeof want);
    assert_memory_equal(buf, want, sizeof want);
}

static void test_builder_limits(void **state)
{
    (void)state;
    uint8_t buf[32];
    hx_sfu_builder b;
    hx_sfu_build(&b, buf, 8, HX_SFU_REMOTE_SDP, 1);
    assert_int_equal(hx_sfu_finish(&b), -1); /* not even a header */
    hx_sfu_build(&b, buf, sizeof buf, HX_SFU_REMOTE_SDP, 1);
    hx_sfu_put_cstr(&b, HX_SFU_T_SDP, "0123456789abcdef"); /* 16 + 4 > 16 left */
    hx_sfu_put_cstr(&b, HX_SFU_T_SDP_TYPE, "x");           /* sticky: still an error */
    assert_int_equal(hx_sfu_finish(&b), -1);
    hx_sfu_build(&b, buf, sizeof buf, HX_SFU_REMOTE_SDP, 1);
    hx_sfu_put_cstr(&b, HX_SFU_T_MAX_, "x"); /* no such tag */
    assert_int_equal(hx_sfu_finish(&b), -1);
    static uint8_t big[HX_SFU_MSG_MAX];
    hx_sfu_build(&b, big, sizeof big, HX_SFU_REMOTE_SDP, 1);
    for (int i = 0; i < HX_SFU_MAX_FIELDS; i++)
        hx_sfu_put_cstr(&b, (hx_sfu_tag)(1 + i), "v");
    assert_true(hx_sfu_finish(&b) > 0);
    hx_sfu_put_cstr(&b, HX_SFU_T_STATS, "v"); /* one field too many */
    assert_int_equal(hx_sfu_finish(&b), -1);
}

static long sample(uint8_t *buf, size_t cap)
{
    hx_sfu_builder b;
    hx_sfu_build(&b, buf, cap, HX_SFU_SUBSCRIBE, 7);
    hx_sfu_put_cstr(&b, HX_SFU_T_TRACK, "TR_1");
    hx_sfu_put_flags(&b, 1);
    return hx_sfu_finish(&b);
}

static void expect_bad(const uint8_t *buf, size_t len, int code)
{
    hx_sfu_msg m;
    const char *why = NULL;
    assert_int_equal(hx_sfu_parse(buf, len, &m, &why), code);
    assert_non_null(why);
}

static void test_malformed(void **state)
{
    (void)state;
    uint8_t buf[64], bad[64];
    long n = sample(buf, sizeof buf);
    assert_true(n == 16 + 8 + 8);
    expect_bad(buf, 15, -1);
    expect_bad(buf, (size_t)n - 4, -2); /* length field says more */
    memcpy(bad, buf, (size_t)n);
    bad[1] = 99;
    expect_bad(bad, (size_t)n, -3);
    memcpy(bad, buf, (size_t)n);
    bad[3] = 17;
    expect_bad(bad, (size_t)n, -4);
    memcpy(bad, buf, (size_t)n);
    bad[3] = 3; /* a third field that is not there */
    expect_bad(bad, (size_t)n, -5);
    memcpy(bad, buf, (size_t)n);
    bad[16] = 0;
    expect_bad(bad, (size_t)n, -6);
    memcpy(bad, buf, (size_t)n);
    bad[19] = 200; /* track field longer than the message */
    expect_bad(bad, (size_t)n, -5);
    memcpy(bad, buf, (size_t)n);
    bad[24] = HX_SFU_T_TRACK; /* the flags field turned into a second track */
    expect_bad(bad, (size_t)n, -7);
    memcpy(bad, buf, (size_t)n);
    bad[27] = 2; /* flags of 2 bytes */
    expect_bad(bad, (size_t)n, -8);
    memcpy(bad, buf, (size_t)n);
    bad[3] = 1; /* the flags field left over */
    expect_bad(bad, (size_t)n, -9);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_wire_layout),
        cmocka_unit_test(test_builder_limits),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
