/*
 * DTLS 1.2 for DTLS-SRTP (RFC 5764) and data channels (RFC 8261), over
 * OpenSSL 3, without sockets.
 *
 * A worker builds one hx_dtls_ctx (the SSL_CTX: certificate, suites,
 * SRTP profiles) and one hx_dtls per transport (bundle). The caller feeds
 * every received DTLS datagram to hx_dtls_input and gets datagrams out
 * through cbs.send, one call per UDP datagram, never above HX_DTLS_MTU
 * during the handshake. Timers belong to the caller: after every call ask
 * hx_dtls_timeout_ms and arm a timer that calls hx_dtls_on_timer.
 *
 * Life of a transport: NEW -> CONNECTING (hx_dtls_start, or the first
 * input for a server) -> CONNECTED (handshake done, the peer certificate
 * matches the SDP fingerprint, an SRTP profile was negotiated; on_connected
 * gets the SRTP keys) -> CLOSED (close_notify either way). Any failure ends
 * in FAILED with a code and a reason string. The remote fingerprint may be
 * set at any time (SDP can come late): if the handshake ends first, the
 * transport stays CONNECTING until it is set, and application data
 * arriving meanwhile is dropped (SCTP retransmits).
 *
 * Callbacks run inside hx_dtls_* calls. cbs.send must not call back into
 * the same hx_dtls (queue, or write to the socket); no callback may free it.
 * Ownership: the caller owns both objects; free every hx_dtls before its
 * hx_dtls_ctx. A ctx and all its hx_dtls belong to one thread (a worker's
 * transports): they share the ctx's receive buffer, so on_data's bytes are
 * valid only during the callback.
 */
#ifndef HX_DTLS_DTLS_H
#define HX_DTLS_DTLS_H

#include "dtls/cert.h"

#include <stddef.h>
#include <stdint.h>

#define HX_DTLS_MTU 1200
#define HX_DTLS_MAX_APP_LEN 16384 /* one record's plaintext */
#define HX_DTLS_SRTP_PROFILES "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80"
#define HX_DTLS_SRTP_AES128_CM_SHA1_80 0x0001 /* IANA DTLS-SRTP protection profile ids */
#define HX_DTLS_SRTP_AEAD_AES_128_GCM 0x0007
#define HX_DTLS_MIN_RTO_MS 30 /* initial_rto_ms floor (see ctx.c) */
#define HX_DTLS_SRTP_KEY_MAX 16
#define HX_DTLS_SRTP_SALT_MAX 14

typedef struct hx_dtls_ctx hx_dtls_ctx;
typedef struct hx_dtls hx_dtls;

typedef enum hx_dtls_role {
    HX_DTLS_CLIENT = 0, /* a=setup:active */
    HX_DTLS_SERVER = 1, /* a=setup:passive */
} hx_dtls_role;

typedef enum hx_dtls_state {
    HX_DTLS_NEW = 0,
    HX_DTLS_CONNECTING,
    HX_DTLS_CONNECTED,
    HX_DTLS_FAILED,
    HX_DTLS_CLOSED,
} hx_dtls_state;

enum {
    HX_DTLS_OK = 0,
    HX_DTLS_ERR_ARG = -1,   /* bad argument */
    HX_DTLS_ERR_STATE = -2, /* not allowed in the current state */
    HX_DTLS_ERR_NOMEM = -3,
    HX_DTLS_ERR_TLS = -4,         /* OpenSSL refused a setup or write call */
    HX_DTLS_ERR_FINGERPRINT = -5, /* peer certificate does not match the SDP */
    HX_DTLS_ERR_NO_SRTP = -6,     /* no common (or no supported) SRTP profile */
    HX_DTLS_ERR_TIMEOUT = -7,     /* retransmit limit or total handshake time */
    HX_DTLS_ERR_ALERT = -8,       /* fatal alert received */
    HX_DTLS_ERR_HANDSHAKE = -9,   /* local protocol failure (OpenSSL sent the alert) */
};

/** Static description of an HX_DTLS_ERR_* code. */
const char *hx_dtls_strerror(int err);

typedef struct hx_dtls_config {
    const hx_dtls_cert *cert;  /* required; the ctx takes its own references */
    const char *srtp_profiles; /* OpenSSL names in preference order; NULL: HX_DTLS_SRTP_PROFILES */
    uint32_t initial_rto_ms;   /* first retransmit timeout, doubling; 0: 100, min 30 */
    uint32_t max_rto_ms;       /* retransmit timeout cap; 0: 4000 */
    uint32_t max_retransmits;  /* retransmissions before failing; 0: 8 */
    uint32_t handshake_timeout_ms; /* from start to connected; 0: 30000 */
} hx_dtls_config;

