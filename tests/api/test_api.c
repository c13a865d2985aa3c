/*
 * Unit tests for api/: hx_api_handle with hand-built requests against a
 * socketless server (tests/support/test_server.h). Covers the probe and
 * metrics endpoints, routing errors and limits, both ways of getting a
 * join ticket (dev headers; bearer tokens, signed here with HS256 under a
 * key the server's JWKS holds), the per-address rate limit, the admin API
 * (docs/admin-api.md), and the query-string helpers.
 */
#define _GNU_SOURCE /* asprintf */
#include "api/api.h"

#include "support/test_http.h"
#include "support/test_server.h"

#include "auth/ticket.h"
#include "common/b64.h"
#include "common/clock.h"
#include "signal/protocol.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define ISS "https://id.example.com"
#define AUD "hearth-test"
#define ADMIN "Bearer " HX_TEST_ADMIN_KEY

static const uint8_t hs_secret[32] = "0123456789abcdef0123456789abcdef";

/* --- fixtures -------------------------------------------------------------- */

static int setup_with(void **state, const hx_config *cfg, const char *jwks)
{
    hx_test_server *t = malloc(sizeof *t);
    if (!t || hx_test_server_init(t, cfg, jwks)) {
        if (t) hx_test_server_free(t);
        free(t);
        return -1;
    }
    *state = t;
    return 0;
}

static int setup(void **state)
{
    return setup_with(state, NULL, NULL);
}

static int setup_prod(void **state)
{
    hx_config cfg;
    hx_test_config(&cfg);
    cfg.profile = HX_PROFILE_SMALL;
    cfg.auth_dev = false;
    return setup_with(state, &cfg, NULL);
}

static int setup_jwt(void **state)
{
    char k[64], jwks[256];
    assert_true(hx_b64_encode(hs_secret, sizeof hs_secret, k, sizeof k, 1) > 0);
    snprintf(jwks, sizeof jwks, "{\"keys\":[{\"kty\":\"oct\",\"kid\":\"hs-1\",\"alg\":\"HS256\",\"k\":\"%s\"}]}", k);
    hx_config cfg;
    hx_test_config(&cfg);
    cfg.n_issuers = 1;
    snprintf(cfg.issuers[0], sizeof cfg.issuers[0], "%s", ISS);
    snprintf(cfg.audience, sizeof cfg.audience, "%s", AUD);
    return setup_with(state, &cfg, jwks);
}

static int setup_slow(void **state)
{
    hx_config cfg;
    hx_test_config(&cfg);
    cfg.http_rate = 1;
    cfg.http_burst = 2;
    return setup_with(state, &cfg, NULL);
}

static int teardown(void **state)
{
    hx_test_server *t = *state;
    size_t open = hx_test_server_free(t);
    free(t);
    return open == 0 ? 0 : -1;
}

static hx_server *srv(void **state)
{
    return &((hx_test_server *)*state)->srv;
}

/* --- requests and answers -------------------------------------------------- */

static int count_events_cb(void *arg, const hx_event *ev)
{
    (*(int *)arg)++;
    return 0;
}

static int count_events(hx_server *s, const char *kind)
{
    int n = 0;
    hx_event_filter f = {.kind = kind, .limit = 1000};
    assert_int_equal(s->store->ops->query_events(s->store, &f, count_events_cb, &n), 0);
    return n;
}

/* --- tokens ---------------------------------------------------------------- */

/* An HS256 compact JWS over `claims` (stolen), keyed with hs_secret unless key is given. */
static void sign_token(json_t *claims, const uint8_t *key, char *out, size_t cap)
{
    static const char header[] = "{\"alg\":\"HS256\",\"kid\":\"hs-1\",\"typ\":\"JWT\"}";
    assert_non_null(claims);
    char *payload = json_dumps(claims, JSON_COMPACT);
    json_decref(claims);
    assert_non_null(payload);
    long n = hx_b64_encode((const uint8_t *)header, strlen(header), out, cap, 1);
    assert_true(n > 0);
    out[n++] = '.';
    long m = hx_b64_encode((const uint8_t *)payload, strlen(payload), out + n, cap - (size_t)n, 1);
    free(payload);
    assert_true(m > 0);
    n += m;
    uint8_t mac[32];
    unsigned int mlen = 0;
    assert_non_null(HMAC(EVP_sha256(), key ? key : hs_secret, sizeof hs_secret, (const uint8_t *)out, (size_t)n,
                         mac, &mlen));
    assert_int_equal(mlen, 32);
    out[n++] = '.';
    assert_true(hx_b64_encode(mac, mlen, out + n, cap - (size_t)n, 1) > 0);
}

/* Standard claims for sub, valid now; extra (stolen, may be NULL) is merged in. */
static json_t *claims(const char *sub, const char *jti, json_t *extra)
{
    int64_t now = hx_now_ms() / 1000;
    json_t *c = json_pack("{s:s, s:s, s:s, s:I, s:I, s:s}", "iss", ISS, "aud", AUD, "sub", sub, "iat",
                          (json_int_t)(now - 10), "exp", (json_int_t)(now + 600), "jti", jti);
    if (extra) {
        json_object_update(c, extra);
        json_decref(extra);
    }
    return c;
}

static void bearer(char *auth, size_t cap, json_t *c)
{
    char tok[4096];
    sign_token(c, NULL, tok, sizeof tok);
    snprintf(auth, cap, "Bearer %s", tok);
}

/* Open a ticket from an answer's body. */
static void open_ticket(hx_server *s, answer *a, hx_ticket *t)
{
    const char *text = jstr(a->json, "ticket");
    assert_int_equal(hx_ticket_open(s->ticket_key, text, strlen(text), t), HX_TICKET_OK);
}

/* --- probes and routing ---------------------------------------------------- */

