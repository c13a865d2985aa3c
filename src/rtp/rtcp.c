/*
 * RTCP compound iteration and the RFC 3550 reports: SR, RR, SDES, BYE.
 *
 * Common header (RFC 3550 §6.4.1): V(2) P(1) count(5), PT(8), length in
 * 32-bit words minus one. The iterator checks version and length against
 * what is left of the datagram and strips padding (count byte last, at
 * least 1, at most the body). It does not insist on RFC 3550's compound
 * rules (first packet SR/RR, CNAME present): browsers send reduced-size
 * RTCP (RFC 5506) and the SFU only needs each packet to be well formed.
 *
 * Report block, 24 bytes: SSRC, fraction lost (8), cumulative lost
 * (signed 24), extended highest seq, jitter, LSR, DLSR.
 * SDES chunks: SSRC, items {type, length, value}, a zero type ends the
 * items, then zero bytes to the next 32-bit boundary.
 * BYE: count SSRCs, then optionally a length-prefixed reason.
 */
#include "rtp/rtcp.h"

#include "rtp/rtp_internal.h"

#include <string.h>

#define RB_LEN 24

void hx_rtcp_iter_init(hx_rtcp_iter *it, const uint8_t *buf, size_t len)
{
    it->buf = buf;
    it->len = buf ? len : 0;
    it->pos = 0;
}

int hx_rtcp_iter_next(hx_rtcp_iter *it, hx_rtcp_pkt *p)
{
    if (it->pos >= it->len) return 0;
    const uint8_t *b = it->buf + it->pos;
    size_t left = it->len - it->pos;
    int rc = HX_RTP_ETRUNC;
    if (left < 4) goto fail;
    rc = HX_RTP_EVERSION;
    if (b[0] >> 6 != 2) goto fail;
    size_t plen = 4u * ((size_t)hx_rd16(b + 2) + 1);
    rc = HX_RTP_ETRUNC;
    if (plen > left) goto fail;
    p->count = b[0] & 0x1f;
    p->pt = b[1];
    p->pkt = b;
    p->pkt_len = plen;
    p->body = b + 4;
    p->body_len = plen - 4;
    if (b[0] & 0x20) {
        uint8_t pad = b[plen - 1];
        rc = HX_RTP_EPADDING;
        if (pad == 0 || pad > p->body_len) goto fail;
        p->body_len -= pad;
    }
    it->pos += plen;
    return 1;
fail:
    it->pos = it->len;
    return rc;
}

static void rb_read(const uint8_t *b, hx_rtcp_rb *rb)
{
    rb->ssrc = hx_rd32(b);
    rb->fraction_lost = b[4];
    uint32_t lost = hx_rd24(b + 5);
    rb->cumulative_lost = (int32_t)(lost ^ 0x800000) - 0x800000; /* sign-extend 24 bits */
    rb->ext_highest_seq = hx_rd32(b + 8);
    rb->jitter = hx_rd32(b + 12);
    rb->lsr = hx_rd32(b + 16);
    rb->dlsr = hx_rd32(b + 20);
}

static void rb_write(uint8_t *b, const hx_rtcp_rb *rb)
{
    int32_t lost = rb->cumulative_lost;
    if (lost > 0x7fffff) lost = 0x7fffff; /* clamp to signed 24 bits */
    if (lost < -0x800000) lost = -0x800000;
    hx_wr32(b, rb->ssrc);
    b[4] = rb->fraction_lost;
    hx_wr24(b + 5, (uint32_t)lost & 0xffffff);
    hx_wr32(b + 8, rb->ext_highest_seq);
    hx_wr32(b + 12, rb->jitter);
    hx_wr32(b + 16, rb->lsr);
    hx_wr32(b + 20, rb->dlsr);
}

int hx_rtcp_sr_parse(const hx_rtcp_pkt *p, hx_rtcp_sr *sr)
{
    if (p->pt != HX_RTCP_SR) return HX_RTP_EINVAL;
    if (p->body_len < 24 + (size_t)RB_LEN * p->count) return HX_RTP_ETRUNC;
    const uint8_t *b = p->body;
    sr->ssrc = hx_rd32(b);
    sr->ntp = (uint64_t)hx_rd32(b + 4) << 32 | hx_rd32(b + 8);
    sr->rtp_ts = hx_rd32(b + 12);
    sr->packet_count = hx_rd32(b + 16);
    sr->octet_count = hx_rd32(b + 20);
    sr->n_rb = p->count;
    for (uint8_t i = 0; i < p->count; i++)
        rb_read(b + 24 + RB_LEN * i, &sr->rb[i]);
    return HX_RTP_OK;
}

int hx_rtcp_rr_parse(const hx_rtcp_pkt *p, hx_rtcp_rr *rr)
{
    if (p->pt != HX_RTCP_RR) return HX_RTP_EINVAL;
    if (p->body_len < 4 + (size_t)RB_LEN * p->count) return HX_RTP_ETRUNC;
    rr->ssrc = hx_rd32(p->body);
    rr->n_rb = p->count;
    for (uint8_t i = 0; i < p->count; i++)
        rb_read(p->body + 4 + RB_LEN * i, &rr->rb[i]);
    return HX_RTP_OK;
}

/* Header, SSRC and report blocks of an SR (info_len 20) or RR (0); the caller
 * writes the sender info between them. Returns the length or HX_RTP_E*. */
