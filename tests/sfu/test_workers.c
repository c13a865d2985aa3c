/*
 * Unit tests for sfu/workers.c, the dispatch of commands over media workers: a new room goes to
 * the worker with the fewest open transports and stays there for every transport of the room;
 * every later command follows its transport; a room whose transports all closed is forgotten
 * (placed afresh next time); an open the worker refused places nothing; a transport nobody
 * placed goes to worker 0.
 */
#include "sfu/workers.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

typedef struct fake {
    int posts;
    uint16_t last_kind;
    uint64_t last_transport;
    int refuse; /* answer -1 */
} fake;

static int fake_post(void *ctx, const uint8_t *msg, size_t len)
{
    fake *f = ctx;
    hx_sfu_msg m;
    const char *why;
    assert_int_equal(hx_sfu_parse(msg, len, &m, &why), 0);
    if (f->refuse) return -1;
    f->posts++;
    f->last_kind = m.kind;
    f->last_transport = m.transport;
    return 0;
}

static int post(hx_workers *w, hx_sfu_kind kind, uint64_t transport, const char *room)
{
    uint8_t buf[256];
    hx_sfu_builder b;
    hx_sfu_build(&b, buf, sizeof buf, kind, transport);
    if (room) hx_sfu_put_cstr(&b, HX_SFU_T_ROOM, room);
    long n = hx_sfu_finish(&b);
    assert_true(n > 0);
    return hx_workers_post(w, buf, (size_t)n);
}

static void rooms_stay_on_their_worker(void **state)
{
    (void)state;
    fake f[2] = {{0}};
    void *ctx[2] = {&f[0], &f[1]};
    hx_workers w;
    assert_int_equal(hx_workers_init(&w, 2, fake_post, ctx), 0);
    /* lobby: two transports (a publisher and a subscriber) on worker 0 */
    assert_int_equal(post(&w, HX_SFU_TRANSPORT_OPEN, 2, "lobby"), 0);
    assert_int_equal(post(&w, HX_SFU_TRANSPORT_OPEN, 3, "lobby"), 0);
    assert_int_equal(hx_workers_of_room(&w, "lobby"), 0);
    assert_int_equal(f[0].posts, 2);
    /* stage: worker 1 has fewer transports */
    assert_int_equal(post(&w, HX_SFU_TRANSPORT_OPEN, 4, "stage"), 0);
    assert_int_equal(hx_workers_of_room(&w, "stage"), 1);
    assert_int_equal(f[1].posts, 1);
    /* a third transport of lobby follows the room, not the load */
    assert_int_equal(post(&w, HX_SFU_TRANSPORT_OPEN, 6, "lobby"), 0);
    assert_int_equal(hx_workers_of_transport(&w, 6), 0);
    assert_int_equal(w.transports[0], 3);
    assert_int_equal(w.transports[1], 1);
    /* later commands follow their transport */
    assert_int_equal(post(&w, HX_SFU_SUBSCRIBE, 4, NULL), 0);
    assert_int_equal(f[1].last_kind, HX_SFU_SUBSCRIBE);
    assert_int_equal(post(&w, HX_SFU_REMOTE_CANDIDATE, 3, NULL), 0);
    assert_int_equal(f[0].last_kind, HX_SFU_REMOTE_CANDIDATE);
    assert_int_equal(f[0].last_transport, 3);
    /* an unknown transport: worker 0, whose engine refuses it as one engine would */
    assert_int_equal(post(&w, HX_SFU_PAUSE, 99, NULL), 0);
    assert_int_equal(f[0].last_transport, 99);
    assert_int_equal(w.posted[0], 5);
    assert_int_equal(w.posted[1], 2);
    hx_workers_free(&w);
}

static void closed_rooms_are_forgotten(void **state)
{
    (void)state;
    fake f[2] = {{0}};
    void *ctx[2] = {&f[0], &f[1]};
    hx_workers w;
    assert_int_equal(hx_workers_init(&w, 2, fake_post, ctx), 0);
    post(&w, HX_SFU_TRANSPORT_OPEN, 2, "lobby");
    post(&w, HX_SFU_TRANSPORT_OPEN, 3, "lobby");
    post(&w, HX_SFU_TRANSPORT_CLOSE, 2, NULL);
    assert_int_equal(hx_workers_of_room(&w, "lobby"), 0); /* one left */
    assert_int_equal(hx_workers_of_transport(&w, 2), -1);
    assert_int_equal(f[0].last_kind, HX_SFU_TRANSPORT_CLOSE); /* the close went to its worker */
    post(&w, HX_SFU_TRANSPORT_CLOSE, 3, NULL);
    assert_int_equal(hx_workers_of_room(&w, "lobby"), -1);
    assert_int_equal(w.transports[0], 0);
    /* a tie goes to the first worker: stage to 0, then lobby (opened again) to 1 */
    post(&w, HX_SFU_TRANSPORT_OPEN, 10, "stage");
    post(&w, HX_SFU_TRANSPORT_OPEN, 12, "lobby");
    assert_int_equal(hx_workers_of_room(&w, "stage"), 0);
    assert_int_equal(hx_workers_of_room(&w, "lobby"), 1);
    /* an open the worker refused: nothing placed, the room not kept */
    f[0].refuse = 1;
    assert_int_equal(post(&w, HX_SFU_TRANSPORT_OPEN, 14, "hall"), -1);
    assert_int_equal(hx_workers_of_transport(&w, 14), -1);
    assert_int_equal(hx_workers_of_room(&w, "hall"), -1);
    assert_int_equal(w.transports[0], 1);
    hx_workers_free(&w);
}

static void bounds(void **state)
{
    (void)state;
    hx_workers w;
    void *ctx[1] = {NULL};
    assert_int_equal(hx_workers_init(&w, 0, fake_post, ctx), -1);
    assert_int_equal(hx_workers_init(&w, HX_MAX_WORKERS + 1, fake_post, ctx), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rooms_stay_on_their_worker),
        cmocka_unit_test(closed_rooms_are_forgotten),
        cmocka_unit_test(bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
