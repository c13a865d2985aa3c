/*
 * ICE-lite agent (RFC 8445 §2.5, lite implementation), one per transport.
 *
 * hearthd is always the lite, controlled side: it never sends checks; the
 * peer (a full agent, controlling) sends Binding requests and nominates a
 * pair with USE-CANDIDATE. So the agent is a responder with memory:
 *
 *   - it answers each authenticated Binding request (USERNAME
 *     "<local ufrag>:<remote ufrag>", MESSAGE-INTEGRITY under the local
 *     password, FINGERPRINT) with a success carrying XOR-MAPPED-ADDRESS,
 *     or with the error RFC 5389 / RFC 8445 prescribe;
 *   - it records the remote address of each valid request as a pair (at
 *     most HX_ICE_MAX_PAIRS, the oldest unselected one evicted first);
 *   - USE-CANDIDATE makes that pair the selected one, where the caller
 *     sends media (the latest nomination wins, so a browser that
 *     renominates after a network change moves the transport);
 *   - consent freshness (RFC 7675): the peer's checks on the selected pair
 *     are its consent; none for consent_timeout_ms and the agent reports
 *     consent lost (state disconnected, no selected pair). Authenticated
 *     SRTP/SRTCP or DTLS application data from the selected pair counts too
 *     (hx_ice_agent_media_seen):
 *     libnice, as GStreamer's webrtcbin runs it, keeps a pair alive with
 *     Binding indications, not requests, and would otherwise be dropped after
 *     30 s while it still sends (and reports) media.
 *
 * States: new -> checking (first valid check) -> connected (nominated)
 * -> disconnected (consent lost; a new nomination reconnects) -> failed
 * (terminal: never connected within connect_timeout_ms, or disconnected
 * for disconnected_timeout_ms).
 *
 * The agent does no I/O and reads no clock: the caller passes packets,
 * their source address and the time, and sends what the agent writes into
 * its buffer. Changes are reported as event bits (HX_ICE_EV_*), collected
 * with hx_ice_agent_take_events or returned by hx_ice_agent_tick, which
 * the caller needs to run only at hx_ice_agent_next_deadline.
 * The struct is caller-allocated and holds everything; nothing allocates.
 */
#ifndef HX_ICE_ICE_H
#define HX_ICE_ICE_H

#include "stun/stun.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>

#define HX_ICE_UFRAG_LEN 8  /* generated local ufrag (RFC 8445 §5.3: >= 4 ice-chars) */
#define HX_ICE_PWD_LEN 24   /* generated local password (>= 22 ice-chars) */
#define HX_ICE_MAX_CRED 256 /* longest ufrag/pwd accepted from the peer (RFC 8839 §5.4) */
#define HX_ICE_MAX_PAIRS 16
#define HX_ICE_CONSENT_TIMEOUT_MS 30000 /* RFC 7675 §5.1 */

typedef enum hx_ice_state {
    HX_ICE_NEW,
    HX_ICE_CHECKING,
    HX_ICE_CONNECTED,
    HX_ICE_DISCONNECTED,
    HX_ICE_FAILED,
} hx_ice_state;

/* Event bits. */
#define HX_ICE_EV_STATE 0x1u    /* the state changed */
#define HX_ICE_EV_SELECTED 0x2u /* the selected address changed (or went away) */

/* What hx_ice_agent_on_stun did (>= 0), or why it dropped the packet (< 0). */
enum {
    HX_ICE_RX_VALID = 0,      /* a valid check: a success response is in the buffer */
    HX_ICE_RX_ERROR = 1,      /* an error response (400/401/420/487) is in the buffer */
    HX_ICE_RX_IGNORED = 2,    /* STUN that needs no answer (indication, response) */
    HX_ICE_EMALFORMED = -1,   /* not a well-formed STUN message */
    HX_ICE_EFINGERPRINT = -2, /* FINGERPRINT present but wrong: not STUN (RFC 5389 §7.3) */
    HX_ICE_EUFRAG = -3,       /* USERNAME names other credentials */
    HX_ICE_ENOSPACE = -4,     /* the output buffer is too small */
    HX_ICE_EFAILED = -5,      /* the agent has failed */
    HX_ICE_EINVAL = -6,       /* bad argument */
};

/** Timeouts in ms; 0 disables one. hx_ice_config_default fills the defaults. */
typedef struct hx_ice_config {
    int64_t consent_timeout_ms;      /* connected -> disconnected without checks (30 s) */
    int64_t connect_timeout_ms;      /* new/checking -> failed (30 s) */
    int64_t disconnected_timeout_ms; /* disconnected -> failed (30 s) */
} hx_ice_config;

/** A transport address as a pair keeps it: IPv4 or IPv6, 28 bytes where a sockaddr_storage
 * takes 128 (16 of them in every transport: memory per participant, docs/benchmarks.md). */
typedef union hx_ice_addr {
    struct sockaddr sa;
    struct sockaddr_in in4;
    struct sockaddr_in6 in6;
} hx_ice_addr;

