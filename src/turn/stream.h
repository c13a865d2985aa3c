/*
 * TURN over TCP and TLS: the stream carries STUN messages and ChannelData
 * back to back (RFC 8656 §12.5), not the RFC 4571 length prefix of
 * ICE-TCP. A frame's length comes from its own header: a STUN message
 * (first two bits 00) is 20 bytes plus its length field; ChannelData (01)
 * is 4 bytes plus its length field, padded to a multiple of 4 on streams.
 * Any other first byte is a protocol error: the connection is closed.
 *
 * The reassembler keeps at most one partial frame in a caller buffer whose
 * size is the frame cap (a larger frame is an error, sticky); a frame that
 * sits whole in the input while nothing is buffered is returned in place,
 * without a copy. Pure: no I/O, no allocation.
 */
#ifndef HX_TURN_STREAM_H
#define HX_TURN_STREAM_H

#include <stddef.h>
#include <stdint.h>

#define HX_TURN_STREAM_MAX_FRAME 4096 /* a frame's largest size on hearth's streams */

enum {
    HX_TURN_STREAM_ETOOBIG = -1, /* a frame is larger than the cap */
    HX_TURN_STREAM_EPROTO = -2,  /* neither STUN nor ChannelData */
    HX_TURN_STREAM_EINVAL = -3,
};

/** Reassembly state for one connection. */
typedef struct hx_turn_stream_rx {
    uint8_t *buf;
    size_t cap;
    size_t need; /* the frame's length once its header is in, else 0 */
    size_t have; /* bytes of it buffered */
    int err;
} hx_turn_stream_rx;

/** Use buf[0..cap) (cap >= 20) for reassembly. 0 or HX_TURN_STREAM_EINVAL. */
int hx_turn_stream_init(hx_turn_stream_rx *rx, uint8_t *buf, size_t cap);
/**
 * The length of the frame starting with these 4 header bytes (STUN 20 +
 * length, ChannelData 4 + length rounded up to 4), or HX_TURN_STREAM_EPROTO.
 */
long hx_turn_stream_frame_len(const uint8_t hdr[4]);
/**
 * Consume stream bytes until one frame is complete or the input ends.
 * Returns the bytes consumed (call again with the rest) or a negative
 * error; *frame is a complete frame (valid until the next call) or NULL.
 */
long hx_turn_stream_feed(hx_turn_stream_rx *rx, const uint8_t *data, size_t len,
                         const uint8_t **frame, size_t *frame_len);

#endif
