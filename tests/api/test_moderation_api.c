/*
 * Unit tests for the admin API's moderation calls (src/api/moderation.c) on
 * the socketless test server: an operator's ban and unban (and the door they
 * shut: POST /v1/join-tickets answers 403 banned), the status of each
 * refusal, the sanctions and votes lists, un-revoking, and a room's policy.
 */
#include "support/test_http.h"
#include "support/test_server.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define ADMIN "Bearer " HX_TEST_ADMIN_KEY

static answer dev_ticket(hx_server *s, const char *user)
{
    hx_http_req r;
    req_init(&r, HX_HTTP_POST, "/v1/join-tickets");
    req_dev(&r, user, "laptop");
    req_body(&r, "{\"room\":\"lobby\"}");
    return call(s, &r);
}

static void test_ban_unban(void **state)
{
    hx_server *s = &((hx_test_server *)*state)->srv;
    answer a = post(s, "/v1/admin/moderation", ADMIN, "{\"action\":\"ban\",\"user\":\"mallory\",\"reason\":\"raid\"}");
    assert_int_equal(a.status, 201);
    assert_int_equal(strncmp(jstr(a.json, "id"), "m_", 2), 0);
    answer_free(&a);
    a = dev_ticket(s, "mallory");
    expect_error(&a, 403, "banned");
    a = dev_ticket(s, "alice");
    assert_int_equal(a.status, 201);
    answer_free(&a);

    a = get(s, "/v1/admin/moderation/sanctions", ADMIN);
    assert_int_equal(a.status, 200);
    json_t *x = json_array_get(json_object_get(a.json, "sanctions"), 0);
    assert_string_equal(jstr(x, "kind"), "ban");
    assert_string_equal(jstr(x, "user"), "mallory");
    assert_string_equal(jstr(x, "actor"), "operator");
    answer_free(&a);

    a = post(s, "/v1/admin/moderation", ADMIN, "{\"action\":\"ban\",\"user\":\"mallory\"}");
    expect_error(&a, 409, "already_banned");
    a = post(s, "/v1/admin/moderation", ADMIN, "{\"action\":\"unban\",\"user\":\"mallory\"}");
    assert_int_equal(a.status, 201);
    answer_free(&a);
    a = post(s, "/v1/admin/moderation", ADMIN, "{\"action\":\"unban\",\"user\":\"mallory\"}");
    expect_error(&a, 409, "not_banned");
    a = dev_ticket(s, "mallory");
    assert_int_equal(a.status, 201);
    answer_free(&a);
}

static void test_refusals(void **state)
{
    hx_server *s = &((hx_test_server *)*state)->srv;
    answer a = post(s, "/v1/admin/moderation", NULL, "{\"action\":\"ban\",\"user\":\"x\"}");
    expect_error(&a, 401, "admin_auth_required");
    a = post(s, "/v1/admin/moderation", ADMIN, "{\"action\":\"smite\",\"user\":\"x\"}");
    expect_error(&a, 400, "unknown_action");
    a = post(s, "/v1/admin/moderation", ADMIN, "{\"action\":\"kick\",\"user\":\"x\"}");
    expect_error(&a, 400, "bad_request"); /* kick needs a room */
    a = post(s, "/v1/admin/moderation", ADMIN, "{\"action\":\"kick\",\"user\":\"x\",\"room\":\"nowhere\"}");
    expect_error(&a, 404, "not_found");
    a = post(s, "/v1/admin/moderation", ADMIN, "{\"action\":\"timeout\",\"user\":\"x\",\"room\":\"r\",\"propose\":true}");
    expect_error(&a, 400, "bad_request");
    a = post(s, "/v1/admin/moderation", ADMIN, "not json");
    expect_error(&a, 400, "bad_json");
    a = get(s, "/v1/admin/moderation", ADMIN);
    expect_error(&a, 405, "method_not_allowed");
    a = get(s, "/v1/admin/moderation/votes", ADMIN);
    assert_int_equal(a.status, 200);
    assert_int_equal(json_array_size(json_object_get(a.json, "votes")), 0);
    answer_free(&a);
}

static void test_unrevoke(void **state)
{
    hx_server *s = &((hx_test_server *)*state)->srv;
    answer a = post(s, "/v1/admin/revocations", ADMIN, "{\"user\":\"alice\"}");
    assert_int_equal(a.status, 201);
    answer_free(&a);
    a = dev_ticket(s, "alice");
    expect_error(&a, 401, "user_revoked");
    a = post(s, "/v1/admin/unrevoke", ADMIN, "{\"user\":\"alice\",\"reason\":\"mistake\"}");
    assert_int_equal(a.status, 200);
    assert_string_equal(jstr(json_object_get(a.json, "unrevoked"), "kind"), "user");
    answer_free(&a);
    a = dev_ticket(s, "alice");
    assert_int_equal(a.status, 201);
    answer_free(&a);
    a = post(s, "/v1/admin/unrevoke", ADMIN, "{\"user\":\"alice\"}");
    expect_error(&a, 404, "not_revoked");
    a = post(s, "/v1/admin/unrevoke", ADMIN, "{\"user\":\"alice\",\"sid\":\"s\"}");
    expect_error(&a, 400, "bad_request");
}

static void test_room_policy(void **state)
{
    hx_server *s = &((hx_test_server *)*state)->srv;
    answer a = get(s, "/v1/admin/rooms/lobby/policy", ADMIN);
    assert_int_equal(a.status, 200);
    assert_false(json_is_true(json_object_get(a.json, "custom")));
    assert_string_equal(jstr(json_object_get(a.json, "policy"), "timeout_policy"), "listen_only");
    answer_free(&a);
    a = post(s, "/v1/admin/rooms/lobby/policy", ADMIN, "{\"timeout_policy\":\"deny_join\",\"vote_window_s\":60}");
    assert_int_equal(a.status, 200);
    assert_true(json_is_true(json_object_get(a.json, "custom")));
    assert_int_equal(jint(json_object_get(a.json, "policy"), "vote_window_s"), 60);
    assert_string_equal(jstr(json_object_get(a.json, "policy"), "ratification"), "required"); /* the server's */
    answer_free(&a);
    a = post(s, "/v1/admin/rooms/lobby/policy", ADMIN, "{\"quorum_pct\":150}");
    expect_error(&a, 400, "bad_request");
    hx_http_req r;
    req_init(&r, HX_HTTP_DELETE, "/v1/admin/rooms/lobby/policy");
    req_auth(&r, ADMIN);
    a = call(s, &r);
    assert_int_equal(a.status, 200);
    assert_false(json_is_true(json_object_get(a.json, "custom")));
    answer_free(&a);
    a = get(s, "/v1/admin/rooms/lobby/policy", NULL);
    expect_error(&a, 401, "admin_auth_required");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ban_unban, hx_test_server_setup, hx_test_server_teardown),
        cmocka_unit_test_setup_teardown(test_refusals, hx_test_server_setup, hx_test_server_teardown),
        cmocka_unit_test_setup_teardown(test_unrevoke, hx_test_server_setup, hx_test_server_teardown),
        cmocka_unit_test_setup_teardown(test_room_policy, hx_test_server_setup, hx_test_server_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
