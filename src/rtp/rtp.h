/*
 * RTP packets (RFC 3550 §5.1) and their header extensions (RFC 8285).
 *
 * Everything here is a pure codec over caller memory: parsing reads
 * `const uint8_t *buf, size_t len` and reports offsets into it; rewriting
 * changes bytes in place; building writes into a caller buffer. Nothing
 * allocates, so the SFU calls these per packet.
 *
 * A parsed header (hx_rtp_hdr) is only valid for the buffer it was parsed
 * from; after any call that moves bytes (extension removal) the call
 * updates it, after anything else it stays valid.
 */
#ifndef HX_RTP_RTP_H
#define HX_RTP_RTP_H

#include <stddef.h>
#include <stdint.h>

/** Largest packet the module handles (cache entries, RTX, builders). */
#define HX_RTP_MAX_PACKET 1500
/** Fixed RTP header length. */
#define HX_RTP_HEADER_LEN 12
/** One-byte extension profile (RFC 8285 §4.2). */
#define HX_RTP_EXT_ONE_BYTE 0xBEDE
/** Two-byte extension profile, upper 12 bits (RFC 8285 §4.3); low 4 are app bits. */
#define HX_RTP_EXT_TWO_BYTE 0x1000

/** Errors of the rtp module (also used by rtcp, cache, keyframe). */
enum {
    HX_RTP_OK = 0,
    HX_RTP_ETRUNC = -1,    /**< a length runs past the buffer */
    HX_RTP_EVERSION = -2,  /**< version is not 2 */
    HX_RTP_EPADDING = -3,  /**< padding count 0 or larger than the payload */
    HX_RTP_EINVAL = -4,    /**< a field value the format forbids */
    HX_RTP_ENOTFOUND = -5, /**< no such extension / item */
    HX_RTP_ENOSPACE = -6,  /**< output buffer or fixed table too small */
};

/** A static description of an HX_RTP_* error. */
const char *hx_rtp_strerror(int err);

/** A parsed RTP header: fields, and offsets into the parsed buffer. */
typedef struct {
    uint8_t padding, extension, csrc_count, marker, pt;
    uint16_t seq;
    uint32_t ts, ssrc;
    uint16_t ext_profile;  /**< 0 when there is no extension block */
    size_t ext_offset;     /**< start of the extension data (after profile+length) */
    size_t ext_len;        /**< extension data length, a multiple of 4 */
    size_t payload_offset; /**< first payload byte */
    size_t payload_len;    /**< payload bytes, padding removed */
    uint8_t padding_len;   /**< trailing padding bytes including the count byte */
} hx_rtp_hdr;

/** Parse and bounds-check an RTP packet. 0 or HX_RTP_E*. */
int hx_rtp_parse(const uint8_t *buf, size_t len, hx_rtp_hdr *h);

/** Rewrite header fields in place; buf must hold at least HX_RTP_HEADER_LEN bytes. */
void hx_rtp_set_ssrc(uint8_t *buf, uint32_t ssrc);
/** Rewrite the sequence number in place. */
void hx_rtp_set_seq(uint8_t *buf, uint16_t seq);
/** Rewrite the timestamp in place. */
void hx_rtp_set_ts(uint8_t *buf, uint32_t ts);
/** Rewrite the payload type (0-127) in place. */
void hx_rtp_set_pt(uint8_t *buf, uint8_t pt);
/** Set or clear the marker bit in place. */
void hx_rtp_set_marker(uint8_t *buf, int marker);

/** One extension element, for building and iterating. */
typedef struct {
    uint8_t id;
    uint8_t len;        /**< value length (one-byte form: 1-16) */
    const uint8_t *val; /**< builder input; iteration sets it into the buffer */
    size_t offset;      /**< iteration: offset of the value in the packet */
} hx_rtp_ext;

/**
 * Next element of the extension block. *pos starts at 0 and is kept by
 * the caller. Returns 1 with *e filled, 0 at the end, HX_RTP_E* if
 * malformed. Padding bytes are skipped; one-byte id 15 ends the block.
 */
