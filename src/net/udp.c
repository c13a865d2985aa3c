/*
 * recvmmsg / sendmmsg batching behind net/udp.h. One allocation holds the
 * whole object: the receive buffers, the send slots, the destinations of
 * the queue and the mmsghdr/iovec arrays a flush fills in, so no send or
 * receive allocates.
 *
 * The queue: slot i holds a packet of slen[i] bytes to destination sdst[i],
 * an index into dest[]: each distinct address is copied once per flush,
 * found again through a small open-addressing table (htab, twice the
 * queue, so probes stay short) when its next packet is committed.
 *
 * A flush first sorts the slots by destination, in order of first
 * appearance, with a counting sort (stable: a destination's packets keep
 * their order) into order[], then cuts the sorted queue into messages:
 * with GSO, a run of packets to one destination, all of the first one's
 * length except a shorter last one, at most HX_UDP_GSO_SEGS and
 * HX__UDP_GSO_BYTES in all, becomes one mmsghdr whose iovecs are the slots
 * and whose UDP_SEGMENT cmsg tells the kernel where to cut (the rules of
 * udp_send_skb); anything else is a plain one-datagram message. All of
 * them go in one sendmmsg, or a few when the kernel stops early.
 *
 * When the kernel refuses a GSO message (EIO: the device cannot checksum;
 * EOPNOTSUPP; EINVAL; EMSGSIZE), the messages from it on are cut again with
 * its packets as single datagrams and the send goes on. EIO and EOPNOTSUPP
 * turn GSO off for the socket, and so does EINVAL for a segment small
 * enough to fit any path (HX__UDP_GSO_SAFE). For a larger one EINVAL (older
 * kernels) or EMSGSIZE (newer ones) may only mean "larger than this
 * route's MTU", which a single datagram survives by IP fragmentation and
 * which says nothing about the device, so GSO stays on.
 */
#define _GNU_SOURCE
#include "net/udp.h"

#include "common/invariant.h"
#include "net/addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A GSO message's payload: what fits one IPv4 datagram (65535 - 20 - 8), under IPv6's too. */
#define HX__UDP_GSO_BYTES 65507
/* A segment no path can refuse: IPv6's minimum MTU (1280) less its header and UDP's. */
#define HX__UDP_GSO_SAFE 1232

typedef struct hx__udp_dest {
    struct sockaddr_storage addr;
    socklen_t len;
    uint16_t n;      /* slots queued to it; during a flush, its next place in order[] */
    uint16_t bucket; /* its htab entry, emptied at flush */
} hx__udp_dest;

typedef union hx__udp_ctl {
    char buf[CMSG_SPACE(sizeof(uint16_t))];
    struct cmsghdr align;
} hx__udp_ctl;

struct hx_udp {
    int fd;
    int port;
    int gso_ok; /* the kernel knows UDP_SEGMENT */
    int gso;    /* and flushes use it */
    struct sockaddr_storage local;
    hx_udp_counters c;

    struct mmsghdr rmsg[HX_UDP_BATCH];
    struct iovec riov[HX_UDP_BATCH];
    hx_udp_pkt rpkt[HX_UDP_BATCH];
    uint8_t rbuf[HX_UDP_BATCH][HX_UDP_MTU];

    /* The send queue: `queue` slots, every array below sized at open, in the same allocation. */
    size_t queue;
    size_t htab_mask; /* htab has htab_mask + 1 >= 2 * queue entries (a power of two) */
    size_t nq;        /* committed slots */
    int slot_open;    /* hx_udp_slot handed out slot nq, not yet committed */
    uint16_t *slen;
    uint16_t *sdst;
    size_t ndest;
    hx__udp_dest *dest;
    uint16_t *htab; /* dest index + 1; 0: empty */

    /* Filled in by each flush. */
    uint16_t *order;    /* slots grouped by destination */
    struct iovec *siov; /* siov[k]: the slot order[k] */
    struct mmsghdr *smsg;
    hx__udp_ctl *sctl; /* smsg[m]'s UDP_SEGMENT */
    uint8_t (*sbuf)[HX_UDP_MTU];
};

