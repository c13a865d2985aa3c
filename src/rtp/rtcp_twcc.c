/*
 * Transport-wide congestion control feedback,
 * draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1 (RTPFB fmt 15).
 *
 * FCI: base sequence number (16), packet status count (16), reference
 * time (signed 24, units of 64 ms), feedback packet count (8), then packet
 * chunks (16 bits each) until status count statuses are described, then
 * one receive delta per received packet (1 byte unsigned for a small
 * delta, 2 bytes signed for a large one, both in 250 us ticks), then zero
 * padding to a word.
 *
 * Chunks:
 *   run length:    0 | S(2) | run length(13)      -- S repeated
 *   status vector: 1 | 0 | 14 one-bit symbols     -- 0 lost, 1 small delta
 *                  1 | 1 | 7 two-bit symbols      -- 00 lost, 01 small, 10 large
 * Symbols past the status count in a final chunk are ignored.
 *
 * The builder works from absolute arrival times: each delta is the
 * difference of arrival times floored to 250 us ticks, the first one
 * against the reference time, so rounding never accumulates (libwebrtc's
 * TransportFeedback does the same). Chunks are chosen greedily: a run
 * length chunk for 7 or more equal symbols (or a run that ends the list),
 * else a one-bit vector if the next 14 symbols need no large delta, else
 * a two-bit vector.
 */
#include "rtp/rtcp.h"

#include "rtp/rtp_internal.h"

#include <string.h>

#define TWCC_FCI_HDR 8
#define TICK_US 250
#define REF_UNIT_US 64000

int hx_rtcp_twcc_parse(const hx_rtcp_pkt *p, hx_twcc_fb *fb, hx_twcc_status *out, size_t cap)
{
    hx_rtcp_fb h;
    if (p->pt != HX_RTCP_RTPFB || p->count != HX_RTCP_FMT_TWCC) return HX_RTP_EINVAL;
    int rc = hx_rtcp_fb_parse(p, &h);
    if (rc != HX_RTP_OK) return rc;
    if (h.fci_len < TWCC_FCI_HDR) return HX_RTP_ETRUNC;
    const uint8_t *f = h.fci;
    fb->sender_ssrc = h.sender_ssrc;
    fb->media_ssrc = h.media_ssrc;
    fb->base_seq = hx_rd16(f);
    fb->status_count = hx_rd16(f + 2);
    fb->ref_time = (int32_t)(hx_rd24(f + 4) ^ 0x800000) - 0x800000;
    fb->fb_count = f[7];
    if (fb->status_count > cap) return HX_RTP_ENOSPACE;

    size_t pos = TWCC_FCI_HDR, n = 0, total = fb->status_count;
    while (n < total) {
        if (h.fci_len - pos < 2) return HX_RTP_ETRUNC;
        uint16_t c = hx_rd16(f + pos);
        pos += 2;
        if (!(c & 0x8000)) {
            uint8_t s = (uint8_t)(c >> 13 & 3);
            for (size_t r = c & 0x1fff; r > 0 && n < total; r--)
                out[n++].status = s;
        } else if (!(c & 0x4000)) {
            for (int i = 13; i >= 0 && n < total; i--)
                out[n++].status = (uint8_t)(c >> i & 1);
        } else {
            for (int i = 12; i >= 0 && n < total; i -= 2)
                out[n++].status = (uint8_t)(c >> i & 3);
        }
    }
    for (size_t i = 0; i < total; i++) {
        out[i].seq = (uint16_t)(fb->base_seq + i);
        out[i].delta = 0;
        switch (out[i].status) {
        case HX_TWCC_NOT_RECEIVED:
            break;
        case HX_TWCC_SMALL_DELTA:
            if (h.fci_len - pos < 1) return HX_RTP_ETRUNC;
            out[i].delta = f[pos++];
            break;
        case HX_TWCC_LARGE_DELTA:
            if (h.fci_len - pos < 2) return HX_RTP_ETRUNC;
            out[i].delta = (int16_t)hx_rd16(f + pos);
            pos += 2;
            break;
        default:
            return HX_RTP_EINVAL; /* symbol 11 is reserved */
        }
    }
    return HX_RTP_OK;
}

