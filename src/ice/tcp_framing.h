/*
 * RFC 4571 framing for passive ICE-TCP (RFC 6544 §3): each STUN, DTLS or
 * RTP packet on the TCP stream is preceded by its length, 16 bits
 * big-endian. The receiver reassembles frames from arbitrary stream
 * chunks into a caller-provided buffer whose size is the frame cap; a
 * header announcing more than the cap is an error (close the connection),
 * and the error is sticky. When a whole frame sits in one input chunk and
 * nothing is buffered, it is returned in place without a copy.
 * Zero-length frames are legal and skipped.
 */
#ifndef HX_ICE_TCP_FRAMING_H
#define HX_ICE_TCP_FRAMING_H

#include <stddef.h>
#include <stdint.h>

#define HX_ICE_TCP_MAX_FRAME 65535

enum {
    HX_ICE_TCP_ETOOBIG = -1, /* a frame is larger than the cap */
    HX_ICE_TCP_ENOSPACE = -2,
    HX_ICE_TCP_EINVAL = -3,
};

/** Reassembly state for one TCP connection. */
typedef struct hx_ice_tcp_rx {
    uint8_t *buf;
    size_t cap;  /* largest frame accepted */
    size_t need; /* length of the frame being read */
    size_t have; /* bytes of it buffered */
    uint8_t hdr[2];
    uint8_t hdr_have;
    int err;
} hx_ice_tcp_rx;

/** Use buf[0..cap) for reassembly; frames up to min(cap, 65535) bytes. */
int hx_ice_tcp_rx_init(hx_ice_tcp_rx *rx, uint8_t *buf, size_t cap);
/**
 * Consume stream bytes until one frame is complete or the input ends.
 * Returns the bytes consumed (call again with the rest) or a negative
 * error; *frame is the complete frame (valid until the next call) or NULL.
 */
long hx_ice_tcp_rx_feed(hx_ice_tcp_rx *rx, const uint8_t *data, size_t len, const uint8_t **frame,
                        size_t *frame_len);
/** Write the 2-byte header and the payload to out. Returns bytes written or negative. */
long hx_ice_tcp_encode(uint8_t *out, size_t cap, const uint8_t *payload, size_t len);

#endif
