/*
 * Unit tests for audit.verbose (signal/audit_verbose.c): off, nothing is
 * recorded per message; on, each message of a joined session leaves one
 * `signal.message` record with its type and size and, for SDP, a SHA-256 of
 * it, never the SDP.
 */
#include "support/test_peer.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void run(bool verbose, int want)
{
    hx_test_server t;
    hx_config cfg;
    hx_test_config(&cfg);
    cfg.audit_verbose = verbose;
    cfg.media = false;
    assert_int_equal(hx_test_server_init(&t, &cfg, NULL), 0);
    peer p;
    peer_open(&t.srv, &p, 2);
    join_ok(&t.srv, &p, "r", "alice", "d");
    send_text(&p, "{\"type\":\"room.info\",\"id\":\"1\"}");
    send_text(&p, "{\"type\":\"sdp.offer\",\"id\":\"2\",\"data\":{\"pc\":\"publisher\",\"sdp\":\"v=0 secret-ice-pwd\"}}");
    assert_int_equal(count_events(&t.srv, "signal.message"), want);
    if (want) {
        last_event le = {0};
        hx_event_filter f = {.kind = "signal.message", .limit = 10};
        assert_int_equal(t.srv.store->ops->query_events(t.srv.store, &f, keep_event_cb, &le), 0);
        assert_string_equal(le.user, "alice");
        assert_non_null(strstr(le.detail, "\"type\":\"sdp.offer\""));
        assert_non_null(strstr(le.detail, "\"sdp_sha256\":\""));
        assert_null(strstr(le.detail, "secret-ice-pwd"));
    }
    peer_free(&p);
    assert_int_equal(hx_test_server_free(&t), 0);
}

static void test_off(void **state)
{
    (void)state;
    run(false, 0);
}

static void test_on(void **state)
{
    (void)state;
    run(true, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_off),
        cmocka_unit_test(test_on),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
