/*
 * Pinned tracks (signal/media.c, docs/protocol.md §2.8): `track.pin` {track, pinned} on a
 * socketless server whose "engine" keeps every command. It becomes PIN on the subscriber's
 * transport (flags ON to pin, none to unpin) carrying the request id, acknowledged when the
 * engine says DONE, refused with the engine's code (a track not subscribed: unknown_track);
 * a track not in the room, one's own track, a missing or non-boolean `pinned` are refused before
 * the engine; unsubscribing unpins. The choice is the session's, like a layer's: a resume that
 * renews the media pins again what was pinned (after subscribing, and after the layer asked for),
 * not what was unpinned, and a restart restores it from the store.
 */
#include "support/test_peer.h"

#include "common/clock.h"
#include "signal/registry.h"
#include "signal/session.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define MAX_CMDS 512

/* Every command the control plane posted, in order. */
typedef struct cmd_log {
    uint8_t *msg[MAX_CMDS];
    size_t len[MAX_CMDS];
    int n;
} cmd_log;

typedef struct world {
    hx_test_server t;
    cmd_log cmds;
    peer alice, bob, alice2;
    char token[2][HX_RESUME_MAX_TEXT + 1]; /* resume tokens: alice's, bob's */
} world;

static int log_post(void *ctx, const uint8_t *msg, size_t len)
{
    cmd_log *l = ctx;
    if (l->n == MAX_CMDS) return 0;
    l->msg[l->n] = malloc(len);
    assert_non_null(l->msg[l->n]);
    memcpy(l->msg[l->n], msg, len);
    l->len[l->n++] = len;
    return 0;
}

static hx_server *S(world *w)
{
    return &w->t.srv;
}

/* Whether command i is of `kind` for `transport` and `track` (NULL: any); it goes to *out. */
static bool command_is(world *w, int i, uint16_t kind, uint64_t transport, const char *track,
                       hx_sfu_msg *out)
{
    hx_sfu_msg m;
    const char *why;
    assert_int_equal(hx_sfu_parse(w->cmds.msg[i], w->cmds.len[i], &m, &why), 0);
    if (m.kind != kind || m.transport != transport ||
        (track && !hx_sfu_field_is(&m, HX_SFU_T_TRACK, track)))
        return false;
    if (out) *out = m;
    return true;
}

/* How many such commands from index `from` on; the last one in *out. */
static int commands(world *w, int from, uint16_t kind, uint64_t transport, const char *track,
                    hx_sfu_msg *out)
{
    int n = 0;
    for (int i = from; i < w->cmds.n; i++)
        n += command_is(w, i, kind, transport, track, out);
    return n;
}

/* The index of the first such command from `from` on, or -1. */
static int first_command(world *w, int from, uint16_t kind, uint64_t transport, const char *track)
{
    for (int i = from; i < w->cmds.n; i++)
        if (command_is(w, i, kind, transport, track, NULL)) return i;
    return -1;
}

/* Join on a connection that can resume; its token in *token. */
static void rjoin(world *w, peer *p, const char *user, char *token)
{
    hx_test_client_init(&p->c);
    p->sess = hx_session_open(S(w), &hx_test_client_resumable_io, &p->c, 2);
    assert_non_null(p->sess);
    char t[HX_TICKET_MAX_TEXT + 1];
    mint(S(w), "r", user, "d", NULL, NULL, 2, t);
    send_join(p, "j", t, "r");
    json_t *r = json_object_get(last_data(p, "ack"), "resume");
    snprintf(token, HX_RESUME_MAX_TEXT + 1, "%s", str_at(r, "token"));
}

/* A new connection n resumes a session with its token (media "keep" or "renew"). */
static void resume(world *w, peer *n, char *token, const char *media)
{
    hx_test_client_init(&n->c);
    n->sess = hx_session_open(S(w), &hx_test_client_resumable_io, &n->c, 2);
    assert_non_null(n->sess);
    send_json(n, json_pack("{s:s, s:s, s:{s:s, s:s, s:s}}", "type", "resume", "id", "r", "data",
                           "token", token, "room", "r", "media", media));
    json_t *ack = last_data(n, "ack");
    assert_non_null(ack);
    snprintf(token, HX_RESUME_MAX_TEXT + 1, "%s", str_at(json_object_get(ack, "resume"), "token"));
    n->sess = n->c.session; /* the connection is that session's now */
}

