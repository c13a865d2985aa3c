/*
 * Unit tests for signal/fanout.c: room events wait for the end of the loop
 * turn and then reach each member in order, one message each for a client
 * that did not ask for batches (the wire of before) and one `room.events`
 * for a client that joined with `event_batch: true`; a direct message goes
 * after the events that were waiting; batches are split at their size cap,
 * a session's queue at its length cap; a session that goes drops what
 * waited.
 *
 * The test server has no loop: each test sets the registry's `defer` and
 * calls hx_signal_flush where the loop's turn would end.
 */
#include "support/test_peer.h"

#include "common/clock.h"
#include "signal/signal_internal.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static int setup(void **state)
{
    if (hx_test_server_setup(state)) return -1;
    ((hx_test_server *)*state)->srv.sessions->defer = true;
    return 0;
}

static int teardown(void **state)
{
    return hx_test_server_teardown(state);
}

static hx_server *srv(void **state)
{
    return &((hx_test_server *)*state)->srv;
}

/* Open a v2 session and join room "r" as user, with `event_batch` when batch. */
static void open_join(hx_server *s, peer *p, const char *user, bool batch)
{
    char t[HX_TICKET_MAX_TEXT + 1];
    peer_open(s, p, 2);
    mint(s, "r", user, "d", NULL, NULL, 2, t);
    send_json(p, json_pack("{s:s, s:s, s:{s:s, s:s, s:b}}", "type", "join", "id", "j", "data",
                           "ticket", t, "room", "r", "event_batch", batch));
    json_t *ack = hx_test_client_last(&p->c, "ack");
    assert_non_null(ack);
    assert_int_equal(p->sess->state, HX_SESSION_JOINED);
}

/* The user of a participant.* message (or event inside a batch). */
static const char *who(json_t *m)
{
    return json_string_value(
        json_object_get(json_object_get(hx_test_msg_data(m), "participant"), "user"));
}

static void legacy_client_gets_each_event_at_turn_end(void **state)
{
    hx_server *s = srv(state);
    peer a, b, c;
    open_join(s, &a, "alice", false);
    open_join(s, &b, "bob", false);
    open_join(s, &c, "carol", false);
    /* Nothing yet: the events wait for the end of the turn. */
    assert_int_equal(hx_test_client_count(&a.c, "participant.joined"), 0);
    assert_non_null(s->sessions->dirty);
    hx_signal_flush(s);
    assert_null(s->sessions->dirty);
    /* Then one message each, in order, as before. */
    assert_int_equal(hx_test_client_count(&a.c, "participant.joined"), 2);
    assert_int_equal(hx_test_client_count(&a.c, "room.events"), 0);
    size_t n = json_array_size(a.c.msgs);
    assert_string_equal(who(hx_test_client_nth(&a.c, n - 2)), "bob");
    assert_string_equal(who(hx_test_client_nth(&a.c, n - 1)), "carol");
    assert_int_equal(hx_test_client_count(&b.c, "participant.joined"), 1);
    assert_int_equal(hx_test_client_count(&c.c, "participant.joined"), 0); /* not about itself */
    peer_free(&c);
    peer_free(&b);
    peer_free(&a);
}

static void batch_client_gets_one_room_events(void **state)
{
    hx_server *s = srv(state);
    peer a, b, c, d;
    open_join(s, &a, "alice", true);
    open_join(s, &b, "bob", false);
    open_join(s, &c, "carol", false);
    open_join(s, &d, "dave", true);
    /* alice (batch) waits for the hold timer, bob (not) for the end of the turn. */
    assert_ptr_equal(s->sessions->held, a.sess);
    assert_true(a.sess->fan_held && !b.sess->fan_held && b.sess->fan_dirty);
    hx_signal_flush(s);
    assert_null(s->sessions->held);
    /* alice: bob, carol, dave in one message, each event as it would have gone alone. */
    assert_int_equal(hx_test_client_count(&a.c, "room.events"), 1);
    assert_int_equal(hx_test_client_count(&a.c, "participant.joined"), 0);
    json_t *ev =
        json_object_get(hx_test_msg_data(hx_test_client_last(&a.c, "room.events")), "events");
    assert_int_equal(json_array_size(ev), 3);
    const char *order[] = {"bob", "carol", "dave"};
    for (size_t i = 0; i < 3; i++) {
        json_t *e = json_array_get(ev, i);
        assert_string_equal(hx_test_msg_type(e), "participant.joined");
        assert_null(hx_test_msg_id(e));
        assert_string_equal(who(e), order[i]);
    }
    /* bob did not ask: two messages. dave (batch) has nothing: no one joined after him. */
    assert_int_equal(hx_test_client_count(&b.c, "participant.joined"), 2);
    assert_int_equal(hx_test_client_count(&b.c, "room.events"), 0);
    assert_int_equal(hx_test_client_count(&d.c, "room.events"), 0);
    assert_int_equal(hx_test_client_count(&d.c, "participant.joined"), 0);

    /* A lone event goes as itself, even to a batch client. */
    peer_free(&c);
    hx_signal_flush(s);
    json_t *last = hx_test_client_last(&a.c, NULL);
    assert_string_equal(hx_test_msg_type(last), "participant.left");
    assert_string_equal(who(last), "carol");
    assert_string_equal(hx_test_msg_type(hx_test_client_last(&d.c, NULL)), "participant.left");
    peer_free(&d);
    peer_free(&b);
    peer_free(&a);
}

