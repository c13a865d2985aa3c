/*
 * Unit tests for adapt/alloc: a budget that holds everything puts every track at the layer it
 * asked for; a tight one serves tracks in priority order (then larger size, then as given), the
 * first climbing before the next gets more than its lowest layer, those that do not fit paused;
 * a track capped at layer 0 stays there; layers not sending (0 bps) are skipped; hysteresis:
 * climbing above the current layer or resuming a paused track costs 15 % more, staying does not,
 * and a forwarding track keeps its lowest layer down to 75 % of its rate; the wanted rate; a track
 * with nothing sending gets its max_layer; the rate used never exceeds the budget.
 */
#include "adapt/alloc.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#define L0 150000u
#define L1 500000u
#define L2 1500000u
/* What climbing from layer 0 to 1 or 2 takes, as the allocator computes it. */
#define NEED1 ((uint32_t)(L1 * 1.15) - L0)
#define NEED2 ((uint32_t)(L2 * 1.15) - L0)

static hx_alloc_track track(int8_t max_layer, int8_t current, uint8_t priority, uint32_t size)
{
    hx_alloc_track t;
    memset(&t, 0, sizeof t);
    t.n_layers = 3;
    t.layer_bps[0] = L0;
    t.layer_bps[1] = L1;
    t.layer_bps[2] = L2;
    t.max_layer = max_layer;
    t.current = current;
    t.priority = priority;
    t.size = size;
    t.result = 42; /* must be written */
    return t;
}

/* Run, check the result's own invariants, return the rate used. */
static uint32_t run(hx_alloc_track *t, size_t n, uint32_t budget, uint32_t *wanted)
{
    uint32_t used = hx_alloc_run(t, n, budget, wanted);
    assert_true(used <= budget);
    uint64_t sum = 0;
    bool forwarding = false;
    for (size_t i = 0; i < n; i++) {
        assert_true(t[i].result >= -1 && t[i].result <= t[i].max_layer);
        if (t[i].result >= 0) sum += t[i].layer_bps[t[i].result];
        if (t[i].current >= 0) forwarding = true;
    }
    /* the layers chosen, but what a track keeps while the budget is short of it counts only
     * as far as the budget goes */
    assert_true(used <= sum);
    if (!forwarding || sum <= budget) assert_int_equal(used, sum);
    return used;
}

static void test_enough(void **state)
{
    (void)state;
    hx_alloc_track t[3] = {track(2, 2, 0, 0), track(2, -1, 1, 0), track(2, 0, 0, 640)};
    uint32_t wanted = 0;
    uint32_t used = run(t, 3, 10000000, &wanted);
    for (int i = 0; i < 3; i++)
        assert_int_equal(t[i].result, 2);
    assert_int_equal(used, 3 * L2);
    assert_int_equal(wanted, 3 * L2);
    /* just enough for all three from below: the 15 % to climb included */
    for (int i = 0; i < 3; i++)
        t[i].current = 0;
    run(t, 3, 2 * L2 + L0 + NEED2, NULL);
    for (int i = 0; i < 3; i++)
        assert_int_equal(t[i].result, 2);
}

static void test_tight(void **state)
{
    (void)state;
    /* given in an order that is not the priority order */
    hx_alloc_track t[3] = {track(2, 0, 0, 0), track(2, 0, 2, 0), track(2, 0, 1, 0)};
    /* the lowest layers, then the top priority climbs to 2; what is left is just under what
     * the next needs for layer 1 */
    uint32_t used = run(t, 3, 2 * L0 + L2 + NEED1 - 1, NULL);
    assert_int_equal(t[1].result, 2);
    assert_int_equal(t[2].result, 0);
    assert_int_equal(t[0].result, 0);
    assert_int_equal(used, L2 + 2 * L0);
    /* just that: the second climbs to 1, the last stays at 0 */
    used = run(t, 3, 2 * L0 + L2 + NEED1, NULL);
    assert_int_equal(t[1].result, 2);
    assert_int_equal(t[2].result, 1);
    assert_int_equal(t[0].result, 0);
    assert_int_equal(used, L2 + L1 + L0);
    /* not enough for 2 at the top: the first climbs to 1 before the others leave 0 */
    run(t, 3, 3 * L0 + NEED1, NULL);
    assert_int_equal(t[1].result, 1);
    assert_int_equal(t[2].result, 0);
    assert_int_equal(t[0].result, 0);
    /* room for two lowest layers only: the last in order is paused */
    used = run(t, 3, 2 * L0 + 1000, NULL);
    assert_int_equal(t[1].result, 0);
    assert_int_equal(t[2].result, 0);
    assert_int_equal(t[0].result, -1);
    assert_int_equal(used, 2 * L0);
    /* nothing: all paused */
    used = run(t, 3, 0, NULL);
    for (int i = 0; i < 3; i++)
        assert_int_equal(t[i].result, -1);
    assert_int_equal(used, 0);
}

