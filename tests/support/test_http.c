/* The HTTP API from a unit test (test_http.h). */
#include "support/test_http.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

void req_init(hx_http_req *r, hx_http_method m, const char *path)
{
    memset(r, 0, sizeof *r);
    r->method = m;
    const char *q = strchr(path, '?');
    size_t n = q ? (size_t)(q - path) : strlen(path);
    assert_true(n < sizeof r->path);
    memcpy(r->path, path, n);
    if (q) snprintf(r->query, sizeof r->query, "%s", q + 1);
    snprintf(r->peer, sizeof r->peer, "192.0.2.1");
}

void req_body(hx_http_req *r, const char *body)
{
    r->body = body;
    r->body_len = strlen(body);
}

void req_auth(hx_http_req *r, const char *value)
{
    snprintf(r->authorization, sizeof r->authorization, "%s", value);
    r->has_authorization = true;
}

void req_dev(hx_http_req *r, const char *user, const char *device)
{
    if (user) {
        snprintf(r->user_id, sizeof r->user_id, "%s", user);
        r->has_user_id = true;
    }
    if (device) {
        snprintf(r->device_id, sizeof r->device_id, "%s", device);
        r->has_device_id = true;
    }
}



answer call(hx_server *s, const hx_http_req *r)
{
    hx_http_resp resp;
    memset(&resp, 0xa5, sizeof resp); /* hx_api_handle must fill every field */
    hx_api_handle(s, r, &resp);
    answer a = {resp.status, resp.retry_after_s, resp.content_type, resp.body, NULL};
    assert_non_null(resp.body);
    assert_int_equal(resp.len, strlen(resp.body));
    assert_non_null(resp.content_type);
    if (strcmp(resp.content_type, "application/json") == 0) {
        a.json = json_loads(resp.body, 0, NULL);
        assert_true(json_is_object(a.json));
    }
    return a;
}

void answer_free(answer *a)
{
    json_decref(a->json);
    free(a->text);
    memset(a, 0, sizeof *a);
}

const char *jstr(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_string(v)) fail_msg("'%s' is not a string", key);
    return json_string_value(v);
}

json_int_t jint(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v)) fail_msg("'%s' is not an integer", key);
    return json_integer_value(v);
}

/* Assert an error answer (status, code, a message) and free it. */
void expect_error(answer *a, int status, const char *code)
{
    if (a->status != status) fail_msg("status %d, expected %d: %s", a->status, status, a->text);
    json_t *e = json_object_get(a->json, "error");
    assert_true(json_is_object(e));
    if (strcmp(jstr(e, "code"), code) != 0) fail_msg("code %s, expected %s", jstr(e, "code"), code);
    assert_true(strlen(jstr(e, "message")) > 0);
    answer_free(a);
}

answer post(hx_server *s, const char *path, const char *auth, const char *body)
{
    hx_http_req r;
    req_init(&r, HX_HTTP_POST, path);
    if (auth) req_auth(&r, auth);
    if (body) req_body(&r, body);
    return call(s, &r);
}

answer get(hx_server *s, const char *path, const char *auth)
{
    hx_http_req r;
    req_init(&r, HX_HTTP_GET, path);
    if (auth) req_auth(&r, auth);
    return call(s, &r);
}