static void test_healthz_readyz(void **state)
{
    hx_server *s = srv(state);
    answer a = get(s, "/healthz", NULL);
    assert_int_equal(a.status, 200);
    assert_string_equal(a.content_type, "application/json");
    assert_string_equal(jstr(a.json, "status"), "ok");
    answer_free(&a);

    a = get(s, "/readyz", NULL);
    assert_int_equal(a.status, 200);
    assert_string_equal(jstr(a.json, "status"), "ready");
    answer_free(&a);

    s->ready = false;
    a = get(s, "/readyz", NULL);
    assert_int_equal(a.status, 503);
    assert_string_equal(jstr(a.json, "status"), "not_ready");
    answer_free(&a);
    /* Liveness does not depend on readiness. */
    a = get(s, "/healthz", NULL);
    assert_int_equal(a.status, 200);
    answer_free(&a);
    s->ready = true;
    s->stopping = true;
    a = get(s, "/readyz", NULL);
    assert_int_equal(a.status, 503);
    answer_free(&a);
    s->stopping = false;

    a = post(s, "/healthz", NULL, NULL);
    expect_error(&a, 405, "method_not_allowed");
    a = post(s, "/readyz", NULL, NULL);
    expect_error(&a, 405, "method_not_allowed");
}

static void test_metrics(void **state)
{
    hx_server *s = srv(state);
    answer a = get(s, "/healthz", NULL);
    answer_free(&a);
    a = get(s, "/nowhere", NULL);
    answer_free(&a);
    a = get(s, "/metrics", NULL);
    assert_int_equal(a.status, 200);
    assert_non_null(strstr(a.content_type, "text/plain"));
    assert_null(a.json);
    assert_non_null(strstr(a.text, "# TYPE hearth_http_requests_total counter\n"));
    assert_non_null(strstr(a.text, "hearth_http_requests_total{status=\"200\"} 1\n"));
    assert_non_null(strstr(a.text, "hearth_http_requests_total{status=\"404\"} 1\n"));
    assert_non_null(strstr(a.text, "hearth_rooms 0\n"));
    assert_non_null(strstr(a.text, "hearth_signal_sessions 0\n"));
    answer_free(&a);
    /* The scrape itself is counted for the next one. */
    a = get(s, "/metrics", NULL);
    assert_non_null(strstr(a.text, "hearth_http_requests_total{status=\"200\"} 2\n"));
    answer_free(&a);
}

static void test_not_found_and_methods(void **state)
{
    hx_server *s = srv(state);
    answer a = get(s, "/", NULL); /* the demo app (assets.c) */
    assert_int_equal(a.status, 200);
    assert_string_equal(a.content_type, "text/html; charset=utf-8");
    answer_free(&a);
    a = get(s, "/nope", NULL);
    expect_error(&a, 404, "not_found");
    a = get(s, "/v1", NULL);
    expect_error(&a, 404, "not_found");
    a = get(s, "/v1/nope", NULL);
    expect_error(&a, 404, "not_found");
    a = get(s, "/v1/join-tickets/extra", NULL);
    expect_error(&a, 404, "not_found");
    a = get(s, "/healthz/", NULL);
    expect_error(&a, 404, "not_found");
    a = get(s, "/v1/join-tickets", NULL);
    expect_error(&a, 405, "method_not_allowed");
    hx_http_req r;
    req_init(&r, HX_HTTP_DELETE, "/v1/join-tickets");
    a = call(s, &r);
    expect_error(&a, 405, "method_not_allowed");
    req_init(&r, HX_HTTP_OTHER, "/metrics");
    a = call(s, &r);
    expect_error(&a, 405, "method_not_allowed");
}

static void test_body_too_large(void **state)
{
    hx_server *s = srv(state);
    size_t max = s->cfg.max_body_bytes;
    char *body = malloc(max + 2);
    assert_non_null(body);
    /* Exactly the limit: accepted (a JSON object padded with spaces). */
    memset(body, ' ', max + 1);
    memcpy(body, "{\"room\":\"lobby\"}", 16);
    body[max] = '\0';
    hx_http_req r;
    req_init(&r, HX_HTTP_POST, "/v1/join-tickets");
    req_dev(&r, "alice", NULL);
    req_body(&r, body);
    assert_int_equal(r.body_len, max);
    answer a = call(s, &r);
    assert_int_equal(a.status, 201);
    answer_free(&a);
    /* One byte over: 413 before anything else, on any path. */
    body[max] = ' ';
    body[max + 1] = '\0';
    req_body(&r, body);
    a = call(s, &r);
    expect_error(&a, 413, "body_too_large");
    req_init(&r, HX_HTTP_GET, "/healthz");
    req_body(&r, body);
    a = call(s, &r);
    expect_error(&a, 413, "body_too_large");
    free(body);
}

