/*
 * RFC 4571 reassembly (see tcp_framing.h). The state is the header bytes
 * seen so far, then the bytes of the body buffered so far; a frame
 * completes either in place (nothing buffered, all of it in the input) or
 * in the buffer.
 */
#include "ice/tcp_framing.h"

#include <string.h>

int hx_ice_tcp_rx_init(hx_ice_tcp_rx *rx, uint8_t *buf, size_t cap)
{
    memset(rx, 0, sizeof *rx);
    if (!buf || !cap) return HX_ICE_TCP_EINVAL;
    rx->buf = buf;
    rx->cap = cap > HX_ICE_TCP_MAX_FRAME ? HX_ICE_TCP_MAX_FRAME : cap;
    return 0;
}

long hx_ice_tcp_rx_feed(hx_ice_tcp_rx *rx, const uint8_t *data, size_t len, const uint8_t **frame,
                        size_t *frame_len)
{
    size_t used = 0;
    *frame = NULL;
    *frame_len = 0;
    if (rx->err) return rx->err;
    while (rx->hdr_have < 2) {
        if (used == len) return (long)used;
        rx->hdr[rx->hdr_have++] = data[used++];
        if (rx->hdr_have < 2) continue;
        rx->need = (size_t)rx->hdr[0] << 8 | rx->hdr[1];
        if (rx->need > rx->cap) return rx->err = HX_ICE_TCP_ETOOBIG;
        if (rx->need == 0) rx->hdr_have = 0; /* empty frame: skip */
    }
    if (rx->have == 0 && len - used >= rx->need) {
        *frame = data + used; /* whole frame in the input: no copy */
        used += rx->need;
    } else {
        size_t take = rx->need - rx->have;
        if (take > len - used) take = len - used;
        memcpy(rx->buf + rx->have, data + used, take);
        rx->have += take;
        used += take;
        if (rx->have < rx->need) return (long)used;
        *frame = rx->buf;
    }
    *frame_len = rx->need;
    rx->need = rx->have = 0;
    rx->hdr_have = 0;
    return (long)used;
}

long hx_ice_tcp_encode(uint8_t *out, size_t cap, const uint8_t *payload, size_t len)
{
    if (len > HX_ICE_TCP_MAX_FRAME) return HX_ICE_TCP_ETOOBIG;
    if (cap < len + 2) return HX_ICE_TCP_ENOSPACE;
    out[0] = (uint8_t)(len >> 8);
    out[1] = (uint8_t)len;
    memmove(out + 2, payload, len);
    return (long)(len + 2);
}
