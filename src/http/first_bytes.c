/* The one-port demultiplexer's decision (first_bytes.h). */
#include "http/first_bytes.h"

#define STUN_COOKIE 0x2112A442u
#define MAX_METHOD 16

static bool stun_request(const uint8_t *b, size_t len)
{
    if (b[0] > 0x01) return false;
    if (len < 8) return true; /* the TURN server checks the rest */
    uint32_t cookie = (uint32_t)b[4] << 24 | (uint32_t)b[5] << 16 | (uint32_t)b[6] << 8 | b[7];
    return cookie == STUN_COOKIE;
}

static bool request_line(const uint8_t *b, size_t len)
{
    size_t i = 0;
    while (i < len && i < MAX_METHOD && b[i] >= 'A' && b[i] <= 'Z') i++;
    return i > 0 && (i == len || (i < len && b[i] == ' '));
}

hx_first_kind hx_first_bytes(const uint8_t *b, size_t len, bool plaintext_on_tls)
{
    if (!len) return HX_FIRST_OTHER;
    if (stun_request(b, len)) return HX_FIRST_TURN;
    if (plaintext_on_tls && request_line(b, len)) return HX_FIRST_HTTP;
    return HX_FIRST_OTHER;
}