static void direct_message_follows_waiting_events(void **state)
{
    hx_server *s = srv(state);
    peer a, b;
    open_join(s, &a, "alice", true);
    open_join(s, &b, "bob", false);
    /* alice asks something before the turn ends: the event about bob comes first. */
    send_json(&a, json_pack("{s:s, s:s}", "type", "room.info", "id", "i"));
    size_t n = json_array_size(a.c.msgs);
    json_t *m1 = hx_test_client_nth(&a.c, n - 2), *m2 = hx_test_client_nth(&a.c, n - 1);
    assert_string_equal(hx_test_msg_type(m1), "participant.joined");
    assert_string_equal(who(m1), "bob");
    assert_string_equal(hx_test_msg_type(m2), "ack");
    assert_string_equal(hx_test_msg_id(m2), "i");
    assert_null(s->sessions->held); /* alice's queue is empty, so nobody waits */
    assert_null(s->sessions->dirty);
    hx_signal_flush(s);
    assert_int_equal(json_array_size(a.c.msgs), n); /* delivered once */
    peer_free(&b);
    peer_free(&a);
}

static void gone_session_drops_its_events(void **state)
{
    hx_server *s = srv(state);
    peer a, b, c;
    open_join(s, &a, "alice", false);
    open_join(s, &b, "bob", false);
    open_join(s, &c, "carol", false); /* alice waits for 2 events, bob for 1 */
    b.sess->no_resume = true;         /* a plain leave, no grace window */
    peer_gone(&b);                    /* bob goes with one waiting: dropped, the others' stay */
    assert_non_null(s->sessions->dirty);
    a.sess->no_resume = true;
    peer_gone(&a); /* the dirty list loses alice too, before she is freed */
    hx_signal_flush(s);
    assert_int_equal(hx_test_client_count(&a.c, "participant.joined"), 0);
    assert_int_equal(hx_test_client_count(&b.c, "participant.joined"), 0);
    assert_int_equal(hx_test_client_count(&c.c, "participant.left"), 2);
    hx_test_client_free(&b.c);
    hx_test_client_free(&a.c);
    peer_free(&c);
}

/* A message of `len` bytes in all ({"type":"x","data":{"p":"aaa..."}}). */
static hx_fanout_msg *sized(size_t len)
{
    size_t fixed = strlen("{\"type\":\"x\",\"data\":{\"p\":\"\"}}");
    char *pad = malloc(len - fixed + 1);
    assert_non_null(pad);
    memset(pad, 'a', len - fixed);
    pad[len - fixed] = '\0';
    hx_fanout_msg *m = hx_fanout_msg_new("x", json_pack("{s:s}", "p", pad));
    free(pad);
    assert_non_null(m);
    size_t n;
    hx_fanout_msg_text(m, &n);
    assert_int_equal(n, len);
    return m;
}

