/*
 * Active speakers from the engine to the room (signal/speakers.c): the `room.speakers` data
 * built from an EV_SPEAKERS list (each track mapped to the participant publishing it as audio,
 * levels 0..1 in the list's order, what cannot be mapped left out, the encoded levels short),
 * and the event's way through the control plane on a socketless server whose "engine" takes
 * any command: every member hears it, the speakers too, whichever publisher's transport
 * carried it, even once that publisher's session is gone; an empty list says nobody speaks;
 * a client that joins while someone speaks is told right after its join result.
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
    peer alice, bob, carol;
} world;

static hx_server *S(world *w)
{
    return &w->t.srv;
}

static void speakers(world *w, const peer *via, const char *list)
{
    engine_event_to(S(w), peer_transport(via, 0), HX_SFU_EV_SPEAKERS, HX_SFU_T_ROOM, "r",
                    HX_SFU_T_SPEAKERS, list, 0);
}

static int setup(void **state)
{
    world *w = calloc(1, sizeof *w);
    if (!w || hx_test_server_init(&w->t, NULL, NULL)) return -1;
    w->t.srv.sfu_post = fake_engine_post;
    peer_open(S(w), &w->alice, 2);
    join_with_grants(S(w), &w->alice, "r", "alice", "d", HX_GRANT_DEFAULT_FLAGS);
    peer_open(S(w), &w->bob, 2);
    join_with_grants(S(w), &w->bob, "r", "bob", "d", HX_GRANT_DEFAULT_FLAGS);
    publish_track(S(w), &w->alice, "TR_a_audio", "audio", "0", NULL);
    publish_track(S(w), &w->alice, "TR_a_video", "video", "1", NULL);
    publish_track(S(w), &w->bob, "TR_b_audio", "audio", "0", NULL);
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    world *w = *state;
    peer_free(&w->alice);
    peer_free(&w->bob);
    peer_free(&w->carol);
    size_t open = hx_test_server_free(&w->t);
    free(w);
    return open == 0 ? 0 : -1;
}

/* The encoded `room.speakers` data of list in room r, as clients read it. */
static char *encoded(const hx_room *r, const char *list, size_t *dropped)
{
    json_t *d = hx_speakers_json(r, list, strlen(list), dropped);
    assert_non_null(d);
    char *full = hx_envelope_encode("room.speakers", NULL, d, NULL);
    assert_non_null(full);
    return full;
}

static void data_from_a_list(void **state)
{
    world *w = *state;
    hx_room *r = w->alice.sess->p.room;
    char want[512], *got;
    size_t dropped = 99;

    got = encoded(r, "TR_b_audio:82,TR_a_audio:7", &dropped);
    snprintf(want, sizeof want,
             "{\"type\":\"room.speakers\",\"data\":{\"speakers\":["
             "{\"participant\":\"%s\",\"track\":\"TR_b_audio\",\"level\":0.82},"
             "{\"participant\":\"%s\",\"track\":\"TR_a_audio\",\"level\":0.07}]}}",
             w->bob.sess->p.id, w->alice.sess->p.id);
    assert_string_equal(got, want); /* loudest first, as the engine said; short reals */
    assert_int_equal(dropped, 0);
    free(got);

    got = encoded(r, "", &dropped); /* nobody speaks */
    assert_string_equal(got, "{\"type\":\"room.speakers\",\"data\":{\"speakers\":[]}}");
    assert_int_equal(dropped, 0);
    free(got);

    /* A closed track, a video track, and malformed items are left out; the ends of the scale. */
    got = encoded(r,
                  "TR_gone:90,TR_a_video:50,TR_a_audio:100,:5,TR_x,TR_x:,TR_x:101,TR_x:1a,"
                  "TR_x:0050,,TR_b_audio:0",
                  &dropped);
    snprintf(want, sizeof want,
             "{\"type\":\"room.speakers\",\"data\":{\"speakers\":["
             "{\"participant\":\"%s\",\"track\":\"TR_a_audio\",\"level\":1.0},"
             "{\"participant\":\"%s\",\"track\":\"TR_b_audio\",\"level\":0.0}]}}",
             w->alice.sess->p.id, w->bob.sess->p.id);
    assert_string_equal(got, want);
    assert_int_equal(dropped, 9);
    free(got);

    /* A track id ending in a colon is split at the last one; an id too long is malformed. */
    char long_id[HX_TRACK_ID_LEN + 8];
    memset(long_id, 'T', HX_TRACK_ID_LEN);
    snprintf(long_id + HX_TRACK_ID_LEN, sizeof long_id - HX_TRACK_ID_LEN, ":50");
    got = encoded(r, long_id, &dropped);
    assert_string_equal(got, "{\"type\":\"room.speakers\",\"data\":{\"speakers\":[]}}");
    assert_int_equal(dropped, 1);
    free(got);

    /* More items than HX_SPEAKERS_MAX: the rest counted out. Without a room nothing maps. */
    char many[HX_SPEAKERS_MAX * 16 + 64];
    size_t n = 0;
    for (int i = 0; i < HX_SPEAKERS_MAX + 3; i++)
        n += (size_t)snprintf(many + n, sizeof many - n, "%sTR_%d:1", i ? "," : "", i);
    json_t *d = hx_speakers_json(NULL, many, n, &dropped);
    assert_non_null(d);
    assert_int_equal(json_array_size(json_object_get(d, "speakers")), 0);
    assert_int_equal(dropped, HX_SPEAKERS_MAX + 3);
    json_decref(d);
}

