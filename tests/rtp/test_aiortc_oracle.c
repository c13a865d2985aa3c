/*
 * hearth's RTP/RTCP codecs against an independent implementation:
 * aiortc's Python code (Debian python3-aiortc), driven by
 * tests/rtp/aiortc_oracle.py.
 *
 *   hearth -> aiortc: packets built by hearth (RTP with one-byte and
 *     two-byte extensions, CSRCs, padding, an RTX packet, an id-remapped
 *     packet; compound SR+RR+SDES+BYE; PLI, FIR, NACK across the 16-bit
 *     wrap, REMB) go to a temp file as hex; aiortc parses them and prints
 *     JSON that is compared here field by field with what was built.
 *   aiortc -> hearth: aiortc serializes packets and prints their hex
 *     with the fields it built them from; hearth parses and compares.
 *   real encoders: libvpx and libx264 (through PyAV) encode frames, one
 *     forced to a keyframe; aiortc packetizes them; hearth's keyframe
 *     detection must agree with the encoder's keyframe flag on every
 *     frame's first packet, and its VP8 descriptor parse with aiortc's.
 * aiortc has no TWCC feedback parser; TWCC is checked against a captured
 * packet in test_twcc.c instead. The test is skipped (with a message)
 * only if aiortc cannot be imported.
 */
#include "rtp/cache.h"
#include "rtp/keyframe.h"
#include "rtp/rtcp.h"
#include "rtp/rtp.h"

#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#define PY "/usr/bin/python3"
#define ORACLE HX_SOURCE_DIR "/tests/rtp/aiortc_oracle.py"
#define OUT_CAP (1 << 20)

/* Extension ids, as fixed in aiortc_oracle.py. */
enum { X_MID = 1, X_RID = 2, X_RRID = 3, X_ABS = 4, X_TWCC = 5, X_AUDIO = 6 };

static int have_aiortc(void)
{
    return system(PY " -c 'import aiortc.rtp' >/dev/null 2>&1") == 0;
}

/* Run the oracle; NULL if it exits 3 (an encoder is missing). */
static json_t *run_oracle_opt(const char *args)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, PY " %s %s", ORACLE, args);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    char *out = malloc(OUT_CAP);
    assert_non_null(out);
    size_t n = fread(out, 1, OUT_CAP - 1, f);
    out[n] = '\0';
    int status = pclose(f);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 3) {
        free(out);
        return NULL;
    }
    assert_int_equal(status, 0);
    json_error_t err;
    json_t *j = json_loads(out, 0, &err);
    if (!j) fail_msg("oracle output is not JSON: %s", err.text);
    free(out);
    assert_true(json_is_array(j));
    return j;
}

static long long jint(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    if (!json_is_integer(v) && !json_is_boolean(v)) fail_msg("missing integer %s", key);
    return json_is_boolean(v) ? json_is_true(v) : json_integer_value(v);
}

static const char *jstr(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static void hex_encode(const uint8_t *b, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 15];
    }
    out[2 * n] = '\0';
}

static size_t hex_decode(const char *s, uint8_t *out, size_t cap)
{
    size_t n = strlen(s) / 2;
    assert_true(n <= cap);
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        assert_int_equal(sscanf(s + 2 * i, "%2x", &v), 1);
        out[i] = (uint8_t)v;
    }
    return n;
}

static json_t *run_oracle(const char *args)
{
    json_t *j = run_oracle_opt(args);
    assert_non_null(j);
    return j;
}

/* ---- hearth builds, aiortc parses ---- */

typedef struct {
    const char *kind;
    uint8_t buf[HX_RTP_MAX_PACKET];
    size_t len;
} sample;

static const uint8_t PAY[50] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 200, 201, 255};

