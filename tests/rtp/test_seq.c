/*
 * Unit tests for rtp/seq: unwrapping across the 16-bit wrap, reordering,
 * duplicates and RFC 3550 A.1 big-jump handling; and the per-subscriber
 * rewriter: continuity through wraps, dropped packets leaving no hole
 * (also when a late packet arrives after a drop), simulcast switches and
 * pause/resume continuing seq at last+1 with the timestamp advanced by
 * wall time, packets from before a switch skipped, a publisher restart on
 * the same SSRC, and the bounded drop memory.
 */
#include "rtp/seq.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

static uint64_t push(hx_seq_unwrap *u, uint16_t seq, int want)
{
    uint64_t ext = 0;
    assert_int_equal(hx_seq_unwrap_push(u, seq, &ext), want);
    return ext;
}

static void test_unwrap(void **state)
{
    (void)state;
    hx_seq_unwrap u;
    hx_seq_unwrap_init(&u);
    assert_int_equal(hx_seq_unwrap_peek(&u, 5), 0);
    uint64_t e0 = push(&u, 65534, HX_SEQ_NEW);
    assert_int_equal(e0, 65536 + 65534);
    assert_int_equal(push(&u, 65535, HX_SEQ_NEW), e0 + 1);
    assert_int_equal(push(&u, 1, HX_SEQ_NEW), e0 + 3);
    assert_int_equal(push(&u, 0, HX_SEQ_OLD), e0 + 2); /* reordered across the wrap */
    assert_int_equal(push(&u, 1, HX_SEQ_OLD), e0 + 3); /* duplicate */
    assert_int_equal(hx_seq_unwrap_peek(&u, 65535), e0 + 1);
    assert_int_equal(hx_seq_unwrap_peek(&u, 2), e0 + 4);
    /* late by the misorder limit: still OLD; one more is a suspect jump */
    assert_int_equal(push(&u, (uint16_t)(1 - HX_SEQ_MAX_MISORDER), HX_SEQ_OLD),
                     e0 + 3 - HX_SEQ_MAX_MISORDER);
    push(&u, (uint16_t)(1 - HX_SEQ_MAX_MISORDER - 1), HX_SEQ_BAD);
    /* just under the dropout limit is a normal advance */
    uint64_t e1 = push(&u, (uint16_t)(1 + HX_SEQ_MAX_DROPOUT - 1), HX_SEQ_NEW);
    assert_int_equal(e1, e0 + 3 + HX_SEQ_MAX_DROPOUT - 1);
}

static void test_unwrap_jumps(void **state)
{
    (void)state;
    hx_seq_unwrap u;
    hx_seq_unwrap_init(&u);
    uint64_t e = push(&u, 100, HX_SEQ_NEW);
    push(&u, 20000, HX_SEQ_BAD);
    /* not confirmed: the stream goes on */
    assert_int_equal(push(&u, 101, HX_SEQ_NEW), e + 1);
    push(&u, 40000, HX_SEQ_BAD);
    uint64_t r = push(&u, 40001, HX_SEQ_RESET);
    assert_true(r > e + 1);
    assert_int_equal(r & 0xffff, 40001);
    assert_int_equal(push(&u, 40002, HX_SEQ_NEW), r + 1);
    /* a restart that goes backwards */
    push(&u, 10, HX_SEQ_BAD);
    uint64_t r2 = push(&u, 11, HX_SEQ_RESET);
    assert_true(r2 > r + 1);
    assert_int_equal(r2 & 0xffff, 11);
}

#define A 0xaaaa0001u
#define B 0xbbbb0002u

static void fwd(hx_seq_rewriter *rw, uint32_t ssrc, uint16_t seq, uint32_t ts, uint64_t now,
                uint16_t want_seq, uint32_t want_ts)
{
    uint16_t s;
    uint32_t t;
    assert_int_equal(hx_seq_rw_map(rw, ssrc, seq, ts, now, &s, &t), HX_SEQ_RW_FORWARD);
    assert_int_equal(s, want_seq);
    assert_int_equal(t, want_ts);
}

static void not_sent(hx_seq_rewriter *rw, uint32_t ssrc, uint16_t seq, uint32_t ts)
{
    uint16_t s;
    uint32_t t;
    assert_int_equal(hx_seq_rw_map(rw, ssrc, seq, ts, 0, &s, &t), HX_SEQ_RW_SKIP);
}

static void test_rewrite_wraps(void **state)
{
    (void)state;
    hx_seq_rewriter rw;
    hx_seq_rw_init(&rw, 90000, 65534, 0xfffffff0u);
    /* source and output both wrap */
    fwd(&rw, A, 65535, 1000, 0, 65534, 0xfffffff0u);
    fwd(&rw, A, 0, 4000, 33000, 65535, 0xfffffff0u + 3000);
    fwd(&rw, A, 1, 7000, 66000, 0, 5984);
    fwd(&rw, A, 2, 10000, 99000, 1, 8984);
}

