/*
 * The webhook service on hearthd's loop (webhook.h says why the audit trail
 * is its source). Every webhook.poll_ms a timer:
 *
 *   1. reads the trail after the queue's read position, at most as many
 *      events as the queue has room for, each either queued (its kind is
 *      wanted: webhook.events) or skipped;
 *   2. sends the queue's head when it is due (hx__whq_next), signed with
 *      the attempt's time; its end (sent()) pops it or sets its retry, and
 *      sends the next at once, so a backlog drains at the receiver's pace;
 *   3. writes the cursor the queue implies to the store when it moved: at
 *      most once a second while a backlog drains, within CURSOR_IDLE_MS once
 *      caught up, and at stop; so a kill -9 posts again at most what the last
 *      second delivered (at least once: receivers drop duplicates by id);
 *   4. sets the queue's gauges.
 *
 * PostgreSQL shared by several nodes (docs/scaling.md): event ids come from
 * one sequence but two nodes' transactions may commit out of id order, so a
 * reader could pass an id whose row is not yet visible. Reading stops at a
 * gap in the ids for up to GAP_WAIT_MS (seen on this node's clock) for it to
 * fill, then goes on (a gap is also what a rolled-back insert leaves). SQLite
 * has one writer and ids in commit order: no wait.
 */
#include "webhook/webhook_internal.h"
#include "core/metric_names.h"

#include "common/clock.h"
#include "core/server.h"

#include <inttypes.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CURSOR_EVERY_MS 1000
#define CURSOR_IDLE_MS 100
#define GAP_WAIT_MS 2000
#define READ_MAX 500 /* events per read */
#define STORE_ERROR_LOG_MS 10000

struct hx_webhook {
    hx_server *srv;
    hx_wh_queue q;
    hx_wh_sender snd;
    hx_wh_filter filter;
    uv_timer_t tick;
    int open; /* the tick timer and the sender, until each has closed */
    bool stopping;
    bool wait_gaps;       /* store.backend = postgres */
    int64_t since_ms;     /* the first start's time, until an event was passed */
    int64_t stored_id;    /* the cursor as the store has it */
    int64_t stored_ms;    /* when it was written (monotonic) */
    int64_t gap_ms;       /* a gap in the ids seen first at (monotonic), 0: none */
    int64_t sent_ms;      /* the request in flight started (monotonic) */
    int64_t store_err_ms; /* the last store error logged (monotonic) */
    uint64_t rnd;         /* xorshift state for the backoff's jitter */
    char dead_path[HX_CFG_STR + 48];
};

static uint32_t next_rnd(hx_webhook *w)
{
    w->rnd ^= w->rnd << 13;
    w->rnd ^= w->rnd >> 7;
    w->rnd ^= w->rnd << 17;
    return (uint32_t)(w->rnd >> 32);
}

/* A store that fails fails at every tick: one log line per STORE_ERROR_LOG_MS, each counted. */
static void store_error(hx_webhook *w, const char *op)
{
    int64_t mono = hx_mono_ms();
    hx_metrics_inc(&w->srv->metrics, HX_M_STORE_ERRORS_TOTAL);
    if (w->store_err_ms && mono - w->store_err_ms < STORE_ERROR_LOG_MS) return;
    w->store_err_ms = mono;
    hx_log(&w->srv->log, HX_LOG_ERROR, "store.error", "op", op, "what", "webhook", "error",
           hx_store_errmsg(w->srv->store), NULL);
}

static void count(hx_webhook *w, const char *name, const char *help, double v)
{
    hx_metrics_add(&w->srv->metrics, name, help, NULL, NULL, v);
}

/* The cursor to the store when it moved: at once when asked (start, stop), else at most once a
 * second while a backlog drains and once caught up (the queue empty) at most every
 * CURSOR_IDLE_MS, so a kill -9 posts again only what the last moments delivered. */