static size_t build_rtp1(uint8_t *out)
{
    static const uint8_t abs[] = {0x12, 0x34, 0x56}, tw[] = {0xff, 0xff}, lvl[] = {33};
    const hx_rtp_ext ext[] = {
        {.id = X_MID, .len = 6, .val = (const uint8_t *)"video1"},
        {.id = X_RID, .len = 1, .val = (const uint8_t *)"f"},
        {.id = X_ABS, .len = 3, .val = abs},
        {.id = X_TWCC, .len = 2, .val = tw},
        {.id = X_AUDIO, .len = 1, .val = lvl},
    };
    const hx_rtp_build_args a = {.marker = 1,
                                 .pt = 96,
                                 .seq = 1,
                                 .ts = 2,
                                 .ssrc = 3,
                                 .ext = ext,
                                 .n_ext = 5,
                                 .payload = PAY,
                                 .payload_len = sizeof PAY};
    long n = hx_rtp_build(out, HX_RTP_MAX_PACKET, &a);
    assert_true(n > 0);
    return (size_t)n;
}

static size_t build_rtp2(uint8_t *out)
{
    static const uint32_t csrc[3] = {0x11, 0x22, 0xffffffff};
    const hx_rtp_ext ext[] = {
        {.id = X_MID, .len = 20, .val = (const uint8_t *)"twenty-byte-mid-0123"},
        {.id = X_RRID, .len = 2, .val = (const uint8_t *)"r1"},
    };
    const hx_rtp_build_args a = {.pt = 127,
                                 .seq = 65535,
                                 .ts = 0xffffffff,
                                 .ssrc = 0x80000000,
                                 .csrc = csrc,
                                 .csrc_count = 3,
                                 .ext = ext,
                                 .n_ext = 2,
                                 .payload = PAY,
                                 .payload_len = 13,
                                 .padding = 4};
    long n = hx_rtp_build(out, HX_RTP_MAX_PACKET, &a);
    assert_true(n > 0);
    return (size_t)n;
}

static size_t build_samples(sample *s)
{
    size_t k = 0;
    s[k].kind = "rtp";
    s[k].len = build_rtp1(s[k].buf);
    k++;
    s[k].kind = "rtp";
    s[k].len = build_rtp2(s[k].buf);
    k++;
    /* RTX of packet 1: SSRC 0x99, PT 97, seq 500, OSN 1 */
    uint8_t tmp[HX_RTP_MAX_PACKET];
    size_t tl = build_rtp1(tmp);
    long n = hx_rtx_wrap(s[k].buf, sizeof s[k].buf, tmp, tl, 0x99, 97, 500);
    assert_true(n > 0);
    s[k].kind = "rtp";
    s[k].len = (size_t)n;
    k++;
    /* packet 1 remapped twice: removing all but mid (moved to id 6) and twcc, then
     * padding-mode moving mid back to id 1, where aiortc looks for it */
    s[k].kind = "rtp";
    s[k].len = build_rtp1(s[k].buf);
    hx_rtp_hdr h;
    assert_int_equal(hx_rtp_parse(s[k].buf, s[k].len, &h), HX_RTP_OK);
    uint8_t map[256] = {0};
    map[X_MID] = X_AUDIO;
    map[X_TWCC] = X_TWCC;
    assert_int_equal(hx_rtp_ext_remap(s[k].buf, &s[k].len, &h, map, HX_EXT_UNKNOWN_REMOVE), 0);
    memset(map, 0, sizeof map);
    map[X_AUDIO] = X_MID;
    map[X_TWCC] = X_TWCC;
    assert_int_equal(hx_rtp_ext_remap(s[k].buf, &s[k].len, &h, map, HX_EXT_UNKNOWN_PAD), 0);
    k++;

    /* compound SR + RR + SDES + BYE */
    hx_rtcp_sr sr = {.ssrc = 0xaabbccdd,
                     .ntp = 0x0102030405060708ull,
                     .rtp_ts = 90000,
                     .packet_count = 10,
                     .octet_count = 12000,
                     .n_rb = 2};
    sr.rb[0] = (hx_rtcp_rb){.ssrc = 1,
                            .fraction_lost = 255,
                            .cumulative_lost = -42,
                            .ext_highest_seq = 0x0002ffff,
                            .jitter = 99,
                            .lsr = 7,
                            .dlsr = 8};
    sr.rb[1] = (hx_rtcp_rb){.ssrc = 2, .cumulative_lost = 0x7fffff};
    hx_rtcp_rr rr = {.ssrc = 0x12345678, .n_rb = 1};
    rr.rb[0] = sr.rb[0];
    const uint32_t bye_ssrc[2] = {0xaabbccdd, 0x12345678};
    uint8_t *b = s[k].buf;
    size_t cap = sizeof s[k].buf, len = 0;
    long m;
    assert_true((m = hx_rtcp_sr_build(b + len, cap - len, &sr)) > 0);
    len += (size_t)m;
    assert_true((m = hx_rtcp_rr_build(b + len, cap - len, &rr)) > 0);
    len += (size_t)m;
    assert_true((m = hx_rtcp_sdes_build_cname(b + len, cap - len, 0xaabbccdd, "cname!", 6)) > 0);
    len += (size_t)m;
    assert_true((m = hx_rtcp_bye_build(b + len, cap - len, bye_ssrc, 2, NULL, 0)) > 0);
    len += (size_t)m;
    s[k].kind = "rtcp";
    s[k].len = len;
    k++;

    /* feedback: PLI, FIR, NACK across the wrap, REMB */
    const hx_rtcp_fir_entry fir[2] = {{0x55, 1}, {0x66, 200}};
    const uint16_t lost[] = {65533, 65535, 0, 4, 30, 31};
    hx_rtcp_remb remb = {.bitrate = 2500000, .n_ssrc = 2, .ssrc = {0x55, 0x66}};
    b = s[k].buf;
    len = 0;
    assert_true((m = hx_rtcp_pli_build(b + len, cap - len, 0x44, 0x55)) > 0);
    len += (size_t)m;
    assert_true((m = hx_rtcp_fir_build(b + len, cap - len, 0x44, fir, 2)) > 0);
    len += (size_t)m;
    assert_true((m = hx_rtcp_nack_build(b + len, cap - len, 0x44, 0x66, lost, 6)) > 0);
    len += (size_t)m;
    assert_true((m = hx_rtcp_remb_build(b + len, cap - len, 0x44, &remb)) > 0);
    len += (size_t)m;
    s[k].kind = "rtcp";
    s[k].len = len;
    k++;
    return k;
}