static int setup(void **state)
{
    world *w = calloc(1, sizeof *w);
    if (!w || hx_test_server_init(&w->t, NULL, NULL)) return -1;
    w->t.srv.sfu_post = log_post;
    w->t.srv.sfu_ctx = &w->cmds;
    rjoin(w, &w->bob, "bob", w->token[1]);
    rjoin(w, &w->alice, "alice", w->token[0]);
    publish_track(S(w), &w->bob, "TR_cam", "video", "1", "q,h,f");
    publish_track(S(w), &w->bob, "TR_screen", "video", "2", "q,h,f");
    publish_track(S(w), &w->alice, "TR_alice", "video", "1", "q,h,f");
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    world *w = *state;
    for (peer *p = &w->alice; p; p = p == &w->alice ? &w->bob : p == &w->bob ? &w->alice2 : NULL) {
        if (p->sess) p->sess->no_resume = true; /* leave at once */
        peer_free(p);
    }
    size_t open = hx_test_server_free(&w->t);
    for (int i = 0; i < w->cmds.n; i++)
        free(w->cmds.msg[i]);
    free(w);
    return open == 0 ? 0 : -1;
}

static void pin(peer *p, const char *id, const char *track, bool on)
{
    send_json(p, json_pack("{s:s, s:s, s:{s:s, s:b}}", "type", "track.pin", "id", id, "data",
                           "track", track, "pinned", on));
}

static void reaches_the_engine(void **state)
{
    world *w = *state;
    uint64_t sub = peer_transport(&w->alice, 1);
    pin(&w->alice, "p1", "TR_cam", true);
    hx_sfu_msg m;
    assert_int_equal(commands(w, 0, HX_SFU_PIN, sub, "TR_cam", &m), 1);
    assert_true(m.flags & HX_SFU_F_ON);
    assert_true(hx_sfu_field_is(&m, HX_SFU_T_REQUEST, "p1"));
    assert_true(hx_session_sub_choice(w->alice.sess, "TR_cam")->pinned);
    /* The engine's DONE answers it. */
    engine_event_to(S(w), sub, HX_SFU_EV_DONE, HX_SFU_T_REQUEST, "p1", 0);
    json_t *ack = hx_test_client_last(&w->alice.c, NULL);
    assert_string_equal(hx_test_msg_type(ack), "ack");
    assert_string_equal(hx_test_msg_id(ack), "p1");

    pin(&w->alice, "p2", "TR_cam", false);
    assert_int_equal(commands(w, 0, HX_SFU_PIN, sub, "TR_cam", &m), 2);
    assert_false(m.flags & HX_SFU_F_ON);
    assert_true(hx_sfu_field_is(&m, HX_SFU_T_REQUEST, "p2"));
    assert_false(hx_session_sub_choice(w->alice.sess, "TR_cam")->pinned);

    /* The engine refuses a track the session does not receive: its code reaches the client. */
    pin(&w->alice, "p3", "TR_screen", true);
    engine_event_to(S(w), sub, HX_SFU_EV_ERROR, HX_SFU_T_REQUEST, "p3", HX_SFU_T_CODE,
                    "unknown_track", HX_SFU_T_REASON, "not subscribed to that track", 0);
    json_t *err = hx_test_client_last(&w->alice.c, NULL);
    assert_string_equal(hx_test_msg_type(err), "error");
    assert_string_equal(hx_test_msg_id(err), "p3");
    assert_string_equal(str_at(hx_test_msg_data(err), "code"), "unknown_track");

    /* Unsubscribing unpins: the engine forgets the pin with the subscription. */
    pin(&w->alice, "p4", "TR_cam", true);
    send_text(&w->alice, "{\"type\":\"track.unsubscribe\",\"id\":\"u1\",\"data\":{\"track\":"
                         "\"TR_cam\"}}");
    assert_false(hx_session_sub_choice(w->alice.sess, "TR_cam")->pinned);
}

