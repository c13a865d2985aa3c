/*
 * Layers nobody watches, told to their publisher (signal/layers.c): the `track.layers` data
 * built from an EV_LAYERS rid list (rids in order; an empty or malformed list builds nothing),
 * and the event's way through the control plane on a socketless server whose "engine" takes any
 * command: only the publisher hears it, only from its own publisher transport, for its own
 * track under that track's mid; a resume that keeps the media hears the last list of each track
 * again right after its result, one that renews it hears nothing (new transports send all).
 *
 * And what a subscriber receives (signal/receiving.c): EV_RECEIVING on its subscriber transport
 * becomes `track.receiving` for another's track, rid null and no size when there are none,
 * nothing for a malformed rid or size or a track not in the room; `track.layer` with a size
 * asks the engine for it (SET_LAYER with a size), and bad sizes are bad requests.
 */
#include "support/test_peer.h"

#include "signal/envelope.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

typedef struct world {
    hx_test_server t;
    engine_record engine; /* the last command the control plane posted */
    peer alice, bob;
    peer alice2, alice3;                /* alice's later connections (resumes) */
    char token[HX_RESUME_MAX_TEXT + 1]; /* alice's resume token */
} world;

static hx_server *S(world *w)
{
    return &w->t.srv;
}

static void layers(world *w, uint64_t transport, const char *track, const char *mid,
                   const char *list)
{
    engine_event_to(S(w), transport, HX_SFU_EV_LAYERS, HX_SFU_T_TRACK, track, HX_SFU_T_MID, mid,
                    HX_SFU_T_LAYERS, list, 0);
}

/* Join on a connection that can resume; the resume token goes to w->token. */
static void rjoin(world *w, peer *p, const char *user)
{
    hx_test_client_init(&p->c);
    p->sess = hx_session_open(S(w), &hx_test_client_resumable_io, &p->c, 2);
    assert_non_null(p->sess);
    char t[HX_TICKET_MAX_TEXT + 1];
    mint(S(w), "r", user, "d", NULL, NULL, 2, t);
    send_join(p, "j", t, "r");
    json_t *r = json_object_get(last_data(p, "ack"), "resume");
    snprintf(w->token, sizeof w->token, "%s", str_at(r, "token"));
}

static int setup(void **state)
{
    world *w = calloc(1, sizeof *w);
    if (!w || hx_test_server_init(&w->t, NULL, NULL)) return -1;
    w->t.srv.sfu_post = fake_engine_post;
    w->t.srv.sfu_ctx = &w->engine;
    peer_open(S(w), &w->bob, 2);
    join_with_grants(S(w), &w->bob, "r", "bob", "d", HX_GRANT_DEFAULT_FLAGS);
    rjoin(w, &w->alice, "alice");
    publish_track(S(w), &w->alice, "TR_cam", "video", "1", "q,h,f");
    publish_track(S(w), &w->alice, "TR_screen", "video", "2", "q,h,f");
    publish_track(S(w), &w->bob, "TR_bob", "video", "1", "q,h,f");
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    world *w = *state;
    for (peer *p = &w->alice; p; p = p == &w->alice    ? &w->alice2
                                     : p == &w->alice2 ? &w->alice3
                                                       : NULL) {
        if (p->sess) p->sess->no_resume = true; /* leave at once */
        peer_free(p);
    }
    peer_free(&w->bob);
    size_t open = hx_test_server_free(&w->t);
    free(w);
    return open == 0 ? 0 : -1;
}

/* The encoded `track.layers` of a list, or NULL when it builds nothing. */
static char *encoded(const char *list)
{
    json_t *d = hx_layers_json("TR_x", "1", list, list ? strlen(list) : 0);
    return d ? hx_envelope_encode("track.layers", NULL, d, NULL) : NULL;
}

