/*
 * Unit tests for sctp/dcep: DATA_CHANNEL_OPEN and DATA_CHANNEL_ACK against
 * byte strings laid out by hand from RFC 8832 §5.1/§5.2 (so writer and
 * parser are checked against the RFC, not only against each other), every
 * channel type of §5.1, UTF-8 labels up to the 16-bit maximum; malformed
 * input: every truncation, trailing bytes, undefined channel types, wrong
 * message types, invalid UTF-8 (overlong, surrogate, above U+10FFFF, cut
 * sequences); writer errors; the PPID classes of RFC 8831 §8.
 */
#include "sctp/dcep.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* Reliable, priority 256 (normal), label "chat", protocol "json". */
static const uint8_t open_chat[] = {
    0x03, 0x00, 0x01, 0x00, /* type OPEN, RELIABLE, priority 256 */
    0x00, 0x00, 0x00, 0x00, /* reliability parameter */
    0x00, 0x04, 0x00, 0x04, /* label length 4, protocol length 4 */
    'c',  'h',  'a',  't',  'j', 's', 'o', 'n',
};

/* Unordered, 3 retransmits, priority 512, empty label and protocol. */
static const uint8_t open_rexmit[] = {0x03, 0x81, 0x02, 0x00, 0x00, 0x00,
                                      0x00, 0x03, 0x00, 0x00, 0x00, 0x00};

/* Ordered timed, lifetime 500 ms (0x1f4), label "é€" (UTF-8), protocol "x". */
static const uint8_t open_timed[] = {0x03, 0x02, 0x00, 0x80, 0x00, 0x00, 0x01, 0xf4, 0x00,
                                     0x05, 0x00, 0x01, 0xc3, 0xa9, 0xe2, 0x82, 0xac, 'x'};

static void test_parse_vectors(void **state)
{
    (void)state;
    hx_dcep_open o;
    assert_int_equal(hx_dcep_type(open_chat, sizeof open_chat), HX_DCEP_OPEN);
    assert_int_equal(hx_dcep_parse_open(open_chat, sizeof open_chat, &o), HX_DCEP_OK);
    assert_int_equal(o.channel_type, HX_DCEP_RELIABLE);
    assert_int_equal(o.priority, 256);
    assert_int_equal(o.reliability, 0);
    assert_int_equal(o.label_len, 4);
    assert_int_equal(o.protocol_len, 4);
    assert_ptr_equal(o.label, open_chat + 12); /* points into the input */
    assert_memory_equal(o.label, "chat", 4);
    assert_memory_equal(o.protocol, "json", 4);

    assert_int_equal(hx_dcep_parse_open(open_rexmit, sizeof open_rexmit, &o), HX_DCEP_OK);
    assert_int_equal(o.channel_type, HX_DCEP_UNORDERED | HX_DCEP_PARTIAL_RELIABLE_REXMIT);
    assert_int_equal(o.priority, 512);
    assert_int_equal(o.reliability, 3);
    assert_int_equal(o.label_len + o.protocol_len, 0);

    assert_int_equal(hx_dcep_parse_open(open_timed, sizeof open_timed, &o), HX_DCEP_OK);
    assert_int_equal(o.channel_type, HX_DCEP_PARTIAL_RELIABLE_TIMED);
    assert_int_equal(o.priority, 128);
    assert_int_equal(o.reliability, 500);
    assert_memory_equal(o.label, "\xc3\xa9\xe2\x82\xac", 5);
    assert_memory_equal(o.protocol, "x", 1);
}

static void check_write(const uint8_t *vec, size_t len)
{
    hx_dcep_open o;
    uint8_t out[64];
    assert_int_equal(hx_dcep_parse_open(vec, len, &o), HX_DCEP_OK);
    assert_int_equal(hx_dcep_write_open(&o, out, sizeof out), (long)len);
    assert_memory_equal(out, vec, len);
    assert_int_equal(hx_dcep_write_open(&o, out, len - 1), HX_DCEP_ENOSPACE);
}

static void test_write_matches_rfc_layout(void **state)
{
    (void)state;
    check_write(open_chat, sizeof open_chat);
    check_write(open_rexmit, sizeof open_rexmit);
    check_write(open_timed, sizeof open_timed);
    /* Built from fields, not from a parse. */
    hx_dcep_open o = {.channel_type = HX_DCEP_RELIABLE,
                      .priority = 256,
                      .label = (const uint8_t *)"chat",
                      .label_len = 4,
                      .protocol = (const uint8_t *)"json",
                      .protocol_len = 4};
    uint8_t out[64];
    assert_int_equal(hx_dcep_write_open(&o, out, sizeof out), sizeof open_chat);
    assert_memory_equal(out, open_chat, sizeof open_chat);
}

