/*
 * Dependency descriptors (AV1 RTP specification, appendix A) written for
 * tests and fuzz seeds, independently of src/rtp/dd.c: a three-spatial,
 * three-temporal structure shaped like Chromium's L3T3 (ten templates,
 * nine decode targets, a chain per spatial layer, 320x180 / 640x360 /
 * 1280x720), and frame descriptors that refer to it.
 *
 * Templates (index: spatial, temporal, frame diffs):
 *   0: S0 T0 none (a keyframe)  1: S0 T0 4   2: S0 T1 2     3: S0 T2 1
 *   4: S1 T0 1                  5: S1 T1 1,2 6: S1 T2 1,1
 *   7: S2 T0 1                  8: S2 T1 1,2 9: S2 T2 1,1
 */
#ifndef HX_TESTS_SUPPORT_DD_WRITER_H
#define HX_TESTS_SUPPORT_DD_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DDW_TEMPLATES 10
#define DDW_TARGETS 9

typedef struct {
    bool start, end;
    int template_index; /* 0..DDW_TEMPLATES-1 (or beyond, to test refusal) */
    uint16_t frame_number;
    uint8_t id_offset; /* the structure's template_id_offset */
    bool structure;    /* attach the structure */
    bool sizes;        /* ...with render resolutions */
    bool active;       /* an active_decode_targets_bitmask */
    uint32_t active_mask;
    int custom_fdiffs; /* > 0: that many custom frame diffs (1 each); -1: custom, none */
    bool extended;     /* the extended fields even without anything in them */
} ddw_args;

/** Write a descriptor into out[cap]. Its length in bytes, or 0 when cap is too small. */
size_t ddw_write(uint8_t *out, size_t cap, const ddw_args *a);

/** The template index of a spatial/temporal layer in the structure above (T0: the delta one). */
int ddw_template(int sid, int tid);

#endif
