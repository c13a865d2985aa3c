/*
 * RTCP (RFC 3550 §6) and the feedback messages an SFU exchanges with
 * browsers: SR, RR, SDES CNAME, BYE; RTPFB generic NACK (RFC 4585 §6.2.1)
 * and transport-wide congestion control feedback
 * (draft-holmer-rmcat-transport-wide-cc-extensions-01); PSFB PLI
 * (RFC 4585 §6.3.1), FIR (RFC 5104 §4.3.1) and REMB
 * (draft-alvestrand-rmcat-remb-03).
 *
 * A datagram is a compound of packets: hx_rtcp_iter walks it and yields
 * each packet's header and body (padding removed) as pointers into the
 * datagram; the typed parsers take such a packet. Reduced-size RTCP
 * (RFC 5506) is accepted: the iterator imposes no order or first type.
 * Builders write one packet and return its length, so a compound is built
 * by concatenation. All pure, no allocation; lists go to caller arrays or
 * fixed-size members.
 *
 * Errors are the HX_RTP_E* codes of rtp.h.
 */
#ifndef HX_RTP_RTCP_H
#define HX_RTP_RTCP_H

#include "rtp/rtp.h"

#include <stddef.h>
#include <stdint.h>

/** RTCP packet types. */
enum {
    HX_RTCP_SR = 200,
    HX_RTCP_RR = 201,
    HX_RTCP_SDES = 202,
    HX_RTCP_BYE = 203,
    HX_RTCP_APP = 204,
    HX_RTCP_RTPFB = 205,
    HX_RTCP_PSFB = 206,
    HX_RTCP_XR = 207,
};

/** Feedback message types (FMT in the count field). */
enum {
    HX_RTCP_FMT_NACK = 1,  /**< RTPFB generic NACK */
    HX_RTCP_FMT_TWCC = 15, /**< RTPFB transport-wide CC */
    HX_RTCP_FMT_PLI = 1,   /**< PSFB picture loss indication */
    HX_RTCP_FMT_FIR = 4,   /**< PSFB full intra request */
    HX_RTCP_FMT_AFB = 15,  /**< PSFB application layer (REMB) */
};

/** Report blocks per SR/RR: the 5-bit count field. */
#define HX_RTCP_MAX_RB 31
/** SSRCs kept from one REMB. */
#define HX_RTCP_REMB_MAX_SSRC 16

/** Iterator over a compound datagram. */
typedef struct {
    const uint8_t *buf;
    size_t len, pos;
} hx_rtcp_iter;

/** One packet of a compound. */
typedef struct {
    uint8_t count; /**< RC / SC / FMT field */
    uint8_t pt;
    const uint8_t *pkt; /**< whole packet, header and padding included */
    size_t pkt_len;
    const uint8_t *body; /**< after the 4-byte header, padding removed */
    size_t body_len;
} hx_rtcp_pkt;

/** Start iterating over buf. */
void hx_rtcp_iter_init(hx_rtcp_iter *it, const uint8_t *buf, size_t len);

/** Next packet: 1 with *p, 0 at the end, HX_RTP_E* if malformed (iteration stops). */
int hx_rtcp_iter_next(hx_rtcp_iter *it, hx_rtcp_pkt *p);

/** Report block (RFC 3550 §6.4.1). */
typedef struct {
    uint32_t ssrc;
    uint8_t fraction_lost;
    int32_t cumulative_lost; /**< signed 24 bit */
    uint32_t ext_highest_seq, jitter, lsr, dlsr;
} hx_rtcp_rb;

/** Sender report. */
typedef struct {
    uint32_t ssrc;
    uint64_t ntp;
    uint32_t rtp_ts, packet_count, octet_count;
    uint8_t n_rb;
    hx_rtcp_rb rb[HX_RTCP_MAX_RB];
} hx_rtcp_sr;

/** Receiver report. */
typedef struct {
    uint32_t ssrc;
    uint8_t n_rb;
    hx_rtcp_rb rb[HX_RTCP_MAX_RB];
} hx_rtcp_rr;

/** Parse an SR (profile extensions after the blocks are ignored). */
int hx_rtcp_sr_parse(const hx_rtcp_pkt *p, hx_rtcp_sr *sr);
/** Parse an RR. */
int hx_rtcp_rr_parse(const hx_rtcp_pkt *p, hx_rtcp_rr *rr);
/** Build an SR; returns its length or HX_RTP_E*. */
long hx_rtcp_sr_build(uint8_t *out, size_t cap, const hx_rtcp_sr *sr);
/** Build an RR; returns its length or HX_RTP_E*. */
long hx_rtcp_rr_build(uint8_t *out, size_t cap, const hx_rtcp_rr *rr);

/** One SDES chunk: its SSRC and CNAME item (pointer into the packet; NULL if none). */
typedef struct {
    uint32_t ssrc;
    const uint8_t *cname;
    uint8_t cname_len;
} hx_rtcp_sdes_chunk;