static void check_payload(const json_t *o, const uint8_t *want, size_t n)
{
    uint8_t got[HX_RTP_MAX_PACKET];
    const char *hex = jstr(o, "payload");
    assert_non_null(hex);
    assert_int_equal(hex_decode(hex, got, sizeof got), n);
    assert_memory_equal(got, want, n);
}

static void check_rb(const json_t *o, const hx_rtcp_rb *rb)
{
    assert_int_equal(jint(o, "ssrc"), rb->ssrc);
    assert_int_equal(jint(o, "fraction_lost"), rb->fraction_lost);
    assert_int_equal(jint(o, "packets_lost"), rb->cumulative_lost);
    assert_int_equal(jint(o, "highest_sequence"), rb->ext_highest_seq);
    assert_int_equal(jint(o, "jitter"), rb->jitter);
    assert_int_equal(jint(o, "lsr"), rb->lsr);
    assert_int_equal(jint(o, "dlsr"), rb->dlsr);
}

static void test_hearth_to_aiortc(void **state)
{
    (void)state;
    if (!have_aiortc()) {
        print_message("aiortc cannot be imported (apt-get install python3-aiortc): skipped\n");
        skip();
    }
    static sample s[8];
    size_t n = build_samples(s);
    char path[] = "/tmp/hx_aiortc_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    static char hex[2 * HX_RTP_MAX_PACKET + 1];
    for (size_t i = 0; i < n; i++) {
        hex_encode(s[i].buf, s[i].len, hex);
        fprintf(f, "%s %s\n", s[i].kind, hex);
    }
    fclose(f);
    char args[64];
    snprintf(args, sizeof args, "parse %s", path);
    json_t *all = run_oracle(args);
    unlink(path);
    assert_int_equal(json_array_size(all), n);
    for (size_t i = 0; i < n; i++) {
        const json_t *o = json_array_get(all, i);
        if (jstr(o, "error")) fail_msg("aiortc rejected sample %zu: %s", i, jstr(o, "error"));
    }

    /* packet 1: every extension */
    const json_t *o = json_array_get(all, 0);
    assert_int_equal(jint(o, "marker"), 1);
    assert_int_equal(jint(o, "pt"), 96);
    assert_int_equal(jint(o, "seq"), 1);
    assert_int_equal(jint(o, "ts"), 2);
    assert_int_equal(jint(o, "ssrc"), 3);
    assert_string_equal(jstr(o, "mid"), "video1");
    assert_string_equal(jstr(o, "rid"), "f");
    assert_int_equal(jint(o, "abs_send_time"), 0x123456);
    assert_int_equal(jint(o, "twcc"), 0xffff);
    const json_t *al = json_object_get(o, "audio_level");
    assert_int_equal(json_is_true(json_array_get(al, 0)), 0);
    assert_int_equal(json_integer_value(json_array_get(al, 1)), 33);
    check_payload(o, PAY, sizeof PAY);

    /* packet 2: two-byte form, CSRCs, padding */
    o = json_array_get(all, 1);
    assert_int_equal(jint(o, "pt"), 127);
    assert_int_equal(jint(o, "seq"), 65535);
    assert_int_equal(jint(o, "ts"), 0xffffffffu);
    assert_int_equal(jint(o, "ssrc"), 0x80000000u);
    assert_string_equal(jstr(o, "mid"), "twenty-byte-mid-0123");
    assert_string_equal(jstr(o, "rrid"), "r1");
    assert_int_equal(jint(o, "padding_size"), 4);
    const json_t *cs = json_object_get(o, "csrc");
    assert_int_equal(json_array_size(cs), 3);
    assert_int_equal(json_integer_value(json_array_get(cs, 2)), 0xffffffffu);
    check_payload(o, PAY, 13);

    /* packet 3: RTX, OSN first, extensions kept */
    o = json_array_get(all, 2);
    assert_int_equal(jint(o, "ssrc"), 0x99);
    assert_int_equal(jint(o, "pt"), 97);
    assert_int_equal(jint(o, "seq"), 500);
    assert_int_equal(jint(o, "ts"), 2);
    assert_string_equal(jstr(o, "mid"), "video1");
    uint8_t osn[2 + sizeof PAY] = {0, 1};
    memcpy(osn + 2, PAY, sizeof PAY);
    check_payload(o, osn, sizeof osn);

    /* packet 4: only mid and twcc left, payload intact */
    o = json_array_get(all, 3);
    assert_string_equal(jstr(o, "mid"), "video1");
    assert_int_equal(jint(o, "twcc"), 0xffff);
    assert_null(jstr(o, "rid"));
    assert_true(json_is_null(json_object_get(o, "abs_send_time")));
    assert_true(json_is_null(json_object_get(o, "audio_level")));
    check_payload(o, PAY, sizeof PAY);

    /* compound reports */
    const json_t *pk = json_object_get(json_array_get(all, 4), "packets");
    assert_int_equal(json_array_size(pk), 4);
    o = json_array_get(pk, 0);
    assert_string_equal(jstr(o, "kind"), "sr");
    assert_int_equal(jint(o, "ssrc"), 0xaabbccdd);
    assert_int_equal(jint(o, "ntp"), 0x0102030405060708ll);
    assert_int_equal(jint(o, "rtp_ts"), 90000);
    assert_int_equal(jint(o, "packet_count"), 10);
    assert_int_equal(jint(o, "octet_count"), 12000);
    const json_t *reps = json_object_get(o, "reports");
    assert_int_equal(json_array_size(reps), 2);
    hx_rtcp_rb rb0 = {.ssrc = 1,
                      .fraction_lost = 255,
                      .cumulative_lost = -42,
                      .ext_highest_seq = 0x0002ffff,
                      .jitter = 99,
                      .lsr = 7,
                      .dlsr = 8};
    hx_rtcp_rb rb1 = {.ssrc = 2, .cumulative_lost = 0x7fffff};
    check_rb(json_array_get(reps, 0), &rb0);
    check_rb(json_array_get(reps, 1), &rb1);
    o = json_array_get(pk, 1);
    assert_string_equal(jstr(o, "kind"), "rr");
    assert_int_equal(jint(o, "ssrc"), 0x12345678);
    check_rb(json_array_get(json_object_get(o, "reports"), 0), &rb0);
    o = json_array_get(pk, 2);
    assert_string_equal(jstr(o, "kind"), "sdes");
    const json_t *chunk = json_array_get(json_object_get(o, "chunks"), 0);
    assert_int_equal(jint(chunk, "ssrc"), 0xaabbccdd);
    const json_t *item = json_array_get(json_object_get(chunk, "items"), 0);
    assert_int_equal(json_integer_value(json_array_get(item, 0)), 1);
    assert_string_equal(json_string_value(json_array_get(item, 1)), "636e616d6521");
    o = json_array_get(pk, 3);
    assert_string_equal(jstr(o, "kind"), "bye");
    assert_int_equal(json_integer_value(json_array_get(json_object_get(o, "sources"), 1)),
                     0x12345678);

    /* feedback */
    pk = json_object_get(json_array_get(all, 5), "packets");
    assert_int_equal(json_array_size(pk), 4);
    o = json_array_get(pk, 0);
    assert_string_equal(jstr(o, "kind"), "psfb");
    assert_int_equal(jint(o, "fmt"), 1);
    assert_int_equal(jint(o, "ssrc"), 0x44);
    assert_int_equal(jint(o, "media_ssrc"), 0x55);
    assert_string_equal(jstr(o, "fci"), "");
    o = json_array_get(pk, 1);
    assert_int_equal(jint(o, "fmt"), 4);
    assert_int_equal(jint(o, "media_ssrc"), 0);
    const json_t *fe = json_object_get(o, "fir");
    assert_int_equal(json_array_size(fe), 2);
    assert_int_equal(json_integer_value(json_array_get(json_array_get(fe, 1), 0)), 0x66);
    assert_int_equal(json_integer_value(json_array_get(json_array_get(fe, 1), 1)), 200);
    o = json_array_get(pk, 2);
    assert_string_equal(jstr(o, "kind"), "rtpfb");
    assert_int_equal(jint(o, "fmt"), 1);
    assert_int_equal(jint(o, "media_ssrc"), 0x66);
    const json_t *lost = json_object_get(o, "lost");
    const uint16_t want_lost[] = {65533, 65535, 0, 4, 30, 31};
    assert_int_equal(json_array_size(lost), 6);
    for (size_t i = 0; i < 6; i++) /* aiortc does not wrap: compare mod 2^16 */
        assert_int_equal(json_integer_value(json_array_get(lost, i)) & 0xffff, want_lost[i]);
    o = json_array_get(pk, 3);
    assert_int_equal(jint(o, "fmt"), 15);
    const json_t *remb = json_object_get(o, "remb");
    assert_int_equal(jint(remb, "bitrate"), 2500000);
    assert_int_equal(json_integer_value(json_array_get(json_object_get(remb, "ssrcs"), 1)), 0x66);
    json_decref(all);
}

