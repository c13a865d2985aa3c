/*
 * Unit tests for the audit trail of refused joins (src/signal/join.c): every
 * refusal, whatever its code, leaves exactly one `auth.failure` record with
 * that code, and once the ticket has opened, the ticket's room, user, device
 * and sid (the room the ticket names, not the one the join asked for). A join
 * that succeeds leaves none. Each test runs on its own socketless server
 * (tests/support/test_server.h).
 */
#include "support/test_peer.h"

#include "auth/ticket.h"
#include "common/clock.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static int setup_room_of_one(void **state)
{
    hx_config cfg;
    hx_test_config(&cfg);
    cfg.max_participants = 1;
    return hx_test_server_setup_with(state, &cfg);
}

static hx_server *srv(void **state)
{
    return &((hx_test_server *)*state)->srv;
}

/*
 * Join `room` with `ticket` on a fresh session at protocol 2; expect the
 * refusal `code` and one more auth.failure record carrying it, with the
 * ticket's room/user/device/sid (all "" for a ticket that did not open).
 */
static void expect_audited(hx_server *s, const char *ticket, const char *room, const char *code,
                           const char *t_room, const char *t_user, const char *t_device,
                           const char *t_sid)
{
    int before = count_events(s, "auth.failure");
    peer p;
    peer_open(s, &p, 2);
    send_join(&p, "r", ticket, room);
    const char *got = hx_test_client_last_error(&p.c);
    if (!got || strcmp(got, code) != 0) fail_msg("expected %s, got %s", code, got ? got : "(none)");
    assert_int_equal(p.c.close_code, HX_CLOSE_JOIN_REFUSED);
    peer_free(&p);

    last_event f = {0};
    hx_event_filter q = {.kind = "auth.failure", .limit = 1000};
    assert_int_equal(s->store->ops->query_events(s->store, &q, keep_event_cb, &f), 0);
    if (f.n != before + 1)
        fail_msg("%s: %d auth.failure records, expected %d", code, f.n, before + 1);
    assert_string_equal(f.code, code);
    assert_string_equal(f.room, t_room);
    assert_string_equal(f.user, t_user);
    assert_string_equal(f.device, t_device);
    assert_string_equal(f.sid, t_sid);
}

static void test_invalid_ticket(void **state)
{
    expect_audited(srv(state), "not-a-ticket", "lobby", "ticket_invalid", "", "", "", "");
}

/* The checks after the MAC: the record names the ticket's room, not the one the join asked for. */
static void test_ticket_checks(void **state)
{
    hx_server *s = srv(state);
    static const struct {
        int ttl_s, version;
        const char *join_room, *code;
    } cases[] = {
        {-1, 2, "lobby", "ticket_expired"}, /* a negative ttl mints tickets already past expiry */
        {30, 2, "other", "ticket_wrong_room"},
        {30, 1, "lobby", "ticket_wrong_version"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char t[HX_TICKET_MAX_TEXT + 1];
        s->cfg.ticket_ttl_s = cases[i].ttl_s;
        mint(s, "lobby", "alice", "laptop", "sid-a", "jti-a", cases[i].version, t);
        expect_audited(s, t, cases[i].join_room, cases[i].code, "lobby", "alice", "laptop",
                       "sid-a");
    }
}

static void test_replayed(void **state)
{
    hx_server *s = srv(state);
    char t[HX_TICKET_MAX_TEXT + 1];
    mint(s, "lobby", "alice", "laptop", "sid-a", "jti-a", 2, t);
    peer a;
    peer_open(s, &a, 2);
    send_join(&a, "j", t, "lobby");
    assert_string_equal(hx_test_msg_type(hx_test_client_last(&a.c, NULL)), "ack");
    expect_audited(s, t, "lobby", "ticket_replayed", "lobby", "alice", "laptop", "sid-a");
    /* The replay's own record (with the ticket id) stays beside it. */
    assert_int_equal(count_events(s, "ticket.replay"), 1);
    peer_free(&a);
}

static void test_revoked(void **state)
{
    hx_server *s = srv(state);
    char t[HX_TICKET_MAX_TEXT + 1];
    int n;
    mint(s, "lobby", "alice", "laptop", "sid-a", "jti-a", 2, t);
    assert_int_equal(hx_signal_revoke(s, HX_REVOKE_JTI, "jti-a", 0, NULL, &n), 0);
    expect_audited(s, t, "lobby", "token_revoked", "lobby", "alice", "laptop", "sid-a");

    mint(s, "lobby", "bob", "phone", "sid-b", "jti-b", 2, t);
    assert_int_equal(hx_signal_revoke(s, HX_REVOKE_SID, "sid-b", 0, NULL, &n), 0);
    expect_audited(s, t, "lobby", "session_revoked", "lobby", "bob", "phone", "sid-b");

    mint(s, "lobby", "carol", "tablet", "sid-c", "jti-c", 2, t);
    assert_int_equal(hx_signal_revoke(s, HX_REVOKE_USER, "carol", hx_now_ms() / 1000 + 1, NULL, &n),
                     0);
    expect_audited(s, t, "lobby", "user_revoked", "lobby", "carol", "tablet", "sid-c");
}

static void test_room_full(void **state)
{
    hx_server *s = srv(state);
    peer a;
    peer_open(s, &a, 2);
    join_ok(s, &a, "lobby", "alice", "laptop");
    char t[HX_TICKET_MAX_TEXT + 1];
    mint(s, "lobby", "bob", "phone", "sid-b", "jti-b", 2, t);
    expect_audited(s, t, "lobby", "room_full", "lobby", "bob", "phone", "sid-b");
    peer_free(&a);
}

static void test_success_not_audited_as_failure(void **state)
{
    hx_server *s = srv(state);
    peer a;
    peer_open(s, &a, 2);
    join_ok(s, &a, "lobby", "alice", "laptop");
    peer_free(&a);
    assert_int_equal(count_events(s, "auth.failure"), 0);
    assert_int_equal(count_events(s, "session.join"), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_invalid_ticket, hx_test_server_setup,
                                        hx_test_server_teardown),
        cmocka_unit_test_setup_teardown(test_ticket_checks, hx_test_server_setup,
                                        hx_test_server_teardown),
        cmocka_unit_test_setup_teardown(test_replayed, hx_test_server_setup,
                                        hx_test_server_teardown),
        cmocka_unit_test_setup_teardown(test_revoked, hx_test_server_setup,
                                        hx_test_server_teardown),
        cmocka_unit_test_setup_teardown(test_room_full, setup_room_of_one, hx_test_server_teardown),
        cmocka_unit_test_setup_teardown(test_success_not_audited_as_failure, hx_test_server_setup,
                                        hx_test_server_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
