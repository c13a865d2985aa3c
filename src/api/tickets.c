/*
 * POST /v1/join-tickets: who is asking (a verified platform token, or in
 * the dev profile the X-User-Id / X-Device-Id headers), may they enter this
 * room (grants, revocations), and then a ticket bound to all of it. Every
 * refusal is a 4xx with its own code and an `auth.failure` audit record.
 */
#include "api/api.h"
#include "core/metric_names.h"

#include "auth/grants_json.h"
#include "cluster/cluster.h"
#include "common/clock.h"
#include "core/ice_servers.h"
#include "signal/protocol.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void auth_failure(hx_server *s, hx_http_resp *resp, int status, const char *code,
                         const char *room, const char *user, const char *sid, const char *message)
{
    hx_server_audit(s, "auth.failure", room, user, NULL, sid, code, NULL);
    hx_metrics_add(&s->metrics, HX_M_AUTH_FAILURES_TOTAL,
                   "code", code, 1);
    hx_api_error(resp, status, code, "%s", message);
}

/* The URL the client signals on: this node's, or in a cluster the node that hosts the room (or
 * will: cluster.h). *node gets that node's id ("" this one). */
static void signal_url(hx_server *s, const hx_http_req *req, const char *room, int version,
                       char *out, size_t len, char *node, size_t node_len)
{
    hx_node_view to;
    snprintf(node, node_len, "%s", s->node);
    if (s->cluster && hx_cluster_route(s->cluster, room, &to) &&
        !hx_node_signal_url(to.url, version, out, len)) {
        snprintf(node, node_len, "%s", to.id);
        return;
    }
    if (s->cfg.public_url[0]) {
        size_t n = strlen(s->cfg.public_url);
        const char *slash = n && s->cfg.public_url[n - 1] == '/' ? "" : "/";
        snprintf(out, len, "%s%sv1/signal?v=%d", s->cfg.public_url, slash, version);
    } else if (req->host[0]) {
        snprintf(out, len, "%s://%s/v1/signal?v=%d", s->tls ? "wss" : "ws", req->host, version);
    } else {
        snprintf(out, len,
                 strchr(s->cfg.listen_host, ':') ? "%s://[%s]:%d/v1/signal?v=%d"
                                                 : "%s://%s:%d/v1/signal?v=%d",
                 s->tls ? "wss" : "ws", s->cfg.listen_host, s->port, version);
    }
}

void hx_api_issue_ticket(hx_server *s, const hx_http_req *req, hx_http_resp *resp,
                         const hx_ticket_req *tr)
{
    hx_ticket t;
    char text[HX_TICKET_MAX_TEXT + 1], url[HX_CFG_STR + 64];
    /* Moderation holds at the door: a ban, a kick's cooldown, a deny-join timeout. */
    const hx_sanction *x =
        hx_sanctions_join_block(&s->sanctions, tr->room, tr->user, tr->device, hx_now_ms());
    if (x) {
        char msg[160];
        if (x->expires_ms)
            snprintf(msg, sizeof msg, "%s from this room until %lld (unix ms)", hx_sanction_code(x),
                     (long long)x->expires_ms);
        else
            snprintf(msg, sizeof msg, "banned from this room");
        auth_failure(s, resp, 403, hx_sanction_code(x), tr->room, tr->user, tr->sid, msg);
        return;
    }
    if (hx_server_mint_ticket(s, tr, &t, text, sizeof text)) {
        hx_api_error(resp, 500, "internal_error", "cannot mint a ticket");
        return;
    }
    char node[HX_NODE_ID_MAX];
    signal_url(s, req, t.room, tr->protocol_version, url, sizeof url, node, sizeof node);
    char host[256]; /* the Host header without its port ("[v6]:port" too) */
    const char *h = req->host[0] == '[' ? req->host + 1 : req->host;
    snprintf(host, sizeof host, "%.*s", (int)strcspn(h, req->host[0] == '[' ? "]" : ":"), h);
    int64_t ice_expires;
    json_t *ice = hx_ice_servers(s, t.user, host, hx_now_ms() / 1000, &ice_expires);
    json_t *jd = json_pack("{s:s}", "addr", req->peer); /* who asked, from where */
    char *detail = jd ? json_dumps(jd, JSON_COMPACT) : NULL;
    json_decref(jd);
    /* Relaxed: the ticket is the answer, not this record; the join that uses it syncs it. */
    hx_server_audit_relaxed(s, "ticket.issue", t.room, t.user, t.device, t.sid, NULL, detail);
    free(detail);
    hx_metrics_inc(&s->metrics, HX_M_TICKETS_ISSUED_TOTAL);
    json_t *body =
                json_pack("{s:s, s:I, s:s, s:s, s:s, s:i, s:{s:i, s:i}, s:s, s:o, s:o}", "ticket",
                          text, "expires_at", (json_int_t)(t.expires_ms / 1000), "room", t.room,
                          "user", t.user, "device", t.device, "protocol_version",
                          tr->protocol_version, "protocol_versions", "min", HX_PROTO_MIN, "max",
                          HX_PROTO_MAX, "signal_url", url, "ice_servers", ice, "grants",
                          hx_grant_flags_json(t.grants));
    if (body && s->cluster) json_object_set_new(body, "node", json_string(node)); /* the host */
    hx_api_json(resp, 201, body);
}