static void data_from_a_list(void **state)
{
    (void)state;
    char *got = encoded("q,h");
    assert_string_equal(got,
                        "{\"type\":\"track.layers\",\"data\":{\"track\":\"TR_x\",\"mid\":\"1\","
                        "\"active\":[\"q\",\"h\"]}}");
    free(got);
    got = encoded("q");
    assert_string_equal(got, "{\"type\":\"track.layers\",\"data\":{\"track\":\"TR_x\",\"mid\":"
                             "\"1\",\"active\":[\"q\"]}}");
    free(got);
    got = encoded("lo_0,MID-1,hi2"); /* RFC 8851: alpha-numeric, "-" and "_" */
    assert_non_null(strstr(got, "\"active\":[\"lo_0\",\"MID-1\",\"hi2\"]"));
    free(got);
    /* Nothing to keep sending, an empty rid, a byte no rid has: nothing is told. */
    static const char *const bad[] = {"", ",", "q,", ",q", "q,,h", "q h", "q;h", "q\xc3\xa9", "~h"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *d = hx_layers_json("TR_x", "1", bad[i], strlen(bad[i]));
        if (d) fail_msg("built from \"%s\"", bad[i]);
    }
    assert_null(hx_layers_json("TR_x", "1", NULL, 0));
}

static json_t *active_at(const peer *p)
{
    return json_object_get(last_data(p, "track.layers"), "active");
}

static void told_to_the_publisher(void **state)
{
    world *w = *state;
    layers(w, peer_transport(&w->alice, 0), "TR_cam", "1", "q");
    json_t *d = last_data(&w->alice, "track.layers");
    assert_string_equal(str_at(d, "track"), "TR_cam");
    assert_string_equal(str_at(d, "mid"), "1");
    assert_int_equal(json_array_size(active_at(&w->alice)), 1);
    assert_string_equal(json_string_value(json_array_get(active_at(&w->alice), 0)), "q");
    assert_int_equal(hx_test_client_count(&w->bob.c, "track.layers"), 0); /* not the room */
    assert_true(metrics_have(S(w), "hearth_layer_changes_total 1\n"));

    layers(w, peer_transport(&w->alice, 0), "TR_cam", "1", "q,h,f");
    assert_int_equal(json_array_size(active_at(&w->alice)), 3);
    assert_int_equal(hx_test_client_count(&w->alice.c, "track.layers"), 2);

    /* Not told: through the subscriber transport, another's track, a track nobody publishes,
     * another mid, a malformed list, one too long to keep. */
    layers(w, peer_transport(&w->alice, 0) + 1, "TR_cam", "1", "q");
    layers(w, peer_transport(&w->alice, 0), "TR_bob", "1", "q");
    layers(w, peer_transport(&w->alice, 0), "TR_gone", "1", "q");
    layers(w, peer_transport(&w->alice, 0), "TR_cam", "2", "q");
    layers(w, peer_transport(&w->alice, 0), "TR_cam", "1", "q,");
    layers(w, peer_transport(&w->alice, 0), "TR_cam", "1", "");
    char lng[HX_LAYERS_LIST_MAX + 8];
    memset(lng, 'q', sizeof lng - 1);
    lng[sizeof lng - 1] = '\0';
    layers(w, peer_transport(&w->alice, 0), "TR_cam", "1", lng);
    assert_int_equal(hx_test_client_count(&w->alice.c, "track.layers"), 2);
    assert_int_equal(hx_test_client_count(&w->bob.c, "track.layers"), 0);
    assert_true(metrics_have(S(w), "hearth_layer_changes_total 2\n"));

    /* A closed track's list is forgotten with it. */
    layers(w, peer_transport(&w->alice, 0), "TR_screen", "2", "q");
    engine_event_to(S(w), peer_transport(&w->alice, 0), HX_SFU_EV_TRACK_CLOSED, HX_SFU_T_TRACK,
                    "TR_screen", HX_SFU_T_REASON, "unpublished", 0);
    for (size_t i = 0; i < HX_MAX_TRACKS; i++)
        assert_string_not_equal(w->alice.sess->layers[i].track, "TR_screen");
}

