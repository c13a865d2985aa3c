/*
 * One direction of the engine boundary: byte messages (sfu.h) from any
 * thread to a consumer's libuv loop. The producer copies a message in
 * (hx_sfu_pipe_send, safe from any thread); the consumer's loop wakes on a
 * uv_async and delivers every queued message, in order, to its callback.
 *
 * The queue is bounded in bytes: a send over the bound is refused (-1), so
 * a stalled consumer never grows memory without limit and the sender can
 * answer its client with an error instead of losing the command silently.
 * The mutex guards only the queue's head and tail, on the control path;
 * no media packet ever crosses a pipe.
 *
 * Today the control plane and the media worker threads are in one process
 * and a pipe is this queue; a worker process later puts a socketpair
 * behind the same two calls.
 */
#ifndef HX_SFU_PIPE_H
#define HX_SFU_PIPE_H

#include "sfu/sfu.h"

#include <pthread.h>
#include <stddef.h>
#include <uv.h>

typedef struct hx_sfu_pipe_item hx_sfu_pipe_item;

typedef struct hx_sfu_pipe {
    uv_async_t async; /* on the consumer's loop */
    pthread_mutex_t lock;
    hx_sfu_pipe_item *head, *tail;
    size_t queued_bytes, max_bytes;
    hx_sfu_deliver_fn deliver;
    void *ctx;
    int closing;
    void (*on_closed)(struct hx_sfu_pipe *p);
} hx_sfu_pipe;

/** Set up on the consumer's loop. 0, or a negative libuv error. */
int hx_sfu_pipe_init(hx_sfu_pipe *p, uv_loop_t *consumer, size_t max_bytes,
                     hx_sfu_deliver_fn deliver, void *ctx);
/** Queue a copy of msg (any thread). 0, or -1 when the pipe is full, closing or out of memory. */
int hx_sfu_pipe_send(hx_sfu_pipe *p, const uint8_t *msg, size_t len);
/** Deliver what is queued now (the consumer's thread); the async callback does this by itself. */
void hx_sfu_pipe_drain(hx_sfu_pipe *p);
/**
 * Close from the consumer's thread: queued messages are dropped, the
 * handle is closed, and on_closed (may be NULL) runs from its close callback.
 */
void hx_sfu_pipe_close(hx_sfu_pipe *p, void (*on_closed)(hx_sfu_pipe *p));

#endif
