/*
 * Unit tests for rtp/rtp and rtp/rtp_ext: RTP header parsing against
 * hand-built packets (CSRCs, padding, extension block), every truncation,
 * the RFC 8285 §4.2 and §4.3 example layouts, typed extension reads and
 * writes, id remapping in both modes, header rewriting, and build/parse
 * round trips in both extension forms.
 */
#include "rtp/rtp.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

static const uint8_t PAYLOAD[] = {0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x03};

static void test_parse_minimal(void **state)
{
    (void)state;
    const uint8_t pkt[] = {0x80, 0x60, 0x12, 0x34, 0x00, 0x00, 0x00, 0x64,
                           0xde, 0xad, 0xbe, 0xef, 'a',  'b',  'c'};
    hx_rtp_hdr h;
    assert_int_equal(hx_rtp_parse(pkt, sizeof pkt, &h), HX_RTP_OK);
    assert_int_equal(h.pt, 96);
    assert_int_equal(h.marker, 0);
    assert_int_equal(h.seq, 0x1234);
    assert_int_equal(h.ts, 100);
    assert_int_equal(h.ssrc, 0xdeadbeef);
    assert_int_equal(h.csrc_count, 0);
    assert_int_equal(h.extension, 0);
    assert_int_equal(h.payload_offset, 12);
    assert_int_equal(h.payload_len, 3);
}

/* V=2 P=1 X=1 CC=2, M=1 PT=111, 2 CSRCs, 1-word extension, 3 payload, 4 padding */
static const uint8_t FULL[] = {
    0xb2, 0xef, 0xff, 0xff, 0x11, 0x22, 0x33, 0x44, 0x01, 0x02, 0x03, 0x04, /* header */
    0x00, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x0b,                         /* CSRCs */
    0xbe, 0xde, 0x00, 0x01, 0x10, 0x7f, 0x00, 0x00,                         /* ext */
    'x',  'y',  'z',  0x00, 0x00, 0x00, 0x04,                               /* payload, pad */
};

static void test_parse_full(void **state)
{
    (void)state;
    hx_rtp_hdr h;
    assert_int_equal(hx_rtp_parse(FULL, sizeof FULL, &h), HX_RTP_OK);
    assert_int_equal(h.padding, 1);
    assert_int_equal(h.extension, 1);
    assert_int_equal(h.csrc_count, 2);
    assert_int_equal(h.marker, 1);
    assert_int_equal(h.pt, 111);
    assert_int_equal(h.seq, 0xffff);
    assert_int_equal(h.ts, 0x11223344);
    assert_int_equal(h.ssrc, 0x01020304);
    assert_int_equal(h.ext_profile, 0xbede);
    assert_int_equal(h.ext_offset, 24);
    assert_int_equal(h.ext_len, 4);
    assert_int_equal(h.payload_offset, 28);
    assert_int_equal(h.payload_len, 3);
    assert_int_equal(h.padding_len, 4);
    assert_memory_equal(FULL + h.payload_offset, "xyz", 3);
}

static void test_parse_errors(void **state)
{
    (void)state;
    hx_rtp_hdr h;
    uint8_t p[sizeof FULL];
    memcpy(p, FULL, sizeof p);
    p[0] = 0x72; /* version 1 */
    assert_int_equal(hx_rtp_parse(p, sizeof p, &h), HX_RTP_EVERSION);
    memcpy(p, FULL, sizeof p);
    p[sizeof p - 1] = 0;
    assert_int_equal(hx_rtp_parse(p, sizeof p, &h), HX_RTP_EPADDING);
    p[sizeof p - 1] = 8; /* more than the 7 payload+padding bytes */
    assert_int_equal(hx_rtp_parse(p, sizeof p, &h), HX_RTP_EPADDING);
    p[sizeof p - 1] = 7; /* exactly all of it: empty payload */
    assert_int_equal(hx_rtp_parse(p, sizeof p, &h), HX_RTP_OK);
    assert_int_equal(h.payload_len, 0);
    memcpy(p, FULL, sizeof p);
    p[23] = 0x40; /* extension length past the end */
    assert_int_equal(hx_rtp_parse(p, sizeof p, &h), HX_RTP_ETRUNC);
    assert_int_equal(hx_rtp_parse(NULL, 12, &h), HX_RTP_ETRUNC);

    /* Without padding every prefix before the payload fails, every later one parses. */
    memcpy(p, FULL, sizeof p);
    p[0] &= (uint8_t)~0x20;
    for (size_t n = 0; n <= sizeof p; n++) {
        int rc = hx_rtp_parse(p, n, &h);
        if (n < 28) {
            assert_int_equal(rc, HX_RTP_ETRUNC);
        } else {
            assert_int_equal(rc, HX_RTP_OK);
            assert_int_equal(h.payload_len, n - 28);
        }
    }
}

