/*
 * Unit tests for room/room: the registry (open finds or creates, the
 * max_rooms limit), a room's participant list (cap, unlinking the head, a
 * middle and the tail keeps both directions consistent, empty_since), the
 * sweeper (closes only rooms empty long enough, reports each through
 * on_close), find_user_device and find_participant through the room's
 * indexes (the same user and device twice included), the publisher list
 * (join order whatever the order of publication), and participant ids.
 *
 * check_list() walks a room both ways after every change and compares
 * with the expected order, so a broken prev/next/tail link fails at once.
 */
#include "room/room.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

static int setup(void **state)
{
    static hx_rooms rs;
    hx_rooms_init(&rs, 0);
    *state = &rs;
    return 0;
}

static int teardown(void **state)
{
    hx_rooms_free(*state);
    return 0;
}

static void make_participant(hx_participant *p, const char *user, const char *device)
{
    memset(p, 0, sizeof *p);
    hx_participant_new_id(p);
    snprintf(p->user, sizeof p->user, "%s", user);
    snprintf(p->device, sizeof p->device, "%s", device);
}

/* The room's list, forwards and backwards, is exactly want[0..n). */
static void check_list(const hx_room *r, hx_participant *const *want, size_t n)
{
    assert_int_equal(r->count, n);
    size_t i = 0;
    const hx_participant *prev = NULL;
    for (const hx_participant *p = r->head; p; p = p->next, i++) {
        assert_true(i < n);
        assert_ptr_equal(p, want[i]);
        assert_ptr_equal(p->prev, prev);
        assert_ptr_equal(p->room, r);
        prev = p;
    }
    assert_int_equal(i, n);
    assert_ptr_equal(r->tail, prev);
    for (const hx_participant *p = r->tail; p; p = p->prev) assert_ptr_equal(p, want[--i]);
    assert_int_equal(i, 0);
    if (!n) assert_null(r->head);
}

static void test_open_find(void **state)
{
    hx_rooms *rs = *state;
    int err = 0;
    assert_null(hx_rooms_find(rs, "lobby"));
    hx_room *a = hx_rooms_open(rs, "lobby", 5, 1000, &err);
    assert_non_null(a);
    assert_string_equal(a->name, "lobby");
    assert_int_equal(a->created_ms, 1000);
    assert_int_equal(a->empty_since_ms, 1000);
    assert_int_equal(a->max_participants, 5);
    check_list(a, NULL, 0);
    assert_ptr_equal(hx_rooms_find(rs, "lobby"), a);
    /* Opening again returns the same room, unchanged. */
    assert_ptr_equal(hx_rooms_open(rs, "lobby", 99, 2000, &err), a);
    assert_int_equal(a->max_participants, 5);
    assert_int_equal(a->created_ms, 1000);
    hx_room *b = hx_rooms_open(rs, "Lobby", 5, 1000, &err);
    assert_non_null(b);
    assert_ptr_not_equal(a, b);
    assert_int_equal(rs->by_name.count, 2);
    assert_null(hx_rooms_find(rs, "lobb"));
}

static void test_add_until_full(void **state)
{
    hx_rooms *rs = *state;
    int err = 0;
    hx_room *r = hx_rooms_open(rs, "r", 3, 100, &err);
    hx_participant p[4], *want[4];
    for (int i = 0; i < 4; i++) {
        char u[8];
        snprintf(u, sizeof u, "u%d", i);
        make_participant(&p[i], u, "d");
        want[i] = &p[i];
    }
    for (int i = 0; i < 3; i++) {
        assert_int_equal(hx_room_add(r, &p[i]), HX_ROOM_OK);
        assert_int_equal(r->empty_since_ms, 0);
        check_list(r, want, (size_t)i + 1);
    }
    assert_int_equal(hx_room_add(r, &p[3]), HX_ROOM_FULL);
    assert_null(p[3].room);
    check_list(r, want, 3);
    /* A place freed is a place to take. */
    hx_room_remove(r, &p[0], 200);
    assert_int_equal(hx_room_add(r, &p[3]), HX_ROOM_OK);
    hx_participant *now[] = {&p[1], &p[2], &p[3]};
    check_list(r, now, 3);
    for (int i = 1; i < 4; i++) hx_room_remove(r, &p[i], 300);

    /* max_participants 0: no cap. */
    hx_room *open = hx_rooms_open(rs, "open", 0, 100, &err);
    static hx_participant many[500];
    for (int i = 0; i < 500; i++) {
        make_participant(&many[i], "u", "d");
        assert_int_equal(hx_room_add(open, &many[i]), HX_ROOM_OK);
    }
    assert_int_equal(open->count, 500);
    for (int i = 0; i < 500; i++) hx_room_remove(open, &many[i], 400);
    check_list(open, NULL, 0);
}

