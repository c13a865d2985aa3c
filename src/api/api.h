/*
 * The HTTP API as plain functions: a parsed request in, a response out.
 * The libwebsockets layer (src/http/) fills hx_http_req and writes
 * hx_http_resp; everything between (routing, per-address rate limits,
 * authentication, JSON) lives here, testable and fuzzable without sockets.
 */
#ifndef HX_API_API_H
#define HX_API_API_H

#include "auth/jwt.h"
#include "core/server.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

typedef enum hx_http_method {
    HX_HTTP_OTHER = 0,
    HX_HTTP_GET,
    HX_HTTP_POST,
    HX_HTTP_DELETE,
    HX_HTTP_OPTIONS,
} hx_http_method;

typedef struct hx_http_req {
    hx_http_method method;
    char path[512];            /* raw path, without the query */
    char query[512];           /* raw query, without '?' */
    char authorization[HX_JWT_MAX_LEN + 32];
    bool has_authorization;
    bool authorization_too_long; /* present but over the buffer: refused as token_too_large */
    char user_id[HX_MAX_ID_LEN + 2];   /* X-User-Id (dev) */
    bool has_user_id;
    char device_id[HX_MAX_ID_LEN + 2]; /* X-Device-Id (dev) */
    bool has_device_id;
    char host[256];
    char origin[256];          /* Origin (browsers), for CORS */
    bool has_origin;
    char peer[64];             /* client address, for rate limits */
    const char *body;
    size_t body_len;
} hx_http_req;

typedef struct hx_http_resp {
    int status;
    const char *content_type;  /* static string */
    char *body;                /* malloc'd */
    size_t len;
    int retry_after_s;         /* > 0: send Retry-After */
    const char *cors_origin;   /* Access-Control-Allow-Origin value (borrowed), NULL: none */
    bool cors_preflight;       /* an OPTIONS answer: add the Allow-Methods/-Headers */
    const char *cache;         /* Cache-Control value (static string); NULL: no-store */
    char location[448];        /* Location (a redirect); "": none */
} hx_http_resp;

/** Route and answer one request. Always fills resp. */
void hx_api_handle(hx_server *s, const hx_http_req *req, hx_http_resp *resp);
void hx_http_resp_free(hx_http_resp *resp);

/* Shared by the API's files. */
void hx_api_json(hx_http_resp *resp, int status, json_t *body);
void hx_api_error(hx_http_resp *resp, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/** Parse the body as a JSON object; on failure answers 400 bad_json and returns NULL. */
json_t *hx_api_body(const hx_http_req *req, hx_http_resp *resp);
/** Value of a query parameter (percent-decoded) into out; false when absent. */
bool hx_api_query(const hx_http_req *req, const char *name, char *out, size_t outlen);
/** Percent-decode in place; -1 on a bad escape or an embedded NUL. */
int hx_api_pct_decode(char *s);

/** The embedded browser SDK and demo page (GET /sdk/..., /demo/..., / as /demo/); false when
 *  not an asset path. */
bool hx_api_asset(const hx_http_req *req, hx_http_resp *resp);

void hx_api_join_ticket(hx_server *s, const hx_http_req *req, hx_http_resp *resp);
/** GET /v1/rooms/public (api/rooms_public.c): this node's rooms and their counts, or 404 when
 *  rooms.public_list is off. */
void hx_api_public_rooms(hx_server *s, const hx_http_req *req, hx_http_resp *resp);
void hx_api_admin(hx_server *s, const hx_http_req *req, hx_http_resp *resp, const char *sub);
/** One admin route: method and path below /v1/admin/ ("{room}": one segment). */
typedef struct hx_admin_route {
    const char *method, *path;
} hx_admin_route;
/** Every admin route (api/admin_routes.c): hx_api_admin serves these and nothing else. */
extern const hx_admin_route hx_admin_routes[];
extern const size_t hx_admin_n_routes;
/** 0: sub (below /v1/admin/) is a route for method; -1: no route; -2: a route for other
 *  methods, named in allowed ("GET or POST"). */
int hx_api_admin_route(const char *sub, hx_http_method method, char *allowed, size_t len);
/** Exactly one of jti, sid, user (identifiers) in a body: 0, or -1. */
int hx_api_revoke_target(json_t *body, hx_revoke_kind *kind, const char **value);
/** In a cluster, a room another node hosts: answer 307 there (the same request) and true. */
bool hx_api_room_elsewhere(hx_server *s, const hx_http_req *req, hx_http_resp *resp,
                           const char *room);
/** POST rooms/{room}/close (api/room_close.c); false when sub is not that path. */
bool hx_api_room_close(hx_server *s, const hx_http_req *req, hx_http_resp *resp, const char *sub);
/** The admin moderation endpoints (api/moderation.c); false when sub is not one of them. */
bool hx_api_moderation(hx_server *s, const hx_http_req *req, hx_http_resp *resp, const char *sub);
/* The audit trail (api/audit.c). */
/** An event as the admin API shows it, chain fields included (new reference; NULL: no memory). */
json_t *hx_api_event_json(const hx_event *ev);
/** since/until (unix ms) into f; false after answering 400 for a bad value. */
bool hx_api_event_window(const hx_http_req *req, hx_http_resp *resp, hx_event_filter *f);
/** With format=jsonl, answer the events matching f as JSON lines; false: not asked for. */
bool hx_api_events_jsonl(hx_server *s, const hx_http_req *req, hx_http_resp *resp,
                         const hx_event_filter *f);
/** GET /v1/admin/audit/verify[?room=R]. */
void hx_api_audit_verify(hx_server *s, const hx_http_req *req, hx_http_resp *resp);
/** Mint and answer a ticket for an authorized request (shared by user and admin paths). */
void hx_api_issue_ticket(hx_server *s, const hx_http_req *req, hx_http_resp *resp, const hx_ticket_req *tr);

#endif
