/*
 * The boundary's queue (pipe.h): a singly linked list of copied messages
 * under a mutex, drained by a uv_async on the consumer's loop. Draining
 * takes the whole list at once, so the lock is held for two pointer swaps
 * per wake-up, whatever the number of messages.
 */
#include "sfu/pipe.h"

#include <stdlib.h>
#include <string.h>

struct hx_sfu_pipe_item {
    hx_sfu_pipe_item *next;
    size_t len;
    uint8_t data[];
};

static void on_async(uv_async_t *a)
{
    hx_sfu_pipe_drain(a->data);
}

int hx_sfu_pipe_init(hx_sfu_pipe *p, uv_loop_t *consumer, size_t max_bytes,
                     hx_sfu_deliver_fn deliver, void *ctx)
{
    memset(p, 0, sizeof *p);
    p->max_bytes = max_bytes;
    p->deliver = deliver;
    p->ctx = ctx;
    if (pthread_mutex_init(&p->lock, NULL) != 0) return UV_ENOMEM;
    int rc = uv_async_init(consumer, &p->async, on_async);
    if (rc) {
        pthread_mutex_destroy(&p->lock);
        return rc;
    }
    p->async.data = p;
    return 0;
}

int hx_sfu_pipe_send(hx_sfu_pipe *p, const uint8_t *msg, size_t len)
{
    if (len > HX_SFU_MSG_MAX) return -1;
    hx_sfu_pipe_item *it = malloc(sizeof *it + len);
    if (!it) return -1;
    it->next = NULL;
    it->len = len;
    memcpy(it->data, msg, len);
    pthread_mutex_lock(&p->lock);
    if (p->closing || p->queued_bytes + len > p->max_bytes) {
        pthread_mutex_unlock(&p->lock);
        free(it);
        return -1;
    }
    if (p->tail)
        p->tail->next = it;
    else
        p->head = it;
    p->tail = it;
    p->queued_bytes += len;
    pthread_mutex_unlock(&p->lock);
    uv_async_send(&p->async);
    return 0;
}

static hx_sfu_pipe_item *take_all(hx_sfu_pipe *p)
{
    pthread_mutex_lock(&p->lock);
    hx_sfu_pipe_item *it = p->head;
    p->head = p->tail = NULL;
    p->queued_bytes = 0;
    pthread_mutex_unlock(&p->lock);
    return it;
}

void hx_sfu_pipe_drain(hx_sfu_pipe *p)
{
    hx_sfu_pipe_item *it = take_all(p);
    while (it) {
        hx_sfu_pipe_item *next = it->next;
        if (!p->closing) p->deliver(p->ctx, it->data, it->len);
        free(it);
        it = next;
    }
}

static void on_close(uv_handle_t *h)
{
    hx_sfu_pipe *p = h->data;
    pthread_mutex_destroy(&p->lock);
    if (p->on_closed) p->on_closed(p);
}

void hx_sfu_pipe_close(hx_sfu_pipe *p, void (*on_closed)(hx_sfu_pipe *p))
{
    pthread_mutex_lock(&p->lock);
    p->closing = 1;
    pthread_mutex_unlock(&p->lock);
    for (hx_sfu_pipe_item *it = take_all(p), *next; it; it = next) {
        next = it->next;
        free(it);
    }
    p->on_closed = on_closed;
    uv_close((uv_handle_t *)&p->async, on_close);
}