/* ---- aiortc builds, hearth parses ---- */

static void check_rtp_from_aiortc(const json_t *o, const uint8_t *buf, size_t len)
{
    hx_rtp_hdr h;
    assert_int_equal(hx_rtp_parse(buf, len, &h), HX_RTP_OK);
    assert_int_equal(h.marker, jint(o, "marker"));
    assert_int_equal(h.pt, jint(o, "pt"));
    assert_int_equal(h.seq, jint(o, "seq"));
    assert_int_equal(h.ts, jint(o, "ts"));
    assert_int_equal(h.ssrc, jint(o, "ssrc"));
    const json_t *cs = json_object_get(o, "csrc");
    assert_int_equal(h.csrc_count, json_array_size(cs));
    for (size_t i = 0; i < h.csrc_count; i++)
        assert_int_equal(((uint32_t)buf[12 + 4 * i] << 24 | (uint32_t)buf[13 + 4 * i] << 16 |
                          (uint32_t)buf[14 + 4 * i] << 8 | buf[15 + 4 * i]),
                         json_integer_value(json_array_get(cs, i)));
    assert_int_equal(h.padding_len, jint(o, "padding_size"));
    check_payload(o, buf + h.payload_offset, h.payload_len);

    char s[256];
    const struct {
        const char *key;
        uint8_t id;
    } strs[] = {{"mid", X_MID}, {"rid", X_RID}, {"rrid", X_RRID}};
    for (size_t i = 0; i < 3; i++) {
        const char *want = jstr(o, strs[i].key);
        int rc = hx_rtp_ext_string(buf, &h, strs[i].id, s, sizeof s);
        if (want) {
            assert_int_equal(rc, (int)strlen(want));
            assert_string_equal(s, want);
        } else {
            assert_int_equal(rc, HX_RTP_ENOTFOUND);
        }
    }
    uint32_t abs;
    uint16_t tw;
    int voice;
    uint8_t level;
    if (json_is_null(json_object_get(o, "abs_send_time"))) {
        assert_int_equal(hx_rtp_ext_abs_send_time(buf, &h, X_ABS, &abs), HX_RTP_ENOTFOUND);
    } else {
        assert_int_equal(hx_rtp_ext_abs_send_time(buf, &h, X_ABS, &abs), HX_RTP_OK);
        assert_int_equal(abs, jint(o, "abs_send_time"));
    }
    if (json_is_null(json_object_get(o, "twcc"))) {
        assert_int_equal(hx_rtp_ext_twcc_seq(buf, &h, X_TWCC, &tw), HX_RTP_ENOTFOUND);
    } else {
        assert_int_equal(hx_rtp_ext_twcc_seq(buf, &h, X_TWCC, &tw), HX_RTP_OK);
        assert_int_equal(tw, jint(o, "twcc"));
    }
    const json_t *al = json_object_get(o, "audio_level");
    if (json_is_null(al)) {
        assert_int_equal(hx_rtp_ext_audio_level(buf, &h, X_AUDIO, &voice, &level),
                         HX_RTP_ENOTFOUND);
    } else {
        assert_int_equal(hx_rtp_ext_audio_level(buf, &h, X_AUDIO, &voice, &level), HX_RTP_OK);
        assert_int_equal(voice, json_is_true(json_array_get(al, 0)));
        assert_int_equal(level, json_integer_value(json_array_get(al, 1)));
    }
}