static void test_rewrite_drops(void **state)
{
    (void)state;
    hx_seq_rewriter rw;
    hx_seq_rw_init(&rw, 90000, 100, 0);
    fwd(&rw, A, 1, 0, 0, 100, 0);
    fwd(&rw, A, 2, 0, 0, 101, 0);
    /* 3 is lost on the way, 4 is padding the SFU drops */
    hx_seq_rw_drop(&rw, A, 4);
    fwd(&rw, A, 5, 3000, 0, 103, 3000);
    /* 3 arrives late (RTX) and fills the gap the subscriber will NACK */
    fwd(&rw, A, 3, 0, 0, 102, 0);
    /* a retransmitted copy of the dropped padding stays dropped */
    not_sent(&rw, A, 4, 0);
    /* a run of drops across the source wrap */
    for (uint16_t s = 6; s < 10; s++)
        hx_seq_rw_drop(&rw, A, s);
    fwd(&rw, A, 10, 6000, 0, 104, 6000);
    /* drops of another source, or late drops, change nothing */
    hx_seq_rw_drop(&rw, B, 11);
    hx_seq_rw_drop(&rw, A, 2);
    fwd(&rw, A, 11, 6000, 0, 105, 6000);
}

static void test_rewrite_switch(void **state)
{
    (void)state;
    hx_seq_rewriter rw;
    hx_seq_rw_init(&rw, 90000, 5000, 1000);
    fwd(&rw, A, 300, 777000, 1000000, 5000, 1000);
    fwd(&rw, A, 301, 780000, 1033000, 5001, 4000);
    /* simulcast switch to B, 100 ms later: seq 5002, ts 4000 + 9000 */
    fwd(&rw, B, 60000, 12345, 1133000, 5002, 13000);
    fwd(&rw, B, 60001, 15345, 1166000, 5003, 16000);
    /* a B packet from before the switch point is not sent */
    not_sent(&rw, B, 59999, 9345);
    /* pause (no packets given), then resume 2 s later with a seq gap */
    hx_seq_rw_switch(&rw);
    fwd(&rw, B, 60500, 195345, 3166000, 5004, 16000 + 180000);
    fwd(&rw, B, 60501, 198345, 3199000, 5005, 16000 + 183000);
    /* a switch with no wall time elapsed still moves the timestamp on */
    fwd(&rw, A, 900, 1, 3199000, 5006, 16000 + 183001);
}

static void test_rewrite_restart(void **state)
{
    (void)state;
    hx_seq_rewriter rw;
    hx_seq_rw_init(&rw, 48000, 10, 0);
    fwd(&rw, A, 1000, 0, 0, 10, 0);
    fwd(&rw, A, 1001, 960, 20000, 11, 960);
    /* the publisher restarts with the same SSRC and fresh random numbers */
    not_sent(&rw, A, 40000, 5);
    fwd(&rw, A, 40001, 965, 60000, 12, 960 + 1920);
    fwd(&rw, A, 40002, 1925, 80000, 13, 960 + 2880);
}

static void test_rewrite_drop_memory(void **state)
{
    (void)state;
    hx_seq_rewriter rw;
    hx_seq_rw_init(&rw, 90000, 0, 0);
    fwd(&rw, A, 1, 0, 0, 0, 0);
    /* 2 and 3 missing; then more drops than the ring remembers */
    for (uint16_t s = 4; s < 4 + HX_SEQ_RW_DROPS + 6; s++)
        hx_seq_rw_drop(&rw, A, s);
    uint16_t next = 4 + HX_SEQ_RW_DROPS + 6;
    fwd(&rw, A, next, 0, 0, 3, 0);
    /* 2 arrives: drops after it were forgotten, so it cannot be numbered safely */
    not_sent(&rw, A, 2, 0);
    /* but a late packet after the remembered window maps fine */
    hx_seq_rw_drop(&rw, A, (uint16_t)(next + 1));
    fwd(&rw, A, (uint16_t)(next + 3), 0, 0, 5, 0);
    fwd(&rw, A, (uint16_t)(next + 2), 0, 0, 4, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unwrap),
        cmocka_unit_test(test_unwrap_jumps),
        cmocka_unit_test(test_rewrite_wraps),
        cmocka_unit_test(test_rewrite_drops),
        cmocka_unit_test(test_rewrite_switch),
        cmocka_unit_test(test_rewrite_restart),
        cmocka_unit_test(test_rewrite_drop_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
