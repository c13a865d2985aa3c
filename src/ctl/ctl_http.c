/*
 * hearthctl's HTTP transport: libcurl, so `--url https://...` works, with
 * --cacert / $HEARTH_CACERT naming a private CA (else the system's), or
 * --insecure not checking the certificate at all. The
 * request and response are common/http_client.h's plain types, so the
 * callers (ctl_call.c) read the same status, body and headers as before;
 * only the wire is curl's. One easy handle per process, made on the first
 * call, reused (keep-alive) by the next ones, freed by ctl_http_done.
 *
 * Limits as before: the whole exchange within CTL_HTTP_TIMEOUT_MS, a
 * response body up to CTL_HTTP_MAX_BODY (audit export pages are large),
 * no redirects followed (an admin key is not sent elsewhere).
 */
#include "ctl/ctl.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#define CTL_HTTP_TIMEOUT_MS 10000
#define CTL_HTTP_MAX_BODY (64u * 1024 * 1024)
#define CTL_HTTP_MAX_HEAD (64u * 1024)

typedef struct sink {
    char *buf;
    size_t len, cap, max;
    int too_big;
} sink;

static int sink_add(sink *s, const char *p, size_t n)
{
    if (n > s->max - s->len) {
        s->too_big = 1;
        return -1;
    }
    if (s->len + n + 1 > s->cap) {
        size_t cap = s->cap ? s->cap : 4096;
        while (cap < s->len + n + 1) cap *= 2;
        char *nb = realloc(s->buf, cap);
        if (!nb) return -1;
        s->buf = nb;
        s->cap = cap;
    }
    memcpy(s->buf + s->len, p, n);
    s->len += n;
    s->buf[s->len] = '\0';
    return 0;
}

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    return sink_add(arg, p, size * n) ? 0 : size * n;
}

/* Headers of the final response only: a new status line (a 100 or a redirect) starts over. */
static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
    sink *s = arg;
    if (size * n >= 5 && !strncmp(p, "HTTP/", 5)) s->len = 0;
    return sink_add(s, p, size * n) ? 0 : size * n;
}

int ctl_http_check_url(const char *url)
{
    return !strncmp(url, "http://", 7) || !strncmp(url, "https://", 8) ? 0 : -1;
}

void ctl_http_done(ctl_ctx *ctx)
{
    if (!ctx->curl) return;
    curl_easy_cleanup(ctx->curl);
    ctx->curl = NULL;
    curl_global_cleanup();
}

int ctl_http_request(ctl_ctx *ctx, const hx_http_request *req, hx_http_response *resp)
{
    char url[4096], errbuf[CURL_ERROR_SIZE] = "";
    struct curl_slist *hdrs = NULL;
    sink body = {.max = CTL_HTTP_MAX_BODY}, head = {.max = CTL_HTTP_MAX_HEAD};
    int rc = -1;

    memset(resp, 0, sizeof *resp);
    size_t ul = strlen(ctx->url);
    while (ul && ctx->url[ul - 1] == '/') ul--; /* "https://h/" + "/v1/..." */
    if (snprintf(url, sizeof url, "%.*s%s", (int)ul, ctx->url, req->path) >= (int)sizeof url) {
        snprintf(ctx->err, sizeof ctx->err, "the URL is too long");
        return -1;
    }
    if (!ctx->curl) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || !(ctx->curl = curl_easy_init())) {
            snprintf(ctx->err, sizeof ctx->err, "cannot initialize libcurl");
            return -1;
        }
    }
    CURL *c = ctx->curl;
    curl_easy_reset(c);
    for (size_t i = 0; i < req->n_headers; i++) {
        char line[2048];
        if (snprintf(line, sizeof line, "%s: %s", req->headers[i].name, req->headers[i].value) >=
                (int)sizeof line ||
            strpbrk(line, "\r\n")) {
            snprintf(ctx->err, sizeof ctx->err, "bad header %s", req->headers[i].name);
            rc = -2;
            goto out;
        }
        struct curl_slist *n = curl_slist_append(hdrs, line);
        if (!n) goto oom;
        hdrs = n;
    }
    struct curl_slist *n = curl_slist_append(hdrs, "Expect:"); /* no 100-continue: lws never answers it */
    if (!n) goto oom;
    hdrs = n;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method);
    if (req->body || !strcmp(req->method, "POST")) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body ? (const char *)req->body : "");
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    } else if (!strcmp(req->method, "GET")) {
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    /* hearthd redirects only one way: 307, a room another node of its cluster hosts
     * (docs/scaling.md); the same request, admin key included, goes there (the nodes of a
     * cluster share their admin_key). */
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 2L);
    curl_easy_setopt(c, CURLOPT_UNRESTRICTED_AUTH, 1L);
    curl_easy_setopt(c, CURLOPT_POSTREDIR, (long)CURL_REDIR_POST_ALL);
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)CTL_HTTP_TIMEOUT_MS);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &head);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "hearthctl/" HX_VERSION);
    if (ctx->cacert) curl_easy_setopt(c, CURLOPT_CAINFO, ctx->cacert);
    if (ctx->insecure) { /* --insecure: encrypted, but to whoever answers */
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    }

    CURLcode cc = curl_easy_perform(c);
    if (cc != CURLE_OK) {
        if (body.too_big || head.too_big)
            snprintf(ctx->err, sizeof ctx->err, "the answer is too large");
        else
            snprintf(ctx->err, sizeof ctx->err, "%s", errbuf[0] ? errbuf : curl_easy_strerror(cc));
        goto out;
    }
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (!body.buf && sink_add(&body, "", 0)) goto oom; /* an empty body is still a string */
    if (!head.buf && sink_add(&head, "", 0)) goto oom;
    resp->status = (int)status;
    resp->body = body.buf;
    resp->body_len = body.len;
    resp->head = head.buf; /* status line and headers, as hx_http_response_header reads them */
    body.buf = head.buf = NULL;
    rc = 0;
    goto out;
oom:
    snprintf(ctx->err, sizeof ctx->err, "out of memory");
out:
    curl_slist_free_all(hdrs);
    free(body.buf);
    free(head.buf);
    return rc;
}
