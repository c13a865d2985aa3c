/*
 * WebRTC data channels (RFC 8831): SCTP over DTLS through usrsctp, with
 * channels opened by DCEP (RFC 8832, sctp/dcep.h).
 *
 * Two objects:
 *   hx_sctp_stack  usrsctp's one stack per process, wrapped. usrsctp keeps
 *                  global state, so stacks share one refcounted init:
 *                  the first create runs usrsctp_init_nothreads, the last
 *                  destroy runs usrsctp_finish. No threads of ours: the owner
 *                  drives timers with hx_sctp_stack_advance(now) when
 *                  hx_sctp_stack_next_due says. Time is counted once per
 *                  process, so several stacks may each advance (on the same
 *                  monotonic clock) without their steps adding up.
 *   hx_sctp_assoc  one association per DTLS transport, over AF_CONN: the
 *                  owner feeds DTLS application data in with
 *                  hx_sctp_assoc_input and gets SCTP packets out through its
 *                  send callback. Events (up, channel open, message, channel
 *                  closed, down, writable) arrive through on_event, always
 *                  from inside a call into this module (input, tick, send,
 *                  connect, close), on the caller's thread.
 *
 * Reentrancy rules for the owner's callbacks:
 *   - send must not call hx_sctp_assoc_input (queue the bytes instead);
 *   - on_event may send on or close channels of any association, but must
 *     not destroy the association it is called for;
 *   - hx_sctp_assoc_destroy aborts the association, which sends an ABORT
 *     chunk through send from inside destroy.
 *
 * Limits: a message larger than the peer's max-message-size is refused
 * (HX_SCTP_ETOOBIG); an inbound message larger than ours is dropped and
 * counted; inbound user messages pass a per-association token bucket; the
 * outbound buffer is bounded (HX_SCTP_EAGAIN, then HX_SCTP_EV_WRITABLE).
 */
#ifndef HX_SCTP_SCTP_H
#define HX_SCTP_SCTP_H

#include "sctp/dcep.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HX_SCTP_PORT 5000
#define HX_SCTP_DEFAULT_MAX_MESSAGE (256 * 1024)
#define HX_SCTP_DEFAULT_STREAMS 1024
#define HX_SCTP_MAX_PACKET 65536 /* largest packet accepted by hx_sctp_assoc_input */

enum {
    HX_SCTP_OK = 0,
    HX_SCTP_EINVAL = -1, /* bad argument or configuration */
    HX_SCTP_ENOMEM = -2,
    HX_SCTP_ESTACK = -3,    /* usrsctp refused a call (socket, option, bind, connect) */
    HX_SCTP_ETOOBIG = -4,   /* message over the peer's max-message-size */
    HX_SCTP_EAGAIN = -5,    /* outbound buffer full: wait for HX_SCTP_EV_WRITABLE */
    HX_SCTP_ENOTOPEN = -6,  /* no such channel, or it is closing */
    HX_SCTP_ENOTUP = -7,    /* association not established */
    HX_SCTP_ENOSTREAM = -8, /* no free stream id of our parity */
    HX_SCTP_EBUSY = -9,     /* stack still has associations */
};

/** Stack options. The checksum setting is process-wide and must match on both peers. */
typedef struct hx_sctp_stack_config {
    bool crc32c_offload; /* true: neither compute nor check CRC32c (only for in-process peers) */
} hx_sctp_stack_config;

typedef struct hx_sctp_stack hx_sctp_stack;
typedef struct hx_sctp_assoc hx_sctp_assoc;

typedef enum hx_sctp_event_type {
    HX_SCTP_EV_UP = 1,         /* association established */
    HX_SCTP_EV_DOWN,           /* association ended (reason: 0 shutdown, else HX_SCTP_ESTACK) */
    HX_SCTP_EV_CHANNEL_OPEN,   /* a channel is open: peer's OPEN accepted, or our OPEN acked */
    HX_SCTP_EV_MESSAGE,        /* a user message */
    HX_SCTP_EV_CHANNEL_CLOSED, /* both directions of the stream reset; the id is free again */
    HX_SCTP_EV_WRITABLE,       /* outbound buffer drained after HX_SCTP_EAGAIN */
} hx_sctp_event_type;

/**
 * Channel parameters as negotiated by DCEP. Strings are not NUL-terminated.
 * In CHANNEL_OPEN for a channel we opened, only channel_type and reliability
 * are filled in (the owner chose the rest).
 */
typedef struct hx_sctp_channel_info {
    uint8_t channel_type; /* HX_DCEP_* */
    uint16_t priority;
    uint32_t reliability;
    const uint8_t *label;
    uint16_t label_len;
    const uint8_t *protocol;
    uint16_t protocol_len;
} hx_sctp_channel_info;

/** One event. Pointers are valid only during the callback. */
typedef struct hx_sctp_event {
    hx_sctp_event_type type;
    uint16_t sid;                     /* channel events */
    bool remote;                      /* CHANNEL_OPEN: opened by the peer */
    const hx_sctp_channel_info *info; /* CHANNEL_OPEN */
    uint32_t ppid;                    /* MESSAGE: HX_PPID_STRING/BINARY(_EMPTY) */
    bool binary;                      /* MESSAGE */
    const uint8_t *data;              /* MESSAGE (len 0 for the empty PPIDs) */
    size_t len;
    int reason; /* DOWN */
} hx_sctp_event;

