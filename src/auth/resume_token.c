/*
 * Resume token wire format (before base64url):
 *
 *   u8   format (1)
 *   u32  gen                   big-endian
 *   i64  issued_ms             big-endian
 *   i64  token_iat             big-endian
 *   6 x  (u8 len, bytes)       participant, user, device, room, sid, jti
 *   32   HMAC-SHA256(key, everything above)
 *
 * Decoding is strict, as for tickets: exact length, the MAC compared in
 * constant time before any field is read, ids re-validated, so one token has
 * exactly one text.
 */
#include "auth/resume_token.h"

#include "auth/seal.h"
#include "common/b64.h"
#include "common/bytes.h"

#include <openssl/crypto.h>
#include <string.h>

#define FORMAT 1
#define MAC_LEN HX_SEAL_MAC_LEN
#define HEAD (1 + 4 + 8 + 8)
#define MAX_RAW (HEAD + (1 + HX_RESUME_PID_LEN) + 5 * (1 + HX_MAX_ID_LEN) + MAC_LEN)

long hx_resume_seal(const uint8_t key[HX_RESUME_KEY_LEN], const hx_resume_token *t, char *out,
                    size_t outlen)
{
    uint8_t raw[MAX_RAW], *p = raw;
    *p++ = FORMAT;
    for (int i = 3; i >= 0; i--)
        *p++ = (uint8_t)(t->gen >> (i * 8));
    for (int i = 7; i >= 0; i--)
        *p++ = (uint8_t)((uint64_t)t->issued_ms >> (i * 8));
    for (int i = 7; i >= 0; i--)
        *p++ = (uint8_t)((uint64_t)t->token_iat >> (i * 8));
    p = hx_seal_put_str(p, t->participant, HX_RESUME_PID_LEN - 1);
    p = hx_seal_put_str(p, t->user, HX_MAX_ID_LEN);
    p = hx_seal_put_str(p, t->device, HX_MAX_ID_LEN);
    p = hx_seal_put_str(p, t->room, HX_MAX_ID_LEN);
    p = hx_seal_put_str(p, t->sid, HX_MAX_ID_LEN);
    p = hx_seal_put_str(p, t->jti, HX_MAX_ID_LEN);
    if (hx_seal_mac(key, raw, (size_t)(p - raw), p)) return HX_RESUME_INVALID;
    p += MAC_LEN;
    long n = hx_b64_encode(raw, (size_t)(p - raw), out, outlen, 1);
    return n < 0 ? HX_RESUME_NOSPACE : n;
}

int hx_resume_open(const uint8_t key[HX_RESUME_KEY_LEN], const char *text, size_t len,
                   hx_resume_token *t)
{
    uint8_t raw[MAX_RAW + 4], want[MAC_LEN];
    if (len > HX_RESUME_MAX_TEXT) return HX_RESUME_INVALID;
    long n = hx_b64_decode(text, len, raw, sizeof raw, 1);
    if (n < HEAD + 6 + MAC_LEN || n > MAX_RAW || raw[0] != FORMAT) return HX_RESUME_INVALID;
    size_t body = (size_t)n - MAC_LEN;
    if (hx_seal_mac(key, raw, body, want) || CRYPTO_memcmp(want, raw + body, MAC_LEN) != 0)
        return HX_RESUME_INVALID;

    const uint8_t *p = raw + 1, *end = raw + body;
    memset(t, 0, sizeof *t);
    t->gen = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    t->issued_ms = (int64_t)hx_rd64(p + 4);
    t->token_iat = (int64_t)hx_rd64(p + 12);
    p += 20;
    if (!(p = hx_seal_get_str(p, end, t->participant, HX_RESUME_PID_LEN - 1)) ||
        !(p = hx_seal_get_str(p, end, t->user, HX_MAX_ID_LEN)) ||
        !(p = hx_seal_get_str(p, end, t->device, HX_MAX_ID_LEN)) ||
        !(p = hx_seal_get_str(p, end, t->room, HX_MAX_ID_LEN)) ||
        !(p = hx_seal_get_str(p, end, t->sid, HX_MAX_ID_LEN)) ||
        !(p = hx_seal_get_str(p, end, t->jti, HX_MAX_ID_LEN)) || p != end)
        return HX_RESUME_INVALID;
    if (!hx_id_valid(t->participant) || !hx_id_valid(t->user) || !hx_id_valid(t->device) ||
        !hx_id_valid(t->room) || t->gen == 0)
        return HX_RESUME_INVALID;
    return HX_RESUME_OK;
}
