/*
 * Unit tests for the webhook's queue state machine and its backoff, on a
 * fake clock and no sockets: one event in flight at a time, in id order;
 * retries spaced by the backoff; dead letters after max_attempts refusals or
 * past the age limit, never for a receiver that is merely down; the bound; and the cursor it
 * implies never passing an event not yet delivered or dead-lettered (what makes a restart lose
 * nothing).
 */
#include "webhook/webhook_internal.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static const hx_wh_policy pol = {
    .backoff_ms = 500, .backoff_max_ms = 8000, .max_attempts = 5, .max_age_ms = 3600000};

static char *body(int64_t id)
{
    char *b = malloc(32);
    assert_non_null(b);
    snprintf(b, 32, "{\"id\":%lld}", (long long)id);
    return b;
}

static void push(hx_wh_queue *q, int64_t id, int64_t ts)
{
    char *b = body(id);
    assert_int_equal(hx__whq_push(q, id, ts, "session.join", b, strlen(b)), 0);
}

static void test_backoff_schedule(void **state)
{
    (void)state;
    /* Without jitter's random part (rnd 0): half of each doubling step. */
    static const int64_t lo[] = {250, 500, 1000, 2000, 4000, 4000, 4000};
    for (int n = 1; n <= 7; n++) {
        assert_int_equal(hx__wh_backoff_ms(&pol, n, 0), lo[n - 1]);
        /* the random part spreads it up to the full step, never beyond */
        int64_t full = lo[n - 1] * 2;
        assert_int_equal(hx__wh_backoff_ms(&pol, n, (uint32_t)(full / 2)), full);
        for (uint32_t r = 0; r < 50000; r += 997) {
            int64_t d = hx__wh_backoff_ms(&pol, n, r);
            assert_true(d >= lo[n - 1] && d <= full);
        }
    }
    /* a huge count stays at the cap */
    assert_true(hx__wh_backoff_ms(&pol, 1000000, 12345) <= 8000);
    hx_wh_policy odd = {.backoff_ms = 0, .backoff_max_ms = 0};
    assert_true(hx__wh_backoff_ms(&odd, 3, 7) >= 0);
}

static void test_in_order_one_at_a_time(void **state)
{
    (void)state;
    hx_wh_queue q;
    assert_int_equal(hx__whq_init(&q, 8, &pol, 10), 0);
    assert_null(hx__whq_next(&q, 0));
    assert_int_equal(hx__whq_cursor(&q), 10);
    push(&q, 11, 0);
    hx__whq_skip(&q, 12); /* not wanted */
    push(&q, 13, 0);
    assert_int_equal(hx__whq_cursor(&q), 10); /* 11 not yet delivered */
    const hx_wh_item *it = hx__whq_next(&q, 1);
    assert_non_null(it);
    assert_int_equal(it->id, 11);
    assert_null(hx__whq_next(&q, 1)); /* one in flight */
    assert_int_equal(hx__whq_due_ms(&q, 1), -1);
    hx_wh_item dead;
    assert_int_equal(hx__whq_done(&q, 2, HX_WH_ACCEPTED, 0, &dead), HX_WHQ_DELIVERED);
    assert_int_equal(hx__whq_cursor(&q), 12); /* 12 was skipped: done too */
    it = hx__whq_next(&q, 2);
    assert_int_equal(it->id, 13);
    assert_int_equal(hx__whq_done(&q, 3, HX_WH_ACCEPTED, 0, &dead), HX_WHQ_DELIVERED);
    assert_int_equal(hx__whq_cursor(&q), 13);
    hx__whq_skip(&q, 20);
    assert_int_equal(hx__whq_cursor(&q), 20);
    /* a kind goes into a header: control characters never do */
    char *k = body(30);
    assert_int_equal(hx__whq_push(&q, 30, 0, "a\r\nX-Evil: 1", k, strlen(k)), 0);
    assert_string_equal(hx__whq_head(&q)->kind, "a__X-Evil: 1");
    /* out of order is refused */
    char *b = body(29);
    assert_int_equal(hx__whq_push(&q, 29, 0, "x", b, strlen(b)), -1);
    free(b);
    hx__whq_free(&q);
}

