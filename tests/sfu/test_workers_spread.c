/*
 * Unit tests for sfu/workers.c spreading a room over workers (media.split_subscribers): past the
 * split, a room's subscribers go to other workers, each joining worker gets the relays set up
 * (RELAY_OUT to the home with its address, RELAY_IN for each track the home published, with
 * the track's description from TRACK_PUBLISHED), tracks published or closed later follow, a
 * worker with none of the room's transports left leaves (RELAY_OUT off, RELAY_DROP), and a
 * worker that dies takes its part of the room with it: the home's death makes another worker
 * the home.
 */
#include "sfu/workers.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#define MAX_SEEN 64

typedef struct seen {
    uint16_t kind;
    uint64_t transport;
    uint32_t flags;
    char track[64], addr[64], room[64], desc[64];
} seen;

typedef struct fake {
    int n;
    seen m[MAX_SEEN];
} fake;

static int fake_post(void *ctx, const uint8_t *msg, size_t len)
{
    fake *f = ctx;
    hx_sfu_msg m;
    const char *why;
    assert_int_equal(hx_sfu_parse(msg, len, &m, &why), 0);
    assert_true(f->n < MAX_SEEN);
    seen *s = &f->m[f->n++];
    s->kind = m.kind;
    s->transport = m.transport;
    s->flags = m.flags;
    hx_sfu_field_copy(&m, HX_SFU_T_TRACK, s->track, sizeof s->track);
    hx_sfu_field_copy(&m, HX_SFU_T_ADDR, s->addr, sizeof s->addr);
    hx_sfu_field_copy(&m, HX_SFU_T_ROOM, s->room, sizeof s->room);
    hx_sfu_field_copy(&m, HX_SFU_T_DESC, s->desc, sizeof s->desc);
    return 0;
}

/* The last message of `kind` worker f took since mark (its index), or NULL. */
static const seen *last(const fake *f, int mark, uint16_t kind)
{
    for (int i = f->n - 1; i >= mark; i--)
        if (f->m[i].kind == kind) return &f->m[i];
    return NULL;
}

static int count(const fake *f, int mark, uint16_t kind)
{
    int n = 0;
    for (int i = mark; i < f->n; i++)
        n += f->m[i].kind == kind;
    return n;
}

static void open_t(hx_workers *w, uint64_t id, const char *room, const char *role)
{
    uint8_t buf[256];
    hx_sfu_builder b;
    hx_sfu_build(&b, buf, sizeof buf, HX_SFU_TRANSPORT_OPEN, id);
    hx_sfu_put_cstr(&b, HX_SFU_T_ROOM, room);
    hx_sfu_put_cstr(&b, HX_SFU_T_ROLE, role);
    long n = hx_sfu_finish(&b);
    assert_int_equal(hx_workers_post(w, buf, (size_t)n), 0);
}

static void close_t(hx_workers *w, uint64_t id)
{
    uint8_t buf[64];
    hx_sfu_builder b;
    hx_sfu_build(&b, buf, sizeof buf, HX_SFU_TRANSPORT_CLOSE, id);
    long n = hx_sfu_finish(&b);
    assert_int_equal(hx_workers_post(w, buf, (size_t)n), 0);
}

static void track_event(hx_workers *w, hx_sfu_kind kind, uint64_t pub, const char *room,
                        const char *track)
{
    uint8_t buf[256];
    hx_sfu_builder b;
    hx_sfu_build(&b, buf, sizeof buf, kind, pub);
    hx_sfu_put_cstr(&b, HX_SFU_T_ROOM, room);
    hx_sfu_put_cstr(&b, HX_SFU_T_PARTICIPANT, "PA_x");
    hx_sfu_put_cstr(&b, HX_SFU_T_TRACK, track);
    if (kind == HX_SFU_EV_TRACK_PUBLISHED) hx_sfu_put_cstr(&b, HX_SFU_T_DESC, "desc-of-track");
    long n = hx_sfu_finish(&b);
    hx_workers_event(w, buf, (size_t)n);
}

