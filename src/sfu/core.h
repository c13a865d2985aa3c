/*
 * The engine core: every transport, track and consumer of one media worker,
 * driven by calls and a clock, with no thread, loop, pipe or socket of its
 * own (docs/design.md §1). A carrier (sfu/engine.c: the worker thread with
 * its UDP socket and ICE-TCP listener; tests/support/engine_fixture.h)
 * feeds it commands (sfu.h messages), received packets and the time, and
 * gives it an hx_engine_io to send and report through.
 *
 * Sending: the core asks io.slot for a buffer of HX_ENGINE_MTU bytes, writes
 * one packet into it and hands it back with io.commit(path, len) (len 0:
 * unused). A path names where the packet goes: UDP to an address, or the
 * carrier's ICE-TCP connection. Each transport's path is decided when ICE
 * changes it (a check, a nomination, consent lost, a connection closed),
 * never per packet.
 *
 * Time: every call takes now_ms (monotonic). hx_engine_core_timer runs what
 * is due and says when to call it next; nothing walks every transport, so
 * an idle one costs a wakeup per ICE consent interval (sfu/deadline.c).
 * Nothing here reads a clock, except OpenSSL's DTLS retransmission timer,
 * which reads the system's.
 *
 * Threads: one. Every call on a core comes from the thread that owns it.
 */
#ifndef HX_SFU_CORE_H
#define HX_SFU_CORE_H

#include "sfu/engine.h"

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define HX_ENGINE_MTU 1500

typedef enum { HX_PATH_NONE = 0, HX_PATH_UDP = 1, HX_PATH_TCP = 2 } hx_engine_proto;

/** Where a transport's packets go (or where a packet came from). */
typedef struct hx_engine_path {
    uint8_t proto;                /* hx_engine_proto */
    socklen_t addrlen;            /* of addr */
    void *conn;                   /* HX_PATH_TCP: the carrier's connection */
    struct sockaddr_storage addr; /* UDP: the destination; TCP: the connection's peer */
} hx_engine_path;

typedef struct hx_engine_io {
    void *ctx;
    /** A buffer of HX_ENGINE_MTU bytes for the next packet. */
    uint8_t *(*slot)(void *ctx);
    /** Send the packet written into the last slot, len bytes (0: give the slot back unused). */
    void (*commit)(void *ctx, const hx_engine_path *to, size_t len);
    /** An sfu.h event for the control plane. */
    void (*event)(void *ctx, const uint8_t *msg, size_t len);
    /** No transport is bound to a connection whose binding was `transport` any more (it closed). */
    void (*unbind)(void *ctx, void *transport);
    /** Random bytes (ids, SSRCs, sequence bases). NULL: OpenSSL's RAND_bytes. */
    void (*random)(void *ctx, void *buf, size_t n);
} hx_engine_io;

typedef struct hx__engine hx_engine_core;

/**
 * A core for cfg, announcing the given candidate lines (a=candidate values, copied, at most
 * HX_ENGINE_MAX_ANNOUNCE * 2), sending and reporting through io (copied), with a DTLS
 * certificate of its own. 0 and *out, or -1 with err.
 */
int hx_engine_core_new(const hx_engine_config *cfg, const char *const *candidates, size_t n,
                       const hx_engine_io *io, hx_engine_core **out, char *err, size_t errlen);
/** Close every transport with reason "shutdown" (their events go out); new ones are refused. */
void hx_engine_core_shutdown(hx_engine_core *c, int64_t now_ms);
/** Free (after closing what is still open). Safe on NULL. */
void hx_engine_core_free(hx_engine_core *c, int64_t now_ms);
/** Send and report through another io from now on (a bench takes over a room a fixture made). */
void hx_engine_core_set_io(hx_engine_core *c, const hx_engine_io *io);
/** Wall clock minus the monotonic clock, ms: the NTP times of hearth's sender reports. */
void hx_engine_core_set_wall_offset(hx_engine_core *c, int64_t unix_ms_minus_mono_ms);

/** One sfu.h command (the control plane built it: a malformed one is a bug, HX_NEVER). */
void hx_engine_core_command(hx_engine_core *c, const uint8_t *msg, size_t len, int64_t now_ms);
/**
 * A packet that arrived (STUN, DTLS, SRTP or SRTCP), decrypted in place. from->proto says how:
 * UDP from from->addr, or a frame on the TCP connection from->conn, whose binding (the
 * transport its checks named, opaque; NULL before any) the carrier keeps in *bound.
 */
void hx_engine_core_rx(hx_engine_core *c, const hx_engine_path *from, void **bound, uint8_t *pkt,
                       size_t len, int64_t now_ms);
/** The carrier closed a connection whose binding was `bound` (non-NULL). */
void hx_engine_core_conn_closed(hx_engine_core *c, void *conn, void *bound, int64_t now_ms);
/** Run what is due at now_ms. Returns when to call again (absolute ms, INT64_MAX: never). */
int64_t hx_engine_core_timer(hx_engine_core *c, int64_t now_ms);
/**
 * When the timer is due next (INT64_MAX: nothing is). Any call can make it earlier (a packet
 * that starts RTCP, a command that asks for an offer): ask again after each.
 */
int64_t hx_engine_core_next_deadline(const hx_engine_core *c);
/** Check the core's invariants (tests and fuzzing): 0, or the negative line of the first broken. */
int hx_engine_core_check(const hx_engine_core *c);

/** Transports open now. */
size_t hx_engine_core_transports(const hx_engine_core *c);

#endif
