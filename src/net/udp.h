/*
 * Batched UDP I/O for a media worker: one non-blocking socket, received
 * with recvmmsg into a fixed set of buffers and sent with sendmmsg from a
 * fixed queue of slots. The caller writes a packet straight into a slot
 * (hx_udp_slot), so forwarding one packet to N subscribers costs N protects
 * in place and one syscall per batch, with no allocation and no copy.
 *
 * Memory: everything is allocated once by hx_udp_open (HX_UDP_BATCH receive
 * buffers and HX_UDP_QUEUE send slots of HX_UDP_MTU bytes each). A full
 * queue is flushed before a new slot is handed out; a send that the kernel
 * refuses with EAGAIN is dropped and counted, never buffered without bound.
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
#define HX_UDP_QUEUE 64

typedef struct hx_udp_pkt {
    uint8_t *data;
    size_t len;
    struct sockaddr_storage from;
    socklen_t fromlen;
} hx_udp_pkt;

typedef struct hx_udp_counters {
    uint64_t rx_packets, rx_bytes, rx_batches, rx_truncated;
    uint64_t tx_packets, tx_bytes, tx_batches, tx_dropped;
} hx_udp_counters;

typedef struct hx_udp hx_udp;

/**
 * Open a socket bound to host:port (port 0: the kernel picks; numeric IPv4
 * or IPv6 host). 0 and *out, or -errno / -EINVAL with a reason in err.
 */
int hx_udp_open(const char *host, int port, hx_udp **out, char *err, size_t errlen);
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
/** Send everything queued with as few sendmmsg calls as it takes. */
void hx_udp_flush(hx_udp *u);
/** Packets queued and not yet flushed. */
size_t hx_udp_queued(const hx_udp *u);

const hx_udp_counters *hx_udp_stats(const hx_udp *u);

#endif
