/*
 * libFuzzer target for the HTTP request path: api/router, api/tickets,
 * api/admin and everything they call (JSON bodies, query decoding, JWT
 * verification, ticket minting, revocations, the audit store), against a
 * real (socketless) server context with a SQLite store
 * (tests/support/test_server.c). libwebsockets parses the request line and
 * headers in the daemon; what reaches hx_api_handle is an hx_http_req, so
 * that is what this target builds from its input.
 *
 * Input layout: byte 0 picks the method (low 2 bits), the profile (bit 2:
 * dev or small, the latter verifying bearer tokens against an HS256 key) and
 * the client address (bits 3-5, so per-address rate limits are exercised
 * without every input ending in 429). Then newline-separated fields: the
 * request target (path, optionally ?query), Authorization, X-User-Id,
 * X-Device-Id; the rest is the body. In Authorization, "$A" stands for the
 * operator's admin key, so admin routes are reached; an empty field is an
 * absent header.
 *
 * Beyond ASan/UBSan/LSan, it aborts when a response breaks the API's
 * contract: a status outside 200-599, no body, a JSON body that does not
 * parse, or an error status whose body lacks {"error": {"code", "message"}}.
 */
#include "support/test_server.h"

#include "api/api.h"

#include <stdlib.h>
#include <string.h>

static hx_test_server dev, small;

static const char SMALL_JWKS[] = "{\"keys\":[{\"kty\":\"oct\",\"kid\":\"hs-1\",\"k\":\"xt_"
                                 "xcFxoATojx47dvAQZ3Gfw6Ze_-Y6IEbfCrMAG53Q\"}]}";

static void teardown(void)
{
    hx_test_server_free(&dev);
    hx_test_server_free(&small);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    hx_config cfg;
    hx_test_config(&cfg);
    cfg.log_level = HX_LOG_ERROR;
    if (hx_test_server_init(&dev, &cfg, NULL) != 0) abort();
    hx_config_defaults(&cfg, HX_PROFILE_SMALL);
    cfg.log_level = HX_LOG_ERROR;
    cfg.n_issuers = 1;
    snprintf(cfg.issuers[0], sizeof cfg.issuers[0], "https://id.example.com");
    snprintf(cfg.audience, sizeof cfg.audience, "hearth");
    if (hx_test_server_init(&small, &cfg, SMALL_JWKS) != 0) abort();
    atexit(teardown);
    return 0;
}

/* The next newline-terminated field of [*p, end) into out (truncated to cap-1). */
static size_t field(const uint8_t **p, const uint8_t *end, char *out, size_t cap)
{
    const uint8_t *nl = memchr(*p, '\n', (size_t)(end - *p));
    const uint8_t *stop = nl ? nl : end;
    size_t n = (size_t)(stop - *p), k = n < cap - 1 ? n : cap - 1;
    memcpy(out, *p, k);
    out[k] = '\0';
    *p = nl ? nl + 1 : end;
    return n;
}

static void check_resp(const hx_http_resp *r)
{
    if (r->status < 200 || r->status > 599 || !r->body || !r->content_type) abort();
    if (strcmp(r->content_type, "application/json") != 0) return;
    json_t *j = json_loadb(r->body, r->len, 0, NULL);
    if (!json_is_object(j)) abort();
    if (r->status >= 400) {
        json_t *e = json_object_get(j, "error");
        if (!json_is_string(json_object_get(e, "code")) ||
            !json_is_string(json_object_get(e, "message")))
            abort();
    }
    json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const hx_http_method methods[] = {HX_HTTP_GET, HX_HTTP_POST, HX_HTTP_DELETE,
                                             HX_HTTP_OTHER};
    if (size < 1) return 0;
    hx_test_server *t = data[0] & 4 ? &small : &dev;
    static hx_http_req req;
    memset(&req, 0, sizeof req);
    req.method = methods[data[0] & 3];
    snprintf(req.peer, sizeof req.peer, "127.0.0.%d", 1 + ((data[0] >> 3) & 7));
    snprintf(req.host, sizeof req.host, "127.0.0.1:7880");

    const uint8_t *p = data + 1, *end = data + size;
    char target[1024], auth[sizeof req.authorization];
    field(&p, end, target, sizeof target);
    char *q = strchr(target, '?');
    if (q) {
        *q++ = '\0';
        snprintf(req.query, sizeof req.query, "%s", q);
    }
    snprintf(req.path, sizeof req.path, "%s", target);

    size_t alen = field(&p, end, auth, sizeof auth);
    char *a = strstr(auth, "$A");
    if (a) { /* "$A" → the admin key */
        char tail[sizeof auth];
        snprintf(tail, sizeof tail, "%s", a + 2);
        snprintf(a, sizeof auth - (size_t)(a - auth), "%s%s", t->srv.admin_key, tail);
    }
    req.has_authorization = alen > 0;
    req.authorization_too_long = alen >= sizeof req.authorization;
    snprintf(req.authorization, sizeof req.authorization, "%s", auth);
    req.has_user_id = field(&p, end, req.user_id, sizeof req.user_id) > 0;
    req.has_device_id = field(&p, end, req.device_id, sizeof req.device_id) > 0;
    req.body = (const char *)p;
    req.body_len = (size_t)(end - p);

    hx_http_resp resp;
    memset(&resp, 0, sizeof resp);
    hx_api_handle(&t->srv, &req, &resp);
    check_resp(&resp);
    hx_http_resp_free(&resp);
    return 0;
}