static void test_remove_head_middle_tail(void **state)
{
    hx_rooms *rs = *state;
    int err = 0;
    hx_room *r = hx_rooms_open(rs, "r", 10, 100, &err);
    hx_participant p[5];
    for (int i = 0; i < 5; i++) {
        make_participant(&p[i], "u", "d");
        assert_int_equal(hx_room_add(r, &p[i]), HX_ROOM_OK);
    }
    hx_participant *all[] = {&p[0], &p[1], &p[2], &p[3], &p[4]};
    check_list(r, all, 5);

    hx_room_remove(r, &p[2], 200); /* middle */
    hx_participant *a[] = {&p[0], &p[1], &p[3], &p[4]};
    check_list(r, a, 4);
    assert_null(p[2].room);
    assert_null(p[2].prev);
    assert_null(p[2].next);
    assert_int_equal(r->empty_since_ms, 0);

    hx_room_remove(r, &p[0], 200); /* head */
    hx_participant *b[] = {&p[1], &p[3], &p[4]};
    check_list(r, b, 3);

    hx_room_remove(r, &p[4], 200); /* tail */
    hx_participant *c[] = {&p[1], &p[3]};
    check_list(r, c, 2);

    /* Removing someone not in this room changes nothing. */
    hx_room_remove(r, &p[4], 200);
    hx_room *other = hx_rooms_open(rs, "other", 10, 100, &err);
    hx_participant q;
    make_participant(&q, "u", "d");
    assert_int_equal(hx_room_add(other, &q), HX_ROOM_OK);
    hx_room_remove(r, &q, 200);
    check_list(r, c, 2);
    hx_participant *oq[] = {&q};
    check_list(other, oq, 1);

    /* Re-add at the tail after removal. */
    assert_int_equal(hx_room_add(r, &p[0]), HX_ROOM_OK);
    hx_participant *d[] = {&p[1], &p[3], &p[0]};
    check_list(r, d, 3);

    hx_room_remove(r, &p[3], 300);
    hx_room_remove(r, &p[1], 300);
    hx_participant *e[] = {&p[0]};
    check_list(r, e, 1);
    assert_int_equal(r->empty_since_ms, 0);
    hx_room_remove(r, &p[0], 777); /* last one out */
    check_list(r, NULL, 0);
    assert_int_equal(r->empty_since_ms, 777);
    hx_room_remove(other, &q, 0); /* at time 0 it still counts as empty */
    assert_true(other->empty_since_ms != 0);
}

typedef struct closed_log {
    char names[16][HX_MAX_ID_LEN + 1];
    int n;
} closed_log;

static void on_close(void *arg, const hx_room *r)
{
    closed_log *log = arg;
    assert_int_equal(r->count, 0);
    assert_true(log->n < 16);
    snprintf(log->names[log->n++], sizeof log->names[0], "%s", r->name);
}

static int closed(const closed_log *log, const char *name)
{
    for (int i = 0; i < log->n; i++)
        if (strcmp(log->names[i], name) == 0) return 1;
    return 0;
}

