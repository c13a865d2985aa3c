/*
 * The webhook's parts, each testable alone (tests/webhook/):
 *
 *   sign.c     the Hearth-Signature header: HMAC-SHA256 over "<t>.<body>"
 *   body.c     an audit record as the JSON body posted
 *   cursor.c   the delivery cursor as the state table keeps it
 *   backoff.c  when a failed POST is tried again
 *   queue.c    the queue's state machine: what to send next, what a result
 *              does (delivered, again later, dead-lettered), the cursor it
 *              implies; driven by calls with the time, no sockets
 *   sender.c   one POST at a time through libcurl's multi socket API on the
 *              libuv loop (uv_poll per socket, one uv_timer)
 *   deadletter.c  the dead-letter log, JSON lines in the data dir
 *   webhook.c  the service: the store read on a timer, the queue, the
 *              sender, the cursor written back, the metrics
 */
#ifndef HX_WEBHOOK_WEBHOOK_INTERNAL_H
#define HX_WEBHOOK_WEBHOOK_INTERNAL_H

#include "store/store.h"
#include "webhook/webhook.h"

#include <uv.h>

/* "t=" + at most 20 digits + ",v1=" + 64 hex digits + NUL */
#define HX_WH_SIG_MAX 96
/* A body longer than this is posted without its detail ("detail_truncated": true). */
#define HX_WH_BODY_MAX (64 * 1024)

/** Write "t=<t>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>" into out. 0 or -1. */
int hx__wh_sign(const char *secret, size_t secret_len, int64_t t, const char *body, size_t body_len,
                char out[HX_WH_SIG_MAX]);

/** The JSON body for an audit record (malloc'd, *len set; NULL when out of memory):
 *  {"id", "event", "created_at", "created_at_ms", "room", "user", "device", "sid", "code",
 *  "detail", "node"}, absent fields left out, detail as the object it holds. node may be
 *  NULL or "". At most HX_WH_BODY_MAX bytes. */
char *hx__wh_body(const hx_event *ev, const char *node, size_t *len);

/** The cursor's stored text: {"after_id": N} once an event was passed, or
 *  {"after_id": 0, "since_ms": M} before (a first start posts what happens from then on). */
int hx__wh_cursor_write(int64_t after_id, int64_t since_ms, char *out, size_t cap);
/** Parse it back. 0, or -1 (a bad value: the caller starts afresh and says so). */
int hx__wh_cursor_parse(const char *text, size_t len, int64_t *after_id, int64_t *since_ms);

/** Retry timings. */
typedef struct hx_wh_policy {
    int64_t backoff_ms;     /* the first retry waits about this */
    int64_t backoff_max_ms; /* no wait is longer */
    int64_t max_attempts;   /* an event refused this often goes to the dead-letter log */
    int64_t max_age_ms;     /* ... and one that fails when older than this (0: no limit) */
} hx_wh_policy;

/** The wait before attempt n+1 after n failures (n >= 1): backoff_ms * 2^(n-1) capped at
 *  backoff_max_ms, then "equal jitter": half of it fixed and half spread by rnd. */
int64_t hx__wh_backoff_ms(const hx_wh_policy *p, int64_t failures, uint32_t rnd);

/** One event read from the trail, waiting to be posted. */
typedef struct hx_wh_item {
    int64_t id, ts_ms;
    char kind[48];
    char *body; /* owned */
    size_t len;
    int64_t failures; /* set in the copy HX_WHQ_DEAD hands over */
} hx_wh_item;

typedef enum hx_whq_state {
    HX_WHQ_READY = 0, /* the head (if any) may be sent now */
    HX_WHQ_SENDING,   /* the head is in flight */
    HX_WHQ_BACKOFF,   /* the head waits until retry_at_ms */
} hx_whq_state;

/** How a POST ended. */
typedef enum hx_wh_outcome {
    HX_WH_ACCEPTED = 0, /* a 2xx */
    HX_WH_REFUSED,      /* another status: the receiver is up and refuses this event */
    HX_WH_UNREACHABLE,  /* no answer (no connection, a timeout): the receiver is down */
} hx_wh_outcome;

typedef enum hx_whq_result {
    HX_WHQ_DELIVERED = 0,
    HX_WHQ_RETRY,
    HX_WHQ_DEAD, /* failed for good: the item was handed to the caller */
} hx_whq_result;

