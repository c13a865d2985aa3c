/*
 * Private helpers of the rtp module: network byte order loads and stores.
 * Every caller checks bounds before it calls these; they only spell out the
 * shifts once so the codecs read as field layouts.
 */
#ifndef HX_RTP_RTP_INTERNAL_H
#define HX_RTP_RTP_INTERNAL_H

#include <stddef.h>
#include "common/bytes.h"
#include <stdint.h>

/* Write an RTCP common header for a packet of len bytes (a multiple of 4). */
static inline void hx__rtcp_header(uint8_t *out, uint8_t count, uint8_t pt, size_t len)
{
    out[0] = (uint8_t)(0x80 | (count & 0x1f));
    out[1] = pt;
    hx_wr16(out + 2, (uint16_t)(len / 4 - 1));
}

#endif