/* The struct and its queue in one allocation, each array aligned for any type. */
#define ALIGNED(off) (((off) + 15) & ~(size_t)15)
static hx_udp *udp_alloc(size_t queue)
{
    size_t htab = 1;
    while (htab < 2 * queue)
        htab <<= 1;
    size_t off = ALIGNED(sizeof(hx_udp));
    size_t o_sbuf = off, o_smsg, o_siov, o_sctl, o_dest, o_slen, o_sdst, o_order, o_htab;
    off = ALIGNED(off + queue * HX_UDP_MTU);
    o_smsg = off, off = ALIGNED(off + queue * sizeof(struct mmsghdr));
    o_siov = off, off = ALIGNED(off + queue * sizeof(struct iovec));
    o_sctl = off, off = ALIGNED(off + queue * sizeof(hx__udp_ctl));
    o_dest = off, off = ALIGNED(off + queue * sizeof(hx__udp_dest));
    o_slen = off, off = ALIGNED(off + queue * sizeof(uint16_t));
    o_sdst = off, off = ALIGNED(off + queue * sizeof(uint16_t));
    o_order = off, off = ALIGNED(off + queue * sizeof(uint16_t));
    o_htab = off, off = ALIGNED(off + htab * sizeof(uint16_t));
    char *m = calloc(1, off);
    if (!m) return NULL;
    hx_udp *u = (hx_udp *)m;
    u->queue = queue;
    u->htab_mask = htab - 1;
    u->sbuf = (uint8_t (*)[HX_UDP_MTU])(m + o_sbuf);
    u->smsg = (struct mmsghdr *)(m + o_smsg);
    u->siov = (struct iovec *)(m + o_siov);
    u->sctl = (hx__udp_ctl *)(m + o_sctl);
    u->dest = (hx__udp_dest *)(m + o_dest);
    u->slen = (uint16_t *)(m + o_slen);
    u->sdst = (uint16_t *)(m + o_sdst);
    u->order = (uint16_t *)(m + o_order);
    u->htab = (uint16_t *)(m + o_htab);
    return u;
}

int hx_udp_open(const char *host, int port, hx_udp **out, char *err, size_t errlen)
{
    return hx_udp_open_queue(host, port, HX_UDP_QUEUE, out, err, errlen);
}

size_t hx_udp_queue_cap(const hx_udp *u)
{
    return u->queue;
}

int hx_udp_open_queue(const char *host, int port, size_t queue, hx_udp **out, char *err,
                      size_t errlen)
{
    *out = NULL;
    struct sockaddr_storage ss;
    socklen_t sl;
    if (port < 0 || port > 65535 || hx_addr_from_ip(host, port, &ss, &sl) != 0) {
        snprintf(err, errlen, "not a numeric address and port: %s:%d", host, port);
        return -EINVAL;
    }
    if (queue < 1 || queue > HX_UDP_QUEUE_MAX) {
        snprintf(err, errlen, "udp: a send queue of %zu slots (1..%d)", queue, HX_UDP_QUEUE_MAX);
        return -EINVAL;
    }
    hx_udp *u = udp_alloc(queue);
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
    /* UDP_SEGMENT is readable where the kernel (>= 4.18) can segment: one that cannot would
     * ignore the cmsg and send one oversized datagram, so it is never used unprobed. */
    int gso_size;
    socklen_t gl = sizeof gso_size;
    u->gso = u->gso_ok = getsockopt(u->fd, SOL_UDP, UDP_SEGMENT, &gso_size, &gl) == 0;
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
    if (u->nq == u->queue) hx_udp_flush(u);
    u->slot_open = 1;
    return u->sbuf[u->nq];
}

/* A hash of the address fields that tell destinations apart (port, IP). */
static uint32_t addr_hash(const struct sockaddr *to, socklen_t tolen)
{
    uint64_t h = tolen;
    if (tolen >= sizeof(struct sockaddr_in) && to->sa_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)to;
        h = (uint64_t)a->sin_addr.s_addr << 16 ^ a->sin_port;
    } else if (tolen >= sizeof(struct sockaddr_in6) && to->sa_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)to;
        uint64_t w[2];
        memcpy(w, &a->sin6_addr, sizeof w);
        h = (w[0] * 0x9E3779B97F4A7C15ull ^ w[1]) << 16 ^ a->sin6_port;
    }
    return (uint32_t)(h * 0x9E3779B97F4A7C15ull >> 32);
}

/* The destination `to` in this flush's dest[], added when new. */
static uint16_t dest_of(hx_udp *u, const struct sockaddr *to, socklen_t tolen)
{
    uint32_t b = addr_hash(to, tolen) & (uint32_t)u->htab_mask;
    for (; u->htab[b]; b = (b + 1) & (uint32_t)u->htab_mask) {
        hx__udp_dest *d = &u->dest[u->htab[b] - 1];
        if (d->len == tolen && memcmp(&d->addr, to, tolen) == 0) {
            d->n++;
            return (uint16_t)(u->htab[b] - 1);
        }
    }
    /* New: at most `queue` of them, so half the table at most is taken. */
    hx__udp_dest *d = &u->dest[u->ndest];
    memcpy(&d->addr, to, tolen);
    d->len = tolen;
    d->n = 1;
    d->bucket = (uint16_t)b;
    u->htab[b] = (uint16_t)++u->ndest;
    return (uint16_t)(u->ndest - 1);
}

