/*
 * The media worker's carrier (carrier_internal.h): its own thread and libuv
 * loop, the UDP socket (batched, net/udp.h) and the passive ICE-TCP listener
 * (tcp.c), the two pipes to the control plane, and one timer, all around an
 * engine core (core.h) that does the rest. Commands from the pipe, datagrams
 * from the socket and the timer each become a core call with the time;
 * what the core sends in a loop turn leaves with as few sendmmsg calls as
 * the batch takes.
 */
#define _GNU_SOURCE
#include "sfu/carrier_internal.h"

#include "common/clock.h"
#include "common/invariant.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Send slots (1.5 MiB): a video frame to every subscriber of a big room fits one flush, in
 * long runs per subscriber for UDP GSO (net/udp.h). */
#define SEND_QUEUE 1024

/* --- the core's io ----------------------------------------------------------- */

static uint8_t *io_slot(void *ctx)
{
    hx__worker *w = ctx;
    return w->slot = hx_udp_slot(w->udp);
}

static void io_commit(void *ctx, const hx_engine_path *to, size_t len)
{
    hx__worker *w = ctx;
    if (len && to->proto == HX_PATH_UDP) {
        hx_udp_commit(w->udp, len, (const struct sockaddr *)&to->addr, to->addrlen);
        return;
    }
    /* ICE-TCP: framed on the connection (dropped past its bound); the slot goes back. */
    if (len && to->proto == HX_PATH_TCP && !HX_NEVER(!to->conn))
        hx__tcp_send(to->conn, w->slot, len);
    hx_udp_release(w->udp);
}

static void io_event(void *ctx, const uint8_t *msg, size_t len)
{
    hx__worker *w = ctx;
    /* A full events pipe (64 MiB) means the control plane is stuck: a bug, not load. In
     * production the event is dropped, as there is nothing else to do with it. */
    if (HX_NEVER(hx_sfu_pipe_send(w->events, msg, len) != 0)) return;
}

static void io_unbind(void *ctx, void *transport)
{
    hx__tcp_unbind(ctx, transport);
}

/* --- the loop ----------------------------------------------------------------- */

static void on_timer(uv_timer_t *h)
{
    hx__worker *w = h->data;
    int64_t now = hx_mono_ms();
    w->armed = INT64_MAX; /* it fired */
    if (w->tcp_due <= now) hx__tcp_tick(w, now);
    hx_engine_core_timer(w->core, now);
    hx_udp_flush(w->udp);
    hx__worker_follow(w);
}

/* One timer for everything: nothing due, nothing wakes the worker (an idle room costs ~0). */
void hx__worker_follow(hx__worker *w)
{
    int64_t next = hx_engine_core_next_deadline(w->core);
    if (w->tcp_due < next) next = w->tcp_due;
    if (next == w->armed) return;
    w->armed = next;
    if (next == INT64_MAX) {
        uv_timer_stop(&w->timer);
        return;
    }
    int64_t wait = next - hx_mono_ms();
    uv_timer_start(&w->timer, on_timer, (uint64_t)(wait > 0 ? wait : 0), 0);
}

static void on_command(void *ctx, const uint8_t *msg, size_t len)
{
    hx__worker *w = ctx;
    hx_engine_core_command(w->core, msg, len, hx_mono_ms());
    hx_udp_flush(w->udp);
    hx__worker_follow(w);
}

static void on_readable(uv_poll_t *h, int status, int events)
{
    hx__worker *w = h->data;
    if (status < 0 || !(events & UV_READABLE)) return;
    int64_t now = hx_mono_ms();
    hx_engine_path from = {.proto = HX_PATH_UDP};
    for (int rounds = 0; rounds < 8; rounds++) { /* bounded: let timers and commands run too */
        hx_udp_pkt *pkts;
        int n = hx_udp_recv(w->udp, &pkts);
        if (n <= 0) break;
        for (int i = 0; i < n; i++) {
            from.addr = pkts[i].from;
            from.addrlen = pkts[i].fromlen;
            hx_engine_core_rx(w->core, &from, NULL, pkts[i].data, pkts[i].len, now);
        }
        hx_udp_flush(w->udp);
        /* A short batch emptied the socket: the poll wakes us for more, no empty recvmmsg. */
        if (n < HX_UDP_BATCH) break;
    }
    hx_udp_flush(w->udp);
    hx__worker_follow(w);
}

