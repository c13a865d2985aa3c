/*
 * Private layout of the SCTP module, shared by stack.c (usrsctp init and
 * the output callback), assoc.c (socket setup, input, receive callback,
 * notifications) and channel.c (DCEP, the channel table, sending, stream
 * reset).
 *
 * Ownership: the stack counts its associations; an association owns its
 * usrsctp socket and its channel table (one slot per stream id, allocated
 * once at create). A slot owns its reassembly buffer, grown on the first
 * partially delivered message up to max_message_size and kept for reuse.
 */
#ifndef HX_SCTP_INTERNAL_H
#define HX_SCTP_INTERNAL_H

#include "common/ratelimit.h"
#include "sctp/sctp.h"

#include <usrsctp.h>

struct hx_sctp_stack {
    unsigned n_assocs;
    unsigned n_connecting; /* associations with connecting set */
    int64_t last_in_ms;    /* the latest packet into any of them; INT64_MIN: none */
    int64_t last_out_ms;   /* the latest packet out of any of them; INT64_MIN: none */
    bool advancing;        /* driven by hx_sctp_stack_advance (not tick) */
};

typedef enum hx__chan_state {
    HX__CHAN_FREE = 0,
    HX__CHAN_CONNECTING, /* our OPEN sent, no ACK yet */
    HX__CHAN_OPEN,
    HX__CHAN_CLOSING, /* a stream reset is pending or under way */
} hx__chan_state;

typedef struct hx__chan {
    uint8_t state;        /* hx__chan_state */
    uint8_t channel_type; /* HX_DCEP_* */
    bool reset_pending;   /* our outgoing reset still to be requested */
    bool out_reset;       /* our outgoing stream has been reset */
    bool in_reset;        /* the peer's outgoing stream has been reset */
    bool rx_dropping;     /* discarding the rest of an oversize message */
    uint32_t reliability;
    uint8_t *rx_buf; /* reassembly of partially delivered messages */
    size_t rx_len, rx_cap;
} hx__chan;

struct hx_sctp_assoc {
    hx_sctp_stack *stack;
    hx_sctp_config cfg; /* defaults filled in */
    struct socket *sock;
    bool registered; /* usrsctp_register_address done */
    bool up;
    bool connecting; /* connect called, neither up nor down since: INIT/COOKIE timers run */
    bool blocked;    /* a send hit EWOULDBLOCK; WRITABLE is owed */
    bool resets_pending;
    uint16_t n_out, n_in; /* negotiated stream counts (after UP) */
    hx__chan *chans;      /* cfg.streams slots, by stream id */
    hx_bucket bucket;
    hx_sctp_stats stats;
};

/* channel.c */
/** A user or DCEP message fully reassembled on stream sid (ppid in host order). */
void hx__chan_deliver(hx_sctp_assoc *a, uint16_t sid, uint32_t ppid, const uint8_t *data,
                      size_t len);
/** Handle a (possibly partial) data chunk from usrsctp's receive callback. */
void hx__chan_receive(hx_sctp_assoc *a, uint16_t sid, uint32_t ppid, const uint8_t *data,
                      size_t len, bool eor);
/** A stream reset notification: the listed streams were reset in one direction. */
void hx__chan_stream_reset(hx_sctp_assoc *a, const uint16_t *sids, size_t n, bool incoming);
/** Request the outgoing resets that are pending (one SCTP_RESET_STREAMS call). */
void hx__chan_flush_resets(hx_sctp_assoc *a);
/** The association went down: every channel is closed (events), slots freed. */
void hx__chan_close_all(hx_sctp_assoc *a);
/** Send one raw payload on a stream. 0 or a negative HX_SCTP_* error. */
int hx__chan_sendv(hx_sctp_assoc *a, uint16_t sid, uint32_t ppid, const uint8_t *data, size_t len,
                   bool unordered, uint8_t channel_type, uint32_t reliability);

/* stack.c */
/** Before a call that may start usrsctp timers (input, connect): if s is driven by advance and
 *  usrsctp's clock is 10 ms or more behind now_ms, advance it. Never from inside a callback. */
void hx__stack_catch_up(hx_sctp_stack *s, int64_t now_ms);

/* assoc.c */
void hx__assoc_emit(hx_sctp_assoc *a, const hx_sctp_event *ev);
int64_t hx__assoc_now(hx_sctp_assoc *a);
/** A packet goes in (in: true) or out: the stack's timers count as busy for a while
 *  (next_due). Returns the time it recorded (the association's clock). */
int64_t hx__assoc_active(hx_sctp_assoc *a, bool in);

#endif
