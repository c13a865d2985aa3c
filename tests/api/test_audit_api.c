/*
 * Unit tests for the audit endpoints (src/api/audit.c) through hx_api_handle
 * on the socketless test server: GET /v1/admin/audit/verify before and
 * after the database file is edited behind the server's back, and the
 * events endpoint's time window and JSON lines export.
 */
#include "api/api.h"

#include "support/test_server.h"

#include <setjmp.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

typedef struct reply {
    int status;
    const char *type;
    char *body;   /* owned */
    json_t *json; /* the body, when it is JSON */
} reply;

/* One admin GET (admin false: without the key). */
static reply admin_get(hx_server *s, const char *target, bool admin)
{
    hx_http_req req = {.method = HX_HTTP_GET};
    hx_http_resp resp;
    const char *q = strchr(target, '?');

    snprintf(req.path, sizeof req.path, "%.*s", (int)(q ? q - target : (int)strlen(target)),
             target);
    snprintf(req.query, sizeof req.query, "%s", q ? q + 1 : "");
    snprintf(req.peer, sizeof req.peer, "198.51.100.7");
    if (admin) {
        snprintf(req.authorization, sizeof req.authorization, "Bearer %s", HX_TEST_ADMIN_KEY);
        req.has_authorization = true;
    }
    hx_api_handle(s, &req, &resp);
    reply r = {resp.status, resp.content_type, resp.body, NULL};
    assert_non_null(r.body);
    if (!strcmp(r.type, "application/json")) assert_non_null(r.json = json_loads(r.body, 0, NULL));
    return r;
}

static void reply_free(reply *r)
{
    json_decref(r->json);
    free(r->body);
}

static json_int_t member_int(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    if (!json_is_integer(v)) fail_msg("'%s' is not an integer", key);
    return json_integer_value(v);
}

static const char *member_str(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    if (!json_is_string(v)) fail_msg("'%s' is not a string", key);
    return json_string_value(v);
}

static int setup(void **state)
{
    hx_test_server *t = calloc(1, sizeof *t);
    if (!t || hx_test_server_init(t, NULL, NULL)) {
        if (t) hx_test_server_free(t);
        free(t);
        return -1;
    }
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    hx_test_server *t = *state;
    size_t open = hx_test_server_free(t);
    free(t);
    return open == 0 ? 0 : -1;
}

/* Events 1..n at ts 100, 200, ...: odd ones in room "a", even ones in "b", the
 * last one on the server chain. */
static void fill(hx_server *s, int n)
{
    for (int i = 1; i <= n; i++) {
        const char *room = i == n ? NULL : i % 2 ? "a" : "b";
        hx_event ev = {.ts_ms = i * 100, .kind = "session.join", .room = room, .user = "u"};
        assert_int_equal(s->store->ops->append_event(s->store, &ev), HX_STORE_OK);
    }
}

/* Raw SQL on the server's database file, as someone with a shell would. */
static void tamper(hx_test_server *t, const char *sql)
{
    char path[sizeof t->dir + 16];
    sqlite3 *db = NULL;
    snprintf(path, sizeof path, "%s/hearth.db", t->dir);
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) fail_msg("%s", sqlite3_errmsg(db));
    sqlite3_close(db);
}

static void test_verify(void **state)
{
    hx_test_server *t = *state;
    hx_server *s = &t->srv;

    fill(s, 5);
    reply r = admin_get(s, "/v1/admin/audit/verify", true);
    assert_int_equal(r.status, 200);
    assert_true(json_is_true(json_object_get(r.json, "ok")));
    assert_int_equal(member_int(r.json, "chains"), 3);
    assert_int_equal(member_int(r.json, "records"), 5);
    assert_int_equal(member_int(r.json, "redacted"), 0);
    assert_int_equal(member_int(r.json, "problems_total"), 0);
    assert_int_equal(json_array_size(json_object_get(r.json, "problems")), 0);
    reply_free(&r);

    tamper(t,
           "UPDATE events SET user_id = 'mallory' WHERE id = 3; DELETE FROM events WHERE id = 5");
    r = admin_get(s, "/v1/admin/audit/verify", true);
    assert_int_equal(r.status, 200);
    assert_true(json_is_false(json_object_get(r.json, "ok")));
    assert_int_equal(member_int(r.json, "problems_total"), 2);
    json_t *p = json_array_get(json_object_get(r.json, "problems"), 0);
    assert_string_equal(member_str(p, "room"), "(server)");
    assert_true(json_is_null(json_object_get(p, "id"))); /* the tail is gone */
    assert_int_equal(member_int(p, "seq"), 1);
    assert_string_equal(member_str(p, "what"), "missing");
    p = json_array_get(json_object_get(r.json, "problems"), 1);
    assert_string_equal(member_str(p, "room"), "a");
    assert_int_equal(member_int(p, "id"), 3);
    assert_int_equal(member_int(p, "seq"), 2);
    assert_string_equal(member_str(p, "what"), "changed");
    reply_free(&r);

    /* One chain at a time. */
    r = admin_get(s, "/v1/admin/audit/verify?room=b", true);
    assert_true(json_is_true(json_object_get(r.json, "ok")));
    assert_int_equal(member_int(r.json, "chains"), 1);
    assert_int_equal(member_int(r.json, "records"), 2);
    reply_free(&r);
    r = admin_get(s, "/v1/admin/audit/verify?room=%28server%29", true);
    assert_true(json_is_false(json_object_get(r.json, "ok")));
    assert_int_equal(member_int(r.json, "problems_total"), 1);
    reply_free(&r);
}

