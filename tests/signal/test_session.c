/*
 * Unit tests for signal/: the session state machine, the envelope rules,
 * join and its refusals, replacement, leave, per-version message sets,
 * rate limits, size and join-timeout closes, and revocation disconnects,
 * all against docs/protocol.md. Each test runs on its own socketless
 * server (tests/support/test_server.h); a "peer" is a session plus the
 * recording client that sees what its WebSocket would have carried.
 */
#include "support/test_peer.h"

#include "auth/ticket.h"
#include "common/clock.h"
#include "signal/protocol.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* --- fixtures -------------------------------------------------------------- */

static int setup_cfg(void **state, const hx_config *cfg)
{
    hx_test_server *t = malloc(sizeof *t);
    if (!t || hx_test_server_init(t, cfg, NULL)) {
        if (t) hx_test_server_free(t);
        free(t);
        return -1;
    }
    *state = t;
    return 0;
}

static int setup(void **state)
{
    return setup_cfg(state, NULL);
}

static int setup_small_room(void **state)
{
    hx_config cfg;
    hx_test_config(&cfg);
    cfg.max_participants = 2;
    return setup_cfg(state, &cfg);
}

static int setup_slow_rate(void **state)
{
    hx_config cfg;
    hx_test_config(&cfg);
    cfg.sig_rate = 1;
    cfg.sig_burst = 3;
    return setup_cfg(state, &cfg);
}

static int teardown(void **state)
{
    hx_test_server *t = *state;
    size_t open = hx_test_server_free(t);
    free(t);
    /* Every test closes its sessions; one left open is a bug in the test or the session. */
    return open == 0 ? 0 : -1;
}

static hx_server *srv(void **state)
{
    return &((hx_test_server *)*state)->srv;
}

/* --- hello and versions ---------------------------------------------------- */

static void check_hello(hx_server *s, int asked, int expect)
{
    peer p;
    peer_open(s, &p, asked);
    assert_int_equal(p.sess->version, expect);
    assert_int_equal(hx_test_client_count(&p.c, NULL), 1);
    json_t *m = hx_test_client_nth(&p.c, 0);
    assert_string_equal(hx_test_msg_type(m), "hello");
    assert_null(hx_test_msg_id(m));
    json_t *d = hx_test_msg_data(m);
    assert_int_equal(int_at(d, "version"), expect);
    json_t *v = json_object_get(d, "versions");
    assert_int_equal(int_at(v, "min"), HX_PROTO_MIN);
    assert_int_equal(int_at(v, "max"), HX_PROTO_MAX);
    assert_string_equal(str_at(d, "server"), "hearth/" HX_VERSION);
    json_t *l = json_object_get(d, "limits");
    assert_true(json_is_object(l));
    assert_int_equal(int_at(l, "max_message_bytes"), (json_int_t)s->cfg.max_message_bytes);
    assert_true(json_number_value(json_object_get(l, "rate_per_s")) == s->cfg.sig_rate);
    assert_true(json_number_value(json_object_get(l, "burst")) == s->cfg.sig_burst);
    assert_int_equal(int_at(l, "join_timeout_ms"), s->cfg.join_timeout_ms);
    assert_int_equal(int_at(l, "ping_interval_s"), s->cfg.ping_interval_s);
    assert_int_equal(p.c.n_closes, 0);
    assert_int_equal(p.sess->state, HX_SESSION_OPEN);
    peer_free(&p);
}

static void test_hello_per_version(void **state)
{
    check_hello(srv(state), 1, 1);
    check_hello(srv(state), 2, 2);
    check_hello(srv(state), 0, HX_PROTO_MAX); /* no ?v=: the newest */
    assert_int_equal(hx_sessions_count(srv(state)), 0);
}

static void test_unsupported_version(void **state)
{
    static const int bad[] = {99, 3, -1};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        peer p;
        peer_open(srv(state), &p, bad[i]);
        assert_int_equal(hx_test_client_count(&p.c, NULL), 1);
        assert_int_equal(hx_test_client_count(&p.c, "hello"), 0);
        json_t *d = last_data(&p, "error");
        assert_string_equal(str_at(d, "code"), "unsupported_version");
        json_t *v = json_object_get(d, "versions");
        assert_int_equal(int_at(v, "min"), HX_PROTO_MIN);
        assert_int_equal(int_at(v, "max"), HX_PROTO_MAX);
        assert_int_equal(p.c.close_code, HX_CLOSE_BAD_VERSION);
        assert_int_equal(p.c.n_closes, 1);
        /* Nothing more is processed on a closing session. */
        send_text(&p, "{\"type\":\"leave\",\"id\":\"x\"}");
        assert_int_equal(hx_test_client_count(&p.c, NULL), 1);
        peer_free(&p);
    }
}

/* --- envelope -------------------------------------------------------------- */

static void test_error_echoes_id(void **state)
{
    peer p;
    peer_open(srv(state), &p, 2);
    send_text(&p, "{\"type\":\"leave\",\"id\":\"abc-7\"}");
    json_t *e = hx_test_client_last(&p.c, NULL);
    assert_string_equal(hx_test_msg_type(e), "error");
    assert_string_equal(hx_test_msg_id(e), "abc-7");
    assert_string_equal(hx_test_client_last_error(&p.c), "not_joined");
    /* Without an id the reply has none. */
    send_text(&p, "{\"type\":\"leave\"}");
    assert_null(hx_test_msg_id(hx_test_client_last(&p.c, NULL)));
    /* An id of exactly 64 bytes is fine and echoed. */
    char id64[65], msg[160];
    memset(id64, 'x', 64);
    id64[64] = '\0';
    snprintf(msg, sizeof msg, "{\"type\":\"leave\",\"id\":\"%s\"}", id64);
    send_text(&p, msg);
    assert_string_equal(hx_test_client_last_error(&p.c), "not_joined");
    assert_string_equal(hx_test_msg_id(hx_test_client_last(&p.c, NULL)), id64);
    assert_int_equal(p.c.n_closes, 0);
    peer_free(&p);
}

