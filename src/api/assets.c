/*
 * GET /sdk/..., /demo/... and /: answers from the embedded asset table
 * (assets.h), with a content type from the file extension and a short
 * cache lifetime (the files change with the binary).
 */
#include "api/api.h"
#include "api/assets.h"

#include <stdlib.h>
#include <string.h>

static const char *content_type(const char *path)
{
    static const struct {
        const char *ext, *type;
    } types[] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".json", "application/json"},
    };
    const char *dot = strrchr(path, '.');
    for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++)
        if (!strcmp(dot, types[i].ext)) return types[i].type;
    return "application/octet-stream";
}

bool hx_api_asset(const hx_http_req *req, hx_http_resp *resp)
{
    const char *path = req->path;
    /* the demo app is the server's front page too; its files are named from /demo/ */
    if (!strcmp(path, "/") || !strcmp(path, "/demo") || !strcmp(path, "/demo/"))
        path = "/demo/index.html";
    for (const hx_asset *a = hx__assets; a->path; a++) {
        if (strcmp(a->path, path) != 0) continue;
        resp->body = malloc(a->len + 1); /* NUL-ended, as every other body (text files) */
        if (!resp->body) {
            hx_api_error(resp, 500, "internal_error", "out of memory");
            return true;
        }
        memcpy(resp->body, a->data, a->len);
        resp->body[a->len] = '\0';
        resp->len = a->len;
        resp->status = 200;
        resp->content_type = content_type(path);
        resp->cache = "max-age=60";
        return true;
    }
    return false;
}