static void test_order_ties(void **state)
{
    (void)state;
    /* same priority: the larger size first; same size: as given */
    hx_alloc_track t[3] = {track(2, 0, 1, 320), track(2, 0, 1, 1280), track(2, 0, 1, 320)};
    run(t, 3, 3 * L0 + NEED1, NULL);
    assert_int_equal(t[1].result, 1);
    assert_int_equal(t[0].result, 0);
    assert_int_equal(t[2].result, 0);
    run(t, 3, 3 * L0 + 2 * NEED1, NULL);
    assert_int_equal(t[1].result, 1);
    assert_int_equal(t[0].result, 1);
    assert_int_equal(t[2].result, 0);
    /* priority beats size */
    hx_alloc_track u[2] = {track(2, 0, 0, 1920), track(2, 0, 1, 160)};
    run(u, 2, 2 * L0 + NEED1, NULL);
    assert_int_equal(u[1].result, 1);
    assert_int_equal(u[0].result, 0);
}

static void test_max_layer_zero(void **state)
{
    (void)state;
    hx_alloc_track t[2] = {track(0, 0, 5, 1920), track(0, -1, 0, 0)};
    uint32_t wanted = 0;
    uint32_t used = run(t, 2, 100000000, &wanted);
    assert_int_equal(t[0].result, 0);
    assert_int_equal(t[1].result, 0);
    assert_int_equal(used, 2 * L0);
    assert_int_equal(wanted, 2 * L0);
    /* also when it forwards a higher one now */
    t[0].current = 2;
    run(t, 2, 100000000, NULL);
    assert_int_equal(t[0].result, 0);
    /* a max_layer past the layers there are is the top one; a negative one is 0 */
    hx_alloc_track u[2] = {track(7, 0, 0, 0), track(-3, 0, 0, 0)};
    run(u, 2, 100000000, NULL);
    assert_int_equal(u[0].result, 2);
    assert_int_equal(u[1].result, 0);
}

static void test_not_sending(void **state)
{
    (void)state;
    /* the lowest layer is not sending: the lowest that is is the floor, kept down to 40 % (the
     * only track is the first in order) */
    hx_alloc_track t = track(2, 1, 0, 0);
    t.layer_bps[0] = 0;
    run(&t, 1, L1, NULL);
    assert_int_equal(t.result, 1);
    run(&t, 1, (uint32_t)(L1 * 0.4), NULL);
    assert_int_equal(t.result, 1);
    run(&t, 1, (uint32_t)(L1 * 0.4) - 1, NULL);
    assert_int_equal(t.result, -1);
    /* and resumed from a pause with the margin */
    t.current = -1;
    run(&t, 1, L1, NULL);
    assert_int_equal(t.result, -1);
    run(&t, 1, (uint32_t)(L1 * 1.15), NULL);
    assert_int_equal(t.result, 1);
    /* the middle one is not sending: skipped on the way up */
    t = track(2, 0, 0, 0);
    t.layer_bps[1] = 0;
    uint32_t wanted = 0;
    run(&t, 1, 1000000, &wanted); /* plenty for layer 1, not for 2 */
    assert_int_equal(t.result, 0);
    assert_int_equal(wanted, L2);
    run(&t, 1, (uint32_t)(L2 * 1.15), NULL);
    assert_int_equal(t.result, 2);
    /* asked for up to 1, which is not sending: 0, and that is what it wants */
    t.max_layer = 1;
    run(&t, 1, 100000000, &wanted);
    assert_int_equal(t.result, 0);
    assert_int_equal(wanted, L0);
    /* the top one is not sending */
    t = track(2, 2, 0, 0);
    t.layer_bps[2] = 0;
    run(&t, 1, 100000000, &wanted);
    assert_int_equal(t.result, 1);
    assert_int_equal(wanted, L1);
}

