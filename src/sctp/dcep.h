/*
 * DCEP, the Data Channel Establishment Protocol (RFC 8832), and the SCTP
 * payload protocol identifiers of WebRTC data channels (RFC 8831 §8).
 *
 * A channel is opened by sending DATA_CHANNEL_OPEN on the stream it will
 * use (PPID 50); the peer answers DATA_CHANNEL_ACK on the same stream.
 * This is a pure codec: parse and write over caller buffers, no I/O, no
 * allocation. A parsed OPEN points into the input buffer (label, protocol),
 * so it lives as long as that buffer.
 *
 * DATA_CHANNEL_OPEN (§5.1), all integers big-endian:
 *
 *   u8  message type (0x03)     u8  channel type
 *   u16 priority                u32 reliability parameter
 *   u16 label length            u16 protocol length
 *   label bytes, then protocol bytes (UTF-8, not NUL-terminated)
 *
 * DATA_CHANNEL_ACK (§5.2) is the single byte 0x02.
 */
#ifndef HX_SCTP_DCEP_H
#define HX_SCTP_DCEP_H

#include <stddef.h>
#include <stdint.h>

/* Message types (RFC 8832 §8.2.1). */
#define HX_DCEP_ACK 0x02
#define HX_DCEP_OPEN 0x03

/* Channel types (§5.1): the high bit means unordered. */
#define HX_DCEP_RELIABLE 0x00
#define HX_DCEP_PARTIAL_RELIABLE_REXMIT 0x01
#define HX_DCEP_PARTIAL_RELIABLE_TIMED 0x02
#define HX_DCEP_UNORDERED 0x80

#define HX_DCEP_OPEN_HEADER 12
/** Largest OPEN: the header plus two 16-bit-length strings. */
#define HX_DCEP_OPEN_MAX (HX_DCEP_OPEN_HEADER + 2 * 65535)

/* Payload protocol identifiers (RFC 8831 §8, RFC 8832 §8.1). */
enum {
    HX_PPID_DCEP = 50,
    HX_PPID_STRING = 51,
    HX_PPID_BINARY_PARTIAL = 52, /* deprecated, refused */
    HX_PPID_BINARY = 53,
    HX_PPID_STRING_PARTIAL = 54, /* deprecated, refused */
    HX_PPID_STRING_EMPTY = 56,
    HX_PPID_BINARY_EMPTY = 57,
};

/** What a PPID means to a receiver (hx_dcep_ppid_class). */
typedef enum hx_ppid_class {
    HX_PPID_CLASS_CONTROL = 0,  /* DCEP message */
    HX_PPID_CLASS_STRING = 1,   /* UTF-8 user message */
    HX_PPID_CLASS_BINARY = 2,   /* binary user message */
    HX_PPID_CLASS_REFUSED = -1, /* deprecated partial PPIDs 52/54 */
    HX_PPID_CLASS_UNKNOWN = -2, /* anything else */
} hx_ppid_class;

enum {
    HX_DCEP_OK = 0,
    HX_DCEP_ETRUNC = -1,   /* shorter than its header or stated lengths */
    HX_DCEP_ETRAIL = -2,   /* bytes after the protocol string */
    HX_DCEP_ETYPE = -3,    /* not the message type asked for / unknown type */
    HX_DCEP_ECHANNEL = -4, /* channel type not defined by §5.1 */
    HX_DCEP_EUTF8 = -5,    /* label or protocol not valid UTF-8 */
    HX_DCEP_ENOSPACE = -6, /* output buffer too small */
    HX_DCEP_EINVAL = -7,   /* bad argument to a writer */
};

/** A DATA_CHANNEL_OPEN; label and protocol point into the parsed buffer. */
typedef struct hx_dcep_open {
    uint8_t channel_type; /* HX_DCEP_* */
    uint16_t priority;
    uint32_t reliability; /* retransmits or lifetime (ms); ignored when reliable */
    const uint8_t *label;
    uint16_t label_len;
    const uint8_t *protocol;
    uint16_t protocol_len;
} hx_dcep_open;

/** Message type of a DCEP payload (first byte), or HX_DCEP_ETRUNC when empty. */
int hx_dcep_type(const uint8_t *buf, size_t len);
/** Parse a DATA_CHANNEL_OPEN with full bounds, channel-type and UTF-8 checks. */
int hx_dcep_parse_open(const uint8_t *buf, size_t len, hx_dcep_open *out);
/** Write a DATA_CHANNEL_OPEN. Returns its length or a negative HX_DCEP_* error. */
long hx_dcep_write_open(const hx_dcep_open *o, uint8_t *buf, size_t cap);
/** Check that a payload is exactly a DATA_CHANNEL_ACK. */
int hx_dcep_parse_ack(const uint8_t *buf, size_t len);
/** Write a DATA_CHANNEL_ACK (1 byte). Returns 1 or HX_DCEP_ENOSPACE. */
long hx_dcep_write_ack(uint8_t *buf, size_t cap);
/** Classify a received PPID (host byte order). */
hx_ppid_class hx_dcep_ppid_class(uint32_t ppid);
/** True for a channel type defined by RFC 8832 §5.1. */
int hx_dcep_channel_type_valid(uint8_t t);
/** True when buf is well-formed UTF-8 (no overlongs, surrogates, or > U+10FFFF). */
int hx_dcep_utf8_valid(const uint8_t *buf, size_t len);
/** Static description of an HX_DCEP_* error. */
const char *hx_dcep_strerror(int err);

#endif
