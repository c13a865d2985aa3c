/*
 * TURN stream connections: accepted on the TCP and TLS listeners, or
 * adopted from another thread (hx_turn_adopt_stream, queued in server.c).
 * Each one is a 5-tuple of its own for the core (conn id = generation <<
 * 32 | slot), framed by turn/stream.h.
 *
 * Bounds: cfg.max_conns connections in all and cfg.max_conns_per_addr per
 * client IP (refused at accept); one partial frame of at most
 * HX_TURN_STREAM_MAX_FRAME bytes being reassembled; two write buffers of
 * HX__TURN_OUT_HALF bytes, one in the kernel's hands and one filling
 * (what does not fit is dropped, as on a full UDP socket). A connection
 * whose write has not finished for HX__TURN_STALL_MS does not read: it is
 * closed, never buffered for. One that has sent no frame within
 * HX__TURN_SILENT_MS is closed too.
 *
 * Closing is deferred to the handle's close callback, which tells the core
 * (its allocation goes, RFC 8656 §3.1) and frees the connection: nothing
 * the core is in the middle of disappears under it.
 */
#include "turn/carrier_internal.h"

#include "common/clock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

hx__turn_conn *hx__turn_conn_get(hx_turn *t, uint64_t id)
{
    uint32_t slot = (uint32_t)id;
    if (slot >= t->cfg.max_conns) return NULL;
    hx__turn_conn *c = t->conns[slot];
    return c && c->client.conn == id ? c : NULL;
}

/* --- per-address counts -------------------------------------------------- */

static size_t ip_count(hx_turn *t, const char *ip)
{
    return (size_t)(uintptr_t)hx_strmap_get(&t->per_ip, ip);
}

static int ip_add(hx_turn *t, const char *ip, int delta)
{
    size_t n = ip_count(t, ip) + (size_t)(intptr_t)delta;
    if (!n) {
        hx_strmap_del(&t->per_ip, ip);
        return 0;
    }
    return hx_strmap_put(&t->per_ip, ip, (void *)(uintptr_t)n, NULL);
}

/* --- writing ------------------------------------------------------------- */

static void start_write(hx__turn_conn *c);

static void on_written(uv_write_t *req, int status)
{
    hx__turn_conn *c = req->data;
    c->out_len[c->inflight] = 0;
    c->inflight = -1;
    if (status < 0) {
        hx__turn_conn_close(c);
        return;
    }
    start_write(c);
}

static void start_write(hx__turn_conn *c)
{
    if (c->inflight >= 0 || c->closing) return;
    int i = c->out_len[0] ? 0 : c->out_len[1] ? 1 : -1;
    if (i < 0) return;
    uv_buf_t b = uv_buf_init((char *)c->out[i], (unsigned)c->out_len[i]);
    c->wreq.data = c;
    if (uv_write(&c->wreq, &c->u.s, &b, 1, on_written) != 0) {
        c->out_len[i] = 0;
        hx__turn_conn_close(c);
        return;
    }
    c->inflight = i;
    c->write_started_ms = c->t->now_ms;
}

size_t hx__turn_conn_room(const hx__turn_conn *c)
{
    return HX__TURN_OUT_HALF - c->out_len[c->inflight == 0 ? 1 : 0];
}

int hx__turn_conn_queue(hx__turn_conn *c, const uint8_t *data, size_t len)
{
    if (c->closing) return -1;
    int fill = c->inflight == 0 ? 1 : 0;
    if (c->out_len[fill] + len > HX__TURN_OUT_HALF) {
        atomic_fetch_add_explicit(&c->t->dropped, 1, memory_order_relaxed);
        return -1;
    }
    memcpy(c->out[fill] + c->out_len[fill], data, len);
    c->out_len[fill] += len;
    start_write(c);
    return 0;
}

/* --- closing ------------------------------------------------------------- */

static void on_closed(uv_handle_t *h)
{
    hx__turn_conn *c = h->data;
    hx_turn *t = c->t;
    if (t->core) hx_turn_core_conn_closed(t->core, &c->client);
    t->conns[c->slot] = NULL;
    t->n_conns--;
    ip_add(t, c->ip, -1);
    atomic_fetch_sub_explicit(&t->connections, 1, memory_order_relaxed);
    if (c->ssl) SSL_free(c->ssl);
    free(c);
}

