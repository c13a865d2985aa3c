/*
 * libFuzzer target for RTP: rtp/rtp, rtp/rtp_ext, rtp/cache (RTX),
 * rtp/keyframe.
 *
 * Each input is parsed as an RTP packet. When it parses, the harness
 * checks the contract rather than just surviving:
 *   - offsets and lengths lie inside the input, payload + padding end it;
 *   - every extension element lies inside the extension block, and
 *     find() agrees with iteration; typed reads succeed only at their size;
 *   - header rewrites read back, and writing the old values restores the
 *     original bytes;
 *   - id remapping in pad mode keeps the length and payload, in remove
 *     mode keeps payload and padding and leaves only mapped ids;
 *   - RTX wrap then unwrap gives back the original (padding dropped);
 *   - keyframe detection, VP8 rewriting (dropped pictures and resends too) and the VP9
 *     descriptor stay in bounds on the payload;
 *   - every extension element read as a dependency descriptor (rtp/dd): a structure within
 *     its bounds, frames resolved to layers it holds, a failed read leaving the kept
 *     structure untouched, and a structure read back from its own packet giving the same.
 * Any broken promise aborts. The seed corpus (fuzz/corpus/rtp) holds the
 * packets of tests/rtp: RFC 8285 layouts, both forms, CSRCs, padding, RTX.
 */
#include "rtp/cache.h"
#include "rtp/dd.h"
#include "rtp/keyframe.h"
#include "rtp/rtp.h"

#include <stdlib.h>
#include <string.h>

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) abort();                                                                         \
    } while (0)

static void check_frame(const hx_dd_structure *s, const hx_dd_frame *f)
{
    CHECK(s->valid && s->n_templates >= 1 && s->n_templates <= HX_DD_MAX_TEMPLATES);
    CHECK(s->dt_cnt >= 1 && s->dt_cnt <= HX_DD_MAX_DT && s->max_sid < HX_DD_MAX_SPATIAL);
    CHECK(s->max_tid < 8 && s->chain_cnt <= s->dt_cnt && s->id_offset < 64);
    CHECK(f->sid <= s->max_sid && f->tid <= s->max_tid && f->n_fdiffs <= 15);
    CHECK(!f->keyframe || (f->start && f->sid == 0 && f->n_fdiffs == 0));
    CHECK(f->has_active || f->active == (s->dt_cnt >= 32 ? UINT32_MAX : (1u << s->dt_cnt) - 1));
}

/* The stream's structure at the start of each input: the L3T3 one of the seeds
 * (tests/support/dd_writer, template_id_offset 3), so frames without one resolve too. */
static const uint8_t l3t3[] = {
    0xc3, 0x00, 0x07, 0x80, 0x68, 0x16, 0x59, 0x7f, 0xff, 0xff, 0xff, 0xff, 0x3c, 0xf3,
    0xc3, 0x0c, 0x30, 0x3f, 0xfc, 0x03, 0xcf, 0x00, 0x30, 0xc0, 0x03, 0xf0, 0x00, 0x3c,
    0x00, 0x03, 0x4d, 0x14, 0x10, 0x42, 0x28, 0x41, 0x04, 0x22, 0x84, 0x0c, 0x55, 0xf8,
    0x00, 0x09, 0x18, 0x91, 0x89, 0x18, 0x91, 0x89, 0x18, 0x91, 0x89, 0x18, 0x91, 0x89,
    0x1c, 0x04, 0xfc, 0x02, 0xcc, 0x09, 0xfc, 0x05, 0x9c, 0x13, 0xfc, 0x0b, 0x3c};
static hx_dd_structure kept; /* across an input's elements, as a stream keeps it */

/* An element as a dependency descriptor: alone, then against the structure it carried. */
static void check_dd(const uint8_t *v, size_t len)
{
    hx_dd_structure fresh, before = kept;
    hx_dd_frame f;
    if (hx_dd_parse(v, len, &kept, &kept, &f) != HX_RTP_OK) {
        CHECK(memcmp(&kept, &before, sizeof kept) == 0);
        return;
    }
    CHECK(f.has_structure || memcmp(&kept, &before, sizeof kept) == 0);
    check_frame(&kept, &f);
    if (!f.has_structure) return;
    hx_dd_frame g;
    CHECK(hx_dd_parse(v, len, NULL, &fresh, &g) == HX_RTP_OK);
    CHECK(memcmp(&fresh, &kept, sizeof fresh) == 0 && memcmp(&f, &g, sizeof f) == 0);
}