static void test_unknown_fields_ignored(void **state)
{
    hx_server *s = srv(state);
    peer p;
    peer_open(s, &p, 2);
    char t[HX_TICKET_MAX_TEXT + 1];
    mint(s, "lobby", "alice", "laptop", NULL, NULL, 2, t);
    send_json(&p, json_pack("{s:s, s:s, s:{s:s, s:s, s:[i,i], s:{s:b}}, s:{s:n}}", "type", "join", "id", "u1",
                            "data", "ticket", t, "room", "lobby", "extra", 1, 2, "future", "x", 1, "top_level",
                            "y"));
    json_t *ack = hx_test_client_last(&p.c, NULL);
    assert_string_equal(hx_test_msg_type(ack), "ack");
    assert_string_equal(hx_test_msg_id(ack), "u1");
    assert_int_equal(p.sess->state, HX_SESSION_JOINED);
    peer_free(&p);
}

static void test_unknown_type_keeps_connection(void **state)
{
    hx_server *s = srv(state);
    peer p;
    peer_open(s, &p, 2);
    send_text(&p, "{\"type\":\"foo.bar\",\"id\":\"9\"}");
    json_t *e = hx_test_client_last(&p.c, "error");
    assert_string_equal(hx_test_msg_id(e), "9");
    assert_string_equal(str_at(hx_test_msg_data(e), "code"), "unsupported_type");
    assert_non_null(strstr(str_at(hx_test_msg_data(e), "message"), "foo.bar"));
    /* Media requests exist in version 2 but need a join; reserved ones stay unsupported. */
    send_text(&p, "{\"type\":\"sdp.offer\"}");
    assert_string_equal(hx_test_client_last_error(&p.c), "not_joined");
    assert_int_equal(p.c.n_closes, 0);
    join_ok(s, &p, "lobby", "alice", "laptop");
    send_text(&p, "{\"type\":\"track.publish\",\"id\":\"t\"}");
    assert_string_equal(hx_test_client_last_error(&p.c), "unsupported_type");
    assert_int_equal(p.c.n_closes, 0);
    assert_int_equal(p.sess->state, HX_SESSION_JOINED);
    peer_free(&p);
}

static void test_malformed_messages(void **state)
{
    char id65[200], type65[200], deep[512], ok_deep[512], *w;
    memset(id65, 0, sizeof id65);
    snprintf(id65, sizeof id65, "{\"type\":\"leave\",\"id\":\"%065d\"}", 0);
    snprintf(type65, sizeof type65, "{\"type\":\"%065d\",\"id\":\"t65\"}", 0);
    /* 33 levels: the root object, data, then 31 arrays. */
    w = deep + sprintf(deep, "{\"type\":\"leave\",\"data\":{\"a\":");
    for (int i = 0; i < 31; i++) *w++ = '[';
    for (int i = 0; i < 31; i++) *w++ = ']';
    strcpy(w, "}}");
    /* 32 levels is still allowed. */
    w = ok_deep + sprintf(ok_deep, "{\"type\":\"leave\",\"data\":{\"a\":");
    for (int i = 0; i < 30; i++) *w++ = '[';
    for (int i = 0; i < 30; i++) *w++ = ']';
    strcpy(w, "}}");

    static const char nul_type[] = "{\"type\":\"le\\u0000ave\",\"id\":\"nul\"}";
    const struct {
        const char *text;
        const char *echo; /* id the error must carry, NULL = none */
    } cases[] = {
        {"not json at all", NULL},
        {"", NULL},
        {"{\"type\":\"leave\"", NULL},           /* truncated */
        {"[{\"type\":\"leave\"}]", NULL},        /* array */
        {"\"leave\"", NULL},                     /* string */
        {"42", NULL},
        {"null", NULL},
        {"{\"id\":\"m1\"}", "m1"},               /* missing type */
        {"{\"type\":5,\"id\":\"m2\"}", "m2"},    /* type not a string */
        {"{\"type\":null,\"id\":\"m3\"}", "m3"},
        {"{\"type\":[\"leave\"]}", NULL},
        {"{\"type\":\"\",\"id\":\"m4\"}", "m4"}, /* empty type */
        {nul_type, NULL},                        /* \u0000: jansson refuses it as JSON */
        {type65, "t65"},                         /* type over 64 bytes */
        {"{\"type\":\"leave\",\"id\":5}", NULL}, /* id not a string */
        {"{\"type\":\"leave\",\"id\":null}", NULL},
        {id65, NULL},                            /* id over 64 bytes */
        {"{\"type\":\"leave\",\"id\":\"d1\",\"data\":[]}", "d1"}, /* data not an object */
        {"{\"type\":\"leave\",\"id\":\"d2\",\"data\":\"x\"}", "d2"},
        {"{\"type\":\"leave\",\"id\":\"d3\",\"data\":null}", "d3"},
        {"{\"type\":\"leave\",\"type\":\"join\"}", NULL}, /* duplicate key */
        {deep, NULL},
    };
    peer p;
    peer_open(srv(state), &p, 2);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t before = hx_test_client_count(&p.c, "error");
        send_text(&p, cases[i].text);
        assert_int_equal(hx_test_client_count(&p.c, "error"), before + 1);
        json_t *e = hx_test_client_last(&p.c, NULL);
        assert_string_equal(hx_test_msg_type(e), "error");
        if (strcmp(hx_test_client_last_error(&p.c), "malformed_message") != 0)
            fail_msg("case %zu (%s): got %s", i, cases[i].text, hx_test_client_last_error(&p.c));
        if (cases[i].echo && !hx_test_msg_id(e))
            fail_msg("case %zu (%s): the error does not echo id %s", i, cases[i].text, cases[i].echo);
        if (cases[i].echo)
            assert_string_equal(hx_test_msg_id(e), cases[i].echo);
        else
            assert_null(hx_test_msg_id(e));
        assert_true(json_is_string(json_object_get(hx_test_msg_data(e), "message")));
        assert_int_equal(p.c.n_closes, 0);
    }
    send_text(&p, ok_deep);
    assert_string_equal(hx_test_client_last_error(&p.c), "not_joined");
    assert_int_equal(p.sess->state, HX_SESSION_OPEN);
    peer_free(&p);
}

