#include "auth/grants_json.h"

#include "auth/grants.h"

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
