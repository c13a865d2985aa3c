/*
 * The boundary's queue across threads: a producer thread's messages reach
 * the consumer's loop complete and in order; the byte bound refuses sends
 * while the consumer is not draining; close drops what is queued and
 * refuses more.
 */
#include "sfu/pipe.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#define N 20000

typedef struct rx {
    uint32_t next;
    int bad;
    uv_loop_t *loop;
    int closed;
} rx;

static void deliver(void *ctx, const uint8_t *msg, size_t len)
{
    rx *r = ctx;
    uint32_t v;
    if (len != 4 + (r->next % 100)) r->bad++;
    memcpy(&v, msg, 4);
    if (v != r->next) r->bad++;
    for (size_t i = 4; i < len; i++)
        if (msg[i] != (uint8_t)v) r->bad++;
    r->next++;
    if (r->next == N) uv_stop(r->loop);
}

static void *produce(void *arg)
{
    hx_sfu_pipe *p = arg;
    uint8_t buf[128];
    for (uint32_t i = 0; i < N;) {
        memcpy(buf, &i, 4);
        memset(buf + 4, (uint8_t)i, sizeof buf - 4);
        if (hx_sfu_pipe_send(p, buf, 4 + (i % 100)) == 0)
            i++; /* full: the consumer catches up, try again */
    }
    return NULL;
}

static void closed(hx_sfu_pipe *p)
{
    ((rx *)p->ctx)->closed = 1;
}

static void test_threads_in_order(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    rx r = {.loop = &loop};
    hx_sfu_pipe p;
    assert_int_equal(hx_sfu_pipe_init(&p, &loop, 64 * 1024, deliver, &r), 0);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, produce, &p), 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    pthread_join(t, NULL);
    hx_sfu_pipe_drain(&p);
    assert_int_equal(r.next, N);
    assert_int_equal(r.bad, 0);
    hx_sfu_pipe_close(&p, closed);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(r.closed, 1);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void count(void *ctx, const uint8_t *msg, size_t len)
{
    (void)msg;
    (void)len;
    (*(int *)ctx)++;
}

static void test_bound_and_close(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    int got = 0;
    hx_sfu_pipe p;
    assert_int_equal(hx_sfu_pipe_init(&p, &loop, 1000, count, &got), 0);
    uint8_t buf[400] = {0};
    assert_int_equal(hx_sfu_pipe_send(&p, buf, 400), 0);
    assert_int_equal(hx_sfu_pipe_send(&p, buf, 400), 0);
    assert_int_equal(hx_sfu_pipe_send(&p, buf, 400), -1); /* 1200 > 1000 */
    assert_int_equal(hx_sfu_pipe_send(&p, buf, 200), 0);  /* exactly 1000 */
    uv_run(&loop, UV_RUN_NOWAIT);                         /* the async delivers all three */
    assert_int_equal(got, 3);
    assert_int_equal(hx_sfu_pipe_send(&p, buf, 400), 0); /* room again */
    static uint8_t huge[HX_SFU_MSG_MAX + 1];
    assert_int_equal(hx_sfu_pipe_send(&p, huge, sizeof huge), -1);
    hx_sfu_pipe_close(&p, NULL); /* the queued one is dropped, not delivered */
    assert_int_equal(hx_sfu_pipe_send(&p, buf, 4), -1);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(got, 3);
    assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threads_in_order),
        cmocka_unit_test(test_bound_and_close),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