static void write_cursor(hx_webhook *w, bool now)
{
    int64_t c = hx__whq_cursor(&w->q), mono = hx_mono_ms();
    int64_t every = w->q.n ? CURSOR_EVERY_MS : CURSOR_IDLE_MS;
    if (c == w->stored_id || (!now && mono - w->stored_ms < every)) return;
    char text[96];
    hx_store *st = w->srv->store;
    if (c > 0) w->since_ms = 0;
    if (hx__wh_cursor_write(c, w->since_ms, text, sizeof text) ||
        st->ops->put_state(st, "webhook", "cursor", text, NULL) != HX_STORE_OK) {
        store_error(w, "put_state");
        return; /* tried again at the next tick */
    }
    w->stored_id = c;
    w->stored_ms = mono;
}

/* One event of a read: queued, skipped, or (a gap to wait for) the read stops here. */
static int on_event(void *arg, const hx_event *ev)
{
    hx_webhook *w = arg;
    if (w->wait_gaps && w->q.read_id > 0 && ev->id != w->q.read_id + 1) {
        int64_t mono = hx_mono_ms();
        if (!w->gap_ms) w->gap_ms = mono;
        if (mono - w->gap_ms < GAP_WAIT_MS) return 1;
    }
    w->gap_ms = 0;
    if (!hx_wh_filter_match(&w->filter, ev->kind)) {
        hx__whq_skip(&w->q, ev->id);
        return 0;
    }
    size_t len;
    char *body = hx__wh_body(ev, w->srv->node, &len);
    if (!body || hx__whq_push(&w->q, ev->id, ev->ts_ms, ev->kind, body, len)) {
        free(body);
        return 1; /* out of memory: read again at the next tick */
    }
    return 0;
}

static void read_trail(hx_webhook *w)
{
    size_t room = hx__whq_room(&w->q);
    if (!room) return; /* the trail keeps the rest */
    hx_event_filter f = {.after_id = w->q.read_id,
                         .since_ms = w->q.read_id ? 0 : w->since_ms,
                         .limit = room < READ_MAX ? room : READ_MAX};
    hx_store *st = w->srv->store;
    if (st->ops->query_events(st, &f, on_event, w) < 0) store_error(w, "query_events");
}

static void sent(void *arg, long status, const char *error);
static void set_gauges(hx_webhook *w);

static void send_next(hx_webhook *w)
{
    if (w->stopping || hx__wh_sender_busy(&w->snd)) return;
    const hx_wh_item *it = hx__whq_next(&w->q, hx_mono_ms());
    if (!it) return;
    const hx_config *cfg = &w->srv->cfg;
    char sig[HX_WH_SIG_MAX], h_sig[HX_WH_SIG_MAX + 32], h_id[64], h_kind[96];
    if (hx__wh_sign(cfg->webhook_secret, strlen(cfg->webhook_secret), hx_now_ms() / 1000, it->body,
                    it->len, sig)) {
        sent(w, 0, "signing failed");
        return;
    }
    snprintf(h_sig, sizeof h_sig, "Hearth-Signature: %s", sig);
    snprintf(h_id, sizeof h_id, "Hearth-Event-Id: %" PRId64, it->id);
    snprintf(h_kind, sizeof h_kind, "Hearth-Event: %s", it->kind);
    const char *headers[] = {"Content-Type: application/json",
                             "User-Agent: hearthd/" HX_VERSION,
                             "Expect:", /* no 100-continue round trip */
                             h_sig,
                             h_id,
                             h_kind,
                             NULL};
    w->sent_ms = hx_mono_ms();
    if (hx__wh_sender_post(&w->snd, cfg->webhook_url, headers, it->body, it->len,
                           cfg->webhook_timeout_ms))
        sent(w, 0, "the request could not be made");
}

