/*
 * The ciphers, on EVP contexts keyed once at create: per packet only the IV
 * is set (EVP_*Init_ex with NULL cipher and key keeps the key schedule), so
 * no call here allocates.
 *
 * IV layout. AES-CM (RFC 3711 §4.1.1): IV = (k_s << 16) ^ (SSRC << 64) ^
 * (i << 16), 16 octets: the 14-octet session salt, SSRC XORed into octets
 * 4..7, the 48-bit index into octets 8..13, a zero block counter in 14..15.
 * GCM (RFC 7714 §8.1, §9.1): 12 octets, the salt with SSRC XORed into
 * octets 2..5 and ROC || SEQ into 6..11; for SRTCP the 31-bit index lands
 * in 8..11 with 6..7 zero, which is the same 48-bit slot. One function
 * therefore serves all four cases.
 */
#include "srtp/srtp_internal.h"

#include <limits.h>

void hx__srtp_iv(uint8_t *iv, const uint8_t *salt, size_t salt_len, uint32_t ssrc, uint64_t index)
{
    /* The SSRC ends 8 octets and the index 2 octets before a 16-octet AES-CM IV's end;
     * in the 12-octet GCM IV both end 4 octets earlier: offsets from the salt length. */
    size_t s = salt_len == 14 ? 4 : 2;
    for (size_t i = 0; i < salt_len; i++)
        iv[i] = salt[i];
    if (salt_len == 14) iv[14] = iv[15] = 0;
    for (int i = 0; i < 4; i++)
        iv[s + (size_t)i] ^= (uint8_t)(ssrc >> (24 - 8 * i));
    for (int i = 0; i < 6; i++)
        iv[s + 4 + (size_t)i] ^= (uint8_t)(index >> (40 - 8 * i));
}

int hx__cm_xor(EVP_CIPHER_CTX *c, const uint8_t iv[16], uint8_t *buf, size_t len)
{
    int n = 0;
    if (len > INT_MAX) return HX_SRTP_ERR_MALFORMED;
    if (EVP_EncryptInit_ex(c, NULL, NULL, NULL, iv) != 1) return HX_SRTP_ERR_CRYPTO;
    if (len && (EVP_EncryptUpdate(c, buf, &n, buf, (int)len) != 1 || (size_t)n != len))
        return HX_SRTP_ERR_CRYPTO;
    return 0;
}

static int aad(EVP_CIPHER_CTX *c, int enc, const uint8_t *a, size_t alen)
{
    int n = 0;
    if (!alen) return 1;
    return enc ? EVP_EncryptUpdate(c, NULL, &n, a, (int)alen)
               : EVP_DecryptUpdate(c, NULL, &n, a, (int)alen);
}

int hx__gcm_seal(EVP_CIPHER_CTX *c, const uint8_t iv[12], const uint8_t *a, size_t alen,
                 const uint8_t *b, size_t blen, uint8_t *buf, size_t len, uint8_t *tag)
{
    int n = 0;
    if (len > INT_MAX || alen > INT_MAX || blen > INT_MAX) return HX_SRTP_ERR_MALFORMED;
    if (EVP_EncryptInit_ex(c, NULL, NULL, NULL, iv) != 1 || aad(c, 1, a, alen) != 1 ||
        aad(c, 1, b, blen) != 1)
        return HX_SRTP_ERR_CRYPTO;
    if (len && (EVP_EncryptUpdate(c, buf, &n, buf, (int)len) != 1 || (size_t)n != len))
        return HX_SRTP_ERR_CRYPTO;
    if (EVP_EncryptFinal_ex(c, buf + len, &n) != 1 || n != 0 ||
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, HX__SRTP_GCM_TAG_LEN, tag) != 1)
        return HX_SRTP_ERR_CRYPTO;
    return 0;
}

int hx__gcm_open(EVP_CIPHER_CTX *c, const uint8_t iv[12], const uint8_t *a, size_t alen,
                 const uint8_t *b, size_t blen, uint8_t *buf, size_t len, const uint8_t *tag)
{
    int n = 0;
    if (len > INT_MAX || alen > INT_MAX || blen > INT_MAX) return HX_SRTP_ERR_MALFORMED;
    if (EVP_DecryptInit_ex(c, NULL, NULL, NULL, iv) != 1 || aad(c, 0, a, alen) != 1 ||
        aad(c, 0, b, blen) != 1)
        return HX_SRTP_ERR_CRYPTO;
    if (len && (EVP_DecryptUpdate(c, buf, &n, buf, (int)len) != 1 || (size_t)n != len))
        return HX_SRTP_ERR_CRYPTO;
    /* The tag is only read; OpenSSL's ctrl takes a non-const pointer. */
    if (EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, HX__SRTP_GCM_TAG_LEN, (void *)tag) != 1)
        return HX_SRTP_ERR_CRYPTO;
    return EVP_DecryptFinal_ex(c, buf + len, &n) == 1 ? 0 : HX_SRTP_ERR_AUTH;
}
