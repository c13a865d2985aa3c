/*
 * Inside the SRTP module: the context layout, the per-SSRC stream table,
 * and the primitives the packet functions (rtp.c, rtcp.c) are built from:
 *
 *   kdf.c     RFC 3711 §4.3 key derivation (AES-CM PRF), run once at create
 *   ctx.c     create/destroy, profile facts, the stream table
 *   replay.c  index estimation (§3.3.1, Appendix A) and the replay window
 *   hmac.c    HMAC-SHA1 from precomputed pad states, no allocation
 *   cipher.c  IV layout, AES-CM keystream, AES-GCM seal/open
 *
 * Tests include this header to reach the pieces with RFC vectors.
 */
#ifndef HX_SRTP_SRTP_INTERNAL_H
#define HX_SRTP_SRTP_INTERNAL_H

#include "srtp/srtp.h"
#include "common/bytes.h"

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdbool.h>

#define HX__SRTP_AUTH_KEY_LEN 20 /* HMAC-SHA1 session auth key (RFC 3711 §4.2.1) */
#define HX__SRTP_HMAC_LEN 20
#define HX__SRTP_GCM_TAG_LEN 16
#define HX__SRTCP_INDEX_LEN 4 /* E flag + 31-bit SRTCP index */
#define HX__SRTCP_INDEX_MAX 0x7fffffffu
#define HX__SRTCP_E_FLAG 0x80000000u
#define HX__WINDOW_WORDS (HX_SRTP_REPLAY_WINDOW / 64)
#define HX__SRTP_INLINE_SSRCS 8 /* streams a context holds before its table moves to the heap */

/* KDF labels, RFC 3711 §4.3.2. */
enum {
    HX__LABEL_RTP_ENC = 0,
    HX__LABEL_RTP_AUTH = 1,
    HX__LABEL_RTP_SALT = 2,
    HX__LABEL_RTCP_ENC = 3,
    HX__LABEL_RTCP_AUTH = 4,
    HX__LABEL_RTCP_SALT = 5,
};

/* Session keys for one direction: what the KDF yields, or a test supplies. */
typedef struct hx__srtp_keys {
    uint8_t rtp_key[HX_SRTP_MAX_KEY_LEN];
    uint8_t rtp_salt[HX_SRTP_MAX_SALT_LEN];
    uint8_t rtp_auth[HX__SRTP_AUTH_KEY_LEN];
    uint8_t rtcp_key[HX_SRTP_MAX_KEY_LEN];
    uint8_t rtcp_salt[HX_SRTP_MAX_SALT_LEN];
    uint8_t rtcp_auth[HX__SRTP_AUTH_KEY_LEN];
} hx__srtp_keys;

/* HMAC-SHA1 keyed once: the hash states after the inner and outer pad blocks. */
typedef struct hx__hmac {
    SHA_CTX inner;
    SHA_CTX outer;
} hx__hmac;

/* Replay window: top is the highest authenticated index, bit i of bits
 * (word i / 64, bit i % 64) says index top - i was received. */
typedef struct hx__replay {
    uint64_t top;
    uint64_t bits[HX__WINDOW_WORDS];
} hx__replay;

typedef struct hx__stream {
    bool has_rtp;       /* rtp holds a packet index (sent or received) */
    bool has_rtcp;      /* rtcp holds a received SRTCP index */
    hx__replay rtp;     /* RTP: top = ROC << 16 | s_l */
    hx__replay rtcp;    /* SRTCP received */
    uint32_t rtcp_next; /* next SRTCP index to send */
} hx__stream;

struct hx_srtp_ctx {
    int profile;
    size_t tag_len;          /* RTP and SRTCP tag */
    size_t salt_len;         /* session salt */
    EVP_CIPHER_CTX *rtp_enc; /* AES-CM: the keystream for both ways */
    EVP_CIPHER_CTX *rtp_dec; /* GCM only */
    EVP_CIPHER_CTX *rtcp_enc;
    EVP_CIPHER_CTX *rtcp_dec; /* GCM only */
    hx__hmac rtp_auth;        /* AES-CM only */
    hx__hmac rtcp_auth;
    uint8_t rtp_salt[HX_SRTP_MAX_SALT_LEN];
    uint8_t rtcp_salt[HX_SRTP_MAX_SALT_LEN];
    unsigned n_streams, cap;
    uint32_t *ssrcs;     /* dense, parallel to streams: the inline arrays, or one allocation */
    hx__stream *streams; /* of HX_SRTP_MAX_SSRCS entries once more than the inline ones */
    uint32_t inline_ssrcs[HX__SRTP_INLINE_SSRCS];
    hx__stream inline_streams[HX__SRTP_INLINE_SSRCS];
};

