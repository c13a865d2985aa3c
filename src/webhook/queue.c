/*
 * The delivery queue: a ring of at most cap events read from the audit
 * trail, in id order, and the retry state of its head. Only the head is ever
 * in flight (one POST at a time keeps the receiver's order), so the state is
 * the head's: READY, SENDING, or BACKOFF until a time. A result pops the head
 * (delivered, or dead: refused too often by a receiver that answers, or failed
 * while older than the age limit) or sets its next attempt. A receiver that
 * does not answer at all is down, which is not the event's fault: its events
 * wait (within the age limit) rather than go to the dead-letter log one by one.
 *
 * The cursor is implied, never stored apart: with events waiting, everything
 * before the head is done (the trail is read in id order and what was not
 * wanted was skipped); with none, everything read is. So the cursor written
 * to the store never passes an event that was not delivered or dead-lettered,
 * and a full queue only stops reading: the trail keeps the rest.
 */
#include "webhook/webhook_internal.h"

#include "common/invariant.h"

#include <stdlib.h>
#include <string.h>

int hx__whq_init(hx_wh_queue *q, size_t cap, const hx_wh_policy *pol, int64_t read_id)
{
    memset(q, 0, sizeof *q);
    if (!cap || !(q->items = calloc(cap, sizeof *q->items))) return -1;
    q->cap = cap;
    q->pol = *pol;
    q->read_id = read_id;
    return 0;
}

void hx__whq_free(hx_wh_queue *q)
{
    for (size_t i = 0; i < q->n; i++)
        free(q->items[(q->head + i) % q->cap].body);
    free(q->items);
    memset(q, 0, sizeof *q);
}

size_t hx__whq_room(const hx_wh_queue *q)
{
    return q->cap - q->n;
}

int hx__whq_push(hx_wh_queue *q, int64_t id, int64_t ts_ms, const char *kind, char *body,
                 size_t len)
{
    if (q->n == q->cap || id <= q->read_id) return -1;
    hx_wh_item *it = &q->items[(q->head + q->n) % q->cap];
    it->id = id;
    it->ts_ms = ts_ms;
    size_t kl = kind ? strnlen(kind, sizeof it->kind - 1) : 0;
    for (size_t i = 0; i < kl; i++) /* it goes into a header: never a control character */
        it->kind[i] = (unsigned char)kind[i] < 0x20 || kind[i] == 0x7f ? '_' : kind[i];
    it->kind[kl] = '\0';
    it->body = body;
    it->len = len;
    q->n++;
    q->read_id = id;
    return 0;
}

void hx__whq_skip(hx_wh_queue *q, int64_t id)
{
    if (id > q->read_id) q->read_id = id;
}

const hx_wh_item *hx__whq_head(const hx_wh_queue *q)
{
    return q->n ? &q->items[q->head] : NULL;
}

int64_t hx__whq_due_ms(const hx_wh_queue *q, int64_t now_ms)
{
    if (!q->n || q->state == HX_WHQ_SENDING) return -1;
    return q->state == HX_WHQ_BACKOFF && q->retry_at_ms > now_ms ? q->retry_at_ms : now_ms;
}

const hx_wh_item *hx__whq_next(hx_wh_queue *q, int64_t now_ms)
{
    int64_t due = hx__whq_due_ms(q, now_ms);
    if (due < 0 || due > now_ms) return NULL;
    q->state = HX_WHQ_SENDING;
    return &q->items[q->head];
}

static void pop(hx_wh_queue *q)
{
    memset(&q->items[q->head], 0, sizeof q->items[0]);
    q->head = (q->head + 1) % q->cap;
    q->n--;
    q->state = HX_WHQ_READY;
    q->failures = q->refusals = 0;
    q->retry_at_ms = 0;
}

hx_whq_result hx__whq_done(hx_wh_queue *q, int64_t now_ms, hx_wh_outcome o, uint32_t rnd,
                           hx_wh_item *dead)
{
    if (!HX_ALWAYS(q->n && q->state == HX_WHQ_SENDING)) return HX_WHQ_RETRY;
    hx_wh_item *it = &q->items[q->head];
    if (o == HX_WH_ACCEPTED) {
        free(it->body);
        pop(q);
        return HX_WHQ_DELIVERED;
    }
    q->failures++;
    if (o == HX_WH_REFUSED) q->refusals++;
    bool too_old = q->pol.max_age_ms > 0 && now_ms - it->ts_ms >= q->pol.max_age_ms;
    if (q->refusals >= q->pol.max_attempts || too_old) {
        *dead = *it; /* the caller logs it and frees the body */
        dead->failures = q->failures;
        pop(q);
        return HX_WHQ_DEAD;
    }
    q->state = HX_WHQ_BACKOFF;
    q->retry_at_ms = now_ms + hx__wh_backoff_ms(&q->pol, q->failures, rnd);
    return HX_WHQ_RETRY;
}

int64_t hx__whq_cursor(const hx_wh_queue *q)
{
    return q->n ? q->items[q->head].id - 1 : q->read_id;
}