void hx__turn_conn_close(hx__turn_conn *c)
{
    if (c->closing) return;
    c->closing = true;
    uv_close(&c->u.h, on_closed);
}

/* A connection that never got as far as being counted. */
static void on_refused_closed(uv_handle_t *h)
{
    free(h->data);
}

/* --- reading ------------------------------------------------------------- */

int hx__turn_conn_plain(hx__turn_conn *c, const uint8_t *data, size_t len)
{
    hx_turn *t = c->t;
    while (len && !c->closing) {
        const uint8_t *frame;
        size_t flen;
        long n = hx_turn_stream_feed(&c->rx, data, len, &frame, &flen);
        if (n < 0) return -1; /* neither STUN nor ChannelData, or too big */
        if (frame) {
            c->frames++;
            hx_turn_core_client(t->core, &c->client, frame, flen, t->now_ms);
        }
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    hx__turn_conn *c = h->data;
    *buf = uv_buf_init((char *)c->t->read_chunk, HX__TURN_READ_CHUNK);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    hx__turn_conn *c = s->data;
    hx_turn *t = c->t;
    if (nread == 0 || c->closing) return;
    if (nread < 0) {
        hx__turn_conn_close(c);
        return;
    }
    t->now_ms = hx_mono_ms();
    const uint8_t *p = (const uint8_t *)buf->base;
    int rc =
        c->ssl ? hx__turn_tls_input(c, p, (size_t)nread) : hx__turn_conn_plain(c, p, (size_t)nread);
    hx__turn_flush(t);
    if (rc != 0) hx__turn_conn_close(c);
}

/* --- opening ------------------------------------------------------------- */

static void on_connection(uv_stream_t *server, int status)
{
    hx_turn *t = server->data;
    if (status < 0) return;
    hx__turn_conn_open(t, server, -1, NULL, NULL, 0);
}

int hx__turn_listen(hx_turn *t, uv_tcp_t *h, int port, bool tls, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    int rc = uv_ip4_addr(t->cfg.host, port, (struct sockaddr_in *)&ss);
    if (rc) rc = uv_ip6_addr(t->cfg.host, port, (struct sockaddr_in6 *)&ss);
    if (rc) {
        snprintf(err, errlen, "turn.host: not a numeric address: %s", t->cfg.host);
        return -1;
    }
    uv_tcp_init(&t->loop, h);
    h->data = t;
    if ((rc = uv_tcp_bind(h, (const struct sockaddr *)&ss, 0)) != 0 ||
        (rc = uv_listen((uv_stream_t *)h, 128, on_connection)) != 0) {
        snprintf(err, errlen, "turn %s %s:%d: %s", tls ? "tls" : "tcp", t->cfg.host, port,
                 uv_strerror(rc));
        uv_close((uv_handle_t *)h, NULL);
        return -1;
    }
    struct sockaddr_storage bound;
    int len = sizeof bound;
    uv_tcp_getsockname(h, (struct sockaddr *)&bound, &len);
    t->ports[tls ? HX_TURN_TLS : HX_TURN_TCP] =
        ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                          : ((struct sockaddr_in *)&bound)->sin_port);
    if (tls)
        t->tls_on = true;
    else
        t->tcp_on = true;
    return 0;
}

/* The stream handle of a new connection: accepted, or wrapped around an adopted fd. */
static int open_handle(hx_turn *t, hx__turn_conn *c, uv_stream_t *listener, int fd,
                       struct sockaddr_storage *peer)
{
    if (listener) {
        uv_tcp_init(&t->loop, &c->u.tcp);
        if (uv_accept(listener, &c->u.s) != 0) return -1;
        int len = sizeof *peer;
        if (uv_tcp_getpeername(&c->u.tcp, (struct sockaddr *)peer, &len) != 0) return -1;
        uv_tcp_nodelay(&c->u.tcp, 1);
        return 0;
    }
    struct sockaddr_storage local;
    socklen_t sl = sizeof local;
    if (getsockname(fd, (struct sockaddr *)&local, &sl) == 0 && local.ss_family == AF_UNIX) {
        uv_pipe_init(&t->loop, &c->u.pipe, 0);
        return uv_pipe_open(&c->u.pipe, fd) == 0 ? 0 : -1;
    }
    uv_tcp_init(&t->loop, &c->u.tcp);
    return uv_tcp_open(&c->u.tcp, fd) == 0 ? 0 : -1;
}

