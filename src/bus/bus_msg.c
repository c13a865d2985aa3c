/*
 * The bus message codec: a flat JSON object, one key per non-empty field
 * ("k" the kind name, "at" a number, the rest strings). JSON so a Redis
 * operator can read the channel with redis-cli; flat and bounded so the
 * decoder is small and fuzzable. Decoding refuses unknown kinds and any
 * string that would not fit its field: a message is taken whole or not at
 * all.
 */
#include "bus/bus.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const kind_names[] = {
    [HX_BUS_REVOKE] = "revoke",
    [HX_BUS_MODERATION] = "moderation",
    [HX_BUS_ROOM_EVENT] = "room_event",
};

const char *hx_bus_kind_name(hx_bus_kind k)
{
    return k >= 1 && k <= HX_BUS_KIND_MAX ? kind_names[k] : "unknown";
}

typedef struct field {
    const char *key;
    size_t off, cap;
} field;

#define F(name) {#name, offsetof(hx_bus_msg, name), sizeof(((hx_bus_msg *)0)->name)}
static const field fields[] = {
    F(origin), F(action), F(room), F(user), F(device), F(sid), F(participant),
    F(track), F(actor), F(value), F(policy), F(id), F(text),
};
#undef F
#define N_FIELDS (sizeof fields / sizeof fields[0])

int hx_bus_encode(const hx_bus_msg *m, char *out, size_t cap)
{
    if (m->kind < 1 || m->kind > HX_BUS_KIND_MAX) return -1;
    json_t *o = json_object();
    if (!o) return -1;
    int bad = json_object_set_new(o, "k", json_string(kind_names[m->kind]));
    for (size_t i = 0; i < N_FIELDS; i++) {
        const char *v = (const char *)m + fields[i].off;
        if (strnlen(v, fields[i].cap) == fields[i].cap) bad = -1; /* not terminated */
        else if (*v) bad |= json_object_set_new(o, fields[i].key, json_string(v));
    }
    if (m->at) bad |= json_object_set_new(o, "at", json_integer(m->at));
    size_t n = bad ? 0 : json_dumpb(o, out, cap, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    return n == 0 || n > cap || n > HX_BUS_MAX_BYTES ? -1 : (int)n;
}

static int decode_kind(const json_t *v, hx_bus_msg *m)
{
    const char *s = json_string_value(v);
    for (int k = 1; s && k <= HX_BUS_KIND_MAX; k++)
        if (!strcmp(s, kind_names[k])) {
            m->kind = (hx_bus_kind)k;
            return 0;
        }
    return -1;
}

static int decode_field(const char *key, const json_t *v, hx_bus_msg *m)
{
    if (!strcmp(key, "k")) return decode_kind(v, m);
    if (!strcmp(key, "at")) {
        if (!json_is_integer(v)) return -1;
        m->at = json_integer_value(v);
        return 0;
    }
    for (size_t i = 0; i < N_FIELDS; i++) {
        if (strcmp(key, fields[i].key)) continue;
        if (!json_is_string(v)) return -1;
        size_t len = json_string_length(v);
        const char *s = json_string_value(v);
        if (len >= fields[i].cap || memchr(s, 0, len)) return -1;
        memcpy((char *)m + fields[i].off, s, len + 1);
        return 0;
    }
    return 0; /* unknown keys are ignored: a newer node may add fields */
}

int hx_bus_decode(const char *in, size_t len, hx_bus_msg *m)
{
    memset(m, 0, sizeof *m);
    if (len > HX_BUS_MAX_BYTES) return -1;
    json_t *o = json_loadb(in, len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(o)) {
        json_decref(o);
        return -1;
    }
    const char *key;
    json_t *v;
    int rc = 0;
    json_object_foreach(o, key, v) if (decode_field(key, v, m)) rc = -1;
    json_decref(o);
    if (rc || !m->kind) {
        memset(m, 0, sizeof *m);
        return -1;
    }
    return 0;
}
