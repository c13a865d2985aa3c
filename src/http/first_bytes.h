/*
 * The first bytes of a connection the HTTP parser did not take (lws' raw
 * fallback on the listener, http_server.c): the one-port demultiplexer's
 * own decision (docs/connectivity.md "Only 443"). lws tells TLS from
 * plaintext and HTTP from the rest; what reaches this is TURN, plaintext
 * HTTP on a TLS listener, or something to close. Pure; fuzzed
 * (fuzz/fuzz_first_bytes.c).
 */
#ifndef HX_HTTP_FIRST_BYTES_H
#define HX_HTTP_FIRST_BYTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum hx_first_kind {
    HX_FIRST_OTHER = 0, /* close it */
    HX_FIRST_TURN,      /* a STUN request: hand the connection to the TURN server */
    HX_FIRST_HTTP,      /* an HTTP request line in plaintext on a TLS listener: say "use https" */
} hx_first_kind;

/**
 * Classify the first len (> 0) bytes. plaintext_on_tls: the listener speaks
 * TLS and this connection did not start a handshake.
 *
 * TURN: a client's first message on a stream is a STUN request (an Allocate,
 * a Binding): first byte 0x00 or 0x01 and, once 8 bytes are in, the magic
 * cookie (RFC 5389 §6). ChannelData (0x40-0x4F, also 'A'-'O' and so the
 * start of every HTTP method) cannot come first: there is no channel yet.
 * HTTP: 1-16 upper-case letters, then a space (or the end of what came).
 */
hx_first_kind hx_first_bytes(const uint8_t *b, size_t len, bool plaintext_on_tls);

#endif
