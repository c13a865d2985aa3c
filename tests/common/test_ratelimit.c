/*
 * Unit tests for common/ratelimit: a full bucket allows `burst` takes at
 * once, refills at `rate` per second up to `burst` and no further, a clock
 * that steps backwards neither adds tokens nor breaks later refills, and
 * hx_bucket_wait_s says how long until the next token without consuming it.
 * Time is passed in explicitly, so nothing here sleeps.
 */
#include "common/ratelimit.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

static int take_all(hx_bucket *b, int64_t now)
{
    int n = 0;
    while (hx_bucket_take(b, now) && n < 100000) n++;
    return n;
}

static void test_burst(void **state)
{
    (void)state;
    hx_bucket b;
    hx_bucket_init(&b, 20, 40, 1000);
    assert_int_equal(take_all(&b, 1000), 40);
    assert_false(hx_bucket_take(&b, 1000));
    /* burst below 1 is raised to 1, or nothing could ever pass. */
    hx_bucket_init(&b, 5, 0, 0);
    assert_int_equal(take_all(&b, 0), 1);
    hx_bucket_init(&b, 5, 0.5, 0);
    assert_int_equal(take_all(&b, 0), 1);
}

static void test_refill(void **state)
{
    (void)state;
    hx_bucket b;
    hx_bucket_init(&b, 2, 5, 10000); /* one token per 500 ms */
    assert_int_equal(take_all(&b, 10000), 5);
    assert_false(hx_bucket_take(&b, 10499));
    assert_true(hx_bucket_take(&b, 10500));
    assert_false(hx_bucket_take(&b, 10500));
    /* Partial refills add up: 250 + 250 ms is one token. */
    assert_false(hx_bucket_take(&b, 10750));
    assert_true(hx_bucket_take(&b, 11000));
    /* A long pause refills to burst, not beyond. */
    assert_int_equal(take_all(&b, 1000000), 5);
    /* Steady state: over 10 s at 2/s, 20 takes (plus nothing saved up). */
    int ok = 0;
    for (int64_t t = 1000000; t <= 1010000; t += 10)
        if (hx_bucket_take(&b, t)) ok++;
    assert_int_equal(ok, 20);
}

static void test_clock_backwards(void **state)
{
    (void)state;
    hx_bucket b;
    hx_bucket_init(&b, 1, 2, 5000);
    assert_int_equal(take_all(&b, 5000), 2);
    assert_false(hx_bucket_take(&b, 1000)); /* earlier time: no tokens from it */
    assert_false(hx_bucket_take(&b, 5999));
    assert_true(hx_bucket_take(&b, 6000));  /* refill counts from the last real time */
    assert_false(hx_bucket_take(&b, 6000));
}

static void test_wait_s(void **state)
{
    (void)state;
    hx_bucket b;
    hx_bucket_init(&b, 4, 2, 0); /* one token per 250 ms */
    assert_true(hx_bucket_wait_s(&b, 0) == 0);
    assert_int_equal(take_all(&b, 0), 2);
    assert_true(fabs(hx_bucket_wait_s(&b, 0) - 0.25) < 1e-9);
    assert_true(fabs(hx_bucket_wait_s(&b, 100) - 0.15) < 1e-9);
    /* Asking does not consume or refill. */
    assert_true(fabs(hx_bucket_wait_s(&b, 100) - 0.15) < 1e-9);
    assert_false(hx_bucket_take(&b, 249));
    assert_true(hx_bucket_wait_s(&b, 250) == 0);
    assert_true(hx_bucket_take(&b, 250));
    double w = hx_bucket_wait_s(&b, 250);
    assert_true(w > 0.2499 && w <= 0.25);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_burst),
        cmocka_unit_test(test_refill),
        cmocka_unit_test(test_clock_backwards),
        cmocka_unit_test(test_wait_s),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
