/*
 * Codec capability matching. An SFU does not decode, but every subscriber
 * must be able to decode what a publisher sends, so hearth accepts only
 * the codecs and codec variants in its capability list.
 *
 * H.264 follows RFC 6184 §8.1 as libwebrtc applies it (H264ProfileLevelId):
 * profile-level-id is profile_idc, profile-iop (the constraint flags),
 * level_idc. The profile is the pair (profile_idc, constraint flags) looked
 * up in a table of bit patterns; two variants match when their profiles and
 * their packetization-mode agree, whatever their levels (with
 * level-asymmetry-allowed each side may receive at its own level). An
 * absent profile-level-id means Constrained Baseline, as in libwebrtc.
 */
#include "sdp/negotiate.h"
#include "sdp/sdp_internal.h"

#include <stdlib.h>
#include <string.h>

static const hx_sdp_codec_cap default_caps[] = {
    {HX_SDP_AUDIO, "opus", 48000, 2, NULL},
    {HX_SDP_AUDIO, "red", 48000, 2, NULL},
    {HX_SDP_VIDEO, "VP8", 90000, 0, NULL},
    {HX_SDP_VIDEO, "H264", 90000, 0, "packetization-mode=1;profile-level-id=42e01f"},
    {HX_SDP_VIDEO, "H264", 90000, 0, "packetization-mode=1;profile-level-id=42001f"},
    {HX_SDP_VIDEO, "H264", 90000, 0, "packetization-mode=1;profile-level-id=4d001f"},
    {HX_SDP_VIDEO, "H264", 90000, 0, "packetization-mode=1;profile-level-id=64001f"},
    {HX_SDP_VIDEO, "VP9", 90000, 0, "profile-id=0"},
    {HX_SDP_VIDEO, "AV1", 90000, 0, "profile=0"},
};

const hx_sdp_codec_cap *hx_sdp_default_caps(size_t *n)
{
    *n = sizeof default_caps / sizeof default_caps[0];
    return default_caps;
}

/* libwebrtc's kProfilePatterns: profile_idc, then constraint-flag bits as a mask/value. */
static const struct {
    uint8_t idc;
    const char *bits; /* constraint_set0 first; 'x' any */
    hx_h264_profile profile;
} patterns[] = {
    {0x42, "x1xx0000", HX_H264_CONSTRAINED_BASELINE},
    {0x4D, "1xxx0000", HX_H264_CONSTRAINED_BASELINE},
    {0x58, "11xx0000", HX_H264_CONSTRAINED_BASELINE},
    {0x42, "x0xx0000", HX_H264_BASELINE},
    {0x58, "10xx0000", HX_H264_BASELINE},
    {0x4D, "0x0x0000", HX_H264_MAIN},
    {0x64, "00000000", HX_H264_HIGH},
    {0x64, "00001100", HX_H264_CONSTRAINED_HIGH},
    {0xF4, "00000000", HX_H264_PREDICTIVE_HIGH_444},
};

static bool bits_match(const char *bits, uint8_t v)
{
    for (int i = 0; i < 8; i++) {
        int bit = (v >> (7 - i)) & 1;
        if (bits[i] != 'x' && bits[i] - '0' != bit) return false;
    }
    return true;
}

hx_h264_profile hx_sdp_h264_profile(const char *fmtp)
{
    char v[16];
    if (hx_sdp_fmtp_get(fmtp, "profile-level-id", v, sizeof v) != 0)
        return HX_H264_CONSTRAINED_BASELINE;
    if (strlen(v) != 6) return HX_H264_NONE;
    for (int i = 0; i < 6; i++)
        if (!strchr("0123456789abcdefABCDEF", v[i])) return HX_H264_NONE;
    unsigned long plid = strtoul(v, NULL, 16);
    uint8_t idc = (uint8_t)(plid >> 16), iop = (uint8_t)(plid >> 8), level = (uint8_t)plid;
    if (level == 0) return HX_H264_NONE;
    for (size_t i = 0; i < sizeof patterns / sizeof patterns[0]; i++)
        if (patterns[i].idc == idc && bits_match(patterns[i].bits, iop)) return patterns[i].profile;
    return HX_H264_NONE;
}

/* An fmtp number parameter with a default for absence; -1 when malformed. */
static long fmtp_num(const char *fmtp, const char *key, long dflt)
{
    char v[16], *end;
    if (!fmtp || hx_sdp_fmtp_get(fmtp, key, v, sizeof v) != 0) return dflt;
    long n = strtol(v, &end, 10);
    return (end == v || *end || n < 0) ? -1 : n;
}

bool hx_sdp_codec_match(hx_sdp_kind kind, const hx_sdp_codec *c, const hx_sdp_codec_cap *cap)
{
    if (cap->kind != kind || !hx__sdp_ieq(c->name, cap->name) || c->clock != cap->clock)
        return false;
    unsigned ch = c->channels ? c->channels : 1;
    if (cap->channels && ch != cap->channels) return false;
    const char *want = cap->fmtp ? cap->fmtp : "";
    if (hx__sdp_ieq(cap->name, "H264")) {
        long pm = fmtp_num(c->fmtp, "packetization-mode", 0);
        hx_h264_profile p = hx_sdp_h264_profile(c->fmtp);
        return p != HX_H264_NONE && pm == fmtp_num(want, "packetization-mode", 0) &&
               p == hx_sdp_h264_profile(want);
    }
    if (hx__sdp_ieq(cap->name, "VP9")) {
        long p = fmtp_num(c->fmtp, "profile-id", 0);
        return p >= 0 && p == fmtp_num(want, "profile-id", 0);
    }
    if (hx__sdp_ieq(cap->name, "AV1")) {
        long p = fmtp_num(c->fmtp, "profile", 0);
        return p >= 0 && p == fmtp_num(want, "profile", 0);
    }
    return true;
}

static const char *const ext_uris[HX_SDP_EXT_COUNT] = {
    HX_SDP_EXT_MID_URI,           HX_SDP_EXT_RID_URI, HX_SDP_EXT_RRID_URI,
    HX_SDP_EXT_ABS_SEND_TIME_URI, HX_SDP_EXT_TCC_URI, HX_SDP_EXT_AUDIO_LEVEL_URI,
    HX_SDP_EXT_DD_URI,
};

int hx_sdp_ext_from_uri(const char *uri)
{
    for (int i = 0; i < HX_SDP_EXT_COUNT; i++)
        if (strcmp(uri, ext_uris[i]) == 0) return i;
    return -1;
}