static void refused_before_the_engine(void **state)
{
    world *w = *state;
    int posts = w->cmds.n;
    static const struct {
        const char *data, *code;
    } bad[] = {
        {"{\"track\":\"TR_gone\",\"pinned\":true}", "unknown_track"},
        {"{\"track\":\"TR_alice\",\"pinned\":true}", "unknown_track"}, /* her own */
        {"{\"pinned\":true}", "bad_request"},
        {"{\"track\":\"TR_cam\"}", "bad_request"},
        {"{\"track\":\"TR_cam\",\"pinned\":1}", "bad_request"},
        {"{\"track\":\"TR_cam\",\"pinned\":\"true\"}", "bad_request"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[256];
        snprintf(text, sizeof text, "{\"type\":\"track.pin\",\"id\":\"b%zu\",\"data\":%s}", i,
                 bad[i].data);
        send_text(&w->alice, text);
        json_t *err = hx_test_client_last(&w->alice.c, NULL);
        assert_string_equal(hx_test_msg_type(err), "error");
        assert_string_equal(str_at(hx_test_msg_data(err), "code"), bad[i].code);
    }
    assert_int_equal(w->cmds.n, posts);
    assert_null(hx_session_sub_choice(w->alice.sess, "TR_cam"));
}

static void survives_a_resume(void **state)
{
    world *w = *state;
    send_text(&w->alice, "{\"type\":\"track.layer\",\"id\":\"l1\",\"data\":{\"track\":\"TR_cam\","
                         "\"width\":320,\"height\":180}}");
    pin(&w->alice, "p1", "TR_cam", true);
    pin(&w->alice, "p2", "TR_screen", true);
    pin(&w->alice, "p3", "TR_screen", false);

    /* alice drops (her transports close) and comes back: new transports, her choices again. */
    hx_session *s = w->alice.sess;
    peer_gone(&w->alice);
    w->alice.sess = NULL;
    assert_int_equal(s->state, HX_SESSION_AWAY);
    int from = w->cmds.n;
    resume(w, &w->alice2, w->token[0], "keep");
    assert_string_equal(str_at(last_data(&w->alice2, "ack"), "media"), "renew");
    uint64_t sub = peer_transport(&w->alice2, 1);
    hx_sfu_msg m;
    assert_int_equal(commands(w, from, HX_SFU_PIN, sub, "TR_cam", &m), 1);
    assert_true(m.flags & HX_SFU_F_ON);
    assert_false(hx_sfu_has(&m, HX_SFU_T_REQUEST)); /* nobody to answer */
    assert_int_equal(commands(w, from, HX_SFU_PIN, sub, "TR_screen", NULL), 0);
    /* In order: subscribed, its size asked for, pinned. */
    int subscribe = first_command(w, from, HX_SFU_SUBSCRIBE, sub, "TR_cam");
    int layer = first_command(w, from, HX_SFU_SET_LAYER, sub, "TR_cam");
    int pinned = first_command(w, from, HX_SFU_PIN, sub, "TR_cam");
    assert_true(subscribe >= 0 && subscribe < layer && layer < pinned);
    assert_int_equal(commands(w, from, HX_SFU_SUBSCRIBE, sub, "TR_screen", NULL), 1);
}

static void survives_a_restart(void **state)
{
    world *w = *state;
    pin(&w->alice, "p1", "TR_cam", true);
    pin(&w->alice, "p2", "TR_screen", true);
    pin(&w->alice, "p3", "TR_screen", false);
    char pid[HX_PARTICIPANT_ID_LEN];
    snprintf(pid, sizeof pid, "%s", w->alice.sess->p.id);
    /* What survives a restart is in the store: free the sessions as an exit does, restore. */
    hx_signal_heartbeat(S(w), hx_mono_ms());
    hx_sessions_free_all(S(w));
    w->alice.sess = w->bob.sess = NULL;
    assert_int_equal(hx_sessions_restore(S(w)), 2);
    hx_participant *p = hx_room_find_participant(hx_rooms_find(&S(w)->rooms, "r"), pid);
    assert_non_null(p);
    const hx_sub_choice *cam = hx_session_sub_choice(p->owner, "TR_cam"),
                        *screen = hx_session_sub_choice(p->owner, "TR_screen");
    assert_true(cam && cam->pinned);
    assert_true(screen && !screen->pinned);
    /* Both come back (and leave at teardown). */
    peer bob2;
    resume(w, &w->alice2, w->token[0], "renew");
    resume(w, &bob2, w->token[1], "renew");
    bob2.sess->no_resume = true;
    peer_free(&bob2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(reaches_the_engine, setup, teardown),
        cmocka_unit_test_setup_teardown(refused_before_the_engine, setup, teardown),
        cmocka_unit_test_setup_teardown(survives_a_resume, setup, teardown),
        cmocka_unit_test_setup_teardown(survives_a_restart, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
