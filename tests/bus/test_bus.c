/*
 * Unit tests for bus/: the message codec (round trip, bounds, refusals) and
 * the in-process bus (delivery to every subscriber, publishes from inside a
 * handler queued in order rather than nested, the queue's bound,
 * unsubscribe).
 */
#include "bus/bus.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void codec_round_trip(void **state)
{
    (void)state;
    hx_bus_msg m = {.kind = HX_BUS_MODERATION, .at = 1765000000123};
    hx_bus_set(m.action, "timeout");
    hx_bus_set(m.room, "lobby");
    hx_bus_set(m.user, "bob");
    hx_bus_set(m.text, "quote \" and newline \n and unicode é");
    char wire[HX_BUS_MAX_BYTES];
    int n = hx_bus_encode(&m, wire, sizeof wire);
    assert_true(n > 0);
    hx_bus_msg got;
    assert_int_equal(hx_bus_decode(wire, (size_t)n, &got), 0);
    assert_memory_equal(&m, &got, sizeof m);
    assert_string_equal(hx_bus_kind_name(got.kind), "moderation");
}

static void codec_refuses(void **state)
{
    (void)state;
    hx_bus_msg m;
    static const char *const bad[] = {
        "", "[]", "{}", "{\"k\":\"nope\"}", "{\"k\":1}", "{\"k\":\"revoke\",\"user\":5}",
        "{\"k\":\"revoke\",\"at\":\"x\"}", "{\"k\":\"revoke\",\"k\":\"revoke\"}",
        "{\"k\":\"revoke\",\"user\":\"a\\u0000b\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(hx_bus_decode(bad[i], strlen(bad[i]), &m), -1);
    /* A string one byte too long for its field is refused, not truncated. */
    char big[300];
    char user[HX_BUS_STR + 1];
    memset(user, 'u', HX_BUS_STR);
    user[HX_BUS_STR] = '\0';
    snprintf(big, sizeof big, "{\"k\":\"revoke\",\"user\":\"%s\"}", user);
    assert_int_equal(hx_bus_decode(big, strlen(big), &m), -1);
    user[HX_BUS_STR - 1] = '\0';
    snprintf(big, sizeof big, "{\"k\":\"revoke\",\"user\":\"%s\"}", user);
    assert_int_equal(hx_bus_decode(big, strlen(big), &m), 0);
    /* Unknown keys are ignored (a newer node's fields). */
    const char *newer = "{\"k\":\"room_event\",\"future\":[1,2]}";
    assert_int_equal(hx_bus_decode(newer, strlen(newer), &m), 0);
    assert_int_equal(m.kind, HX_BUS_ROOM_EVENT);
    /* Encoding refuses a kind out of range. */
    hx_bus_msg z = {0};
    char wire[64];
    assert_int_equal(hx_bus_encode(&z, wire, sizeof wire), -1);
}

typedef struct recorder {
    hx_bus *bus;
    char seen[16][HX_BUS_STR];
    size_t n;
    int depth, max_depth;
    int republish; /* publish this many follow-ups from inside the handler */
} recorder;

static void record(void *arg, const hx_bus_msg *m)
{
    recorder *r = arg;
    r->depth++;
    if (r->depth > r->max_depth) r->max_depth = r->depth;
    if (r->n < 16) snprintf(r->seen[r->n++], HX_BUS_STR, "%s", m->action);
    for (; r->republish > 0; r->republish--) {
        hx_bus_msg f = {.kind = HX_BUS_ROOM_EVENT};
        snprintf(f.action, sizeof f.action, "follow-%d", r->republish);
        assert_int_equal(hx_bus_publish(r->bus, &f), HX_BUS_OK);
        assert_int_equal(r->depth, 1); /* not delivered inside us */
    }
    r->depth--;
}

static void local_delivers_in_order(void **state)
{
    (void)state;
    hx_bus *b = hx_bus_local_new();
    assert_non_null(b);
    recorder a = {.bus = b, .republish = 2}, c = {.bus = b};
    assert_int_equal(b->ops->subscribe(b, record, &a), 0);
    assert_int_equal(b->ops->subscribe(b, record, &c), 0);
    hx_bus_msg m = {.kind = HX_BUS_REVOKE};
    hx_bus_set(m.action, "first");
    assert_int_equal(hx_bus_publish(b, &m), HX_BUS_OK);
    /* Both subscribers saw everything, before publish returned, in order, never nested. */
    assert_int_equal(a.n, 3);
    assert_int_equal(c.n, 3);
    assert_string_equal(a.seen[0], "first");
    assert_string_equal(a.seen[1], "follow-2");
    assert_string_equal(a.seen[2], "follow-1");
    assert_string_equal(c.seen[2], "follow-1");
    assert_int_equal(a.max_depth, 1);
    b->ops->unsubscribe(b, record, &c);
    assert_int_equal(hx_bus_publish(b, &m), HX_BUS_OK);
    assert_int_equal(a.n, 4);
    assert_int_equal(c.n, 3);
    b->ops->close(b);
}

typedef struct flooder {
    int full;
    hx_bus *b;
} flooder;

static void flood(void *arg, const hx_bus_msg *m)
{
    flooder *f = arg;
    if (strcmp(m->action, "start")) return;
    hx_bus_msg more = {.kind = HX_BUS_ROOM_EVENT};
    for (int i = 0; i < HX_BUS_MAX_QUEUE + 5; i++)
        if (hx_bus_publish(f->b, &more) == HX_BUS_FULL) f->full++;
}

static void local_queue_is_bounded(void **state)
{
    (void)state;
    flooder ctx = {0, hx_bus_local_new()};
    assert_non_null(ctx.b);
    assert_int_equal(ctx.b->ops->subscribe(ctx.b, flood, &ctx), 0);
    hx_bus_msg m = {.kind = HX_BUS_ROOM_EVENT};
    hx_bus_set(m.action, "start");
    assert_int_equal(hx_bus_publish(ctx.b, &m), HX_BUS_OK);
    assert_int_equal(ctx.full, 5);
    /* Subscriber slots are bounded too. */
    for (int i = 1; i < HX_BUS_MAX_SUBS; i++) assert_int_equal(ctx.b->ops->subscribe(ctx.b, flood, &ctx), 0);
    assert_int_equal(ctx.b->ops->subscribe(ctx.b, flood, &ctx), -1);
    ctx.b->ops->close(ctx.b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(codec_round_trip),
        cmocka_unit_test(codec_refuses),
        cmocka_unit_test(local_delivers_in_order),
        cmocka_unit_test(local_queue_is_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