static void test_not_joined(void **state)
{
    static const char *const v1[] = {"leave", "ping"}, *const v2[] = {"leave", "room.info"};
    for (int v = 1; v <= 2; v++) {
        peer p;
        peer_open(srv(state), &p, v);
        for (int i = 0; i < 2; i++) {
            char msg[96];
            snprintf(msg, sizeof msg, "{\"type\":\"%s\",\"id\":\"n%d\"}", (v == 1 ? v1 : v2)[i], i);
            send_text(&p, msg);
            json_t *e = hx_test_client_last(&p.c, NULL);
            assert_string_equal(hx_test_msg_type(e), "error");
            assert_string_equal(str_at(hx_test_msg_data(e), "code"), "not_joined");
        }
        /* No deprecation notice for a ping that was not served. */
        assert_int_equal(hx_test_client_count(&p.c, "deprecated"), 0);
        assert_int_equal(p.c.n_closes, 0);
        peer_free(&p);
    }
}

static void test_join_bad_request(void **state)
{
    static const char *const cases[] = {
        "{\"type\":\"join\",\"id\":\"b\"}",
        "{\"type\":\"join\",\"id\":\"b\",\"data\":{\"room\":\"lobby\"}}",
        "{\"type\":\"join\",\"id\":\"b\",\"data\":{\"ticket\":\"x\"}}",
        "{\"type\":\"join\",\"id\":\"b\",\"data\":{\"ticket\":1,\"room\":\"lobby\"}}",
        "{\"type\":\"join\",\"id\":\"b\",\"data\":{\"ticket\":\"x\",\"room\":[]}}",
    };
    peer p;
    peer_open(srv(state), &p, 2);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        send_text(&p, cases[i]);
        assert_string_equal(hx_test_client_last_error(&p.c), "bad_request");
        assert_string_equal(hx_test_msg_id(hx_test_client_last(&p.c, NULL)), "b");
    }
    assert_int_equal(p.c.n_closes, 0);
    join_ok(srv(state), &p, "lobby", "alice", "laptop");
    peer_free(&p);
}

/* --- join ------------------------------------------------------------------ */

static void test_join(void **state)
{
    hx_server *s = srv(state);
    peer a, b;
    peer_open(s, &a, 2);
    peer_open(s, &b, 2);
    int64_t t0 = hx_now_ms();
    json_t *ad = join_ok(s, &a, "lobby", "alice", "laptop");
    int64_t t1 = hx_now_ms();

    json_t *part = json_object_get(ad, "participant");
    const char *aid = str_at(part, "id");
    assert_int_equal(strlen(aid), 18);
    assert_memory_equal(aid, "p_", 2);
    assert_string_equal(aid, a.sess->p.id);
    assert_string_equal(str_at(part, "user"), "alice");
    assert_string_equal(str_at(part, "device"), "laptop");
    assert_in_range(int_at(part, "joined_at_ms"), t0, t1);
    json_t *grants = json_object_get(ad, "grants");
    assert_int_equal(json_array_size(grants), 3);
    assert_string_equal(json_string_value(json_array_get(grants, 0)), "publish");
    assert_string_equal(json_string_value(json_array_get(grants, 1)), "subscribe");
    assert_string_equal(json_string_value(json_array_get(grants, 2)), "data");
    json_t *room = json_object_get(ad, "room");
    assert_string_equal(str_at(room, "name"), "lobby");
    assert_int_equal(int_at(room, "max_participants"), s->cfg.max_participants);
    assert_int_equal(json_array_size(json_object_get(room, "participants")), 0);
    assert_int_equal(hx_test_client_count(&a.c, "participant.joined"), 0);

    json_t *bd = join_ok(s, &b, "lobby", "bob", "phone");
    json_t *others = json_object_get(json_object_get(bd, "room"), "participants");
    assert_int_equal(json_array_size(others), 1);
    assert_string_equal(str_at(json_array_get(others, 0), "user"), "alice");
    assert_string_equal(str_at(json_array_get(others, 0), "id"), a.sess->p.id);
    /* A hears about B; B does not hear about itself. */
    assert_int_equal(hx_test_client_count(&a.c, "participant.joined"), 1);
    json_t *pj = json_object_get(last_data(&a, "participant.joined"), "participant");
    assert_string_equal(str_at(pj, "user"), "bob");
    assert_string_equal(str_at(pj, "device"), "phone");
    assert_string_equal(str_at(pj, "id"), b.sess->p.id);
    assert_int_equal(hx_test_client_count(&b.c, "participant.joined"), 0);

    hx_room *r = hx_rooms_find(&s->rooms, "lobby");
    assert_non_null(r);
    assert_int_equal(r->count, 2);
    assert_int_equal(count_events(s, "session.join"), 2);
    assert_true(metrics_have(s, "hearth_joins_total 2\n"));

    peer_free(&b);
    peer_free(&a);
    assert_int_equal(hx_test_participants(s), 0);
}

static void test_already_joined(void **state)
{
    hx_server *s = srv(state);
    peer p;
    peer_open(s, &p, 2);
    join_ok(s, &p, "lobby", "alice", "laptop");
    char t[HX_TICKET_MAX_TEXT + 1];
    mint(s, "other", "alice", "laptop", NULL, NULL, 2, t);
    send_join(&p, "again", t, "other");
    json_t *e = hx_test_client_last(&p.c, NULL);
    assert_string_equal(hx_test_msg_type(e), "error");
    assert_string_equal(hx_test_msg_id(e), "again");
    assert_string_equal(str_at(hx_test_msg_data(e), "code"), "already_joined");
    assert_int_equal(p.c.n_closes, 0);
    assert_int_equal(p.sess->state, HX_SESSION_JOINED);
    assert_string_equal(p.sess->p.room->name, "lobby");
    assert_null(hx_rooms_find(&s->rooms, "other"));
    peer_free(&p);
}

