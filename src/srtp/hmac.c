/*
 * HMAC-SHA1 (RFC 2104) for the AES-CM profile's authentication tags, keyed
 * once per context.
 *
 * hx__hmac_init hashes the inner (key ^ ipad) and outer (key ^ opad) blocks
 * once and keeps both SHA-1 states; each packet then starts from a struct
 * copy of those states, saving two compressions and, above all, any
 * allocation. Measured on OpenSSL 3.0.19 (Debian 12), every EVP route
 * allocates per packet: EVP_MD_CTX_copy_ex() and EVP_DigestInit_ex() on a
 * preallocated context each malloc a provider context (1 per call), and
 * EVP_MAC_init() with a NULL key (HMAC's own key reuse) does two. Only the
 * low-level SHA1_* functions, deprecated since 3.0 but present, work on
 * caller-owned state, at the same speed. Their use is confined to this
 * file; if a future OpenSSL drops them, this is the one file to change.
 */
#define OPENSSL_SUPPRESS_DEPRECATED
#include "srtp/srtp_internal.h"

#include <openssl/crypto.h>
#include <string.h>

#define BLOCK 64

void hx__hmac_init(hx__hmac *h, const uint8_t *key, size_t len)
{
    uint8_t pad[BLOCK];
    if (len > BLOCK) len = BLOCK; /* SRTP auth keys are 20 bytes; longer keys are never passed */
    for (size_t i = 0; i < BLOCK; i++)
        pad[i] = (uint8_t)((i < len ? key[i] : 0) ^ 0x36);
    SHA1_Init(&h->inner);
    SHA1_Update(&h->inner, pad, BLOCK);
    for (size_t i = 0; i < BLOCK; i++)
        pad[i] ^= 0x36 ^ 0x5c;
    SHA1_Init(&h->outer);
    SHA1_Update(&h->outer, pad, BLOCK);
    OPENSSL_cleanse(pad, sizeof pad);
}

void hx__hmac_sha1(const hx__hmac *h, const uint8_t *a, size_t alen, const uint8_t *b, size_t blen,
                   uint8_t out[HX__SRTP_HMAC_LEN])
{
    SHA_CTX s = h->inner;
    SHA1_Update(&s, a, alen);
    if (blen) SHA1_Update(&s, b, blen);
    SHA1_Final(out, &s);
    s = h->outer;
    SHA1_Update(&s, out, HX__SRTP_HMAC_LEN);
    SHA1_Final(out, &s);
    OPENSSL_cleanse(&s, sizeof s);
}

void hx__hmac_clear(hx__hmac *h)
{
    OPENSSL_cleanse(h, sizeof *h);
}