/* Writes one chunk for sym[i..n) and returns how many symbols it covers. */
static size_t put_chunk(uint8_t *out, const uint8_t *sym, size_t i, size_t n)
{
    size_t run = 1;
    while (i + run < n && sym[i + run] == sym[i] && run < 0x1fff)
        run++;
    if (run >= 7 || i + run == n) {
        hx_wr16(out, (uint16_t)(sym[i] << 13 | run));
        return run;
    }
    size_t k = n - i < 14 ? n - i : 14;
    int one_bit = 1;
    for (size_t j = 0; j < k; j++)
        if (sym[i + j] > 1) one_bit = 0;
    uint16_t c = 0x8000;
    if (one_bit) {
        for (size_t j = 0; j < k; j++)
            c |= (uint16_t)(sym[i + j] << (13 - j));
    } else {
        k = k < 7 ? k : 7;
        c |= 0x4000;
        for (size_t j = 0; j < k; j++)
            c |= (uint16_t)(sym[i + j] << (12 - 2 * j));
    }
    hx_wr16(out, c);
    return k;
}

long hx_rtcp_twcc_build(uint8_t *out, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc,
                        uint16_t base_seq, uint8_t fb_count, const int64_t *arrival_us, size_t n,
                        size_t *used)
{
    *used = 0;
    if (n == 0 || n > 0xffff || !arrival_us) return HX_RTP_EINVAL;
    /* Worst case per status: one chunk (2 bytes) and a large delta (2 bytes). */
    uint8_t sym[HX_RTP_MAX_PACKET / 2];
    int16_t delta[HX_RTP_MAX_PACKET / 2];
    if (n > sizeof sym) n = sizeof sym;

    int64_t ref = 0, prev = 0;
    size_t i, deltas = 0;
    for (i = 0; i < n && arrival_us[i] < 0; i++) {
    }
    if (i < n) {
        ref = arrival_us[i] / REF_UNIT_US;
        prev = ref * (REF_UNIT_US / TICK_US);
    }
    for (i = 0; i < n; i++) {
        if (arrival_us[i] < 0) {
            sym[i] = HX_TWCC_NOT_RECEIVED;
            continue;
        }
        int64_t t = arrival_us[i] / TICK_US, d = t - prev;
        if (d < INT16_MIN || d > INT16_MAX) break; /* the rest goes in the next feedback */
        sym[i] = d >= 0 && d <= 255 ? HX_TWCC_SMALL_DELTA : HX_TWCC_LARGE_DELTA;
        delta[i] = (int16_t)d;
        deltas += sym[i];
        prev = t;
    }
    n = i;
    if (n == 0) return HX_RTP_EINVAL;

    uint8_t chunks[HX_RTP_MAX_PACKET];
    size_t clen = 0;
    for (i = 0; i < n; clen += 2)
        i += put_chunk(chunks + clen, sym, i, n);
    size_t len = (12 + TWCC_FCI_HDR + clen + deltas + 3) & ~(size_t)3;
    if (!out || cap < len) return HX_RTP_ENOSPACE;

    hx__rtcp_header(out, HX_RTCP_FMT_TWCC, HX_RTCP_RTPFB, len);
    hx_wr32(out + 4, sender_ssrc);
    hx_wr32(out + 8, media_ssrc);
    hx_wr16(out + 12, base_seq);
    hx_wr16(out + 14, (uint16_t)n);
    hx_wr24(out + 16, (uint32_t)ref & 0xffffff);
    out[19] = fb_count;
    memcpy(out + 20, chunks, clen);
    size_t pos = 20 + clen;
    for (i = 0; i < n; i++) {
        if (sym[i] == HX_TWCC_SMALL_DELTA) {
            out[pos++] = (uint8_t)delta[i];
        } else if (sym[i] == HX_TWCC_LARGE_DELTA) {
            hx_wr16(out + pos, (uint16_t)delta[i]);
            pos += 2;
        }
    }
    memset(out + pos, 0, len - pos);
    *used = n;
    return (long)len;
}