/* RFC 8285 §4.2 figure: ids 1 (1 byte), 2 (2 bytes), two padding bytes, 3 (4 bytes). */
static const uint8_t ONE_BYTE[] = {
    0x90, 0x60, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0xbe, 0xde, 0x00,
    0x03, 0x10, 0xa1, 0x21, 0xb1, 0xb2, 0x00, 0x00, 0x33, 0xc1, 0xc2, 0xc3, 0xc4, 0x55,
};

/* RFC 8285 §4.3 figure: ids 1 (empty), 2 (1 byte), one padding byte, 3 (4 bytes). */
static const uint8_t TWO_BYTE[] = {
    0x90, 0x60, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x10, 0x00, 0x00,
    0x03, 0x01, 0x00, 0x02, 0x01, 0xa1, 0x00, 0x03, 0x04, 0xc1, 0xc2, 0xc3, 0xc4, 0x55,
};

static void expect_elems(const uint8_t *pkt, size_t len, const uint8_t *ids, const uint8_t *lens,
                         size_t n)
{
    hx_rtp_hdr h;
    hx_rtp_ext e;
    size_t pos = 0, i = 0;
    int rc;
    assert_int_equal(hx_rtp_parse(pkt, len, &h), HX_RTP_OK);
    while ((rc = hx_rtp_ext_next(pkt, &h, &pos, &e)) == 1) {
        assert_true(i < n);
        assert_int_equal(e.id, ids[i]);
        assert_int_equal(e.len, lens[i]);
        assert_ptr_equal(e.val, pkt + e.offset);
        i++;
    }
    assert_int_equal(rc, 0);
    assert_int_equal(i, n);
}

static void test_rfc8285_examples(void **state)
{
    (void)state;
    static const uint8_t ids[] = {1, 2, 3}, lens1[] = {1, 2, 4}, lens2[] = {0, 1, 4};
    expect_elems(ONE_BYTE, sizeof ONE_BYTE, ids, lens1, 3);
    expect_elems(TWO_BYTE, sizeof TWO_BYTE, ids, lens2, 3);

    hx_rtp_hdr h;
    hx_rtp_ext e;
    assert_int_equal(hx_rtp_parse(ONE_BYTE, sizeof ONE_BYTE, &h), HX_RTP_OK);
    assert_int_equal(hx_rtp_ext_find(ONE_BYTE, &h, 3, &e), HX_RTP_OK);
    assert_memory_equal(e.val, "\xc1\xc2\xc3\xc4", 4);
    assert_int_equal(hx_rtp_ext_find(ONE_BYTE, &h, 4, &e), HX_RTP_ENOTFOUND);
    assert_int_equal(h.payload_len, 1);
    assert_int_equal(ONE_BYTE[h.payload_offset], 0x55);

    /* id 15 ends processing: id 3 behind it is not seen */
    uint8_t p[sizeof ONE_BYTE];
    memcpy(p, ONE_BYTE, sizeof p);
    p[21] = 0xf0;
    static const uint8_t ids15[] = {1, 2}, lens15[] = {1, 2};
    expect_elems(p, sizeof p, ids15, lens15, 2);

    /* an element running past the block is malformed */
    memcpy(p, ONE_BYTE, sizeof p);
    p[23] = 0x37; /* id 3 with 8 bytes: only 4 left */
    assert_int_equal(hx_rtp_parse(p, sizeof p, &h), HX_RTP_OK);
    assert_int_equal(hx_rtp_ext_find(p, &h, 3, &e), HX_RTP_ETRUNC);
    memcpy(p, TWO_BYTE, sizeof p);
    p[23] = 0x05;
    assert_int_equal(hx_rtp_parse(p, sizeof p, &h), HX_RTP_OK);
    assert_int_equal(hx_rtp_ext_find(p, &h, 3, &e), HX_RTP_ETRUNC);

    /* another profile carries no RFC 8285 elements */
    memcpy(p, ONE_BYTE, sizeof p);
    p[12] = 0x12;
    assert_int_equal(hx_rtp_parse(p, sizeof p, &h), HX_RTP_OK);
    assert_int_equal(hx_rtp_ext_find(p, &h, 1, &e), HX_RTP_ENOTFOUND);
}