static void test_verify_lists_at_most_100(void **state)
{
    hx_test_server *t = *state;
    hx_server *s = &t->srv;

    fill(s, 130);
    tamper(t, "UPDATE events SET user_id = 'x'");
    reply r = admin_get(s, "/v1/admin/audit/verify", true);
    assert_int_equal(member_int(r.json, "problems_total"), 130);
    assert_int_equal(json_array_size(json_object_get(r.json, "problems")), 100);
    reply_free(&r);
}

static void test_verify_needs_admin_and_get(void **state)
{
    hx_server *s = &((hx_test_server *)*state)->srv;
    reply r = admin_get(s, "/v1/admin/audit/verify", false);
    assert_int_equal(r.status, 401);
    reply_free(&r);

    hx_http_req req = {.method = HX_HTTP_POST, .has_authorization = true};
    hx_http_resp resp;
    snprintf(req.path, sizeof req.path, "/v1/admin/audit/verify");
    snprintf(req.authorization, sizeof req.authorization, "Bearer %s", HX_TEST_ADMIN_KEY);
    hx_api_handle(s, &req, &resp);
    assert_int_equal(resp.status, 405);
    hx_http_resp_free(&resp);
}

/* Each line of a JSON lines body, parsed; returns how many. */
static size_t parse_lines(const char *body, json_t **out, size_t max)
{
    size_t n = 0;
    for (const char *l = body; *l; n++) {
        const char *nl = strchr(l, '\n');
        assert_non_null(nl); /* every line ends */
        assert_true(n < max);
        out[n] = json_loadb(l, (size_t)(nl - l), 0, NULL);
        assert_true(json_is_object(out[n]));
        l = nl + 1;
    }
    return n;
}

static void test_events_jsonl_and_window(void **state)
{
    hx_server *s = &((hx_test_server *)*state)->srv;
    json_t *line[8];

    fill(s, 5);
    reply r = admin_get(s, "/v1/admin/events?format=jsonl", true);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.type, "application/x-ndjson");
    assert_int_equal(parse_lines(r.body, line, 8), 5);
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(member_int(line[i], "id"), (json_int_t)i + 1);
        assert_int_equal(member_int(line[i], "ts_ms"), (json_int_t)(i + 1) * 100);
        assert_int_equal(strlen(member_str(line[i], "hash")), 64);
        assert_int_equal(strlen(member_str(line[i], "prev_hash")), 64);
        assert_int_equal(strlen(member_str(line[i], "content_hash")), 64);
    }
    assert_int_equal(member_int(line[2], "seq"), 2); /* room a: events 1, 3 */
    /* Event 3 links to event 1. */
    assert_string_equal(member_str(line[2], "prev_hash"), member_str(line[0], "hash"));
    for (size_t i = 0; i < 5; i++)
        json_decref(line[i]);
    reply_free(&r);

    /* Paging and filters work as for the JSON list. */
    r = admin_get(s, "/v1/admin/events?format=jsonl&room=a&after=1&limit=1", true);
    assert_int_equal(parse_lines(r.body, line, 8), 1);
    assert_int_equal(member_int(line[0], "id"), 3);
    json_decref(line[0]);
    reply_free(&r);
    r = admin_get(s, "/v1/admin/events?format=jsonl&since=200&until=400", true);
    assert_int_equal(parse_lines(r.body, line, 8), 3);
    for (size_t i = 0; i < 3; i++)
        json_decref(line[i]);
    reply_free(&r);
    r = admin_get(s, "/v1/admin/events?format=jsonl&since=9999", true);
    assert_string_equal(r.body, "");
    reply_free(&r);

    /* The JSON list has the chain fields too, and the same window. */
    r = admin_get(s, "/v1/admin/events?until=200", true);
    json_t *list = json_object_get(r.json, "events");
    assert_int_equal(json_array_size(list), 2);
    assert_int_equal(member_int(json_array_get(list, 1), "seq"), 1);
    reply_free(&r);

    static const char *const bad[] = {"/v1/admin/events?since=yesterday",
                                      "/v1/admin/events?until=12x", "/v1/admin/events?format=xml"};
    for (size_t i = 0; i < 3; i++) {
        r = admin_get(s, bad[i], true);
        assert_int_equal(r.status, 400);
        reply_free(&r);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_verify, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verify_lists_at_most_100, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verify_needs_admin_and_get, setup, teardown),
        cmocka_unit_test_setup_teardown(test_events_jsonl_and_window, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
