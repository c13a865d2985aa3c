/*
 * RTP fixed header (RFC 3550 §5.1): parse, in-place field rewrites, build.
 *
 *   byte 0: V(2) P(1) X(1) CC(4)    byte 1: M(1) PT(7)
 *   2-3 sequence number, 4-7 timestamp, 8-11 SSRC, then CC CSRCs,
 *   then, with X, a 4-byte extension header (profile, length in words)
 *   and its data, then the payload, then, with P, padding whose last
 *   byte counts the padding bytes including itself (RFC 3550 §5.1).
 *
 * Parsing checks every length against the buffer before it is used and
 * reports offsets, never pointers, so a header can be applied to the same
 * bytes after they were copied (the packet cache, RTX). The extension
 * data itself is walked lazily by rtp_ext.c.
 */
#include "rtp/rtp.h"

#include "rtp/rtp_internal.h"

#include <string.h>

const char *hx_rtp_strerror(int err)
{
    switch (err) {
    case HX_RTP_OK:
        return "ok";
    case HX_RTP_ETRUNC:
        return "truncated";
    case HX_RTP_EVERSION:
        return "bad version";
    case HX_RTP_EPADDING:
        return "bad padding";
    case HX_RTP_EINVAL:
        return "invalid field";
    case HX_RTP_ENOTFOUND:
        return "not found";
    case HX_RTP_ENOSPACE:
        return "no space";
    default:
        return "unknown error";
    }
}

int hx_rtp_parse(const uint8_t *buf, size_t len, hx_rtp_hdr *h)
{
    memset(h, 0, sizeof *h);
    if (!buf || len < HX_RTP_HEADER_LEN) return HX_RTP_ETRUNC;
    if (buf[0] >> 6 != 2) return HX_RTP_EVERSION;
    h->padding = (buf[0] >> 5) & 1;
    h->extension = (buf[0] >> 4) & 1;
    h->csrc_count = buf[0] & 0x0f;
    h->marker = buf[1] >> 7;
    h->pt = buf[1] & 0x7f;
    h->seq = hx_rd16(buf + 2);
    h->ts = hx_rd32(buf + 4);
    h->ssrc = hx_rd32(buf + 8);

    size_t pos = HX_RTP_HEADER_LEN + 4u * h->csrc_count;
    if (pos > len) return HX_RTP_ETRUNC;
    if (h->extension) {
        if (len - pos < 4) return HX_RTP_ETRUNC;
        h->ext_profile = hx_rd16(buf + pos);
        h->ext_len = 4u * hx_rd16(buf + pos + 2);
        h->ext_offset = pos + 4;
        if (h->ext_len > len - h->ext_offset) return HX_RTP_ETRUNC;
        pos = h->ext_offset + h->ext_len;
    }
    size_t end = len;
    if (h->padding) {
        uint8_t n = buf[len - 1];
        if (n == 0 || n > len - pos) return HX_RTP_EPADDING;
        h->padding_len = n;
        end -= n;
    }
    h->payload_offset = pos;
    h->payload_len = end - pos;
    return HX_RTP_OK;
}

void hx_rtp_set_ssrc(uint8_t *buf, uint32_t ssrc)
{
    hx_wr32(buf + 8, ssrc);
}

void hx_rtp_set_seq(uint8_t *buf, uint16_t seq)
{
    hx_wr16(buf + 2, seq);
}

void hx_rtp_set_ts(uint8_t *buf, uint32_t ts)
{
    hx_wr32(buf + 4, ts);
}

void hx_rtp_set_pt(uint8_t *buf, uint8_t pt)
{
    buf[1] = (uint8_t)((buf[1] & 0x80) | (pt & 0x7f));
}

void hx_rtp_set_marker(uint8_t *buf, int marker)
{
    buf[1] = (uint8_t)((buf[1] & 0x7f) | (marker ? 0x80 : 0));
}

/* RFC 8285 §4.2: the one-byte form holds ids 1-14 and lengths 1-16. */
static int fits_one_byte(const hx_rtp_ext *ext, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (ext[i].id < 1 || ext[i].id > 14 || ext[i].len < 1 || ext[i].len > 16) return 0;
    return 1;
}

static size_t ext_data_len(const hx_rtp_ext *ext, size_t n, int one_byte)
{
    size_t sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += (one_byte ? 1u : 2u) + ext[i].len;
    return (sum + 3) & ~(size_t)3;
}

long hx_rtp_build(uint8_t *out, size_t cap, const hx_rtp_build_args *a)
{
    if (a->csrc_count > 15 || a->pt > 127 || (a->csrc_count && !a->csrc) ||
        (a->payload_len && !a->payload) || (a->n_ext && !a->ext))
        return HX_RTP_EINVAL;
    for (size_t i = 0; i < a->n_ext; i++)
        if (a->ext[i].id == 0 || (a->ext[i].len && !a->ext[i].val)) return HX_RTP_EINVAL;
    int one = fits_one_byte(a->ext, a->n_ext);
    size_t ext_len = a->n_ext ? ext_data_len(a->ext, a->n_ext, one) : 0;
    if (ext_len / 4 > 0xffff) return HX_RTP_EINVAL;
    size_t hdr = HX_RTP_HEADER_LEN + 4u * a->csrc_count + (a->n_ext ? 4 + ext_len : 0);
    if (a->payload_len > HX_RTP_MAX_PACKET) return HX_RTP_ENOSPACE;
    size_t total = hdr + a->payload_len + a->padding;
    if (!out || total > cap) return HX_RTP_ENOSPACE;

    out[0] = (uint8_t)(0x80 | (a->padding ? 0x20 : 0) | (a->n_ext ? 0x10 : 0) | a->csrc_count);
    out[1] = (uint8_t)((a->marker ? 0x80 : 0) | a->pt);
    hx_wr16(out + 2, a->seq);
    hx_wr32(out + 4, a->ts);
    hx_wr32(out + 8, a->ssrc);
    size_t pos = HX_RTP_HEADER_LEN;
    for (uint8_t i = 0; i < a->csrc_count; i++, pos += 4)
        hx_wr32(out + pos, a->csrc[i]);
    if (a->n_ext) {
        hx_wr16(out + pos, one ? HX_RTP_EXT_ONE_BYTE : HX_RTP_EXT_TWO_BYTE);
        hx_wr16(out + pos + 2, (uint16_t)(ext_len / 4));
        size_t start = pos += 4;
        for (size_t i = 0; i < a->n_ext; i++) {
            const hx_rtp_ext *e = &a->ext[i];
            if (one) {
                out[pos++] = (uint8_t)(e->id << 4 | (e->len - 1));
            } else {
                out[pos++] = e->id;
                out[pos++] = e->len;
            }
            if (e->len) memcpy(out + pos, e->val, e->len);
            pos += e->len;
        }
        memset(out + pos, 0, start + ext_len - pos);
        pos = start + ext_len;
    }
    if (a->payload_len) memcpy(out + pos, a->payload, a->payload_len);
    pos += a->payload_len;
    if (a->padding) {
        memset(out + pos, 0, a->padding - 1u);
        pos += a->padding;
        out[pos - 1] = a->padding;
    }
    return (long)pos;
}
