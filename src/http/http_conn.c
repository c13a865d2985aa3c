/*
 * Plain HTTP requests through libwebsockets. The request line and headers
 * arrive in LWS_CALLBACK_HTTP; a POST body follows in HTTP_BODY chunks up to
 * its Content-Length (which must be present: lws cannot read bodies without
 * it, so such requests get 411 here, and bodies over the cap 413 before a
 * byte is read). The API answers at body completion; the response body is
 * written in chunks on HTTP_WRITEABLE, then the transaction completes and
 * the connection may carry the next request.
 *
 * Before the API sees a request, the edge's checks (head.c, conn_limit.c):
 * a head over http.max_head_bytes is answered 431, a Content-Length that is
 * not a number 400, a client over http.max_conns_per_addr 429; each closes
 * the connection after the answer and counts in hearth_http_refused_total.
 * req->peer is the client address (client_addr.c: the socket peer, or the
 * client a trusted proxy names), which the rate limits key on. A WebSocket
 * upgrade gets the same checks (HTTP_CONFIRM_UPGRADE) and the same answers.
 */
#include "http/conn.h"
#include "http/http_internal.h"

#include <stdlib.h>
#include <string.h>

#define CHUNK 16384

/* Copy a header; returns false when it is present but longer than the buffer (dst is then ""). */
static bool copy_header(struct lws *wsi, enum lws_token_indexes h, char *dst, size_t len, bool *has)
{
    int n = lws_hdr_total_length(wsi, h);
    dst[0] = '\0';
    if (has) *has = n > 0;
    if (n <= 0) return true;
    if ((size_t)n >= len) return false;
    lws_hdr_copy(wsi, dst, (int)len, h);
    return true;
}

static void copy_custom(struct lws *wsi, const char *name, char *dst, size_t len, bool *has)
{
    int nlen = (int)strlen(name);
    int n = lws_hdr_custom_length(wsi, name, nlen);
    *has = n > 0;
    dst[0] = '\0';
    if (n > 0 && (size_t)n < len) lws_hdr_custom_copy(wsi, dst, (int)len, name, nlen);
}

/* Rebuild the query from lws' decoded fragments, escaping '%', '&' and '+' again. */
static void copy_query(struct lws *wsi, char *dst, size_t len)
{
    char frag[512];
    size_t n = 0;
    dst[0] = '\0';
    for (int i = 0; lws_hdr_copy_fragment(wsi, frag, sizeof frag, WSI_TOKEN_HTTP_URI_ARGS, i) > 0;
         i++) {
        if (n && n + 1 < len) dst[n++] = '&';
        for (const char *p = frag; *p && n + 4 < len; p++) {
            if (*p == '%' || *p == '&' || *p == '+') {
                n += (size_t)snprintf(dst + n, len - n, "%%%02X", (unsigned char)*p);
            } else {
                dst[n++] = *p;
            }
        }
        dst[n] = '\0';
    }
}

static int parse_request(hx_conn *c, struct lws *wsi)
{
    char *uri;
    int ulen;
    int m = lws_http_get_uri_and_method(wsi, &uri, &ulen);
    hx_http_req *r = c->req = calloc(1, sizeof *c->req);
    if (!r) return -1;
    r->method = m == LWSHUMETH_GET       ? HX_HTTP_GET
                : m == LWSHUMETH_POST    ? HX_HTTP_POST
                : m == LWSHUMETH_DELETE  ? HX_HTTP_DELETE
                : m == LWSHUMETH_OPTIONS ? HX_HTTP_OPTIONS
                                         : HX_HTTP_OTHER;
    if (ulen < 0 || (size_t)ulen >= sizeof r->path) ulen = 0;
    if (ulen) memcpy(r->path, uri, (size_t)ulen);
    r->path[ulen] = '\0';
    copy_query(wsi, r->query, sizeof r->query);
    r->authorization_too_long = !copy_header(wsi, WSI_TOKEN_HTTP_AUTHORIZATION, r->authorization,
                                             sizeof r->authorization, &r->has_authorization);
    copy_header(wsi, WSI_TOKEN_HOST, r->host, sizeof r->host, NULL);
    if (!copy_header(wsi, WSI_TOKEN_ORIGIN, r->origin, sizeof r->origin, &r->has_origin))
        r->has_origin = false;
    copy_custom(wsi, "x-user-id:", r->user_id, sizeof r->user_id, &r->has_user_id);
    copy_custom(wsi, "x-device-id:", r->device_id, sizeof r->device_id, &r->has_device_id);
    hx__request_addr(hx__http_of(wsi), wsi, r->peer, sizeof r->peer);
    return 0;
}

