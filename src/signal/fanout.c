/*
 * Room events, fanned out once per loop turn (issue 11 item 6, "join at
 * scale"). A room event (participant.joined/left/resumed, track.published/
 * unpublished, moderation; room.speakers, which goes to the speakers too)
 * goes to every other member of the room: N messages per event, N^2 per N
 * joins. Sending each at once cost, per
 * recipient, a malloc and copy into the connection's queue, a poll change
 * and a write of its own, on the one signaling thread, so a burst of joins
 * into a big room fell behind and stayed behind.
 *
 * Now an event is encoded once into a refcounted hx_fanout_msg and each
 * recipient gets a pointer to it (a few stores, no allocation at steady
 * state). Then:
 *   - a client that did not ask for more gets the same messages as before,
 *     one frame each (the wire does not change), at the end of the loop
 *     turn: a uv_check handle, and a uv_idle one while anything waits (for
 *     events queued after the check phase, by close callbacks);
 *   - a client that said `"event_batch": true` in its join (protocol v2,
 *     additive: docs/protocol.md §2.5) gets one `room.events` message
 *     {"events": [<message>, ...]}, built by concatenating the encoded
 *     events, never re-encoding them, HX_FANOUT_HOLD_MS after the first of
 *     them (a uv_timer; a lone event goes as itself). An event that should
 *     not wait that long (room.speakers: a late highlight looks wrong) is
 *     broadcast `prompt`: its batch goes at the end of the turn instead.
 * Per turn, k events cost such a recipient one send instead of k, so the
 * work stays O(members) however far behind the server is and a burst cannot
 * snowball; holding them a little makes k > 1 at a steady 100 joins/s too,
 * when each turn would carry one join: a member of a room of N gets at most
 * 1000 / HX_FANOUT_HOLD_MS sends a second, not one per join.
 *
 * Order is what the client would have seen before: a direct message to a
 * session (hx_session_send) first delivers the room events waiting for it,
 * and so does a change of its connection (resume, suspend). A session that
 * goes away drops what waits for it, as its connection's queue would have.
 *
 * Bounds: HX_FANOUT_MAX_PENDING events wait per session (more are delivered
 * at once), and a batch is at most HX_FANOUT_MAX_BATCH bytes (a longer run is
 * split; an event longer than that goes alone).
 *
 * Without a loop (unit tests, the fuzz targets) events are delivered at once
 * unless the registry's `defer` is set, in which case hx_signal_flush
 * delivers them.
 */
#include "signal/registry.h"
#include "signal/signal_internal.h"

#include <stdlib.h>
#include <string.h>

#define BATCH_HEAD "{\"type\":\"room.events\",\"data\":{\"events\":["
#define BATCH_TAIL "]}}"

struct hx_fanout_msg {
    uint32_t refs;
    bool prompt; /* a batch client's waiting events go at the turn's end, not after the hold */
    size_t len;
    char text[]; /* the encoded envelope, NUL-terminated */
};

hx_fanout_msg *hx_fanout_msg_new(const char *type, json_t *data)
{
    size_t len;
    char *text = hx_envelope_encode(type, NULL, data, &len);
    if (!text) return NULL;
    hx_fanout_msg *m = malloc(sizeof *m + len + 1);
    if (m) {
        m->refs = 1;
        m->prompt = false;
        m->len = len;
        memcpy(m->text, text, len + 1);
    }
    free(text);
    return m;
}

void hx_fanout_msg_release(hx_fanout_msg *m)
{
    if (m && --m->refs == 0) free(m);
}

const char *hx_fanout_msg_text(const hx_fanout_msg *m, size_t *len)
{
    *len = m->len;
    return m->text;
}

static void on_idle(uv_idle_t *h);
static void on_hold(uv_timer_t *h);

/* The list s waits in: a batch client's events are held a little longer (HX_FANOUT_HOLD_MS). */
static hx_session **list_of(hx_sessions *r, const hx_session *s)
{
    return s->fan_held ? &r->held : &r->dirty;
}

static void dirty_unlink(hx_sessions *r, hx_session *s)
{
    if (!s->fan_dirty) return;
    if (s->fan_prev)
        s->fan_prev->fan_next = s->fan_next;
    else
        *list_of(r, s) = s->fan_next;
    if (s->fan_next) s->fan_next->fan_prev = s->fan_prev;
    s->fan_prev = s->fan_next = NULL;
    s->fan_dirty = false;
}