static void test_bad_json_and_body(void **state)
{
    hx_server *s = srv(state);
    static const char *const not_objects[] = {"nope", "[]", "\"lobby\"", "{\"room\":", "{\"room\":1,\"room\":2}"};
    for (size_t i = 0; i < sizeof not_objects / sizeof not_objects[0]; i++) {
        hx_http_req r;
        req_init(&r, HX_HTTP_POST, "/v1/join-tickets");
        req_dev(&r, "alice", NULL);
        req_body(&r, not_objects[i]);
        answer a = call(s, &r);
        expect_error(&a, 400, "bad_json");
    }
    hx_http_req r;
    req_init(&r, HX_HTTP_POST, "/v1/join-tickets"); /* no body at all */
    req_dev(&r, "alice", NULL);
    answer a = call(s, &r);
    expect_error(&a, 400, "bad_json");

    static const struct {
        const char *body, *code;
    } bad[] = {
        {"{}", "bad_request"},
        {"{\"room\":\"\"}", "bad_request"},
        {"{\"room\":\"a b\"}", "bad_request"},
        {"{\"room\":\"a/b\"}", "bad_request"},
        {"{\"room\":5}", "bad_request"},
        {"{\"room\":\"lobby\",\"device_id\":5}", "bad_request"},
        {"{\"room\":\"lobby\",\"device_id\":\"x y\"}", "bad_request"},
        {"{\"room\":\"lobby\",\"protocol_version\":3}", "unsupported_version"},
        {"{\"room\":\"lobby\",\"protocol_version\":0}", "unsupported_version"},
        {"{\"room\":\"lobby\",\"protocol_version\":\"2\"}", "unsupported_version"},
        {"{\"room\":\"lobby\",\"protocol_version\":2.0}", "unsupported_version"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        req_init(&r, HX_HTTP_POST, "/v1/join-tickets");
        req_dev(&r, "alice", NULL);
        req_body(&r, bad[i].body);
        a = call(s, &r);
        expect_error(&a, 400, bad[i].code);
    }
}

/* --- dev tickets ----------------------------------------------------------- */

static void test_dev_ticket(void **state)
{
    hx_server *s = srv(state);
    hx_http_req r;
    req_init(&r, HX_HTTP_POST, "/v1/join-tickets");
    req_dev(&r, "alice", "laptop");
    snprintf(r.host, sizeof r.host, "media.example.test:7880");
    req_body(&r, "{\"room\":\"lobby\"}");
    int64_t t0 = hx_now_ms();
    answer a = call(s, &r);
    assert_int_equal(a.status, 201);
    assert_string_equal(jstr(a.json, "room"), "lobby");
    assert_string_equal(jstr(a.json, "user"), "alice");
    assert_string_equal(jstr(a.json, "device"), "laptop");
    assert_int_equal(jint(a.json, "protocol_version"), HX_PROTO_MAX);
    json_t *pv = json_object_get(a.json, "protocol_versions");
    assert_int_equal(jint(pv, "min"), HX_PROTO_MIN);
    assert_int_equal(jint(pv, "max"), HX_PROTO_MAX);
    assert_string_equal(jstr(a.json, "signal_url"), "ws://media.example.test:7880/v1/signal?v=2");
    assert_true(json_is_array(json_object_get(a.json, "ice_servers")));
    assert_in_range(jint(a.json, "expires_at"), t0 / 1000 + s->cfg.ticket_ttl_s - 1,
                    hx_now_ms() / 1000 + s->cfg.ticket_ttl_s);
    hx_ticket t;
    open_ticket(s, &a, &t);
    assert_string_equal(t.user, "alice");
    assert_string_equal(t.device, "laptop");
    assert_string_equal(t.room, "lobby");
    assert_string_equal(t.sid, "");
    assert_string_equal(t.jti, "");
    assert_int_equal(t.protocol_version, 2);
    assert_int_equal(t.grants, HX_GRANT_DEFAULT_FLAGS);
    assert_int_equal(t.expires_ms / 1000, jint(a.json, "expires_at"));

    /* The ticket opens a session. */
    hx_test_client c;
    hx_test_client_init(&c);
    hx_session *sess = hx_session_open(s, &hx_test_client_io, &c, 2);
    char *join = NULL;
    assert_true(asprintf(&join, "{\"type\":\"join\",\"id\":\"1\",\"data\":{\"ticket\":\"%s\",\"room\":\"lobby\"}}",
                         jstr(a.json, "ticket")) > 0);
    hx_session_message(sess, join, strlen(join));
    free(join);
    assert_string_equal(hx_test_msg_type(hx_test_client_last(&c, NULL)), "ack");
    hx_session_closed(sess);
    hx_test_client_free(&c);
    answer_free(&a);

    /* Version 1, device from the body; then no device at all. */
    req_init(&r, HX_HTTP_POST, "/v1/join-tickets");
    req_dev(&r, "alice", NULL);
    req_body(&r, "{\"room\":\"lobby\",\"protocol_version\":1,\"device_id\":\"phone\"}");
    a = call(s, &r);
    assert_int_equal(a.status, 201);
    assert_string_equal(jstr(a.json, "device"), "phone");
    assert_int_equal(jint(a.json, "protocol_version"), 1);
    open_ticket(s, &a, &t);
    assert_int_equal(t.protocol_version, 1);
    /* No Host header: the listen address. */
    assert_non_null(strstr(jstr(a.json, "signal_url"), "/v1/signal?v=1"));
    assert_memory_equal(jstr(a.json, "signal_url"), "ws://127.0.0.1:", 15);
    answer_free(&a);
    req_init(&r, HX_HTTP_POST, "/v1/join-tickets");
    req_dev(&r, "alice", NULL);
    req_body(&r, "{\"room\":\"lobby\"}");
    a = call(s, &r);
    assert_string_equal(jstr(a.json, "device"), "default");
    answer_free(&a);

    /* X-Device-Id wins over the body. */
    req_init(&r, HX_HTTP_POST, "/v1/join-tickets");
    req_dev(&r, "alice", "laptop");
    req_body(&r, "{\"room\":\"lobby\",\"device_id\":\"phone\"}");
    a = call(s, &r);
    assert_string_equal(jstr(a.json, "device"), "laptop");
    answer_free(&a);

    /* A public URL, with or without its slash. */
    snprintf(s->cfg.public_url, sizeof s->cfg.public_url, "wss://rtc.example.org/");
    req_init(&r, HX_HTTP_POST, "/v1/join-tickets");
    req_dev(&r, "alice", NULL);
    snprintf(r.host, sizeof r.host, "ignored.example");
    req_body(&r, "{\"room\":\"lobby\"}");
    a = call(s, &r);
    assert_string_equal(jstr(a.json, "signal_url"), "wss://rtc.example.org/v1/signal?v=2");
    answer_free(&a);
}

static void test_dev_ticket_refusals(void **state)
{
    hx_server *s = srv(state);
    hx_http_req r;
    static const char *const bad_users[] = {"a b", "", "x\"y", "x/y"};
    for (size_t i = 0; i < sizeof bad_users / sizeof bad_users[0]; i++) {
        req_init(&r, HX_HTTP_POST, "/v1/join-tickets");
        req_dev(&r, bad_users[i], NULL);
        req_body(&r, "{\"room\":\"lobby\"}");
        answer a = call(s, &r);
        expect_error(&a, 400, "bad_request");
    }
    req_init(&r, HX_HTTP_POST, "/v1/join-tickets");
    req_dev(&r, "alice", "bad device");
    req_body(&r, "{\"room\":\"lobby\"}");
    answer a = call(s, &r);
    expect_error(&a, 400, "bad_request");

    /* A revoked user gets no dev ticket either. */
    int n;
    assert_int_equal(hx_signal_revoke(s, HX_REVOKE_USER, "mallory", hx_now_ms() / 1000 + 1, NULL, &n), 0);
    req_init(&r, HX_HTTP_POST, "/v1/join-tickets");
    req_dev(&r, "mallory", NULL);
    req_body(&r, "{\"room\":\"lobby\"}");
    a = call(s, &r);
    expect_error(&a, 401, "user_revoked");

    /* No credentials at all. */
    a = post(s, "/v1/join-tickets", NULL, "{\"room\":\"lobby\"}");
    expect_error(&a, 401, "auth_required");
    /* An Authorization header that is not Bearer counts as none. */
    a = post(s, "/v1/join-tickets", "Basic YWxpY2U6eA==", "{\"room\":\"lobby\"}");
    expect_error(&a, 401, "auth_required");
    assert_int_equal(count_events(s, "auth.failure"), 3);
}

static void test_dev_auth_disabled(void **state)
{
    hx_server *s = srv(state);
    hx_http_req r;
    req_init(&r, HX_HTTP_POST, "/v1/join-tickets");
    req_dev(&r, "alice", "laptop");
    req_body(&r, "{\"room\":\"lobby\"}");
    answer a = call(s, &r);
    expect_error(&a, 401, "dev_auth_disabled");
    a = post(s, "/v1/join-tickets", NULL, "{\"room\":\"lobby\"}");
    assert_int_equal(a.status, 401);
    /* The hint no longer mentions the dev header. */
    assert_null(strstr(jstr(json_object_get(a.json, "error"), "message"), "X-User-Id"));
    expect_error(&a, 401, "auth_required");
    /* Bearer without keys configured. */
    a = post(s, "/v1/join-tickets", "Bearer a.b.c", "{\"room\":\"lobby\"}");
    expect_error(&a, 401, "token_unknown_key");
    assert_int_equal(count_events(s, "auth.failure"), 3);
}

/* --- bearer tokens --------------------------------------------------------- */

static void test_bearer_ticket(void **state)
{
    hx_server *s = srv(state);
    char auth[4200];
    bearer(auth, sizeof auth,
           claims("alice", "jti-1",
                  json_pack("{s:s, s:s, s:{s:[s,s], s:b, s:b}}", "sid", "sid-1", "device_id", "laptop", "grants",
                            "rooms", "lobby", "annex", "publish", 0, "moderate", 1)));
    answer a = post(s, "/v1/join-tickets", auth, "{\"room\":\"lobby\",\"device_id\":\"ignored\"}");
    if (a.status != 201) fail_msg("status %d: %s", a.status, a.text);
    assert_string_equal(jstr(a.json, "user"), "alice");
    assert_string_equal(jstr(a.json, "device"), "laptop"); /* the claim wins */
    hx_ticket t;
    open_ticket(s, &a, &t);
    assert_string_equal(t.sid, "sid-1");
    assert_string_equal(t.jti, "jti-1");
    assert_in_range(t.token_iat, hx_now_ms() / 1000 - 11, hx_now_ms() / 1000 - 9);
    assert_int_equal(t.grants, HX_GRANT_SUBSCRIBE | HX_GRANT_DATA | HX_GRANT_MODERATE);
    json_t *g = json_object_get(a.json, "grants");
    assert_int_equal(json_array_size(g), 3);
    answer_free(&a);

    /* The same token, for a room outside its grant. */
    a = post(s, "/v1/join-tickets", auth, "{\"room\":\"vault\"}");
    expect_error(&a, 403, "room_not_granted");

    /* Device from the body when the token has none; lower-case scheme. */
    bearer(auth, sizeof auth, claims("bob", "jti-2", NULL));
    auth[0] = 'b';
    a = post(s, "/v1/join-tickets", auth, "{\"room\":\"anywhere\",\"device_id\":\"phone\"}");
    assert_int_equal(a.status, 201);
    assert_string_equal(jstr(a.json, "device"), "phone");
    answer_free(&a);
}

static void test_bearer_refusals(void **state)
{
    hx_server *s = srv(state);
    char auth[4200], tok[4096];
    int n;

    /* Signed with another key. */
    uint8_t other[32];
    memcpy(other, hs_secret, sizeof other);
    other[0] ^= 1;
    sign_token(claims("alice", "j0", NULL), other, tok, sizeof tok);
    snprintf(auth, sizeof auth, "Bearer %s", tok);
    answer a = post(s, "/v1/join-tickets", auth, "{\"room\":\"lobby\"}");
    expect_error(&a, 401, "token_bad_signature");

    a = post(s, "/v1/join-tickets", "Bearer not-a-token", "{\"room\":\"lobby\"}");
    expect_error(&a, 401, "token_malformed");

    bearer(auth, sizeof auth, claims("alice", "j1", json_pack("{s:s}", "aud", "someone-else")));
    a = post(s, "/v1/join-tickets", auth, "{\"room\":\"lobby\"}");
    expect_error(&a, 401, "token_wrong_audience");

    /* Revoked after issue, by jti, sid and user. */
    bearer(auth, sizeof auth, claims("alice", "j2", NULL));
    a = post(s, "/v1/join-tickets", auth, "{\"room\":\"lobby\"}");
    assert_int_equal(a.status, 201);
    answer_free(&a);
    assert_int_equal(hx_signal_revoke(s, HX_REVOKE_JTI, "j2", 0, NULL, &n), 0);
    a = post(s, "/v1/join-tickets", auth, "{\"room\":\"lobby\"}");
    expect_error(&a, 401, "token_revoked");

    bearer(auth, sizeof auth, claims("alice", "j3", json_pack("{s:s}", "sid", "sid-9")));
    assert_int_equal(hx_signal_revoke(s, HX_REVOKE_SID, "sid-9", 0, NULL, &n), 0);
    a = post(s, "/v1/join-tickets", auth, "{\"room\":\"lobby\"}");
    expect_error(&a, 401, "session_revoked");

    bearer(auth, sizeof auth, claims("carol", "j4", NULL));
    assert_int_equal(hx_signal_revoke(s, HX_REVOKE_USER, "carol", hx_now_ms() / 1000 + 1, NULL, &n), 0);
    a = post(s, "/v1/join-tickets", auth, "{\"room\":\"lobby\"}");
    expect_error(&a, 401, "user_revoked");
    /* A token issued after the user's not-before is fine again. */
    json_t *later = claims("carol", "j5", NULL);
    json_object_set_new(later, "iat", json_integer(hx_now_ms() / 1000 + 2));
    bearer(auth, sizeof auth, later);
    a = post(s, "/v1/join-tickets", auth, "{\"room\":\"lobby\"}");
    if (a.status != 201) fail_msg("status %d: %s", a.status, a.text);
    answer_free(&a);

    /* An Authorization header too long to hold. */
    hx_http_req r;
    req_init(&r, HX_HTTP_POST, "/v1/join-tickets");
    req_auth(&r, "Bearer x");
    r.authorization_too_long = true;
    req_body(&r, "{\"room\":\"lobby\"}");
    a = call(s, &r);
    expect_error(&a, 401, "token_too_large");

    assert_int_equal(count_events(s, "auth.failure"), 7);
}

/* --- rate limit ------------------------------------------------------------ */

static void test_rate_limit(void **state)
{
    hx_server *s = srv(state);
    hx_http_req r;
    for (int i = 0; i < 2; i++) {
        req_init(&r, HX_HTTP_POST, "/v1/join-tickets");
        answer a = call(s, &r);
        expect_error(&a, 400, "bad_json");
    }
    req_init(&r, HX_HTTP_POST, "/v1/join-tickets");
    answer a = call(s, &r);
    assert_true(a.retry_after_s > 0);
    expect_error(&a, 429, "rate_limited");
    req_init(&r, HX_HTTP_GET, "/v1/admin/rooms");
    a = call(s, &r);
    expect_error(&a, 429, "rate_limited");
    /* Another address is not affected. */
    req_init(&r, HX_HTTP_POST, "/v1/join-tickets");
    snprintf(r.peer, sizeof r.peer, "2001:db8::7");
    a = call(s, &r);
    assert_int_equal(a.retry_after_s, 0);
    expect_error(&a, 400, "bad_json");
    /* Probes are never rate limited. */
    req_init(&r, HX_HTTP_GET, "/healthz");
    a = call(s, &r);
    assert_int_equal(a.status, 200);
    answer_free(&a);
    a = get(s, "/metrics", NULL);
    assert_non_null(strstr(a.text, "hearth_http_rate_limited_total 2\n"));
    assert_non_null(strstr(a.text, "hearth_http_requests_total{status=\"429\"} 2\n"));
    answer_free(&a);
    assert_int_equal(s->http_buckets.count, 2);
}

/* --- admin ----------------------------------------------------------------- */

static void test_admin_auth(void **state)
{
    hx_server *s = srv(state);
    static const char *const bad[] = {NULL, "", "Bearer", "Bearer ", "Bearer wrong",
                                      ADMIN "x", "Basic " HX_TEST_ADMIN_KEY, "Bearer  " HX_TEST_ADMIN_KEY};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        answer a = get(s, "/v1/admin/rooms", bad[i]);
        expect_error(&a, 401, "admin_auth_required");
    }
    /* Unknown admin paths need the key too (no probing). */
    answer a = get(s, "/v1/admin/nope", NULL);
    expect_error(&a, 401, "admin_auth_required");
    a = get(s, "/v1/admin/nope", ADMIN);
    expect_error(&a, 404, "not_found");
    a = get(s, "/v1/admin/rooms", "bearer " HX_TEST_ADMIN_KEY);
    assert_int_equal(a.status, 200);
    answer_free(&a);
    /* No admin key configured: nothing opens the admin API. */
    s->admin_key[0] = '\0';
    a = get(s, "/v1/admin/rooms", "Bearer ");
    expect_error(&a, 401, "admin_auth_required");
}