static int add_header(struct lws *wsi, const char *name, const char *value, unsigned char **p,
                      unsigned char *end)
{
    return lws_add_http_header_by_name(wsi, (const unsigned char *)name,
                                       (const unsigned char *)value, (int)strlen(value), p, end);
}

static int write_headers(hx_conn *c, struct lws *wsi)
{
    unsigned char buf[LWS_PRE + 1024], *start = buf + LWS_PRE, *p = start,
                                       *end = buf + sizeof buf - 1;
    const hx_http_resp *r = &c->resp;
    if (lws_add_http_common_headers(wsi, (unsigned)r->status, r->content_type, r->len, &p, end))
        return -1;
    const char *cache = r->cache ? r->cache : "no-store";
    if (add_header(wsi, "cache-control:", cache, &p, end)) return -1;
    if (r->cors_origin) {
        if (add_header(wsi, "access-control-allow-origin:", r->cors_origin, &p, end) ||
            add_header(wsi, "vary:", "Origin", &p, end))
            return -1;
        if (r->cors_preflight &&
            (add_header(wsi, "access-control-allow-methods:", "GET, POST, DELETE, OPTIONS", &p,
                        end) ||
             add_header(wsi, "access-control-allow-headers:",
                        "authorization, content-type, x-user-id, x-device-id", &p, end) ||
             add_header(wsi, "access-control-max-age:", "600", &p, end)))
            return -1;
    }
    if (r->location[0] && add_header(wsi, "location:", r->location, &p, end)) return -1;
    if (r->retry_after_s > 0) {
        char v[16];
        int n = snprintf(v, sizeof v, "%d", r->retry_after_s);
        if (lws_add_http_header_by_name(
                wsi, (const unsigned char *)"retry-after:", (unsigned char *)v, n, &p, end))
            return -1;
    }
    if (lws_finalize_write_http_header(wsi, start, &p, end)) return -1;
    c->responded = true;
    c->sent = 0;
    lws_callback_on_writable(wsi);
    return 0;
}

static int respond(hx_conn *c, struct lws *wsi)
{
    hx_http_req *r = c->req;
    r->body = c->body;
    r->body_len = c->body_len;
    hx_api_handle(c->srv, r, &c->resp);
    return write_headers(c, wsi);
}

static int respond_error(hx_conn *c, struct lws *wsi, int status, const char *code, const char *msg)
{
    hx_api_error(&c->resp, status, code, "%s", msg);
    return write_headers(c, wsi);
}

/* An edge refusal (head.c, conn_limit.c): status, code and message; NULL: the request passes. */
typedef struct refusal {
    int status;
    const char *code, *reason;
    char msg[96];
} refusal;

static const refusal *edge_check(struct lws *wsi, const char *addr, refusal *r)
{
    hx_http *h = hx__http_of(wsi);
    size_t max = h->srv->cfg.max_head_bytes;
    unsigned long long n;
    if (hx__head_size(wsi) > max) {
        *r = (refusal){431, "head_too_large", "head_too_large", ""};
        snprintf(r->msg, sizeof r->msg, "the request head is over %zu bytes", max);
    } else if (hx__content_length(wsi, &n) < 0) {
        *r = (refusal){400, "bad_request", "bad_content_length", "bad Content-Length"};
    } else if (hx__conn_limit_claim(h, wsi, addr)) {
        *r = (refusal){429, "too_many_connections", NULL, ""};
        snprintf(r->msg, sizeof r->msg, "over %lld open connections from this address",
                 (long long)h->srv->cfg.max_conns_per_addr);
    } else {
        return NULL;
    }
    if (r->reason) hx__http_refused(h, r->reason); /* conn_limit.c counts its own */
    return r;
}