static void check_exts(const uint8_t *buf, const hx_rtp_hdr *h)
{
    size_t pos = 0, n = 0;
    hx_rtp_ext e, f;
    int rc;
    while ((rc = hx_rtp_ext_next(buf, h, &pos, &e)) == 1) {
        CHECK(e.offset >= h->ext_offset && e.offset + e.len <= h->ext_offset + h->ext_len);
        CHECK(e.val == buf + e.offset && e.id != 0);
        CHECK(hx_rtp_ext_find(buf, h, e.id, &f) == HX_RTP_OK && f.offset <= e.offset);
        CHECK(++n <= h->ext_len);
        check_dd(e.val, e.len);
    }
    CHECK(rc <= 0);
    for (int id = 1; id < 16; id++) {
        char s[256];
        uint32_t v32;
        uint16_t v16;
        uint8_t lvl;
        int voice;
        int k = hx_rtp_ext_string(buf, h, (uint8_t)id, s, sizeof s);
        CHECK(k < 0 || (size_t)k == strlen(s));
        if (hx_rtp_ext_abs_send_time(buf, h, (uint8_t)id, &v32) == HX_RTP_OK)
            CHECK(v32 <= 0xffffff);
        if (hx_rtp_ext_audio_level(buf, h, (uint8_t)id, &voice, &lvl) == HX_RTP_OK)
            CHECK(lvl <= 127 && (voice == 0 || voice == 1));
        (void)hx_rtp_ext_twcc_seq(buf, h, (uint8_t)id, &v16);
    }
}

static void check_rewrite(const uint8_t *data, size_t size, const hx_rtp_hdr *h)
{
    uint8_t *p = malloc(size);
    hx_rtp_hdr g;
    CHECK(p);
    memcpy(p, data, size);
    hx_rtp_set_seq(p, (uint16_t)~h->seq);
    hx_rtp_set_ts(p, ~h->ts);
    hx_rtp_set_ssrc(p, ~h->ssrc);
    hx_rtp_set_pt(p, (uint8_t)(h->pt ^ 0x55));
    hx_rtp_set_marker(p, !h->marker);
    CHECK(hx_rtp_parse(p, size, &g) == HX_RTP_OK);
    CHECK(g.seq == (uint16_t)~h->seq && g.ts == ~h->ts && g.ssrc == ~h->ssrc);
    CHECK(g.pt == (h->pt ^ 0x55) && g.marker == !h->marker);
    CHECK(g.payload_offset == h->payload_offset && g.payload_len == h->payload_len);
    hx_rtp_set_seq(p, h->seq);
    hx_rtp_set_ts(p, h->ts);
    hx_rtp_set_ssrc(p, h->ssrc);
    hx_rtp_set_pt(p, h->pt);
    hx_rtp_set_marker(p, h->marker);
    CHECK(memcmp(p, data, size) == 0);
    free(p);
}

static void check_remap(const uint8_t *data, size_t size, const hx_rtp_hdr *h0)
{
    uint8_t map[256];
    for (int i = 0; i < 256; i++)
        map[i] = (uint8_t)(i % 3 == 0 ? 0 : (i * 5) % 14 + 1);
    for (int mode = 0; mode < 2; mode++) {
        uint8_t *p = malloc(size);
        size_t len = size;
        hx_rtp_hdr h = *h0;
        CHECK(p);
        memcpy(p, data, size);
        int rc = hx_rtp_ext_remap(p, &len, &h, map, (hx_ext_unknown)mode);
        if (rc != HX_RTP_OK) {
            CHECK(len == size && memcmp(p, data, size) == 0); /* untouched on error */
            free(p);
            continue;
        }
        hx_rtp_hdr g;
        CHECK(hx_rtp_parse(p, len, &g) == HX_RTP_OK);
        CHECK(g.payload_len == h0->payload_len && g.padding_len == h0->padding_len);
        CHECK(memcmp(p + g.payload_offset, data + h0->payload_offset,
                     h0->payload_len + h0->padding_len) == 0);
        if (mode == HX_EXT_UNKNOWN_PAD) CHECK(len == size);
        if (mode == HX_EXT_UNKNOWN_REMOVE && (h0->ext_profile == HX_RTP_EXT_ONE_BYTE ||
                                              (h0->ext_profile & 0xfff0) == HX_RTP_EXT_TWO_BYTE)) {
            size_t pos = 0;
            hx_rtp_ext e;
            CHECK(len <= size);
            while (hx_rtp_ext_next(p, &g, &pos, &e) == 1) {
                int mapped = 0;
                for (int i = 1; i < 256; i++)
                    mapped |= map[i] == e.id;
                CHECK(mapped);
            }
        }
        free(p);
    }
}

/* Putting an element keeps the payload and padding, and the element reads back. */
static void check_put(const uint8_t *data, size_t size, const hx_rtp_hdr *h0)
{
    static const uint8_t ids[] = {3, 14, 1};
    for (size_t k = 0; k < sizeof ids; k++) {
        uint8_t p[HX_RTP_MAX_PACKET + 64];
        if (size > HX_RTP_MAX_PACKET) return;
        memcpy(p, data, size);
        size_t len = size;
        hx_rtp_hdr h = *h0;
        uint8_t v[2] = {(uint8_t)k, 0x5a};
        int rc = hx_rtp_ext_put(p, &len, sizeof p, &h, ids[k], v, 2);
        if (rc != HX_RTP_OK) {
            CHECK(len == size && memcmp(p, data, size) == 0);
            continue;
        }
        hx_rtp_hdr g;
        CHECK(hx_rtp_parse(p, len, &g) == HX_RTP_OK);
        CHECK(g.payload_len == h0->payload_len && g.padding_len == h0->padding_len);
        CHECK(memcmp(p + g.payload_offset, data + h0->payload_offset,
                     h0->payload_len + h0->padding_len) == 0);
        uint16_t got;
        CHECK(hx_rtp_ext_twcc_seq(p, &g, ids[k], &got) == HX_RTP_OK && got == (k << 8 | 0x5a));
    }
}