static void batches_split_at_their_cap(void **state)
{
    hx_server *s = srv(state);
    peer a;
    open_join(s, &a, "alice", true);
    hx_test_client_clear(&a.c);
    /* 40 events of 2000 bytes (80 000 in all), then one larger than a batch, then two more. */
    size_t sizes[43];
    for (int i = 0; i < 43; i++)
        sizes[i] = i == 40 ? HX_FANOUT_MAX_BATCH + 100 : 2000;
    for (int i = 0; i < 43; i++) {
        hx_fanout_msg *m = sized(sizes[i]);
        hx_session_push_event(a.sess, m);
        hx_fanout_msg_release(m);
    }
    hx_signal_flush(s);
    size_t events = 0, n = json_array_size(a.c.msgs);
    assert_true(n >= 4);
    for (size_t i = 0; i < n; i++) {
        json_t *m = hx_test_client_nth(&a.c, i);
        char *text = json_dumps(m, JSON_COMPACT | JSON_PRESERVE_ORDER);
        size_t len = strlen(text);
        free(text);
        if (!strcmp(hx_test_msg_type(m), "room.events")) {
            assert_true(len <= HX_FANOUT_MAX_BATCH);
            events += json_array_size(json_object_get(hx_test_msg_data(m), "events"));
        } else { /* the one too large for any batch, and a lone tail */
            assert_string_equal(hx_test_msg_type(m), "x");
            events++;
        }
    }
    assert_int_equal(events, 43);
    assert_int_equal(a.c.n_bad, 0);
    peer_free(&a);
}

static void queue_cap_delivers_early(void **state)
{
    hx_server *s = srv(state);
    peer a;
    open_join(s, &a, "alice", false);
    hx_test_client_clear(&a.c);
    hx_fanout_msg *m = hx_fanout_msg_new("x", json_pack("{s:i}", "n", 1));
    for (int i = 0; i < HX_FANOUT_MAX_PENDING; i++)
        hx_session_push_event(a.sess, m);
    assert_int_equal(hx_test_client_count(&a.c, "x"), 0);
    hx_session_push_event(a.sess, m); /* one past the cap: the full queue goes first */
    assert_int_equal(hx_test_client_count(&a.c, "x"), HX_FANOUT_MAX_PENDING);
    hx_fanout_msg_release(m);
    hx_signal_flush(s);
    assert_int_equal(hx_test_client_count(&a.c, "x"), HX_FANOUT_MAX_PENDING + 1);
    peer_free(&a);
}

static void notify_shares_one_encoding(void **state)
{
    hx_server *s = srv(state);
    peer a, b;
    open_join(s, &a, "alice", true);
    open_join(s, &b, "bob", false);
    hx_signal_flush(s);
    json_t *data = json_pack("{s:s}", "event", "ban");
    hx_session_match in_r = {.room = "r"};
    assert_int_equal(hx_sessions_notify(s, hx_session_matches, &in_r, "moderation", data), 2);
    json_decref(data);
    hx_signal_flush(s);
    assert_string_equal(str_at(last_data(&a, "moderation"), "event"), "ban");
    assert_string_equal(str_at(last_data(&b, "moderation"), "event"), "ban");
    peer_free(&b);
    peer_free(&a);
}

static void immediate_without_a_turn(void **state)
{
    hx_server *s = srv(state);
    s->sessions->defer = false; /* no loop, nothing deferring: at once, as the fuzz targets run */
    peer a, b;
    open_join(s, &a, "alice", true);
    open_join(s, &b, "bob", true);
    assert_int_equal(hx_test_client_count(&a.c, "participant.joined"), 1);
    assert_null(s->sessions->dirty);
    peer_free(&b);
    peer_free(&a);
}

static void keepalive_fired(uv_timer_t *h)
{
    (void)h;
}

static void closed_cb(uv_handle_t *h)
{
    (void)h;
}

/* With a loop: a plain client's events at the end of the turn, a batch client's after the hold. */
static void loop_delivers_at_turn_end_and_after_hold(void **state)
{
    hx_server *s = srv(state);
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    uv_timer_t keepalive; /* the fan-out's handles do not keep a loop alive by themselves */
    uv_timer_init(&loop, &keepalive);
    s->sessions->defer = false;
    s->loop = &loop;
    assert_int_equal(hx__fanout_start(s), 0);
    assert_true(s->sessions->defer);

    peer a, b, c;
    open_join(s, &a, "alice", false);
    open_join(s, &b, "bob", true);
    uv_timer_start(&keepalive, keepalive_fired, 1000, 0);
    uv_run(&loop, UV_RUN_NOWAIT);
    hx_test_client_clear(&a.c);
    hx_test_client_clear(&b.c);
    int64_t t0 = hx_mono_ms();
    open_join(s, &c, "carol", false);
    assert_int_equal(hx_test_client_count(&a.c, "participant.joined"), 0);
    uv_run(&loop, UV_RUN_NOWAIT); /* one turn: its check phase */
    assert_int_equal(hx_test_client_count(&a.c, "participant.joined"), 1);
    assert_int_equal(hx_test_client_count(&b.c, "participant.joined"), 0); /* held */
    uv_timer_start(&keepalive, keepalive_fired, 5000,
                   0); /* alive; UV_RUN_ONCE wakes for the hold */
    while (!hx_test_client_count(&b.c, "participant.joined") && hx_mono_ms() - t0 < 2000)
        uv_run(&loop, UV_RUN_ONCE);
    assert_int_equal(hx_test_client_count(&b.c, "participant.joined"), 1);
    assert_true(hx_mono_ms() - t0 >= HX_FANOUT_HOLD_MS - 5);

    /* An event queued outside a turn's I/O (as by a close callback): the idle handle delivers it
     * first thing in the next turn. */
    peer_free(&c);
    uv_run(&loop, UV_RUN_NOWAIT);
    assert_int_equal(hx_test_client_count(&a.c, "participant.left"), 1);
    peer_free(&b);
    peer_free(&a);

    hx__fanout_stop(s);
    s->loop = NULL;
    uv_close((uv_handle_t *)&keepalive, closed_cb);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0); /* every handle closed, the turn freed */
}