static void refuse(hx_turn *t, hx__turn_conn *c, bool handle)
{
    atomic_fetch_add_explicit(&t->refused_connections, 1, memory_order_relaxed);
    if (!handle) {
        free(c);
        return;
    }
    c->u.h.data = c;
    uv_close(&c->u.h, on_refused_closed);
}

void hx__turn_conn_open(hx_turn *t, uv_stream_t *listener, int fd,
                        const struct sockaddr_storage *adopted_peer, const uint8_t *head,
                        size_t len)
{
    hx__turn_conn *c = calloc(1, sizeof *c);
    if (!c) {
        if (fd >= 0) close(fd);
        return;
    }
    struct sockaddr_storage peer;
    memset(&peer, 0, sizeof peer);
    if (adopted_peer) peer = *adopted_peer;
    if (open_handle(t, c, listener, fd, &peer) !=
        0) { /* the handle is initialized, the fd not its own */
        if (fd >= 0) close(fd);
        refuse(t, c, true);
        return;
    }
    const void *ip = peer.ss_family == AF_INET6
                         ? (const void *)&((struct sockaddr_in6 *)&peer)->sin6_addr
                         : (const void *)&((struct sockaddr_in *)&peer)->sin_addr;
    if (!inet_ntop(peer.ss_family, ip, c->ip, sizeof c->ip)) snprintf(c->ip, sizeof c->ip, "?");
    uint32_t slot = 0;
    while (slot < t->cfg.max_conns && t->conns[slot])
        slot++;
    bool tls = listener == (uv_stream_t *)&t->tls_listen;
    if (slot == t->cfg.max_conns || ip_count(t, c->ip) >= t->cfg.max_conns_per_addr ||
        ip_add(t, c->ip, +1) != 0) {
        refuse(t, c, true);
        return;
    }
    c->t = t;
    c->u.h.data = c;
    c->slot = slot;
    c->inflight = -1;
    c->opened_ms = t->now_ms = hx_mono_ms();
    c->client.proto = tls ? HX_TURN_TLS : HX_TURN_TCP;
    c->client.conn = (uint64_t)++t->conn_gen << 32 | slot;
    c->client.addr = peer;
    hx_turn_stream_init(&c->rx, c->rxbuf, sizeof c->rxbuf);
    t->conns[slot] = c;
    t->n_conns++;
    atomic_fetch_add_explicit(&t->connections, 1, memory_order_relaxed);
    if (tls && !(c->ssl = hx__turn_tls_new(t))) {
        hx__turn_conn_close(c);
        return;
    }
    if (len && hx__turn_conn_plain(c, head, len) != 0) {
        hx__turn_conn_close(c);
        return;
    }
    hx__turn_flush(t);
    if (uv_read_start(&c->u.s, on_alloc, on_read) != 0) hx__turn_conn_close(c);
}

/* --- time and stop ------------------------------------------------------- */

void hx__turn_conns_tick(hx_turn *t)
{
    for (uint32_t i = 0; i < t->cfg.max_conns; i++) {
        hx__turn_conn *c = t->conns[i];
        if (!c || c->closing) continue;
        bool stalled = c->inflight >= 0 && t->now_ms - c->write_started_ms > HX__TURN_STALL_MS;
        bool silent = !c->frames && t->now_ms - c->opened_ms > HX__TURN_SILENT_MS;
        if (stalled || silent) hx__turn_conn_close(c);
    }
}

void hx__turn_conns_stop(hx_turn *t)
{
    for (uint32_t i = 0; t->conns && i < t->cfg.max_conns; i++)
        if (t->conns[i]) hx__turn_conn_close(t->conns[i]);
    if (t->tcp_on) uv_close((uv_handle_t *)&t->tcp_listen, NULL);
    if (t->tls_on) uv_close((uv_handle_t *)&t->tls_listen, NULL);
    t->tcp_on = t->tls_on = false;
}