enum { ID_MID = 1, ID_RID = 2, ID_ABS = 3, ID_TWCC = 4, ID_AUDIO = 5, ID_RRID = 6 };

static long build_with_exts(uint8_t *out, size_t cap, uint8_t rid_id)
{
    static const uint8_t abs[] = {0x12, 0x34, 0x56}, twcc[] = {0xab, 0xcd}, lvl[] = {0x80 | 42};
    const hx_rtp_ext ext[] = {
        {.id = ID_MID, .len = 1, .val = (const uint8_t *)"0"},
        {.id = rid_id, .len = 2, .val = (const uint8_t *)"hi"},
        {.id = ID_ABS, .len = 3, .val = abs},
        {.id = ID_TWCC, .len = 2, .val = twcc},
        {.id = ID_AUDIO, .len = 1, .val = lvl},
    };
    const hx_rtp_build_args a = {
        .marker = 1,
        .pt = 100,
        .seq = 65535,
        .ts = 0xfffffff0,
        .ssrc = 0xcafebabe,
        .ext = ext,
        .n_ext = 5,
        .payload = PAYLOAD,
        .payload_len = sizeof PAYLOAD,
    };
    return hx_rtp_build(out, cap, &a);
}

static size_t parsed_with_exts(uint8_t *p, size_t cap, hx_rtp_hdr *h)
{
    long n = build_with_exts(p, cap, ID_RID);
    assert_true(n > 0);
    assert_int_equal(hx_rtp_parse(p, (size_t)n, h), HX_RTP_OK);
    return (size_t)n;
}

static void test_typed_reads(void **state)
{
    (void)state;
    uint8_t p[256];
    long n = build_with_exts(p, sizeof p, ID_RID);
    /* 12 header + 4 ext header + (2+3+4+3+2 = 14, padded to 16) + 7 */
    assert_int_equal(n, 12 + 4 + 16 + 7);
    hx_rtp_hdr h;
    assert_int_equal(hx_rtp_parse(p, (size_t)n, &h), HX_RTP_OK);
    assert_int_equal(h.ext_profile, HX_RTP_EXT_ONE_BYTE);
    assert_int_equal(h.marker, 1);
    assert_int_equal(h.pt, 100);
    assert_int_equal(h.seq, 65535);
    assert_memory_equal(p + h.payload_offset, PAYLOAD, sizeof PAYLOAD);

    char s[16];
    assert_int_equal(hx_rtp_ext_string(p, &h, ID_MID, s, sizeof s), 1);
    assert_string_equal(s, "0");
    assert_int_equal(hx_rtp_ext_string(p, &h, ID_RID, s, sizeof s), 2);
    assert_string_equal(s, "hi");
    assert_int_equal(hx_rtp_ext_string(p, &h, ID_RID, s, 2), HX_RTP_ENOSPACE);
    assert_int_equal(hx_rtp_ext_string(p, &h, ID_RRID, s, sizeof s), HX_RTP_ENOTFOUND);
    uint32_t abs;
    assert_int_equal(hx_rtp_ext_abs_send_time(p, &h, ID_ABS, &abs), HX_RTP_OK);
    assert_int_equal(abs, 0x123456);
    uint16_t tw;
    assert_int_equal(hx_rtp_ext_twcc_seq(p, &h, ID_TWCC, &tw), HX_RTP_OK);
    assert_int_equal(tw, 0xabcd);
    int voice;
    uint8_t level;
    assert_int_equal(hx_rtp_ext_audio_level(p, &h, ID_AUDIO, &voice, &level), HX_RTP_OK);
    assert_int_equal(voice, 1);
    assert_int_equal(level, 42);
    /* reading with the wrong type checks the length */
    assert_int_equal(hx_rtp_ext_twcc_seq(p, &h, ID_ABS, &tw), HX_RTP_EINVAL);
    assert_int_equal(hx_rtp_ext_abs_send_time(p, &h, ID_MID, &abs), HX_RTP_EINVAL);

    /* in-place value writes */
    assert_int_equal(hx_rtp_ext_set_abs_send_time(p, &h, ID_ABS, 0xfedcba), HX_RTP_OK);
    assert_int_equal(hx_rtp_ext_set_twcc_seq(p, &h, ID_TWCC, 7), HX_RTP_OK);
    assert_int_equal(hx_rtp_ext_set_twcc_seq(p, &h, ID_RRID, 7), HX_RTP_ENOTFOUND);
    assert_int_equal(hx_rtp_ext_set(p, &h, ID_RID, (const uint8_t *)"abc", 3), HX_RTP_EINVAL);
    assert_int_equal(hx_rtp_ext_set(p, &h, ID_RID, (const uint8_t *)"lo", 2), HX_RTP_OK);
    assert_int_equal(hx_rtp_ext_abs_send_time(p, &h, ID_ABS, &abs), HX_RTP_OK);
    assert_int_equal(abs, 0xfedcba);
    assert_int_equal(hx_rtp_ext_twcc_seq(p, &h, ID_TWCC, &tw), HX_RTP_OK);
    assert_int_equal(tw, 7);
    assert_int_equal(hx_rtp_ext_string(p, &h, ID_RID, s, sizeof s), 2);
    assert_string_equal(s, "lo");
    assert_memory_equal(p + h.payload_offset, PAYLOAD, sizeof PAYLOAD);
}