void hx_udp_commit(hx_udp *u, size_t len, const struct sockaddr *to, socklen_t tolen)
{
    /* A slot is handed out first, and what goes into it fits it; so does the address. */
    if (HX_NEVER(!u->slot_open || len == 0 || len > HX_UDP_MTU ||
                 tolen > sizeof(struct sockaddr_storage))) {
        u->slot_open = 0;
        u->c.tx_dropped++;
        return;
    }
    u->slot_open = 0;
    u->slen[u->nq] = (uint16_t)len;
    u->sdst[u->nq] = dest_of(u, to, tolen);
    u->nq++;
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

/* Sort the queue by destination into order[] (stable) and empty htab for the next flush. */
static void group(hx_udp *u)
{
    uint16_t at = 0;
    for (size_t d = 0; d < u->ndest; d++) {
        uint16_t n = u->dest[d].n;
        u->dest[d].n = at;
        at = (uint16_t)(at + n);
        u->htab[u->dest[d].bucket] = 0;
    }
    for (size_t i = 0; i < u->nq; i++)
        u->order[u->dest[u->sdst[i]].n++] = (uint16_t)i;
}

/*
 * Cut order[pos..nq) into messages smsg[m..]: with GSO, a run of packets to
 * one destination of the first one's length (a shorter one ends it) is one
 * message; runs starting before `single_until` are sent one packet each.
 * Returns the number of messages.
 */
static size_t build(hx_udp *u, size_t pos, size_t m, size_t single_until)
{
    while (pos < u->nq) {
        size_t first = pos;
        uint16_t s0 = u->order[pos], seg = u->slen[s0];
        size_t total = seg;
        u->siov[pos++] = (struct iovec){u->sbuf[s0], seg};
        while (u->gso && first >= single_until && pos < u->nq && pos - first < HX_UDP_GSO_SEGS) {
            uint16_t s = u->order[pos];
            if (u->sdst[s] != u->sdst[s0] || u->slen[s] > seg ||
                total + u->slen[s] > HX__UDP_GSO_BYTES)
                break;
            total += u->slen[s];
            u->siov[pos++] = (struct iovec){u->sbuf[s], u->slen[s]};
            if (u->slen[s] < seg) break; /* only the last segment may be shorter */
        }
        const hx__udp_dest *d = &u->dest[u->sdst[s0]];
        struct msghdr *h = &u->smsg[m].msg_hdr;
        *h = (struct msghdr){.msg_name = (void *)&d->addr,
                             .msg_namelen = d->len,
                             .msg_iov = &u->siov[first],
                             .msg_iovlen = pos - first};
        if (pos - first > 1) {
            h->msg_control = u->sctl[m].buf;
            h->msg_controllen = sizeof u->sctl[m].buf;
            struct cmsghdr *cm = CMSG_FIRSTHDR(h);
            cm->cmsg_level = SOL_UDP;
            cm->cmsg_type = UDP_SEGMENT;
            cm->cmsg_len = CMSG_LEN(sizeof seg);
            memcpy(CMSG_DATA(cm), &seg, sizeof seg);
        }
        m++;
    }
    return m;
}

void hx_udp_flush(hx_udp *u)
{
    if (!u->nq) return;
    group(u);
    size_t nm = build(u, 0, 0, 0), m = 0;
    while (m < nm) {
        int n = sendmmsg(u->fd, u->smsg + m, (unsigned)(nm - m), MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR) continue;
            int e = errno;
            const struct msghdr *h = &u->smsg[m].msg_hdr;
            size_t first = (size_t)(h->msg_iov - u->siov), segs = h->msg_iovlen;
            if (segs > 1 && (e == EIO || e == EOPNOTSUPP || e == EINVAL || e == EMSGSIZE)) {
                /* GSO refused: these packets again, singly. */
                u->c.tx_gso_fallbacks++;
                if (e == EIO || e == EOPNOTSUPP ||
                    (e == EINVAL && h->msg_iov[0].iov_len <= HX__UDP_GSO_SAFE))
                    u->gso = 0;
                nm = build(u, first, m, first + segs);
                continue;
            }
            /* A per-destination error: drop the head message and go on; media is
             * loss-tolerant, RTX repairs. A full socket buffer (EAGAIN): drop the
             * rest too, rather than one failing syscall per message. */
            u->c.tx_errors++;
            if (e == EAGAIN || e == EWOULDBLOCK || e == ENOBUFS) {
                for (; m < nm; m++)
                    u->c.tx_dropped += u->smsg[m].msg_hdr.msg_iovlen;
                break;
            }
            u->c.tx_dropped += segs;
            m++;
            continue;
        }
        for (size_t i = m; i < m + (size_t)n; i++) {
            size_t segs = u->smsg[i].msg_hdr.msg_iovlen;
            u->c.tx_packets += segs;
            u->c.tx_bytes += u->smsg[i].msg_len;
            if (segs > 1) {
                u->c.tx_gso_msgs++;
                u->c.tx_gso_segments += segs;
            }
        }
        u->c.tx_batches++;
        m += (size_t)n;
    }
    u->nq = 0;
    u->ndest = 0;
}

size_t hx_udp_queued(const hx_udp *u)
{
    return u->nq;
}

int hx_udp_gso(const hx_udp *u)
{
    return u->gso;
}

int hx_udp_set_gso(hx_udp *u, int on)
{
    u->gso = on && u->gso_ok;
    return u->gso;
}

const hx_udp_counters *hx_udp_stats(const hx_udp *u)
{
    return &u->c;
}