static void dead_letter(hx_webhook *w, hx_wh_item *it, const char *error)
{
    const hx_config *cfg = &w->srv->cfg;
    char id[24], failures[24];
    snprintf(id, sizeof id, "%" PRId64, it->id);
    snprintf(failures, sizeof failures, "%" PRId64, it->failures);
    int rc = hx__wh_deadletter(w->dead_path, cfg->webhook_dead_letter_max_mb * 1024 * 1024, it,
                               error, hx_now_ms());
    hx_log(&w->srv->log, HX_LOG_ERROR, "webhook.dead_letter", "id", id, "event", it->kind,
           "failures", failures, "error", error, "written",
           rc == 0    ? w->dead_path
           : rc == -2 ? "no: the file is full"
                      : "no: I/O error",
           NULL);
    count(w, HX_M_WEBHOOK_DEAD_LETTERS_TOTAL,
          1);
    free(it->body);
}

/* The head's POST ended: delivered (any 2xx), or failed (no answer, another status). */
static void sent(void *arg, long status, const char *error)
{
    hx_webhook *w = arg;
    int64_t mono = hx_mono_ms();
    hx_wh_outcome o = status >= 200 && status < 300 ? HX_WH_ACCEPTED
                      : status > 0                  ? HX_WH_REFUSED
                                                    : HX_WH_UNREACHABLE;
    hx_wh_item dead;
    const hx_wh_item *head = hx__whq_head(&w->q);
    int64_t id = head ? head->id : 0;
    static const double bounds[] = HX_M_WEBHOOK_BOUNDS;
    hx_metrics_observe(&w->srv->metrics, HX_M_WEBHOOK_REQUEST_SECONDS, bounds,
                       sizeof bounds / sizeof bounds[0], (double)(mono - w->sent_ms) / 1000.0);
    switch (hx__whq_done(&w->q, mono, o, next_rnd(w), &dead)) {
    case HX_WHQ_DELIVERED:
        count(w, HX_M_WEBHOOK_DELIVERED_TOTAL, 1);
        break;
    case HX_WHQ_RETRY: {
        char sid[24], n[24], wait[24];
        snprintf(sid, sizeof sid, "%" PRId64, id);
        snprintf(n, sizeof n, "%" PRId64, w->q.failures);
        snprintf(wait, sizeof wait, "%" PRId64, w->q.retry_at_ms - mono);
        hx_log(&w->srv->log, HX_LOG_WARN, "webhook.failed", "id", sid, "error", error, "failures",
               n, "retry_in_ms", wait, NULL);
        count(w, HX_M_WEBHOOK_FAILED_ATTEMPTS_TOTAL, 1);
        break;
    }
    case HX_WHQ_DEAD:
        count(w, HX_M_WEBHOOK_FAILED_ATTEMPTS_TOTAL, 1);
        dead_letter(w, &dead, error);
        break;
    }
    send_next(w);
    set_gauges(w);
}

static void set_gauges(hx_webhook *w)
{
    const hx_wh_item *head = hx__whq_head(&w->q);
    hx_metrics_set(&w->srv->metrics, HX_M_WEBHOOK_QUEUE_DEPTH, (double)w->q.n);
    double lag = head ? (double)(hx_now_ms() - head->ts_ms) / 1000.0 : 0;
    hx_metrics_set(&w->srv->metrics, HX_M_WEBHOOK_LAG_SECONDS, lag > 0 ? lag : 0);
}

static void on_tick(uv_timer_t *t)
{
    hx_webhook *w = t->data;
    read_trail(w);
    send_next(w);
    write_cursor(w, false);
    set_gauges(w);
}

/* The cursor from the store: where reading starts. A first start (or an unreadable value)
 * starts from now. */
static int load_cursor(hx_webhook *w, char *err, size_t errlen)
{
    hx_store *st = w->srv->store;
    char *text = NULL;
    int64_t after = 0, since = 0;
    int rc = st->ops->get_state(st, "webhook", "cursor", &text);
    if (rc != HX_STORE_OK && rc != HX_STORE_NOTFOUND) {
        snprintf(err, errlen, "reading the webhook cursor: %s", hx_store_errmsg(st));
        return -1;
    }
    if (rc == HX_STORE_OK && hx__wh_cursor_parse(text, strlen(text), &after, &since)) {
        hx_log(&w->srv->log, HX_LOG_ERROR, "webhook.cursor_unreadable", "value", text, "then",
               "posting what happens from now on", NULL);
        rc = HX_STORE_NOTFOUND;
    }
    free(text);
    if (rc == HX_STORE_NOTFOUND) {
        after = 0;
        since = hx_now_ms();
    }
    w->since_ms = after ? 0 : since;
    w->q.read_id = after;
    w->stored_id = -1; /* written at once: a first start's time must outlive a restart */
    write_cursor(w, true);
    if (w->stored_id == after) return 0;
    snprintf(err, errlen, "writing the webhook cursor: %s", hx_store_errmsg(st));
    return -1;
}