static void check_reports(const json_t *reps, const hx_rtcp_rb *rb, size_t n)
{
    assert_int_equal(json_array_size(reps), n);
    for (size_t i = 0; i < n; i++) {
        const json_t *r = json_array_get(reps, i);
        hx_rtcp_rb want = {
            .ssrc = (uint32_t)jint(r, "ssrc"),
            .fraction_lost = (uint8_t)jint(r, "fraction_lost"),
            .cumulative_lost = (int32_t)jint(r, "packets_lost"),
            .ext_highest_seq = (uint32_t)jint(r, "highest_sequence"),
            .jitter = (uint32_t)jint(r, "jitter"),
            .lsr = (uint32_t)jint(r, "lsr"),
            .dlsr = (uint32_t)jint(r, "dlsr"),
        };
        assert_int_equal(rb[i].ssrc, want.ssrc);
        assert_int_equal(rb[i].fraction_lost, want.fraction_lost);
        assert_int_equal(rb[i].cumulative_lost, want.cumulative_lost);
        assert_int_equal(rb[i].ext_highest_seq, want.ext_highest_seq);
        assert_int_equal(rb[i].jitter, want.jitter);
        assert_int_equal(rb[i].lsr, want.lsr);
        assert_int_equal(rb[i].dlsr, want.dlsr);
    }
}