/* A new connection n resumes alice's session (media "keep" or "renew"), which it then carries. */
static void resume(world *w, peer *n, const char *media)
{
    hx_test_client_init(&n->c);
    n->sess = hx_session_open(S(w), &hx_test_client_resumable_io, &n->c, 2);
    assert_non_null(n->sess);
    send_json(n, json_pack("{s:s, s:s, s:{s:s, s:s, s:s}}", "type", "resume", "id", "r", "data",
                           "token", w->token, "room", "r", "media", media));
    json_t *ack = last_data(n, "ack");
    assert_non_null(ack);
    snprintf(w->token, sizeof w->token, "%s", str_at(json_object_get(ack, "resume"), "token"));
    n->sess = n->c.session; /* the connection is alice's session's now */
}

static void told_again_after_a_resume(void **state)
{
    world *w = *state;
    layers(w, peer_transport(&w->alice, 0), "TR_cam", "1", "q,h,f");
    layers(w, peer_transport(&w->alice, 0), "TR_cam", "1", "q"); /* the last one counts */
    layers(w, peer_transport(&w->alice, 0), "TR_screen", "2", "q,h");

    /* alice's new connection takes over the live one, keeping the media: the ack, then each
     * track's last list. */
    peer *a2 = &w->alice2, *a3 = &w->alice3;
    resume(w, a2, "keep");
    assert_null(w->alice.c.session); /* the old connection delivers to nobody now */
    w->alice.sess = NULL;
    size_t n = hx_test_client_count(&a2->c, NULL);
    assert_true(n >= 3);
    json_t *ack = hx_test_client_nth(&a2->c, n - 3), *cam = hx_test_client_nth(&a2->c, n - 2),
           *screen = hx_test_client_nth(&a2->c, n - 1);
    assert_string_equal(hx_test_msg_type(ack), "ack");
    assert_string_equal(str_at(hx_test_msg_data(ack), "media"), "kept");
    assert_string_equal(hx_test_msg_type(cam), "track.layers");
    assert_string_equal(str_at(hx_test_msg_data(cam), "track"), "TR_cam");
    json_t *active = json_object_get(hx_test_msg_data(cam), "active");
    assert_int_equal(json_array_size(active), 1);
    assert_string_equal(json_string_value(json_array_get(active, 0)), "q");
    assert_string_equal(str_at(hx_test_msg_data(screen), "track"), "TR_screen");
    assert_string_equal(str_at(hx_test_msg_data(screen), "mid"), "2");
    assert_int_equal(hx_test_client_count(&w->bob.c, "track.layers"), 0);

    /* It drops and comes back: its transports closed while away, so the resume renews the
     * media, and the new ones send every layer: nothing is told, nothing is kept. */
    hx_session *s = a2->sess;
    peer_gone(a2);
    assert_int_equal(s->state, HX_SESSION_AWAY);
    for (size_t i = 0; i < HX_MAX_TRACKS; i++)
        assert_string_equal(s->layers[i].track, "");
    resume(w, a3, "keep");
    assert_string_equal(str_at(last_data(a3, "ack"), "media"), "renew");
    assert_int_equal(hx_test_client_count(&a3->c, "track.layers"), 0);
}

static void receiving(world *w, const char *track, const char *rid, const char *size,
                      uint32_t flags)
{
    hx_sfu_builder b;
    uint8_t buf[512];
    hx_sfu_build(&b, buf, sizeof buf, HX_SFU_EV_RECEIVING, peer_transport(&w->bob, 1));
    hx_sfu_put_cstr(&b, HX_SFU_T_TRACK, track);
    hx_sfu_put_cstr(&b, HX_SFU_T_LAYER, rid);
    hx_sfu_put_cstr(&b, HX_SFU_T_SIZE, size);
    hx_sfu_put_flags(&b, flags);
    long n = hx_sfu_finish(&b);
    assert_true(n > 0);
    hx_signal_engine_event(S(w), buf, (size_t)n);
}

