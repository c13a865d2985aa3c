/*
 * The ICE servers a participant is handed (the ticket response, the join
 * and resume results, and the `ice.servers` push before they lapse):
 * ice.stun's STUN URLs, then TURN with a credential minted for the user
 * in coturn's REST form (auth/turn_cred.h; DESIGN §3) — the embedded
 * server's listeners (turn.mode = embedded) or the configured coturn's
 * turn.urls (external). docs/connectivity.md explains the choices.
 */
#ifndef HX_CORE_ICE_SERVERS_H
#define HX_CORE_ICE_SERVERS_H

#include "core/server.h"

#include <jansson.h>
#include <stdint.h>

/**
 * The RTCIceServer list for `user` at now_s (unix seconds). req_host: the
 * host the client reached us by (no port), the last resort for the TURN
 * URLs' host; may be NULL. *expires_s: when the TURN credential lapses, 0
 * when there is none. NULL only when out of memory.
 */
json_t *hx_ice_servers(const hx_server *s, const char *user, const char *req_host, int64_t now_s,
                       int64_t *expires_s);

/**
 * The host TURN URLs name: turn.announce, else public_url's host, else
 * turn.host unless a wildcard, else media.announce's first, else req_host,
 * else 127.0.0.1. IPv6 literals come bracketed. Into out (len bytes).
 */
void hx_ice_turn_host(const hx_config *c, const char *req_host, char *out, size_t len);

#endif
