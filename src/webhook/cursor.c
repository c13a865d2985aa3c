/*
 * The delivery cursor as the store's state table holds it ("webhook",
 * "cursor"): the last event id passed (delivered, dead-lettered or not
 * wanted), and before any was, the time the webhook was first started, so a
 * new webhook posts what happens from then on rather than the whole trail.
 * A store is input like any other (edited by hand, another version): the
 * parser refuses what is not exactly this (fuzz/fuzz_webhook.c).
 */
#include "webhook/webhook_internal.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>

int hx__wh_cursor_write(int64_t after_id, int64_t since_ms, char *out, size_t cap)
{
    int n = after_id > 0 || since_ms <= 0
                ? snprintf(out, cap, "{\"after_id\":%" PRId64 "}", after_id > 0 ? after_id : 0)
                : snprintf(out, cap, "{\"after_id\":0,\"since_ms\":%" PRId64 "}", since_ms);
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

int hx__wh_cursor_parse(const char *text, size_t len, int64_t *after_id, int64_t *since_ms)
{
    json_t *o = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
    json_t *a = json_object_get(o, "after_id"), *s = json_object_get(o, "since_ms");
    int rc = -1;
    if (!json_is_object(o) || !json_is_integer(a) || json_integer_value(a) < 0 ||
        (s && (!json_is_integer(s) || json_integer_value(s) < 0)) ||
        json_object_size(o) != 1u + (s != NULL))
        goto done;
    *after_id = json_integer_value(a);
    *since_ms = s ? json_integer_value(s) : 0;
    rc = 0;
done:
    json_decref(o);
    return rc;
}
