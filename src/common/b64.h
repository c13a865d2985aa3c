/*
 * Base64 and base64url (RFC 4648) codecs. Pure functions over caller
 * buffers: no allocation, no I/O. Used by JWT/JWKS (base64url, no padding),
 * join tickets (base64url) and TURN credentials (standard base64).
 */
#ifndef HX_COMMON_B64_H
#define HX_COMMON_B64_H

#include <stddef.h>
#include <stdint.h>

/** Encoded length of n bytes (without NUL). url: base64url without padding. */
size_t hx_b64_encoded_len(size_t n, int url);

/** Encode; writes a NUL-terminated string. Returns length or -1 if out is too small. */
long hx_b64_encode(const uint8_t *in, size_t n, char *out, size_t outlen, int url);

/**
 * Decode. url=1 accepts the base64url alphabet without padding (padding is
 * rejected); url=0 the standard alphabet with optional padding. Returns the
 * decoded length or -1 on bad input or short buffer.
 */
long hx_b64_decode(const char *in, size_t n, uint8_t *out, size_t outlen, int url);

#endif
