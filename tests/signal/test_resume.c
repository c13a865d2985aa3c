/*
 * Unit tests for signal/resume.c and signal/persist.c on a test server:
 * sessions whose connection ends become AWAY and come back with their token
 * (same participant, `participant.resumed` to the room, the token spent), a
 * replayed token is refused, rotation hands out a token that works, an AWAY
 * session expires into a `participant.left`, one kicked while away is freed,
 * and a restart (a second server on the same store) restores the sessions
 * AWAY. The io here can resume (hx_test_client_resumable_io).
 */
#include "support/test_peer.h"

#include "common/clock.h"
#include "signal/session.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

static void ropen(hx_server *s, peer *p)
{
    hx_test_client_init(&p->c);
    p->sess = hx_session_open(s, &hx_test_client_resumable_io, &p->c, 2);
    assert_non_null(p->sess);
}

/* Join on a resumable connection; the resume token. */
static const char *rjoin(hx_server *s, peer *p, const char *user)
{
    ropen(s, p);
    char t[HX_TICKET_MAX_TEXT + 1];
    mint(s, "lobby", user, "laptop", NULL, NULL, 2, t);
    send_join(p, "j", t, "lobby");
    json_t *d = last_data(p, "ack");
    assert_non_null(d);
    json_t *r = json_object_get(d, "resume");
    assert_non_null(r);
    assert_true(json_integer_value(json_object_get(r, "drop_grace_s")) > 0);
    return json_string_value(json_object_get(r, "token"));
}

static void send_resume(peer *p, const char *token)
{
    send_json(p, json_pack("{s:s, s:s, s:{s:s, s:s, s:s}}", "type", "resume", "id", "r", "data",
                           "token", token, "room", "lobby", "media", "keep"));
}

/* The connection drops: the session goes AWAY (the test forgets its pointer). */
static void drop(peer *p)
{
    hx_session *s = p->sess;
    hx_session_closed(s);
    assert_int_equal(s->state, HX_SESSION_AWAY);
    p->sess = NULL;
}

static const char *err_code(const peer *p)
{
    json_t *d = last_data(p, "error");
    return d ? str_at(d, "code") : NULL;
}

static void drop_resume_replay(void **state)
{
    hx_test_server *t = *state;
    hx_server *s = &t->srv;
    peer a, b, a2, a3;
    char tok[HX_RESUME_MAX_TEXT + 1];
    snprintf(tok, sizeof tok, "%s", rjoin(s, &a, "alice"));
    rjoin(s, &b, "bob");
    char pid[HX_PARTICIPANT_ID_LEN];
    snprintf(pid, sizeof pid, "%s", a.sess->p.id);
    drop(&a);
    assert_int_equal(hx_test_participants(s), 2); /* still in the room */

    ropen(s, &a2);
    hx_session *fresh = a2.sess;
    send_resume(&a2, tok);
    json_t *d = last_data(&a2, "ack");
    assert_non_null(d);
    assert_true(json_is_true(json_object_get(d, "resumed")));
    assert_string_equal(str_at(json_object_get(d, "participant"), "id"), pid);
    assert_int_equal(a2.c.n_adopts, 1);
    assert_ptr_not_equal(a2.c.session, fresh); /* the connection belongs to the old session now */
    a2.sess = a2.c.session;
    assert_string_equal(a2.sess->p.id, pid);
    json_t *ev = last_data(&b, "participant.resumed");
    assert_non_null(ev);
    assert_string_equal(str_at(json_object_get(ev, "participant"), "id"), pid);
    assert_null(hx_test_client_last(&b.c, "participant.left"));
    assert_int_equal(count_events(s, "session.resume"), 1);

    ropen(s, &a3); /* the spent token */
    send_resume(&a3, tok);
    assert_string_equal(err_code(&a3), "resume_replayed");
    assert_int_equal(a3.c.close_code, HX_CLOSE_RESUME_REFUSED);
    assert_true(json_is_true(json_object_get(last_data(&a3, "error"), "rejoin")));
    peer_free(&a3);

    a2.sess->no_resume = true; /* a clean close: leave now */
    peer_free(&a2);
    peer_free(&a);
    assert_non_null(last_data(&b, "participant.left"));
    b.sess->no_resume = true;
    peer_free(&b);
    assert_int_equal(hx_test_participants(s), 0);
}

