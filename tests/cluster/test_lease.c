/*
 * Unit tests for cluster/lease.c, the lease state machine, with a fake clock and no Redis: a
 * room open here is claimed at once and renewed every third of the TTL; a claim in flight is
 * not sent twice; an answer naming this node holds it; a dead node's name waits (claimed again
 * soon); a live node's name hands the room over once, then asks again only a TTL later; an
 * unanswered claim (Redis away) changes nothing and goes again; a claim lost without any answer
 * is given up after a TTL; a room that closed is released, as held or not.
 */
#include "cluster/lease.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

typedef struct sent {
    int n;
    char last[64];
} sent;

static void on_send(void *arg, const char *room)
{
    sent *s = arg;
    s->n++;
    snprintf(s->last, sizeof s->last, "%s", room);
}

typedef struct released {
    int n, held;
    char last[64];
} released;

static void on_release(void *arg, const char *room, bool held)
{
    released *r = arg;
    r->n++;
    r->held += held;
    snprintf(r->last, sizeof r->last, "%s", room);
}

/* Each test: node "a", leases of 3 s, what it sent and released. */
typedef struct fx {
    hx_leases L;
    sent s;
    released r;
} fx;

static const char *const LOBBY[] = {"lobby", NULL};

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    if (!f) return -1;
    hx_leases_init(&f->L, "a", 3000);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    hx_leases_free(&f->L);
    free(f);
    return 0;
}

/* One housekeeping round at now: the rooms open here marked, then swept, then due claims. */
static int round_at(fx *f, const char *const *rooms, int now)
{
    for (; rooms && *rooms; rooms++)
        assert_int_equal(hx_leases_want(&f->L, *rooms, now), 0);
    hx_leases_sweep(&f->L, on_release, &f->r);
    return (int)hx_leases_due(&f->L, now, on_send, &f->s);
}

static void claim_hold_renew(void **state)
{
    fx *f = *state;
    assert_int_equal(round_at(f, LOBBY, 0), 1); /* at once */
    assert_string_equal(f->s.last, "lobby");
    assert_int_equal(hx_leases_get(&f->L, "lobby")->state, HX_LEASE_CLAIMING);
    assert_int_equal(round_at(f, LOBBY, 100), 0); /* in flight: not again */
    assert_int_equal(hx_leases_answer(&f->L, "lobby", "a", true, 120), HX_LEASE_OURS);
    assert_int_equal(hx_leases_get(&f->L, "lobby")->state, HX_LEASE_HELD);
    assert_int_equal(round_at(f, LOBBY, 999), 0);
    assert_int_equal(round_at(f, LOBBY, 1000), 1); /* renewed at ttl/3 */
    assert_int_equal(hx_leases_answer(&f->L, "nope", "a", true, 1000), HX_LEASE_UNKNOWN);
}