int hx_rtp_ext_next(const uint8_t *buf, const hx_rtp_hdr *h, size_t *pos, hx_rtp_ext *e);

/** Find the first element with this id: 0 with *e, HX_RTP_ENOTFOUND or an error. */
int hx_rtp_ext_find(const uint8_t *buf, const hx_rtp_hdr *h, uint8_t id, hx_rtp_ext *e);

/**
 * Read a string extension (mid, rid, repaired-rid: RFC 8852/9143) into out
 * as a NUL-terminated string. Returns its length or HX_RTP_E*
 * (HX_RTP_ENOSPACE if cap <= length).
 */
int hx_rtp_ext_string(const uint8_t *buf, const hx_rtp_hdr *h, uint8_t id, char *out, size_t cap);

/** abs-send-time: 24-bit 6.18 fixed point seconds. 0 or HX_RTP_E*. */
int hx_rtp_ext_abs_send_time(const uint8_t *buf, const hx_rtp_hdr *h, uint8_t id, uint32_t *v);

/** Transport-wide sequence number (16 bit). 0 or HX_RTP_E*. */
int hx_rtp_ext_twcc_seq(const uint8_t *buf, const hx_rtp_hdr *h, uint8_t id, uint16_t *v);

/** Client-to-mixer audio level (RFC 6464): V flag and level in -dBov (0-127). */
int hx_rtp_ext_audio_level(const uint8_t *buf, const hx_rtp_hdr *h, uint8_t id, int *voice,
                           uint8_t *level);

/** Overwrite the value of an existing element; len must equal its length. */
int hx_rtp_ext_set(uint8_t *buf, const hx_rtp_hdr *h, uint8_t id, const uint8_t *val, size_t len);

/** Overwrite an existing abs-send-time element. */
int hx_rtp_ext_set_abs_send_time(uint8_t *buf, const hx_rtp_hdr *h, uint8_t id, uint32_t v);

/** Overwrite an existing transport-wide sequence number element. */
int hx_rtp_ext_set_twcc_seq(uint8_t *buf, const hx_rtp_hdr *h, uint8_t id, uint16_t v);

/**
 * Set element id to val[vlen]: overwritten where it exists (same length), else appended to the
 * block (one-byte form when the packet has none; padding at the block's end is reused), the
 * payload moved up. cap is buf's size. *len and *h are updated; on error nothing has changed.
 */
int hx_rtp_ext_put(uint8_t *buf, size_t *len, size_t cap, hx_rtp_hdr *h, uint8_t id,
                   const uint8_t *val, size_t vlen);

/** What hx_rtp_ext_remap does with ids that map to 0. */
typedef enum {
    HX_EXT_UNKNOWN_PAD = 0, /**< overwrite the element with padding bytes, length unchanged */
    HX_EXT_UNKNOWN_REMOVE,  /**< remove it; the packet shrinks */
} hx_ext_unknown;

/**
 * Rewrite extension ids through map[id] (publisher id -> subscriber id for
 * the same URI; 0 = the subscriber did not negotiate it). In the one-byte
 * form mapped ids must be 1-14. With HX_EXT_UNKNOWN_REMOVE the packet is
 * compacted, *len and *h are updated, and a block left empty is removed
 * with the X bit. On error nothing has been changed.
 */
int hx_rtp_ext_remap(uint8_t *buf, size_t *len, hx_rtp_hdr *h, const uint8_t map[256],
                     hx_ext_unknown unknown);

/** Fields of a packet to build. */
typedef struct {
    uint8_t marker, pt;
    uint16_t seq;
    uint32_t ts, ssrc;
    const uint32_t *csrc;
    uint8_t csrc_count;    /**< 0-15 */
    const hx_rtp_ext *ext; /**< id + len + val; one-byte form if all fit, else two-byte */
    size_t n_ext;
    const uint8_t *payload;
    size_t payload_len;
    uint8_t padding; /**< trailing padding bytes including the count byte; 0 none */
} hx_rtp_build_args;

/** Build a packet into out. Returns its length or HX_RTP_E*. */
long hx_rtp_build(uint8_t *out, size_t cap, const hx_rtp_build_args *a);

#endif
