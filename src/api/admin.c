/*
 * The operator's API under /v1/admin/ (docs/admin-api.md), behind the admin
 * bearer key (compared in constant time). Reads walk the live registry;
 * writes (revocations) reach the store before they are acknowledged.
 */
#include "api/api.h"

#include "auth/grants_json.h"
#include "common/clock.h"
#include "signal/protocol.h"
#include "signal/registry.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool authorized(const hx_server *s, const hx_http_req *req)
{
    if (!req->has_authorization || strncasecmp(req->authorization, "Bearer ", 7) != 0) return false;
    const char *k = req->authorization + 7;
    size_t n = strlen(s->admin_key);
    return n && strlen(k) == n && CRYPTO_memcmp(k, s->admin_key, n) == 0;
}

static void list_rooms(hx_server *s, hx_http_resp *resp)
{
    json_t *rooms = json_array();
    for (size_t i = 0; i < s->rooms.by_name.nbuckets; i++)
        for (hx_strmap_entry *e = s->rooms.by_name.buckets[i]; e; e = e->next) {
            const hx_room *r = e->value;
            json_array_append_new(rooms, json_pack("{s:s, s:I, s:i, s:I}", "name", r->name, "participants",
                                                   (json_int_t)r->count, "max_participants",
                                                   r->max_participants, "created_at_ms", (json_int_t)r->created_ms));
        }
    hx_api_json(resp, 200, json_pack("{s:o}", "rooms", rooms));
}

static void list_participants(hx_server *s, hx_http_resp *resp, const char *room)
{
    const hx_room *r = hx_rooms_find(&s->rooms, room);
    if (!r) {
        hx_api_error(resp, 404, "room_not_found", "no open room named '%.128s'", room);
        return;
    }
    json_t *list = json_array();
    for (const hx_participant *p = r->head; p; p = p->next)
        json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:s, s:I, s:i, s:o}", "id", p->id, "user", p->user,
                                              "device", p->device, "sid", p->sid, "joined_at_ms",
                                              (json_int_t)p->joined_ms, "protocol_version", p->protocol_version,
                                              "grants", hx_grant_flags_json(p->grants)));
    hx_api_json(resp, 200, json_pack("{s:s, s:o}", "room", r->name, "participants", list));
}

static const char *opt_id(json_t *body, const char *key, bool *bad)
{
    json_t *v = json_object_get(body, key);
    if (!v) return NULL;
    if (!json_is_string(v) || !hx_id_valid(json_string_value(v))) {
        *bad = true;
        return NULL;
    }
    return json_string_value(v);
}

static void admin_ticket(hx_server *s, const hx_http_req *req, hx_http_resp *resp)
{
    json_t *body = hx_api_body(req, resp);
    if (!body) return;
    bool bad = false;
    const char *room = opt_id(body, "room", &bad), *user = opt_id(body, "user", &bad),
               *device = opt_id(body, "device", &bad), *sid = opt_id(body, "sid", &bad);
    json_t *g = json_object_get(body, "grants"), *v = json_object_get(body, "protocol_version");
    uint32_t flags = HX_GRANT_DEFAULT_FLAGS;
    int version = HX_PROTO_MAX;
    if (v) {
        if (!json_is_integer(v) || !hx_protocol_served((int)json_integer_value(v))) {
            hx_api_error(resp, 400, "unsupported_version", "protocol_version must be %d..%d", HX_PROTO_MIN,
                         HX_PROTO_MAX);
            json_decref(body);
            return;
        }
        version = (int)json_integer_value(v);
    }
    if (bad || !room || !user || (g && (!json_is_object(g) || hx_grant_flags_from_json(g, flags, &flags)))) {
        hx_api_error(resp, 400, "bad_request",
                     "need room and user (identifiers); optional device, sid, grants object, protocol_version");
    } else {
        hx_ticket_req tr = {.room = room, .user = user, .device = device ? device : "default",
                            .sid = sid ? sid : "", .jti = "", .grants = flags, .protocol_version = version};
        hx_api_issue_ticket(s, req, resp, &tr);
    }
    json_decref(body);
}

int hx_api_revoke_target(json_t *body, hx_revoke_kind *kind, const char **value)
{
    static const char *const kinds[] = {"jti", "sid", "user"};
    int found = 0;
    bool bad = false;
    for (int i = 0; i < 3; i++) {
        const char *v = opt_id(body, kinds[i], &bad);
        if (v) {
            found++;
            *kind = (hx_revoke_kind)(i + 1);
            *value = v;
        }
    }
    return bad || found != 1 ? -1 : 0;
}