static void test_two_byte_build(void **state)
{
    (void)state;
    uint8_t p[256];
    /* rid under id 200 forces the two-byte form */
    long n = build_with_exts(p, sizeof p, 200);
    assert_true(n > 0);
    hx_rtp_hdr h;
    assert_int_equal(hx_rtp_parse(p, (size_t)n, &h), HX_RTP_OK);
    assert_int_equal(h.ext_profile, HX_RTP_EXT_TWO_BYTE);
    assert_int_equal(h.ext_len, 20); /* 5 * 2 + 9 = 19, padded */
    char s[16];
    assert_int_equal(hx_rtp_ext_string(p, &h, 200, s, sizeof s), 2);
    assert_string_equal(s, "hi");
    uint16_t tw;
    assert_int_equal(hx_rtp_ext_twcc_seq(p, &h, ID_TWCC, &tw), HX_RTP_OK);
    assert_int_equal(tw, 0xabcd);

    /* an empty value also needs the two-byte form */
    const hx_rtp_ext empty = {.id = 1, .len = 0};
    hx_rtp_build_args a = {.pt = 96, .ext = &empty, .n_ext = 1};
    n = hx_rtp_build(p, sizeof p, &a);
    assert_int_equal(n, 12 + 4 + 4);
    assert_int_equal(hx_rtp_parse(p, (size_t)n, &h), HX_RTP_OK);
    assert_int_equal(h.ext_profile, HX_RTP_EXT_TWO_BYTE);
    assert_int_equal(hx_rtp_ext_string(p, &h, 1, s, sizeof s), 0);

    /* builder limits */
    assert_int_equal(hx_rtp_build(p, 19, &a), HX_RTP_ENOSPACE);
    a.pt = 128;
    assert_int_equal(hx_rtp_build(p, sizeof p, &a), HX_RTP_EINVAL);
}

static void test_build_round_trip(void **state)
{
    (void)state;
    const uint32_t csrc[3] = {1, 2, 0xffffffff};
    const hx_rtp_build_args a = {
        .pt = 9,
        .seq = 4242,
        .ts = 90000,
        .ssrc = 5,
        .csrc = csrc,
        .csrc_count = 3,
        .payload = PAYLOAD,
        .payload_len = sizeof PAYLOAD,
        .padding = 5,
    };
    uint8_t p[128];
    long n = hx_rtp_build(p, sizeof p, &a);
    assert_int_equal(n, 12 + 12 + 7 + 5);
    hx_rtp_hdr h;
    assert_int_equal(hx_rtp_parse(p, (size_t)n, &h), HX_RTP_OK);
    assert_int_equal(h.csrc_count, 3);
    assert_int_equal(h.padding_len, 5);
    assert_int_equal(h.payload_len, sizeof PAYLOAD);
    assert_int_equal(h.seq, 4242);
    assert_int_equal(h.ts, 90000);
    assert_memory_equal(p + 12 + 8, "\xff\xff\xff\xff", 4);

    hx_rtp_set_ssrc(p, 0x01020304);
    hx_rtp_set_seq(p, 1);
    hx_rtp_set_ts(p, 2);
    hx_rtp_set_pt(p, 127);
    hx_rtp_set_marker(p, 1);
    assert_int_equal(hx_rtp_parse(p, (size_t)n, &h), HX_RTP_OK);
    assert_int_equal(h.ssrc, 0x01020304);
    assert_int_equal(h.seq, 1);
    assert_int_equal(h.ts, 2);
    assert_int_equal(h.pt, 127);
    assert_int_equal(h.marker, 1);
    hx_rtp_set_pt(p, 0);
    hx_rtp_set_marker(p, 0);
    assert_int_equal(hx_rtp_parse(p, (size_t)n, &h), HX_RTP_OK);
    assert_int_equal(h.pt, 0);
    assert_int_equal(h.marker, 0);
    assert_int_equal(h.csrc_count, 3); /* byte 0 untouched */
    assert_string_equal(hx_rtp_strerror(HX_RTP_ETRUNC), "truncated");
}