static void test_all_channel_types(void **state)
{
    (void)state;
    for (int t = 0; t < 256; t++) {
        uint8_t m[12] = {0x03, (uint8_t)t};
        hx_dcep_open o;
        int ok = t == 0x00 || t == 0x01 || t == 0x02 || t == 0x80 || t == 0x81 || t == 0x82;
        assert_int_equal(hx_dcep_channel_type_valid((uint8_t)t), ok);
        assert_int_equal(hx_dcep_parse_open(m, sizeof m, &o), ok ? HX_DCEP_OK : HX_DCEP_ECHANNEL);
        o = (hx_dcep_open){.channel_type = (uint8_t)t};
        assert_int_equal(hx_dcep_write_open(&o, m, sizeof m) == 12, ok);
    }
}

static void test_max_label(void **state)
{
    (void)state;
    size_t n = HX_DCEP_OPEN_MAX;
    uint8_t *label = malloc(65535), *proto = malloc(65535), *buf = malloc(n + 1);
    for (size_t i = 0; i < 65535; i++) {
        label[i] = (uint8_t)('a' + i % 26);
        proto[i] = (uint8_t)('0' + i % 10);
    }
    hx_dcep_open o = {.label = label, .label_len = 65535, .protocol = proto, .protocol_len = 65535};
    assert_int_equal(hx_dcep_write_open(&o, buf, n + 1), (long)n);
    assert_int_equal(buf[8], 0xff);
    assert_int_equal(buf[9], 0xff);
    hx_dcep_open p;
    assert_int_equal(hx_dcep_parse_open(buf, n, &p), HX_DCEP_OK);
    assert_int_equal(p.label_len, 65535);
    assert_memory_equal(p.protocol, proto, 65535);
    buf[n] = 0;
    assert_int_equal(hx_dcep_parse_open(buf, n + 1, &p), HX_DCEP_ETRAIL);
    free(label);
    free(proto);
    free(buf);
}

static void test_malformed(void **state)
{
    (void)state;
    hx_dcep_open o;
    memset(&o, 0x5a, sizeof o);
    hx_dcep_open before = o;
    assert_int_equal(hx_dcep_type(open_chat, 0), HX_DCEP_ETRUNC);
    assert_int_equal(hx_dcep_parse_open(open_chat, 0, &o), HX_DCEP_ETRUNC);
    for (size_t n = 1; n < sizeof open_chat; n++)
        assert_int_equal(hx_dcep_parse_open(open_chat, n, &o), HX_DCEP_ETRUNC);
    assert_memory_equal(&o, &before, sizeof o); /* untouched on failure */
    uint8_t m[sizeof open_chat + 1];
    memcpy(m, open_chat, sizeof open_chat);
    m[sizeof open_chat] = 0;
    assert_int_equal(hx_dcep_parse_open(m, sizeof m, &o), HX_DCEP_ETRAIL);
    m[0] = HX_DCEP_ACK;
    assert_int_equal(hx_dcep_parse_open(m, sizeof open_chat, &o), HX_DCEP_ETYPE);
    /* Lengths that claim more than is there, and less. */
    memcpy(m, open_chat, sizeof open_chat);
    m[9] = 5;
    assert_int_equal(hx_dcep_parse_open(m, sizeof open_chat, &o), HX_DCEP_ETRUNC);
    m[9] = 3;
    assert_int_equal(hx_dcep_parse_open(m, sizeof open_chat, &o), HX_DCEP_ETRAIL);
    m[9] = 4;
    m[10] = 0xff; /* protocol length 0xff04: far past the end */
    assert_int_equal(hx_dcep_parse_open(m, sizeof open_chat, &o), HX_DCEP_ETRUNC);
}

static int open_with_label(const char *label, size_t n)
{
    uint8_t m[32] = {0x03, 0x00, 0x00, 0x00, 0, 0, 0, 0, 0, (uint8_t)n, 0, 0};
    memcpy(m + 12, label, n);
    hx_dcep_open o;
    return hx_dcep_parse_open(m, 12 + n, &o);
}