static void test_admin_rooms(void **state)
{
    hx_server *s = srv(state);
    answer a = get(s, "/v1/admin/rooms", ADMIN);
    assert_int_equal(a.status, 200);
    assert_int_equal(json_array_size(json_object_get(a.json, "rooms")), 0);
    answer_free(&a);

    hx_test_client c;
    hx_test_client_init(&c);
    hx_session *sess = hx_session_open(s, &hx_test_client_io, &c, 1);
    char t[HX_TICKET_MAX_TEXT + 1], *join = NULL;
    assert_int_equal(hx_test_mint(s, "lobby", "alice", "laptop", "sid-1", "jti-1", 1, t, sizeof t), 0);
    assert_true(asprintf(&join, "{\"type\":\"join\",\"data\":{\"ticket\":\"%s\",\"room\":\"lobby\"}}", t) > 0);
    hx_session_message(sess, join, strlen(join));
    free(join);
    assert_int_equal(sess->state, HX_SESSION_JOINED);

    a = get(s, "/v1/admin/rooms", ADMIN);
    json_t *rooms = json_object_get(a.json, "rooms");
    assert_int_equal(json_array_size(rooms), 1);
    json_t *r0 = json_array_get(rooms, 0);
    assert_string_equal(jstr(r0, "name"), "lobby");
    assert_int_equal(jint(r0, "participants"), 1);
    assert_int_equal(jint(r0, "max_participants"), s->cfg.max_participants);
    assert_true(jint(r0, "created_at_ms") > 0);
    answer_free(&a);

    a = get(s, "/v1/admin/rooms/lobby/participants", ADMIN);
    assert_int_equal(a.status, 200);
    assert_string_equal(jstr(a.json, "room"), "lobby");
    json_t *list = json_object_get(a.json, "participants");
    assert_int_equal(json_array_size(list), 1);
    json_t *p0 = json_array_get(list, 0);
    assert_string_equal(jstr(p0, "id"), sess->p.id);
    assert_string_equal(jstr(p0, "user"), "alice");
    assert_string_equal(jstr(p0, "device"), "laptop");
    assert_string_equal(jstr(p0, "sid"), "sid-1");
    assert_int_equal(jint(p0, "protocol_version"), 1);
    assert_int_equal(json_array_size(json_object_get(p0, "grants")), 3);
    answer_free(&a);

    a = get(s, "/v1/admin/rooms/nope/participants", ADMIN);
    expect_error(&a, 404, "room_not_found");
    a = get(s, "/v1/admin/rooms/bad%20name/participants", ADMIN);
    expect_error(&a, 404, "room_not_found");
    static const char *const bad_paths[] = {"/v1/admin/rooms/lobby", "/v1/admin/rooms//participants",
                                            "/v1/admin/rooms/lobby/participants/x", "/v1/admin/rooms/"};
    for (size_t i = 0; i < sizeof bad_paths / sizeof bad_paths[0]; i++) {
        a = get(s, bad_paths[i], ADMIN);
        expect_error(&a, 404, "not_found");
    }
    a = post(s, "/v1/admin/rooms", ADMIN, "{}");
    expect_error(&a, 405, "method_not_allowed");
    a = post(s, "/v1/admin/rooms/lobby/participants", ADMIN, "{}");
    expect_error(&a, 405, "method_not_allowed");

    hx_session_closed(sess);
    hx_test_client_free(&c);
    a = get(s, "/v1/admin/rooms", ADMIN);
    assert_int_equal(jint(json_array_get(json_object_get(a.json, "rooms"), 0), "participants"), 0);
    answer_free(&a);
}

