/*
 * Context life cycle, profile facts and the per-SSRC stream table.
 *
 * A context owns four EVP cipher contexts (AES-CM needs one per key, used
 * for both directions since the keystream is the same; GCM keeps separate
 * encrypt and decrypt contexts so neither is re-keyed per packet), the two
 * HMAC states, the session salts and the stream table. hx_srtp_destroy()
 * frees and wipes all of it and is safe on a half-built context.
 *
 * The table is two parallel arrays kept dense: ssrcs[] for a linear scan
 * that touches one cache line per 16 entries, streams[] for the state.
 * Forgetting an SSRC moves the last entry into its slot. Both start as the
 * context's inline arrays (HX__SRTP_INLINE_SSRCS entries, ~0.6 KiB instead
 * of 4.3 KiB for the full table); the first stream beyond them moves both
 * into one allocation of HX_SRTP_MAX_SSRCS entries, which stays until
 * destroy: one allocation in a context's life, never one per packet.
 */
#include "srtp/srtp_internal.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

size_t hx_srtp_key_len(int profile)
{
    return profile == HX_SRTP_AES128_CM_SHA1_80 || profile == HX_SRTP_AEAD_AES_128_GCM ? 16 : 0;
}

size_t hx_srtp_salt_len(int profile)
{
    if (profile == HX_SRTP_AES128_CM_SHA1_80) return 14;
    if (profile == HX_SRTP_AEAD_AES_128_GCM) return 12;
    return 0;
}

size_t hx_srtp_tag_len(int profile)
{
    if (profile == HX_SRTP_AES128_CM_SHA1_80) return 10;
    if (profile == HX_SRTP_AEAD_AES_128_GCM) return HX__SRTP_GCM_TAG_LEN;
    return 0;
}

size_t hx_srtp_overhead(int profile)
{
    return hx_srtp_tag_len(profile);
}

size_t hx_srtcp_overhead(int profile)
{
    size_t t = hx_srtp_tag_len(profile);
    return t ? t + HX__SRTCP_INDEX_LEN : 0;
}

int hx_srtp_profile(const hx_srtp_ctx *ctx)
{
    return ctx->profile;
}

const char *hx_srtp_strerror(int err)
{
    switch (err) {
    case HX_SRTP_OK:
        return "ok";
    case HX_SRTP_ERR_AUTH:
        return "authentication failed";
    case HX_SRTP_ERR_REPLAY:
        return "replayed or too old";
    case HX_SRTP_ERR_MALFORMED:
        return "malformed or too short";
    case HX_SRTP_ERR_TABLE_FULL:
        return "SSRC table full";
    case HX_SRTP_ERR_NOSPACE:
        return "buffer too small";
    case HX_SRTP_ERR_PARAM:
        return "bad profile, key or salt";
    case HX_SRTP_ERR_LIMIT:
        return "index exhausted, rekey";
    case HX_SRTP_ERR_CRYPTO:
        return "crypto library failure";
    default:
        return "unknown SRTP error";
    }
}

static EVP_CIPHER_CTX *keyed(const EVP_CIPHER *cipher, int enc, const uint8_t *key)
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    if (c && EVP_CipherInit_ex(c, cipher, NULL, key, NULL, enc) == 1) return c;
    EVP_CIPHER_CTX_free(c);
    return NULL;
}

int hx__srtp_create_session(hx_srtp_ctx **out, int profile, const hx__srtp_keys *k)
{
    *out = NULL;
    if (!hx_srtp_key_len(profile)) return HX_SRTP_ERR_PARAM;
    hx_srtp_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx) return HX_SRTP_ERR_CRYPTO;
    ctx->profile = profile;
    ctx->cap = HX__SRTP_INLINE_SSRCS;
    ctx->ssrcs = ctx->inline_ssrcs;
    ctx->streams = ctx->inline_streams;
    ctx->tag_len = hx_srtp_tag_len(profile);
    ctx->salt_len = hx_srtp_salt_len(profile);
    memcpy(ctx->rtp_salt, k->rtp_salt, ctx->salt_len);
    memcpy(ctx->rtcp_salt, k->rtcp_salt, ctx->salt_len);
    if (profile == HX_SRTP_AES128_CM_SHA1_80) {
        ctx->rtp_enc = keyed(EVP_aes_128_ctr(), 1, k->rtp_key);
        ctx->rtcp_enc = keyed(EVP_aes_128_ctr(), 1, k->rtcp_key);
        if (!ctx->rtp_enc || !ctx->rtcp_enc) goto fail;
        hx__hmac_init(&ctx->rtp_auth, k->rtp_auth, HX__SRTP_AUTH_KEY_LEN);
        hx__hmac_init(&ctx->rtcp_auth, k->rtcp_auth, HX__SRTP_AUTH_KEY_LEN);
    } else {
        ctx->rtp_enc = keyed(EVP_aes_128_gcm(), 1, k->rtp_key);
        ctx->rtp_dec = keyed(EVP_aes_128_gcm(), 0, k->rtp_key);
        ctx->rtcp_enc = keyed(EVP_aes_128_gcm(), 1, k->rtcp_key);
        ctx->rtcp_dec = keyed(EVP_aes_128_gcm(), 0, k->rtcp_key);
        if (!ctx->rtp_enc || !ctx->rtp_dec || !ctx->rtcp_enc || !ctx->rtcp_dec) goto fail;
    }
    *out = ctx;
    return 0;
