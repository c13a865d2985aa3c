/*
 * Reassembly of STUN and ChannelData frames from a TURN stream (stream.h).
 * The 4 header bytes decide the length; the body is copied only when the
 * frame straddles reads.
 */
#include "turn/stream.h"

#include "common/bytes.h"

#include <string.h>

int hx_turn_stream_init(hx_turn_stream_rx *rx, uint8_t *buf, size_t cap)
{
    memset(rx, 0, sizeof *rx);
    if (!buf || cap < 20) return HX_TURN_STREAM_EINVAL;
    rx->buf = buf;
    rx->cap = cap;
    return 0;
}

long hx_turn_stream_frame_len(const uint8_t hdr[4])
{
    size_t len = hx_rd16(hdr + 2);
    switch (hdr[0] >> 6) {
    case 0: /* STUN, RFC 8489 §5 */
        return (long)(20 + len);
    case 1: /* ChannelData, RFC 8656 §12.4; padded on streams (§12.5) */
        return (long)(4 + ((len + 3) & ~(size_t)3));
    default:
        return HX_TURN_STREAM_EPROTO;
    }
}

static long start(hx_turn_stream_rx *rx, const uint8_t hdr[4])
{
    long need = hx_turn_stream_frame_len(hdr);
    if (need < 0) return rx->err = (int)need;
    if ((size_t)need > rx->cap) return rx->err = HX_TURN_STREAM_ETOOBIG;
    return need;
}

long hx_turn_stream_feed(hx_turn_stream_rx *rx, const uint8_t *data, size_t len,
                         const uint8_t **frame, size_t *frame_len)
{
    *frame = NULL;
    *frame_len = 0;
    if (rx->err) return rx->err;
    if (rx->have == 0 && len >= 4) { /* the common case: whole frames in one read */
        long need = start(rx, data);
        if (need < 0) return need;
        if ((size_t)need <= len) {
            *frame = data;
            *frame_len = (size_t)need;
            return need;
        }
    }
    size_t used = 0;
    while (rx->have < 4 && used < len)
        rx->buf[rx->have++] = data[used++];
    if (rx->have < 4) return (long)used;
    if (!rx->need) {
        long need = start(rx, rx->buf);
        if (need < 0) return need;
        rx->need = (size_t)need;
    }
    size_t take = rx->need - rx->have;
    if (take > len - used) take = len - used;
    memcpy(rx->buf + rx->have, data + used, take);
    rx->have += take;
    used += take;
    if (rx->have == rx->need) {
        *frame = rx->buf;
        *frame_len = rx->need;
        rx->have = rx->need = 0;
    }
    return (long)used;
}