/* Send a join with `ticket` for `room` on a fresh session at `version`; expect refusal `code`. */
static void expect_refused(hx_server *s, int version, const char *ticket, const char *room, const char *code)
{
    peer p;
    peer_open(s, &p, version);
    size_t before = hx_test_participants(s);
    send_join(&p, "r1", ticket, room);
    json_t *e = hx_test_client_last(&p.c, NULL);
    assert_string_equal(hx_test_msg_type(e), "error");
    assert_string_equal(hx_test_msg_id(e), "r1");
    if (strcmp(str_at(hx_test_msg_data(e), "code"), code) != 0)
        fail_msg("expected %s, got %s", code, str_at(hx_test_msg_data(e), "code"));
    assert_int_equal(p.c.close_code, HX_CLOSE_JOIN_REFUSED);
    assert_string_equal(p.c.close_reason, code);
    assert_int_equal(p.c.n_closes, 1);
    assert_int_equal(p.sess->state, HX_SESSION_CLOSING);
    assert_null(p.sess->p.room);
    assert_int_equal(hx_test_participants(s), before);
    /* A refused session processes nothing more. */
    send_text(&p, "{\"type\":\"leave\"}");
    assert_ptr_equal(hx_test_client_last(&p.c, NULL), e);
    peer_free(&p);
}

