/*
 * Unit tests for signal/registry.c: sessions found, notified and
 * disconnected by who they are, and a revocation published on the bus
 * (not called on the registry) closing exactly the sessions it matches.
 */
#include "support/test_peer.h"

#include "common/clock.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

typedef struct world {
    hx_test_server t;
    peer a1, a2, b, lobby; /* alice on two devices in "r", bob in "r", carol in "lobby" */
} world;

static int setup(void **state)
{
    world *w = calloc(1, sizeof *w);
    if (!w || hx_test_server_init(&w->t, NULL, NULL)) return -1;
    hx_server *s = &w->t.srv;
    peer_open(s, &w->a1, 2);
    peer_open(s, &w->a2, 2);
    peer_open(s, &w->b, 2);
    peer_open(s, &w->lobby, 2);
    join_ok(s, &w->a1, "r", "alice", "phone");
    join_ok(s, &w->a2, "r", "alice", "laptop");
    join_ok(s, &w->b, "r", "bob", "d");
    join_ok(s, &w->lobby, "lobby", "carol", "d");
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    world *w = *state;
    peer_free(&w->a1);
    peer_free(&w->a2);
    peer_free(&w->b);
    peer_free(&w->lobby);
    size_t open = hx_test_server_free(&w->t);
    free(w);
    return open == 0 ? 0 : -1;
}

static void count_by_match(void **state)
{
    world *w = *state;
    hx_server *s = &w->t.srv;
    assert_int_equal(hx_sessions_count(s), 4);
    hx_session_match alice = {.user = "alice"}, in_r = {.room = "r"}, phone = {.user = "alice", .device = "phone"},
                     nobody = {.user = "alice", .room = "lobby"}, by_id = {.participant = w->b.sess->p.id};
    assert_int_equal(hx_sessions_each(s, hx_session_matches, &alice, NULL, NULL), 2);
    assert_int_equal(hx_sessions_each(s, hx_session_matches, &in_r, NULL, NULL), 3);
    assert_int_equal(hx_sessions_each(s, hx_session_matches, &phone, NULL, NULL), 1);
    assert_int_equal(hx_sessions_each(s, hx_session_matches, &nobody, NULL, NULL), 0);
    assert_ptr_equal(hx_sessions_find(s, hx_session_matches, &by_id), w->b.sess);
}

static void notify_and_kick(void **state)
{
    world *w = *state;
    hx_server *s = &w->t.srv;
    hx_session_match alice = {.user = "alice", .joined_only = true};
    json_t *d = json_pack("{s:s}", "hello", "you");
    assert_int_equal(hx_sessions_notify(s, hx_session_matches, &alice, "notice", d), 2);
    json_decref(d);
    assert_string_equal(str_at(last_data(&w->a1, "notice"), "hello"), "you");
    assert_string_equal(str_at(last_data(&w->a2, "notice"), "hello"), "you");
    assert_int_equal(hx_test_client_count(&w->b.c, "notice"), 0);

    assert_int_equal(hx_sessions_kick(s, hx_session_matches, &alice, "kicked", 4008, "bye"), 2);
    assert_int_equal(w->a1.c.close_code, 4008);
    assert_int_equal(w->a2.c.close_code, 4008);
    assert_string_equal(str_at(last_data(&w->a1, "disconnect"), "reason"), "kicked");
    assert_int_equal(w->b.c.close_code, 0);
    /* A closing session no longer matches: a second kick finds nobody. */
    assert_int_equal(hx_sessions_kick(s, hx_session_matches, &alice, "kicked", 4008, "bye"), 0);
}

static void revocation_travels_by_bus(void **state)
{
    world *w = *state;
    hx_server *s = &w->t.srv;
    /* Published as another node would, straight onto the bus. */
    hx_bus_msg m = {.kind = HX_BUS_REVOKE, .at = hx_now_ms() / 1000 + 1};
    hx_bus_set(m.action, "user");
    hx_bus_set(m.value, "bob");
    hx_bus_set(m.text, "gone");
    assert_int_equal(hx_bus_publish(s->bus, &m), HX_BUS_OK);
    assert_int_equal(w->b.c.close_code, HX_CLOSE_REVOKED);
    assert_string_equal(str_at(last_data(&w->b, "disconnect"), "message"), "gone");
    assert_int_equal(w->a1.c.close_code, 0);
    assert_int_equal(w->lobby.c.close_code, 0);
    /* The core service reaches sessions the same way, and says how many it closed here. */
    int n = -1;
    assert_int_equal(hx_signal_revoke(s, HX_REVOKE_USER, "carol", hx_now_ms() / 1000 + 1, NULL, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(w->lobby.c.close_code, HX_CLOSE_REVOKED);
}

static void room_event_by_bus(void **state)
{
    world *w = *state;
    hx_bus_msg m = {.kind = HX_BUS_ROOM_EVENT};
    hx_bus_set(m.room, "r");
    hx_bus_set(m.action, "room.notice");
    hx_bus_set(m.text, "{\"text\":\"maintenance at noon\"}");
    assert_int_equal(hx_bus_publish(w->t.srv.bus, &m), HX_BUS_OK);
    assert_string_equal(str_at(last_data(&w->a1, "room.notice"), "text"), "maintenance at noon");
    assert_string_equal(str_at(last_data(&w->b, "room.notice"), "text"), "maintenance at noon");
    assert_int_equal(hx_test_client_count(&w->lobby.c, "room.notice"), 0);
    hx_bus_set(m.text, "not json");
    assert_int_equal(hx_bus_publish(w->t.srv.bus, &m), HX_BUS_OK); /* dropped, nobody told */
    assert_int_equal(hx_test_client_count(&w->a1.c, "room.notice"), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(count_by_match, setup, teardown),
        cmocka_unit_test_setup_teardown(notify_and_kick, setup, teardown),
        cmocka_unit_test_setup_teardown(revocation_travels_by_bus, setup, teardown),
        cmocka_unit_test_setup_teardown(room_event_by_bus, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