static void test_remap_pad(void **state)
{
    (void)state;
    uint8_t p[256];
    hx_rtp_hdr h;
    size_t len = parsed_with_exts(p, sizeof p, &h);
    long n = (long)len;
    uint8_t map[256] = {0};
    map[ID_MID] = 9;
    map[ID_ABS] = 14;
    map[ID_TWCC] = ID_TWCC;
    map[ID_AUDIO] = 1; /* ids may swap places */
    assert_int_equal(hx_rtp_ext_remap(p, &len, &h, map, HX_EXT_UNKNOWN_PAD), HX_RTP_OK);
    assert_int_equal(len, (size_t)n);
    static const uint8_t ids[] = {9, 14, ID_TWCC, 1}, lens[] = {1, 3, 2, 1};
    expect_elems(p, len, ids, lens, 4);
    char s[8];
    assert_int_equal(hx_rtp_ext_string(p, &h, 9, s, sizeof s), 1);
    assert_string_equal(s, "0");
    uint32_t abs;
    assert_int_equal(hx_rtp_ext_abs_send_time(p, &h, 14, &abs), HX_RTP_OK);
    assert_int_equal(abs, 0x123456);
    assert_memory_equal(p + h.payload_offset, PAYLOAD, sizeof PAYLOAD);

    /* one-byte form cannot take id 15: nothing changes */
    uint8_t before[256];
    memcpy(before, p, len);
    map[9] = 15;
    assert_int_equal(hx_rtp_ext_remap(p, &len, &h, map, HX_EXT_UNKNOWN_REMOVE), HX_RTP_EINVAL);
    assert_memory_equal(p, before, len);
}

static void test_remap_remove(void **state)
{
    (void)state;
    uint8_t p[256];
    hx_rtp_hdr h;
    size_t len = parsed_with_exts(p, sizeof p, &h);
    long n = (long)len;
    uint8_t map[256] = {0};
    map[ID_TWCC] = 3;
    map[ID_MID] = 1;
    assert_int_equal(hx_rtp_ext_remap(p, &len, &h, map, HX_EXT_UNKNOWN_REMOVE), HX_RTP_OK);
    /* kept: mid (2 bytes) + twcc (3 bytes) = 5, padded to 8 */
    assert_int_equal(len, 12 + 4 + 8 + sizeof PAYLOAD);
    assert_int_equal(h.ext_len, 8);
    static const uint8_t ids[] = {1, 3}, lens[] = {1, 2};
    expect_elems(p, len, ids, lens, 2);
    uint16_t tw;
    assert_int_equal(hx_rtp_ext_twcc_seq(p, &h, 3, &tw), HX_RTP_OK);
    assert_int_equal(tw, 0xabcd);
    assert_int_equal(h.payload_len, sizeof PAYLOAD);
    assert_memory_equal(p + h.payload_offset, PAYLOAD, sizeof PAYLOAD);

    /* removing everything drops the block and the X bit; padding survives the move */
    const hx_rtp_ext one = {.id = 7, .len = 2, .val = (const uint8_t *)"ab"};
    const hx_rtp_build_args a = {.pt = 96,
                                 .ext = &one,
                                 .n_ext = 1,
                                 .payload = PAYLOAD,
                                 .payload_len = sizeof PAYLOAD,
                                 .padding = 3};
    n = hx_rtp_build(p, sizeof p, &a);
    len = (size_t)n;
    assert_int_equal(hx_rtp_parse(p, len, &h), HX_RTP_OK);
    memset(map, 0, sizeof map);
    assert_int_equal(hx_rtp_ext_remap(p, &len, &h, map, HX_EXT_UNKNOWN_REMOVE), HX_RTP_OK);
    assert_int_equal(len, 12 + sizeof PAYLOAD + 3);
    assert_int_equal(h.extension, 0);
    assert_int_equal(h.padding_len, 3);
    assert_int_equal(h.payload_offset, 12);
    assert_memory_equal(p + 12, PAYLOAD, sizeof PAYLOAD);

    /* two-byte RFC example: keep only id 3 */
    memcpy(p, TWO_BYTE, sizeof TWO_BYTE);
    len = sizeof TWO_BYTE;
    assert_int_equal(hx_rtp_parse(p, len, &h), HX_RTP_OK);
    map[3] = 200;
    assert_int_equal(hx_rtp_ext_remap(p, &len, &h, map, HX_EXT_UNKNOWN_REMOVE), HX_RTP_OK);
    assert_int_equal(len, 12 + 4 + 8 + 1);
    static const uint8_t ids2[] = {200}, lens2[] = {4};
    expect_elems(p, len, ids2, lens2, 1);
    assert_int_equal(p[len - 1], 0x55);
}

