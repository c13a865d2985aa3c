/*
 * RTCP feedback (RFC 4585 §6.1): the common header and the messages the
 * SFU relays or answers: PLI, FIR, generic NACK, REMB.
 *
 * Layout after the RTCP header: sender SSRC, media source SSRC, FCI.
 *   PLI  (PSFB fmt 1, RFC 4585 §6.3.1): no FCI.
 *   FIR  (PSFB fmt 4, RFC 5104 §4.3.1): media SSRC 0, FCI entries of
 *        {SSRC, seq nr (8), reserved (24)}.
 *   NACK (RTPFB fmt 1, RFC 4585 §6.2.1): FCI pairs {PID (16), BLP (16)};
 *        bit i of BLP reports PID+i+1 lost.
 *   REMB (PSFB fmt 15, draft-alvestrand-rmcat-remb-03 §2.2): media SSRC 0,
 *        "REMB", num SSRC (8), exp (6), mantissa (18), SSRCs.
 * Sequence arithmetic in NACK is mod 2^16 throughout.
 */
#include "rtp/rtcp.h"

#include "rtp/rtp_internal.h"

#include <string.h>

int hx_rtcp_fb_parse(const hx_rtcp_pkt *p, hx_rtcp_fb *fb)
{
    if (p->pt != HX_RTCP_RTPFB && p->pt != HX_RTCP_PSFB) return HX_RTP_EINVAL;
    if (p->body_len < 8) return HX_RTP_ETRUNC;
    fb->sender_ssrc = hx_rd32(p->body);
    fb->media_ssrc = hx_rd32(p->body + 4);
    fb->fci = p->body + 8;
    fb->fci_len = p->body_len - 8;
    return HX_RTP_OK;
}

/* Parse the header of a feedback packet of one exact type and format. */
static int fb_expect(const hx_rtcp_pkt *p, uint8_t pt, uint8_t fmt, hx_rtcp_fb *fb)
{
    if (p->pt != pt || p->count != fmt) return HX_RTP_EINVAL;
    return hx_rtcp_fb_parse(p, fb);
}

static long fb_start(uint8_t *out, size_t cap, uint8_t pt, uint8_t fmt, uint32_t sender,
                     uint32_t media, size_t fci_len)
{
    size_t len = 12 + fci_len;
    if (len / 4 > 0x10000 || len % 4) return HX_RTP_EINVAL;
    if (!out || cap < len) return HX_RTP_ENOSPACE;
    hx__rtcp_header(out, fmt, pt, len);
    hx_wr32(out + 4, sender);
    hx_wr32(out + 8, media);
    return (long)len;
}

long hx_rtcp_pli_build(uint8_t *out, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc)
{
    return fb_start(out, cap, HX_RTCP_PSFB, HX_RTCP_FMT_PLI, sender_ssrc, media_ssrc, 0);
}

int hx_rtcp_fir_parse(const hx_rtcp_pkt *p, hx_rtcp_fb *fb, hx_rtcp_fir_entry *e, size_t cap,
                      size_t *n)
{
    *n = 0;
    int rc = fb_expect(p, HX_RTCP_PSFB, HX_RTCP_FMT_FIR, fb);
    if (rc != HX_RTP_OK) return rc;
    if (fb->fci_len % 8) return HX_RTP_ETRUNC;
    if (fb->fci_len / 8 > cap) return HX_RTP_ENOSPACE;
    for (size_t off = 0; off < fb->fci_len; off += 8, (*n)++) {
        e[*n].ssrc = hx_rd32(fb->fci + off);
        e[*n].seq = fb->fci[off + 4];
    }
    return HX_RTP_OK;
}

long hx_rtcp_fir_build(uint8_t *out, size_t cap, uint32_t sender_ssrc, const hx_rtcp_fir_entry *e,
                       size_t n)
{
    if (n == 0 || !e || n > 0x1000) return HX_RTP_EINVAL;
    long len = fb_start(out, cap, HX_RTCP_PSFB, HX_RTCP_FMT_FIR, sender_ssrc, 0, 8 * n);
    if (len < 0) return len;
    for (size_t i = 0; i < n; i++) {
        uint8_t *f = out + 12 + 8 * i;
        hx_wr32(f, e[i].ssrc);
        f[4] = e[i].seq;
        memset(f + 5, 0, 3);
    }
    return len;
}