fail:
    hx_srtp_destroy(ctx);
    return HX_SRTP_ERR_CRYPTO;
}

int hx_srtp_create(hx_srtp_ctx **out, int profile, const uint8_t *key, size_t key_len,
                   const uint8_t *salt, size_t salt_len)
{
    *out = NULL;
    if (!hx_srtp_key_len(profile) || key_len != hx_srtp_key_len(profile) ||
        salt_len != hx_srtp_salt_len(profile))
        return HX_SRTP_ERR_PARAM;
    hx__srtp_keys k;
    int rc = hx__srtp_derive(profile, key, salt, &k) ? HX_SRTP_ERR_CRYPTO
                                                     : hx__srtp_create_session(out, profile, &k);
    OPENSSL_cleanse(&k, sizeof k);
    return rc;
}

void hx_srtp_destroy(hx_srtp_ctx *ctx)
{
    if (!ctx) return;
    EVP_CIPHER_CTX_free(ctx->rtp_enc);
    EVP_CIPHER_CTX_free(ctx->rtp_dec);
    EVP_CIPHER_CTX_free(ctx->rtcp_enc);
    EVP_CIPHER_CTX_free(ctx->rtcp_dec);
    if (ctx->streams != ctx->inline_streams) { /* the block grow() allocated */
        OPENSSL_cleanse(ctx->streams,
                        HX_SRTP_MAX_SSRCS * (sizeof *ctx->streams + sizeof *ctx->ssrcs));
        free(ctx->streams);
    }
    OPENSSL_cleanse(ctx, sizeof *ctx);
    free(ctx);
}

hx__stream *hx__srtp_find(hx_srtp_ctx *ctx, uint32_t ssrc)
{
    for (unsigned i = 0; i < ctx->n_streams; i++)
        if (ctx->ssrcs[i] == ssrc) return &ctx->streams[i];
    return NULL;
}

/* The inline table is full: move it into one allocation of the full size. */
static int grow(hx_srtp_ctx *ctx)
{
    /* streams first in the block: hx__stream needs the stricter alignment */
    hx__stream *streams = malloc(HX_SRTP_MAX_SSRCS * (sizeof *ctx->streams + sizeof *ctx->ssrcs));
    if (!streams) return -1;
    uint32_t *ssrcs = (uint32_t *)(streams + HX_SRTP_MAX_SSRCS);
    memcpy(streams, ctx->streams, ctx->n_streams * sizeof *streams);
    memcpy(ssrcs, ctx->ssrcs, ctx->n_streams * sizeof *ssrcs);
    OPENSSL_cleanse(ctx->inline_streams, sizeof ctx->inline_streams);
    ctx->streams = streams;
    ctx->ssrcs = ssrcs;
    ctx->cap = HX_SRTP_MAX_SSRCS;
    return 0;
}

hx__stream *hx__srtp_add(hx_srtp_ctx *ctx, uint32_t ssrc)
{
    if (ctx->n_streams == HX_SRTP_MAX_SSRCS) return NULL;
    if (ctx->n_streams == ctx->cap && grow(ctx) != 0) return NULL;
    unsigned i = ctx->n_streams++;
    ctx->ssrcs[i] = ssrc;
    memset(&ctx->streams[i], 0, sizeof ctx->streams[i]);
    return &ctx->streams[i];
}

void hx_srtp_forget(hx_srtp_ctx *ctx, uint32_t ssrc)
{
    hx__stream *s = hx__srtp_find(ctx, ssrc);
    if (!s) return;
    unsigned i = (unsigned)(s - ctx->streams), last = --ctx->n_streams;
    ctx->ssrcs[i] = ctx->ssrcs[last];
    ctx->streams[i] = ctx->streams[last];
}

unsigned hx_srtp_stream_count(const hx_srtp_ctx *ctx)
{
    return ctx->n_streams;
}
