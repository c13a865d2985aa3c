/*
 * Envelope codec over jansson. The parser is bounded by the caller's size
 * cap (the WebSocket layer never hands over more than max_message_bytes) and
 * by a nesting-depth check, so hostile input costs at most linear time.
 */
#include "signal/envelope.h"

#include <string.h>

static int depth_ok(const char *buf, size_t len)
{
    int depth = 0, in_str = 0;
    for (size_t i = 0; i < len; i++) {
        char c = buf[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = 0;
        } else if (c == '"') {
            in_str = 1;
        } else if (c == '{' || c == '[') {
            if (++depth > HX_ENVELOPE_MAX_DEPTH) return 0;
        } else if (c == '}' || c == ']') {
            depth--;
        }
    }
    return 1;
}

int hx_envelope_decode(const char *buf, size_t len, hx_envelope *env, const char **why)
{
    memset(env, 0, sizeof *env);
    if (!depth_ok(buf, len)) {
        *why = "message nested too deeply";
        return -1;
    }
    json_error_t jerr;
    env->root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!env->root) {
        *why = "message is not valid JSON";
        return -1;
    }
    if (!json_is_object(env->root)) {
        *why = "message is not a JSON object";
        return -1;
    }
    json_t *id = json_object_get(env->root, "id");
    if (id) {
        if (!json_is_string(id) || json_string_length(id) > HX_ENVELOPE_MAX_ID) {
            *why = "'id' must be a string of at most 64 bytes";
            return -1;
        }
        env->id = json_string_value(id);
    }
    json_t *type = json_object_get(env->root, "type");
    if (!json_is_string(type)) {
        *why = "'type' is missing or not a string";
        return -1;
    }
    if (json_string_length(type) == 0 || json_string_length(type) > HX_ENVELOPE_MAX_TYPE ||
        strlen(json_string_value(type)) != json_string_length(type)) {
        *why = "'type' must be 1 to 64 bytes";
        return -1;
    }
    env->type = json_string_value(type);
    json_t *data = json_object_get(env->root, "data");
    if (data && !json_is_object(data)) {
        *why = "'data' must be an object";
        return -1;
    }
    if (!data) {
        data = json_object();
        json_object_set_new(env->root, "data", data); /* root owns it; type/id stay valid */
    }
    env->data = data;
    return 0;
}

void hx_envelope_free(hx_envelope *env)
{
    json_decref(env->root);
    memset(env, 0, sizeof *env);
}

char *hx_envelope_encode(const char *type, const char *id, json_t *data, size_t *len)
{
    json_t *o = json_object();
    json_object_set_new(o, "type", json_string(type));
    if (id) json_object_set_new(o, "id", json_string(id));
    json_object_set_new(o, "data", data ? data : json_object());
    /* Reals with 15 significant digits: a speaker's level 0.82 reads 0.82, not the 17-digit
     * 0.81999999999999995 of the nearest double. */
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15));
    json_decref(o);
    if (s && len) *len = strlen(s);
    return s;
}
