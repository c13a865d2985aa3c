/*
 * Grants: the small value type that says what a verified user may do
 * (DESIGN §2). A grant is a fixed-size struct, copied by value from the
 * token into the join ticket and from the ticket into the session, so it
 * owns no memory and needs no destructor.
 *
 * Identifiers (user, device, platform session, jti, room names) share one
 * validity rule, kept here so every layer agrees on it: 1..HX_MAX_ID_LEN
 * bytes of printable ASCII without space, quotes, backslash or slash. The
 * excluded characters are the ones that need escaping in JSON, log lines,
 * URLs and file paths, so a valid id can be written anywhere verbatim.
 *
 * The `grants` claim is read by jwt.c with the other claims; its JSON
 * members (rooms, flags) are parsed in grants_json.c.
 */
#include "auth/grants.h"

#include <string.h>

void hx_grants_default(hx_grants *g)
{
    memset(g, 0, sizeof *g);
    g->all_rooms = true;
    g->flags = HX_GRANT_DEFAULT_FLAGS;
}

bool hx_grants_allow_room(const hx_grants *g, const char *room)
{
    if (!g || !hx_id_valid(room)) return false;
    if (g->all_rooms) return true;
    for (size_t i = 0; i < g->n_rooms && i < HX_MAX_GRANT_ROOMS; i++)
        if (strcmp(g->rooms[i], room) == 0) return true;
    return false;
}

bool hx_id_valid(const char *s)
{
    if (!s) return false;
    size_t i = 0;
    for (; s[i]; i++) {
        unsigned char c = (unsigned char)s[i];
        if (i >= HX_MAX_ID_LEN || c <= 0x20 || c >= 0x7f) return false;
        if (c == '"' || c == '\'' || c == '\\' || c == '/') return false;
    }
    return i > 0;
}
