/*
 * Video payload inspection for the SFU: does this RTP payload start a
 * keyframe (layer switches wait for one; PLI answers are checked with
 * it), the VP8 payload descriptor fields a simulcast switch rewrites
 * (picture id, TL0PICIDX) so the subscriber's decoder sees one stream,
 * and the VP9 descriptor's layer fields SVC selection reads (vp9.c).
 *
 * All functions take the RTP payload (hx_rtp_hdr payload_offset/len),
 * are pure and never allocate; malformed payloads return HX_RTP_E*.
 */
#ifndef HX_RTP_KEYFRAME_H
#define HX_RTP_KEYFRAME_H

#include "rtp/rtp.h"

#include <stddef.h>
#include <stdint.h>

/** Video codecs the SFU forwards. */
typedef enum {
    HX_CODEC_OTHER = 0,
    HX_CODEC_VP8,
    HX_CODEC_VP9,
    HX_CODEC_H264,
    HX_CODEC_AV1,
} hx_video_codec;

/** 1 if the payload is the first packet of a keyframe, 0 if not, HX_RTP_E* if malformed. */
int hx_keyframe_start(hx_video_codec codec, const uint8_t *payload, size_t len);

/** VP8 payload descriptor (RFC 7741 §4.2) fields and where they are. */
typedef struct {
    uint8_t non_ref, start, pid;             /**< N, S, partition index */
    uint8_t has_picture_id, picture_id_long; /**< I, M (15-bit id) */
    uint16_t picture_id;
    uint8_t has_tl0, tl0picidx;
    uint8_t has_tid, tid, layer_sync; /**< T: TID, Y */
    uint8_t has_keyidx, keyidx;
    size_t picture_id_off, tl0_off; /**< byte offsets in the payload */
    size_t hdr_len;                 /**< descriptor length: the VP8 payload follows */
    uint8_t keyframe;               /**< S=1, PID=0 and the payload header's P bit 0 */
} hx_vp8_desc;

/** Parse the VP8 payload descriptor (and the payload header's P bit). */
int hx_vp8_parse(const uint8_t *payload, size_t len, hx_vp8_desc *d);

/**
 * The frame size a VP8 keyframe's first packet carries (RFC 6386 §9.1: after the 3-byte frame
 * tag, the start code 9d 01 2a and 14-bit width and height). 0, HX_RTP_ENOTFOUND when the
 * packet does not start a keyframe, HX_RTP_ETRUNC / HX_RTP_EINVAL when it is cut or malformed.
 */
int hx_vp8_keyframe_size(const uint8_t *payload, size_t len, uint16_t *width, uint16_t *height);

/** Rewrite the picture id in place (kept at its width: 7 bits wrap at 128). */
int hx_vp8_set_picture_id(uint8_t *payload, const hx_vp8_desc *d, uint16_t picture_id);

/** Rewrite TL0PICIDX in place. */
int hx_vp8_set_tl0picidx(uint8_t *payload, const hx_vp8_desc *d, uint8_t tl0picidx);

/** Per-subscriber VP8 continuity across simulcast switches and dropped pictures. */
typedef struct {
    int started, switch_pending;
    uint16_t pid_offset, last_pid; /**< 15-bit arithmetic */
    uint8_t tl0_offset, last_tl0;
    uint8_t dropped;     /**< a picture was dropped: every packet needs rewriting since */
    uint16_t drop_pid;   /**< the source picture id dropped last */
    int32_t out_pid;     /**< the picture id the last rewrite wrote; -1: none */
} hx_vp8_rewriter;

/** Start with no offsets. */
void hx_vp8_rw_init(hx_vp8_rewriter *rw);

/** The next packet rewritten starts a new source (layer switch). */
void hx_vp8_rw_switch(hx_vp8_rewriter *rw);

/**
 * Rewrite picture id and TL0PICIDX of a forwarded packet in place so they
 * continue at last+1 across switches. 0 or HX_RTP_E*.
 */
int hx_vp8_rw_rewrite(hx_vp8_rewriter *rw, uint8_t *payload, size_t len);

/**
 * A packet is not forwarded (a temporal layer dropped): the picture ids after its picture move
 * down by one, so the subscriber sees no gap (as mediasoup does). Only T1+ pictures are dropped:
 * TL0PICIDX keeps counting. Packets of one picture count once. d: the packet's descriptor, as
 * hx_vp8_parse read it (the forward path has it already).
 */
void hx_vp8_rw_drop(hx_vp8_rewriter *rw, const hx_vp8_desc *d);

/**
 * A retransmission: write picture id `pid` (as it was sent) and TL0PICIDX with the current
 * offset into the payload, without touching the rewriter's state. 0 or HX_RTP_E*.
 */
int hx_vp8_rw_resend(const hx_vp8_rewriter *rw, uint8_t *payload, size_t len, uint16_t pid);

/** VP9 payload descriptor (RFC 9628 §4.2) fields an SFU selects spatial layers with. */
typedef struct {
    uint8_t inter, has_layers, flexible, begin, end, has_ss, not_ref; /**< P L F B E V Z */
    uint8_t has_picture_id;
    uint16_t picture_id;
    uint8_t tid, switch_up, sid, inter_layer; /**< layer byte: TID U SID D (0 without L) */
    uint8_t ss_layers;                        /**< N_S + 1 from the scalability structure */
    uint16_t ss_width[8], ss_height[8];       /**< per spatial layer, when the SS has Y */
    size_t hdr_len;                           /**< descriptor length: the VP9 frame follows */
    uint8_t keyframe;                         /**< B=1, P=0 in spatial layer 0 */
} hx_vp9_desc;

/** Parse the VP9 payload descriptor, scalability structure included. */
int hx_vp9_parse(const uint8_t *payload, size_t len, hx_vp9_desc *d);

#endif