int hx_rtcp_nack_parse(const hx_rtcp_pkt *p, hx_rtcp_fb *fb, uint16_t *seqs, size_t cap, size_t *n)
{
    *n = 0;
    int rc = fb_expect(p, HX_RTCP_RTPFB, HX_RTCP_FMT_NACK, fb);
    if (rc != HX_RTP_OK) return rc;
    if (fb->fci_len % 4) return HX_RTP_ETRUNC;
    for (size_t off = 0; off < fb->fci_len; off += 4) {
        uint16_t pid = hx_rd16(fb->fci + off), blp = hx_rd16(fb->fci + off + 2);
        if (*n >= cap) return HX_RTP_ENOSPACE;
        seqs[(*n)++] = pid;
        for (int i = 0; i < 16; i++) {
            if (!(blp >> i & 1)) continue;
            if (*n >= cap) return HX_RTP_ENOSPACE;
            seqs[(*n)++] = (uint16_t)(pid + i + 1);
        }
    }
    return HX_RTP_OK;
}

/* Number of PID/BLP pairs hx_rtcp_nack_build writes for seqs. */
static size_t nack_pairs(const uint16_t *seqs, size_t n)
{
    size_t pairs = 0;
    uint16_t pid = 0;
    for (size_t i = 0; i < n; i++) {
        uint16_t d = (uint16_t)(seqs[i] - pid - 1);
        if (i == 0 || d >= 16) {
            pid = seqs[i];
            pairs++;
        }
    }
    return pairs;
}

long hx_rtcp_nack_build(uint8_t *out, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc,
                        const uint16_t *seqs, size_t n)
{
    if (n == 0 || !seqs) return HX_RTP_EINVAL;
    size_t pairs = nack_pairs(seqs, n);
    long len =
        fb_start(out, cap, HX_RTCP_RTPFB, HX_RTCP_FMT_NACK, sender_ssrc, media_ssrc, 4 * pairs);
    if (len < 0) return len;
    uint8_t *f = out + 12 - 4;
    uint16_t pid = 0, blp = 0;
    for (size_t i = 0; i < n; i++) {
        uint16_t d = (uint16_t)(seqs[i] - pid - 1);
        if (i == 0 || d >= 16) {
            f += 4;
            pid = seqs[i];
            blp = 0;
            hx_wr16(f, pid);
        } else {
            blp |= (uint16_t)(1u << d);
        }
        hx_wr16(f + 2, blp);
    }
    return len;
}

static const uint8_t REMB_ID[4] = {'R', 'E', 'M', 'B'};

int hx_rtcp_remb_parse(const hx_rtcp_pkt *p, hx_rtcp_fb *fb, hx_rtcp_remb *remb)
{
    int rc = fb_expect(p, HX_RTCP_PSFB, HX_RTCP_FMT_AFB, fb);
    if (rc != HX_RTP_OK) return rc;
    if (fb->fci_len < 8 || memcmp(fb->fci, REMB_ID, 4) != 0) return HX_RTP_ENOTFOUND;
    const uint8_t *f = fb->fci;
    uint8_t n = f[4];
    if (fb->fci_len - 8 < 4u * n) return HX_RTP_ETRUNC;
    if (n > HX_RTCP_REMB_MAX_SSRC) return HX_RTP_ENOSPACE;
    uint8_t exp = f[5] >> 2;
    uint32_t mantissa = (uint32_t)(f[5] & 3) << 16 | hx_rd16(f + 6);
    /* exp up to 63 would overflow 64 bits for a large mantissa: saturate */
    if (exp > 46)
        remb->bitrate = mantissa ? UINT64_MAX : 0;
    else
        remb->bitrate = (uint64_t)mantissa << exp;
    remb->n_ssrc = n;
    for (uint8_t i = 0; i < n; i++)
        remb->ssrc[i] = hx_rd32(f + 8 + 4 * i);
    return HX_RTP_OK;
}

long hx_rtcp_remb_build(uint8_t *out, size_t cap, uint32_t sender_ssrc, const hx_rtcp_remb *r)
{
    if (r->n_ssrc > HX_RTCP_REMB_MAX_SSRC) return HX_RTP_EINVAL;
    long len =
        fb_start(out, cap, HX_RTCP_PSFB, HX_RTCP_FMT_AFB, sender_ssrc, 0, 8 + 4u * r->n_ssrc);
    if (len < 0) return len;
    uint64_t mantissa = r->bitrate;
    uint8_t exp = 0;
    while (mantissa > 0x3ffff) {
        mantissa >>= 1;
        exp++;
    }
    uint8_t *f = out + 12;
    memcpy(f, REMB_ID, 4);
    f[4] = r->n_ssrc;
    f[5] = (uint8_t)(exp << 2 | mantissa >> 16);
    hx_wr16(f + 6, (uint16_t)mantissa);
    for (uint8_t i = 0; i < r->n_ssrc; i++)
        hx_wr32(f + 8 + 4 * i, r->ssrc[i]);
    return len;
}
