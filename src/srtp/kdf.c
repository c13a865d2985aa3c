/*
 * SRTP key derivation (RFC 3711 §4.3) with a key derivation rate of 0: the
 * session keys are derived once, when a context is created, and never again.
 *
 * The PRF is AES-128 in counter mode keyed with the master key, its IV the
 * master salt XOR (label << 48), shifted left 16 bits (§4.3.1, §4.3.3). The
 * label sits in octet 7 of the 14-octet salt; r = index DIV kdr is 0, so
 * nothing else is XORed in. The GCM profile (RFC 7714 §11) uses the same
 * KDF with its 96-bit master salt padded with two zero octets on the right
 * to fill the 112-bit field, as libsrtp and Pion do; the oracle test checks
 * this against libsrtp.
 */
#include "srtp/srtp_internal.h"

#include <openssl/crypto.h>
#include <string.h>

#define KDF_SALT_LEN 14
#define LABEL_OCTET 7

int hx__srtp_kdf(const uint8_t *mkey, size_t mkey_len, const uint8_t *msalt, size_t msalt_len,
                 uint8_t label, uint8_t *out, size_t out_len)
{
    if (mkey_len != 16 || msalt_len > KDF_SALT_LEN || out_len > 4096) return -1;
    uint8_t iv[16] = {0};
    memcpy(iv, msalt, msalt_len);
    iv[LABEL_OCTET] ^= label;

    int rc = -1, n = 0;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    if (!c) return -1;
    memset(out, 0, out_len);
    if (EVP_EncryptInit_ex(c, EVP_aes_128_ctr(), NULL, mkey, iv) == 1 &&
        EVP_EncryptUpdate(c, out, &n, out, (int)out_len) == 1 && (size_t)n == out_len)
        rc = 0;
    EVP_CIPHER_CTX_free(c);
    OPENSSL_cleanse(iv, sizeof iv);
    return rc;
}

int hx__srtp_derive(int profile, const uint8_t *mkey, const uint8_t *msalt, hx__srtp_keys *k)
{
    size_t klen = hx_srtp_key_len(profile), slen = hx_srtp_salt_len(profile);
    bool cm = profile == HX_SRTP_AES128_CM_SHA1_80;
    if (!klen) return -1;
    memset(k, 0, sizeof *k);
    if (hx__srtp_kdf(mkey, klen, msalt, slen, HX__LABEL_RTP_ENC, k->rtp_key, klen) ||
        hx__srtp_kdf(mkey, klen, msalt, slen, HX__LABEL_RTP_SALT, k->rtp_salt, slen) ||
        hx__srtp_kdf(mkey, klen, msalt, slen, HX__LABEL_RTCP_ENC, k->rtcp_key, klen) ||
        hx__srtp_kdf(mkey, klen, msalt, slen, HX__LABEL_RTCP_SALT, k->rtcp_salt, slen))
        return -1;
    if (cm && (hx__srtp_kdf(mkey, klen, msalt, slen, HX__LABEL_RTP_AUTH, k->rtp_auth,
                            HX__SRTP_AUTH_KEY_LEN) ||
               hx__srtp_kdf(mkey, klen, msalt, slen, HX__LABEL_RTCP_AUTH, k->rtcp_auth,
                            HX__SRTP_AUTH_KEY_LEN)))
        return -1;
    return 0;
}