static void test_hysteresis(void **state)
{
    (void)state;
    hx_alloc_track t = track(2, 1, 0, 0);
    /* on 1: the budget just at layer 2's rate does not move it up */
    run(&t, 1, L2, NULL);
    assert_int_equal(t.result, 1);
    run(&t, 1, (uint32_t)(L2 * 1.15) - 1, NULL);
    assert_int_equal(t.result, 1);
    run(&t, 1, (uint32_t)(L2 * 1.15), NULL);
    assert_int_equal(t.result, 2);
    /* on 1, the budget just at 1's rate: kept at 1 */
    run(&t, 1, L1, NULL);
    assert_int_equal(t.result, 1);
    /* on 0, the same budget does not take it to 1 */
    t.current = 0;
    run(&t, 1, L1, NULL);
    assert_int_equal(t.result, 0);
    run(&t, 1, (uint32_t)(L1 * 1.15), NULL);
    assert_int_equal(t.result, 1);
    /* on 2, the budget just at 2's rate keeps it */
    t.current = 2;
    run(&t, 1, L2, NULL);
    assert_int_equal(t.result, 2);
    /* under the rate of where it is: down, no margin needed */
    t.current = 1;
    run(&t, 1, L1 - 1, NULL);
    assert_int_equal(t.result, 0);
    /* paused: resuming needs the margin too */
    t.current = -1;
    run(&t, 1, L0, NULL);
    assert_int_equal(t.result, -1);
    run(&t, 1, (uint32_t)(L0 * 1.15), NULL);
    assert_int_equal(t.result, 0);
    /* forwarding: the first track keeps its lowest layer down to 40 % of its rate */
    t.current = 0;
    run(&t, 1, L0, NULL);
    assert_int_equal(t.result, 0);
    assert_int_equal(run(&t, 1, (uint32_t)(L0 * 0.4), NULL), (uint32_t)(L0 * 0.4));
    assert_int_equal(t.result, 0);
    run(&t, 1, (uint32_t)(L0 * 0.4) - 1, NULL);
    assert_int_equal(t.result, -1);
    t.current = 2; /* whichever layer it forwards */
    run(&t, 1, (uint32_t)(L0 * 0.4), NULL);
    assert_int_equal(t.result, 0);
    /* any later one down to 75 % of what is left after the first */
    hx_alloc_track two[2] = {track(2, 0, 1, 0), track(2, 0, 0, 0)};
    two[0].current = two[1].current = 0;
    run(two, 2, L0 + (uint32_t)(L0 * 0.75), NULL);
    assert_int_equal(two[0].result, 0);
    assert_int_equal(two[1].result, 0);
    run(two, 2, L0 + (uint32_t)(L0 * 0.75) - 1, NULL);
    assert_int_equal(two[0].result, 0);
    assert_int_equal(two[1].result, -1);
}

static void test_wanted(void **state)
{
    (void)state;
    hx_alloc_track t[4] = {track(2, 0, 0, 0), track(1, 0, 0, 0), track(0, 0, 0, 0),
                           track(2, 0, 0, 0)};
    t[3].layer_bps[2] = 0;
    uint32_t wanted = 0;
    run(t, 4, 0, &wanted); /* the budget does not matter */
    assert_int_equal(wanted, L2 + L1 + L0 + L1);
    run(t, 4, 100000000, &wanted);
    assert_int_equal(wanted, L2 + L1 + L0 + L1);
    /* saturates rather than wraps */
    hx_alloc_track big[3];
    for (int i = 0; i < 3; i++) {
        big[i] = track(2, 2, 0, 0);
        big[i].layer_bps[2] = 3000000000u;
    }
    hx_alloc_run(big, 3, UINT32_MAX, &wanted);
    assert_int_equal(wanted, UINT32_MAX);
    /* no tracks */
    assert_int_equal(hx_alloc_run(t, 0, 1000000, &wanted), 0);
    assert_int_equal(wanted, 0);
}

static void test_nothing_sending(void **state)
{
    (void)state;
    hx_alloc_track t[2] = {track(2, -1, 0, 0), track(1, 0, 1, 0)};
    memset(t[0].layer_bps, 0, sizeof t[0].layer_bps);
    memset(t[1].layer_bps, 0, sizeof t[1].layer_bps);
    uint32_t wanted = 1;
    assert_int_equal(run(t, 2, 0, &wanted), 0);
    assert_int_equal(t[0].result, 2);
    assert_int_equal(t[1].result, 1);
    assert_int_equal(wanted, 0);
    /* next to one that is sending, which gets the whole budget */
    hx_alloc_track u[2] = {t[0], track(2, 0, 0, 0)};
    run(u, 2, (uint32_t)(L2 * 1.15), &wanted);
    assert_int_equal(u[0].result, 2);
    assert_int_equal(u[1].result, 2);
    assert_int_equal(wanted, L2);
}

static void test_many_tracks(void **state)
{
    (void)state;
    /* over the maximum: only the first HX_ALLOC_MAX_TRACKS are looked at */
    hx_alloc_track t[HX_ALLOC_MAX_TRACKS + 2];
    for (size_t i = 0; i < HX_ALLOC_MAX_TRACKS + 2; i++)
        t[i] = track(2, 0, (uint8_t)(i % 3), (uint32_t)(i * 37 % 5));
    uint32_t wanted = 0;
    uint32_t used = run(t, HX_ALLOC_MAX_TRACKS, 20 * L1, &wanted);
    assert_int_equal(wanted, HX_ALLOC_MAX_TRACKS * L2);
    assert_true(used <= 20 * L1);
    t[HX_ALLOC_MAX_TRACKS].result = 42;
    hx_alloc_run(t, HX_ALLOC_MAX_TRACKS + 2, 20 * L1, &wanted);
    assert_int_equal(wanted, HX_ALLOC_MAX_TRACKS * L2);
    assert_int_equal(t[HX_ALLOC_MAX_TRACKS].result, 42);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_enough),      cmocka_unit_test(test_tight),
        cmocka_unit_test(test_order_ties),  cmocka_unit_test(test_max_layer_zero),
        cmocka_unit_test(test_not_sending), cmocka_unit_test(test_hysteresis),
        cmocka_unit_test(test_wanted),      cmocka_unit_test(test_nothing_sending),
        cmocka_unit_test(test_many_tracks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