static void forged_and_garbage(void **state)
{
    hx_test_server *t = *state;
    hx_server *s = &t->srv;
    peer a, x;
    char tok[HX_RESUME_MAX_TEXT + 1];
    snprintf(tok, sizeof tok, "%s", rjoin(s, &a, "alice"));
    tok[10] = tok[10] == 'A' ? 'B' : 'A';
    ropen(s, &x);
    send_resume(&x, tok);
    assert_string_equal(err_code(&x), "resume_invalid");
    peer_free(&x);
    ropen(s, &x);
    send_json(&x, json_pack("{s:s, s:s, s:{s:i}}", "type", "resume", "id", "r", "data", "token", 1));
    assert_string_equal(err_code(&x), "bad_request");
    peer_free(&x);
    a.sess->no_resume = true;
    peer_free(&a);
}

static void rotation_and_expiry(void **state)
{
    hx_test_server *t = *state;
    hx_server *s = &t->srv;
    peer a, b, a2;
    rjoin(s, &a, "alice");
    rjoin(s, &b, "bob");
    /* Rotate: a token comes as session.token; the previous one stays valid until used. */
    hx_session_resume_tick(a.sess, hx_mono_ms() + s->cfg.resume_rotate_s * 1000);
    json_t *r = last_data(&a, "session.token");
    assert_non_null(r);
    char tok[HX_RESUME_MAX_TEXT + 1];
    snprintf(tok, sizeof tok, "%s", str_at(r, "token"));
    drop(&a);
    ropen(s, &a2);
    send_resume(&a2, tok);
    assert_non_null(last_data(&a2, "ack"));
    a2.sess = a2.c.session;
    /* Drop again and let the window pass: the room hears the leave, the session is freed. */
    hx_session *away = a2.sess;
    hx_session_closed(away);
    a2.sess = NULL;
    assert_true(hx_session_resume_tick(away, hx_mono_ms() + (s->cfg.drop_grace_s + 1) * 1000));
    json_t *left = last_data(&b, "participant.left");
    assert_non_null(left);
    assert_string_equal(str_at(left, "reason"), "closed");
    assert_int_equal(hx_test_participants(s), 1);
    hx_test_client_free(&a2.c);
    hx_test_client_free(&a.c);
    b.sess->no_resume = true;
    peer_free(&b);
}

static void kicked_while_away(void **state)
{
    hx_test_server *t = *state;
    hx_server *s = &t->srv;
    peer a, x;
    char tok[HX_RESUME_MAX_TEXT + 1];
    snprintf(tok, sizeof tok, "%s", rjoin(s, &a, "alice"));
    drop(&a);
    hx_session_match m = {.user = "alice"};
    assert_int_equal(hx_sessions_kick(s, hx_session_matches, &m, "revoked", HX_CLOSE_REVOKED, "x"), 1);
    hx_sessions_tick(s, hx_mono_ms()); /* frees it */
    assert_int_equal(hx_sessions_count(s), 0);
    ropen(s, &x);
    send_resume(&x, tok);
    assert_string_equal(err_code(&x), "resume_expired");
    peer_free(&x);
    hx_test_client_free(&a.c);
}

static void restart_restores(void **state)
{
    hx_test_server *t = *state;
    hx_server *s = &t->srv;
    peer a;
    char tok[HX_RESUME_MAX_TEXT + 1];
    snprintf(tok, sizeof tok, "%s", rjoin(s, &a, "alice"));
    char pid[HX_PARTICIPANT_ID_LEN];
    snprintf(pid, sizeof pid, "%s", a.sess->p.id);
    hx_signal_heartbeat(s, hx_mono_ms());
    /* What survives a restart is in the store: free the sessions as an exit does, restore. */
    hx_sessions_free_all(s);
    assert_int_equal(hx_test_participants(s), 0);
    assert_int_equal(hx_sessions_restore(s), 1);
    hx_room *r = hx_rooms_find(&s->rooms, "lobby");
    assert_non_null(r);
    hx_participant *p = hx_room_find_participant(r, pid);
    assert_non_null(p);
    assert_int_equal(((hx_session *)p->owner)->state, HX_SESSION_AWAY);
    peer a2;
    ropen(s, &a2);
    send_resume(&a2, tok);
    json_t *d = last_data(&a2, "ack");
    assert_non_null(d);
    assert_string_equal(str_at(d, "media"), "renew");
    a2.sess = a2.c.session;
    a2.sess->no_resume = true;
    peer_free(&a2);
    hx_test_client_free(&a.c);
    assert_int_equal(hx_test_participants(s), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(drop_resume_replay, hx_test_server_setup, hx_test_server_teardown),
        cmocka_unit_test_setup_teardown(forged_and_garbage, hx_test_server_setup, hx_test_server_teardown),
        cmocka_unit_test_setup_teardown(rotation_and_expiry, hx_test_server_setup, hx_test_server_teardown),
        cmocka_unit_test_setup_teardown(kicked_while_away, hx_test_server_setup, hx_test_server_teardown),
        cmocka_unit_test_setup_teardown(restart_restores, hx_test_server_setup, hx_test_server_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
