/*
 * Plain HTTP requests through libwebsockets. The request line and headers
 * arrive in LWS_CALLBACK_HTTP; a POST body follows in HTTP_BODY chunks up to
 * its Content-Length (which must be present: lws cannot read bodies without
 * it, so such requests get 411 here, and bodies over the cap 413 before a
 * byte is read). The API answers at body completion; the response body is
 * written in chunks on HTTP_WRITEABLE, then the transaction completes and
 * the connection may carry the next request.
 */
#include "http/conn.h"

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
    lws_get_peer_simple(wsi, r->peer, sizeof r->peer);
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
}

static int on_request(hx_conn *c, struct lws *wsi)
{
    reset(c);
    if (parse_request(c, wsi)) return -1;
    if (c->req->method != HX_HTTP_POST) return respond(c, wsi);
    char cl[32];
    if (lws_hdr_copy(wsi, cl, sizeof cl, WSI_TOKEN_HTTP_CONTENT_LENGTH) <= 0)
        return respond_error(c, wsi, 411, "length_required", "POST needs a Content-Length");
    char *end;
    unsigned long long n = strtoull(cl, &end, 10);
    if (*end || end == cl) return respond_error(c, wsi, 400, "bad_request", "bad Content-Length");
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
    int keep = c->resp.status != 413 && c->resp.status != 411;
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
        c->srv = lws_context_user(lws_get_context(wsi));
        c->wsi = wsi;
        return on_request(c, wsi);
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
