/*
 * SRTP packets (RFC 3711 §3.1, RFC 7714 §8), in place.
 *
 *   AES-CM: | RTP header | payload ^ keystream | tag (10) |
 *           tag = HMAC-SHA1(auth key, header || encrypted payload || ROC)[0..10)
 *   GCM:    | RTP header (AAD) | GCM ciphertext of payload | tag (16) |
 *
 * The header (with CSRCs and the extension) stays in the clear. Protect
 * estimates the index from the stream's highest index so the ROC follows
 * the wrap. Unprotect estimates, rejects replays from the window, checks
 * the tag, and only then creates the stream or moves its ROC and window.
 */
#include "srtp/srtp_internal.h"

#include <openssl/crypto.h>
#include <string.h>

/* Offset of the payload (RFC 3550 §5.1, §5.3.1), or HX_SRTP_ERR_MALFORMED. */
static long header_len(const uint8_t *p, size_t len)
{
    if (len < 12 || p[0] >> 6 != 2) return HX_SRTP_ERR_MALFORMED;
    size_t h = 12 + 4u * (p[0] & 0x0f);
    if (p[0] & 0x10) {
        if (h + 4 > len) return HX_SRTP_ERR_MALFORMED;
        h += 4 + 4u * ((size_t)p[h + 2] << 8 | p[h + 3]);
    }
    return h <= len ? (long)h : HX_SRTP_ERR_MALFORMED;
}

static void roc_bytes(uint8_t out[4], uint64_t index)
{
    hx_wr32(out, (uint32_t)(index >> 16));
}

static int seal(hx_srtp_ctx *ctx, uint8_t *pkt, size_t h, size_t n, uint32_t ssrc, uint64_t index)
{
    uint8_t iv[16];
    hx__srtp_iv(iv, ctx->rtp_salt, ctx->salt_len, ssrc, index);
    if (ctx->profile == HX_SRTP_AEAD_AES_128_GCM)
        return hx__gcm_seal(ctx->rtp_enc, iv, pkt, h, NULL, 0, pkt + h, n - h, pkt + n);
    int rc = hx__cm_xor(ctx->rtp_enc, iv, pkt + h, n - h);
    if (rc) return rc;
    uint8_t roc[4], mac[HX__SRTP_HMAC_LEN];
    roc_bytes(roc, index);
    hx__hmac_sha1(&ctx->rtp_auth, pkt, n, roc, sizeof roc, mac);
    memcpy(pkt + n, mac, ctx->tag_len);
    return 0;
}

static int open_(hx_srtp_ctx *ctx, uint8_t *pkt, size_t h, size_t body, uint32_t ssrc,
                 uint64_t index)
{
    uint8_t iv[16];
    hx__srtp_iv(iv, ctx->rtp_salt, ctx->salt_len, ssrc, index);
    if (ctx->profile == HX_SRTP_AEAD_AES_128_GCM)
        return hx__gcm_open(ctx->rtp_dec, iv, pkt, h, NULL, 0, pkt + h, body - h, pkt + body);
    uint8_t roc[4], mac[HX__SRTP_HMAC_LEN];
    roc_bytes(roc, index);
    hx__hmac_sha1(&ctx->rtp_auth, pkt, body, roc, sizeof roc, mac);
    if (CRYPTO_memcmp(mac, pkt + body, ctx->tag_len) != 0) return HX_SRTP_ERR_AUTH;
    return hx__cm_xor(ctx->rtp_enc, iv, pkt + h, body - h);
}

/* The stream (NULL if new, and then there is room) and the index of pkt; for a
 * receiver also the replay check. A new stream starts at ROC 0 (§3.3.1). */
static int locate(hx_srtp_ctx *ctx, const uint8_t *pkt, bool rx, hx__stream **s, uint64_t *index)
{
    uint16_t seq = (uint16_t)(pkt[2] << 8 | pkt[3]);
    *index = seq;
    *s = hx__srtp_find(ctx, hx_rd32(pkt + 8));
    if (!*s) return ctx->n_streams == HX_SRTP_MAX_SSRCS ? HX_SRTP_ERR_TABLE_FULL : 0;
    if (!(*s)->has_rtp) return 0;
    int rc = hx__srtp_estimate((*s)->rtp.top, seq, index);
    return rc || !rx ? rc : hx__replay_check(&(*s)->rtp, *index);
}

/* After success: create the stream if new, advance its highest index (and the window).
 * HX_SRTP_ERR_TABLE_FULL if the table cannot grow for a new stream (out of memory). */
static int commit(hx_srtp_ctx *ctx, hx__stream *s, uint32_t ssrc, uint64_t index, bool rx)
{
    if (!s && !(s = hx__srtp_add(ctx, ssrc))) return HX_SRTP_ERR_TABLE_FULL;
    if (!s->has_rtp) {
        hx__replay_start(&s->rtp, index);
        s->has_rtp = true;
    }
    if (rx)
        hx__replay_add(&s->rtp, index);
    else if (index > s->rtp.top)
        s->rtp.top = index;
    return 0;
}

int hx_srtp_protect(hx_srtp_ctx *ctx, uint8_t *pkt, size_t *len, size_t cap)
{
    size_t n = *len;
    if (n > HX_SRTP_MAX_PACKET) return HX_SRTP_ERR_MALFORMED;
    long h = header_len(pkt, n);
    if (h < 0) return (int)h;
    if (cap < n + ctx->tag_len) return HX_SRTP_ERR_NOSPACE;

    hx__stream *s;
    uint64_t index;
    uint32_t ssrc = hx_rd32(pkt + 8);
    int rc = locate(ctx, pkt, false, &s, &index);
    if (!rc) rc = seal(ctx, pkt, (size_t)h, n, ssrc, index);
    if (!rc) rc = commit(ctx, s, ssrc, index, false);
    if (rc) return rc;
    *len = n + ctx->tag_len;
    return 0;
}

int hx_srtp_unprotect(hx_srtp_ctx *ctx, uint8_t *pkt, size_t *len)
{
    size_t n = *len, t = ctx->tag_len;
    if (n < 12 + t || n > HX_SRTP_MAX_PACKET + t) return HX_SRTP_ERR_MALFORMED;
    size_t body = n - t;
    long h = header_len(pkt, body);
    if (h < 0) return (int)h;

    hx__stream *s;
    uint64_t index;
    uint32_t ssrc = hx_rd32(pkt + 8);
    int rc = locate(ctx, pkt, true, &s, &index);
    if (!rc) rc = open_(ctx, pkt, (size_t)h, body, ssrc, index);
    if (!rc) rc = commit(ctx, s, ssrc, index, true);
    if (rc) return rc;
    *len = body;
    return 0;
}