static void test_sweep(void **state)
{
    hx_rooms *rs = *state;
    int err = 0;
    closed_log log = {.n = 0};
    hx_room *never = hx_rooms_open(rs, "never-joined", 10, 1000, &err); /* empty since 1000 */
    hx_room *busy = hx_rooms_open(rs, "busy", 10, 1000, &err);
    hx_room *left = hx_rooms_open(rs, "left", 10, 1000, &err);
    assert_non_null(never);
    hx_participant a, b;
    make_participant(&a, "a", "d");
    make_participant(&b, "b", "d");
    assert_int_equal(hx_room_add(busy, &a), HX_ROOM_OK);
    assert_int_equal(hx_room_add(left, &b), HX_ROOM_OK);
    hx_room_remove(left, &b, 5000); /* empty since 5000 */

    /* 30 s timeout: at 30999 nothing has been empty that long. */
    assert_int_equal(hx_rooms_sweep(rs, 30999, 30000, on_close, &log), 0);
    assert_int_equal(log.n, 0);
    /* At 31000 "never-joined" has been empty exactly 30 s: closed. */
    assert_int_equal(hx_rooms_sweep(rs, 31000, 30000, on_close, &log), 1);
    assert_int_equal(log.n, 1);
    assert_true(closed(&log, "never-joined"));
    assert_null(hx_rooms_find(rs, "never-joined"));
    assert_non_null(hx_rooms_find(rs, "left"));
    /* An occupied room is never closed, however late. */
    assert_int_equal(hx_rooms_sweep(rs, 10000000, 30000, NULL, NULL), 1); /* on_close may be NULL */
    assert_null(hx_rooms_find(rs, "left"));
    assert_ptr_equal(hx_rooms_find(rs, "busy"), busy);
    assert_int_equal(rs->by_name.count, 1);

    /* Timeout 0 closes an empty room at once; a rejoined room is not empty. */
    hx_room_remove(busy, &a, 20000000);
    hx_room *again = hx_rooms_open(rs, "again", 10, 20000000, &err);
    assert_int_equal(hx_room_add(again, &b), HX_ROOM_OK);
    log.n = 0;
    assert_int_equal(hx_rooms_sweep(rs, 20000000, 0, on_close, &log), 1);
    assert_true(closed(&log, "busy"));
    assert_ptr_equal(hx_rooms_find(rs, "again"), again);
    hx_room_remove(again, &b, 20000001);
}

/* A room opened and never joined is empty from the start, even at time 0. */
static void test_sweep_never_joined_at_time_zero(void **state)
{
    hx_rooms *rs = *state;
    int err = 0;
    assert_non_null(hx_rooms_open(rs, "r", 10, 0, &err));
    assert_int_equal(hx_rooms_sweep(rs, 60000, 30000, NULL, NULL), 1);
    assert_null(hx_rooms_find(rs, "r"));
}

static void test_max_rooms(void **state)
{
    (void)state;
    hx_rooms rs;
    int err = 0;
    hx_rooms_init(&rs, 3);
    assert_non_null(hx_rooms_open(&rs, "a", 1, 0, &err));
    assert_non_null(hx_rooms_open(&rs, "b", 1, 0, &err));
    hx_room *c = hx_rooms_open(&rs, "c", 1, 0, &err);
    assert_non_null(c);
    err = 0;
    assert_null(hx_rooms_open(&rs, "d", 1, 0, &err));
    assert_int_equal(err, HX_ROOM_LIMIT);
    assert_null(hx_rooms_find(&rs, "d"));
    /* An existing room still opens at the limit. */
    assert_ptr_equal(hx_rooms_open(&rs, "c", 1, 0, &err), c);
    /* Closing one makes room for another. */
    assert_int_equal(hx_rooms_sweep(&rs, 100, 0, NULL, NULL), 3);
    assert_non_null(hx_rooms_open(&rs, "d", 1, 0, &err));
    hx_rooms_free(&rs);
}