/** Per-association counters of what was refused or dropped. */
typedef struct hx_sctp_stats {
    uint64_t rx_messages, tx_messages;
    uint64_t rx_oversize;     /* inbound messages over max_message_size, dropped */
    uint64_t rx_rate_limited; /* inbound user messages over the token bucket, dropped */
    uint64_t rx_bad_ppid;     /* deprecated partial or unknown PPIDs, dropped */
    uint64_t rx_bad_dcep;     /* malformed DCEP or DCEP in the wrong state */
    uint64_t rx_no_channel;   /* user messages on a stream with no open channel */
    uint64_t tx_blocked;      /* sends refused with HX_SCTP_EAGAIN */
} hx_sctp_stats;

typedef struct hx_sctp_config {
    uint16_t local_port;     /* 0: HX_SCTP_PORT */
    uint16_t remote_port;    /* the peer's a=sctp-port; 0: HX_SCTP_PORT */
    bool dtls_client;        /* our DTLS role: the client opens even stream ids (RFC 8832 §6) */
    size_t max_message_size; /* inbound limit (our a=max-message-size); 0: default */
    size_t remote_max_message_size; /* outbound limit (the peer's); 0: default */
    size_t send_buffer; /* outbound buffer cap in bytes; 0: 4 x remote max; >= remote max */
    uint16_t streams;   /* streams each way; 0: HX_SCTP_DEFAULT_STREAMS */
    uint16_t mtu;       /* SCTP packet size; 0: 1200 */
    double rx_rate;     /* inbound user messages per second; 0: unlimited */
    double rx_burst;    /* bucket size; 0: 2 x rx_rate */
    int64_t (*now_ms)(void *ud); /* monotonic clock for the bucket; NULL: hx_mono_ms */
    /** Hand an SCTP packet to DTLS. Return 0, or negative (dropped; SCTP retransmits). */
    int (*send)(void *ud, const uint8_t *buf, size_t len);
    void (*on_event)(void *ud, hx_sctp_assoc *a, const hx_sctp_event *ev);
    void *ud;
} hx_sctp_config;

/** Create a stack (the first one initialises usrsctp). */
int hx_sctp_stack_create(const hx_sctp_stack_config *cfg, hx_sctp_stack **out);
/** Destroy; HX_SCTP_EBUSY while associations remain. The last one runs usrsctp_finish. */
int hx_sctp_stack_destroy(hx_sctp_stack *s);
/** Advance usrsctp's timers (retransmits, SACK delay, heartbeats) by elapsed_ms, whatever
 *  other stacks do: for tests on a virtual clock. Do not mix with hx_sctp_stack_advance. */
void hx_sctp_stack_tick(hx_sctp_stack *s, uint32_t elapsed_ms);
/**
 * Run usrsctp's timers (every association in the process, so callbacks of other stacks' too)
 * for the time since the last advance by any stack; the first call only sets the start. A
 * now_ms earlier than that moves nothing. Pass the associations' clock (cfg.now_ms). Once a
 * stack is advanced, its input and connect also bring usrsctp's clock up to date first, so
 * the timers they start count from when they happen.
 */
void hx_sctp_stack_advance(hx_sctp_stack *s, int64_t now_ms);
/**
 * When to advance next: INT64_MAX without associations; now_ms + 10 while one of them is
 * connecting or any packet went in or out in the last second; now_ms + 1000 otherwise.
 * A guess (usrsctp exports no next-timer query): a retransmit on an association that had
 * been quiet for a second may wait up to 1 s. A send from outside a callback after such a
 * second starts its retransmit timer on usrsctp's clock as of the last advance (up to 1 s
 * behind): advance to now first.
 */
int64_t hx_sctp_stack_next_due(const hx_sctp_stack *s, int64_t now_ms);

/** Create an association (socket, options, bind). Nothing is sent until connect. */
int hx_sctp_assoc_create(hx_sctp_stack *s, const hx_sctp_config *cfg, hx_sctp_assoc **out);
/** Start the (simultaneous) open: both peers connect, as browsers do. */
int hx_sctp_assoc_connect(hx_sctp_assoc *a);
/** Feed one SCTP packet received from DTLS. */
int hx_sctp_assoc_input(hx_sctp_assoc *a, const uint8_t *buf, size_t len);
/** Graceful SHUTDOWN; HX_SCTP_EV_DOWN follows when it completes. */
int hx_sctp_assoc_shutdown(hx_sctp_assoc *a);
/** Abort and free. Safe on a half-built association and on NULL. */
void hx_sctp_assoc_destroy(hx_sctp_assoc *a);
/** True once HX_SCTP_EV_UP was delivered and before HX_SCTP_EV_DOWN. */
bool hx_sctp_assoc_is_up(const hx_sctp_assoc *a);
/** Counters. */
const hx_sctp_stats *hx_sctp_assoc_stats(const hx_sctp_assoc *a);

/**
 * Open a channel from our side: pick the lowest free stream id of our
 * parity, send DATA_CHANNEL_OPEN. HX_SCTP_EV_CHANNEL_OPEN follows on the ACK;
 * messages may be sent before it (they go ordered until then, §6).
 * Returns the stream id (>= 0) or a negative error.
 */
int hx_sctp_channel_open(hx_sctp_assoc *a, const hx_sctp_channel_info *info);
/** Send a text (binary false) or binary message; len 0 uses the empty PPIDs. */
int hx_sctp_channel_send(hx_sctp_assoc *a, uint16_t sid, bool binary, const uint8_t *data,
                         size_t len);
/** Close by resetting our outgoing stream (RFC 8831 §6.7); CHANNEL_CLOSED follows. */
int hx_sctp_channel_close(hx_sctp_assoc *a, uint16_t sid);
/** Static description of an HX_SCTP_* error. */
const char *hx_sctp_strerror(int err);

#endif