/** RFC 3711 §4.3.1 PRF: out = AES-CM(master key, (salt ^ label << 48) << 16). 0 or -1. */
int hx__srtp_kdf(const uint8_t *mkey, size_t mkey_len, const uint8_t *msalt, size_t msalt_len,
                 uint8_t label, uint8_t *out, size_t out_len);
/** Derive all session keys of a profile. 0 or -1. */
int hx__srtp_derive(int profile, const uint8_t *mkey, const uint8_t *msalt, hx__srtp_keys *k);
/** Create a context from session keys directly (RFC 7714 vectors give no master key). */
int hx__srtp_create_session(hx_srtp_ctx **out, int profile, const hx__srtp_keys *k);

/** The stream for ssrc, or NULL. */
hx__stream *hx__srtp_find(hx_srtp_ctx *ctx, uint32_t ssrc);
/** A fresh zeroed stream for ssrc (not present before), or NULL if the table is full or cannot
 *  grow (out of memory). Other stream pointers are invalid afterwards. */
hx__stream *hx__srtp_add(hx_srtp_ctx *ctx, uint32_t ssrc);

/** RFC 3711 Appendix A: the index of seq given the highest index top. 0, HX_SRTP_ERR_REPLAY
 * (before index 0) or HX_SRTP_ERR_LIMIT (past ROC 2^32 - 1). */
int hx__srtp_estimate(uint64_t top, uint16_t seq, uint64_t *index);
/** 0 if index may be accepted, HX_SRTP_ERR_REPLAY if seen or older than the window. */
int hx__replay_check(const hx__replay *w, uint64_t index);
/** Mark index received, sliding the window forward if it is new. */
void hx__replay_add(hx__replay *w, uint64_t index);
/** A window whose only (not yet marked) knowledge is that index is the highest. */
void hx__replay_start(hx__replay *w, uint64_t index);

/** Key an HMAC-SHA1 state (key up to 64 bytes). */
void hx__hmac_init(hx__hmac *h, const uint8_t *key, size_t len);
/** HMAC-SHA1 over a || b. Copies the precomputed states; no allocation. */
void hx__hmac_sha1(const hx__hmac *h, const uint8_t *a, size_t alen, const uint8_t *b, size_t blen,
                   uint8_t out[HX__SRTP_HMAC_LEN]);
/** Wipe a keyed state. */
void hx__hmac_clear(hx__hmac *h);

/** IV: salt with ssrc and the 48-bit index XORed in (RFC 3711 §4.1.1, RFC 7714 §8.1/§9.1). */
void hx__srtp_iv(uint8_t *iv, const uint8_t *salt, size_t salt_len, uint32_t ssrc, uint64_t index);
/** XOR buf with the AES-CM keystream that starts at the 16-byte iv. */
int hx__cm_xor(EVP_CIPHER_CTX *c, const uint8_t iv[16], uint8_t *buf, size_t len);
/** GCM-encrypt buf in place, with AAD a || b; writes the 16-byte tag. */
int hx__gcm_seal(EVP_CIPHER_CTX *c, const uint8_t iv[12], const uint8_t *a, size_t alen,
                 const uint8_t *b, size_t blen, uint8_t *buf, size_t len, uint8_t *tag);
/** GCM-decrypt buf in place and check the tag: 0, HX_SRTP_ERR_AUTH or HX_SRTP_ERR_CRYPTO. */
int hx__gcm_open(EVP_CIPHER_CTX *c, const uint8_t iv[12], const uint8_t *a, size_t alen,
                 const uint8_t *b, size_t blen, uint8_t *buf, size_t len, const uint8_t *tag);

#endif
