/*
 * Keyframe-start detection per codec, from the RTP payload alone.
 *
 * VP8 (RFC 7741): S=1, partition 0, payload header P bit 0 (vp8.c).
 * VP9 (RFC 9628 §4.2): descriptor byte I P L F B E V Z; a keyframe starts
 *   where B=1 (first packet of a frame) and P=0 (not inter-predicted) in
 *   spatial layer 0 (SID in the layer byte, present when L=1). I (picture
 *   id, 7 or 15 bits) only matters to find the layer byte.
 * H.264 (RFC 6184 §5): NAL type in the low 5 bits; an IDR slice (5) or an
 *   SPS (7) as a single NAL unit, inside a STAP-A (24: 16-bit size +
 *   NAL, repeated), or as the start of an FU-A (28: FU header S bit).
 *   Browsers send SPS/PPS/IDR in one STAP-A or SPS first.
 * AV1 (AV1 RTP spec §4.4): aggregation header Z Y W(2) N; N=1 starts a
 *   new coded video sequence, which begins with a keyframe. A packet whose
 *   first OBU (Z=0) is a sequence header (type 1) counts too, for senders
 *   that do not set N. With W=1 the only element has no length field,
 *   otherwise each element but the W-th is LEB128 length-prefixed.
 */
#include "rtp/keyframe.h"

static int vp9_start(const uint8_t *p, size_t len)
{
    hx_vp9_desc d;
    int rc = hx_vp9_parse(p, len, &d); /* vp9.c */
    return rc < 0 ? rc : d.keyframe;
}

static int h264_key_nal(uint8_t nal)
{
    uint8_t t = nal & 0x1f;
    return t == 5 || t == 7;
}

static int h264_start(const uint8_t *p, size_t len)
{
    if (len < 1) return HX_RTP_ETRUNC;
    uint8_t type = p[0] & 0x1f;
    if (type >= 1 && type <= 23) return h264_key_nal(p[0]);
    if (type == 24) {
        for (size_t pos = 1; pos < len;) {
            if (len - pos < 2) return HX_RTP_ETRUNC;
            size_t n = (size_t)p[pos] << 8 | p[pos + 1];
            pos += 2;
            if (n == 0 || n > len - pos) return HX_RTP_ETRUNC;
            if (h264_key_nal(p[pos])) return 1;
            pos += n;
        }
        return 0;
    }
    if (type == 28) {
        if (len < 2) return HX_RTP_ETRUNC;
        return (p[1] & 0x80) && h264_key_nal(p[1]);
    }
    return 0;
}

#define AV1_OBU_SEQUENCE_HEADER 1

static int av1_start(const uint8_t *p, size_t len)
{
    if (len < 1) return HX_RTP_ETRUNC;
    uint8_t agg = p[0];
    if (agg & 0x08) return 1;
    if (agg & 0x80) return 0; /* the first OBU continues one from an earlier packet */
    size_t pos = 1;
    if ((agg >> 4 & 3) != 1) {
        uint64_t n = 0;
        int i = 0;
        for (;; i++) {
            if (pos >= len || i == 8) return HX_RTP_ETRUNC;
            uint8_t b = p[pos++];
            n |= (uint64_t)(b & 0x7f) << (7 * i);
            if (!(b & 0x80)) break;
        }
        if (n == 0 || n > len - pos) return HX_RTP_ETRUNC;
    }
    if (pos >= len) return HX_RTP_ETRUNC;
    return (p[pos] >> 3 & 0xf) == AV1_OBU_SEQUENCE_HEADER;
}

int hx_keyframe_start(hx_video_codec codec, const uint8_t *payload, size_t len)
{
    if (!payload) return HX_RTP_ETRUNC;
    switch (codec) {
    case HX_CODEC_VP8: {
        hx_vp8_desc d;
        int rc = hx_vp8_parse(payload, len, &d);
        return rc < 0 ? rc : d.keyframe;
    }
    case HX_CODEC_VP9:
        return vp9_start(payload, len);
    case HX_CODEC_H264:
        return h264_start(payload, len);
    case HX_CODEC_AV1:
        return av1_start(payload, len);
    default:
        return 0;
    }
}
