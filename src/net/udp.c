/*
 * recvmmsg / sendmmsg batching behind net/udp.h. One allocation holds the
 * whole object: the receive buffers, the send slots and their mmsghdr/iovec
 * arrays, set up once so the per-packet path only fills in lengths and
 * addresses.
 */
#define _GNU_SOURCE
#include "net/udp.h"

#include "common/invariant.h"
#include "net/addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct hx_udp {
    int fd;
    int port;
    struct sockaddr_storage local;
    hx_udp_counters c;

    struct mmsghdr rmsg[HX_UDP_BATCH];
    struct iovec riov[HX_UDP_BATCH];
    hx_udp_pkt rpkt[HX_UDP_BATCH];
    uint8_t rbuf[HX_UDP_BATCH][HX_UDP_MTU];

    size_t nq;     /* committed slots */
    int slot_open; /* hx_udp_slot handed out slot nq, not yet committed */
    struct mmsghdr smsg[HX_UDP_QUEUE];
    struct iovec siov[HX_UDP_QUEUE];
    struct sockaddr_storage sto[HX_UDP_QUEUE];
    uint8_t sbuf[HX_UDP_QUEUE][HX_UDP_MTU];
};

int hx_udp_open(const char *host, int port, hx_udp **out, char *err, size_t errlen)
{
    *out = NULL;
    struct sockaddr_storage ss;
    socklen_t sl;
    if (port < 0 || port > 65535 || hx_addr_from_ip(host, port, &ss, &sl) != 0) {
        snprintf(err, errlen, "not a numeric address and port: %s:%d", host, port);
        return -EINVAL;
    }
    hx_udp *u = calloc(1, sizeof *u);
    if (!u) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    int rc;
    u->fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (u->fd < 0) goto fail;
    int bufsz = 4 << 20;
    if (ss.ss_family == AF_INET6) {
        /* "::" serves IPv4 too (as mapped addresses); a specific IPv6 address only itself. */
        int v6only = !IN6_IS_ADDR_UNSPECIFIED(&((struct sockaddr_in6 *)&ss)->sin6_addr);
        setsockopt(u->fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only);
    }
    /* Bursts of a keyframe to many subscribers: ask for deep socket buffers. */
    setsockopt(u->fd, SOL_SOCKET, SO_RCVBUF, &bufsz, sizeof bufsz);
    setsockopt(u->fd, SOL_SOCKET, SO_SNDBUF, &bufsz, sizeof bufsz);
    if (bind(u->fd, (struct sockaddr *)&ss, sl) != 0) goto fail;
    sl = sizeof u->local;
    if (getsockname(u->fd, (struct sockaddr *)&u->local, &sl) != 0) goto fail;
    u->port = ntohs(u->local.ss_family == AF_INET ? ((struct sockaddr_in *)&u->local)->sin_port
                                                  : ((struct sockaddr_in6 *)&u->local)->sin6_port);
    for (int i = 0; i < HX_UDP_BATCH; i++) {
        u->riov[i] = (struct iovec){u->rbuf[i], HX_UDP_MTU};
        u->rpkt[i].data = u->rbuf[i];
    }
    for (int i = 0; i < HX_UDP_QUEUE; i++) {
        u->siov[i].iov_base = u->sbuf[i];
        u->smsg[i].msg_hdr.msg_iov = &u->siov[i];
        u->smsg[i].msg_hdr.msg_iovlen = 1;
        u->smsg[i].msg_hdr.msg_name = &u->sto[i];
    }
    *out = u;
    return 0;
fail:
    rc = -errno;
    snprintf(err, errlen, "udp %s:%d: %s", host, port, strerror(errno));
    if (u->fd >= 0) close(u->fd);
    free(u);
    return rc;
}

void hx_udp_close(hx_udp *u)
{
    if (!u) return;
    hx_udp_flush(u);
    close(u->fd);
    free(u);
}

int hx_udp_fd(const hx_udp *u)
{
    return u->fd;
}

int hx_udp_port(const hx_udp *u)
{
    return u->port;
}

const struct sockaddr_storage *hx_udp_local(const hx_udp *u)
{
    return &u->local;
}

int hx_udp_recv(hx_udp *u, hx_udp_pkt **pkts)
{
    for (int i = 0; i < HX_UDP_BATCH; i++) {
        struct msghdr *h = &u->rmsg[i].msg_hdr;
        memset(h, 0, sizeof *h);
        h->msg_iov = &u->riov[i];
        h->msg_iovlen = 1;
        h->msg_name = &u->rpkt[i].from;
        h->msg_namelen = sizeof u->rpkt[i].from;
    }
    int n;
    do
        n = recvmmsg(u->fd, u->rmsg, HX_UDP_BATCH, MSG_DONTWAIT, NULL);
    while (n < 0 && errno == EINTR);
    if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
    for (int i = 0; i < n; i++) {
        u->rpkt[i].len = u->rmsg[i].msg_len;
        u->rpkt[i].fromlen = u->rmsg[i].msg_hdr.msg_namelen;
        if (u->rmsg[i].msg_hdr.msg_flags & MSG_TRUNC) u->c.rx_truncated++;
        u->c.rx_bytes += u->rmsg[i].msg_len;
    }
    u->c.rx_packets += (uint64_t)n;
    u->c.rx_batches++;
    *pkts = u->rpkt;
    return n;
}

uint8_t *hx_udp_slot(hx_udp *u)
{
    if (u->nq == HX_UDP_QUEUE) hx_udp_flush(u);
    u->slot_open = 1;
    return u->sbuf[u->nq];
}

void hx_udp_commit(hx_udp *u, size_t len, const struct sockaddr *to, socklen_t tolen)
{
    /* A slot is handed out first, and what goes into it fits it and its address slot. */
    if (HX_NEVER(!u->slot_open || len == 0 || len > HX_UDP_MTU || tolen > sizeof u->sto[0])) {
        u->slot_open = 0;
        u->c.tx_dropped++;
        return;
    }
    u->slot_open = 0;
    size_t i = u->nq++;
    memcpy(&u->sto[i], to, tolen);
    u->smsg[i].msg_hdr.msg_namelen = tolen;
    u->siov[i].iov_len = len;
}

void hx_udp_release(hx_udp *u)
{
    u->slot_open = 0;
}

int hx_udp_send(hx_udp *u, const uint8_t *buf, size_t len, const struct sockaddr *to,
                socklen_t tolen)
{
    if (len > HX_UDP_MTU) {
        u->c.tx_dropped++;
        return -EMSGSIZE;
    }
    uint8_t *s = hx_udp_slot(u);
    memcpy(s, buf, len);
    hx_udp_commit(u, len, to, tolen);
    return 0;
}

void hx_udp_flush(hx_udp *u)
{
    size_t off = 0;
    while (off < u->nq) {
        int n = sendmmsg(u->fd, u->smsg + off, (unsigned)(u->nq - off), MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR) continue;
            /* EAGAIN (socket buffer full) or a per-destination error: drop
             * the head packet and go on; media is loss-tolerant, RTX repairs. */
            u->c.tx_dropped++;
            off++;
            continue;
        }
        for (int i = 0; i < n; i++)
            u->c.tx_bytes += u->siov[off + (size_t)i].iov_len;
        u->c.tx_packets += (uint64_t)n;
        u->c.tx_batches++;
        off += (size_t)n;
    }
    u->nq = 0;
}

size_t hx_udp_queued(const hx_udp *u)
{
    return u->nq;
}

const hx_udp_counters *hx_udp_stats(const hx_udp *u)
{
    return &u->c;
}