static void dead_holder_waits_live_holder_moves(void **state)
{
    fx *f = *state;
    round_at(f, LOBBY, 0);
    /* b's name on it, b not alive: its lease runs out; ask again at the next interval. */
    assert_int_equal(hx_leases_answer(&f->L, "lobby", "b", false, 10), HX_LEASE_PENDING);
    assert_int_equal(hx_leases_get(&f->L, "lobby")->state, HX_LEASE_WAIT);
    assert_int_equal(round_at(f, LOBBY, 1000), 1);
    assert_int_equal(hx_leases_answer(&f->L, "lobby", "a", true, 1010), HX_LEASE_OURS);
    /* Later b holds it alive (a Redis that came back empty, b was faster): contested first,
     * asked again a whole TTL later (b may have just died), then handed over, once. */
    assert_int_equal(round_at(f, LOBBY, 2010), 1);
    assert_int_equal(hx_leases_answer(&f->L, "lobby", "b", true, 2020), HX_LEASE_PENDING);
    assert_int_equal(hx_leases_get(&f->L, "lobby")->state, HX_LEASE_CONTESTED);
    assert_int_equal(round_at(f, LOBBY, 3020), 0); /* not before a whole TTL */
    assert_int_equal(round_at(f, LOBBY, 5020), 1);
    assert_int_equal(hx_leases_answer(&f->L, "lobby", "b", true, 5030), HX_LEASE_MOVED);
    const hx_lease *l = hx_leases_get(&f->L, "lobby");
    assert_int_equal(l->state, HX_LEASE_LOST);
    assert_string_equal(l->holder, "b");
    assert_int_equal(round_at(f, LOBBY, 6030), 0); /* not before a whole TTL */
    assert_int_equal(round_at(f, LOBBY, 8030), 1);
    assert_int_equal(hx_leases_answer(&f->L, "lobby", "b", true, 8040), HX_LEASE_PENDING);
    /* A holder that died meanwhile: its lease ran out, the claim is ours, no hand-over. */
    assert_int_equal(round_at(f, LOBBY, 11040), 1);
    assert_int_equal(hx_leases_answer(&f->L, "lobby", "a", true, 11050), HX_LEASE_OURS);
    assert_int_equal(round_at(f, LOBBY, 12050), 1);
    assert_int_equal(hx_leases_answer(&f->L, "lobby", "c", true, 12060), HX_LEASE_PENDING);
    assert_int_equal(round_at(f, LOBBY, 15060), 1);
    assert_int_equal(hx_leases_answer(&f->L, "lobby", "a", true, 15070), HX_LEASE_OURS);
    /* An empty holder is no answer. */
    assert_int_equal(round_at(f, LOBBY, 16070), 1);
    assert_int_equal(hx_leases_answer(&f->L, "lobby", "", true, 16080), HX_LEASE_UNKNOWN);
}

static void redis_away_changes_nothing(void **state)
{
    fx *f = *state;
    round_at(f, LOBBY, 0);
    hx_leases_answer(&f->L, "lobby", "a", true, 5);
    assert_int_equal(round_at(f, LOBBY, 1000), 1);
    hx_leases_failed(&f->L, "lobby", 1001);
    assert_int_equal(hx_leases_get(&f->L, "lobby")->state, HX_LEASE_HELD); /* calls go on */
    assert_int_equal(round_at(f, LOBBY, 1500), 0);
    assert_int_equal(round_at(f, LOBBY, 2000), 1); /* tried again */
    /* No answer at all (a reply that never came): given up after a TTL, then sent again. */
    assert_int_equal(round_at(f, LOBBY, 4999), 0);
    assert_int_equal(round_at(f, LOBBY, 5000), 1);
}

static void closed_rooms_released(void **state)
{
    fx *f = *state;
    const char *both[] = {"lobby", "stage", NULL}, *one[] = {"lobby", NULL};
    assert_int_equal(round_at(f, both, 0), 2);
    hx_leases_answer(&f->L, "stage", "a", true, 1);
    assert_int_equal(round_at(f, one, 100), 0);
    assert_int_equal(f->r.n, 1);
    assert_string_equal(f->r.last, "stage");
    assert_int_equal(f->r.held, 1);
    assert_null(hx_leases_get(&f->L, "stage"));
    assert_int_equal(hx_leases_answer(&f->L, "stage", "a", true, 101), HX_LEASE_UNKNOWN);
    round_at(f, NULL, 200); /* lobby closed before any answer: released, not held */
    assert_int_equal(f->r.n, 2);
    assert_int_equal(f->r.held, 1);
    assert_null(hx_leases_get(&f->L, "lobby"));
    /* The node stops: every lease goes at once, marked in this round or not. */
    round_at(f, both, 300);
    hx_leases_answer(&f->L, "stage", "a", true, 301);
    hx_leases_release_all(&f->L, on_release, &f->r);
    assert_int_equal(f->r.n, 4);
    assert_int_equal(f->r.held, 2);
    assert_null(hx_leases_get(&f->L, "stage"));
    assert_null(hx_leases_get(&f->L, "lobby"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(claim_hold_renew, setup, teardown),
        cmocka_unit_test_setup_teardown(dead_holder_waits_live_holder_moves, setup, teardown),
        cmocka_unit_test_setup_teardown(redis_away_changes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(closed_rooms_released, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