/** Negotiated SRTP keying (RFC 5764 §4.2), split by our role into local/remote. */
typedef struct hx_dtls_srtp_keys {
    uint16_t profile; /* HX_DTLS_SRTP_* */
    uint8_t key_len;  /* 16 */
    uint8_t salt_len; /* 14 for AES-CM, 12 for GCM */
    uint8_t local_key[HX_DTLS_SRTP_KEY_MAX], local_salt[HX_DTLS_SRTP_SALT_MAX];
    uint8_t remote_key[HX_DTLS_SRTP_KEY_MAX], remote_salt[HX_DTLS_SRTP_SALT_MAX];
} hx_dtls_srtp_keys;

typedef struct hx_dtls_cbs {
    void *user;
    /** One datagram out. The return value is informational: a lost datagram is retransmitted. */
    int (*send)(void *user, const uint8_t *buf, size_t len);
    /** Handshake verified; keys stay valid for the life of the hx_dtls. */
    void (*on_connected)(void *user, const hx_dtls_srtp_keys *keys);
    /** Terminal failure with an HX_DTLS_ERR_* code and a reason for logs. */
    void (*on_failed)(void *user, int err, const char *reason);
    /** The peer sent close_notify. */
    void (*on_closed)(void *user);
    /** One application data record (SCTP packet). */
    void (*on_data)(void *user, const uint8_t *buf, size_t len);
} hx_dtls_cbs;

/** Build the shared context. HX_DTLS_OK or a negative HX_DTLS_ERR_*. */
int hx_dtls_ctx_new(hx_dtls_ctx **out, const hx_dtls_config *cfg);
/** Free the context (NULL ok), after all its transports. */
void hx_dtls_ctx_free(hx_dtls_ctx *ctx);

/** A transport in state NEW; cbs is copied, cbs->send is required. */
int hx_dtls_new(hx_dtls **out, hx_dtls_ctx *ctx, hx_dtls_role role, const hx_dtls_cbs *cbs);
/** Free a transport (NULL ok, half-built ok). Sends nothing: call hx_dtls_close first. */
void hx_dtls_free(hx_dtls *d);

/** Expected peer certificate from the remote SDP ("sha-256", "AB:CD:..."). May come before or
 *  after the handshake ends; when it completes a pending handshake, events fire from here. */
int hx_dtls_set_remote_fingerprint(hx_dtls *d, const char *alg, const char *value);
/** Begin: a client sends its ClientHello, a server starts its clock and waits. */
int hx_dtls_start(hx_dtls *d, uint64_t now_ms);
/** One received DTLS datagram. 0, or the error that just failed the transport;
 *  HX_DTLS_ERR_STATE once FAILED or CLOSED (the datagram is dropped). */
int hx_dtls_input(hx_dtls *d, const uint8_t *buf, size_t len, uint64_t now_ms);
/** Milliseconds until hx_dtls_on_timer is due (0: now), or -1 when no timer is needed. */
int64_t hx_dtls_timeout_ms(hx_dtls *d, uint64_t now_ms);
/** Retransmit the last flight if due; fail on the retransmit cap or the total deadline. */
int hx_dtls_on_timer(hx_dtls *d, uint64_t now_ms);
/** Send one application data record (1..HX_DTLS_MAX_APP_LEN bytes) when CONNECTED. */
int hx_dtls_send(hx_dtls *d, const uint8_t *buf, size_t len);
/** Send close_notify and enter CLOSED (no on_closed). No-op once FAILED or CLOSED. */
int hx_dtls_close(hx_dtls *d);

/** Current state. */
hx_dtls_state hx_dtls_get_state(const hx_dtls *d);
/** The role given at creation. */
hx_dtls_role hx_dtls_get_role(const hx_dtls *d);
/** Keys once CONNECTED (and after), else NULL. */
const hx_dtls_srtp_keys *hx_dtls_keys(const hx_dtls *d);
/** The failure code (0 unless FAILED) and its reason ("" unless FAILED). */
int hx_dtls_error(const hx_dtls *d, const char **reason);
/** Retransmissions so far (for stats). */
unsigned hx_dtls_retransmits(const hx_dtls *d);

#endif