/* --- start and stop ------------------------------------------------------------ */

static void on_stop(uv_async_t *h)
{
    hx__worker *w = h->data;
    hx_engine_core_shutdown(w->core, hx_mono_ms());
    hx_udp_flush(w->udp);
    hx__tcp_stop(w);
    uv_poll_stop(&w->poll);
    uv_close((uv_handle_t *)&w->poll, NULL);
    uv_close((uv_handle_t *)&w->timer, NULL);
    uv_close((uv_handle_t *)&w->stop_async, NULL);
    hx_sfu_pipe_close(&w->commands, NULL);
}

static void *run(void *arg)
{
    hx__worker *w = arg;
    uv_run(&w->loop, UV_RUN_DEFAULT);
    return NULL;
}

/* The addresses to announce: configured, else the bound one, else every interface's. */
static void announce(hx__worker *e, const struct sockaddr_storage *local)
{
    char addrs[HX_ENGINE_MAX_ANNOUNCE][64];
    size_t n = 0;
    for (size_t i = 0; i < e->cfg.n_announce; i++)
        snprintf(addrs[n++], sizeof addrs[0], "%s", e->cfg.announce[i]);
    bool wildcard = !strcmp(e->cfg.host, "0.0.0.0") || !strcmp(e->cfg.host, "::");
    if (!n && !wildcard) snprintf(addrs[n++], sizeof addrs[0], "%s", e->cfg.host);
    struct ifaddrs *ifs = NULL;
    if (!n && getifaddrs(&ifs) == 0) {
        for (struct ifaddrs *i = ifs; i && n < HX_ENGINE_MAX_ANNOUNCE; i = i->ifa_next) {
            if (!i->ifa_addr || !(i->ifa_flags & IFF_UP) || (i->ifa_flags & IFF_LOOPBACK)) continue;
            /* An IPv6 wildcard socket is dual-stack: it serves both families. */
            int fam = i->ifa_addr->sa_family;
            if (fam != local->ss_family && !(local->ss_family == AF_INET6 && fam == AF_INET))
                continue;
            const void *a = fam == AF_INET
                                ? (const void *)&((struct sockaddr_in *)i->ifa_addr)->sin_addr
                                : (const void *)&((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr;
            if (fam == AF_INET6 && IN6_IS_ADDR_LINKLOCAL((const struct in6_addr *)a)) continue;
            inet_ntop(fam, a, addrs[n], sizeof addrs[0]);
            n++;
        }
        freeifaddrs(ifs);
    }
    e->n_candidates = 0;
    for (size_t i = 0; i < n; i++) {
        struct sockaddr_storage ss;
        memset(&ss, 0, sizeof ss);
        struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
        if (inet_pton(AF_INET, addrs[i], &a4->sin_addr) == 1) {
            a4->sin_family = AF_INET;
            a4->sin_port = htons((uint16_t)e->port);
        } else if (inet_pton(AF_INET6, addrs[i], &a6->sin6_addr) == 1) {
            a6->sin6_family = AF_INET6;
            a6->sin6_port = htons((uint16_t)e->port);
        } else {
            continue;
        }
        hx_ice_candidate c;
        char foundation[24];
        snprintf(foundation, sizeof foundation, "%zu", i + 1);
        if (hx_ice_candidate_host(&c, foundation, HX_ICE_UDP, &ss, (unsigned)(8191 - i)) == 0 &&
            hx_ice_candidate_format(&c, e->candidates[e->n_candidates], sizeof e->candidates[0]) >
                0)
            e->n_candidates++;
        if (!e->tcp_listening) continue;
        /* The passive ICE-TCP candidate on the same address (ranked below UDP by its priority). */
        if (ss.ss_family == AF_INET)
            ((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)e->tcp_port);
        else
            ((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)e->tcp_port);
        snprintf(foundation, sizeof foundation, "%zu", i + 101);
        if (hx_ice_candidate_host(&c, foundation, HX_ICE_TCP, &ss, (unsigned)(8191 - i)) == 0 &&
            hx_ice_candidate_format(&c, e->candidates[e->n_candidates], sizeof e->candidates[0]) >
                0)
            e->n_candidates++;
    }
    for (size_t i = 0; i < e->n_candidates; i++)
        e->candidate_ptrs[i] = e->candidates[i];
}

static void free_pipe(hx_sfu_pipe *p)
{
    free(p);
}

static void worker_free(hx__worker *w)
{
    if (w->loop_ready) { /* a start that failed after the loop was made */
        hx__tcp_stop(w);
        uv_run(&w->loop, UV_RUN_DEFAULT);
        uv_loop_close(&w->loop);
    }
    hx_engine_core_free(w->core, hx_mono_ms());
    hx_udp_close(w->udp);
    free(w->tcp_rx);
    free(w);
}

int hx_engine_start(const hx_engine_config *cfg, uv_loop_t *events_loop, hx_sfu_deliver_fn deliver,
                    void *ctx, hx_engine **out, char *err, size_t errlen)
{
    *out = NULL;
    hx__worker *w = calloc(1, sizeof *w);
    if (!w || !(w->tcp_rx = malloc(HX__TCP_CHUNK))) {
        free(w);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    w->cfg = *cfg;
    w->events_loop = events_loop;
    w->tcp_due = INT64_MAX;
    if (hx_udp_open_queue(cfg->host, cfg->port, SEND_QUEUE, &w->udp, err, errlen) != 0) goto fail;
    w->port = hx_udp_port(w->udp);
    if (uv_loop_init(&w->loop) != 0) {
        snprintf(err, errlen, "uv_loop_init failed");
        goto fail;
    }
    w->loop_ready = true;
    if (cfg->tcp_port >= 0 && hx__tcp_listen(w, cfg->host, cfg->tcp_port, err, errlen) != 0)
        goto fail;
    announce(w, hx_udp_local(w->udp));
    if (!w->n_candidates) {
        snprintf(err, errlen, "no address to announce for media (set media.announce)");
        goto fail;
    }
    hx_engine_io io = {
        .ctx = w, .slot = io_slot, .commit = io_commit, .event = io_event, .unbind = io_unbind};
    if (hx_engine_core_new(cfg, w->candidate_ptrs, w->n_candidates, &io, &w->core, err, errlen))
        goto fail;
    hx_engine_core_set_wall_offset(w->core, hx_now_ms() - hx_mono_ms());
    if (!(w->events = malloc(sizeof *w->events))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    hx_sfu_pipe_init(&w->commands, &w->loop, 64u << 20, on_command, w);
    hx_sfu_pipe_init(w->events, events_loop, 64u << 20, deliver, ctx);
    uv_async_init(&w->loop, &w->stop_async, on_stop);
    w->stop_async.data = w;
    uv_poll_init(&w->loop, &w->poll, hx_udp_fd(w->udp));
    w->poll.data = w;
    uv_poll_start(&w->poll, UV_READABLE, on_readable);
    uv_timer_init(&w->loop, &w->timer);
    w->timer.data = w;
    w->armed = INT64_MAX;
    hx__worker_follow(w);
    if (pthread_create(&w->thread, NULL, run, w) != 0) {
        snprintf(err, errlen, "cannot start the media thread");
        on_stop(&w->stop_async);
        uv_run(&w->loop, UV_RUN_DEFAULT);
        uv_loop_close(&w->loop);
        w->loop_ready = false;
        hx_sfu_pipe_close(w->events, free_pipe);
        goto fail;
    }
    *out = (hx_engine *)w;
    return 0;
fail:
    worker_free(w);
    return -1;
}

int hx_engine_post(void *engine, const uint8_t *msg, size_t len)
{
    return hx_sfu_pipe_send(&((hx__worker *)engine)->commands, msg, len);
}

int hx_engine_port(const hx_engine *engine)
{
    return ((const hx__worker *)engine)->port;
}

int hx_engine_tcp_port(const hx_engine *engine)
{
    const hx__worker *w = (const hx__worker *)engine;
    return w->tcp_listening ? w->tcp_port : -1;
}

void hx_engine_stop(hx_engine *engine)
{
    hx__worker *w = (hx__worker *)engine;
    if (!w) return;
    uv_async_send(&w->stop_async);
    pthread_join(w->thread, NULL);
    uv_loop_close(&w->loop);
    w->loop_ready = false;
    hx_sfu_pipe_close(w->events, free_pipe); /* its handle lives on the control plane's loop */
    worker_free(w);
}