static void check_rtcp_packet(const json_t *o, const hx_rtcp_pkt *p)
{
    const char *kind = jstr(o, "kind");
    assert_non_null(kind);
    if (strcmp(kind, "sr") == 0) {
        hx_rtcp_sr sr;
        assert_int_equal(hx_rtcp_sr_parse(p, &sr), HX_RTP_OK);
        assert_int_equal(sr.ssrc, jint(o, "ssrc"));
        assert_true(sr.ntp == (uint64_t)jint(o, "ntp"));
        assert_int_equal(sr.rtp_ts, jint(o, "rtp_ts"));
        assert_int_equal(sr.packet_count, jint(o, "packet_count"));
        assert_int_equal(sr.octet_count, jint(o, "octet_count"));
        check_reports(json_object_get(o, "reports"), sr.rb, sr.n_rb);
    } else if (strcmp(kind, "rr") == 0) {
        hx_rtcp_rr rr;
        assert_int_equal(hx_rtcp_rr_parse(p, &rr), HX_RTP_OK);
        assert_int_equal(rr.ssrc, jint(o, "ssrc"));
        check_reports(json_object_get(o, "reports"), rr.rb, rr.n_rb);
    } else if (strcmp(kind, "sdes") == 0) {
        hx_rtcp_sdes_chunk ch[4];
        size_t n;
        assert_int_equal(hx_rtcp_sdes_parse(p, ch, 4, &n), HX_RTP_OK);
        const json_t *chunks = json_object_get(o, "chunks");
        assert_int_equal(n, json_array_size(chunks));
        const json_t *c0 = json_array_get(chunks, 0);
        assert_int_equal(ch[0].ssrc, jint(c0, "ssrc"));
        const char *want =
            json_string_value(json_array_get(json_array_get(json_object_get(c0, "items"), 0), 1));
        char got[512];
        hex_encode(ch[0].cname, ch[0].cname_len, got);
        assert_string_equal(got, want);
    } else if (strcmp(kind, "bye") == 0) {
        hx_rtcp_bye bye;
        assert_int_equal(hx_rtcp_bye_parse(p, &bye), HX_RTP_OK);
        const json_t *src = json_object_get(o, "sources");
        assert_int_equal(bye.n, json_array_size(src));
        for (size_t i = 0; i < bye.n; i++)
            assert_int_equal(bye.ssrc[i], json_integer_value(json_array_get(src, i)));
    } else if (strcmp(kind, "rtpfb") == 0) {
        hx_rtcp_fb fb;
        uint16_t seqs[128];
        size_t n;
        assert_int_equal(hx_rtcp_nack_parse(p, &fb, seqs, 128, &n), HX_RTP_OK);
        assert_int_equal(fb.sender_ssrc, jint(o, "ssrc"));
        assert_int_equal(fb.media_ssrc, jint(o, "media_ssrc"));
        const json_t *lost = json_object_get(o, "lost");
        assert_int_equal(n, json_array_size(lost));
        for (size_t i = 0; i < n; i++)
            assert_int_equal(seqs[i], json_integer_value(json_array_get(lost, i)));
    } else if (strcmp(kind, "psfb") == 0) {
        hx_rtcp_fb fb;
        assert_int_equal(hx_rtcp_fb_parse(p, &fb), HX_RTP_OK);
        assert_int_equal(p->count, jint(o, "fmt"));
        assert_int_equal(fb.sender_ssrc, jint(o, "ssrc"));
        assert_int_equal(fb.media_ssrc, jint(o, "media_ssrc"));
        if (p->count == HX_RTCP_FMT_AFB) {
            hx_rtcp_remb r;
            const json_t *remb = json_object_get(o, "remb");
            assert_int_equal(hx_rtcp_remb_parse(p, &fb, &r), HX_RTP_OK);
            assert_int_equal(r.bitrate, jint(remb, "bitrate"));
            const json_t *ss = json_object_get(remb, "ssrcs");
            assert_int_equal(r.n_ssrc, json_array_size(ss));
            for (size_t i = 0; i < r.n_ssrc; i++)
                assert_int_equal(r.ssrc[i], json_integer_value(json_array_get(ss, i)));
        } else if (p->count == HX_RTCP_FMT_FIR) {
            hx_rtcp_fir_entry e[8];
            size_t n;
            const json_t *fe = json_object_get(o, "fir");
            assert_int_equal(hx_rtcp_fir_parse(p, &fb, e, 8, &n), HX_RTP_OK);
            assert_int_equal(n, json_array_size(fe));
            for (size_t i = 0; i < n; i++) {
                const json_t *x = json_array_get(fe, i);
                assert_int_equal(e[i].ssrc, json_integer_value(json_array_get(x, 0)));
                assert_int_equal(e[i].seq, json_integer_value(json_array_get(x, 1)));
            }
        } else {
            assert_int_equal(p->count, HX_RTCP_FMT_PLI);
            assert_int_equal(fb.fci_len, 0);
        }
    } else {
        fail_msg("unexpected packet kind %s", kind);
    }
}

