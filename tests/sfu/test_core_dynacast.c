/*
 * Layers nobody watches (src/sfu/dynacast.c), through the engine fixture: a simulcast track
 * with no subscriber is told to send only its lowest layer once HX__LAYERS_SHRINK_MS has
 * passed; a subscriber brings every layer back at once; asking for the lowest pauses the
 * others after the hold, asking for the top resumes them at once; a short flip inside the hold
 * changes nothing.
 */
#include "support/engine_cmocka.h"

#include <stdio.h>
#include <string.h>

/* The layers of the last EV_LAYERS for the publisher (NULL: none since the last clear). */
static const char *told(const fx *f)
{
    const hx_sfu_msg *m = fx_event(f, HX_SFU_EV_LAYERS, 2, -1);
    return m ? fx_field(m, HX_SFU_T_LAYERS) : NULL;
}

static void test_dynacast(void **state)
{
    fx *f = *state;
    fx_peer *pub = fx_publisher(f, 2, "r", "p_sim", fx_fixture("chromium_pub_simulcast.sdp"));
    if (!pub) fail_msg("publisher: %s", f->err);
    char track[64];
    snprintf(track, sizeof track, "%s", fx_track_id(f, 2, 1));
    /* nobody watches: only q, once the hold has passed */
    fx_advance(f, 2900);
    assert_null(told(f));
    fx_advance(f, 200);
    assert_non_null(told(f));
    assert_string_equal(told(f), "q");
    const hx_sfu_msg *m = fx_event(f, HX_SFU_EV_LAYERS, 2, -1);
    assert_string_equal(fx_field(m, HX_SFU_T_TRACK), track);
    assert_string_equal(fx_field(m, HX_SFU_T_MID), "1");
    /* a subscriber (the best layer by default): every layer, at once */
    fx_clear_events(f);
    fx_peer *sub = fx_subscriber(f, 5, "r", "p_bob");
    assert_non_null(sub);
    fx_track_cmd(f, HX_SFU_SUBSCRIBE, 5, track, NULL);
    assert_non_null(told(f));
    assert_string_equal(told(f), "q,h,f");
    /* bob asks for q: h and f pause after the hold */
    fx_clear_events(f);
    fx_track_cmd(f, HX_SFU_SET_LAYER, 5, track, "q");
    fx_advance(f, 1000);
    assert_null(told(f));
    fx_advance(f, 2100);
    assert_non_null(told(f));
    assert_string_equal(told(f), "q");
    /* h for a moment, then q again within the hold: h is told at once, nothing more after */
    fx_clear_events(f);
    fx_track_cmd(f, HX_SFU_SET_LAYER, 5, track, "h");
    assert_string_equal(told(f), "q,h");
    fx_advance(f, 500);
    fx_track_cmd(f, HX_SFU_SET_LAYER, 5, track, "q");
    fx_advance(f, 1000);
    fx_track_cmd(f, HX_SFU_SET_LAYER, 5, track, "h");
    fx_advance(f, 4000);
    assert_int_equal(fx_count(f, HX_SFU_EV_LAYERS, 2), 1);
    /* bob pauses the track: he wants no layer, only q after the hold; resuming: h at once */
    fx_clear_events(f);
    fx_track_cmd(f, HX_SFU_PAUSE, 5, track, NULL);
    fx_advance(f, 3100);
    assert_non_null(told(f));
    assert_string_equal(told(f), "q");
    fx_track_cmd(f, HX_SFU_RESUME, 5, track, NULL);
    assert_string_equal(told(f), "q,h");
    /* bob leaves: after the hold only q again */
    fx_clear_events(f);
    fx_track_cmd(f, HX_SFU_UNSUBSCRIBE, 5, track, NULL);
    fx_advance(f, 3100);
    assert_non_null(told(f));
    assert_string_equal(told(f), "q");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_dynacast, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
