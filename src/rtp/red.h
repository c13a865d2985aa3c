/*
 * RTP payload for redundant audio (RED, RFC 2198), as browsers use it for
 * Opus: block headers, the redundant (older) blocks, then the primary
 * block. hearth forwards RED untouched to subscribers that accept it and
 * hands the others only the primary block, which is a plain Opus payload.
 */
#ifndef HX_RTP_RED_H
#define HX_RTP_RED_H

#include <stddef.h>
#include <stdint.h>

/**
 * Find the primary block of a RED payload: its payload type, offset and
 * length within payload. 0, or HX_RTP_ETRUNC (headers past the end,
 * block lengths over the payload).
 */
int hx_red_primary(const uint8_t *payload, size_t len, uint8_t *pt, size_t *off, size_t *plen);

#endif
