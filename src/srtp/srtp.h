/*
 * SRTP and SRTCP (RFC 3711, RFC 7714) over OpenSSL EVP.
 *
 * One hx_srtp_ctx per direction and master key: DTLS-SRTP (RFC 5764) gives
 * each side a write key, so a transport holds one context to protect what
 * it sends and another to unprotect what it receives. The context derives
 * its session keys once at creation (key derivation rate 0) and keys its
 * cipher contexts once; per packet only the IV changes, nothing is
 * allocated and nothing is locked (a context belongs to one thread).
 *
 * Profiles go by their IANA DTLS-SRTP ids:
 *   HX_SRTP_AES128_CM_SHA1_80  AES-128 counter mode + HMAC-SHA1, 80-bit tags
 *   HX_SRTP_AEAD_AES_128_GCM   AES-128-GCM, 16-byte tags
 *
 * Inside a context a table tracks up to HX_SRTP_MAX_SSRCS streams by SSRC:
 * the RTP rollover counter and highest sequence number (RFC 3711 §3.3.1), a
 * replay window of HX_SRTP_REPLAY_WINDOW packets for RTP and SRTCP
 * (§3.3.2), and the next SRTCP index to send. The first few streams live
 * in the context; the stream after them moves the table, once, to an
 * allocation of the full size (most contexts never need it: a subscriber
 * receives one or two SSRCs). A full table is an error; hx_srtp_forget()
 * frees a slot. Unprotect creates a stream and moves its state only after
 * the packet authenticated, so forged packets can neither fill (nor grow)
 * the table nor shift a window.
 *
 * All four packet functions work in place on pkt[0..*len) and update *len.
 * Protect needs room for the tag (and for SRTCP the index word) past the
 * packet: cap is the buffer's capacity, see hx_srtp_overhead() and
 * hx_srtcp_overhead(). After a failed unprotect the buffer's contents are
 * unspecified: drop the packet.
 */
#ifndef HX_SRTP_SRTP_H
#define HX_SRTP_SRTP_H

#include <stddef.h>
#include <stdint.h>

/* Protection profiles (IANA "DTLS-SRTP Protection Profiles"). */
#define HX_SRTP_AES128_CM_SHA1_80 0x0001
#define HX_SRTP_AEAD_AES_128_GCM 0x0007

#define HX_SRTP_MAX_SSRCS 64      /* streams per context */
#define HX_SRTP_REPLAY_WINDOW 128 /* packets, multiple of 64 */
#define HX_SRTP_MAX_PACKET 65535  /* largest packet accepted, before protection */
#define HX_SRTP_MAX_KEY_LEN 16    /* master key, bytes */
#define HX_SRTP_MAX_SALT_LEN 14   /* master salt, bytes */
#define HX_SRTP_MAX_OVERHEAD 16   /* largest hx_srtp_overhead() */
#define HX_SRTCP_MAX_OVERHEAD 20  /* largest hx_srtcp_overhead() */

enum hx_srtp_err {
    HX_SRTP_OK = 0,
    HX_SRTP_ERR_AUTH = -1,       /* authentication tag mismatch */
    HX_SRTP_ERR_REPLAY = -2,     /* index seen before, or older than the window */
    HX_SRTP_ERR_MALFORMED = -3,  /* too short, not version 2, header overruns */
    HX_SRTP_ERR_TABLE_FULL = -4, /* a new SSRC and HX_SRTP_MAX_SSRCS in use */
    HX_SRTP_ERR_NOSPACE = -5,    /* cap too small for the protected packet */
    HX_SRTP_ERR_PARAM = -6,      /* unknown profile, wrong key or salt length */
    HX_SRTP_ERR_LIMIT = -7,      /* index space exhausted: rekey (RFC 3711 §9.2) */
    HX_SRTP_ERR_CRYPTO = -8,     /* OpenSSL failed */
};

typedef struct hx_srtp_ctx hx_srtp_ctx;

/** Master key length in bytes for a profile (16), 0 if unknown. */
size_t hx_srtp_key_len(int profile);
/** Master salt length in bytes for a profile (14 AES-CM, 12 GCM), 0 if unknown. */
size_t hx_srtp_salt_len(int profile);
/** RTP authentication tag length in bytes (10 AES-CM, 16 GCM), 0 if unknown. */
size_t hx_srtp_tag_len(int profile);
/** Bytes hx_srtp_protect() adds to an RTP packet, 0 if unknown. */
size_t hx_srtp_overhead(int profile);
/** Bytes hx_srtcp_protect() adds to an RTCP packet (tag + 4-byte E/index word). */
size_t hx_srtcp_overhead(int profile);

/** Create a context from a profile and master key and salt. 0 or a negative hx_srtp_err. */
int hx_srtp_create(hx_srtp_ctx **out, int profile, const uint8_t *key, size_t key_len,
                   const uint8_t *salt, size_t salt_len);
/** Free a context and wipe its keys. NULL is fine. */
void hx_srtp_destroy(hx_srtp_ctx *ctx);
/** The profile the context was created with. */
int hx_srtp_profile(const hx_srtp_ctx *ctx);

/** Encrypt and tag an RTP packet in place; *len grows by hx_srtp_overhead(). */
int hx_srtp_protect(hx_srtp_ctx *ctx, uint8_t *pkt, size_t *len, size_t cap);
/** Verify, replay-check and decrypt an SRTP packet in place; *len shrinks to the RTP packet. */
int hx_srtp_unprotect(hx_srtp_ctx *ctx, uint8_t *pkt, size_t *len);
/** Encrypt and tag a (compound) RTCP packet in place; *len grows by hx_srtcp_overhead(). */
int hx_srtcp_protect(hx_srtp_ctx *ctx, uint8_t *pkt, size_t *len, size_t cap);
/** Verify, replay-check and decrypt an SRTCP packet in place (E=0 packets: verify only). */
int hx_srtcp_unprotect(hx_srtp_ctx *ctx, uint8_t *pkt, size_t *len);

/** Drop the state kept for an SSRC (RTP and RTCP), freeing its slot. No-op if unknown. */
void hx_srtp_forget(hx_srtp_ctx *ctx, uint32_t ssrc);
/** Number of SSRCs the context tracks. */
unsigned hx_srtp_stream_count(const hx_srtp_ctx *ctx);

/** A static description of an hx_srtp_err code. */
const char *hx_srtp_strerror(int err);

#endif