static json_t *speakers_at(const peer *p)
{
    return json_object_get(last_data(p, "room.speakers"), "speakers");
}

static void told_to_the_room(void **state)
{
    world *w = *state;
    speakers(w, &w->bob, "TR_a_audio:64"); /* carried by bob's transport, about alice */
    for (peer *p = &w->alice; p; p = p == &w->alice ? &w->bob : NULL) { /* the speaker too */
        json_t *list = speakers_at(p);
        assert_int_equal(json_array_size(list), 1);
        json_t *e = json_array_get(list, 0);
        assert_string_equal(str_at(e, "participant"), w->alice.sess->p.id);
        assert_string_equal(str_at(e, "track"), "TR_a_audio");
        assert_true(json_real_value(json_object_get(e, "level")) == 0.64);
        assert_int_equal(hx_test_client_count(&p->c, "room.speakers"), 1);
    }
    assert_true(metrics_have(S(w), "hearth_speaker_changes_total 1\n"));

    /* carol joins while alice speaks: told after her join result, before anything else. */
    peer_open(S(w), &w->carol, 2);
    char t[HX_TICKET_MAX_TEXT + 1];
    mint(S(w), "r", "carol", "d", NULL, NULL, 2, t);
    send_join(&w->carol, "j", t, "r");
    size_t n = hx_test_client_count(&w->carol.c, NULL);
    json_t *ack = hx_test_client_nth(&w->carol.c, n - 2),
           *last = hx_test_client_nth(&w->carol.c, n - 1);
    assert_string_equal(hx_test_msg_type(ack), "ack");
    assert_string_equal(hx_test_msg_type(last), "room.speakers");
    assert_string_equal(str_at(json_array_get(speakers_at(&w->carol), 0), "track"), "TR_a_audio");

    /* alice's session ends; the engine's next list still comes (by room), through bob's
     * transport; her track is no one's any more. */
    peer_free(&w->alice);
    speakers(w, &w->bob, "TR_a_audio:40,TR_b_audio:30");
    json_t *list = speakers_at(&w->bob);
    assert_int_equal(json_array_size(list), 1);
    assert_string_equal(str_at(json_array_get(list, 0), "participant"), w->bob.sess->p.id);
    assert_int_equal(json_array_size(speakers_at(&w->carol)), 1);

    /* Nobody speaks: an empty list, to everyone; a later joiner is told nothing. */
    speakers(w, &w->bob, "");
    assert_int_equal(json_array_size(speakers_at(&w->bob)), 0);
    assert_int_equal(json_array_size(speakers_at(&w->carol)), 0);
    assert_null(w->bob.sess->p.room->speakers);
    assert_true(metrics_have(S(w), "hearth_speaker_changes_total 3\n"));
    peer_open(S(w), &w->alice, 2);
    join_with_grants(S(w), &w->alice, "r", "alice", "d2", HX_GRANT_DEFAULT_FLAGS);
    assert_int_equal(hx_test_client_count(&w->alice.c, "room.speakers"), 0);

    /* Lists for rooms that are gone, or events without the list: nothing happens. */
    engine_event_to(S(w), peer_transport(&w->bob, 0), HX_SFU_EV_SPEAKERS, HX_SFU_T_ROOM,
                    "elsewhere", HX_SFU_T_SPEAKERS, "TR_b_audio:50", 0);
    engine_event_to(S(w), peer_transport(&w->bob, 0), HX_SFU_EV_SPEAKERS, HX_SFU_T_ROOM, "r", 0);
    assert_int_equal(hx_test_client_count(&w->bob.c, "room.speakers"), 3);
    assert_true(metrics_have(S(w), "hearth_speaker_changes_total 3\n"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(data_from_a_list, setup, teardown),
        cmocka_unit_test_setup_teardown(told_to_the_room, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
