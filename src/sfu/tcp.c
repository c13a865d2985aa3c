/*
 * Passive ICE-TCP (RFC 6544) for clients whose UDP is blocked: the worker
 * listens on a TCP port announced as a `tcptype passive` host candidate;
 * each accepted connection carries RFC 4571 frames (2-byte length, then a
 * STUN message, DTLS record or SRTP packet). The first valid check binds the
 * connection to its transport (by the USERNAME's ufrag); from then on every
 * frame goes where a UDP datagram from that transport would, and while the
 * transport's selected pair is this connection its packets are written here,
 * framed, instead of to the UDP socket.
 *
 * Limits: HX__TCP_MAX_CONNS connections per worker, one frame of at most
 * HX_ICE_TCP_MAX_FRAME bytes being reassembled per connection, at most
 * HX__TCP_MAX_QUEUED bytes waiting in the kernel's send path (past it,
 * packets are dropped as on a full UDP socket), and a connection that
 * passes no check within 10 s is closed.
 */
#include "sfu/engine_internal.h"

#include "rtp/demux.h"
#include "ice/tcp_framing.h"
#include "stun/stun.h"

#include <stdlib.h>
#include <string.h>

#define HX__TCP_MAX_CONNS 1024
#define HX__TCP_MAX_QUEUED (512 * 1024)
#define HX__TCP_UNBOUND_MS 10000

struct hx__tcpconn {
    uv_tcp_t h;
    hx__engine *e;
    hx__transport *t; /* bound after the first valid check */
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

void hx__tcp_close(hx__tcpconn *c)
{
    if (c->closing) return;
    c->closing = true;
    if (c->t && c->t->tcp == c) c->t->tcp = NULL;
    hx__engine *e = c->e;
    if (c->prev)
        c->prev->next = c->next;
    else
        e->tcp_conns = c->next;
    if (c->next) c->next->prev = c->prev;
    e->n_tcp--;
    uv_close((uv_handle_t *)&c->h, on_closed);
}

const struct sockaddr_storage *hx__tcp_peer(const hx__tcpconn *c)
{
    return &c->peer;
}

void hx__tcp_unbind(hx__transport *t)
{
    for (hx__tcpconn *c = t->e->tcp_conns; c; c = c->next)
        if (c->t == t) c->t = NULL;
    t->tcp = NULL;
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

/* A STUN frame on a connection: the agent named by USERNAME answers it. */
static void on_stun(hx__tcpconn *c, const uint8_t *f, size_t len)
{
    hx__engine *e = c->e;
    hx_stun_msg m;
    const uint8_t *user;
    size_t ulen;
    if (hx_stun_parse(&m, f, len) != 0 ||
        hx_stun_get_bytes(&m, HX_STUN_ATTR_USERNAME, &user, &ulen) != 0)
        return;
    const uint8_t *colon = memchr(user, ':', ulen);
    hx_ice_agent *a = hx_ice_demux_by_ufrag(&e->demux, user, colon ? (size_t)(colon - user) : ulen);
    if (!a || !a->user || (c->t && a->user != c->t)) return;
    uint8_t out[1024];
    size_t olen = 0;
    int rc = hx_ice_agent_on_msg(a, &m, &c->peer, e->now_ms, out, sizeof out, &olen);
    if ((rc == HX_ICE_RX_VALID || rc == HX_ICE_RX_ERROR) && olen) hx__tcp_send(c, out, olen);
    if (rc != HX_ICE_RX_VALID) return;
    hx__transport *t = a->user;
    c->t = t;
    hx_ice_agent_take_events(a);
    /* Send on this connection while the selected pair (or, before nomination, the last checked one)
     * is it. */
    const struct sockaddr_storage *sel = hx_ice_agent_selected(a);
    if (!sel || hx__addr_equal(sel, &c->peer)) t->tcp = c;
}

static void on_frame(hx__tcpconn *c, uint8_t *f, size_t len)
{
    if (hx_stun_is(f, len)) {
        on_stun(c, f, len);
        return;
    }
    hx__transport *t = c->t;
    if (!t) return; /* media before a valid check: drop */
    if (!hx_bucket_take(&t->rx_bucket, c->e->now_ms)) {
        t->rx_limited++;
        return;
    }
    switch (hx_pkt_classify(f, len)) {
    case HX_PKT_DTLS:
        hx__transport_rx_dtls(t, f, len);
        break;
    case HX_PKT_RTP:
        hx__rx_rtp(t, f, len);
        break;
    case HX_PKT_RTCP:
        hx__rx_rtcp(t, f, len);
        break;
    default:
        break;
    }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    (void)suggested;
    /* One buffer for the worker: on_read consumes it before the next read. */
    *b = uv_buf_init((char *)((hx__tcpconn *)h->data)->e->tcp_rx, HX__TCP_CHUNK);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    hx__tcpconn *c = s->data;
    if (n < 0) {
        hx__tcp_close(c);
        return;
    }
    c->e->now_ms = hx__now_ms(c->e);
    const uint8_t *p = (const uint8_t *)b->base;
    size_t left = (size_t)n;
    while (left && !c->closing) {
        const uint8_t *frame = NULL;
        size_t flen = 0;
        long used = hx_ice_tcp_rx_feed(&c->rx, p, left, &frame, &flen);
        if (used < 0) { /* a frame over the cap: not ICE-TCP */
            hx__tcp_close(c);
            return;
        }
        p += used;
        left -= (size_t)used;
        if (frame) on_frame(c, (uint8_t *)frame, flen);
    }
    hx_udp_flush(c->e->udp); /* what the frames made a transport send over UDP */
}

static void on_connection(uv_stream_t *server, int status)
{
    hx__engine *e = server->data;
    if (status < 0) return;
    hx__tcpconn *c = calloc(1, sizeof *c);
    if (!c) return;
    uv_tcp_init(&e->loop, &c->h);
    c->h.data = c;
    c->e = e;
    if (uv_accept(server, (uv_stream_t *)&c->h) != 0 || e->n_tcp >= HX__TCP_MAX_CONNS) {
        uv_close((uv_handle_t *)&c->h, on_closed);
        return;
    }
    int len = sizeof c->peer;
    uv_tcp_getpeername(&c->h, (struct sockaddr *)&c->peer, &len);
    uv_tcp_nodelay(&c->h, 1);
    hx_ice_tcp_rx_init(&c->rx, c->buf, sizeof c->buf);
    c->opened_ms = hx__now_ms(e);
    c->next = e->tcp_conns;
    if (e->tcp_conns) e->tcp_conns->prev = c;
    e->tcp_conns = c;
    e->n_tcp++;
    uv_read_start((uv_stream_t *)&c->h, on_alloc, on_read);
}

int hx__tcp_listen(hx__engine *e, const char *host, int port, char *err, size_t errlen)
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

void hx__tcp_tick(hx__engine *e)
{
    for (hx__tcpconn *c = e->tcp_conns, *next; c; c = next) {
        next = c->next;
        if (!c->t && e->now_ms - c->opened_ms > HX__TCP_UNBOUND_MS) hx__tcp_close(c);
    }
}

void hx__tcp_stop(hx__engine *e)
{
    while (e->tcp_conns)
        hx__tcp_close(e->tcp_conns);
    if (e->tcp_listening) uv_close((uv_handle_t *)&e->tcp, NULL);
    e->tcp_listening = false;
}
