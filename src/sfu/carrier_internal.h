/*
 * The engine's carrier (engine.c, tcp.c): the worker thread with its libuv
 * loop, the two pipes to the control plane, the UDP socket and the passive
 * ICE-TCP listener, around one engine core (core.h). Everything here is
 * touched by the worker thread only, except what hx_engine_start/stop do
 * before the thread starts and after it is joined.
 */
#ifndef HX_SFU_CARRIER_INTERNAL_H
#define HX_SFU_CARRIER_INTERNAL_H

#include "ice/candidate.h"
#include "net/udp.h"
#include "sfu/core.h"
#include "sfu/pipe.h"

#include <pthread.h>
#include <stdbool.h>
#include <uv.h>

#define HX__TCP_CHUNK (64 * 1024)

typedef struct hx__tcpconn hx__tcpconn;

typedef struct hx__worker {
    hx_engine_config cfg;
    hx_engine_core *core;
    pthread_t thread;
    uv_loop_t loop;
    bool loop_ready;
    uv_loop_t *events_loop;
    hx_sfu_pipe commands; /* on our loop */
    hx_sfu_pipe *events;  /* on the control plane's loop; freed by its close callback */
    uv_async_t stop_async;
    uv_poll_t poll;
    uv_timer_t timer; /* the core's next deadline, and the unbound ICE-TCP connections' */
    int64_t armed;    /* when it is set to fire (INT64_MAX: stopped) */
    int port;

    hx_udp *udp;
    uint8_t *slot; /* the last slot io.slot handed out */
    uv_tcp_t tcp;  /* passive ICE-TCP listener */
    bool tcp_listening;
    int tcp_port;
    hx__tcpconn *tcp_conns;
    size_t n_tcp;
    int64_t tcp_due; /* the earliest an unbound connection times out (INT64_MAX: none) */
    uint8_t *tcp_rx; /* HX__TCP_CHUNK: what one read from an ICE-TCP connection gets */

    char candidates[HX_ENGINE_MAX_ANNOUNCE * 2][HX_ICE_MAX_CANDIDATE_LINE]; /* UDP and TCP */
    const char *candidate_ptrs[HX_ENGINE_MAX_ANNOUNCE * 2];
    size_t n_candidates;
} hx__worker;

/* tcp.c */
int hx__tcp_listen(hx__worker *w, const char *host, int port, char *err, size_t errlen);
/** Frame and write one packet (RFC 4571). 0, or -1 when it cannot go (dropped). */
int hx__tcp_send(hx__tcpconn *c, const uint8_t *buf, size_t len);
/** The core's transport `bound` is gone: no connection is bound to it any more. */
void hx__tcp_unbind(hx__worker *w, void *bound);
/** Close connections that passed no check in time; sets tcp_due to the next such time. */
void hx__tcp_tick(hx__worker *w, int64_t now_ms);
/** Point the timer at the earliest of the core's deadline and tcp_due (after every callback). */
void hx__worker_follow(hx__worker *w);
void hx__tcp_stop(hx__worker *w);

#endif
