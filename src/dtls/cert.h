/*
 * The DTLS identity of a worker and the SDP fingerprints around it
 * (RFC 8122 §5, RFC 8827 §6.5). WebRTC peers authenticate each other not by
 * a CA chain but by the hash of the certificate announced in the signaled
 * SDP ("a=fingerprint:sha-256 AB:CD:..."): a worker generates one ECDSA
 * P-256 self-signed certificate at start and offers it to every transport;
 * after each handshake the peer's certificate is hashed and compared with
 * what its SDP said.
 *
 * Ownership: hx_dtls_cert owns its key and certificate; an hx_dtls_ctx built
 * from it takes its own references, so the cert may be freed afterwards.
 */
#ifndef HX_DTLS_CERT_H
#define HX_DTLS_CERT_H

#include <openssl/types.h>
#include <stddef.h>
#include <stdint.h>

#define HX_DTLS_FP_MAX 64                        /* sha-512 digest bytes */
#define HX_DTLS_FP_TEXT_MAX (3 * HX_DTLS_FP_MAX) /* "AB:" per byte, last ':' becomes NUL */
#define HX_DTLS_CERT_CN "hearth"
#define HX_DTLS_CERT_DAYS 30

enum {
    HX_DTLS_FP_MISMATCH = -1, /* well-formed but a different certificate */
    HX_DTLS_FP_INVALID = -2,  /* unknown algorithm, bad text, short buffer, hashing failed */
};

typedef struct hx_dtls_cert {
    EVP_PKEY *key;
    X509 *x509;
    char fingerprint[HX_DTLS_FP_TEXT_MAX]; /* sha-256 of x509, SDP form */
} hx_dtls_cert;

/** Generate a P-256 key and a self-signed certificate (random serial, CN "hearth",
 *  valid from one day ago for HX_DTLS_CERT_DAYS days). 0 or -1; c is zeroed on failure. */
int hx_dtls_cert_generate(hx_dtls_cert *c);
/** Free key and certificate; safe on a zeroed or half-built cert. */
void hx_dtls_cert_free(hx_dtls_cert *c);

/** Digest length for an SDP hash name ("sha-1" ... "sha-512", any case); 0 if unknown. */
size_t hx_dtls_fp_len(const char *alg);
/** Fingerprint of x in SDP form ("AB:CD:..."). Returns text length or HX_DTLS_FP_INVALID. */
long hx_dtls_fingerprint(const X509 *x, const char *alg, char *out, size_t outlen);
/** Parse SDP fingerprint text (either case) for alg into raw bytes. Returns the byte
 *  count or HX_DTLS_FP_INVALID. */
long hx_dtls_fp_parse(const char *alg, const char *text, uint8_t out[HX_DTLS_FP_MAX]);
/** Compare x's digest with raw bytes from hx_dtls_fp_parse, in constant time.
 *  0 on match, HX_DTLS_FP_MISMATCH or HX_DTLS_FP_INVALID. */
int hx_dtls_fp_verify_raw(const X509 *x, const char *alg, const uint8_t *fp, size_t fplen);
/** Compare x against the remote SDP fingerprint text; same results. */
int hx_dtls_fp_verify(const X509 *x, const char *alg, const char *text);

#endif