/** The address as a sockaddr_storage (zeroed past what the family uses); its length. */
socklen_t hx_ice_addr_storage(const hx_ice_addr *a, struct sockaddr_storage *out);

/** A remote address that passed a check. */
typedef struct hx_ice_pair {
    hx_ice_addr addr;
    int64_t last_check_ms; /* last valid request from it */
    uint32_t priority;     /* PRIORITY of that request (the peer's prflx priority) */
    bool nominated;
} hx_ice_pair;

/** One ICE-lite agent; caller-allocated. Read fields, change them only through functions. */
typedef struct hx_ice_agent {
    hx_ice_config cfg;
    hx_ice_state state;
    uint32_t events; /* pending HX_ICE_EV_* bits */
    char local_ufrag[HX_ICE_UFRAG_LEN + 1];
    char local_pwd[HX_ICE_PWD_LEN + 1];
    char remote_ufrag[HX_ICE_MAX_CRED + 1]; /* "" until known (trickle) */
    char remote_pwd[HX_ICE_MAX_CRED + 1];
    hx_stun_key local_key;
    int64_t state_since_ms;
    int selected; /* index into pairs, -1 for none */
    unsigned n_pairs;
    hx_ice_pair pairs[HX_ICE_MAX_PAIRS];
    uint64_t n_valid, n_error, n_dropped; /* counters for metrics */
    unsigned demux_refs; /* address-table entries of a demux that name it (demux.c keeps it) */
    void *user;          /* the caller's (e.g. its transport) */
} hx_ice_agent;

/** Default timeouts. */
void hx_ice_config_default(hx_ice_config *cfg);
/** Set up an agent with fresh local credentials (RAND_bytes). 0 or HX_ICE_EINVAL. */
int hx_ice_agent_init(hx_ice_agent *a, const hx_ice_config *cfg, int64_t now_ms);
/** Set up an agent with given local credentials (ice-chars, RFC 8445 lengths). */
int hx_ice_agent_init_with(hx_ice_agent *a, const hx_ice_config *cfg, const char *ufrag,
                           const char *pwd, int64_t now_ms);
/** Wipe the agent's secrets. */
void hx_ice_agent_clear(hx_ice_agent *a);
/** ICE restart: fresh local credentials (the pairs stay until the peer's checks move them).
 *  Take the agent out of any demux first (its ufrag changes). 0 or HX_ICE_EINVAL. */
int hx_ice_agent_new_local(hx_ice_agent *a);
/** The same with given local credentials (as init_with), for deterministic tests and fuzzing. */
int hx_ice_agent_new_local_with(hx_ice_agent *a, const char *ufrag, const char *pwd);
/** Remote credentials from the offer/answer; may come after the first checks. */
int hx_ice_agent_set_remote(hx_ice_agent *a, const char *ufrag, const char *pwd);
/** True if s is 'len' ice-chars (ALPHA / DIGIT / "+" / "/") with min <= len <= max. */
bool hx_ice_cred_valid(const char *s, size_t min, size_t max);

/**
 * Handle one STUN packet from 'from'. Writes any response to out (cap bytes)
 * and its length to *out_len (0 if none). Returns HX_ICE_RX_* or HX_ICE_E*.
 */
int hx_ice_agent_on_stun(hx_ice_agent *a, const uint8_t *pkt, size_t len,
                         const struct sockaddr_storage *from, int64_t now_ms, uint8_t *out,
                         size_t cap, size_t *out_len);
/** The same for a message already parsed (the demux parses once). */
int hx_ice_agent_on_msg(hx_ice_agent *a, const hx_stun_msg *m, const struct sockaddr_storage *from,
                        int64_t now_ms, uint8_t *out, size_t cap, size_t *out_len);
/** Apply timeouts; returns and clears pending events. */
uint32_t hx_ice_agent_tick(hx_ice_agent *a, int64_t now_ms);
/**
 * The earliest now_ms at which hx_ice_agent_tick would do anything (raise an event, change
 * state, expire a pair): before it a tick is a no-op. INT64_MAX when nothing is due, INT64_MIN
 * while events are pending (a tick returns them at once). Checks, media and ticks can move it.
 */
int64_t hx_ice_agent_next_deadline(const hx_ice_agent *a);
/** Return and clear pending events. */
uint32_t hx_ice_agent_take_events(hx_ice_agent *a);
/** The caller authenticated SRTP, SRTCP or DTLS data from addr: consent on the selected pair. */
void hx_ice_agent_media_seen(hx_ice_agent *a, const struct sockaddr_storage *addr, int64_t now_ms);
/** Where to send media: the selected pair's address, NULL when none. */
const hx_ice_addr *hx_ice_agent_selected(const hx_ice_agent *a);
/** The pair for an address, NULL if it never passed a check (or was evicted). */
const hx_ice_pair *hx_ice_agent_find_pair(const hx_ice_agent *a,
                                          const struct sockaddr_storage *addr);
/** Name of a state, for logs. */
const char *hx_ice_state_name(hx_ice_state s);

#endif
