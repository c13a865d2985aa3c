/*
 * DTLS record layer framing (RFC 6347 §4.1), as the demultiplexer in front
 * of the DTLS engine needs it: a cheap first-byte classifier (RFC 7983 §7:
 * 20..63 is DTLS on a port shared with STUN, RTP/RTCP and TURN channels)
 * and a strict scanner that checks every record header of a datagram
 * before any of it reaches OpenSSL. Pure: no I/O, no allocation.
 *
 *   record = type(1) version(2) epoch(2) sequence_number(6) length(2) fragment
 */
#ifndef HX_DTLS_RECORD_H
#define HX_DTLS_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HX_DTLS_RECORD_HEADER_LEN 13
#define HX_DTLS_RECORD_MAX_BODY (16384 + 2048) /* TLSCiphertext bound, RFC 5246 §6.2.3 */
#define HX_DTLS_MAX_EPOCH 1 /* renegotiation is off: epoch 0 clear, 1 after CCS */

enum {
    HX_DTLS_CT_CHANGE_CIPHER_SPEC = 20,
    HX_DTLS_CT_ALERT = 21,
    HX_DTLS_CT_HANDSHAKE = 22,
    HX_DTLS_CT_APPLICATION_DATA = 23,
};

enum {
    HX_DTLS_REC_EMPTY = -1,       /* zero-length datagram */
    HX_DTLS_REC_TRUNCATED = -2,   /* header or fragment runs past the datagram */
    HX_DTLS_REC_BAD_TYPE = -3,    /* content type outside 20..23 */
    HX_DTLS_REC_BAD_VERSION = -4, /* neither DTLS 1.0 (0xFEFF) nor 1.2 (0xFEFD) */
    HX_DTLS_REC_BAD_EPOCH = -5,   /* epoch above HX_DTLS_MAX_EPOCH, or app data in epoch 0 */
    HX_DTLS_REC_BAD_LENGTH = -6,  /* over the bound, or impossible for a clear record */
};

typedef struct hx_dtls_record {
    uint8_t type;
    uint16_t version;
    uint16_t epoch;
    uint64_t seq; /* 48 bits */
    const uint8_t *body;
    size_t len;
} hx_dtls_record;

/** Called per record after the whole datagram validated; nonzero stops the walk. */
typedef int (*hx_dtls_record_cb)(void *user, const hx_dtls_record *r);

/** RFC 7983 demux: true if the first byte says DTLS (20..63). */
bool hx_dtls_is_dtls(const uint8_t *buf, size_t len);
/** Validate every record header of a datagram, then call cb (may be NULL) for each.
 *  Returns the number of records (>= 1) or an HX_DTLS_REC_* error. */
int hx_dtls_record_scan(const uint8_t *buf, size_t len, hx_dtls_record_cb cb, void *user);
/** True if the datagram is valid and its first record is a clear ClientHello. */
bool hx_dtls_is_client_hello(const uint8_t *buf, size_t len);
/** Static description of an HX_DTLS_REC_* code. */
const char *hx_dtls_record_strerror(int err);

#endif