static void test_find_user_device(void **state)
{
    hx_rooms *rs = *state;
    int err = 0;
    hx_room *r = hx_rooms_open(rs, "r", 10, 0, &err);
    hx_participant p[4];
    make_participant(&p[0], "alice", "phone");
    make_participant(&p[1], "alice", "laptop");
    make_participant(&p[2], "bob", "phone");
    make_participant(&p[3], "alicephone", "");
    for (int i = 0; i < 4; i++) assert_int_equal(hx_room_add(r, &p[i]), HX_ROOM_OK);
    assert_ptr_equal(hx_room_find_user_device(r, "alice", "phone"), &p[0]);
    assert_ptr_equal(hx_room_find_user_device(r, "alice", "laptop"), &p[1]);
    assert_ptr_equal(hx_room_find_user_device(r, "bob", "phone"), &p[2]);
    assert_ptr_equal(hx_room_find_user_device(r, "alicephone", ""), &p[3]);
    assert_null(hx_room_find_user_device(r, "bob", "laptop"));
    assert_null(hx_room_find_user_device(r, "alic", "ephone"));
    assert_null(hx_room_find_user_device(r, "ALICE", "phone"));
    hx_room_remove(r, &p[0], 1);
    assert_null(hx_room_find_user_device(r, "alice", "phone"));
    for (int i = 1; i < 4; i++) hx_room_remove(r, &p[i], 1);
    assert_null(hx_room_find_user_device(r, "bob", "phone"));
}

/* The indexes follow every add and remove; two of the same user and device (a restart can restore
 * such a pair) are found latest first, and the other takes over when that one leaves. */
static void test_indexes(void **state)
{
    hx_rooms *rs = *state;
    int err = 0;
    hx_room *r = hx_rooms_open(rs, "r", 0, 0, &err);
    hx_participant p[6];
    make_participant(&p[0], "alice", "phone");
    make_participant(&p[1], "bob", "phone");
    make_participant(&p[2], "alice", "phone"); /* a second alice/phone */
    make_participant(&p[3], "carol", "d");
    make_participant(&p[4], "alice", "phone"); /* and a third */
    make_participant(&p[5], "alice", "laptop");
    for (int i = 0; i < 6; i++) assert_int_equal(hx_room_add(r, &p[i]), HX_ROOM_OK);
    assert_int_equal(r->who_dups, 2);
    for (int i = 0; i < 6; i++) assert_ptr_equal(hx_room_find_participant(r, p[i].id), &p[i]);
    assert_null(hx_room_find_participant(r, "p_0000000000000000"));
    assert_ptr_equal(hx_room_find_user_device(r, "alice", "phone"), &p[4]);

    hx_room_remove(r, &p[2], 1); /* shadowed: the index does not move */
    assert_ptr_equal(hx_room_find_user_device(r, "alice", "phone"), &p[4]);
    assert_null(hx_room_find_participant(r, p[2].id));
    assert_int_equal(r->who_dups, 1);
    hx_room_remove(r, &p[4], 1); /* the indexed one: the other alice/phone takes over */
    assert_ptr_equal(hx_room_find_user_device(r, "alice", "phone"), &p[0]);
    assert_int_equal(r->who_dups, 0);
    hx_room_remove(r, &p[0], 1);
    assert_null(hx_room_find_user_device(r, "alice", "phone"));
    assert_ptr_equal(hx_room_find_user_device(r, "alice", "laptop"), &p[5]);
    assert_ptr_equal(hx_room_find_user_device(r, "bob", "phone"), &p[1]);

    /* Back in: indexed again. */
    assert_int_equal(hx_room_add(r, &p[0]), HX_ROOM_OK);
    assert_ptr_equal(hx_room_find_user_device(r, "alice", "phone"), &p[0]);
    assert_ptr_equal(hx_room_find_participant(r, p[0].id), &p[0]);
    for (int i = 0; i < 6; i++) hx_room_remove(r, &p[i], 2);
    assert_int_equal(r->by_id.count, 0);
    assert_int_equal(r->by_who.count, 0);
    assert_int_equal(r->who_dups, 0);
}