/* s has events waiting: in the held list (hold) or the turn's. A held session moves to the
 * turn's list when an event must not wait (prompt): what it holds goes along, in order. */
static void dirty_link(hx_sessions *r, hx_session *s, bool hold)
{
    if (s->fan_dirty && (hold || !s->fan_held)) return;
    dirty_unlink(r, s);
    s->fan_dirty = true;
    s->fan_held = hold;
    hx_session **list = list_of(r, s);
    s->fan_prev = NULL;
    s->fan_next = *list;
    if (*list) (*list)->fan_prev = s;
    *list = s;
    hx_fanout_turn *t = r->turn;
    if (!t) return;
    if (!s->fan_held && !uv_is_active((uv_handle_t *)&t->idle)) uv_idle_start(&t->idle, on_idle);
    if (s->fan_held && !uv_is_active((uv_handle_t *)&t->hold))
        uv_timer_start(&t->hold, on_hold, HX_FANOUT_HOLD_MS, 0);
}

/* Deliver s's waiting events from [from, to) as one room.events message; to - from >= 2. */
static void deliver_batch(hx_session *s, size_t from, size_t to)
{
    size_t len = sizeof BATCH_HEAD - 1 + sizeof BATCH_TAIL - 1 + (to - from - 1);
    for (size_t i = from; i < to; i++)
        len += s->fan[i]->len;
    char *b = malloc(len + 1);
    if (!b) { /* each alone, then: slower, never lost */
        for (size_t i = from; i < to; i++)
            hx__session_deliver(s, s->fan[i]->text, s->fan[i]->len);
        return;
    }
    size_t n = sizeof BATCH_HEAD - 1;
    memcpy(b, BATCH_HEAD, n);
    for (size_t i = from; i < to; i++) {
        if (i > from) b[n++] = ',';
        memcpy(b + n, s->fan[i]->text, s->fan[i]->len);
        n += s->fan[i]->len;
    }
    memcpy(b + n, BATCH_TAIL, sizeof BATCH_TAIL);
    hx__session_deliver(s, b, len);
    free(b);
}

void hx_session_flush_events(hx_session *s)
{
    if (!s->n_fan) return;
    dirty_unlink(s->srv->sessions, s);
    size_t n = s->n_fan;
    s->n_fan = 0; /* delivering may not re-enter, but keep the state whole if it does */
    if (!s->event_batch) {
        for (size_t i = 0; i < n; i++)
            hx__session_deliver(s, s->fan[i]->text, s->fan[i]->len);
    } else {
        /* Runs of events that fit a batch; a run of one goes as itself. */
        for (size_t i = 0; i < n;) {
            size_t j = i, bytes = sizeof BATCH_HEAD + sizeof BATCH_TAIL;
            while (j < n && (j == i || bytes + s->fan[j]->len + 1 <= HX_FANOUT_MAX_BATCH))
                bytes += s->fan[j++]->len + 1;
            if (j - i == 1)
                hx__session_deliver(s, s->fan[i]->text, s->fan[i]->len);
            else
                deliver_batch(s, i, j);
            i = j;
        }
    }
    for (size_t i = 0; i < n; i++)
        hx_fanout_msg_release(s->fan[i]);
    if (s->cap_fan > HX_FANOUT_KEEP) { /* a burst's array is not kept by an idle session */
        free(s->fan);
        s->fan = NULL;
        s->cap_fan = 0;
    }
}

void hx_session_drop_events(hx_session *s)
{
    if (s->srv && s->srv->sessions) dirty_unlink(s->srv->sessions, s);
    for (size_t i = 0; i < s->n_fan; i++)
        hx_fanout_msg_release(s->fan[i]);
    free(s->fan);
    s->fan = NULL;
    s->n_fan = s->cap_fan = 0;
}

void hx_session_push_event(hx_session *s, hx_fanout_msg *m)
{
    hx_sessions *r = s->srv->sessions;
    if (!r->defer) { /* no loop turn to wait for */
        hx__session_deliver(s, m->text, m->len);
        return;
    }
    if (s->n_fan == HX_FANOUT_MAX_PENDING) hx_session_flush_events(s);
    if (s->n_fan == s->cap_fan) {
        size_t cap = s->cap_fan ? 2 * s->cap_fan : 8;
        hx_fanout_msg **a = realloc(s->fan, cap * sizeof *a);
        if (!a) { /* deliver what waits and this one now: order kept, nothing lost */
            hx_session_flush_events(s);
            hx__session_deliver(s, m->text, m->len);
            return;
        }
        s->fan = a;
        s->cap_fan = cap;
    }
    m->refs++;
    s->fan[s->n_fan++] = m;
    dirty_link(r, s, s->event_batch && !m->prompt);
}