/* A prompt event (room.speakers) does not wait for the hold: a batch client gets it at the end
 * of the turn, together with, and after, the events held for it. */
static void prompt_event_takes_held_batch_along(void **state)
{
    hx_server *s = srv(state);
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    uv_timer_t keepalive; /* the fan-out's handles do not keep a loop alive by themselves */
    uv_timer_init(&loop, &keepalive);
    uv_timer_start(&keepalive, keepalive_fired, 5000, 0);
    s->sessions->defer = false;
    s->loop = &loop;
    assert_int_equal(hx__fanout_start(s), 0);

    peer a, b, c;
    open_join(s, &a, "alice", true);
    open_join(s, &b, "bob", false);
    int64_t t0 = hx_mono_ms();
    while (!hx_test_client_count(&a.c, "participant.joined") && hx_mono_ms() - t0 < 2000)
        uv_run(&loop, UV_RUN_ONCE); /* the hold's end */
    assert_int_equal(hx_test_client_count(&a.c, "participant.joined"), 1);
    hx_test_client_clear(&a.c);
    hx_test_client_clear(&b.c);
    open_join(s, &c, "carol", false);
    assert_true(a.sess->fan_held); /* carol's join waits for the hold */
    hx_room_broadcast_prompt(a.sess->p.room, NULL, "room.speakers", json_pack("{s:[]}", "speakers"));
    assert_true(a.sess->fan_dirty && !a.sess->fan_held);
    assert_ptr_equal(s->sessions->held, NULL);
    uv_run(&loop, UV_RUN_NOWAIT); /* one turn, no hold */
    json_t *batch = hx_test_client_last(&a.c, "room.events");
    assert_non_null(batch);
    json_t *ev = json_object_get(hx_test_msg_data(batch), "events");
    assert_int_equal(json_array_size(ev), 2);
    assert_string_equal(hx_test_msg_type(json_array_get(ev, 0)), "participant.joined");
    assert_string_equal(hx_test_msg_type(json_array_get(ev, 1)), "room.speakers");
    /* Everyone hears it, the speakers too; a plain client as one message. */
    assert_int_equal(hx_test_client_count(&b.c, "room.speakers"), 1);
    assert_int_equal(hx_test_client_count(&c.c, "room.speakers"), 1);
    /* A plain event after it waits for the hold again. */
    peer_free(&c);
    assert_true(a.sess->fan_held);

    peer_free(&b);
    peer_free(&a);
    hx__fanout_stop(s);
    s->loop = NULL;
    uv_close((uv_handle_t *)&keepalive, closed_cb);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(legacy_client_gets_each_event_at_turn_end, setup, teardown),
        cmocka_unit_test_setup_teardown(prompt_event_takes_held_batch_along, setup, teardown),
        cmocka_unit_test_setup_teardown(batch_client_gets_one_room_events, setup, teardown),
        cmocka_unit_test_setup_teardown(direct_message_follows_waiting_events, setup, teardown),
        cmocka_unit_test_setup_teardown(gone_session_drops_its_events, setup, teardown),
        cmocka_unit_test_setup_teardown(batches_split_at_their_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(queue_cap_delivers_early, setup, teardown),
        cmocka_unit_test_setup_teardown(notify_shares_one_encoding, setup, teardown),
        cmocka_unit_test_setup_teardown(immediate_without_a_turn, setup, teardown),
        cmocka_unit_test_setup_teardown(loop_delivers_at_turn_end_and_after_hold, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
