/*
 * Unit tests for `data.send` (signal/data_send.c, docs/protocol.md §2.10) on a socketless
 * server: a text message reaches the one participant named, as `data` {from, data}, and no one
 * else; the refusals with their codes: no `data` grant on either side, the sender itself or no
 * such participant as the target, a malformed request, a target whose connection is gone
 * (AWAY, resuming).
 */
#include "support/test_peer.h"

#include "common/clock.h"
#include "signal/registry.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

static int setup(void **state)
{
    return hx_test_server_setup(state);
}

static int teardown(void **state)
{
    return hx_test_server_teardown(state);
}

static void send_to(peer *from, const char *to, json_t *payload)
{
    send_json(from, json_pack("{s:s, s:s, s:{s:s, s:o}}", "type", "data.send", "id", "d", "data",
                              "to", to, "data", payload));
}

static const char *error_of(peer *p)
{
    return str_at(last_data(p, "error"), "code");
}

static void reaches_the_one_named(void **state)
{
    hx_server *s = &((hx_test_server *)*state)->srv;
    peer a, b, c;
    peer_open(s, &a, 2);
    join_ok(s, &a, "r", "alice", "d");
    peer_open(s, &b, 2);
    join_ok(s, &b, "r", "bob", "d");
    peer_open(s, &c, 2);
    join_ok(s, &c, "r", "carol", "d");

    send_to(&a, b.sess->p.id, json_string("only for bob"));
    json_t *ack = hx_test_client_last(&a.c, "ack");
    assert_string_equal(hx_test_msg_id(ack), "d");
    json_t *got = last_data(&b, "data");
    assert_string_equal(str_at(got, "from"), a.sess->p.id);
    assert_string_equal(str_at(got, "data"), "only for bob");
    assert_null(hx_test_msg_id(hx_test_client_last(&b.c, "data")));
    assert_int_equal(hx_test_client_count(&c.c, "data"), 0);
    assert_int_equal(hx_test_client_count(&a.c, "data"), 0);

    /* and back, an empty message too */
    send_to(&b, a.sess->p.id, json_string(""));
    assert_string_equal(str_at(last_data(&a, "data"), "data"), "");
    assert_int_equal(hx_test_client_count(&c.c, "data"), 0);
    peer_free(&c);
    peer_free(&b);
    peer_free(&a);
}

static void refusals(void **state)
{
    hx_server *s = &((hx_test_server *)*state)->srv;
    const uint32_t no_data = HX_GRANT_PUBLISH | HX_GRANT_SUBSCRIBE;
    peer a, b, mute, deaf;
    peer_open(s, &a, 2);
    join_ok(s, &a, "r", "alice", "d");
    peer_open(s, &b, 2);
    join_ok(s, &b, "r", "bob", "d");
    peer_open(s, &mute, 2);
    join_with_grants(s, &mute, "r", "mute", "d", no_data);
    peer_open(s, &deaf, 2);
    join_with_grants(s, &deaf, "r", "deaf", "d", no_data);

    send_to(&a, a.sess->p.id, json_string("me"));
    assert_string_equal(error_of(&a), "target_not_found");
    send_to(&a, "p_0000000000000000", json_string("nobody"));
    assert_string_equal(error_of(&a), "target_not_found");
    send_to(&a, b.sess->p.id, json_integer(7));
    assert_string_equal(error_of(&a), "bad_request");
    send_json(&a, json_pack("{s:s, s:s, s:{s:s}}", "type", "data.send", "id", "d", "data", "data",
                            "no target"));
    assert_string_equal(error_of(&a), "bad_request");
    send_to(&mute, b.sess->p.id, json_string("no grant"));
    assert_string_equal(error_of(&mute), "not_allowed");
    send_to(&a, deaf.sess->p.id, json_string("cannot receive"));
    assert_string_equal(error_of(&a), "not_allowed");
    assert_int_equal(hx_test_client_count(&b.c, "data"), 0);
    assert_int_equal(hx_test_client_count(&deaf.c, "data"), 0);
    peer_free(&deaf);
    peer_free(&mute);
    peer_free(&b);
    peer_free(&a);
}

static void not_to_a_participant_resuming(void **state)
{
    hx_server *s = &((hx_test_server *)*state)->srv;
    peer a, b;
    peer_open(s, &a, 2);
    join_ok(s, &a, "r", "alice", "d");
    hx_test_client_init(&b.c);
    b.sess = hx_session_open(s, &hx_test_client_resumable_io, &b.c, 2);
    join_ok(s, &b, "r", "bob", "d");
    char id[HX_PARTICIPANT_ID_LEN];
    memcpy(id, b.sess->p.id, sizeof id);
    hx_session *away = b.sess;
    hx_session_closed(away); /* the connection drops: AWAY, still in the room */
    assert_int_equal(away->state, HX_SESSION_AWAY);
    b.sess = NULL;
    send_to(&a, id, json_string("later"));
    assert_string_equal(error_of(&a), "target_unavailable");
    hx_session_match m = {.user = "bob"}; /* end the session waiting for its resume */
    assert_int_equal(hx_sessions_kick(s, hx_session_matches, &m, "revoked", HX_CLOSE_REVOKED, "x"),
                     1);
    hx_sessions_tick(s, hx_mono_ms());
    peer_free(&b);
    peer_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(reaches_the_one_named, setup, teardown),
        cmocka_unit_test_setup_teardown(refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(not_to_a_participant_resuming, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