static void check_rtx(const uint8_t *data, size_t size, const hx_rtp_hdr *h)
{
    uint8_t rtx[HX_RTP_MAX_PACKET];
    long n = hx_rtx_wrap(rtx, sizeof rtx, data, size, 0x12345678, 97, 4321);
    if (n < 0) return;
    CHECK((size_t)n == size - h->padding_len + 2);
    long u = hx_rtx_unwrap(rtx, (size_t)n, h->ssrc, h->pt);
    CHECK(u == (long)(size - h->padding_len));
    CHECK((rtx[0] & ~0x20) == (data[0] & ~0x20) && memcmp(rtx + 1, data + 1, (size_t)u - 1) == 0);
}

static void check_payload(const uint8_t *data, const hx_rtp_hdr *h)
{
    const uint8_t *pl = data + h->payload_offset;
    for (int c = HX_CODEC_OTHER; c <= HX_CODEC_AV1; c++) {
        int k = hx_keyframe_start((hx_video_codec)c, pl, h->payload_len);
        CHECK(k == 0 || k == 1 || k < 0);
    }
    hx_vp9_desc v;
    if (hx_vp9_parse(pl, h->payload_len, &v) == HX_RTP_OK) {
        CHECK(v.hdr_len <= h->payload_len && v.sid < 8 && v.tid < 8 && v.ss_layers <= 8);
        CHECK(!v.keyframe || (v.begin && !v.inter && v.sid == 0));
        CHECK(v.keyframe == (hx_keyframe_start(HX_CODEC_VP9, pl, h->payload_len) == 1));
    }
    hx_vp8_desc d;
    if (hx_vp8_parse(pl, h->payload_len, &d) != HX_RTP_OK) return;
    CHECK(d.hdr_len <= h->payload_len);
    CHECK(!d.has_picture_id || d.picture_id_off + 1u + d.picture_id_long <= d.hdr_len);
    CHECK(!d.has_tl0 || d.tl0_off < d.hdr_len);
    uint8_t copy[HX_RTP_MAX_PACKET];
    if (h->payload_len > sizeof copy) return;
    memcpy(copy, pl, h->payload_len);
    hx_vp8_rewriter rw;
    hx_vp8_rw_init(&rw);
    hx_vp8_rw_switch(&rw);
    CHECK(hx_vp8_rw_rewrite(&rw, copy, h->payload_len) == HX_RTP_OK);
    CHECK(memcmp(copy + d.hdr_len, pl + d.hdr_len, h->payload_len - d.hdr_len) == 0);
    /* A dropped picture moves the next ids down by one, once per picture; a resend writes the
     * id it is given and touches nothing else. */
    int32_t out = rw.out_pid;
    CHECK(out == (d.has_picture_id ? (int32_t)d.picture_id : -1));
    hx_vp8_rw_drop(&rw, &d);
    hx_vp8_rw_drop(&rw, &d);
    memcpy(copy, pl, h->payload_len);
    CHECK(hx_vp8_rw_rewrite(&rw, copy, h->payload_len) == HX_RTP_OK);
    CHECK(!d.has_picture_id || rw.out_pid == ((out - 1) & 0x7fff));
    hx_vp8_rewriter before = rw;
    CHECK(hx_vp8_rw_resend(&rw, copy, h->payload_len, 0x1234) == HX_RTP_OK);
    CHECK(memcmp(&before, &rw, sizeof rw) == 0);
    CHECK(memcmp(copy + d.hdr_len, pl + d.hdr_len, h->payload_len - d.hdr_len) == 0);
    hx_vp8_desc e;
    CHECK(hx_vp8_parse(copy, h->payload_len, &e) == HX_RTP_OK);
    CHECK(!d.has_picture_id || e.picture_id == (d.picture_id_long ? 0x1234 : 0x34));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hx_rtp_hdr h;
    if (hx_rtp_parse(data, size, &h) != HX_RTP_OK) return 0;
    CHECK(h.payload_offset + h.payload_len + h.padding_len == size);
    CHECK(!h.extension || h.ext_offset + h.ext_len <= h.payload_offset);
    hx_dd_frame f;
    CHECK(hx_dd_parse(l3t3, sizeof l3t3, NULL, &kept, &f) == HX_RTP_OK && f.keyframe);
    check_exts(data, &h);
    check_rewrite(data, size, &h);
    check_remap(data, size, &h);
    check_put(data, size, &h);
    check_rtx(data, size, &h);
    check_payload(data, &h);
    return 0;
}