static void test_admin_join_tickets(void **state)
{
    hx_server *s = srv(state);
    answer a = post(s, "/v1/admin/join-tickets", ADMIN,
                    "{\"room\":\"lobby\",\"user\":\"carol\",\"device\":\"tab\",\"sid\":\"s9\","
                    "\"grants\":{\"publish\":false,\"moderate\":true},\"protocol_version\":1}");
    if (a.status != 201) fail_msg("status %d: %s", a.status, a.text);
    assert_string_equal(jstr(a.json, "user"), "carol");
    assert_string_equal(jstr(a.json, "device"), "tab");
    assert_int_equal(jint(a.json, "protocol_version"), 1);
    hx_ticket t;
    open_ticket(s, &a, &t);
    assert_string_equal(t.sid, "s9");
    assert_int_equal(t.protocol_version, 1);
    assert_int_equal(t.grants, HX_GRANT_SUBSCRIBE | HX_GRANT_DATA | HX_GRANT_MODERATE);
    answer_free(&a);

    a = post(s, "/v1/admin/join-tickets", ADMIN, "{\"room\":\"lobby\",\"user\":\"dave\"}");
    assert_int_equal(a.status, 201);
    open_ticket(s, &a, &t);
    assert_string_equal(t.device, "default");
    assert_string_equal(t.sid, "");
    assert_int_equal(t.protocol_version, HX_PROTO_MAX);
    assert_int_equal(t.grants, HX_GRANT_DEFAULT_FLAGS);
    answer_free(&a);

    static const struct {
        const char *body, *code;
    } bad[] = {
        {"{\"room\":\"lobby\"}", "bad_request"},
        {"{\"user\":\"dave\"}", "bad_request"},
        {"{\"room\":\"lobby\",\"user\":\"a b\"}", "bad_request"},
        {"{\"room\":\"lobby\",\"user\":\"dave\",\"device\":7}", "bad_request"},
        {"{\"room\":\"lobby\",\"user\":\"dave\",\"grants\":[]}", "bad_request"},
        {"{\"room\":\"lobby\",\"user\":\"dave\",\"grants\":{\"publish\":1}}", "bad_request"},
        {"{\"room\":\"lobby\",\"user\":\"dave\",\"protocol_version\":7}", "unsupported_version"},
        {"nope", "bad_json"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        a = post(s, "/v1/admin/join-tickets", ADMIN, bad[i].body);
        expect_error(&a, 400, bad[i].code);
    }
    a = get(s, "/v1/admin/join-tickets", ADMIN);
    expect_error(&a, 405, "method_not_allowed");
}

static void test_admin_revocations_and_events(void **state)
{
    hx_server *s = srv(state);
    static const char *const bad[] = {
        "{}",
        "{\"jti\":\"a\",\"sid\":\"b\"}",
        "{\"jti\":\"a\",\"sid\":\"b\",\"user\":\"c\"}",
        "{\"jti\":\"\"}",
        "{\"jti\":5}",
        "{\"sid\":\"a b\"}",
        "{\"jti\":\"a\",\"not_before\":5}",
        "{\"user\":\"u\",\"not_before\":\"5\"}",
        "{\"user\":\"u\",\"reason\":5}",
        "{\"reason\":\"why\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        answer a = post(s, "/v1/admin/revocations", ADMIN, bad[i]);
        expect_error(&a, 400, "bad_request");
    }
    answer a = get(s, "/v1/admin/revocations", ADMIN);
    assert_int_equal(a.status, 200);
    assert_int_equal(json_array_size(json_object_get(a.json, "revocations")), 0);
    answer_free(&a);

    /* A live session under the sid is disconnected. */
    hx_test_client c;
    hx_test_client_init(&c);
    hx_session *sess = hx_session_open(s, &hx_test_client_io, &c, 2);
    char t[HX_TICKET_MAX_TEXT + 1], *join = NULL;
    assert_int_equal(hx_test_mint(s, "lobby", "alice", "laptop", "s1", "j1", 2, t, sizeof t), 0);
    assert_true(asprintf(&join, "{\"type\":\"join\",\"data\":{\"ticket\":\"%s\",\"room\":\"lobby\"}}", t) > 0);
    hx_session_message(sess, join, strlen(join));
    free(join);
    assert_int_equal(sess->state, HX_SESSION_JOINED);

    int64_t t0 = hx_now_ms();
    a = post(s, "/v1/admin/revocations", ADMIN, "{\"sid\":\"s1\",\"reason\":\"lost laptop\"}");
    if (a.status != 201) fail_msg("status %d: %s", a.status, a.text);
    json_t *rv = json_object_get(a.json, "revocation");
    assert_string_equal(jstr(rv, "kind"), "sid");
    assert_string_equal(jstr(rv, "value"), "s1");
    assert_string_equal(jstr(rv, "reason"), "lost laptop");
    assert_int_equal(jint(rv, "not_before"), 0);
    assert_in_range(jint(rv, "created_at_ms"), t0, hx_now_ms());
    assert_int_equal(jint(a.json, "disconnected"), 1);
    answer_free(&a);
    assert_int_equal(c.close_code, HX_CLOSE_REVOKED);
    assert_string_equal(json_string_value(json_object_get(
                            hx_test_msg_data(hx_test_client_last(&c, "disconnect")), "message")),
                        "lost laptop");
    hx_session_closed(sess);
    hx_test_client_free(&c);

    a = post(s, "/v1/admin/revocations", ADMIN, "{\"user\":\"bob\",\"not_before\":1700000000}");
    assert_int_equal(a.status, 201);
    rv = json_object_get(a.json, "revocation");
    assert_string_equal(jstr(rv, "kind"), "user");
    assert_int_equal(jint(rv, "not_before"), 1700000000);
    assert_true(json_is_null(json_object_get(rv, "reason"))); /* none given */
    assert_int_equal(jint(a.json, "disconnected"), 0);
    answer_free(&a);
    /* user without not_before: now. */
    a = post(s, "/v1/admin/revocations", ADMIN, "{\"user\":\"erin\"}");
    assert_in_range(jint(json_object_get(a.json, "revocation"), "not_before"), t0 / 1000,
                    hx_now_ms() / 1000 + 1);
    answer_free(&a);
    a = post(s, "/v1/admin/revocations", ADMIN, "{\"jti\":\"j-77\"}");
    assert_int_equal(a.status, 201);
    answer_free(&a);
    /* The live set has them. */
    assert_int_equal(hx_revocations_check(&s->revocations, "j-77", NULL, NULL, 0), HX_REVOKED_JTI);
    assert_int_equal(hx_revocations_check(&s->revocations, NULL, "s1", NULL, 0), HX_REVOKED_SID);
    assert_int_equal(hx_revocations_check(&s->revocations, NULL, NULL, "bob", 1699999999), HX_REVOKED_USER);
    assert_int_equal(hx_revocations_check(&s->revocations, NULL, NULL, "bob", 1700000000), HX_NOT_REVOKED);

    a = get(s, "/v1/admin/revocations", ADMIN);
    assert_int_equal(a.status, 200);
    json_t *list = json_object_get(a.json, "revocations");
    assert_int_equal(json_array_size(list), 4);
    bool seen_sid = false, seen_jti = false;
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v) {
        if (!strcmp(jstr(v, "kind"), "sid")) {
            seen_sid = true;
            assert_string_equal(jstr(v, "value"), "s1");
            assert_string_equal(jstr(v, "reason"), "lost laptop");
        }
        if (!strcmp(jstr(v, "kind"), "jti")) {
            seen_jti = true;
            assert_string_equal(jstr(v, "value"), "j-77");
            assert_true(jint(v, "expires_at_ms") > hx_now_ms());
        }
    }
    assert_true(seen_sid && seen_jti);
    answer_free(&a);
    a = call(s, &(hx_http_req){.method = HX_HTTP_DELETE, .path = "/v1/admin/revocations", .authorization = ADMIN,
                               .has_authorization = true, .peer = "192.0.2.1"});
    expect_error(&a, 405, "method_not_allowed");

    /* Events: the audit trail, filtered. */
    a = get(s, "/v1/admin/events?kind=revocation", ADMIN);
    assert_int_equal(a.status, 200);
    list = json_object_get(a.json, "events");
    assert_int_equal(json_array_size(list), 4);
    json_int_t last_id = 0;
    json_array_foreach(list, i, v) {
        assert_string_equal(jstr(v, "kind"), "revocation");
        assert_true(jint(v, "id") > last_id); /* oldest first */
        last_id = jint(v, "id");
        assert_true(jint(v, "ts_ms") > 0);
    }
    json_t *first = json_array_get(list, 0);
    assert_string_equal(jstr(first, "sid"), "s1");
    assert_string_equal(jstr(first, "code"), "lost laptop");
    assert_string_equal(jstr(json_object_get(first, "detail"), "kind"), "sid");
    answer_free(&a);

    a = get(s, "/v1/admin/events?kind=revocation&limit=1", ADMIN);
    assert_int_equal(json_array_size(json_object_get(a.json, "events")), 1);
    answer_free(&a);
    a = get(s, "/v1/admin/events?kind=revocation&user=bob", ADMIN);
    list = json_object_get(a.json, "events");
    assert_int_equal(json_array_size(list), 1);
    assert_string_equal(jstr(json_array_get(list, 0), "user"), "bob");
    answer_free(&a);
    a = get(s, "/v1/admin/events?room=lobby", ADMIN);
    list = json_object_get(a.json, "events");
    assert_true(json_array_size(list) >= 2); /* the join and the leave */
    json_array_foreach(list, i, v) assert_string_equal(jstr(v, "room"), "lobby");
    answer_free(&a);
    a = get(s, "/v1/admin/events?kind=session.join", ADMIN);
    list = json_object_get(a.json, "events");
    assert_int_equal(json_array_size(list), 1);
    json_int_t join_id = jint(json_array_get(list, 0), "id");
    answer_free(&a);
    char path[96];
    snprintf(path, sizeof path, "/v1/admin/events?kind=session.join&after=%lld", (long long)join_id);
    a = get(s, path, ADMIN);
    assert_int_equal(json_array_size(json_object_get(a.json, "events")), 0);
    answer_free(&a);
    a = get(s, "/v1/admin/events?kind=no.such.kind", ADMIN);
    assert_int_equal(json_array_size(json_object_get(a.json, "events")), 0);
    answer_free(&a);
    /* Without a filter: everything (at least the four revocations and the session events). */
    a = get(s, "/v1/admin/events", ADMIN);
    assert_true(json_array_size(json_object_get(a.json, "events")) >= 6);
    answer_free(&a);
    a = post(s, "/v1/admin/events", ADMIN, "{}");
    expect_error(&a, 405, "method_not_allowed");
}

