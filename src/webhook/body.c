/*
 * An audit record as the body of its webhook. The field names follow
 * GET /v1/admin/events (docs/admin-api.md), so a receiver that also reads the
 * trail sees one shape: "id" is the event's id in the store, unique and
 * increasing, the key to drop a duplicate by (delivery is at least once);
 * "event" its kind; "created_at" Unix seconds and "created_at_ms" the same in
 * milliseconds; "detail" the JSON object the record carries. A detail that is
 * not JSON goes as a string; a body over HX_WH_BODY_MAX goes without its
 * detail and says so ("detail_truncated": true).
 */
#include "webhook/webhook_internal.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static void set_str(json_t *o, const char *k, const char *v)
{
    if (v) json_object_set_new(o, k, json_string(v));
}

static char *dump(json_t *o, size_t *len)
{
    char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    *len = text ? strlen(text) : 0;
    return text;
}

char *hx__wh_body(const hx_event *ev, const char *node, size_t *len)
{
    json_t *o = json_object();
    if (!o) return NULL;
    json_object_set_new(o, "id", json_integer(ev->id));
    set_str(o, "event", ev->kind ? ev->kind : "");
    json_object_set_new(o, "created_at", json_integer(ev->ts_ms / 1000));
    json_object_set_new(o, "created_at_ms", json_integer(ev->ts_ms));
    set_str(o, "room", ev->room);
    set_str(o, "user", ev->user);
    set_str(o, "device", ev->device);
    set_str(o, "sid", ev->sid);
    set_str(o, "code", ev->code);
    if (node && *node) set_str(o, "node", node);
    if (ev->detail) {
        json_t *d = json_loads(ev->detail, JSON_DECODE_ANY, NULL);
        json_object_set_new(o, "detail", d ? d : json_string(ev->detail));
    }
    char *text = dump(o, len);
    if (text && *len > HX_WH_BODY_MAX) {
        free(text);
        json_object_del(o, "detail");
        json_object_set_new(o, "detail_truncated", json_true());
        text = dump(o, len);
    }
    json_decref(o);
    if (text && *len > HX_WH_BODY_MAX) { /* ids are bounded (HX_MAX_ID_LEN): never */
        free(text);
        return NULL;
    }
    return text;
}