static void revoke(hx_server *s, const hx_http_req *req, hx_http_resp *resp)
{
    json_t *body = hx_api_body(req, resp);
    if (!body) return;
    static const char *const kinds[] = {"jti", "sid", "user"};
    hx_revoke_kind kind = 0;
    const char *value = NULL;
    bool bad = hx_api_revoke_target(body, &kind, &value) != 0;
    json_t *nb = json_object_get(body, "not_before"), *reason = json_object_get(body, "reason");
    int64_t not_before = hx_now_ms() / 1000 + 1; /* tokens issued up to now are revoked */
    if (nb) {
        if (!json_is_integer(nb) || kind != HX_REVOKE_USER) bad = true;
        else not_before = json_integer_value(nb);
    }
    if (reason && (!json_is_string(reason) || json_string_length(reason) > 256)) bad = true;
    if (bad) {
        hx_api_error(resp, 400, "bad_request",
                     "give exactly one of jti, sid or user (identifiers); not_before (unix s) only with user; "
                     "reason a string of at most 256 bytes");
        json_decref(body);
        return;
    }
    int disconnected = 0;
    const char *why = reason ? json_string_value(reason) : NULL;
    if (hx_signal_revoke(s, kind, value, kind == HX_REVOKE_USER ? not_before : 0, why, &disconnected)) {
        hx_api_error(resp, 500, "internal_error", "the store refused the revocation: %s", hx_store_errmsg(s->store));
    } else {
        hx_api_json(resp, 201,
                    json_pack("{s:{s:s, s:s, s:I, s:I, s:s?}, s:i}", "revocation", "kind", kinds[kind - 1],
                              "value", value, "not_before", (json_int_t)(kind == HX_REVOKE_USER ? not_before : 0),
                              "created_at_ms", (json_int_t)hx_now_ms(), "reason", why, "disconnected",
                              disconnected));
    }
    json_decref(body);
}

static int add_revocation(void *arg, const hx_revocation *rv)
{
    json_array_append_new(arg, json_pack("{s:s, s:s, s:I, s:I, s:I, s:s?}", "kind", hx_revoke_kind_name(rv->kind),
                                         "value", rv->value, "not_before", (json_int_t)rv->not_before,
                                         "created_at_ms", (json_int_t)rv->created_ms, "expires_at_ms",
                                         (json_int_t)rv->expires_ms, "reason", rv->reason));
    return 0;
}

static void list_revocations(hx_server *s, hx_http_resp *resp)
{
    json_t *list = json_array();
    if (s->store->ops->list_revocations(s->store, hx_now_ms(), add_revocation, list)) {
        json_decref(list);
        hx_api_error(resp, 500, "internal_error", "store: %s", hx_store_errmsg(s->store));
        return;
    }
    hx_api_json(resp, 200, json_pack("{s:o}", "revocations", list));
}

static int add_event(void *arg, const hx_event *ev)
{
    json_array_append_new(arg, hx_api_event_json(ev));
    return 0;
}

static void list_events(hx_server *s, const hx_http_req *req, hx_http_resp *resp)
{
    char kind[64], room[HX_MAX_ID_LEN + 1], user[HX_MAX_ID_LEN + 1], num[24];
    hx_event_filter f = {0};
    if (hx_api_query(req, "kind", kind, sizeof kind)) f.kind = kind;
    if (hx_api_query(req, "room", room, sizeof room)) f.room = room;
    if (hx_api_query(req, "user", user, sizeof user)) f.user = user;
    if (hx_api_query(req, "after", num, sizeof num)) f.after_id = strtoll(num, NULL, 10);
    if (hx_api_query(req, "since_ms", num, sizeof num)) f.since_ms = strtoll(num, NULL, 10);
    if (!hx_api_event_window(req, resp, &f)) return;
    if (hx_api_query(req, "limit", num, sizeof num)) {
        long l = strtol(num, NULL, 10);
        f.limit = l <= 0 ? 100 : l > 1000 ? 1000 : (size_t)l;
    }
    if (hx_api_events_jsonl(s, req, resp, &f)) return;
    json_t *list = json_array();
    if (s->store->ops->query_events(s->store, &f, add_event, list)) {
        json_decref(list);
        hx_api_error(resp, 500, "internal_error", "store: %s", hx_store_errmsg(s->store));
        return;
    }
    hx_api_json(resp, 200, json_pack("{s:o}", "events", list));
}