static void test_aiortc_to_hearth(void **state)
{
    (void)state;
    if (!have_aiortc()) {
        print_message("aiortc cannot be imported (apt-get install python3-aiortc): skipped\n");
        skip();
    }
    json_t *all = run_oracle("build");
    size_t n_rtp = 0, n_rtcp = 0;
    static uint8_t buf[4 * HX_RTP_MAX_PACKET];
    for (size_t i = 0; i < json_array_size(all); i++) {
        const json_t *o = json_array_get(all, i);
        size_t len = hex_decode(jstr(o, "hex"), buf, sizeof buf);
        if (strcmp(jstr(o, "type"), "rtp") == 0) {
            check_rtp_from_aiortc(o, buf, len);
            n_rtp++;
            continue;
        }
        const json_t *pk = json_object_get(o, "packets");
        hx_rtcp_iter it;
        hx_rtcp_pkt p;
        size_t k = 0;
        int rc;
        hx_rtcp_iter_init(&it, buf, len);
        while ((rc = hx_rtcp_iter_next(&it, &p)) == 1)
            check_rtcp_packet(json_array_get(pk, k++), &p);
        assert_int_equal(rc, 0);
        assert_int_equal(k, json_array_size(pk));
        n_rtcp += k;
    }
    assert_int_equal(n_rtp, 3);
    assert_int_equal(n_rtcp, 8);
    json_decref(all);
}