static void closed_one(hx_webhook *w)
{
    if (--w->open > 0) return;
    hx__whq_free(&w->q);
    free(w);
}

static void sender_closed(void *arg)
{
    closed_one(arg);
}

static void tick_closed(uv_handle_t *h)
{
    closed_one(h->data);
}

void hx_webhook_stop(hx_webhook *w)
{
    if (!w || w->stopping) return;
    w->stopping = true;
    write_cursor(w, true);
    uv_timer_stop(&w->tick);
    uv_close((uv_handle_t *)&w->tick, tick_closed);
    hx__wh_sender_close(&w->snd, sender_closed);
}

int hx_webhook_start(hx_server *s, hx_webhook **out, char *err, size_t errlen)
{
    const hx_config *cfg = &s->cfg;
    const char *why;
    *out = NULL;
    if (!cfg->webhook_url[0]) return 0;
    hx_webhook *w = calloc(1, sizeof *w);
    if (!w) goto nomem;
    w->srv = s;
    w->wait_gaps = !strcmp(cfg->store_backend, "postgres");
    snprintf(w->dead_path, sizeof w->dead_path, "%s/webhook-dead-letters.jsonl", cfg->data_dir);
    if (hx_wh_filter_parse(&w->filter, cfg->webhook_events, cfg->n_webhook_events, &why)) {
        snprintf(err, errlen, "%s", why);
        free(w);
        return -1;
    }
    hx_wh_policy pol = {cfg->webhook_backoff_ms, cfg->webhook_backoff_max_ms,
                        cfg->webhook_max_attempts, cfg->webhook_max_age_s * 1000};
    if (hx__whq_init(&w->q, (size_t)cfg->webhook_queue_max, &pol, 0)) {
        free(w);
        goto nomem;
    }
    if (RAND_bytes((unsigned char *)&w->rnd, sizeof w->rnd) != 1 || !w->rnd)
        w->rnd = 0x9e3779b97f4a7c15ull;
    if (load_cursor(w, err, errlen)) {
        hx__whq_free(&w->q);
        free(w);
        return -1;
    }
    if (hx__wh_sender_init(&w->snd, s->loop, sent, w)) {
        hx__whq_free(&w->q);
        free(w);
        snprintf(err, errlen, "libcurl or libuv refused the webhook's sender");
        return -1;
    }
    w->open = 1; /* the sender */
    w->tick.data = w;
    if (uv_timer_init(s->loop, &w->tick)) {
        w->stopping = true;
        hx__wh_sender_close(&w->snd, sender_closed); /* frees w once closed */
        snprintf(err, errlen, "libuv refused the webhook's timer");
        return -1;
    }
    w->open = 2;
    uv_timer_start(&w->tick, on_tick, 0, (uint64_t)cfg->webhook_poll_ms);
    /* Every series from the start, at zero. */
    count(w, HX_M_WEBHOOK_DELIVERED_TOTAL, 0);
    count(w, HX_M_WEBHOOK_FAILED_ATTEMPTS_TOTAL, 0);
    count(w, HX_M_WEBHOOK_DEAD_LETTERS_TOTAL,
          0);
    set_gauges(w);
    char cursor[24];
    snprintf(cursor, sizeof cursor, "%" PRId64, w->q.read_id);
    hx_log(&s->log, HX_LOG_INFO, "webhook.started", "url", cfg->webhook_url, "after_id", cursor,
           NULL);
    *out = w;
    return 0;
nomem:
    snprintf(err, errlen, "out of memory");
    return -1;
}
