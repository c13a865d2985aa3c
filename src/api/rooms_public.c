/*
 * GET /v1/rooms/public: the open rooms of this node and how many are in each,
 * for a page that lets people pick a room (the demo's room list). No
 * credentials: it is answered only with rooms.public_list on (the dev
 * profile's default), else 404 as if it did not exist, since room names may
 * say more than an operator wants told. Rate limited per address like the
 * other /v1/ routes (router.c). Rooms nobody is in (waiting for
 * rooms.empty_timeout_s) are left out; names sort in byte order; at most
 * MAX_LISTED are named, with "truncated": true past that.
 */
#include "api/api.h"

#include <stdlib.h>
#include <string.h>

#define MAX_LISTED 1000

static int by_name(const void *a, const void *b)
{
    return strcmp((*(const hx_room *const *)a)->name, (*(const hx_room *const *)b)->name);
}

void hx_api_public_rooms(hx_server *s, const hx_http_req *req, hx_http_resp *resp)
{
    if (!s->cfg.rooms_public_list) {
        hx_api_error(resp, 404, "not_found", "no such endpoint");
        return;
    }
    if (req->method != HX_HTTP_GET) {
        hx_api_error(resp, 405, "method_not_allowed", "use GET");
        return;
    }
    size_t n = 0, cap = s->rooms.by_name.count;
    const hx_room **list = calloc(cap ? cap : 1, sizeof *list);
    if (!list) {
        hx_api_error(resp, 500, "internal_error", "out of memory");
        return;
    }
    for (size_t i = 0; i < s->rooms.by_name.nbuckets; i++)
        for (hx_strmap_entry *e = s->rooms.by_name.buckets[i]; e && n < cap; e = e->next)
            if (((const hx_room *)e->value)->count > 0) list[n++] = e->value;
    qsort(list, n, sizeof *list, by_name);
    json_t *rooms = json_array();
    for (size_t i = 0; i < n && i < MAX_LISTED; i++)
        json_array_append_new(rooms, json_pack("{s:s, s:I}", "room", list[i]->name, "participants",
                                               (json_int_t)list[i]->count));
    free(list);
    json_t *body = json_pack("{s:o}", "rooms", rooms);
    if (n > MAX_LISTED) json_object_set_new(body, "truncated", json_true());
    hx_api_json(resp, 200, body);
}
