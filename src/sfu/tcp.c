/*
 * Passive ICE-TCP (RFC 6544) for clients whose UDP is blocked: the worker
 * listens on a TCP port announced as a `tcptype passive` host candidate;
 * each accepted connection carries RFC 4571 frames (2-byte length, then a
 * STUN message, DTLS record or SRTP packet), which go to the engine core
 * one by one (core.h: hx_engine_core_rx with the connection as the path).
 * The core binds a connection to its transport at the first valid check
 * (the binding is kept here, opaque) and sends on it while the
 * transport's selected pair is this connection.
 *
 * Limits: HX__TCP_MAX_CONNS connections per worker, one frame of at most
 * HX_ICE_TCP_MAX_FRAME bytes being reassembled per connection, at most
 * HX__TCP_MAX_QUEUED bytes waiting in the kernel's send path (past it,
 * packets are dropped as on a full UDP socket), and a connection that
 * passes no check within 10 s is closed.
 */
#include "sfu/carrier_internal.h"

#include "common/clock.h"
#include "ice/tcp_framing.h"

#include <stdlib.h>
#include <string.h>

#define HX__TCP_MAX_CONNS 1024
#define HX__TCP_MAX_QUEUED (512 * 1024)
#define HX__TCP_UNBOUND_MS 10000

struct hx__tcpconn {
    uv_tcp_t h;
    hx__worker *w;
    void *bound; /* the core's binding (its transport), NULL before a valid check */
    struct sockaddr_storage peer;
    hx_ice_tcp_rx rx;
    int64_t opened_ms;
    size_t queued;
    bool closing;
    hx__tcpconn *next, *prev;
    uint8_t buf[HX_ICE_TCP_MAX_FRAME];
};

typedef struct write_req {
    uv_write_t req;
    hx__tcpconn *c;
    size_t len;
    uint8_t data[];
} write_req;

static void on_closed(uv_handle_t *h)
{
    free(h->data);
}

static void conn_close(hx__tcpconn *c)
{
    if (c->closing) return;
    c->closing = true;
    hx__worker *w = c->w;
    if (c->bound && w->core) hx_engine_core_conn_closed(w->core, c, c->bound, hx_mono_ms());
    if (c->prev)
        c->prev->next = c->next;
    else
        w->tcp_conns = c->next;
    if (c->next) c->next->prev = c->prev;
    w->n_tcp--;
    uv_close((uv_handle_t *)&c->h, on_closed);
}

void hx__tcp_unbind(hx__worker *w, void *bound)
{
    for (hx__tcpconn *c = w->tcp_conns; c; c = c->next)
        if (c->bound == bound) c->bound = NULL;
}

static void on_written(uv_write_t *req, int status)
{
    write_req *w = (write_req *)req;
    (void)status;
    w->c->queued -= w->len;
    free(w);
}

int hx__tcp_send(hx__tcpconn *c, const uint8_t *buf, size_t len)
{
    if (c->closing || len > HX_ICE_TCP_MAX_FRAME || c->queued + len + 2 > HX__TCP_MAX_QUEUED)
        return -1;
    uint8_t frame[2 + HX_UDP_MTU];
    long n = len + 2 <= sizeof frame ? hx_ice_tcp_encode(frame, sizeof frame, buf, len) : -1;
    if (n < 0) return -1;
    uv_buf_t b = uv_buf_init((char *)frame, (unsigned)n);
    int done = c->queued ? 0 : uv_try_write((uv_stream_t *)&c->h, &b, 1);
    if (done == n) return 0;
    if (done < 0) done = 0;
    /* The kernel took part of it: queue the rest, in order, within the bound. */
    write_req *w = malloc(sizeof *w + (size_t)(n - done));
    if (!w) return -1;
    w->c = c;
    w->len = (size_t)(n - done);
    memcpy(w->data, frame + done, w->len);
    b = uv_buf_init((char *)w->data, (unsigned)w->len);
    if (uv_write(&w->req, (uv_stream_t *)&c->h, &b, 1, on_written) != 0) {
        free(w);
        return -1;
    }
    c->queued += w->len;
    return 0;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    (void)suggested;
    /* One buffer for the worker: on_read consumes it before the next read. */
    *b = uv_buf_init((char *)((hx__tcpconn *)h->data)->w->tcp_rx, HX__TCP_CHUNK);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    hx__tcpconn *c = s->data;
    if (n < 0) {
        conn_close(c);
        return;
    }
    hx__worker *w = c->w;
    int64_t now = hx_mono_ms();
    hx_engine_path from = {.proto = HX_PATH_TCP, .conn = c, .addr = c->peer};
    from.addrlen =
        c->peer.ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
    const uint8_t *p = (const uint8_t *)b->base;
    size_t left = (size_t)n;
    while (left && !c->closing) {
        const uint8_t *frame = NULL;
        size_t flen = 0;
        long used = hx_ice_tcp_rx_feed(&c->rx, p, left, &frame, &flen);
        if (used < 0) { /* a frame over the cap: not ICE-TCP */
            conn_close(c);
            return;
        }
        p += used;
        left -= (size_t)used;
        if (frame) hx_engine_core_rx(w->core, &from, &c->bound, (uint8_t *)frame, flen, now);
    }
    hx_udp_flush(w->udp); /* what the frames made a transport send over UDP */
    hx__worker_follow(w);
}

