/*
 * cmocka glue for the engine fixture (engine_fixture.h), shared by the sfu core tests that need
 * nothing else around it: a fresh fixture per test whose invariants (hx_engine_core_check) are
 * checked when it ends, SDP fixtures that must exist, and a subscriber to one track in room "r".
 */
#ifndef HX_TEST_ENGINE_CMOCKA_H
#define HX_TEST_ENGINE_CMOCKA_H

#include "support/engine_fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

/* The text of tests/sdp/fixtures/<name>; the test fails when it cannot be read. */
static inline const char *fx_fixture(const char *name)
{
    const char *text = fx_sdp_fixture(HX_SOURCE_DIR, name);
    assert_non_null(text);
    return text;
}

/* cmocka setup: *state is a fixture with the default engine configuration. */
static inline int fx_setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    if (!f || fx_init(f, NULL) != 0) {
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

/* cmocka teardown: the core's invariants hold, then everything is freed. */
static inline int fx_teardown(void **state)
{
    fx *f = *state;
    assert_int_equal(hx_engine_core_check(f->core), 0);
    fx_free(f);
    free(f);
    return 0;
}

/* A subscriber peer (transport id, participant who) to one track, its offer answered; the SSRC
 * it receives the track on (its first m-line) in *ssrc. */
static inline fx_peer *fx_subscribed(fx *f, uint64_t id, const char *who, const char *track,
                                     uint32_t *ssrc)
{
    fx_peer *sub = fx_subscriber(f, id, "r", who);
    assert_non_null(sub);
    fx_track_cmd(f, HX_SFU_SUBSCRIBE, id, track, NULL);
    fx_advance(f, 20);
    if (fx_answer(sub) != 0) fail_msg("answer: %s", f->err);
    fx_advance(f, 20);
    *ssrc = fx_offer_ssrc(sub, "0", false);
    assert_true(*ssrc != 0);
    fx_rx_clear(sub);
    return sub;
}

/* The last EV_RECEIVING for transport id names this layer and size, unlimited. */
static inline void fx_receiving_is(const fx *f, uint64_t id, const char *layer, const char *size)
{
    const hx_sfu_msg *m = fx_event(f, HX_SFU_EV_RECEIVING, id, -1);
    assert_non_null(m);
    assert_string_equal(fx_field(m, HX_SFU_T_LAYER), layer);
    assert_string_equal(fx_field(m, HX_SFU_T_SIZE), size);
    assert_int_equal(m->flags & HX_SFU_F_LIMITED, 0);
}

#endif
