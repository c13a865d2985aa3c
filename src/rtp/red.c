/*
 * RED (RFC 2198 §3): every block but the last has a 4-byte header
 * (F=1, block PT, 14-bit timestamp offset, 10-bit length); the last, the
 * primary, a 1-byte header (F=0, PT) and no length: it runs to the end.
 */
#include "rtp/red.h"

#include "rtp/rtp.h"

int hx_red_primary(const uint8_t *payload, size_t len, uint8_t *pt, size_t *off, size_t *plen)
{
    size_t pos = 0, redundant = 0;
    for (;;) {
        if (pos >= len) return HX_RTP_ETRUNC;
        uint8_t b = payload[pos];
        if (!(b & 0x80)) { /* the primary's header */
            *pt = b & 0x7f;
            pos += 1;
            break;
        }
        if (len - pos < 4) return HX_RTP_ETRUNC;
        redundant += (size_t)((payload[pos + 2] & 0x03) << 8 | payload[pos + 3]);
        pos += 4;
    }
    if (redundant > len - pos) return HX_RTP_ETRUNC;
    *off = pos + redundant;
    *plen = len - *off;
    return 0;
}