/* Body: {"room": ..., "protocol_version"?: n, "device_id"?: ...}. 0, or answered. */
static int parse_body(const hx_http_req *req, hx_http_resp *resp, json_t **body, const char **room,
                      int *version, const char **device)
{
    if (!(*body = hx_api_body(req, resp))) return -1;
    json_t *r = json_object_get(*body, "room"), *v = json_object_get(*body, "protocol_version"),
           *d = json_object_get(*body, "device_id");
    if (!json_is_string(r) || !hx_id_valid(json_string_value(r))) {
        hx_api_error(resp, 400, "bad_request",
                     "'room' must be 1-128 printable characters without spaces, quotes or slashes");
        return -1;
    }
    *room = json_string_value(r);
    *version = HX_PROTO_MAX;
    if (v) {
        if (!json_is_integer(v) || !hx_protocol_served((int)json_integer_value(v))) {
            hx_api_error(resp, 400, "unsupported_version", "protocol_version must be %d..%d",
                         HX_PROTO_MIN, HX_PROTO_MAX);
            return -1;
        }
        *version = (int)json_integer_value(v);
    }
    *device = NULL;
    if (d) {
        if (!json_is_string(d) || !hx_id_valid(json_string_value(d))) {
            hx_api_error(resp, 400, "bad_request", "'device_id' is not a valid identifier");
            return -1;
        }
        *device = json_string_value(d);
    }
    return 0;
}

/* Development identities: whoever the headers say. The body may also ask for grants (e.g.
 * moderate) and a platform session id, as a token would carry them: dev auth trusts everyone. */
static void dev_ticket(hx_server *s, const hx_http_req *req, hx_http_resp *resp, const char *room,
                       int version, const char *device, json_t *body)
{
    json_t *g = json_object_get(body, "grants"), *sid = json_object_get(body, "sid");
    uint32_t grants = HX_GRANT_DEFAULT_FLAGS;
    if (!hx_id_valid(req->user_id) || (req->has_device_id && !hx_id_valid(req->device_id)) ||
        (sid && (!json_is_string(sid) || !hx_id_valid(json_string_value(sid)))) ||
        (g && (!json_is_object(g) || hx_grant_flags_from_json(g, grants, &grants)))) {
        hx_api_error(resp, 400, "bad_request",
                     "X-User-Id / X-Device-Id / sid must be valid identifiers, grants an object of "
                     "booleans");
        return;
    }
    hx_ticket_req tr = {.room = room,
                        .user = req->user_id,
                        .device = req->has_device_id ? req->device_id
                                  : device           ? device
                                                     : "default",
                        .sid = sid ? json_string_value(sid) : "",
                        .jti = "",
                        .grants = grants,
                        .protocol_version = version};
    int rv = hx_revocations_check(&s->revocations, NULL, tr.sid, tr.user, 0);
    if (rv) {
        auth_failure(s, resp, 401, hx_revoked_code(rv), room, tr.user, tr.sid,
                     "this user is revoked");
        return;
    }
    hx_api_issue_ticket(s, req, resp, &tr);
}