static void broadcast(hx_room *r, const hx_participant *except, const char *type, json_t *data,
                      bool prompt)
{
    hx_fanout_msg *m = hx_fanout_msg_new(type, data); /* once, not once per member */
    if (!m) return;
    m->prompt = prompt;
    const hx_sig_io *away = hx_session_away_io();
    for (hx_participant *o = r ? r->head : NULL; o; o = o->next) {
        hx_session *s = o->owner;
        if (o != except && s->io != away) hx_session_push_event(s, m);
    }
    hx_fanout_msg_release(m);
}

void hx_room_broadcast(hx_room *r, const hx_participant *except, const char *type, json_t *data)
{
    broadcast(r, except, type, data, false);
}

void hx_room_broadcast_prompt(hx_room *r, const hx_participant *except, const char *type,
                              json_t *data)
{
    broadcast(r, except, type, data, true);
}

/* Deliver what waits in one list. */
static void flush_list(hx_session **list)
{
    while (*list)
        hx_session_flush_events(*list);
}

void hx_signal_flush(hx_server *srv)
{
    hx_sessions *r = srv->sessions;
    if (!r) return;
    flush_list(&r->dirty);
    flush_list(&r->held);
}

/* ---- the loop turn ---------------------------------------------------------------------- */

static void turn_end(hx_fanout_turn *t)
{
    flush_list(&t->srv->sessions->dirty);
    if (uv_is_active((uv_handle_t *)&t->idle)) uv_idle_stop(&t->idle);
}

/* After the I/O of a loop turn: what it queued goes out. */
static void on_check(uv_check_t *h)
{
    turn_end(h->data);
}

/* Events queued after the check phase (close callbacks): the next turn does not block in poll
 * while an idle handle is active, and delivers them first. */
static void on_idle(uv_idle_t *h)
{
    turn_end(h->data);
}

/* The batch clients' events, held since the first of them. */
static void on_hold(uv_timer_t *h)
{
    hx_fanout_turn *t = h->data;
    flush_list(&t->srv->sessions->held);
}

/* A handle of the turn is closed; the last one frees it. */
static void turn_closed(uv_handle_t *h)
{
    hx_fanout_turn *t = h->data;
    if (--t->open == 0) free(t);
}

static void close_turn(hx_fanout_turn *t)
{
    uv_handle_t *hs[3] = {(uv_handle_t *)&t->check, (uv_handle_t *)&t->idle,
                          (uv_handle_t *)&t->hold};
    int n = t->open;
    for (int i = 0; i < n; i++)
        uv_close(hs[i], turn_closed);
}

int hx__fanout_start(hx_server *srv)
{
    hx_sessions *r = srv->sessions;
    if (!srv->loop) return 0;
    hx_fanout_turn *t = calloc(1, sizeof *t);
    if (!t) return -1;
    t->srv = srv;
    t->check.data = t->idle.data = t->hold.data = t;
    /* None of these fails on a live loop; those made are closed all the same if one did. */
    if (uv_check_init(srv->loop, &t->check) || (++t->open, uv_idle_init(srv->loop, &t->idle)) ||
        (++t->open, uv_timer_init(srv->loop, &t->hold))) {
        if (t->open)
            close_turn(t);
        else
            free(t);
        return -1;
    }
    t->open = 3;
    uv_check_start(&t->check, on_check);
    /* None keeps the loop alive: they only matter while something else does. */
    uv_unref((uv_handle_t *)&t->check);
    uv_unref((uv_handle_t *)&t->idle);
    uv_unref((uv_handle_t *)&t->hold);
    r->turn = t;
    r->defer = true;
    return 0;
}

void hx__fanout_stop(hx_server *srv)
{
    hx_sessions *r = srv->sessions;
    hx_signal_flush(srv);
    r->defer = false;
    hx_fanout_turn *t = r->turn;
    r->turn = NULL;
    if (t) close_turn(t);
}
