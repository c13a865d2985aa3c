/*
 * Unit tests for the admin route table (src/api/admin_routes.c), which
 * hx_api_admin answers by, and for closing a room
 * (POST /v1/admin/rooms/{room}/close, src/api/room_close.c) on the
 * socketless test server with recording clients.
 */
#define _GNU_SOURCE /* asprintf */
#include "support/test_http.h"
#include "support/test_server.h"

#include "auth/ticket.h"
#include "signal/session.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define ADMIN "Bearer " HX_TEST_ADMIN_KEY

static void test_route_table(void **state)
{
    (void)state;
    char allowed[32];
    assert_int_equal(hx_api_admin_route("rooms", HX_HTTP_GET, allowed, sizeof allowed), 0);
    assert_int_equal(
        hx_api_admin_route("rooms/lobby/participants", HX_HTTP_GET, allowed, sizeof allowed), 0);
    assert_int_equal(hx_api_admin_route("rooms/lobby/close", HX_HTTP_POST, allowed, sizeof allowed),
                     0);
    assert_int_equal(
        hx_api_admin_route("rooms/lobby/policy", HX_HTTP_DELETE, allowed, sizeof allowed), 0);
    /* A path served with other methods: -2 and which. */
    assert_int_equal(hx_api_admin_route("revocations", HX_HTTP_DELETE, allowed, sizeof allowed),
                     -2);
    assert_string_equal(allowed, "GET or POST");
    assert_int_equal(hx_api_admin_route("drain", HX_HTTP_GET, allowed, sizeof allowed), -2);
    assert_string_equal(allowed, "POST");
    /* Not a route: an empty {room}, a segment too many or too few, a prefix. */
    assert_int_equal(
        hx_api_admin_route("rooms//participants", HX_HTTP_GET, allowed, sizeof allowed), -1);
    assert_int_equal(
        hx_api_admin_route("rooms/a/b/participants", HX_HTTP_GET, allowed, sizeof allowed), -1);
    assert_int_equal(hx_api_admin_route("rooms/lobby", HX_HTTP_GET, allowed, sizeof allowed), -1);
    assert_int_equal(hx_api_admin_route("room", HX_HTTP_GET, allowed, sizeof allowed), -1);
    assert_int_equal(hx_api_admin_route("roomsx", HX_HTTP_GET, allowed, sizeof allowed), -1);
    assert_int_equal(hx_api_admin_route("", HX_HTTP_GET, allowed, sizeof allowed), -1);
    /* Every entry matches itself with a room in place of {room}. */
    for (size_t i = 0; i < hx_admin_n_routes; i++) {
        char path[128], *p = path;
        for (const char *q = hx_admin_routes[i].path; *q;)
            if (!strncmp(q, "{room}", 6)) {
                p += sprintf(p, "r1");
                q += 6;
            } else {
                *p++ = *q++;
            }
        *p = '\0';
        hx_http_method m = !strcmp(hx_admin_routes[i].method, "GET")    ? HX_HTTP_GET
                           : !strcmp(hx_admin_routes[i].method, "POST") ? HX_HTTP_POST
                                                                        : HX_HTTP_DELETE;
        assert_int_equal(hx_api_admin_route(path, m, allowed, sizeof allowed), 0);
    }
}

static hx_session *join(hx_server *s, hx_test_client *c, const char *room, const char *user)
{
    char t[HX_TICKET_MAX_TEXT + 1], *msg = NULL;
    hx_test_client_init(c);
    hx_session *sess = hx_session_open(s, &hx_test_client_io, c, 2);
    assert_int_equal(hx_test_mint(s, room, user, "laptop", "", "", 2, t, sizeof t), 0);
    assert_true(
        asprintf(&msg,
                 "{\"type\":\"join\",\"id\":\"1\",\"data\":{\"ticket\":\"%s\",\"room\":\"%s\"}}", t,
                 room) > 0);
    hx_session_message(sess, msg, strlen(msg));
    free(msg);
    assert_int_equal(sess->state, HX_SESSION_JOINED);
    return sess;
}

static void test_room_close(void **state)
{
    hx_server *s = &((hx_test_server *)*state)->srv;
    hx_test_client ca, cb, cc;
    hx_session *a = join(s, &ca, "lobby", "alice"), *b = join(s, &cb, "lobby", "bob"),
               *c = join(s, &cc, "other", "carol");
    assert_int_equal(hx_test_participants(s), 3);

    answer r = post(s, "/v1/admin/rooms/lobby/close", ADMIN, "{\"reason\":\"maintenance\"}");
    assert_int_equal(r.status, 200);
    assert_string_equal(jstr(r.json, "room"), "lobby");
    assert_int_equal(jint(r.json, "disconnected"), 2);
    answer_free(&r);
    for (hx_test_client *k = &ca; k; k = k == &ca ? &cb : NULL) {
        json_t *d = hx_test_msg_data(hx_test_client_last(k, "disconnect"));
        assert_string_equal(jstr(d, "reason"), "room_closed");
        assert_string_equal(jstr(d, "message"), "maintenance");
        assert_int_equal(k->close_code, HX_CLOSE_MODERATED);
    }
    assert_int_equal(cc.close_code, 0); /* another room: untouched */
    assert_int_equal(hx_test_participants(s), 1);

    r = get(s, "/v1/admin/events?kind=room.close", ADMIN);
    json_t *ev = json_array_get(json_object_get(r.json, "events"), 0);
    assert_string_equal(jstr(ev, "room"), "lobby");
    assert_string_equal(jstr(ev, "code"), "maintenance");
    assert_int_equal(jint(json_object_get(ev, "detail"), "participants"), 2);
    answer_free(&r);

    /* No body is fine; a room that is not open, a bad reason, the wrong method are not. */
    r = post(s, "/v1/admin/rooms/other/close", ADMIN, NULL);
    assert_int_equal(r.status, 200);
    assert_int_equal(jint(r.json, "disconnected"), 1);
    answer_free(&r);
    r = post(s, "/v1/admin/rooms/nowhere/close", ADMIN, NULL);
    expect_error(&r, 404, "room_not_found");
    r = post(s, "/v1/admin/rooms/lobby/close", ADMIN, "{\"reason\":7}");
    expect_error(&r, 400, "bad_request");
    r = get(s, "/v1/admin/rooms/lobby/close", ADMIN);
    expect_error(&r, 405, "method_not_allowed");
    r = post(s, "/v1/admin/rooms/lobby/close", NULL, NULL);
    expect_error(&r, 401, "admin_auth_required");

    hx_session_closed(a);
    hx_session_closed(b);
    hx_session_closed(c);
    hx_test_client_free(&ca);
    hx_test_client_free(&cb);
    hx_test_client_free(&cc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_route_table),
        cmocka_unit_test_setup_teardown(test_room_close, hx_test_server_setup,
                                        hx_test_server_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
