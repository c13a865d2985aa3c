/*
 * One admin API call, and everything that can go wrong around it.
 *
 * The first call prepares the context: it parses the URL and finds the admin
 * key (--admin-key, then $HEARTH_ADMIN_KEY, then <data dir>/admin.key, the
 * file hearthd writes at first start). Then each call sends
 * "Authorization: Bearer <key>" and sorts the outcome into the exit statuses:
 * a 2xx answer is parsed as JSON and handed back (or printed raw under
 * --json); any other status is the server's error, printed as
 * "error: <code>: <message> (HTTP <status>)" from the body shape of
 * docs/protocol.md §3; no answer at all is a connection failure.
 * ctl_get_public does the same for a GET that needs no key (/metrics).
 */
#include "ctl/ctl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Read <data_dir>/admin.key into ctx->key_buf, trimmed. 0 or an exit status. */
static int read_key_file(ctl_ctx *ctx)
{
    char path[4096];
    size_t len = 0;
    ssize_t n;
    int fd, err;

    if (snprintf(path, sizeof path, "%s/admin.key", ctx->data_dir) >= (int)sizeof path)
        return ctl_usage_error(NULL, "--data-dir is too long");
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
        err = errno;
        if (err == ENOENT)
            return ctl_usage_error(NULL,
                                   "no admin key: pass --admin-key, set HEARTH_ADMIN_KEY, or "
                                   "point --data-dir at hearthd's data directory (%s: %s)",
                                   path, strerror(err));
        return ctl_usage_error(NULL, "cannot read the admin key %s: %s", path, strerror(err));
    }
    while ((n = read(fd, ctx->key_buf + len, sizeof ctx->key_buf - 1 - len)) > 0)
        len += (size_t)n;
    err = n < 0 ? errno : 0;
    close(fd);
    if (err) return ctl_usage_error(NULL, "cannot read the admin key %s: %s", path, strerror(err));
    if (len == sizeof ctx->key_buf - 1)
        return ctl_usage_error(NULL, "%s is too large to be an admin key", path);
    while (len > 0 && (ctx->key_buf[len - 1] == '\n' || ctx->key_buf[len - 1] == '\r' ||
                       ctx->key_buf[len - 1] == ' ' || ctx->key_buf[len - 1] == '\t'))
        len--;
    ctx->key_buf[len] = '\0';
    if (len == 0) return ctl_usage_error(NULL, "the admin key file %s is empty", path);
    ctx->admin_key = ctx->key_buf;
    return 0;
}

static int prepare_url(ctl_ctx *ctx)
{
    int rc = ctl_resolve(ctx);
    if (rc != 0) return rc;
    if (ctl_http_check_url(ctx->url))
        return ctl_usage_error(NULL, "--url must start with http:// or https:// (got '%s')",
                               ctx->url);
    return 0;
}

static int prepare(ctl_ctx *ctx)
{
    int rc;

    if ((rc = prepare_url(ctx)) != 0) return rc;
    if (!ctx->admin_key && (rc = read_key_file(ctx)) != 0) return rc;
    for (const char *k = ctx->admin_key; *k; k++)
        if ((unsigned char)*k <= 0x20 || (unsigned char)*k >= 0x7f)
            return ctl_usage_error(NULL, "the admin key holds spaces or control characters");
    return 0;
}

/* The server's answer was not the error shape: show its start, made safe. */
static void print_unexpected(const hx_http_response *r)
{
    fputs("error: unexpected answer: ", stderr);
    if (r->body_len == 0) {
        fputs("(empty body)", stderr);
    } else {
        char snippet[161];
        size_t n = r->body_len < sizeof snippet - 1 ? r->body_len : sizeof snippet - 1;
        memcpy(snippet, r->body, n);
        snippet[n] = '\0';
        ctl_print_safe(stderr, snippet);
        if (n < r->body_len) fputs("...", stderr);
    }
    fprintf(stderr, " (HTTP %d)\n", r->status);
}