static void test_ticket_invalid(void **state)
{
    hx_server *s = srv(state);
    char t[HX_TICKET_MAX_TEXT + 1], other[HX_TICKET_MAX_TEXT + 1], big[2048];
    mint(s, "lobby", "alice", "laptop", NULL, NULL, 2, t);

    expect_refused(s, 2, "garbage", "lobby", "ticket_invalid");
    expect_refused(s, 2, "", "lobby", "ticket_invalid");
    memset(big, 'A', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    expect_refused(s, 2, big, "lobby", "ticket_invalid");

    /* Tampered: one base64url character changed in the middle. */
    char tampered[sizeof t];
    memcpy(tampered, t, sizeof t);
    size_t mid = strlen(tampered) / 2;
    tampered[mid] = tampered[mid] == 'A' ? 'B' : 'A';
    expect_refused(s, 2, tampered, "lobby", "ticket_invalid");
    /* Truncated. */
    memcpy(tampered, t, sizeof t);
    tampered[strlen(tampered) - 4] = '\0';
    expect_refused(s, 2, tampered, "lobby", "ticket_invalid");

    /* A well-formed ticket under another key. */
    hx_ticket tk;
    memset(&tk, 0, sizeof tk);
    assert_int_equal(hx_ticket_new_id(&tk), 0);
    tk.expires_ms = hx_now_ms() + 30000;
    tk.protocol_version = 2;
    tk.grants = HX_GRANT_DEFAULT_FLAGS;
    strcpy(tk.user, "alice");
    strcpy(tk.device, "laptop");
    strcpy(tk.room, "lobby");
    uint8_t key[HX_TICKET_KEY_LEN];
    memcpy(key, s->ticket_key, sizeof key);
    key[0] ^= 1;
    assert_true(hx_ticket_seal(key, &tk, other, sizeof other) > 0);
    expect_refused(s, 2, other, "lobby", "ticket_invalid");

    assert_int_equal(count_events(s, "auth.failure"), 6);
    assert_true(metrics_have(s, "hearth_join_failures_total{code=\"ticket_invalid\"} 6\n"));
    /* The genuine ticket was never consumed by those attempts. */
    peer p;
    peer_open(s, &p, 2);
    send_join(&p, "ok", t, "lobby");
    assert_string_equal(hx_test_msg_type(hx_test_client_last(&p.c, NULL)), "ack");
    peer_free(&p);
}

static void test_ticket_expired(void **state)
{
    hx_server *s = srv(state);
    hx_ticket tk;
    char text[HX_TICKET_MAX_TEXT + 1];
    memset(&tk, 0, sizeof tk);
    assert_int_equal(hx_ticket_new_id(&tk), 0);
    tk.expires_ms = hx_now_ms() - 1000;
    tk.protocol_version = 2;
    tk.grants = HX_GRANT_DEFAULT_FLAGS;
    strcpy(tk.user, "alice");
    strcpy(tk.device, "laptop");
    strcpy(tk.room, "lobby");
    assert_true(hx_ticket_seal(s->ticket_key, &tk, text, sizeof text) > 0);
    expect_refused(s, 2, text, "lobby", "ticket_expired");

    /* Through the minting path: a negative ttl mints tickets already past their expiry. */
    s->cfg.ticket_ttl_s = -1;
    mint(s, "lobby", "alice", "laptop", NULL, NULL, 2, text);
    expect_refused(s, 2, text, "lobby", "ticket_expired");
}

static void test_ticket_wrong_room_and_version(void **state)
{
    hx_server *s = srv(state);
    char t[HX_TICKET_MAX_TEXT + 1];
    mint(s, "lobby", "alice", "laptop", NULL, NULL, 2, t);
    expect_refused(s, 2, t, "other", "ticket_wrong_room");
    mint(s, "lobby", "alice", "laptop", NULL, NULL, 1, t);
    expect_refused(s, 2, t, "lobby", "ticket_wrong_version");
    mint(s, "lobby", "alice", "laptop", NULL, NULL, 2, t);
    expect_refused(s, 1, t, "lobby", "ticket_wrong_version");
}

static void test_ticket_replay(void **state)
{
    hx_server *s = srv(state);
    char t[HX_TICKET_MAX_TEXT + 1];
    mint(s, "lobby", "alice", "laptop", "sid-1", NULL, 2, t);
    hx_ticket tk;
    assert_int_equal(hx_ticket_open(s->ticket_key, t, strlen(t), &tk), 0);
    char tid[2 * HX_TICKET_ID_LEN + 1];
    hx_ticket_id_hex(&tk, tid);

    peer a;
    peer_open(s, &a, 2);
    send_join(&a, "j", t, "lobby");
    assert_string_equal(hx_test_msg_type(hx_test_client_last(&a.c, NULL)), "ack");
    assert_int_equal(count_events(s, "ticket.replay"), 0);
    expect_refused(s, 2, t, "lobby", "ticket_replayed");
    /* Even after the first user left. */
    peer_free(&a);
    expect_refused(s, 2, t, "lobby", "ticket_replayed");

    last_event le = {0};
    hx_event_filter f = {.kind = "ticket.replay"};
    assert_int_equal(s->store->ops->query_events(s->store, &f, keep_event_cb, &le), 0);
    assert_int_equal(le.n, 2);
    assert_string_equal(le.code, "ticket_replayed");
    assert_string_equal(le.room, "lobby");
    assert_string_equal(le.user, "alice");
    assert_non_null(strstr(le.detail, tid));
}

static void test_ticket_revoked(void **state)
{
    hx_server *s = srv(state);
    char t[HX_TICKET_MAX_TEXT + 1];
    int n = -1;

    mint(s, "lobby", "alice", "laptop", "sid-a", "jti-a", 2, t);
    assert_int_equal(hx_signal_revoke(s, HX_REVOKE_JTI, "jti-a", 0, "test", &n), 0);
    assert_int_equal(n, 0);
    expect_refused(s, 2, t, "lobby", "token_revoked");

    mint(s, "lobby", "bob", "laptop", "sid-b", "jti-b", 2, t);
    assert_int_equal(hx_signal_revoke(s, HX_REVOKE_SID, "sid-b", 0, NULL, &n), 0);
    expect_refused(s, 2, t, "lobby", "session_revoked");

    mint(s, "lobby", "carol", "laptop", "sid-c", "jti-c", 2, t);
    assert_int_equal(hx_signal_revoke(s, HX_REVOKE_USER, "carol", hx_now_ms() / 1000 + 1, NULL, &n), 0);
    expect_refused(s, 2, t, "lobby", "user_revoked");

    /* Revocations of others do not touch dave. */
    peer p;
    peer_open(s, &p, 2);
    join_ok(s, &p, "lobby", "dave", "laptop");
    peer_free(&p);
    assert_int_equal(count_events(s, "revocation"), 3);
}

static void test_room_full(void **state)
{
    hx_server *s = srv(state);
    assert_int_equal(s->cfg.max_participants, 2);
    peer a, b;
    peer_open(s, &a, 2);
    peer_open(s, &b, 2);
    json_t *d = join_ok(s, &a, "lobby", "alice", "laptop");
    assert_int_equal(int_at(json_object_get(d, "room"), "max_participants"), 2);
    join_ok(s, &b, "lobby", "bob", "laptop");
    char t[HX_TICKET_MAX_TEXT + 1];
    mint(s, "lobby", "carol", "laptop", NULL, NULL, 2, t);
    expect_refused(s, 2, t, "lobby", "room_full");
    assert_int_equal(hx_test_participants(s), 2);
    /* Nobody in the room heard about carol. */
    assert_int_equal(hx_test_client_count(&a.c, "participant.joined"), 1);
    /* Another room is not affected. */
    mint(s, "annex", "carol", "laptop", NULL, NULL, 2, t);
    peer c;
    peer_open(s, &c, 2);
    send_join(&c, "j", t, "annex");
    assert_string_equal(hx_test_msg_type(hx_test_client_last(&c.c, NULL)), "ack");
    peer_free(&c);
    peer_free(&b);
    /* A slot freed: carol gets in. */
    peer_open(s, &c, 2);
    join_ok(s, &c, "lobby", "carol", "phone");
    peer_free(&c);
    peer_free(&a);
}

static void test_replacement(void **state)
{
    hx_server *s = srv(state);
    peer a, b, c;
    peer_open(s, &a, 2);
    peer_open(s, &b, 2);
    peer_open(s, &c, 2);
    join_ok(s, &a, "lobby", "alice", "laptop");
    join_ok(s, &b, "lobby", "bob", "phone");
    char old_id[HX_PARTICIPANT_ID_LEN];
    memcpy(old_id, a.sess->p.id, sizeof old_id);

    json_t *cd = join_ok(s, &c, "lobby", "alice", "laptop");
    /* The old session is told and closed with 4004. */
    json_t *dd = last_data(&a, "disconnect");
    assert_string_equal(str_at(dd, "reason"), "replaced");
    assert_int_equal(a.c.close_code, HX_CLOSE_REPLACED);
    assert_int_equal(a.c.n_closes, 1);
    assert_int_equal(a.sess->state, HX_SESSION_CLOSING);
    /* The others hear that it left, replaced, then that the new one joined. */
    assert_int_equal(hx_test_client_count(&b.c, "participant.left"), 1);
    json_t *ld = last_data(&b, "participant.left");
    assert_string_equal(str_at(ld, "reason"), "replaced");
    assert_string_equal(str_at(json_object_get(ld, "participant"), "id"), old_id);
    assert_int_equal(hx_test_client_count(&b.c, "participant.joined"), 1);
    /* The new session sees only bob. */
    json_t *others = json_object_get(json_object_get(cd, "room"), "participants");
    assert_int_equal(json_array_size(others), 1);
    assert_string_equal(str_at(json_array_get(others, 0), "user"), "bob");
    assert_int_equal(hx_rooms_find(&s->rooms, "lobby")->count, 2);

    /* When the old connection finally goes, nobody hears about it twice. */
    peer_free(&a);
    assert_int_equal(hx_test_client_count(&b.c, "participant.left"), 1);
    assert_int_equal(hx_test_client_count(&c.c, "participant.left"), 0);
    assert_int_equal(hx_rooms_find(&s->rooms, "lobby")->count, 2);
    assert_int_equal(c.sess->state, HX_SESSION_JOINED);
    peer_free(&c);
    peer_free(&b);
}

static void test_leave(void **state)
{
    hx_server *s = srv(state);
    peer a, b;
    peer_open(s, &a, 2);
    peer_open(s, &b, 2);
    join_ok(s, &a, "lobby", "alice", "laptop");
    join_ok(s, &b, "lobby", "bob", "phone");
    send_text(&a, "{\"type\":\"leave\",\"id\":\"bye\"}");
    json_t *ack = hx_test_client_last(&a.c, NULL);
    assert_string_equal(hx_test_msg_type(ack), "ack");
    assert_string_equal(hx_test_msg_id(ack), "bye");
    assert_int_equal(a.c.close_code, HX_CLOSE_NORMAL);
    assert_int_equal(a.c.n_closes, 1);
    /* Anything after leave is ignored. */
    send_text(&a, "{\"type\":\"room.info\",\"id\":\"late\"}");
    assert_ptr_equal(hx_test_client_last(&a.c, NULL), ack);

    char aid[HX_PARTICIPANT_ID_LEN];
    memcpy(aid, a.sess->p.id, sizeof aid);
    peer_free(&a);
    json_t *ld = last_data(&b, "participant.left");
    assert_string_equal(str_at(ld, "reason"), "left");
    assert_string_equal(str_at(json_object_get(ld, "participant"), "id"), aid);
    assert_string_equal(str_at(json_object_get(ld, "participant"), "user"), "alice");
    assert_int_equal(hx_rooms_find(&s->rooms, "lobby")->count, 1);

    last_event le = {0};
    hx_event_filter f = {.kind = "session.leave"};
    assert_int_equal(s->store->ops->query_events(s->store, &f, keep_event_cb, &le), 0);
    assert_int_equal(le.n, 1);
    assert_string_equal(le.code, "left");
    assert_string_equal(le.user, "alice");

    /* A dropped connection is "closed". */
    peer c;
    peer_open(s, &c, 2);
    join_ok(s, &c, "lobby", "carol", "phone");
    peer_free(&c);
    assert_string_equal(str_at(last_data(&b, "participant.left"), "reason"), "closed");
    assert_int_equal(hx_test_client_count(&b.c, "participant.left"), 2);
    peer_free(&b);
    assert_int_equal(hx_test_participants(s), 0);
}

static void test_ping_v1_deprecated(void **state)
{
    hx_server *s = srv(state);
    peer p;
    peer_open(s, &p, 1);
    join_ok(s, &p, "lobby", "alice", "laptop");
    size_t n = hx_test_client_count(&p.c, NULL);
    int64_t t0 = hx_now_ms();
    send_text(&p, "{\"type\":\"ping\",\"id\":\"p1\"}");
    int64_t t1 = hx_now_ms();
    assert_int_equal(hx_test_client_count(&p.c, NULL), n + 2);
    json_t *dep = hx_test_client_nth(&p.c, n), *ack = hx_test_client_nth(&p.c, n + 1);
    assert_string_equal(hx_test_msg_type(dep), "deprecated");
    assert_string_equal(hx_test_msg_id(dep), "p1");
    json_t *dd = hx_test_msg_data(dep);
    assert_string_equal(str_at(dd, "message_type"), "ping");
    assert_int_equal(int_at(dd, "deprecated_in"), 1);
    assert_int_equal(int_at(dd, "removed_in"), 2);
    assert_true(json_is_string(json_object_get(dd, "message")));
    assert_string_equal(hx_test_msg_type(ack), "ack");
    assert_string_equal(hx_test_msg_id(ack), "p1");
    assert_true(json_is_true(json_object_get(hx_test_msg_data(ack), "pong")));
    assert_in_range(int_at(hx_test_msg_data(ack), "server_time_ms"), t0, t1);
    /* room.info does not exist in version 1. */
    send_text(&p, "{\"type\":\"room.info\",\"id\":\"r\"}");
    assert_string_equal(hx_test_client_last_error(&p.c), "unsupported_type");
    assert_int_equal(p.c.n_closes, 0);
    peer_free(&p);
}

static void test_ping_v2_removed(void **state)
{
    hx_server *s = srv(state);
    peer p;
    peer_open(s, &p, 2);
    send_text(&p, "{\"type\":\"ping\",\"id\":\"p0\"}");
    assert_string_equal(hx_test_client_last_error(&p.c), "unsupported_type");
    join_ok(s, &p, "lobby", "alice", "laptop");
    send_text(&p, "{\"type\":\"ping\",\"id\":\"p1\"}");
    json_t *e = hx_test_client_last(&p.c, NULL);
    assert_string_equal(hx_test_msg_type(e), "error");
    assert_string_equal(hx_test_msg_id(e), "p1");
    assert_string_equal(str_at(hx_test_msg_data(e), "code"), "unsupported_type");
    assert_int_equal(hx_test_client_count(&p.c, "deprecated"), 0);
    assert_int_equal(p.c.n_closes, 0);
    peer_free(&p);
}

static void test_room_info(void **state)
{
    hx_server *s = srv(state);
    peer a, b;
    peer_open(s, &a, 2);
    peer_open(s, &b, 2);
    join_ok(s, &a, "lobby", "alice", "laptop");
    join_ok(s, &b, "lobby", "bob", "phone");
    send_text(&a, "{\"type\":\"room.info\",\"id\":\"ri\",\"data\":{\"ignored\":true}}");
    json_t *ack = hx_test_client_last(&a.c, NULL);
    assert_string_equal(hx_test_msg_type(ack), "ack");
    assert_string_equal(hx_test_msg_id(ack), "ri");
    json_t *room = json_object_get(hx_test_msg_data(ack), "room");
    assert_string_equal(str_at(room, "name"), "lobby");
    assert_int_equal(int_at(room, "max_participants"), s->cfg.max_participants);
    json_t *list = json_object_get(room, "participants");
    assert_int_equal(json_array_size(list), 2);
    /* Everyone, the caller included, in join order. */
    assert_string_equal(str_at(json_array_get(list, 0), "id"), a.sess->p.id);
    assert_string_equal(str_at(json_array_get(list, 1), "id"), b.sess->p.id);
    assert_string_equal(str_at(json_array_get(list, 1), "device"), "phone");
    peer_free(&b);
    peer_free(&a);
}

/* --- limits ---------------------------------------------------------------- */

static void test_rate_limit(void **state)
{
    hx_server *s = srv(state);
    peer a, b;
    peer_open(s, &a, 2);
    peer_open(s, &b, 2);
    join_ok(s, &b, "lobby", "bob", "phone");
    join_ok(s, &a, "lobby", "alice", "laptop"); /* token 1 of 3 */
    send_text(&a, "{\"type\":\"foo\"}");        /* 2 */
    send_text(&a, "{\"type\":\"foo\"}");        /* 3 */
    assert_int_equal(hx_test_client_count(&a.c, "error"), 2);
    assert_null(hx_test_client_last(&a.c, "disconnect"));

    /* Over the rate: dropped, one rate_limited error. */
    send_text(&a, "{\"type\":\"foo\",\"id\":\"x\"}");
    assert_int_equal(hx_test_client_count(&a.c, "error"), 3);
    assert_string_equal(hx_test_client_last_error(&a.c), "rate_limited");
    assert_null(hx_test_msg_id(hx_test_client_last(&a.c, NULL)));
    assert_int_equal(a.c.n_closes, 0);
    assert_int_equal(a.sess->state, HX_SESSION_JOINED);
    /* More drops within the second: no more errors (at most one per second). */
    send_text(&a, "{\"type\":\"foo\"}");
    send_text(&a, "{\"type\":\"foo\"}");
    assert_int_equal(hx_test_client_count(&a.c, "error"), 3);
    assert_int_equal(a.c.n_closes, 0);
    /* More than `burst` drops within the window: disconnect and 1008. */
    send_text(&a, "{\"type\":\"foo\"}");
    json_t *d = last_data(&a, "disconnect");
    assert_string_equal(str_at(d, "reason"), "rate_limited");
    assert_int_equal(a.c.close_code, HX_CLOSE_POLICY);
    assert_int_equal(a.c.n_closes, 1);
    /* The room hears at once; bob is unaffected. */
    assert_string_equal(str_at(last_data(&b, "participant.left"), "reason"), "rate_limited");
    assert_int_equal(b.c.n_closes, 0);
    assert_true(metrics_have(s, "hearth_signal_rate_limited_total 4\n"));
    size_t n = hx_test_client_count(&a.c, NULL);
    send_text(&a, "{\"type\":\"foo\"}");
    assert_int_equal(hx_test_client_count(&a.c, NULL), n);
    peer_free(&a);
    assert_int_equal(hx_test_client_count(&b.c, "participant.left"), 1);
    peer_free(&b);
}

static void test_too_large(void **state)
{
    hx_server *s = srv(state);
    peer a, b;
    peer_open(s, &a, 2);
    peer_open(s, &b, 2);
    join_ok(s, &a, "lobby", "alice", "laptop");
    join_ok(s, &b, "lobby", "bob", "phone");
    hx_session_too_large(a.sess);
    json_t *e = hx_test_client_last(&a.c, NULL);
    assert_string_equal(hx_test_msg_type(e), "error");
    assert_string_equal(str_at(hx_test_msg_data(e), "code"), "message_too_large");
    assert_non_null(strstr(str_at(hx_test_msg_data(e), "message"), "65536"));
    assert_int_equal(a.c.close_code, HX_CLOSE_TOO_BIG);
    hx_session_too_large(a.sess);
    assert_int_equal(a.c.n_closes, 1);
    assert_int_equal(hx_test_client_count(&a.c, "error"), 1);
    peer_free(&a);
    assert_string_equal(str_at(last_data(&b, "participant.left"), "reason"), "closed");
    peer_free(&b);
}

static void test_join_timeout(void **state)
{
    hx_server *s = srv(state);
    peer a, b;
    peer_open(s, &a, 2);
    peer_open(s, &b, 2);
    join_ok(s, &b, "lobby", "bob", "phone");
    int64_t limit = a.sess->opened_ms + s->cfg.join_timeout_ms;
    hx_session_tick(a.sess, limit - 1);
    assert_int_equal(a.c.n_closes, 0);
    assert_int_equal(hx_test_client_count(&a.c, "error"), 0);
    hx_session_tick(a.sess, limit);
    assert_string_equal(hx_test_client_last_error(&a.c), "join_timeout");
    assert_int_equal(a.c.close_code, HX_CLOSE_JOIN_TIMEOUT);
    hx_session_tick(a.sess, limit + 5000);
    assert_int_equal(a.c.n_closes, 1);
    /* A joined session has no join deadline (and is within its keep-alive interval). */
    assert_true(s->cfg.join_timeout_ms < 1000LL * s->cfg.ping_interval_s);
    hx_session_tick(b.sess, b.sess->opened_ms + s->cfg.join_timeout_ms + 1);
    assert_int_equal(b.c.n_closes, 0);
    assert_int_equal(b.sess->state, HX_SESSION_JOINED);
    peer_free(&a);
    peer_free(&b);
}

static void test_keepalive(void **state)
{
    hx_server *s = srv(state);
    peer a, b;
    peer_open(s, &a, 2);
    peer_open(s, &b, 2);
    join_ok(s, &a, "lobby", "alice", "laptop");
    join_ok(s, &b, "lobby", "bob", "phone");
    int64_t base = a.sess->opened_ms, interval = 1000LL * s->cfg.ping_interval_s;
    hx_session_tick(a.sess, base + interval - 1);
    assert_int_equal(a.c.n_pings, 0);
    hx_session_tick(a.sess, base + interval);
    assert_int_equal(a.c.n_pings, 1);
    hx_session_tick(a.sess, base + interval + 1);
    assert_int_equal(a.c.n_pings, 1); /* one ping per interval */
    /* The peer answered: the silence starts again. */
    int64_t seen = base + interval + 100;
    hx_session_seen(a.sess, seen);
    hx_session_tick(a.sess, base + 2 * interval);
    assert_int_equal(a.c.n_closes, 0);
    assert_int_equal(a.sess->state, HX_SESSION_JOINED);
    /* Silent for two intervals: gone. */
    hx_session_tick(a.sess, seen + 2 * interval);
    assert_string_equal(str_at(last_data(&a, "disconnect"), "reason"), "timeout");
    assert_int_equal(a.c.close_code, HX_CLOSE_TIMEOUT);
    assert_string_equal(str_at(last_data(&b, "participant.left"), "reason"), "timeout");
    hx_session_tick(a.sess, seen + 3 * interval);
    assert_int_equal(a.c.n_closes, 1);
    peer_free(&a);
    peer_free(&b);
}

static void test_send_queue_full(void **state)
{
    hx_server *s = srv(state);
    peer a, b;
    peer_open(s, &a, 2);
    peer_open(s, &b, 2);
    join_ok(s, &a, "lobby", "alice", "laptop");
    a.c.fail_send = true; /* alice stops reading */
    join_ok(s, &b, "lobby", "bob", "phone");
    assert_int_equal(a.c.close_code, HX_CLOSE_POLICY);
    assert_int_equal(a.c.n_closes, 1);
    assert_int_equal(a.sess->state, HX_SESSION_CLOSING);
    peer_free(&a);
    assert_string_equal(str_at(last_data(&b, "participant.left"), "reason"), "closed");
    peer_free(&b);
}

/* --- revocation of live sessions ------------------------------------------- */

static void join_creds(hx_server *s, peer *p, const char *user, const char *device, const char *sid,
                       const char *jti)
{
    char t[HX_TICKET_MAX_TEXT + 1];
    mint(s, "lobby", user, device, sid, jti, 2, t);
    send_join(p, "j", t, "lobby");
    assert_string_equal(hx_test_msg_type(hx_test_client_last(&p->c, NULL)), "ack");
}

static void test_revoke_disconnects(void **state)
{
    hx_server *s = srv(state);
    peer a, b, c, d;
    peer_open(s, &a, 2);
    peer_open(s, &b, 2);
    peer_open(s, &c, 2);
    peer_open(s, &d, 2); /* never joins */
    join_creds(s, &a, "alice", "laptop", "sid-a", "jti-a");
    join_creds(s, &b, "bob", "phone", "sid-b", "jti-b");
    join_creds(s, &c, "alice", "tablet", "sid-c", "jti-c");

    int n = -1;
    assert_int_equal(hx_signal_revoke(s, HX_REVOKE_JTI, "jti-nobody", 0, NULL, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(a.c.n_closes + b.c.n_closes + c.c.n_closes + d.c.n_closes, 0);

    assert_int_equal(hx_signal_revoke(s, HX_REVOKE_USER, "alice", hx_now_ms() / 1000 + 1, "fired", &n), 0);
    assert_int_equal(n, 2);
    peer *alices[] = {&a, &c};
    for (int i = 0; i < 2; i++) {
        json_t *dd = last_data(alices[i], "disconnect");
        assert_string_equal(str_at(dd, "reason"), "revoked");
        assert_string_equal(str_at(dd, "message"), "fired");
        assert_int_equal(alices[i]->c.close_code, HX_CLOSE_REVOKED);
        assert_int_equal(alices[i]->c.n_closes, 1);
    }
    assert_int_equal(b.c.n_closes, 0);
    assert_int_equal(d.c.n_closes, 0);
    assert_int_equal(hx_test_client_count(&b.c, "participant.left"), 2);
    assert_string_equal(str_at(last_data(&b, "participant.left"), "reason"), "revoked");
    assert_int_equal(hx_rooms_find(&s->rooms, "lobby")->count, 1);

    /* Revoking again finds nobody live; by sid and jti each hit only their session. */
    assert_int_equal(hx_signal_revoke(s, HX_REVOKE_USER, "alice", hx_now_ms() / 1000 + 1, NULL, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(hx_signal_revoke(s, HX_REVOKE_SID, "sid-b", 0, NULL, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(b.c.close_code, HX_CLOSE_REVOKED);
    assert_string_equal(str_at(last_data(&b, "disconnect"), "message"), "revoked by the operator");
    assert_int_equal(d.c.n_closes, 0);
    assert_int_equal(hx_test_participants(s), 0);

    peer e;
    peer_open(s, &e, 2);
    join_creds(s, &e, "erin", "laptop", "sid-e", "jti-e");
    assert_int_equal(hx_signal_revoke(s, HX_REVOKE_JTI, "jti-e", 0, NULL, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(e.c.close_code, HX_CLOSE_REVOKED);

    peer_free(&a);
    peer_free(&b);
    peer_free(&c);
    peer_free(&d);
    peer_free(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_hello_per_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unsupported_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_echoes_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_fields_ignored, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_type_keeps_connection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_messages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_joined, setup, teardown),
        cmocka_unit_test_setup_teardown(test_join_bad_request, setup, teardown),
        cmocka_unit_test_setup_teardown(test_join, setup, teardown),
        cmocka_unit_test_setup_teardown(test_already_joined, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ticket_invalid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ticket_expired, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ticket_wrong_room_and_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ticket_replay, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ticket_revoked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_room_full, setup_small_room, teardown),
        cmocka_unit_test_setup_teardown(test_replacement, setup, teardown),
        cmocka_unit_test_setup_teardown(test_leave, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ping_v1_deprecated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ping_v2_removed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_room_info, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rate_limit, setup_slow_rate, teardown),
        cmocka_unit_test_setup_teardown(test_too_large, setup, teardown),
        cmocka_unit_test_setup_teardown(test_join_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keepalive, setup, teardown),
        cmocka_unit_test_setup_teardown(test_send_queue_full, setup, teardown),
        cmocka_unit_test_setup_teardown(test_revoke_disconnects, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
