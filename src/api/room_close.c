/*
 * POST /v1/admin/rooms/{room}/close {"reason"?}: the operator closes a room.
 * Everyone in it, connected or away awaiting a resume, gets `disconnect`
 * with reason `room_closed` and close 4008 (the SDK does not resume after
 * it); their resume records go, so none comes back, and the room, empty,
 * ends as any empty room does. Anyone may join it again with a new ticket:
 * closing is not a ban (ban for that, docs/moderation.md).
 *
 * The `room.close` audit record is durable before anyone is disconnected
 * (a store that refuses it: 503, nothing done). In a cluster, a room another
 * node hosts is answered 307 there, like moderation.
 */
#include "api/api.h"

#include "signal/registry.h"
#include "signal/session.h"

#include <string.h>

#define REASON_MAX 256

/* The room of "rooms/<room>/close" into room; false when sub is another path. */
static bool room_of(const char *sub, char *room, size_t len)
{
    const char *rest = !strncmp(sub, "rooms/", 6) ? sub + 6 : NULL;
    const char *slash = rest ? strchr(rest, '/') : NULL;
    size_t n = slash ? (size_t)(slash - rest) : 0;
    if (!slash || strcmp(slash, "/close") || n == 0 || n >= len) return false;
    memcpy(room, rest, n);
    room[n] = '\0';
    return true;
}

/* The optional {"reason"} body into why (""). false after answering 400. */
static bool read_reason(const hx_http_req *req, hx_http_resp *resp, char *why, size_t len)
{
    why[0] = '\0';
    if (req->body_len == 0) return true;
    json_t *body = hx_api_body(req, resp);
    if (!body) return false;
    json_t *r = json_object_get(body, "reason");
    bool ok = !r || (json_is_string(r) && json_string_length(r) <= REASON_MAX);
    if (ok && r) snprintf(why, len, "%s", json_string_value(r));
    json_decref(body);
    if (!ok) hx_api_error(resp, 400, "bad_request", "reason: a string of at most 256 bytes");
    return ok;
}

bool hx_api_room_close(hx_server *s, const hx_http_req *req, hx_http_resp *resp, const char *sub)
{
    char room[HX_MAX_ID_LEN + 1], why[REASON_MAX + 1];
    if (!room_of(sub, room, sizeof room)) return false;
    if (!hx_id_valid(room)) {
        hx_api_error(resp, 404, "room_not_found", "not a room name");
        return true;
    }
    if (!read_reason(req, resp, why, sizeof why)) return true;
    if (!hx_rooms_find(&s->rooms, room)) {
        if (!hx_api_room_elsewhere(s, req, resp, room))
            hx_api_error(resp, 404, "room_not_found", "no open room named '%.128s'", room);
        return true;
    }
    hx_session_match in_room = {.room = room}; /* joined or away; not yet joined has no room */
    size_t n = hx_sessions_each(s, hx_session_matches, &in_room, NULL, NULL);
    char detail[64];
    snprintf(detail, sizeof detail, "{\"actor\":\"operator\",\"participants\":%zu}", n);
    if (hx_server_audit(s, "room.close", room, NULL, NULL, NULL, why[0] ? why : NULL, detail)) {
        hx_api_error(resp, 503, "store_failed", "the store refused: %s", hx_store_errmsg(s->store));
        return true;
    }
    hx_sessions_kick(s, hx_session_matches, &in_room, "room_closed", HX_CLOSE_MODERATED,
                     why[0] ? why : "the room was closed by the operator");
    hx_api_json(
        resp, 200,
        json_pack("{s:s, s:b, s:I}", "room", room, "closed", 1, "disconnected", (json_int_t)n));
    return true;
}