/* ---- real encoders: keyframe starts in real VP8 / H.264 payloads ---- */

static void test_real_encoder_keyframes(void **state)
{
    (void)state;
    if (!have_aiortc()) {
        print_message("aiortc cannot be imported (apt-get install python3-aiortc): skipped\n");
        skip();
    }
    json_t *all = run_oracle_opt("video 2>/dev/null"); /* encoder logs */
    if (!all) {
        print_message("PyAV lacks libvpx or libx264: skipped\n");
        skip();
    }
    static uint8_t pl[4 * HX_RTP_MAX_PACKET];
    size_t keys[2] = {0}, frames = 0;
    for (size_t i = 0; i < json_array_size(all); i++) {
        const json_t *o = json_array_get(all, i);
        int vp8 = strcmp(jstr(o, "codec"), "vp8") == 0;
        int key = (int)jint(o, "keyframe"), first = jint(o, "index") == 0;
        size_t len = hex_decode(jstr(o, "payload"), pl, sizeof pl);
        int got = hx_keyframe_start(vp8 ? HX_CODEC_VP8 : HX_CODEC_H264, pl, len);
        assert_true(got >= 0);
        if (first || !key) {
            /* the first packet of a frame starts a keyframe iff the encoder made one */
            if (got != (first && key))
                fail_msg("%s frame %lld packet %lld: hearth says %d, encoder keyframe %d",
                         vp8 ? "vp8" : "h264", jint(o, "frame"), jint(o, "index"), got, key);
        } else if (vp8) {
            assert_int_equal(got, 0); /* continuation packets of a VP8 keyframe */
        } /* later H.264 keyframe packets may start further IDR slices: either is right */
        if (first) {
            frames++;
            keys[vp8] += (size_t)key;
        }
        if (!vp8) continue;
        hx_vp8_desc d;
        assert_int_equal(hx_vp8_parse(pl, len, &d), HX_RTP_OK);
        assert_int_equal(d.picture_id, jint(o, "picture_id"));
        assert_int_equal(d.start, jint(o, "partition_start"));
        assert_int_equal(d.pid, jint(o, "partition_id"));
        assert_int_equal(d.hdr_len, jint(o, "header_len"));
    }
    /* both codecs produced frames, with the forced keyframe among them */
    assert_true(frames >= 16);
    assert_true(keys[0] >= 2 && keys[1] >= 2);
    json_decref(all);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hearth_to_aiortc),
        cmocka_unit_test(test_aiortc_to_hearth),
        cmocka_unit_test(test_real_encoder_keyframes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
