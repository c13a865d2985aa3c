#include "auth/grants_json.h"

#include <string.h>

static const struct {
    uint32_t bit;
    const char *name;
} names[] = {{HX_GRANT_PUBLISH, "publish"},
             {HX_GRANT_SUBSCRIBE, "subscribe"},
             {HX_GRANT_DATA, "data"},
             {HX_GRANT_MODERATE, "moderate"}};

json_t *hx_grant_flags_json(uint32_t flags)
{
    json_t *a = json_array();
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (flags & names[i].bit) json_array_append_new(a, json_string(names[i].name));
    return a;
}

int hx_grant_flags_from_json(const json_t *obj, uint32_t base, uint32_t *out)
{
    uint32_t f = base;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const json_t *v = json_object_get(obj, names[i].name);
        if (!v) continue;
        if (!json_is_boolean(v)) return -1;
        if (json_is_true(v))
            f |= names[i].bit;
        else
            f &= ~names[i].bit;
    }
    *out = f;
    return 0;
}

int hx_grant_rooms_from_json(const json_t *rooms, hx_grants *out)
{
    if (!rooms) return 0;
    if (json_is_string(rooms) && strcmp(json_string_value(rooms), "*") == 0) {
        out->all_rooms = true;
        out->n_rooms = 0;
        return 0;
    }
    if (!json_is_array(rooms) || json_array_size(rooms) > HX_MAX_GRANT_ROOMS) return -1;
    out->all_rooms = false;
    out->n_rooms = 0;
    size_t i;
    const json_t *v;
    json_array_foreach(rooms, i, v)
    {
        const char *r = json_string_value(v);
        /* An issuer listing "*" means every room, as the bare string does: no room is named "*"
         * (hx_id_valid allows it, so it is checked first). The other elements must still be ids. */
        if (r && strcmp(r, "*") == 0) {
            out->all_rooms = true;
            continue;
        }
        if (!r || !hx_id_valid(r)) return -1;
        memcpy(out->rooms[out->n_rooms++], r, strlen(r) + 1);
    }
    if (out->all_rooms) out->n_rooms = 0; /* every room: the names add nothing */
    return 0;
}