static void token_ticket(hx_server *s, const hx_http_req *req, hx_http_resp *resp, const char *room,
                         int version, const char *device)
{
    const char *tok = req->authorization + 7;
    if (!s->jwks) {
        auth_failure(s, resp, 401, "token_unknown_key", room, NULL, NULL,
                     "no token keys are configured");
        return;
    }
    const char *issuers[HX_CFG_MAX_LIST];
    for (size_t i = 0; i < s->cfg.n_issuers; i++)
        issuers[i] = s->cfg.issuers[i];
    hx_jwt_policy pol = {issuers,         s->cfg.n_issuers,      s->cfg.audience,
                         s->cfg.leeway_s, s->cfg.max_lifetime_s, hx_now_ms() / 1000};
    hx_token_claims c;
    memset(&c, 0, sizeof c);
    const char *detail = NULL;
    int rc = hx_jwt_verify(s->jwks, &pol, tok, strlen(tok), &c, &detail);
    if (rc != HX_JWT_OK) {
        char msg[200];
        snprintf(msg, sizeof msg, "token refused: %s", detail ? detail : hx_jwt_err_code(rc));
        auth_failure(s, resp, 401, hx_jwt_err_code(rc), room, NULL, NULL, msg);
        return;
    }
    int rv = hx_revocations_check(&s->revocations, c.jti, c.sid, c.sub, c.iat);
    if (rv) {
        auth_failure(s, resp, 401, hx_revoked_code(rv), room, c.sub, c.sid,
                     "this token has been revoked");
        return;
    }
    if (!hx_grants_allow_room(&c.grants, room)) {
        auth_failure(s, resp, 403, "room_not_granted", room, c.sub, c.sid,
                     "the token does not grant this room");
        return;
    }
    hx_ticket_req tr = {.room = room,
                        .user = c.sub,
                        .device = c.device_id[0] ? c.device_id
                                  : device       ? device
                                                 : "default",
                        .sid = c.sid,
                        .jti = c.jti,
                        .token_iat = c.iat,
                        .grants = c.grants.flags,
                        .protocol_version = version};
    hx_api_issue_ticket(s, req, resp, &tr);
}

void hx_api_join_ticket(hx_server *s, const hx_http_req *req, hx_http_resp *resp)
{
    json_t *body = NULL;
    const char *room, *device;
    int version;
    if (parse_body(req, resp, &body, &room, &version, &device)) goto done;

    bool bearer = req->has_authorization && strncasecmp(req->authorization, "Bearer ", 7) == 0;
    if (req->authorization_too_long)
        auth_failure(s, resp, 401, "token_too_large", room, NULL, NULL,
                     "the Authorization header is too long");
    else if (bearer)
        token_ticket(s, req, resp, room, version, device);
    else if (req->has_user_id && s->cfg.auth_dev)
        dev_ticket(s, req, resp, room, version, device, body);
    else if (req->has_user_id)
        auth_failure(
            s, resp, 401, "dev_auth_disabled", room, NULL, NULL,
            "X-User-Id is accepted only in the dev profile; send Authorization: Bearer <token>");
    else
        auth_failure(s, resp, 401, "auth_required", room, NULL, NULL,
                     s->cfg.auth_dev ? "send X-User-Id (dev) or Authorization: Bearer <token>"
                                     : "send Authorization: Bearer <token>");
done:
    json_decref(body);
}