static void setup(hx_workers *w, fake *f, size_t n, uint32_t split)
{
    void *ctx[3] = {&f[0], &f[1], &f[2]};
    assert_int_equal(hx_workers_init(w, n, fake_post, ctx), 0);
    w->split_subscribers = split;
    hx_workers_set_addr(w, 0, "127.0.0.1:4000");
    hx_workers_set_addr(w, 1, "127.0.0.1:4001");
    hx_workers_set_addr(w, 2, "127.0.0.1:4002");
}

static void subscribers_past_the_split_spread(void **state)
{
    (void)state;
    fake f[3] = {0};
    hx_workers w;
    setup(&w, f, 3, 2);
    open_t(&w, 1, "hall", "publisher");
    track_event(&w, HX_SFU_EV_TRACK_PUBLISHED, 1, "hall", "TR_cam");
    open_t(&w, 2, "hall", "subscriber");
    open_t(&w, 3, "hall", "subscriber");
    assert_int_equal(hx_workers_of_room(&w, "hall"), 0);
    assert_int_equal(w.spread_rooms, 0);
    assert_int_equal(f[1].n + f[2].n, 0); /* up to the split: the home only */
    /* the third subscriber: worker 1 (the least loaded) joins the spread */
    int mark0 = f[0].n;
    open_t(&w, 4, "hall", "subscriber");
    assert_int_equal(hx_workers_of_transport(&w, 4), 1);
    assert_int_equal(f[1].m[0].kind, HX_SFU_TRANSPORT_OPEN); /* then its relay */
    const seen *in = last(&f[1], 0, HX_SFU_RELAY_IN);
    assert_non_null(in);
    assert_string_equal(in->track, "TR_cam");
    assert_int_equal(in->transport, 1); /* the publisher's own id */
    assert_string_equal(in->addr, "127.0.0.1:4000");
    assert_string_equal(in->desc, "desc-of-track");
    const seen *out = last(&f[0], mark0, HX_SFU_RELAY_OUT);
    assert_non_null(out);
    assert_string_equal(out->room, "hall");
    assert_string_equal(out->addr, "127.0.0.1:4001");
    assert_true(out->flags & HX_SFU_F_ON);
    assert_int_equal(w.spread_rooms, 1);
    assert_int_equal(w.relays_started, 1);
    /* the next one fills worker 1 (split 2) before a third worker joins */
    open_t(&w, 5, "hall", "subscriber");
    assert_int_equal(hx_workers_of_transport(&w, 5), 1);
    assert_int_equal(f[2].n, 0);
    open_t(&w, 6, "hall", "subscriber");
    assert_int_equal(hx_workers_of_transport(&w, 6), 2);
    assert_int_equal(count(&f[2], 0, HX_SFU_RELAY_IN), 1);
    assert_int_equal(w.relays_started, 2);
    /* publishers stay on the home, whatever the split */
    open_t(&w, 7, "hall", "publisher");
    assert_int_equal(hx_workers_of_transport(&w, 7), 0);
    /* a track published later reaches both spread workers; one closed leaves both */
    int mark1 = f[1].n, mark2 = f[2].n;
    track_event(&w, HX_SFU_EV_TRACK_PUBLISHED, 7, "hall", "TR_mic");
    assert_string_equal(last(&f[1], mark1, HX_SFU_RELAY_IN)->track, "TR_mic");
    assert_string_equal(last(&f[2], mark2, HX_SFU_RELAY_IN)->track, "TR_mic");
    track_event(&w, HX_SFU_EV_TRACK_CLOSED, 7, "hall", "TR_mic");
    assert_string_equal(last(&f[1], mark1, HX_SFU_RELAY_DROP)->track, "TR_mic");
    assert_int_equal(last(&f[2], mark2, HX_SFU_RELAY_DROP)->transport, 7);
    /* worker 2's one subscriber leaves: worker 2 leaves the spread */
    mark0 = f[0].n, mark2 = f[2].n;
    close_t(&w, 6);
    out = last(&f[0], mark0, HX_SFU_RELAY_OUT);
    assert_non_null(out);
    assert_string_equal(out->addr, "127.0.0.1:4002");
    assert_false(out->flags & HX_SFU_F_ON);
    assert_string_equal(last(&f[2], mark2, HX_SFU_RELAY_DROP)->track, "TR_cam");
    assert_int_equal(w.spread_rooms, 1);
    close_t(&w, 4);
    close_t(&w, 5);
    assert_int_equal(w.spread_rooms, 0);
    for (uint64_t id = 1; id <= 7; id++)
        if (hx_workers_of_transport(&w, id) >= 0) close_t(&w, id);
    assert_int_equal(hx_workers_of_room(&w, "hall"), -1);
    hx_workers_free(&w);
}

