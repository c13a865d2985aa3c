/*
 * The dependency descriptor RTP header extension (AV1 RTP specification,
 * appendix A: https://aomediacodec.github.io/av1-rtp-spec/#appendix): what
 * an SFU needs to pick layers of an AV1 (or any) SVC stream without reading
 * its payload. Every packet carries its frame's start/end flags, frame
 * number and template id; the first packet of a keyframe also carries the
 * template dependency structure, which later packets refer to. The
 * structure is kept by the caller (one per stream) and passed back in.
 *
 * Pure, no allocation; malformed input returns HX_RTP_E*.
 */
#ifndef HX_RTP_DD_H
#define HX_RTP_DD_H

#include "rtp/rtp.h"

#include <stddef.h>
#include <stdint.h>

#define HX_DD_MAX_TEMPLATES 64 /**< template ids are 6 bits */
#define HX_DD_MAX_DT 32        /**< decode targets: dt_cnt_minus_one is 5 bits */
#define HX_DD_MAX_SPATIAL 4    /**< AV1's spatial ids 0-3 */

/** A template dependency structure (spec A.8.2), as far as layer selection needs it. */
typedef struct {
    uint8_t valid;
    uint8_t id_offset;   /**< template_id_offset */
    uint8_t dt_cnt;      /**< decode targets */
    uint8_t n_templates; /**< TemplateCnt */
    uint8_t chain_cnt;
    uint8_t max_sid, max_tid;
    uint8_t sid[HX_DD_MAX_TEMPLATES], tid[HX_DD_MAX_TEMPLATES]; /**< per template */
    uint8_t fdiff_cnt[HX_DD_MAX_TEMPLATES];                     /**< per template */
    uint8_t has_sizes;
    uint16_t width[HX_DD_MAX_SPATIAL], height[HX_DD_MAX_SPATIAL]; /**< render size per sid */
} hx_dd_structure;

/** One packet's descriptor: the frame it belongs to. */
typedef struct {
    uint8_t start, end;    /**< first / last packet of the frame */
    uint16_t frame_number; /**< 16-bit, wraps */
    uint8_t template_id;   /**< frame_dependency_template_id */
    uint8_t sid, tid;      /**< the frame's spatial and temporal id */
    uint8_t n_fdiffs;      /**< frames it references (0: an intra frame) */
    uint8_t has_structure; /**< this packet carried a new structure */
    uint8_t has_active;    /**< ...and an active_decode_targets_bitmask */
    uint32_t active;       /**< that bitmask (all targets when not sent) */
    uint8_t keyframe;      /**< start of an intra frame in spatial layer 0 */
} hx_dd_frame;

/**
 * Parse one dependency descriptor (the extension element's value). known is
 * the stream's last structure (NULL or !valid: none yet). A structure in the
 * packet is parsed into *fresh (which may alias known) and used for this
 * frame; the caller keeps it for the next packets. HX_RTP_OK, or
 * HX_RTP_EINVAL / HX_RTP_ETRUNC (no structure to refer to, a template id
 * outside it, a malformed field). On failure neither *fresh nor *f is valid.
 */
int hx_dd_parse(const uint8_t *p, size_t len, const hx_dd_structure *known, hx_dd_structure *fresh,
                hx_dd_frame *f);

#endif