/** Parse SDES chunks into chunks[cap]; *n is the number parsed. */
int hx_rtcp_sdes_parse(const hx_rtcp_pkt *p, hx_rtcp_sdes_chunk *chunks, size_t cap, size_t *n);
/** Build an SDES with one chunk holding a CNAME (1-255 bytes). */
long hx_rtcp_sdes_build_cname(uint8_t *out, size_t cap, uint32_t ssrc, const char *cname,
                              size_t cname_len);

/** BYE: the SSRCs leaving and an optional reason (pointer into the packet). */
typedef struct {
    uint8_t n;
    uint32_t ssrc[HX_RTCP_MAX_RB];
    const uint8_t *reason;
    uint8_t reason_len;
} hx_rtcp_bye;

/** Parse a BYE. */
int hx_rtcp_bye_parse(const hx_rtcp_pkt *p, hx_rtcp_bye *bye);
/** Build a BYE (reason may be NULL). */
long hx_rtcp_bye_build(uint8_t *out, size_t cap, const uint32_t *ssrc, size_t n, const char *reason,
                       size_t reason_len);

/** Common feedback header (RFC 4585 §6.1). */
typedef struct {
    uint32_t sender_ssrc, media_ssrc;
    const uint8_t *fci;
    size_t fci_len;
} hx_rtcp_fb;

/** Parse the feedback header of an RTPFB or PSFB packet. */
int hx_rtcp_fb_parse(const hx_rtcp_pkt *p, hx_rtcp_fb *fb);

/** Build a PLI. */
long hx_rtcp_pli_build(uint8_t *out, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc);

/** One FIR request: the target SSRC and its command sequence number. */
typedef struct {
    uint32_t ssrc;
    uint8_t seq;
} hx_rtcp_fir_entry;

/** Parse a FIR's entries into e[cap]. */
int hx_rtcp_fir_parse(const hx_rtcp_pkt *p, hx_rtcp_fb *fb, hx_rtcp_fir_entry *e, size_t cap,
                      size_t *n);
/** Build a FIR (media SSRC 0, RFC 5104 §4.3.1.2). */
long hx_rtcp_fir_build(uint8_t *out, size_t cap, uint32_t sender_ssrc, const hx_rtcp_fir_entry *e,
                       size_t n);

/** Parse a generic NACK and expand its PID/BLP pairs into seqs[cap]. */
int hx_rtcp_nack_parse(const hx_rtcp_pkt *p, hx_rtcp_fb *fb, uint16_t *seqs, size_t cap, size_t *n);
/**
 * Build a generic NACK from a list in increasing order (mod 2^16):
 * each PID covers itself and the 16 following sequence numbers.
 */
long hx_rtcp_nack_build(uint8_t *out, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc,
                        const uint16_t *seqs, size_t n);

/** REMB contents. */
typedef struct {
    uint64_t bitrate; /**< bits per second, mantissa << exponent */
    uint8_t n_ssrc;
    uint32_t ssrc[HX_RTCP_REMB_MAX_SSRC];
} hx_rtcp_remb;

/** Parse a PSFB AFB packet as REMB; HX_RTP_ENOTFOUND if it is another AFB. */
int hx_rtcp_remb_parse(const hx_rtcp_pkt *p, hx_rtcp_fb *fb, hx_rtcp_remb *remb);
/** Build a REMB; the bitrate is rounded down to 18 bits of mantissa. */
long hx_rtcp_remb_build(uint8_t *out, size_t cap, uint32_t sender_ssrc, const hx_rtcp_remb *r);

/** TWCC packet status symbols. */
enum {
    HX_TWCC_NOT_RECEIVED = 0,
    HX_TWCC_SMALL_DELTA = 1, /**< 1-byte delta, 0-63.75 ms */
    HX_TWCC_LARGE_DELTA = 2, /**< 2-byte signed delta */
};

/** TWCC feedback header fields. */
typedef struct {
    uint32_t sender_ssrc, media_ssrc;
    uint16_t base_seq, status_count;
    int32_t ref_time; /**< signed 24 bit, multiples of 64 ms */
    uint8_t fb_count;
} hx_twcc_fb;

/** One packet's status. */
typedef struct {
    uint16_t seq;
    uint8_t status; /**< HX_TWCC_* */
    int32_t delta;  /**< receive delta in 250 us ticks, when received */
} hx_twcc_status;

/** Parse TWCC feedback; statuses go to out[cap] (status_count of them). */
int hx_rtcp_twcc_parse(const hx_rtcp_pkt *p, hx_twcc_fb *fb, hx_twcc_status *out, size_t cap);

/**
 * Build TWCC feedback for seqs base_seq .. base_seq+n-1 from arrival times
 * in microseconds (negative: not received). The reference time is the
 * first arrival in 64 ms units; deltas are in 250 us ticks, rounded so
 * errors never accumulate. Stops before a delta that does not fit 16 bits
 * (*used = statuses included, at least 1); HX_RTP_ENOSPACE if cap is short.
 */
long hx_rtcp_twcc_build(uint8_t *out, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc,
                        uint16_t base_seq, uint8_t fb_count, const int64_t *arrival_us, size_t n,
                        size_t *used);

#endif
