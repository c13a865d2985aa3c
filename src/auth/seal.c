/* Sealed records' shared pieces (seal.h). */
#include "auth/seal.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

uint8_t *hx_seal_put_str(uint8_t *p, const char *s, size_t max)
{
    size_t n = strnlen(s, max);
    *p++ = (uint8_t)n;
    memcpy(p, s, n);
    return p + n;
}

const uint8_t *hx_seal_get_str(const uint8_t *p, const uint8_t *end, char *dst, size_t max)
{
    if (p >= end) return NULL;
    size_t n = *p++;
    if (n > max || (size_t)(end - p) < n) return NULL;
    memcpy(dst, p, n);
    dst[n] = '\0';
    return memchr(dst, '\0', n) ? NULL : p + n;
}

int hx_seal_mac(const uint8_t key[HX_SEAL_KEY_LEN], const uint8_t *data, size_t len,
                uint8_t out[HX_SEAL_MAC_LEN])
{
    unsigned int olen = 0;
    return HMAC(EVP_sha256(), key, HX_SEAL_KEY_LEN, data, len, out, &olen) &&
                   olen == HX_SEAL_MAC_LEN
               ? 0
               : -1;
}
