/*
 * Private helpers of the rtp module: network byte order loads and stores.
 * Every caller checks bounds before it calls these; they only spell out the
 * shifts once so the codecs read as field layouts.
 */
#ifndef HX_RTP_RTP_INTERNAL_H
#define HX_RTP_RTP_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

static inline uint16_t hx__rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t hx__rd24(const uint8_t *p)
{
    return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

static inline uint32_t hx__rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void hx__wr16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void hx__wr24(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 16);
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)v;
}

static inline void hx__wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Write an RTCP common header for a packet of len bytes (a multiple of 4). */
static inline void hx__rtcp_header(uint8_t *out, uint8_t count, uint8_t pt, size_t len)
{
    out[0] = (uint8_t)(0x80 | (count & 0x1f));
    out[1] = pt;
    hx__wr16(out + 2, (uint16_t)(len / 4 - 1));
}

#endif