static void on_connection(uv_stream_t *server, int status)
{
    hx__worker *e = server->data;
    if (status < 0) return;
    hx__tcpconn *c = calloc(1, sizeof *c);
    if (!c) return;
    uv_tcp_init(&e->loop, &c->h);
    c->h.data = c;
    c->w = e;
    if (uv_accept(server, (uv_stream_t *)&c->h) != 0 || e->n_tcp >= HX__TCP_MAX_CONNS) {
        uv_close((uv_handle_t *)&c->h, on_closed);
        return;
    }
    int len = sizeof c->peer;
    uv_tcp_getpeername(&c->h, (struct sockaddr *)&c->peer, &len);
    uv_tcp_nodelay(&c->h, 1);
    hx_ice_tcp_rx_init(&c->rx, c->buf, sizeof c->buf);
    c->opened_ms = hx_mono_ms();
    if (c->opened_ms + HX__TCP_UNBOUND_MS < e->tcp_due)
        e->tcp_due = c->opened_ms + HX__TCP_UNBOUND_MS;
    c->next = e->tcp_conns;
    if (e->tcp_conns) e->tcp_conns->prev = c;
    e->tcp_conns = c;
    e->n_tcp++;
    uv_read_start((uv_stream_t *)&c->h, on_alloc, on_read);
    hx__worker_follow(e);
}

int hx__tcp_listen(hx__worker *e, const char *host, int port, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    if (uv_ip4_addr(host, port, (struct sockaddr_in *)&ss) != 0 &&
        uv_ip6_addr(host, port, (struct sockaddr_in6 *)&ss) != 0) {
        snprintf(err, errlen, "media TCP: not a numeric address: %s", host);
        return -1;
    }
    uv_tcp_init(&e->loop, &e->tcp);
    e->tcp.data = e;
    int rc = uv_tcp_bind(&e->tcp, (const struct sockaddr *)&ss, 0);
    if (!rc) rc = uv_listen((uv_stream_t *)&e->tcp, 128, on_connection);
    if (rc) {
        snprintf(err, errlen, "media TCP %s:%d: %s", host, port, uv_strerror(rc));
        uv_close((uv_handle_t *)&e->tcp, NULL);
        return -1;
    }
    struct sockaddr_storage local;
    int len = sizeof local;
    uv_tcp_getsockname(&e->tcp, (struct sockaddr *)&local, &len);
    e->tcp_port = ntohs(local.ss_family == AF_INET ? ((struct sockaddr_in *)&local)->sin_port
                                                   : ((struct sockaddr_in6 *)&local)->sin6_port);
    e->tcp_listening = true;
    return 0;
}

void hx__tcp_tick(hx__worker *w, int64_t now_ms)
{
    w->tcp_due = INT64_MAX;
    for (hx__tcpconn *c = w->tcp_conns, *next; c; c = next) {
        next = c->next;
        if (c->bound) continue;
        if (now_ms - c->opened_ms >= HX__TCP_UNBOUND_MS)
            conn_close(c);
        else if (c->opened_ms + HX__TCP_UNBOUND_MS < w->tcp_due)
            w->tcp_due = c->opened_ms + HX__TCP_UNBOUND_MS;
    }
}

void hx__tcp_stop(hx__worker *e)
{
    while (e->tcp_conns)
        conn_close(e->tcp_conns);
    if (e->tcp_listening) uv_close((uv_handle_t *)&e->tcp, NULL);
    e->tcp_listening = false;
}