static void reload_keys(hx_server *s, hx_http_resp *resp)
{
    char err[256];
    if (hx_server_reload_keys(s, err, sizeof err))
        hx_api_error(resp, 500, "internal_error", "keys not reloaded: %s", err);
    else
        hx_api_json(resp, 200, json_pack("{s:I}", "keys", (json_int_t)(s->jwks ? hx_jwks_count(s->jwks) : 0)));
}

static void add_node(void *arg, const char *node, const char *beacon)
{
    json_t *b = json_loads(beacon, 0, NULL);
    if (!json_is_object(b)) {
        json_decref(b);
        b = json_pack("{s:s}", "node", node);
    }
    json_array_append_new(arg, b);
}

/* The nodes on the Redis bus alive within the last seconds (docs/scaling.md), as the registry
 * was last read; one node: none. */
static void list_nodes(hx_server *s, hx_http_resp *resp)
{
    json_t *list = json_array();
    bool cluster = s->bus && !strcmp(s->bus->ops->name, "redis");
    if (cluster) hx_bus_redis_each_node(s->bus, add_node, list);
    hx_api_json(resp, 200,
                json_pack("{s:b, s:s, s:o}", "cluster", cluster, "node", s->node, "nodes", list));
}

/* Drain (docs/protocol.md §2.4): what SIGTERM does, started by housekeeping once this is answered. */
static void drain(hx_server *s, hx_http_resp *resp)
{
    size_t n = hx_sessions_count(s);
    s->drain_requested = true;
    hx_log(&s->log, HX_LOG_INFO, "server.drain_requested", NULL);
    hx_api_json(resp, 202, json_pack("{s:b, s:I, s:I, s:I}", "draining", 1, "sessions", (json_int_t)n,
                                     "retry_after_ms", (json_int_t)s->cfg.drain_retry_after_ms,
                                     "timeout_ms", (json_int_t)s->cfg.drain_timeout_ms));
}

void hx_api_admin(hx_server *s, const hx_http_req *req, hx_http_resp *resp, const char *sub)
{
    if (!authorized(s, req)) {
        hx_api_error(resp, 401, "admin_auth_required", "send Authorization: Bearer <admin key>");
        return;
    }
    char allowed[32];
    int route = hx_api_admin_route(sub, req->method, allowed, sizeof allowed);
    if (route < 0) { /* the table in api/admin_routes.c is what is served */
        if (route == -2)
            hx_api_error(resp, 405, "method_not_allowed", "use %s", allowed);
        else
            hx_api_error(resp, 404, "not_found", "no such endpoint");
        return;
    }
    if (hx_api_moderation(s, req, resp, sub) || hx_api_room_close(s, req, resp, sub)) return;
    bool get = req->method == HX_HTTP_GET, post = req->method == HX_HTTP_POST;
    const char *want = NULL;
    if (!strcmp(sub, "rooms")) {
        if (get) list_rooms(s, resp); else want = "GET";
    } else if (!strncmp(sub, "rooms/", 6)) {
        char room[3 * HX_MAX_ID_LEN + 32];
        const char *rest = sub + 6, *slash = strchr(rest, '/');
        size_t n = slash ? (size_t)(slash - rest) : 0;
        if (!slash || strcmp(slash, "/participants") != 0 || n == 0 || n >= sizeof room) {
            hx_api_error(resp, 404, "not_found", "no such endpoint");
            return;
        }
        memcpy(room, rest, n);
        room[n] = '\0';
        /* lws has percent-decoded the path already. */
        if (!hx_id_valid(room))
            hx_api_error(resp, 404, "room_not_found", "not a room name");
        else if (get) list_participants(s, resp, room);
        else want = "GET";
    } else if (!strcmp(sub, "join-tickets")) {
        if (post) admin_ticket(s, req, resp); else want = "POST";
    } else if (!strcmp(sub, "revocations")) {
        if (post) revoke(s, req, resp);
        else if (get) list_revocations(s, resp);
        else want = "GET or POST";
    } else if (!strcmp(sub, "events")) {
        if (get) list_events(s, req, resp); else want = "GET";
    } else if (!strcmp(sub, "audit/verify")) {
        if (get) hx_api_audit_verify(s, req, resp); else want = "GET";
    } else if (!strcmp(sub, "nodes")) {
        if (get) list_nodes(s, resp); else want = "GET";
    } else if (!strcmp(sub, "drain")) {
        if (post) drain(s, resp); else want = "POST";
    } else if (!strcmp(sub, "keys/reload")) {
        if (post) reload_keys(s, resp); else want = "POST";
    } else {
        hx_api_error(resp, 404, "not_found", "no such endpoint");
        return;
    }
    if (want) hx_api_error(resp, 405, "method_not_allowed", "use %s", want);
}