/** A bounded FIFO window over the audit trail, in id order, and its head's retry state. */
typedef struct hx_wh_queue {
    hx_wh_item *items; /* ring of cap */
    size_t cap, head, n;
    hx_wh_policy pol;
    hx_whq_state state;
    int64_t failures;    /* of the head, of either kind: the backoff's step */
    int64_t refusals;    /* of the head: counted against max_attempts */
    int64_t retry_at_ms; /* HX_WHQ_BACKOFF: when */
    int64_t read_id;     /* the last id read from the trail (posted or not wanted) */
} hx_wh_queue;

/** 0, or -1 out of memory. cap >= 1. read_id is where reading starts (the stored cursor). */
int hx__whq_init(hx_wh_queue *q, size_t cap, const hx_wh_policy *pol, int64_t read_id);
void hx__whq_free(hx_wh_queue *q);
/** Free slots. */
size_t hx__whq_room(const hx_wh_queue *q);
/** Take an event read from the trail (its body is then owned by q). 0, or -1 when full or
 *  out of order (id <= read_id): the caller keeps the body. */
int hx__whq_push(hx_wh_queue *q, int64_t id, int64_t ts_ms, const char *kind, char *body,
                 size_t len);
/** An event read that is not posted: reading goes on after it. */
void hx__whq_skip(hx_wh_queue *q, int64_t id);
/** The head when it may be sent at now_ms (the state becomes SENDING), else NULL. */
const hx_wh_item *hx__whq_next(hx_wh_queue *q, int64_t now_ms);
/** The head's POST ended. DELIVERED and DEAD pop it (DEAD moves it into *dead, whose body the
 *  caller frees); RETRY sets the backoff, rnd spreading it. An event is dead once refused
 *  max_attempts times, or on any failure past max_age_ms; a receiver that is down
 *  (UNREACHABLE) makes it wait, however long, within the age limit. */
hx_whq_result hx__whq_done(hx_wh_queue *q, int64_t now_ms, hx_wh_outcome o, uint32_t rnd,
                           hx_wh_item *dead);
/** Every event up to this id is delivered, dead-lettered or not wanted: what to store. */
int64_t hx__whq_cursor(const hx_wh_queue *q);
/** When the head may next be sent: now_ms when ready, retry_at_ms in backoff, -1 when
 *  nothing waits or it is in flight. */
int64_t hx__whq_due_ms(const hx_wh_queue *q, int64_t now_ms);
/** The oldest event not yet passed, or NULL. */
const hx_wh_item *hx__whq_head(const hx_wh_queue *q);

/** The end of one POST: the HTTP status (0 when none came) and curl's reason on failure. */
typedef void (*hx_wh_sent_cb)(void *arg, long status, const char *error);

/** One POST at a time over libcurl's multi socket API, driven by the loop. */
typedef struct hx_wh_sender {
    uv_loop_t *loop;
    void *multi; /* CURLM * */
    void *easy;  /* CURL * in flight, or NULL */
    void *hdrs;  /* its struct curl_slist * */
    char *body;  /* its body (curl reads it in place) */
    uv_timer_t timer;
    struct sock_ctx *socks; /* a uv_poll per socket curl watches */
    int open_handles;       /* the timer and the polls not yet closed */
    bool closing;
    hx_wh_sent_cb cb;
    void *arg;
    void (*closed)(void *arg); /* once every handle is closed */
    char error[256];
} hx_wh_sender;

/** 0, or -1 (curl or uv refused). */
int hx__wh_sender_init(hx_wh_sender *s, uv_loop_t *loop, hx_wh_sent_cb cb, void *arg);
/** POST body (copied) to url with the headers ("Name: value", NULL-terminated), within
 *  timeout_ms. 0, or -1 when one is in flight or curl refused (cb is not called then). */
int hx__wh_sender_post(hx_wh_sender *s, const char *url, const char *const *headers,
                       const char *body, size_t len, int64_t timeout_ms);
bool hx__wh_sender_busy(const hx_wh_sender *s);
/** Abandon what is in flight (cb is not called), close the handles; closed(arg) runs once
 *  they are. */
void hx__wh_sender_close(hx_wh_sender *s, void (*closed)(void *arg));

/** Append one dead-lettered event to path as a JSON line (fsync'd): {"id", "event",
 *  "failures", "error", "dead_at_ms", "body"}. Refused (-2) when the file has reached
 *  max_bytes; -1 on an I/O error. */
int hx__wh_deadletter(const char *path, int64_t max_bytes, const hx_wh_item *it, const char *error,
                      int64_t now_ms);

#endif