static long report_build(uint8_t *out, size_t cap, uint8_t pt, uint32_t ssrc, size_t info_len,
                         const hx_rtcp_rb *rb, uint8_t n_rb)
{
    if (n_rb > HX_RTCP_MAX_RB) return HX_RTP_EINVAL;
    size_t at = 8 + info_len, len = at + (size_t)RB_LEN * n_rb;
    if (!out || cap < len) return HX_RTP_ENOSPACE;
    hx__rtcp_header(out, n_rb, pt, len);
    hx_wr32(out + 4, ssrc);
    for (uint8_t i = 0; i < n_rb; i++)
        rb_write(out + at + RB_LEN * i, &rb[i]);
    return (long)len;
}

long hx_rtcp_sr_build(uint8_t *out, size_t cap, const hx_rtcp_sr *sr)
{
    long len = report_build(out, cap, HX_RTCP_SR, sr->ssrc, 20, sr->rb, sr->n_rb);
    if (len < 0) return len;
    hx_wr32(out + 8, (uint32_t)(sr->ntp >> 32));
    hx_wr32(out + 12, (uint32_t)sr->ntp);
    hx_wr32(out + 16, sr->rtp_ts);
    hx_wr32(out + 20, sr->packet_count);
    hx_wr32(out + 24, sr->octet_count);
    return len;
}

long hx_rtcp_rr_build(uint8_t *out, size_t cap, const hx_rtcp_rr *rr)
{
    return report_build(out, cap, HX_RTCP_RR, rr->ssrc, 0, rr->rb, rr->n_rb);
}

#define SDES_END 0
#define SDES_CNAME 1

int hx_rtcp_sdes_parse(const hx_rtcp_pkt *p, hx_rtcp_sdes_chunk *chunks, size_t cap, size_t *n)
{
    *n = 0;
    if (p->pt != HX_RTCP_SDES) return HX_RTP_EINVAL;
    if (p->count > cap) return HX_RTP_ENOSPACE;
    const uint8_t *b = p->body;
    size_t len = p->body_len, pos = 0;
    for (uint8_t i = 0; i < p->count; i++) {
        hx_rtcp_sdes_chunk *c = &chunks[i];
        if (len - pos < 4) return HX_RTP_ETRUNC;
        c->ssrc = hx_rd32(b + pos);
        c->cname = NULL;
        c->cname_len = 0;
        pos += 4;
        for (;;) {
            if (pos >= len) return HX_RTP_ETRUNC;
            uint8_t type = b[pos];
            if (type == SDES_END) break;
            if (len - pos < 2 || len - pos - 2 < b[pos + 1]) return HX_RTP_ETRUNC;
            if (type == SDES_CNAME && !c->cname) {
                c->cname = b + pos + 2;
                c->cname_len = b[pos + 1];
            }
            pos += 2u + b[pos + 1];
        }
        pos = (pos + 4) & ~(size_t)3; /* the end item, then pad to a word */
        if (pos > len) return HX_RTP_ETRUNC;
        (*n)++;
    }
    return HX_RTP_OK;
}

long hx_rtcp_sdes_build_cname(uint8_t *out, size_t cap, uint32_t ssrc, const char *cname,
                              size_t cname_len)
{
    if (cname_len == 0 || cname_len > 255 || !cname) return HX_RTP_EINVAL;
    /* header, SSRC, CNAME item, at least one end byte, padded to a word */
    size_t len = (4 + 4 + 2 + cname_len + 1 + 3) & ~(size_t)3;
    if (!out || cap < len) return HX_RTP_ENOSPACE;
    hx__rtcp_header(out, 1, HX_RTCP_SDES, len);
    hx_wr32(out + 4, ssrc);
    out[8] = SDES_CNAME;
    out[9] = (uint8_t)cname_len;
    memcpy(out + 10, cname, cname_len);
    memset(out + 10 + cname_len, 0, len - 10 - cname_len);
    return (long)len;
}

int hx_rtcp_bye_parse(const hx_rtcp_pkt *p, hx_rtcp_bye *bye)
{
    if (p->pt != HX_RTCP_BYE) return HX_RTP_EINVAL;
    size_t need = 4u * p->count;
    if (p->body_len < need) return HX_RTP_ETRUNC;
    bye->n = p->count;
    for (uint8_t i = 0; i < p->count; i++)
        bye->ssrc[i] = hx_rd32(p->body + 4 * i);
    bye->reason = NULL;
    bye->reason_len = 0;
    if (p->body_len > need) {
        uint8_t rlen = p->body[need];
        if (p->body_len - need - 1 < rlen) return HX_RTP_ETRUNC;
        bye->reason = p->body + need + 1;
        bye->reason_len = rlen;
    }
    return HX_RTP_OK;
}

long hx_rtcp_bye_build(uint8_t *out, size_t cap, const uint32_t *ssrc, size_t n, const char *reason,
                       size_t reason_len)
{
    if (n > HX_RTCP_MAX_RB || reason_len > 255 || (n && !ssrc) || (reason_len && !reason))
        return HX_RTP_EINVAL;
    size_t len = 4 + 4 * n + (reason_len ? (1 + reason_len + 3) & ~(size_t)3 : 0);
    if (!out || cap < len) return HX_RTP_ENOSPACE;
    hx__rtcp_header(out, (uint8_t)n, HX_RTCP_BYE, len);
    for (size_t i = 0; i < n; i++)
        hx_wr32(out + 4 + 4 * i, ssrc[i]);
    if (reason_len) {
        size_t at = 4 + 4 * n;
        out[at] = (uint8_t)reason_len;
        memcpy(out + at + 1, reason, reason_len);
        memset(out + at + 1 + reason_len, 0, len - at - 1 - reason_len);
    }
    return (long)len;
}