static void test_retry_then_delivered(void **state)
{
    (void)state;
    hx_wh_queue q;
    hx_wh_item dead;
    assert_int_equal(hx__whq_init(&q, 4, &pol, 0), 0);
    push(&q, 1, 1000);
    push(&q, 2, 1000);
    int64_t now = 1000;
    /* The receiver is down: each failure waits longer, the head stays the head. */
    for (int f = 1; f <= 4; f++) {
        const hx_wh_item *it = hx__whq_next(&q, now);
        assert_non_null(it);
        assert_int_equal(it->id, 1);
        assert_int_equal(hx__whq_done(&q, now, HX_WH_REFUSED, 0, &dead), HX_WHQ_RETRY);
        int64_t wait = hx__wh_backoff_ms(&pol, f, 0);
        assert_int_equal(hx__whq_due_ms(&q, now), now + wait);
        assert_null(hx__whq_next(&q, now + wait - 1)); /* not before its time */
        now += wait;
        assert_int_equal(hx__whq_cursor(&q), 0);
    }
    /* back up: 1 then 2, in order */
    assert_int_equal(hx__whq_next(&q, now)->id, 1);
    assert_int_equal(hx__whq_done(&q, now, HX_WH_ACCEPTED, 0, &dead), HX_WHQ_DELIVERED);
    assert_int_equal(q.failures, 0); /* the next starts afresh */
    assert_int_equal(hx__whq_next(&q, now)->id, 2);
    assert_int_equal(hx__whq_done(&q, now, HX_WH_ACCEPTED, 0, &dead), HX_WHQ_DELIVERED);
    assert_int_equal(hx__whq_cursor(&q), 2);
    hx__whq_free(&q);
}

static void test_dead_letter_after_attempts(void **state)
{
    (void)state;
    hx_wh_queue q;
    hx_wh_item dead;
    assert_int_equal(hx__whq_init(&q, 4, &pol, 0), 0);
    push(&q, 5, 0);
    push(&q, 6, 0);
    int64_t now = 0;
    for (int f = 1; f < 5; f++) {
        assert_non_null(hx__whq_next(&q, now));
        assert_int_equal(hx__whq_done(&q, now, HX_WH_REFUSED, 99, &dead), HX_WHQ_RETRY);
        now = hx__whq_due_ms(&q, now);
    }
    assert_non_null(hx__whq_next(&q, now));
    assert_int_equal(hx__whq_done(&q, now, HX_WH_REFUSED, 99, &dead), HX_WHQ_DEAD);
    assert_int_equal(dead.id, 5);
    assert_int_equal(dead.failures, 5);
    assert_non_null(dead.body);
    free(dead.body);
    assert_int_equal(hx__whq_cursor(&q), 5); /* passed: it is in the dead-letter log */
    /* delivery goes on with the next, at once */
    const hx_wh_item *it = hx__whq_next(&q, now);
    assert_non_null(it);
    assert_int_equal(it->id, 6);
    hx__whq_free(&q); /* frees 6's body though in flight */
}

static void test_dead_letter_by_age(void **state)
{
    (void)state;
    hx_wh_queue q;
    hx_wh_item dead;
    assert_int_equal(hx__whq_init(&q, 4, &pol, 0), 0);
    push(&q, 1, 0);
    /* Old but the receiver takes it: delivered (age counts only on failure). */
    assert_non_null(hx__whq_next(&q, 5000000));
    assert_int_equal(hx__whq_done(&q, 5000000, HX_WH_ACCEPTED, 0, &dead), HX_WHQ_DELIVERED);
    push(&q, 2, 0);
    assert_non_null(hx__whq_next(&q, 3600000));
    assert_int_equal(hx__whq_done(&q, 3600000, HX_WH_REFUSED, 0, &dead), HX_WHQ_DEAD);
    assert_int_equal(dead.id, 2);
    assert_int_equal(dead.failures, 1);
    free(dead.body);
    hx__whq_free(&q);
}

