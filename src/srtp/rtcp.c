/*
 * SRTCP packets (RFC 3711 §3.4, RFC 7714 §9), in place.
 *
 *   AES-CM: | header (8) | rest ^ keystream | E+index (4) | tag (10) |
 *           tag = HMAC-SHA1(auth key, everything before it)[0..10)
 *   GCM:    | header (8) | ciphertext | tag (16) | E+index (4) |
 *           AAD = header || E+index; with E = 0 the AAD is the whole RTCP
 *           packet || E+index and the ciphertext is empty (§9.3)
 *
 * The 31-bit SRTCP index is explicit, so there is no estimation: the sender
 * counts per SSRC from 0 and refuses to wrap (HX_SRTP_ERR_LIMIT, rekey);
 * the receiver keeps a replay window per SSRC. Protect always encrypts
 * (E = 1); unprotect also accepts authenticated-only packets (E = 0).
 */
#include "srtp/srtp_internal.h"

#include <openssl/crypto.h>
#include <string.h>

#define HEADER 8

static bool is_v2(const uint8_t *pkt)
{
    return pkt[0] >> 6 == 2;
}

int hx_srtcp_protect(hx_srtp_ctx *ctx, uint8_t *pkt, size_t *len, size_t cap)
{
    size_t n = *len, t = ctx->tag_len;
    if (n < HEADER || n > HX_SRTP_MAX_PACKET || !is_v2(pkt)) return HX_SRTP_ERR_MALFORMED;
    if (cap < n + t + HX__SRTCP_INDEX_LEN) return HX_SRTP_ERR_NOSPACE;

    uint32_t ssrc = hx_rd32(pkt + 4);
    hx__stream *s = hx__srtp_find(ctx, ssrc);
    if (!s && ctx->n_streams == HX_SRTP_MAX_SSRCS) return HX_SRTP_ERR_TABLE_FULL;
    uint32_t index = s ? s->rtcp_next : 0;
    if (index > HX__SRTCP_INDEX_MAX) return HX_SRTP_ERR_LIMIT;

    uint8_t e[HX__SRTCP_INDEX_LEN], iv[16];
    hx_wr32(e, HX__SRTCP_E_FLAG | index);
    hx__srtp_iv(iv, ctx->rtcp_salt, ctx->salt_len, ssrc, index);
    int rc;
    if (ctx->profile == HX_SRTP_AEAD_AES_128_GCM) {
        rc = hx__gcm_seal(ctx->rtcp_enc, iv, pkt, HEADER, e, sizeof e, pkt + HEADER, n - HEADER,
                          pkt + n);
        memcpy(pkt + n + t, e, sizeof e);
    } else {
        rc = hx__cm_xor(ctx->rtcp_enc, iv, pkt + HEADER, n - HEADER);
        memcpy(pkt + n, e, sizeof e);
        uint8_t mac[HX__SRTP_HMAC_LEN];
        hx__hmac_sha1(&ctx->rtcp_auth, pkt, n + sizeof e, NULL, 0, mac);
        memcpy(pkt + n + sizeof e, mac, t);
    }
    if (rc) return rc;
    if (!s && !(s = hx__srtp_add(ctx, ssrc))) return HX_SRTP_ERR_TABLE_FULL; /* out of memory */
    s->rtcp_next = index + 1;
    *len = n + t + HX__SRTCP_INDEX_LEN;
    return 0;
}

int hx_srtcp_unprotect(hx_srtp_ctx *ctx, uint8_t *pkt, size_t *len)
{
    size_t n = *len, t = ctx->tag_len, o = t + HX__SRTCP_INDEX_LEN;
    if (n < HEADER + o || n > HX_SRTP_MAX_PACKET + o || !is_v2(pkt)) return HX_SRTP_ERR_MALFORMED;
    size_t body = n - o;
    bool gcm = ctx->profile == HX_SRTP_AEAD_AES_128_GCM;
    uint8_t e[HX__SRTCP_INDEX_LEN];
    memcpy(e, pkt + (gcm ? n - HX__SRTCP_INDEX_LEN : body), sizeof e);
    uint32_t word = hx_rd32(e), index = word & HX__SRTCP_INDEX_MAX;
    bool encrypted = word & HX__SRTCP_E_FLAG;

    uint32_t ssrc = hx_rd32(pkt + 4);
    hx__stream *s = hx__srtp_find(ctx, ssrc);
    if (s && s->has_rtcp) {
        int rc = hx__replay_check(&s->rtcp, index);
        if (rc) return rc;
    } else if (!s && ctx->n_streams == HX_SRTP_MAX_SSRCS) {
        return HX_SRTP_ERR_TABLE_FULL;
    }

    uint8_t iv[16];
    hx__srtp_iv(iv, ctx->rtcp_salt, ctx->salt_len, ssrc, index);
    int rc = 0;
    if (gcm) {
        const uint8_t *tag = pkt + body;
        if (encrypted)
            rc = hx__gcm_open(ctx->rtcp_dec, iv, pkt, HEADER, e, sizeof e, pkt + HEADER,
                              body - HEADER, tag);
        else
            rc = hx__gcm_open(ctx->rtcp_dec, iv, pkt, body, e, sizeof e, pkt + body, 0, tag);
    } else {
        uint8_t mac[HX__SRTP_HMAC_LEN];
        hx__hmac_sha1(&ctx->rtcp_auth, pkt, n - t, NULL, 0, mac);
        if (CRYPTO_memcmp(mac, pkt + n - t, t) != 0) return HX_SRTP_ERR_AUTH;
        if (encrypted) rc = hx__cm_xor(ctx->rtcp_enc, iv, pkt + HEADER, body - HEADER);
    }
    if (rc) return rc;
    if (!s && !(s = hx__srtp_add(ctx, ssrc))) return HX_SRTP_ERR_TABLE_FULL; /* out of memory */
    if (!s->has_rtcp) {
        hx__replay_start(&s->rtcp, index);
        s->has_rtcp = true;
    }
    hx__replay_add(&s->rtcp, index);
    *len = body;
    return 0;
}
