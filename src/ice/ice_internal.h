/*
 * Helpers shared inside src/ice: transport addresses as keys (compare,
 * hash, copy) and the USERNAME split. Addresses are sockaddr_in or
 * sockaddr_in6 inside a sockaddr_storage; only family, port and address
 * bytes count (flow info and scope are ignored, as a 5-tuple does).
 */
#ifndef HX_ICE_INTERNAL_H
#define HX_ICE_INTERNAL_H

#include "ice/ice.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/** True for an AF_INET or AF_INET6 address. */
bool hx__ice_addr_ok(const struct sockaddr_storage *a);
/** Same family, port and address. */
bool hx__ice_addr_equal(const struct sockaddr_storage *a, const struct sockaddr_storage *b);
/** Seeded hash of family, port and address. */
uint64_t hx__ice_addr_hash(const struct sockaddr_storage *a, uint64_t seed);
/** Seeded hash of a byte string. */
uint64_t hx__ice_hash_bytes(const void *p, size_t n, uint64_t seed);
/** Copy only the meaningful part of an address (the rest zeroed). */
void hx__ice_addr_copy(struct sockaddr_storage *dst, const struct sockaddr_storage *src);
/** A pair's compact address: set from, compared with, a sockaddr_storage (family, port, IP). */
void hx__ice_pair_addr_set(hx_ice_addr *dst, const struct sockaddr_storage *src);
bool hx__ice_pair_addr_is(const hx_ice_addr *p, const struct sockaddr_storage *a);
/** Split USERNAME "a:b" at the first ':'; false if there is none. */
bool hx__ice_username_split(const uint8_t *v, size_t n, size_t *local_len, const uint8_t **remote,
                            size_t *remote_len);

struct hx_ice_agent;

/** Record a valid check from addr (pair table, nomination, state). */
void hx__ice_agent_on_valid(struct hx_ice_agent *a, const struct sockaddr_storage *addr,
                            uint32_t priority, bool use_candidate, int64_t now_ms);
/** Move to a state, raising HX_ICE_EV_STATE if it changed. */
void hx__ice_agent_set_state(struct hx_ice_agent *a, int state, int64_t now_ms);

#endif