/* The publishers of r, in list order, are exactly want[0..n) (and backwards). */
static void check_pubs(const hx_room *r, hx_participant *const *want, size_t n)
{
    size_t i = 0;
    for (const hx_participant *p = r->pub_head; p; p = p->pub_next, i++) {
        assert_true(i < n);
        assert_ptr_equal(p, want[i]);
        assert_true(p->publishing);
    }
    assert_int_equal(i, n);
    for (const hx_participant *p = r->pub_tail; p; p = p->pub_prev) assert_ptr_equal(p, want[--i]);
}

static void test_publisher_list(void **state)
{
    hx_rooms *rs = *state;
    int err = 0;
    hx_room *r = hx_rooms_open(rs, "r", 0, 0, &err);
    hx_participant p[5];
    for (int i = 0; i < 5; i++) {
        char u[8];
        snprintf(u, sizeof u, "u%d", i);
        make_participant(&p[i], u, "d");
        assert_int_equal(hx_room_add(r, &p[i]), HX_ROOM_OK);
    }
    check_pubs(r, NULL, 0);
    /* They publish in the order 3, 1, 4, 0: the list keeps the join order. */
    int order[] = {3, 1, 4, 0};
    for (int k = 0; k < 4; k++) {
        p[order[k]].n_tracks = 1;
        hx_room_tracks_changed(r, &p[order[k]]);
        hx_room_tracks_changed(r, &p[order[k]]); /* again: no change */
    }
    hx_participant *all[] = {&p[0], &p[1], &p[3], &p[4]};
    check_pubs(r, all, 4);
    p[1].n_tracks = 0; /* stops publishing */
    hx_room_tracks_changed(r, &p[1]);
    assert_false(p[1].publishing);
    hx_participant *three[] = {&p[0], &p[3], &p[4]};
    check_pubs(r, three, 3);
    hx_room_remove(r, &p[4], 1); /* leaves while publishing: the tail goes */
    hx_room_remove(r, &p[0], 1); /* and the head */
    hx_participant *one[] = {&p[3]};
    check_pubs(r, one, 1);
    assert_int_equal(hx_room_add(r, &p[0]), HX_ROOM_OK); /* back, with its track: joins last */
    hx_participant *two[] = {&p[3], &p[0]};
    check_pubs(r, two, 2);
    for (int i = 0; i < 4; i++) hx_room_remove(r, &p[i], 2);
    check_pubs(r, NULL, 0);
}

static void test_participant_ids(void **state)
{
    (void)state;
    enum { N = 2000 };
    static char ids[N][HX_PARTICIPANT_ID_LEN];
    for (int i = 0; i < N; i++) {
        hx_participant p;
        memset(&p, 'Z', sizeof p);
        hx_participant_new_id(&p);
        assert_int_equal(strlen(p.id), HX_PARTICIPANT_ID_LEN - 1);
        assert_memory_equal(p.id, "p_", 2);
        for (int k = 2; k < HX_PARTICIPANT_ID_LEN - 1; k++) assert_non_null(strchr("0123456789abcdef", p.id[k]));
        assert_true(hx_id_valid(p.id));
        memcpy(ids[i], p.id, sizeof ids[i]);
        for (int j = 0; j < i; j++)
            if (strcmp(ids[i], ids[j]) == 0) fail_msg("duplicate participant id %s", ids[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_find, setup, teardown),
        cmocka_unit_test_setup_teardown(test_add_until_full, setup, teardown),
        cmocka_unit_test_setup_teardown(test_remove_head_middle_tail, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sweep, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sweep_never_joined_at_time_zero, setup, teardown),
        cmocka_unit_test_setup_teardown(test_max_rooms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_find_user_device, setup, teardown),
        cmocka_unit_test_setup_teardown(test_indexes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_publisher_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_participant_ids, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
