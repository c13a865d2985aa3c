/*
 * Unit tests for the ICE servers a participant is handed
 * (core/ice_servers, signal/ice_push): external mode puts the configured
 * coturn URLs with a credential for the user, expiring turn.ttl_s from now,
 * in the join result; embedded mode lists the listeners that are up, under
 * the host the configuration names; turn.mode = off lists only STUN; and
 * before the credential lapses the session is pushed `ice.servers` with a
 * fresh one, not earlier. Passwords are checked with auth/turn_cred, whose
 * own tests check it against openssl's.
 */
#include "support/test_peer.h"

#include "auth/turn_cred.h"
#include "common/clock.h"
#include "core/ice_servers.h"
#include "signal/session.h"
#include "turn/turn.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define SECRET "a-shared-secret-0123456789"

static int setup_external(void **state)
{
    hx_config c;
    hx_test_config(&c);
    snprintf(c.turn_mode, sizeof c.turn_mode, "external");
    c.n_turn_urls = 2;
    snprintf(c.turn_urls[0], sizeof c.turn_urls[0], "turn:turn.example.org:3478?transport=udp");
    snprintf(c.turn_urls[1], sizeof c.turn_urls[1], "turns:turn.example.org:443?transport=tcp");
    c.n_stun = 1;
    snprintf(c.stun[0], sizeof c.stun[0], "stun:stun.example.org:3478");
    c.turn_ttl_s = 600;
    if (hx_test_server_setup_with(state, &c)) return -1;
    hx_server *s = &((hx_test_server *)*state)->srv;
    snprintf(s->turn_secrets[0], sizeof s->turn_secrets[0], SECRET);
    s->n_turn_secrets = 1;
    return 0;
}

/* The entry with a username (TURN); asserts the credential is right for `user`, returns expiry. */
static int64_t check_turn(json_t *ice, const char *user, json_t **urls)
{
    json_t *e, *turn = NULL;
    size_t i;
    json_array_foreach(ice, i, e) if (json_object_get(e, "username")) turn = e;
    assert_non_null(turn);
    const char *name = json_string_value(json_object_get(turn, "username"));
    int64_t exp;
    const char *who;
    assert_int_equal(hx_turn_cred_parse(name, &exp, &who), 0);
    assert_string_equal(who, user);
    char pw[HX_TURN_CRED_PASSWORD_LEN];
    assert_int_equal(hx_turn_cred_password(SECRET, name, pw), 0);
    assert_string_equal(json_string_value(json_object_get(turn, "credential")), pw);
    *urls = json_object_get(turn, "urls");
    return exp;
}

static void external_join_and_push(void **state)
{
    hx_server *s = &((hx_test_server *)*state)->srv;
    peer a;
    int64_t before = hx_now_ms() / 1000;
    peer_open(s, &a, 2);
    json_t *ack = join_ok(s, &a, "lobby", "alice", "laptop");
    json_t *ice = json_object_get(ack, "ice_servers"), *urls;
    assert_int_equal(json_array_size(ice), 2); /* STUN, then TURN */
    assert_string_equal(json_string_value(json_array_get(
                            json_object_get(json_array_get(ice, 0), "urls"), 0)),
                        "stun:stun.example.org:3478");
    int64_t exp = check_turn(ice, "alice", &urls);
    assert_true(exp >= before + 600 && exp <= hx_now_ms() / 1000 + 600);
    assert_int_equal(json_array_size(urls), 2);
    assert_string_equal(json_string_value(json_array_get(urls, 1)),
                        "turns:turn.example.org:443?transport=tcp");

    /* Nothing before four fifths of the life; then one push with a later expiry. */
    int64_t push = a.sess->ice_push_ms, mono = hx_mono_ms();
    assert_true(push >= mono + 470 * 1000 && push <= mono + 481 * 1000);
    hx_session_seen(a.sess, push - 1000); /* a live peer: no keep-alive verdict */
    hx_session_tick(a.sess, push - 1000);
    assert_int_equal(hx_test_client_count(&a.c, "ice.servers"), 0);
    hx_session_seen(a.sess, push); /* a live peer: no keep-alive verdict */
    hx_session_tick(a.sess, push);
    assert_int_equal(hx_test_client_count(&a.c, "ice.servers"), 1);
    json_t *fresh = json_object_get(last_data(&a, "ice.servers"), "ice_servers");
    assert_true(check_turn(fresh, "alice", &urls) >= exp);
    assert_true(a.sess->ice_push_ms > push);
    hx_session_seen(a.sess, push + 1); /* a live peer: no keep-alive verdict */
    hx_session_tick(a.sess, push + 1);
    assert_int_equal(hx_test_client_count(&a.c, "ice.servers"), 1);
    a.sess->no_resume = true;
    peer_free(&a);
}

