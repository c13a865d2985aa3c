/*
 * What the sealed records (join tickets, resume tokens) share: their
 * length-prefixed strings and their MAC, HMAC-SHA256 under a 32-byte key.
 */
#ifndef HX_AUTH_SEAL_H
#define HX_AUTH_SEAL_H

#include <stddef.h>
#include <stdint.h>

#define HX_SEAL_KEY_LEN 32
#define HX_SEAL_MAC_LEN 32

/** u8 length (at most max, < 256) then the bytes of s; returns the next write position. */
uint8_t *hx_seal_put_str(uint8_t *p, const char *s, size_t max);
/** Read one into dst (max + 1 bytes); NULL when it runs past end, is longer than max or holds NUL. */
const uint8_t *hx_seal_get_str(const uint8_t *p, const uint8_t *end, char *dst, size_t max);
/** HMAC-SHA256(key, data). 0 or -1. */
int hx_seal_mac(const uint8_t key[HX_SEAL_KEY_LEN], const uint8_t *data, size_t len,
                uint8_t out[HX_SEAL_MAC_LEN]);

#endif