static void test_utf8(void **state)
{
    (void)state;
    static const char *const good[] = {"",
                                       "ascii",
                                       "\xc2\x80",
                                       "\xdf\xbf",
                                       "\xe0\xa0\x80",
                                       "\xed\x9f\xbf",
                                       "\xee\x80\x80",
                                       "\xf0\x90\x80\x80",
                                       "\xf4\x8f\xbf\xbf"};
    static const char *const bad[] = {"\x80",
                                      "\xc0\x80",
                                      "\xc1\xbf",
                                      "\xe0\x80\x80",
                                      "\xed\xa0\x80",
                                      "\xf0\x80\x80\x80",
                                      "\xf4\x90\x80\x80",
                                      "\xf5\x80\x80\x80",
                                      "\xff",
                                      "\xe2\x82",
                                      "a\xc3",
                                      "\xe2\x28\xa1"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        assert_true(hx_dcep_utf8_valid((const uint8_t *)good[i], strlen(good[i])));
        assert_int_equal(open_with_label(good[i], strlen(good[i])), HX_DCEP_OK);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_false(hx_dcep_utf8_valid((const uint8_t *)bad[i], strlen(bad[i])));
        assert_int_equal(open_with_label(bad[i], strlen(bad[i])), HX_DCEP_EUTF8);
        hx_dcep_open o = {.protocol = (const uint8_t *)bad[i],
                          .protocol_len = (uint16_t)strlen(bad[i])};
        uint8_t out[32];
        assert_int_equal(hx_dcep_write_open(&o, out, sizeof out), HX_DCEP_EUTF8);
    }
}

static void test_ack(void **state)
{
    (void)state;
    static const uint8_t ack[] = {0x02}, ack_trail[] = {0x02, 0x00}, open1[] = {0x03};
    assert_int_equal(hx_dcep_type(ack, 1), HX_DCEP_ACK);
    assert_int_equal(hx_dcep_parse_ack(ack, 1), HX_DCEP_OK);
    assert_int_equal(hx_dcep_parse_ack(ack, 0), HX_DCEP_ETRUNC);
    assert_int_equal(hx_dcep_parse_ack(ack_trail, 2), HX_DCEP_ETRAIL);
    assert_int_equal(hx_dcep_parse_ack(open1, 1), HX_DCEP_ETYPE);
    uint8_t out[2] = {0xee, 0xee};
    assert_int_equal(hx_dcep_write_ack(out, 0), HX_DCEP_ENOSPACE);
    assert_int_equal(hx_dcep_write_ack(out, sizeof out), 1);
    assert_int_equal(out[0], 0x02);
    assert_int_equal(out[1], 0xee);
}

static void test_writer_args(void **state)
{
    (void)state;
    uint8_t out[32];
    hx_dcep_open o = {.label_len = 3}; /* length without bytes */
    assert_int_equal(hx_dcep_write_open(&o, out, sizeof out), HX_DCEP_EINVAL);
    assert_string_equal(hx_dcep_strerror(HX_DCEP_ETRUNC), "DCEP message truncated");
    assert_string_equal(hx_dcep_strerror(-100), "unknown DCEP error");
}

static void test_ppids(void **state)
{
    (void)state;
    assert_int_equal(hx_dcep_ppid_class(50), HX_PPID_CLASS_CONTROL);
    assert_int_equal(hx_dcep_ppid_class(51), HX_PPID_CLASS_STRING);
    assert_int_equal(hx_dcep_ppid_class(56), HX_PPID_CLASS_STRING);
    assert_int_equal(hx_dcep_ppid_class(53), HX_PPID_CLASS_BINARY);
    assert_int_equal(hx_dcep_ppid_class(57), HX_PPID_CLASS_BINARY);
    assert_int_equal(hx_dcep_ppid_class(52), HX_PPID_CLASS_REFUSED);
    assert_int_equal(hx_dcep_ppid_class(54), HX_PPID_CLASS_REFUSED);
    static const uint32_t unknown[] = {0, 49, 55, 58, 0x33000000u, 0xffffffffu};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++)
        assert_int_equal(hx_dcep_ppid_class(unknown[i]), HX_PPID_CLASS_UNKNOWN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_vectors),
        cmocka_unit_test(test_write_matches_rfc_layout),
        cmocka_unit_test(test_all_channel_types),
        cmocka_unit_test(test_max_label),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_ack),
        cmocka_unit_test(test_writer_args),
        cmocka_unit_test(test_ppids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