static int report_http_error(const hx_http_response *r)
{
    json_t *root = json_loadb(r->body, r->body_len, 0, NULL);
    json_t *err = json_object_get(root, "error");
    const char *code = json_string_value(json_object_get(err, "code"));
    const char *msg = json_string_value(json_object_get(err, "message"));
    char retry[32];

    if (!code) {
        print_unexpected(r);
    } else {
        fputs("error: ", stderr);
        ctl_print_safe(stderr, code);
        fputs(": ", stderr);
        ctl_print_safe(stderr, msg ? msg : "(no message)");
        fprintf(stderr, " (HTTP %d)\n", r->status);
        if (r->status == 429 && hx_http_response_header(r, "Retry-After", retry, sizeof retry) > 0)
            fprintf(stderr, "retry after %s s\n", retry);
    }
    json_decref(root);
    return CTL_EXIT_HTTP;
}

/* Send req: 0 with *resp to free, or the exit status of a request that got no answer. */
static int send_request(ctl_ctx *ctx, const hx_http_request *req, hx_http_response *resp)
{
    int rc = ctl_http_request(ctx, req, resp);
    if (rc == -2) return ctl_usage_error(NULL, "%s", ctx->err);
    if (rc < 0) {
        fprintf(stderr, "hearthctl: cannot get an answer from hearthd at %s: %s\n", ctx->url,
                ctx->err);
        return CTL_EXIT_CONN;
    }
    return 0;
}

int ctl_get_public(ctl_ctx *ctx, const char *path, hx_http_response *resp)
{
    hx_http_request req = {.method = "GET", .path = path};
    int rc;

    memset(resp, 0, sizeof *resp);
    if ((rc = prepare_url(ctx)) != 0 || (rc = send_request(ctx, &req, resp)) != 0) return rc;
    if (resp->status >= 200 && resp->status <= 299) return CTL_EXIT_OK;
    rc = report_http_error(resp);
    hx_http_response_free(resp);
    return rc;
}

int ctl_call(ctl_ctx *ctx, const char *method, const char *path, json_t *body, json_t **out)
{
    char auth[sizeof ctx->key_buf + 16];
    hx_http_header headers[3];
    hx_http_request req = {.method = method, .path = path, .headers = headers};
    hx_http_response resp;
    json_error_t jerr;
    char *text = NULL;
    int rc;

    *out = NULL;
    if ((rc = prepare(ctx)) != 0) return rc;
    if (snprintf(auth, sizeof auth, "Bearer %s", ctx->admin_key) >= (int)sizeof auth)
        return ctl_usage_error(NULL, "the admin key is too long");
    headers[req.n_headers++] = (hx_http_header){"Authorization", auth};
    headers[req.n_headers++] = (hx_http_header){"Accept", "application/json"};
    if (body) {
        if (!(text = json_dumps(body, JSON_COMPACT))) {
            fputs("hearthctl: out of memory\n", stderr);
            return CTL_EXIT_USAGE;
        }
        headers[req.n_headers++] = (hx_http_header){"Content-Type", "application/json"};
        req.body = text;
        req.body_len = strlen(text);
    }

    rc = send_request(ctx, &req, &resp);
    free(text);
    if (rc != 0) return rc;

    if (resp.status < 200 || resp.status > 299) {
        rc = report_http_error(&resp);
    } else if (!(*out = json_loadb(resp.body, resp.body_len, 0, &jerr)) || !json_is_object(*out)) {
        fprintf(stderr, "error: the answer is not a JSON object (%s)\n",
                *out ? "another JSON type" : jerr.text);
        json_decref(*out);
        *out = NULL;
        rc = CTL_EXIT_HTTP;
    } else if (ctx->json) {
        fwrite(resp.body, 1, resp.body_len, stdout);
        if (resp.body_len == 0 || resp.body[resp.body_len - 1] != '\n') putchar('\n');
        json_decref(*out);
        *out = NULL;
        rc = CTL_EXIT_OK;
    } else {
        rc = CTL_EXIT_OK;
    }
    hx_http_response_free(&resp);
    return rc;
}

int ctl_set_str(json_t *body, const char *key, const char *value)
{
    return value ? json_object_set_new(body, key, json_string(value)) : 0;
}
