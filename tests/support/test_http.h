/*
 * The HTTP API from a unit test: build an hx_http_req, run it through
 * hx_api_handle on a test server (test_server.h), and read the answer,
 * with the body parsed when it is JSON. Failures are cmocka assertions.
 */
#ifndef HX_TESTS_SUPPORT_TEST_HTTP_H
#define HX_TESTS_SUPPORT_TEST_HTTP_H

#include "api/api.h"

typedef struct answer {
    int status;
    int retry_after_s;
    const char *content_type;
    char *text;   /* owned */
    json_t *json; /* parsed body when JSON */
} answer;

/** A request for path (with an optional ?query), from a fixed test address. */
void req_init(hx_http_req *r, hx_http_method m, const char *path);
void req_body(hx_http_req *r, const char *body);
/** An Authorization header value. */
void req_auth(hx_http_req *r, const char *value);
/** Dev identity headers (NULL: absent). */
void req_dev(hx_http_req *r, const char *user, const char *device);
/** Run the request; the answer owns its body. */
answer call(hx_server *s, const hx_http_req *r);
void answer_free(answer *a);
/** o[key], asserted a string / an integer. */
const char *jstr(json_t *o, const char *key);
json_int_t jint(json_t *o, const char *key);
/** Assert an error answer (status, code, a message) and free it. */
void expect_error(answer *a, int status, const char *code);
/** POST / GET with an optional Authorization value and body. */
answer post(hx_server *s, const char *path, const char *auth, const char *body);
answer get(hx_server *s, const char *path, const char *auth);

#endif