static void test_down_receiver_waits(void **state)
{
    (void)state;
    hx_wh_queue q;
    hx_wh_item dead;
    assert_int_equal(hx__whq_init(&q, 4, &pol, 0), 0);
    push(&q, 1, 0);
    /* A receiver that does not answer: far more failures than max_attempts, the backoff at its
     * cap, and the event waits, within the age limit. */
    int64_t now = 0;
    for (int f = 1; f <= 50; f++) {
        assert_non_null(hx__whq_next(&q, now));
        assert_int_equal(hx__whq_done(&q, now, HX_WH_UNREACHABLE, 7, &dead), HX_WHQ_RETRY);
        now = hx__whq_due_ms(&q, now);
    }
    assert_true(now > 46 * 4000 && now < pol.max_age_ms); /* 46 waits at the cap */
    assert_int_equal(q.failures, 50);
    assert_int_equal(q.refusals, 0);
    assert_int_equal(hx__whq_cursor(&q), 0);
    /* up again, it refuses this one: refusals count from here, the backoff stays up */
    for (int f = 1; f < 5; f++) {
        assert_non_null(hx__whq_next(&q, now));
        assert_int_equal(hx__whq_done(&q, now, HX_WH_REFUSED, 7, &dead), HX_WHQ_RETRY);
        assert_true(hx__whq_due_ms(&q, now) - now >= 4000);
        now = hx__whq_due_ms(&q, now);
    }
    assert_non_null(hx__whq_next(&q, now));
    assert_int_equal(hx__whq_done(&q, now, HX_WH_REFUSED, 7, &dead), HX_WHQ_DEAD);
    assert_int_equal(dead.failures, 55);
    free(dead.body);
    /* past the age limit, a receiver that is down gives an event up too */
    push(&q, 2, now);
    assert_non_null(hx__whq_next(&q, now + pol.max_age_ms));
    assert_int_equal(hx__whq_done(&q, now + pol.max_age_ms, HX_WH_UNREACHABLE, 7, &dead),
                     HX_WHQ_DEAD);
    assert_int_equal(dead.id, 2);
    free(dead.body);
    hx__whq_free(&q);
}

static void test_bounded(void **state)
{
    (void)state;
    hx_wh_queue q;
    hx_wh_item dead;
    assert_int_equal(hx__whq_init(&q, 3, &pol, 0), 0);
    for (int64_t id = 1; id <= 3; id++)
        push(&q, id, 0);
    assert_int_equal(hx__whq_room(&q), 0);
    char *b = body(4);
    assert_int_equal(hx__whq_push(&q, 4, 0, "x", b, strlen(b)), -1); /* the caller keeps it */
    free(b);
    assert_int_equal(q.read_id, 3); /* 4 is read again later: the trail keeps it */
    /* the ring wraps */
    for (int64_t id = 1; id <= 10; id++) {
        assert_int_equal(hx__whq_next(&q, 0)->id, id);
        assert_int_equal(hx__whq_done(&q, 0, HX_WH_ACCEPTED, 0, &dead), HX_WHQ_DELIVERED);
        push(&q, id + 3, 0);
        assert_int_equal(hx__whq_cursor(&q), id);
    }
    assert_int_equal(q.n, 3);
    hx__whq_free(&q);
    assert_int_equal(hx__whq_init(&q, 0, &pol, 0), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backoff_schedule),
        cmocka_unit_test(test_in_order_one_at_a_time),
        cmocka_unit_test(test_retry_then_delivered),
        cmocka_unit_test(test_dead_letter_after_attempts),
        cmocka_unit_test(test_dead_letter_by_age),
        cmocka_unit_test(test_down_receiver_waits),
        cmocka_unit_test(test_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
