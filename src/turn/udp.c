/*
 * The TURN server's datagram side: the UDP listener (one hx_udp, batched
 * with recvmmsg/sendmmsg) and one relay socket per allocation and family
 * (also an hx_udp, bound on relay_host, in [min_port, max_port] when a
 * range is set), each polled with uv_poll on the TURN loop.
 *
 * It also implements the core's hx_turn_io: a message to a UDP client is
 * written into a listener slot, to a stream client into a scratch buffer
 * and then queued on its connection (conn.c, tls.c); a datagram to a peer
 * into the relay's own slot. Relays with queued datagrams are remembered
 * (a bounded list) and flushed once per batch, so a burst costs one
 * sendmmsg per relay, and nothing on this path allocates.
 */
#define _GNU_SOURCE
#include "turn/carrier_internal.h"

#include "common/clock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- the listener -------------------------------------------------------- */

static socklen_t sa_len(const struct sockaddr_storage *ss)
{
    return ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

void hx__turn_flush(hx_turn *t)
{
    for (size_t i = 0; i < t->n_dirty; i++) {
        hx_udp_flush(t->dirty[i]->udp);
        t->dirty[i]->dirty = false;
    }
    t->n_dirty = 0;
    if (t->udp) hx_udp_flush(t->udp);
}

static void on_listener(uv_poll_t *h, int status, int events)
{
    hx_turn *t = h->data;
    if (status < 0 || !(events & UV_READABLE)) return;
    t->now_ms = hx_mono_ms();
    for (int rounds = 0; rounds < 8; rounds++) { /* bounded: let the relays and timers run */
        hx_udp_pkt *pkts;
        int n = hx_udp_recv(t->udp, &pkts);
        if (n <= 0) break;
        for (int i = 0; i < n; i++) {
            hx_turn_client c = {.proto = HX_TURN_UDP, .conn = 0};
            memcpy(&c.addr, &pkts[i].from, sizeof c.addr);
            hx_turn_core_client(t->core, &c, pkts[i].data, pkts[i].len, t->now_ms);
        }
        hx__turn_flush(t);
        if (n < HX_UDP_BATCH) break;
    }
}

static void relay_hosts(hx_turn *t)
{
    const char *h = t->cfg.relay_host[0] ? t->cfg.relay_host : t->cfg.host;
    struct in6_addr a6;
    struct in_addr a4;
    t->relay_host[0][0] = t->relay_host[1][0] = '\0';
    if (inet_pton(AF_INET, h, &a4) == 1) {
        snprintf(t->relay_host[0], sizeof t->relay_host[0], "%s", h);
    } else if (inet_pton(AF_INET6, h, &a6) == 1) {
        snprintf(t->relay_host[1], sizeof t->relay_host[1], "%s", h);
        if (IN6_IS_ADDR_UNSPECIFIED(&a6)) /* "::": both families, each on its wildcard */
            snprintf(t->relay_host[0], sizeof t->relay_host[0], "0.0.0.0");
    }
}

int hx__turn_udp_start(hx_turn *t, char *err, size_t errlen)
{
    relay_hosts(t);
    if (!t->relay_host[0][0] && !t->relay_host[1][0]) {
        snprintf(err, errlen, "turn.relay_host: not a numeric address: %s", t->cfg.relay_host);
        return -1;
    }
    if (t->cfg.udp_port < 0) return 0;
    if (hx_udp_open(t->cfg.host, t->cfg.udp_port, &t->udp, err, errlen) != 0) return -1;
    t->ports[HX_TURN_UDP] = hx_udp_port(t->udp);
    uv_poll_init(&t->loop, &t->udp_poll, hx_udp_fd(t->udp));
    t->udp_poll.data = t;
    uv_poll_start(&t->udp_poll, UV_READABLE, on_listener);
    t->udp_on = true;
    return 0;
}

static void on_listener_closed(uv_handle_t *h)
{
    hx_turn *t = h->data;
    hx_udp_close(t->udp);
    t->udp = NULL;
}

void hx__turn_udp_stop(hx_turn *t)
{
    if (!t->udp_on) {
        hx_udp_close(t->udp);
        t->udp = NULL;
        return;
    }
    t->udp_on = false;
    hx__turn_flush(t);
    uv_poll_stop(&t->udp_poll);
    uv_close((uv_handle_t *)&t->udp_poll, on_listener_closed);
}

/* --- relays -------------------------------------------------------------- */

static void on_relay(uv_poll_t *h, int status, int events)
{
    hx__turn_relay *r = h->data;
    hx_turn *t = r->t;
    if (status < 0 || !(events & UV_READABLE)) return;
    t->now_ms = hx_mono_ms();
    for (int rounds = 0; rounds < 4 && !r->closing; rounds++) {
        hx_udp_pkt *pkts;
        int n = hx_udp_recv(r->udp, &pkts);
        if (n <= 0) break;
        for (int i = 0; i < n && !r->closing; i++)
            hx_turn_core_peer(t->core, r->alloc_id, &pkts[i].from, pkts[i].data, pkts[i].len,
                              t->now_ms);
        if (n < HX_UDP_BATCH) break;
    }
    hx__turn_flush(t);
}

static void on_relay_closed(uv_handle_t *h)
{
    hx__turn_relay *r = h->data;
    hx_udp_close(r->udp);
    free(r);
}

/* A relay carries one client's flow: a short send queue keeps an allocation's memory small. */
#define RELAY_QUEUE 32

/* A relay socket on host: in the configured range, else where the kernel puts it. */
static int relay_bind(hx_turn *t, const char *host, bool even, hx_udp **out)
{
    char err[160];
    if (t->cfg.min_port > 0) {
        uint32_t range = (uint32_t)(t->cfg.max_port - t->cfg.min_port + 1);
        uint32_t tries = range < 256 ? range : 256;
        for (uint32_t i = 0; i < tries; i++) {
            int port = t->cfg.min_port + (int)(t->next_port++ % range);
            if (even && (port & 1)) continue;
            int rc = hx_udp_open_queue(host, port, RELAY_QUEUE, out, err, sizeof err);
            if (rc == 0) return 0;
            if (rc != -EADDRINUSE && rc != -EACCES) return rc;
        }
        return -EADDRINUSE;
    }
    for (int i = 0; i < 16; i++) { /* EVEN-PORT: half the kernel's picks are even */
        int rc = hx_udp_open_queue(host, 0, RELAY_QUEUE, out, err, sizeof err);
        if (rc != 0) return rc;
        if (!even || !(hx_udp_port(*out) & 1)) return 0;
        hx_udp_close(*out);
        *out = NULL;
    }
    return -EADDRINUSE;
}

static int relay_open(void *ctx, uint64_t id, int family, bool even, void **out,
                      struct sockaddr_storage *reported)
{
    hx_turn *t = ctx;
    const char *host = t->relay_host[family == AF_INET6 ? 1 : 0];
    if (!host[0] || (family != AF_INET && family != AF_INET6)) return -EAFNOSUPPORT;
    hx__turn_relay *r = calloc(1, sizeof *r);
    if (!r) return -ENOMEM;
    int rc = relay_bind(t, host, even, &r->udp);
    if (rc != 0) {
        free(r);
        return rc;
    }
    r->t = t;
    r->alloc_id = id;
    *reported = *hx_udp_local(r->udp);
    /* turn.announce (a NAT's public address) replaces the bound IP of its family. */
    struct sockaddr_in *a4 = (struct sockaddr_in *)reported;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)reported;
    if (t->cfg.announce[0] && family == AF_INET)
        inet_pton(AF_INET, t->cfg.announce, &a4->sin_addr);
    else if (t->cfg.announce[0])
        inet_pton(AF_INET6, t->cfg.announce, &a6->sin6_addr);
    uv_poll_init(&t->loop, &r->poll, hx_udp_fd(r->udp));
    r->poll.data = r;
    uv_poll_start(&r->poll, UV_READABLE, on_relay);
    *out = r;
    return 0;
}

