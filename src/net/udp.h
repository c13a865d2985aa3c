/*
 * Batched UDP I/O for a media worker: one non-blocking socket, received
 * with recvmmsg into a fixed set of buffers and sent with sendmmsg from a
 * fixed queue of slots. The caller writes a packet straight into a slot
 * (hx_udp_slot), so forwarding one packet to N subscribers costs N protects
 * in place and one syscall per batch, with no allocation and no copy.
 *
 * At a flush the queue is grouped by destination (stable: each
 * destination's packets keep their order) and, where the kernel offers UDP
 * GSO (UDP_SEGMENT, probed at open), each run of equal-length packets to
 * one destination leaves as one message the kernel cuts into datagrams:
 * one route lookup and one trip down the stack for up to 64 packets. When
 * the kernel refuses one (EIO: a device without checksum offload;
 * EOPNOTSUPP; EINVAL) its packets go again singly, counted, and GSO is
 * turned off for the socket (see udp.c for the one EINVAL that does not).
 *
 * Memory: everything is allocated once by hx_udp_open (HX_UDP_BATCH receive
 * buffers and a send queue of HX_UDP_MTU-byte slots, its size chosen at
 * open: long enough for GSO runs on a media worker's socket). A full queue is flushed
 * before a new slot is handed out; a send that the kernel refuses with
 * EAGAIN is dropped and counted, never buffered without bound.
 *
 * The socket is the caller's to poll (uv_poll_t in the worker): read
 * batches until hx_udp_recv returns 0, then hx_udp_flush.
 */
#ifndef HX_NET_UDP_H
#define HX_NET_UDP_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define HX_UDP_MTU 1500
#define HX_UDP_BATCH 32
#define HX_UDP_QUEUE 256       /* hx_udp_open's send queue */
#define HX_UDP_QUEUE_MAX 16384 /* hx_udp_open_queue's largest */
/** At most this many datagrams in one GSO message (the kernel's UDP_MAX_SEGMENTS). */
#define HX_UDP_GSO_SEGS 64

typedef struct hx_udp_pkt {
    uint8_t *data;
    size_t len;
    struct sockaddr_storage from;
    socklen_t fromlen;
} hx_udp_pkt;

typedef struct hx_udp_counters {
    uint64_t rx_packets, rx_bytes, rx_batches, rx_truncated;
    uint64_t tx_packets, tx_bytes, tx_batches, tx_dropped;
    uint64_t tx_gso_msgs;      /* messages sent with UDP_SEGMENT (two datagrams or more) */
    uint64_t tx_gso_segments;  /* datagrams those carried (included in tx_packets) */
    uint64_t tx_gso_fallbacks; /* GSO messages the kernel refused, resent singly */
    uint64_t tx_errors;        /* messages the kernel refused otherwise (their packets dropped) */
} hx_udp_counters;

typedef struct hx_udp hx_udp;

/**
 * Open a socket bound to host:port (port 0: the kernel picks; numeric IPv4
 * or IPv6 host). 0 and *out, or -errno / -EINVAL with a reason in err.
 */
int hx_udp_open(const char *host, int port, hx_udp **out, char *err, size_t errlen);
/**
 * The same with a send queue of `queue` slots (1..HX_UDP_QUEUE_MAX, HX_UDP_MTU bytes each): a
 * media worker's socket takes many (a frame to every subscriber in one flush, long GSO runs), a
 * TURN relay's few (one client's flow). hx_udp_open: HX_UDP_QUEUE.
 */
int hx_udp_open_queue(const char *host, int port, size_t queue, hx_udp **out, char *err,
                      size_t errlen);
/** The send queue's size in slots. */
size_t hx_udp_queue_cap(const hx_udp *u);
/** Close and free (safe on NULL). Queued packets are flushed first. */
void hx_udp_close(hx_udp *u);
/** The socket, for polling. */
int hx_udp_fd(const hx_udp *u);
/** The bound port. */
int hx_udp_port(const hx_udp *u);
/** The bound address. */
const struct sockaddr_storage *hx_udp_local(const hx_udp *u);

/**
 * Receive one batch: up to HX_UDP_BATCH packets in *pkts (valid until the
 * next call). Returns how many (0 when nothing is waiting), or -errno.
 */
int hx_udp_recv(hx_udp *u, hx_udp_pkt **pkts);

/** A send slot of HX_UDP_MTU bytes to write one packet into (flushes a full queue first). */
uint8_t *hx_udp_slot(hx_udp *u);
/** Queue the packet written into the last slot, len bytes, to `to`. */
void hx_udp_commit(hx_udp *u, size_t len, const struct sockaddr *to, socklen_t tolen);
/** Give back the last slot unused (nothing is sent or counted). */
void hx_udp_release(hx_udp *u);
/** Copy and queue a packet in one step (control traffic: STUN, DTLS, RTCP). */
int hx_udp_send(hx_udp *u, const uint8_t *buf, size_t len, const struct sockaddr *to,
                socklen_t tolen);
/**
 * Send everything queued, grouped by destination (order kept per
 * destination), with as few sendmmsg calls as it takes.
 */
void hx_udp_flush(hx_udp *u);
/** Packets queued and not yet flushed. */
size_t hx_udp_queued(const hx_udp *u);

/** Whether flushes use UDP GSO (1) or send every packet as its own message (0). */
int hx_udp_gso(const hx_udp *u);
/** Turn GSO off (0) or back on (1, where the open-time probe found it); returns hx_udp_gso. */
int hx_udp_set_gso(hx_udp *u, int on);

/** The counters (live: updated by every recv and flush). */
const hx_udp_counters *hx_udp_stats(const hx_udp *u);

#endif