/* Refuse an upgrade with an HTTP answer, written at once (HTTP_CONFIRM_UPGRADE returns 1). */
static int refuse_upgrade(struct lws *wsi, const refusal *rf)
{
    hx_http_resp resp;
    memset(&resp, 0, sizeof resp);
    hx_api_error(&resp, rf->status, rf->code, "%s", rf->msg);
    unsigned char buf[LWS_PRE + 512], *start = buf + LWS_PRE, *p = start,
                                      *end = buf + sizeof buf - 1;
    int rc = -1;
    if (resp.body &&
        !lws_add_http_common_headers(wsi, (unsigned)resp.status, resp.content_type, resp.len,
                                     &p, end) &&
        !add_header(wsi, "connection:", "close", &p, end) &&
        !lws_finalize_http_header(wsi, &p, end) &&
        lws_write(wsi, start, (size_t)(p - start), LWS_WRITE_HTTP_HEADERS) == (int)(p - start) &&
        resp.len + LWS_PRE <= sizeof buf) {
        memcpy(buf + LWS_PRE, resp.body, resp.len);
        if (lws_write(wsi, buf + LWS_PRE, resp.len, LWS_WRITE_HTTP_FINAL) == (int)resp.len) rc = 1;
    }
    hx_http_resp_free(&resp);
    return rc;
}

static int on_confirm_upgrade(struct lws *wsi)
{
    char addr[HX_ADDR_STRLEN];
    refusal r;
    hx__request_addr(hx__http_of(wsi), wsi, addr, sizeof addr);
    const refusal *rf = edge_check(wsi, addr, &r);
    return rf ? refuse_upgrade(wsi, rf) : 0;
}

static void reset(hx_conn *c)
{
    free(c->req);
    c->req = NULL;
    free(c->body);
    c->body = NULL;
    c->body_len = c->body_cap = 0;
    hx_http_resp_free(&c->resp);
    memset(&c->resp, 0, sizeof c->resp);
    c->responded = false;
    c->close_after = false;
}

static int on_request(hx_conn *c, struct lws *wsi)
{
    reset(c);
    if (parse_request(c, wsi)) return -1;
    refusal r;
    const refusal *rf = edge_check(wsi, c->req->peer, &r);
    if (rf) {
        c->close_after = true; /* a body or the rest of a head may follow: not a request */
        return respond_error(c, wsi, rf->status, rf->code, rf->msg);
    }
    if (c->req->method != HX_HTTP_POST) return respond(c, wsi);
    unsigned long long n;
    if (hx__content_length(wsi, &n) == 0)
        return respond_error(c, wsi, 411, "length_required", "POST needs a Content-Length");
    if (n > c->srv->cfg.max_body_bytes) {
        char msg[64];
        snprintf(msg, sizeof msg, "the body is over %zu bytes", c->srv->cfg.max_body_bytes);
        return respond_error(c, wsi, 413, "body_too_large", msg);
    }
    if (n == 0) return respond(c, wsi);
    c->body_cap = (size_t)n;
    c->body = malloc(c->body_cap + 1);
    return c->body ? 0 : -1;
}

static int on_body(hx_conn *c, const void *in, size_t len)
{
    if (c->responded) return 0; /* answered already (413): drain */
    if (!c->body || len > c->body_cap - c->body_len) return -1;
    memcpy(c->body + c->body_len, in, len);
    c->body_len += len;
    return 0;
}

static int on_writeable(hx_conn *c, struct lws *wsi)
{
    if (!c->responded) return 0;
    size_t left = c->resp.len - c->sent;
    if (left) {
        unsigned char buf[LWS_PRE + CHUNK];
        size_t n = left > CHUNK ? CHUNK : left;
        memcpy(buf + LWS_PRE, c->resp.body + c->sent, n);
        int final = n == left;
        if (lws_write(wsi, buf + LWS_PRE, n, final ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) !=
            (int)n)
            return -1;
        c->sent += n;
        if (!final) {
            lws_callback_on_writable(wsi);
            return 0;
        }
    }
    /* A 413/411 leaves an unread body behind: close rather than parse it as a request. */
    int keep = c->resp.status != 413 && c->resp.status != 411 && !c->close_after;
    reset(c);
    if (!keep) return -1;
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

int hx_http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                     size_t len)
{
    hx_conn *c = user;
    switch (reason) {
    case LWS_CALLBACK_HTTP:
        c->srv = hx__http_of(wsi)->srv;
        c->wsi = wsi;
        return on_request(c, wsi);
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
        return on_confirm_upgrade(wsi);
    case LWS_CALLBACK_HTTP_BODY:
        return on_body(c, in, len);
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        if (c->responded) return 0;
        return respond(c, wsi);
    case LWS_CALLBACK_HTTP_WRITEABLE:
        return on_writeable(c, wsi);
    case LWS_CALLBACK_CLOSED_HTTP:
        if (c) reset(c);
        return 0;
    default:
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}
