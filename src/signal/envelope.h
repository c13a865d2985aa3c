/*
 * The signaling envelope (docs/protocol.md §2): one JSON object per text
 * frame with `type` (string), optional `id` (string, at most 64 bytes) and
 * optional `data` (object). Decoding checks exactly that and nothing more;
 * unknown fields are ignored.
 */
#ifndef HX_SIGNAL_ENVELOPE_H
#define HX_SIGNAL_ENVELOPE_H

#include <jansson.h>
#include <stddef.h>

#define HX_ENVELOPE_MAX_TYPE 64
#define HX_ENVELOPE_MAX_ID 64
#define HX_ENVELOPE_MAX_DEPTH 32

typedef struct hx_envelope {
    json_t *root;       /* owned: release with hx_envelope_free */
    const char *type;   /* borrowed from root */
    const char *id;     /* NULL when absent */
    json_t *data;       /* borrowed; an empty object when absent */
} hx_envelope;

/**
 * Decode one message. 0 on success; -1 on malformed input with *why set to a
 * static description. On failure env->id is still set when the input was an
 * object with a valid id, so the error can echo it.
 */
int hx_envelope_decode(const char *buf, size_t len, hx_envelope *env, const char **why);
void hx_envelope_free(hx_envelope *env);

/** Build {"type":..,"id":..,"data":..} text (malloc'd); steals data. */
char *hx_envelope_encode(const char *type, const char *id, json_t *data, size_t *len);

#endif
