/*
 * Unit tests for rtp/stats and rtp/nack: RFC 3550 A.3 loss accounting
 * (expected, cumulative lost with a duplicate, fraction per interval),
 * the extended highest seq across a wrap, interarrival jitter against the
 * floating-point formula of RFC 3550 §6.4.1 (the code uses A.8's integer
 * form), and the NACK generator: gaps, RTT-paced retries, recovery, the
 * try limit, age limit, overflow into a keyframe request, and the wrap.
 */
#include "rtp/stats.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void test_loss(void **state)
{
    (void)state;
    hx_rx_stats s;
    hx_rtcp_rb rb;
    hx_rx_stats_init(&s, 90000);
    hx_rx_stats_report(&s, 1, &rb);
    assert_int_equal(rb.ext_highest_seq, 0);
    uint16_t base = 65530;
    for (int i = 0; i < 20; i++) {
        if (i == 5 || i == 6 || i == 12) continue;
        hx_rx_stats_update(&s, (uint16_t)(base + i), i * 3000u, 1000000u + i * 33333u);
    }
    assert_int_equal(hx_rx_stats_update(&s, (uint16_t)(base + 3), 0, 2000000), HX_SEQ_OLD);
    assert_int_equal(hx_rx_stats_expected(&s), 20);
    assert_int_equal(hx_rx_stats_lost(&s), 2); /* 3 lost, 1 duplicate */
    hx_rx_stats_report(&s, 0x5555, &rb);
    assert_int_equal(rb.ssrc, 0x5555);
    assert_int_equal(rb.fraction_lost, 2 * 256 / 20);
    assert_int_equal(rb.cumulative_lost, 2);
    assert_int_equal(rb.ext_highest_seq, 0x10000u + (uint16_t)(base + 19)); /* one wrap */
    /* a clean interval: fraction 0, cumulative unchanged */
    for (int i = 20; i < 30; i++)
        hx_rx_stats_update(&s, (uint16_t)(base + i), 0, 3000000);
    hx_rx_stats_report(&s, 0x5555, &rb);
    assert_int_equal(rb.fraction_lost, 0);
    assert_int_equal(rb.cumulative_lost, 2);
    /* late arrivals make the interval negative: fraction stays 0 */
    hx_rx_stats_update(&s, (uint16_t)(base + 5), 0, 3000000);
    hx_rx_stats_update(&s, (uint16_t)(base + 6), 0, 3000000);
    hx_rx_stats_report(&s, 0x5555, &rb);
    assert_int_equal(rb.fraction_lost, 0);
    assert_int_equal(rb.cumulative_lost, 0);
    /* a confirmed restart begins the counts again */
    hx_rx_stats_update(&s, 30000, 0, 4000000);
    assert_int_equal(hx_rx_stats_update(&s, 30001, 0, 4000000), HX_SEQ_RESET);
    assert_int_equal(hx_rx_stats_expected(&s), 1);
    assert_int_equal(hx_rx_stats_lost(&s), 0);
}

static void test_jitter(void **state)
{
    (void)state;
    hx_rx_stats s;
    hx_rx_stats_init(&s, 8000);
    double j = 0, prev_transit = 0;
    srand(7);
    for (int i = 0; i < 500; i++) {
        uint32_t ts = 160u * i;
        /* 20 ms packets with 0-15 ms of random network delay, in whole clock ticks */
        uint64_t arrival_us = 5000000u + 20000u * i + 125u * (uint64_t)(rand() % 120);
        hx_rx_stats_update(&s, (uint16_t)i, ts, arrival_us);
        double transit = (double)(arrival_us * 8000 / 1000000) - ts;
        if (i > 0) j += (fabs(transit - prev_transit) - j) / 16;
        prev_transit = transit;
    }
    hx_rtcp_rb rb;
    hx_rx_stats_report(&s, 1, &rb);
    assert_true(rb.jitter > 10);
    assert_true(fabs((double)rb.jitter - j) <= 1.0);
}

static void expect_nacks(hx_nack_gen *g, uint64_t now, const uint16_t *want, size_t n)
{
    uint16_t got[HX_NACK_MAX];
    size_t k = hx_nack_gen_collect(g, now, 50000, got, HX_NACK_MAX);
    assert_int_equal(k, n);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(got[i], want[i]);
}

static void test_nack_generator(void **state)
{
    (void)state;
    hx_nack_gen g;
    hx_nack_gen_init(&g, 3, 100);
    assert_int_equal(hx_nack_gen_on_packet(&g, 1), HX_NACK_OK);
    assert_int_equal(hx_nack_gen_on_packet(&g, 2), HX_NACK_OK);
    assert_int_equal(hx_nack_gen_on_packet(&g, 5), HX_NACK_OK);
    expect_nacks(&g, 0, (const uint16_t[]){3, 4}, 2);
    expect_nacks(&g, 10000, NULL, 0);                     /* within one RTT */
    expect_nacks(&g, 60000, (const uint16_t[]){3, 4}, 2); /* retry */
    assert_int_equal(hx_nack_gen_on_packet(&g, 3), HX_NACK_OK);
    expect_nacks(&g, 120000, (const uint16_t[]){4}, 1); /* third try for 4: last */
    expect_nacks(&g, 200000, NULL, 0);
    assert_int_equal(g.n, 0);

    /* a cap smaller than the list: the rest waits for the next call */
    hx_nack_gen_on_packet(&g, 10);
    uint16_t one[1];
    assert_int_equal(hx_nack_gen_collect(&g, 300000, 50000, one, 1), 1);
    assert_int_equal(one[0], 6);
    expect_nacks(&g, 300000, (const uint16_t[]){7, 8, 9}, 3);

    /* too old: 100 behind the newest is given up */
    hx_nack_gen_init(&g, 10, 100);
    hx_nack_gen_on_packet(&g, 1);
    hx_nack_gen_on_packet(&g, 3);
    for (uint16_t s = 4; s <= 101; s++)
        hx_nack_gen_on_packet(&g, s);
    expect_nacks(&g, 0, (const uint16_t[]){2}, 1);
    hx_nack_gen_on_packet(&g, 103);
    expect_nacks(&g, 1000000, (const uint16_t[]){102}, 1);
}

static void test_nack_overflow_and_wrap(void **state)
{
    (void)state;
    hx_nack_gen g;
    hx_nack_gen_init(&g, 10, 10000);
    hx_nack_gen_on_packet(&g, 65534);
    hx_nack_gen_on_packet(&g, 1);
    expect_nacks(&g, 0, (const uint16_t[]){65535, 0}, 2);
    /* a gap larger than the table: cleared, ask for a keyframe */
    assert_int_equal(hx_nack_gen_on_packet(&g, 1 + HX_NACK_MAX + 1), HX_NACK_KEYFRAME);
    assert_int_equal(g.n, 0);
    /* exactly filling the table is fine */
    uint16_t at = 1 + HX_NACK_MAX + 1;
    assert_int_equal(hx_nack_gen_on_packet(&g, (uint16_t)(at + HX_NACK_MAX + 1)), HX_NACK_OK);
    assert_int_equal(g.n, HX_NACK_MAX);
    assert_int_equal(hx_nack_gen_on_packet(&g, (uint16_t)(at + HX_NACK_MAX + 3)), HX_NACK_KEYFRAME);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loss),
        cmocka_unit_test(test_jitter),
        cmocka_unit_test(test_nack_generator),
        cmocka_unit_test(test_nack_overflow_and_wrap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
