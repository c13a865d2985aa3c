/*
 * The admin API's moderation calls (docs/api.md, docs/moderation.md). The
 * operator acts as "operator": no vote, any room, server-wide bans.
 *
 *   POST /v1/admin/moderation            {action, room, participant|user|device|track,
 *                                         reason, duration_s}         -> 201 {id, status}
 *   GET  /v1/admin/moderation/sanctions  [?room=R]                    -> {sanctions: [...]}
 *   GET  /v1/admin/moderation/votes      [?room=R]                    -> {votes: [...]}
 *   POST /v1/admin/unrevoke              {jti|sid|user, reason}       -> 200 {unrevoked}
 *   GET|POST|DELETE /v1/admin/rooms/R/policy  [fields to override]    -> 200 {room, custom, policy}
 *
 * Refusals keep the service's codes; the HTTP status says their class.
 */
#include "api/api.h"

#include "cluster/cluster.h"
#include "core/moderate.h"

#include <string.h>

static int status_for(const char *code)
{
    static const struct {
        const char *code;
        int status;
    } map[] = {
        {"bad_request", 400},      {"unknown_action", 400},    {"not_found", 404},
        {"target_not_found", 404}, {"unknown_track", 404},     {"no_such_vote", 404},
        {"already_muted", 409},    {"not_muted", 409},         {"already_timed_out", 409},
        {"not_timed_out", 409},    {"already_banned", 409},    {"not_banned", 409},
        {"too_many_votes", 429},   {"store_failed", 503},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (!strcmp(map[i].code, code)) return map[i].status;
    return 500;
}

/* A cluster (docs/scaling.md): an action on a room another node hosts is that node's to take,
 * with the room's members, moderators and votes at hand: 307 there, the same request (hearthctl
 * follows it). true when answered. */
bool hx_api_room_elsewhere(hx_server *s, const hx_http_req *req, hx_http_resp *resp,
                           const char *room)
{
    hx_node_view to;
    if (!s->cluster || !room[0] || hx_rooms_find(&s->rooms, room) ||
        !hx_cluster_elsewhere(s->cluster, room, &to))
        return false;
    int n = snprintf(resp->location, sizeof resp->location, "%s%s", to.url, req->path);
    if (n < 0 || (size_t)n >= sizeof resp->location) {
        resp->location[0] = '\0';
        return false;
    }
    hx_api_json(resp, 307,
                json_pack("{s:{s:s, s:s, s:s, s:s}}", "error", "code", "room_elsewhere", "message",
                          "another node hosts this room: the request goes there", "node", to.id,
                          "url", to.url));
    return true;
}

static void act(hx_server *s, const hx_http_req *req, hx_http_resp *resp)
{
    json_t *body = hx_api_body(req, resp);
    if (!body) return;
    hx_mod_action a;
    const char *code;
    char why[256];
    if (hx_mod_action_parse(body, &a, &code, why, sizeof why)) {
        hx_api_error(resp, 400, code, "%s", why);
    } else if (a.propose) {
        hx_api_error(resp, 400, "bad_request", "operators act directly: propose is for moderators in a room");
    } else if (!a.room[0] && a.kind != HX_MOD_BAN && a.kind != HX_MOD_UNBAN) {
        hx_api_error(resp, 400, "bad_request", "%s needs data.room", hx_mod_kind_name(a.kind));
    } else if (hx_api_room_elsewhere(s, req, resp, a.room)) {
        /* answered: 307 to the node that hosts the room */
    } else {
        snprintf(a.actor, sizeof a.actor, "%s", HX_MOD_OPERATOR);
        hx_mod_result r;
        if (hx_moderate(s, &a, &r))
            hx_api_error(resp, status_for(r.code), r.code, "%s", r.message);
        else
            hx_api_json(resp, 201, r.data);
    }
    json_decref(body);
}

static void unrevoke(hx_server *s, const hx_http_req *req, hx_http_resp *resp)
{
    json_t *body = hx_api_body(req, resp);
    if (!body) return;
    static const char *const kinds[] = {"jti", "sid", "user"};
    hx_revoke_kind kind = 0;
    const char *value = NULL;
    json_t *reason = json_object_get(body, "reason");
    if (hx_api_revoke_target(body, &kind, &value) ||
        (reason && (!json_is_string(reason) || json_string_length(reason) > 256))) {
        hx_api_error(resp, 400, "bad_request", "give exactly one of jti, sid or user (identifiers); reason a string");
    } else {
        int rc = hx_server_unrevoke(s, kind, value, HX_MOD_OPERATOR, json_string_value(reason));
        if (rc == HX_STORE_NOTFOUND)
            hx_api_error(resp, 404, "not_revoked", "no %s revocation for '%.128s'", kinds[kind - 1], value);
        else if (rc)
            hx_api_error(resp, 503, "store_failed", "the store refused: %s", hx_store_errmsg(s->store));
        else
            hx_api_json(resp, 200, json_pack("{s:{s:s, s:s}}", "unrevoked", "kind", kinds[kind - 1], "value", value));
    }
    json_decref(body);
}

/* rooms/<room>/policy: the room's moderation policy (GET), set (POST: the fields to override),
 * back to the server's (DELETE). */
static bool room_policy(hx_server *s, const hx_http_req *req, hx_http_resp *resp, const char *sub)
{
    const char *rest = !strncmp(sub, "rooms/", 6) ? sub + 6 : NULL, *slash = rest ? strchr(rest, '/') : NULL;
    char room[HX_MAX_ID_LEN + 1];
    size_t n = slash ? (size_t)(slash - rest) : 0;
    if (!slash || strcmp(slash, "/policy") || n == 0 || n >= sizeof room) return false;
    memcpy(room, rest, n);
    room[n] = '\0';
    if (!hx_id_valid(room)) {
        hx_api_error(resp, 404, "room_not_found", "not a room name");
        return true;
    }
    hx_mod_result r = {0};
    json_t *body = NULL;
    int rc = 0;
    if (req->method == HX_HTTP_GET) {
        r.data = json_pack("{s:s, s:b, s:o}", "room", room, "custom", hx_moderation_policy(s, room) != &s->mod_policy,
                           "policy", hx_mod_policy_json(hx_moderation_policy(s, room)));
    } else if (req->method == HX_HTTP_POST) {
        if (!(body = hx_api_body(req, resp))) return true;
        rc = hx_moderation_set_policy(s, room, body, &r);
    } else if (req->method == HX_HTTP_DELETE) {
        rc = hx_moderation_set_policy(s, room, NULL, &r);
    } else {
        hx_api_error(resp, 405, "method_not_allowed", "use GET, POST or DELETE");
        return true;
    }
    if (rc)
        hx_api_error(resp, status_for(r.code), r.code, "%s", r.message);
    else
        hx_api_json(resp, 200, r.data);
    json_decref(body);
    return true;
}

bool hx_api_moderation(hx_server *s, const hx_http_req *req, hx_http_resp *resp, const char *sub)
{
    if (room_policy(s, req, resp, sub)) return true;
    bool get = req->method == HX_HTTP_GET, post = req->method == HX_HTTP_POST;
    char room[HX_MAX_ID_LEN + 1];
    const char *r = hx_api_query(req, "room", room, sizeof room) ? room : NULL;
    if (!strcmp(sub, "moderation")) {
        if (post) act(s, req, resp);
        else hx_api_error(resp, 405, "method_not_allowed", "use POST");
    } else if (!strcmp(sub, "moderation/sanctions")) {
        if (get) hx_api_json(resp, 200, json_pack("{s:o}", "sanctions", hx_moderation_sanctions_json(s, r)));
        else hx_api_error(resp, 405, "method_not_allowed", "use GET");
    } else if (!strcmp(sub, "moderation/votes")) {
        if (get) hx_api_json(resp, 200, json_pack("{s:o}", "votes", hx_moderation_votes_json(s, r)));
        else hx_api_error(resp, 405, "method_not_allowed", "use GET");
    } else if (!strcmp(sub, "unrevoke")) {
        if (post) unrevoke(s, req, resp);
        else hx_api_error(resp, 405, "method_not_allowed", "use POST");
    } else {
        return false;
    }
    return true;
}