static void test_admin_keys_reload(void **state)
{
    hx_server *s = srv(state);
    /* No JWKS file configured: refused, nothing changes. */
    answer a = post(s, "/v1/admin/keys/reload", ADMIN, NULL);
    expect_error(&a, 500, "internal_error");
    a = get(s, "/v1/admin/keys/reload", ADMIN);
    expect_error(&a, 405, "method_not_allowed");
    /* With a file. */
    char path[sizeof s->cfg.jwks_file];
    assert_true(strlen(s->cfg.data_dir) + 11 < sizeof path);
    memcpy(path, s->cfg.data_dir, strlen(s->cfg.data_dir));
    strcpy(path + strlen(s->cfg.data_dir), "/jwks.json");
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("{\"keys\":[{\"kty\":\"oct\",\"kid\":\"k1\",\"k\":\"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY\"}]}", f);
    fclose(f);
    memcpy(s->cfg.jwks_file, path, sizeof path);
    a = post(s, "/v1/admin/keys/reload", ADMIN, NULL);
    if (a.status != 200) fail_msg("status %d: %s", a.status, a.text);
    assert_int_equal(jint(a.json, "keys"), 1);
    answer_free(&a);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("{\"keys\":[", f);
    fclose(f);
    a = post(s, "/v1/admin/keys/reload", ADMIN, NULL);
    expect_error(&a, 500, "internal_error");
    assert_non_null(s->jwks); /* the old keys stay */
    assert_int_equal(hx_jwks_count(s->jwks), 1);
}