static void no_split_no_spread(void **state)
{
    (void)state;
    fake f[3] = {0};
    hx_workers w;
    setup(&w, f, 2, 0); /* split 0: never */
    for (uint64_t id = 1; id <= 10; id++)
        open_t(&w, id, "hall", id == 1 ? "publisher" : "subscriber");
    assert_int_equal(w.transports[0], 10);
    assert_int_equal(f[1].n, 0);
    hx_workers_free(&w);
    /* a worker whose socket is not known yet takes no relay */
    fake g[3] = {0};
    void *ctx[2] = {&g[0], &g[1]};
    assert_int_equal(hx_workers_init(&w, 2, fake_post, ctx), 0);
    w.split_subscribers = 1;
    hx_workers_set_addr(&w, 0, "127.0.0.1:4000");
    open_t(&w, 1, "hall", "subscriber");
    open_t(&w, 2, "hall", "subscriber");
    assert_int_equal(hx_workers_of_transport(&w, 2), 0);
    hx_workers_free(&w);
}

static int lost_ids[8], n_lost;
static void on_lost(void *arg, uint64_t id)
{
    (void)arg;
    lost_ids[n_lost++] = (int)id;
}

static void a_dead_worker_takes_its_part(void **state)
{
    (void)state;
    fake f[3] = {0};
    hx_workers w;
    setup(&w, f, 3, 1);
    open_t(&w, 1, "hall", "publisher");
    track_event(&w, HX_SFU_EV_TRACK_PUBLISHED, 1, "hall", "TR_cam");
    open_t(&w, 2, "hall", "subscriber"); /* home */
    open_t(&w, 3, "hall", "subscriber"); /* worker 1 */
    open_t(&w, 4, "hall", "subscriber"); /* worker 2 */
    open_t(&w, 5, "hall", "subscriber"); /* worker 1 or 2 (full: the emptiest) */
    assert_int_equal(w.spread_rooms, 1);
    /* worker 2 dies: the home stops relaying to it */
    int mark0 = f[0].n;
    n_lost = 0;
    hx_workers_lost(&w, 2, on_lost, NULL);
    const seen *out = last(&f[0], mark0, HX_SFU_RELAY_OUT);
    assert_non_null(out);
    assert_string_equal(out->addr, "127.0.0.1:4002");
    assert_false(out->flags & HX_SFU_F_ON);
    assert_true(n_lost >= 1);
    /* the home dies: its publisher's mirror goes from worker 1, which is the home now */
    int mark1 = f[1].n;
    hx_workers_lost(&w, 0, on_lost, NULL);
    assert_string_equal(last(&f[1], mark1, HX_SFU_RELAY_DROP)->track, "TR_cam");
    assert_int_equal(hx_workers_of_room(&w, "hall"), 1);
    assert_int_equal(w.spread_rooms, 0);
    hx_workers_set_down(&w, 0, false);
    hx_workers_set_down(&w, 2, false);
    /* a new publisher goes to the new home */
    open_t(&w, 9, "hall", "publisher");
    assert_int_equal(hx_workers_of_transport(&w, 9), 1);
    hx_workers_free(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(subscribers_past_the_split_spread),
        cmocka_unit_test(no_split_no_spread),
        cmocka_unit_test(a_dead_worker_takes_its_part),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
