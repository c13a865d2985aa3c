/*
 * Ticket wire format (before base64url):
 *
 *   u8   format (1)
 *   16   id
 *   i64  expires_ms            big-endian
 *   i64  token_iat             big-endian
 *   u8   protocol_version
 *   u32  grants                big-endian
 *   5 x  (u8 len, bytes)       user, device, sid, room, jti
 *   32   HMAC-SHA256(key, everything above)
 *
 * Decoding is strict: exact length, the MAC checked in constant time before
 * any field is trusted, ids re-validated.
 */
#include "auth/ticket.h"
#include "auth/seal.h"
#include "common/bytes.h"

#include "common/b64.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <string.h>

#define FORMAT 1
#define MAC_LEN HX_SEAL_MAC_LEN
#define MAX_RAW (1 + HX_TICKET_ID_LEN + 8 + 8 + 1 + 4 + 5 * (1 + HX_MAX_ID_LEN) + MAC_LEN)

int hx_ticket_new_id(hx_ticket *t)
{
    return RAND_bytes(t->id, sizeof t->id) == 1 ? 0 : -1;
}

static uint8_t *put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--)
        *p++ = (uint8_t)(v >> (i * 8));
    return p;
}

long hx_ticket_seal(const uint8_t key[HX_TICKET_KEY_LEN], const hx_ticket *t, char *out,
                    size_t outlen)
{
    uint8_t raw[MAX_RAW], *p = raw;
    *p++ = FORMAT;
    memcpy(p, t->id, HX_TICKET_ID_LEN);
    p += HX_TICKET_ID_LEN;
    p = put_u64(p, (uint64_t)t->expires_ms);
    p = put_u64(p, (uint64_t)t->token_iat);
    *p++ = t->protocol_version;
    *p++ = (uint8_t)(t->grants >> 24);
    *p++ = (uint8_t)(t->grants >> 16);
    *p++ = (uint8_t)(t->grants >> 8);
    *p++ = (uint8_t)t->grants;
    p = hx_seal_put_str(p, t->user, HX_MAX_ID_LEN);
    p = hx_seal_put_str(p, t->device, HX_MAX_ID_LEN);
    p = hx_seal_put_str(p, t->sid, HX_MAX_ID_LEN);
    p = hx_seal_put_str(p, t->room, HX_MAX_ID_LEN);
    p = hx_seal_put_str(p, t->jti, HX_MAX_ID_LEN);
    if (hx_seal_mac(key, raw, (size_t)(p - raw), p)) return HX_TICKET_INVALID;
    p += MAC_LEN;
    long n = hx_b64_encode(raw, (size_t)(p - raw), out, outlen, 1);
    return n < 0 ? HX_TICKET_NOSPACE : n;
}

int hx_ticket_open(const uint8_t key[HX_TICKET_KEY_LEN], const char *text, size_t len, hx_ticket *t)
{
    uint8_t raw[MAX_RAW + 4], want[MAC_LEN];
    if (len > HX_TICKET_MAX_TEXT) return HX_TICKET_INVALID;
    long n = hx_b64_decode(text, len, raw, sizeof raw, 1);
    if (n < 1 + HX_TICKET_ID_LEN + 8 + 8 + 1 + 4 + 5 + MAC_LEN || n > MAX_RAW)
        return HX_TICKET_INVALID;
    if (raw[0] != FORMAT) return HX_TICKET_INVALID;
    size_t body = (size_t)n - MAC_LEN;
    if (hx_seal_mac(key, raw, body, want) || CRYPTO_memcmp(want, raw + body, MAC_LEN) != 0)
        return HX_TICKET_INVALID;

    const uint8_t *p = raw + 1, *end = raw + body;
    memset(t, 0, sizeof *t);
    memcpy(t->id, p, HX_TICKET_ID_LEN);
    p += HX_TICKET_ID_LEN;
    t->expires_ms = (int64_t)hx_rd64(p);
    t->token_iat = (int64_t)hx_rd64(p + 8);
    p += 16;
    t->protocol_version = *p++;
    t->grants = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    p += 4;
    if (!(p = hx_seal_get_str(p, end, t->user, HX_MAX_ID_LEN)) || !(p = hx_seal_get_str(p, end, t->device, HX_MAX_ID_LEN)) ||
        !(p = hx_seal_get_str(p, end, t->sid, HX_MAX_ID_LEN)) || !(p = hx_seal_get_str(p, end, t->room, HX_MAX_ID_LEN)) ||
        !(p = hx_seal_get_str(p, end, t->jti, HX_MAX_ID_LEN)) || p != end)
        return HX_TICKET_INVALID;
    if (!hx_id_valid(t->user) || !hx_id_valid(t->device) || !hx_id_valid(t->room))
        return HX_TICKET_INVALID;
    return HX_TICKET_OK;
}

void hx_ticket_id_hex(const hx_ticket *t, char out[2 * HX_TICKET_ID_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < HX_TICKET_ID_LEN; i++) {
        out[2 * i] = hex[t->id[i] >> 4];
        out[2 * i + 1] = hex[t->id[i] & 15];
    }
    out[2 * HX_TICKET_ID_LEN] = '\0';
}