/* --- query helpers --------------------------------------------------------- */

static void test_pct_decode(void **state)
{
    static const struct {
        const char *in, *out; /* out NULL: refused */
    } cases[] = {
        {"", ""},
        {"plain", "plain"},
        {"a%20b", "a b"},
        {"a+b", "a b"},
        {"%41%42c", "ABc"},
        {"%7e%7E", "~~"},
        {"%2B", "+"},
        {"100%25", "100%"},
        {"%", NULL},
        {"%4", NULL},
        {"abc%", NULL},
        {"%zz", NULL},
        {"%g1", NULL},
        {"%1g", NULL},
        {"%00", NULL},
        {"a%00b", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[64];
        snprintf(buf, sizeof buf, "%s", cases[i].in);
        int rc = hx_api_pct_decode(buf);
        if (!cases[i].out) {
            if (rc != -1) fail_msg("'%s' should be refused", cases[i].in);
        } else {
            if (rc != 0) fail_msg("'%s' refused", cases[i].in);
            assert_string_equal(buf, cases[i].out);
        }
    }
}

static void test_query(void **state)
{
    hx_http_req r;
    char out[17];
    memset(&r, 0, sizeof r);
    snprintf(r.query, sizeof r.query, "kindx=1&kind=two&room=a%%20b&&empty=&flag&user=%%zz&long=0123456789abcdef");
    assert_true(hx_api_query(&r, "kind", out, sizeof out));
    assert_string_equal(out, "two");
    assert_true(hx_api_query(&r, "kindx", out, sizeof out));
    assert_string_equal(out, "1");
    assert_true(hx_api_query(&r, "room", out, sizeof out));
    assert_string_equal(out, "a b");
    assert_true(hx_api_query(&r, "empty", out, sizeof out));
    assert_string_equal(out, "");
    assert_false(hx_api_query(&r, "flag", out, sizeof out)); /* no '=' */
    assert_false(hx_api_query(&r, "user", out, sizeof out)); /* bad escape */
    assert_false(hx_api_query(&r, "long", out, 16)); /* 16 bytes do not fit with the NUL */
    assert_true(hx_api_query(&r, "long", out, sizeof out));
    assert_false(hx_api_query(&r, "missing", out, sizeof out));
    assert_false(hx_api_query(&r, "kin", out, sizeof out));
    assert_false(hx_api_query(&r, "", out, sizeof out));
    r.query[0] = '\0';
    assert_false(hx_api_query(&r, "kind", out, sizeof out));
    /* The first occurrence wins. */
    snprintf(r.query, sizeof r.query, "a=1&a=2");
    assert_true(hx_api_query(&r, "a", out, sizeof out));
    assert_string_equal(out, "1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_healthz_readyz, setup, teardown),
        cmocka_unit_test_setup_teardown(test_metrics, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_found_and_methods, setup, teardown),
        cmocka_unit_test_setup_teardown(test_body_too_large, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_json_and_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dev_ticket, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dev_ticket_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dev_auth_disabled, setup_prod, teardown),
        cmocka_unit_test_setup_teardown(test_bearer_ticket, setup_jwt, teardown),
        cmocka_unit_test_setup_teardown(test_bearer_refusals, setup_jwt, teardown),
        cmocka_unit_test_setup_teardown(test_rate_limit, setup_slow, teardown),
        cmocka_unit_test_setup_teardown(test_admin_auth, setup, teardown),
        cmocka_unit_test_setup_teardown(test_admin_rooms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_admin_join_tickets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_admin_revocations_and_events, setup, teardown),
        cmocka_unit_test_setup_teardown(test_admin_keys_reload, setup, teardown),
        cmocka_unit_test(test_pct_decode),
        cmocka_unit_test(test_query),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
