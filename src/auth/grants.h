/*
 * What a user may do, as vouched for by the platform's identity service
 * (DESIGN §2): which rooms, and whether they may publish, subscribe, send
 * data and moderate. Carried from the token into the join ticket and from
 * the ticket into the live session.
 */
#ifndef HX_AUTH_GRANTS_H
#define HX_AUTH_GRANTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HX_MAX_ID_LEN 128     /* user, device, sid, jti, room names: bytes, excluding NUL */
#define HX_MAX_GRANT_ROOMS 32 /* rooms listed in one grant */

enum {
    HX_GRANT_PUBLISH = 1u << 0,
    HX_GRANT_SUBSCRIBE = 1u << 1,
    HX_GRANT_DATA = 1u << 2,
    HX_GRANT_MODERATE = 1u << 3,
};

/** Default when a token carries no `grants`: every room, publish+subscribe+data, no moderate. */
#define HX_GRANT_DEFAULT_FLAGS (HX_GRANT_PUBLISH | HX_GRANT_SUBSCRIBE | HX_GRANT_DATA)

typedef struct hx_grants {
    bool all_rooms;                                      /* "rooms": "*", or "*" in the list */
    size_t n_rooms;                                      /* else this list */
    char rooms[HX_MAX_GRANT_ROOMS][HX_MAX_ID_LEN + 1];
    uint32_t flags;                                      /* HX_GRANT_* */
} hx_grants;

/** Fill with the defaults above. */
void hx_grants_default(hx_grants *g);
/** True when the grant lets its holder into `room`. */
bool hx_grants_allow_room(const hx_grants *g, const char *room);
/** Valid identifier: 1..HX_MAX_ID_LEN bytes, printable ASCII without space/quote/backslash/slash. */
bool hx_id_valid(const char *s);

#endif
