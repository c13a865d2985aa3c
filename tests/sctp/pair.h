/*
 * Test fixture: two hearth SCTP associations in one process, wired back to
 * back through packet queues instead of DTLS. Each side's send callback
 * queues its packets; pair_pump moves them across until both queues are
 * empty (never from inside a send callback, as the module requires), and
 * pair_wait also advances usrsctp's timers and a virtual clock (used by
 * the inbound rate limit) in 10 ms steps. Every event is recorded in the
 * side's log, message bodies included (up to a cap), so tests assert on
 * what each side saw.
 *
 * Header-only so each test program includes it once; static functions.
 */
#ifndef HX_TEST_SCTP_PAIR_H
#define HX_TEST_SCTP_PAIR_H

#include "sctp/sctp.h"

#include <stdlib.h>
#include <string.h>

#define PQ_SLOTS 2048
#define PQ_MTU 1500
#define LOG_MAX 256

typedef struct pq {
    uint8_t (*pkt)[PQ_MTU];
    uint16_t len[PQ_SLOTS];
    unsigned head, tail;
    unsigned dropped;
} pq;

typedef struct logged {
    hx_sctp_event ev;
    uint8_t *data; /* copy of the message body or of the label */
    uint8_t *proto;
} logged;

typedef struct side {
    struct pair *pair;
    hx_sctp_assoc *a;
    pq out;
    logged log[LOG_MAX];
    unsigned n_log;
} side;

typedef struct pair {
    hx_sctp_stack *stack;
    side s[2]; /* s[0] DTLS client (even ids), s[1] server (odd ids) */
    int64_t now_ms;
} pair;

static int pq_push(pq *q, const uint8_t *buf, size_t len)
{
    if (len > PQ_MTU || q->tail - q->head == PQ_SLOTS) {
        q->dropped++;
        return -1;
    }
    memcpy(q->pkt[q->tail % PQ_SLOTS], buf, len);
    q->len[q->tail % PQ_SLOTS] = (uint16_t)len;
    q->tail++;
    return 0;
}

static int side_send(void *ud, const uint8_t *buf, size_t len)
{
    side *sd = ud;
    return pq_push(&sd->out, buf, len);
}

static void side_event(void *ud, hx_sctp_assoc *a, const hx_sctp_event *ev)
{
    side *sd = ud;
    (void)a;
    if (sd->n_log == LOG_MAX) return;
    logged *l = &sd->log[sd->n_log++];
    l->ev = *ev;
    l->data = l->proto = NULL;
    if (ev->type == HX_SCTP_EV_MESSAGE && ev->len) {
        l->data = malloc(ev->len);
        memcpy(l->data, ev->data, ev->len);
    } else if (ev->type == HX_SCTP_EV_CHANNEL_OPEN && ev->info->label_len) {
        l->data = malloc(ev->info->label_len);
        memcpy(l->data, ev->info->label, ev->info->label_len);
    }
    if (ev->type == HX_SCTP_EV_CHANNEL_OPEN && ev->info->protocol_len) {
        l->proto = malloc(ev->info->protocol_len);
        memcpy(l->proto, ev->info->protocol, ev->info->protocol_len);
    }
    l->ev.data = l->data;
    l->ev.info = NULL;
}

static int64_t side_now(void *ud)
{
    return ((side *)ud)->pair->now_ms;
}

static void log_clear(side *sd)
{
    for (unsigned i = 0; i < sd->n_log; i++) {
        free(sd->log[i].data);
        free(sd->log[i].proto);
    }
    sd->n_log = 0;
}

/* Count logged events of a type (and sid, when sid >= 0). */
static unsigned log_count(const side *sd, hx_sctp_event_type t, int sid)
{
    unsigned n = 0;
    for (unsigned i = 0; i < sd->n_log; i++)
        if (sd->log[i].ev.type == t && (sid < 0 || sd->log[i].ev.sid == sid)) n++;
    return n;
}

/* The k-th logged event of a type, or NULL. */
static const logged *log_find(const side *sd, hx_sctp_event_type t, unsigned k)
{
    for (unsigned i = 0; i < sd->n_log; i++)
        if (sd->log[i].ev.type == t && k-- == 0) return &sd->log[i];
    return NULL;
}

static hx_sctp_config pair_config(side *sd, bool client)
{
    hx_sctp_config c = {
        .dtls_client = client,
        .now_ms = side_now,
        .send = side_send,
        .on_event = side_event,
        .ud = sd,
    };
    return c;
}

/* Move queued packets across until both queues are empty. */
static void pair_pump(pair *p)
{
    uint8_t buf[PQ_MTU];
    for (int guard = 0; guard < 1000000; guard++) {
        int moved = 0;
        for (int i = 0; i < 2; i++) {
            pq *q = &p->s[i].out;
            if (q->head == q->tail) continue;
            size_t len = q->len[q->head % PQ_SLOTS];
            memcpy(buf, q->pkt[q->head % PQ_SLOTS], len);
            q->head++;
            if (p->s[1 - i].a) hx_sctp_assoc_input(p->s[1 - i].a, buf, len);
            moved = 1;
        }
        if (!moved) return;
    }
}

/* Pump and tick until cond(p) holds or timeout_ms of virtual time pass. */
static int pair_wait(pair *p, int (*cond)(pair *), int timeout_ms)
{
    for (int t = 0; t <= timeout_ms; t += 10) {
        pair_pump(p);
        if (cond(p)) return 1;
        hx_sctp_stack_tick(p->stack, 10);
        p->now_ms += 10;
    }
    return cond(p);
}

/* Create both sides with the given configs (NULL: defaults); does not connect. */
static int pair_init(pair *p, hx_sctp_stack *stack, const hx_sctp_config *c0,
                     const hx_sctp_config *c1)
{
    memset(p, 0, sizeof *p);
    p->stack = stack;
    p->now_ms = 1000;
    for (int i = 0; i < 2; i++) {
        side *sd = &p->s[i];
        sd->pair = p;
        sd->out.pkt = malloc(sizeof(*sd->out.pkt) * PQ_SLOTS);
        hx_sctp_config c = pair_config(sd, i == 0);
        const hx_sctp_config *given = i == 0 ? c0 : c1;
        if (given) {
            c = *given;
            c.now_ms = side_now;
            c.send = side_send;
            c.on_event = side_event;
            c.ud = sd;
        }
        int rc = hx_sctp_assoc_create(stack, &c, &sd->a);
        if (rc) return rc;
    }
    return 0;
}

static int both_up(pair *p)
{
    return hx_sctp_assoc_is_up(p->s[0].a) && hx_sctp_assoc_is_up(p->s[1].a);
}

static void pair_free(pair *p)
{
    for (int i = 0; i < 2; i++) {
        hx_sctp_assoc_destroy(p->s[i].a);
        p->s[i].a = NULL;
    }
    pair_pump(p); /* the ABORTs go nowhere now */
    for (int i = 0; i < 2; i++) {
        log_clear(&p->s[i]);
        free(p->s[i].out.pkt);
    }
}

#endif