static void relay_close(void *ctx, void *relay)
{
    hx_turn *t = ctx;
    hx__turn_relay *r = relay;
    if (r->dirty) { /* send what it queued, and forget it */
        hx_udp_flush(r->udp);
        for (size_t i = 0; i < t->n_dirty; i++)
            if (t->dirty[i] == r) {
                t->dirty[i] = t->dirty[--t->n_dirty];
                break;
            }
        r->dirty = false;
    }
    r->closing = true;
    uv_poll_stop(&r->poll);
    uv_close((uv_handle_t *)&r->poll, on_relay_closed);
}

static uint8_t *peer_slot(void *ctx, void *relay, size_t *cap)
{
    hx__turn_relay *r = relay;
    *cap = HX_UDP_MTU;
    return hx_udp_slot(r->udp);
}

static void peer_commit(void *ctx, void *relay, const struct sockaddr_storage *peer, size_t len)
{
    hx_turn *t = ctx;
    hx__turn_relay *r = relay;
    if (!len || !peer) {
        hx_udp_release(r->udp);
        return;
    }
    hx_udp_commit(r->udp, len, (const struct sockaddr *)peer, sa_len(peer));
    if (r->dirty) return;
    if (t->n_dirty == HX__TURN_DIRTY) { /* the list is full: this one goes now */
        hx_udp_flush(r->udp);
        return;
    }
    r->dirty = true;
    t->dirty[t->n_dirty++] = r;
}

/* --- clients ------------------------------------------------------------- */

static uint8_t *client_slot(void *ctx, const hx_turn_client *c, size_t *cap)
{
    hx_turn *t = ctx;
    if (c->proto == HX_TURN_UDP) {
        if (!t->udp) return NULL;
        *cap = HX_UDP_MTU;
        return hx_udp_slot(t->udp);
    }
    hx__turn_conn *conn = hx__turn_conn_get(t, c->conn);
    if (!conn || conn->closing) return NULL;
    *cap = HX_TURN_STREAM_MAX_FRAME;
    return t->scratch;
}

static void client_commit(void *ctx, const hx_turn_client *c, size_t len)
{
    hx_turn *t = ctx;
    if (c->proto == HX_TURN_UDP) {
        if (len)
            hx_udp_commit(t->udp, len, (const struct sockaddr *)&c->addr, sa_len(&c->addr));
        else
            hx_udp_release(t->udp);
        return;
    }
    hx__turn_conn *conn = hx__turn_conn_get(t, c->conn);
    if (!conn || !len) return;
    if (conn->ssl)
        hx__turn_tls_output(conn, t->scratch, len);
    else
        hx__turn_conn_queue(conn, t->scratch, len);
}

void hx__turn_io(hx_turn *t, hx_turn_io *io)
{
    *io = (hx_turn_io){.ctx = t,
                       .client_slot = client_slot,
                       .client_commit = client_commit,
                       .peer_slot = peer_slot,
                       .peer_commit = peer_commit,
                       .relay_open = relay_open,
                       .relay_close = relay_close};
}