static void receiving_told_to_the_subscriber(void **state)
{
    world *w = *state;
    receiving(w, "TR_cam", "h", "640x360", HX_SFU_F_LIMITED);
    json_t *d = last_data(&w->bob, "track.receiving");
    assert_string_equal(str_at(d, "track"), "TR_cam");
    assert_string_equal(str_at(d, "rid"), "h");
    assert_int_equal(int_at(d, "width"), 640);
    assert_int_equal(int_at(d, "height"), 360);
    assert_true(json_is_true(json_object_get(d, "limited")));
    receiving(w, "TR_cam", "", "", 0); /* nothing forwarded, size unknown */
    d = last_data(&w->bob, "track.receiving");
    assert_true(json_is_null(json_object_get(d, "rid")));
    assert_null(json_object_get(d, "width"));
    assert_true(json_is_false(json_object_get(d, "limited")));
    assert_int_equal(hx_test_client_count(&w->bob.c, "track.receiving"), 2);
    /* Not told: his own track, a track nobody publishes, a malformed rid or size. */
    static const char *const bad[][3] = {
        {"TR_bob", "q", ""},        {"TR_gone", "q", ""},     {"TR_cam", "q h", ""},
        {"TR_cam", "q", "640"},     {"TR_cam", "q", "0x360"}, {"TR_cam", "q", "640x360x2"},
        {"TR_cam", "q", "99999x1"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        receiving(w, bad[i][0], bad[i][1], bad[i][2], 0);
    assert_int_equal(hx_test_client_count(&w->bob.c, "track.receiving"), 2);
    assert_int_equal(hx_test_client_count(&w->alice.c, "track.receiving"), 0);
}

static void layer_by_size(void **state)
{
    world *w = *state;
    send_text(&w->bob, "{\"type\":\"track.layer\",\"id\":\"s1\",\"data\":{\"track\":\"TR_cam\","
                       "\"width\":320,\"height\":180}}");
    hx_sfu_msg m;
    const char *why;
    assert_int_equal(hx_sfu_parse(w->engine.last, w->engine.len, &m, &why), 0);
    assert_int_equal(m.kind, HX_SFU_SET_LAYER);
    assert_true(hx_sfu_field_is(&m, HX_SFU_T_SIZE, "320x180"));
    assert_false(hx_sfu_has(&m, HX_SFU_T_LAYER));
    assert_true(hx_sfu_field_is(&m, HX_SFU_T_TRACK, "TR_cam"));
    int posts = w->engine.posts;
    static const char *const bad[] = {
        "{\"track\":\"TR_cam\",\"width\":320}",
        "{\"track\":\"TR_cam\",\"width\":0,\"height\":180}",
        "{\"track\":\"TR_cam\",\"width\":320,\"height\":16385}",
        "{\"track\":\"TR_cam\",\"width\":\"320\",\"height\":180}",
        "{\"track\":\"TR_cam\",\"width\":320,\"height\":180,\"rid\":\"q\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[256];
        snprintf(text, sizeof text, "{\"type\":\"track.layer\",\"id\":\"b%zu\",\"data\":%s}", i,
                 bad[i]);
        send_text(&w->bob, text);
        assert_string_equal(str_at(last_data(&w->bob, "error"), "code"), "bad_request");
    }
    assert_int_equal(w->engine.posts, posts);
    /* The choice is kept as the session's, for a resume to ask again. */
    const hx_sub_choice *c = hx_session_sub_choice(w->bob.sess, "TR_cam");
    assert_non_null(c);
    assert_string_equal(c->layer, "@320x180");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(receiving_told_to_the_subscriber, setup, teardown),
        cmocka_unit_test_setup_teardown(layer_by_size, setup, teardown),
        cmocka_unit_test(data_from_a_list),
        cmocka_unit_test_setup_teardown(told_to_the_publisher, setup, teardown),
        cmocka_unit_test_setup_teardown(told_again_after_a_resume, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
