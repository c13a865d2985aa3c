/*
 * Internals shared by ctx.c (SSL_CTX and the BIO method), bio.c (the
 * datagram BIO), dtls.c (the transport state machine) and srtp_keys.c.
 *
 * The datagram BIO: OpenSSL writes records; the BIO packs consecutive
 * records of one flight into a datagram of at most HX_DTLS_MTU bytes and
 * hands it to the send callback on BIO_flush (which OpenSSL issues at the
 * end of each flight, and dtls.c after every OpenSSL call). Since
 * BIO_wpending reports the packed bytes, OpenSSL sizes its handshake
 * fragments so that they fit the rest of the datagram. Reading returns the
 * one datagram hx_dtls_input lent it, whole, then "retry". Once the
 * handshake is over the packing buffer goes (dtls.c) and every record is a
 * datagram of its own: application data is one record per call anyway.
 */
#ifndef HX_DTLS_DTLS_INTERNAL_H
#define HX_DTLS_DTLS_INTERNAL_H

#include "dtls/dtls.h"

#include <openssl/ssl.h>
#include <stdbool.h>

struct hx_dtls_ctx {
    SSL_CTX *ssl;
    BIO_METHOD *bio_method;
    uint32_t initial_rto_ms, max_rto_ms, max_retransmits, handshake_timeout_ms;
    uint8_t rx[HX_DTLS_MAX_APP_LEN]; /* SSL_read's target, shared: the ctx's transports run on one thread */
};

typedef struct hx__dgram {
    int (*send)(void *user, const uint8_t *buf, size_t len);
    void *user;
    const uint8_t *in; /* the datagram being read, lent by hx_dtls_input */
    size_t in_len;
    size_t out_len; /* packed bytes waiting in out */
    uint8_t *out;   /* HX_DTLS_MTU bytes during the handshake; NULL: one record per datagram */
} hx__dgram;

struct hx_dtls {
    hx_dtls_ctx *ctx;
    SSL *ssl;
    hx_dtls_cbs cbs;
    hx_dtls_role role;
    hx_dtls_state state;
    bool hs_done; /* OpenSSL finished; verification may wait for the fingerprint */
    bool have_fp;
    bool fatal_alert; /* set by the info callback */
    bool bufs_freed;  /* record buffers released between calls (dtls.c) */
    uint8_t calls;    /* entry points running (a callback may send): release at 0 */
    uint8_t alert_desc;
    char fp_alg[12];
    uint8_t fp[HX_DTLS_FP_MAX];
    size_t fp_len;
    uint64_t deadline_ms;
    unsigned retransmits;
    int err;
    char reason[96];
    hx_dtls_srtp_keys keys;
    hx__dgram dg;
};

/** Enter FAILED (once) with a reason, say close_notify if the handshake had finished,
 *  fire on_failed. Returns err. */
int hx__fail(hx_dtls *d, int err, const char *detail);
/** OpenSSL finished the handshake: verify now or wait for the fingerprint. */
int hx__handshake_done(hx_dtls *d);

/** The datagram BIO method (one per ctx). NULL on allocation failure. */
BIO_METHOD *hx__dgram_method(void);
/** Send whatever the BIO has packed. */
void hx__dgram_flush(hx__dgram *dg);

/** Split EXTRACTOR-dtls_srtp output per RFC 5764 §4.2 into keys->local/remote by role.
 *  material holds 2 * (key_len + salt_len) bytes. */
void hx__srtp_keys_split(hx_dtls_role role, const uint8_t *material, uint8_t key_len,
                         uint8_t salt_len, hx_dtls_srtp_keys *keys);
/** Key and salt length for an IANA profile id; -1 if the profile is not supported. */
int hx__srtp_profile_lengths(unsigned long id, uint8_t *key_len, uint8_t *salt_len);

#endif
