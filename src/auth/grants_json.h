/* Grants to and from their JSON names ("publish", "subscribe", "data", "moderate", "rooms"). */
#ifndef HX_AUTH_GRANTS_JSON_H
#define HX_AUTH_GRANTS_JSON_H

#include "auth/grants.h"

#include <jansson.h>
#include <stdint.h>

/** ["publish", ...] from HX_GRANT_* flags. */
json_t *hx_grant_flags_json(uint32_t flags);
/**
 * Flags from {"publish": bool, ...}, starting from `base`: a key present
 * sets or clears its bit. -1 when a value is not a boolean.
 */
int hx_grant_flags_from_json(const json_t *obj, uint32_t base, uint32_t *out);
/**
 * The rooms of a grant from `"rooms"`: "*" (every room) or a list of at most
 * HX_MAX_GRANT_ROOMS ids, where an element "*" also means every room (then
 * all_rooms with an empty list). NULL (absent) leaves *out as it is. -1 for
 * anything else, *out then undefined.
 */
int hx_grant_rooms_from_json(const json_t *rooms, hx_grants *out);

#endif