static void embedded_listeners_and_host(void **state)
{
    hx_server *s = &((hx_test_server *)*state)->srv;
    snprintf(s->cfg.turn_mode, sizeof s->cfg.turn_mode, "embedded");
    s->cfg.n_stun = 0;
    int64_t exp;
    /* No listener up: no TURN entry at all. */
    json_t *ice = hx_ice_servers(s, "bob", NULL, 1000, &exp);
    assert_int_equal(json_array_size(ice), 0);
    assert_int_equal(exp, 0);
    json_decref(ice);
    /* A real TURN server on loopback: UDP and TCP up, TLS off (no certificate). */
    hx_turn_config tc;
    hx_turn_config_default(&tc);
    tc.tls_port = -1;
    snprintf(tc.secrets[0], sizeof tc.secrets[0], SECRET);
    tc.n_secrets = 1;
    char err[256];
    assert_int_equal(hx_turn_start(&tc, &s->turn, err, sizeof err), 0);
    int udp = hx_turn_port(s->turn, HX_TURN_UDP), tcp = hx_turn_port(s->turn, HX_TURN_TCP);
    assert_true(udp > 0 && tcp > 0);
    s->cfg.turn_on_http_port = false;
    snprintf(s->cfg.turn_host, sizeof s->cfg.turn_host, "0.0.0.0");
    snprintf(s->cfg.turn_announce, sizeof s->cfg.turn_announce, "2001:db8::7");
    ice = hx_ice_servers(s, "bob", "ignored.example", 1000, &exp);
    json_t *urls;
    assert_int_equal(check_turn(ice, "bob", &urls), 1000 + s->cfg.turn_ttl_s);
    assert_int_equal(exp, 1000 + s->cfg.turn_ttl_s);
    assert_int_equal(json_array_size(urls), 2);
    char want[128];
    snprintf(want, sizeof want, "turn:[2001:db8::7]:%d?transport=udp", udp);
    assert_string_equal(json_string_value(json_array_get(urls, 0)), want);
    snprintf(want, sizeof want, "turn:[2001:db8::7]:%d?transport=tcp", tcp);
    assert_string_equal(json_string_value(json_array_get(urls, 1)), want);
    json_decref(ice);
    /* TURN on the HTTP port of a TLS listener replaces the dedicated TLS listener's URL. */
    s->cfg.turn_on_http_port = true;
    s->tls = true;
    s->port = 8443;
    ice = hx_ice_servers(s, "bob", NULL, 1000, &exp);
    check_turn(ice, "bob", &urls);
    assert_int_equal(json_array_size(urls), 3);
    assert_string_equal(json_string_value(json_array_get(urls, 2)),
                        "turns:[2001:db8::7]:8443?transport=tcp");
    json_decref(ice);
    s->tls = false;
    hx_turn_stop(s->turn);
    s->turn = NULL;
    s->cfg.turn_announce[0] = '\0';
    snprintf(s->cfg.turn_mode, sizeof s->cfg.turn_mode, "off");
    ice = hx_ice_servers(s, "bob", NULL, 1000, &exp);
    assert_int_equal(json_array_size(ice), 0);
    json_decref(ice);
}

static void turn_host_choice(void **state)
{
    (void)state;
    hx_config c;
    hx_config_defaults(&c, HX_PROFILE_STANDARD);
    char h[256];
    hx_ice_turn_host(&c, "from-host-header.example", h, sizeof h);
    assert_string_equal(h, "from-host-header.example"); /* wildcard listen, nothing configured */
    hx_ice_turn_host(&c, "::1", h, sizeof h);
    assert_string_equal(h, "[::1]");
    hx_ice_turn_host(&c, NULL, h, sizeof h);
    assert_string_equal(h, "127.0.0.1");
    c.n_announce = 1;
    snprintf(c.announce[0], sizeof c.announce[0], "203.0.113.9");
    hx_ice_turn_host(&c, "x", h, sizeof h);
    assert_string_equal(h, "203.0.113.9");
    snprintf(c.turn_host, sizeof c.turn_host, "198.51.100.2");
    hx_ice_turn_host(&c, "x", h, sizeof h);
    assert_string_equal(h, "198.51.100.2");
    snprintf(c.public_url, sizeof c.public_url, "wss://hearth.example.org:8443/base");
    hx_ice_turn_host(&c, "x", h, sizeof h);
    assert_string_equal(h, "hearth.example.org");
    snprintf(c.public_url, sizeof c.public_url, "https://[2001:db8::1]/");
    hx_ice_turn_host(&c, "x", h, sizeof h);
    assert_string_equal(h, "[2001:db8::1]");
    snprintf(c.turn_announce, sizeof c.turn_announce, "turn.example.org");
    hx_ice_turn_host(&c, "x", h, sizeof h);
    assert_string_equal(h, "turn.example.org");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(external_join_and_push, setup_external,
                                        hx_test_server_teardown),
        cmocka_unit_test_setup_teardown(embedded_listeners_and_host, setup_external,
                                        hx_test_server_teardown),
        cmocka_unit_test(turn_host_choice),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