/* hx_rtp_ext_put: overwrite in place, append to a block, create one; payload and padding kept. */
static void test_ext_put(void **state)
{
    (void)state;
    uint8_t p[256];
    hx_rtp_hdr h;
    const uint8_t v[2] = {0x12, 0x34};
    /* no block: one is created (one-byte form, 4 + 4 bytes) */
    const hx_rtp_build_args a = {
        .pt = 96, .payload = PAYLOAD, .payload_len = sizeof PAYLOAD, .padding = 3};
    size_t len = (size_t)hx_rtp_build(p, sizeof p, &a);
    assert_int_equal(hx_rtp_parse(p, len, &h), HX_RTP_OK);
    assert_int_equal(hx_rtp_ext_put(p, &len, sizeof p, &h, 3, v, 2), HX_RTP_OK);
    assert_int_equal(len, 12 + 8 + sizeof PAYLOAD + 3);
    assert_int_equal(h.ext_profile, HX_RTP_EXT_ONE_BYTE);
    uint16_t tw;
    assert_int_equal(hx_rtp_ext_twcc_seq(p, &h, 3, &tw), HX_RTP_OK);
    assert_int_equal(tw, 0x1234);
    assert_int_equal(h.padding_len, 3);
    assert_memory_equal(p + h.payload_offset, PAYLOAD, sizeof PAYLOAD);
    /* present: overwritten, nothing moves */
    const uint8_t w[2] = {0xab, 0xcd};
    assert_int_equal(hx_rtp_ext_put(p, &len, sizeof p, &h, 3, w, 2), HX_RTP_OK);
    assert_int_equal(len, 12 + 8 + sizeof PAYLOAD + 3);
    assert_int_equal(hx_rtp_ext_twcc_seq(p, &h, 3, &tw), HX_RTP_OK);
    assert_int_equal(tw, 0xabcd);
    /* a second element (3 + 3 bytes) grows the block to two words, a third to three */
    assert_int_equal(hx_rtp_ext_put(p, &len, sizeof p, &h, 5, v, 2), HX_RTP_OK);
    assert_int_equal(len, 12 + 4 + 8 + sizeof PAYLOAD + 3);
    assert_int_equal(hx_rtp_ext_put(p, &len, sizeof p, &h, 7, v, 2), HX_RTP_OK);
    assert_int_equal(len, 12 + 4 + 12 + sizeof PAYLOAD + 3);
    static const uint8_t ids[] = {3, 5, 7}, lens[] = {2, 2, 2};
    expect_elems(p, len, ids, lens, 3);
    assert_memory_equal(p + h.payload_offset, PAYLOAD, sizeof PAYLOAD);
    /* errors leave the packet alone: a different length, an id the one-byte form lacks, no room */
    uint8_t before[256];
    memcpy(before, p, len);
    size_t blen = len;
    assert_int_equal(hx_rtp_ext_put(p, &len, sizeof p, &h, 3, v, 1), HX_RTP_EINVAL);
    assert_int_equal(hx_rtp_ext_put(p, &len, sizeof p, &h, 15, v, 2), HX_RTP_EINVAL);
    const uint8_t v4[4] = {1, 2, 3, 4}; /* 5 bytes: past the block's 3 spare ones */
    assert_int_equal(hx_rtp_ext_put(p, &len, len + 2, &h, 9, v4, 4), HX_RTP_ENOSPACE);
    assert_int_equal(len, blen);
    assert_memory_equal(p, before, len);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_minimal),    cmocka_unit_test(test_parse_full),
        cmocka_unit_test(test_parse_errors),     cmocka_unit_test(test_rfc8285_examples),
        cmocka_unit_test(test_typed_reads),      cmocka_unit_test(test_two_byte_build),
        cmocka_unit_test(test_build_round_trip), cmocka_unit_test(test_remap_pad),
        cmocka_unit_test(test_remap_remove),     cmocka_unit_test(test_ext_put),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
