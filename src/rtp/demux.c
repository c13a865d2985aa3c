/*
 * Datagram classifier for the shared media port.
 *
 * RFC 7983 §7 assigns first-byte ranges: 0-3 STUN, 16-19 ZRTP (not used by
 * WebRTC, unknown here), 20-63 DTLS, 64-79 TURN ChannelData, 128-191
 * RTP/RTCP; the rest is dropped. Inside 128-191, RFC 5761 §4 separates RTCP
 * by its packet type byte: 192-223 are RTCP types (SR 200 ... PSFB 206,
 * XR 207), which RTP avoids by never using payload types 64-95 with the
 * marker bit set.
 *
 * A kind is reported only if the datagram can hold that kind's fixed
 * header (20 bytes STUN, 13 DTLS record header, 4 ChannelData, 12 RTP,
 * 4 RTCP), so the parser it is handed to never starts on a stub.
 */
#include "rtp/demux.h"

hx_pkt_kind hx_pkt_classify(const uint8_t *buf, size_t len)
{
    if (!buf || len == 0) return HX_PKT_UNKNOWN;
    uint8_t b = buf[0];
    if (b <= 3) return len >= 20 ? HX_PKT_STUN : HX_PKT_UNKNOWN;
    if (b >= 20 && b <= 63) return len >= 13 ? HX_PKT_DTLS : HX_PKT_UNKNOWN;
    if (b >= 64 && b <= 79) return len >= 4 ? HX_PKT_TURN_CHANNEL : HX_PKT_UNKNOWN;
    if (b >= 128 && b <= 191) {
        if (len < 4) return HX_PKT_UNKNOWN;
        if (buf[1] >= 192 && buf[1] <= 223) return HX_PKT_RTCP;
        return len >= 12 ? HX_PKT_RTP : HX_PKT_UNKNOWN;
    }
    return HX_PKT_UNKNOWN;
}

const char *hx_pkt_kind_name(hx_pkt_kind kind)
{
    switch (kind) {
    case HX_PKT_STUN:
        return "stun";
    case HX_PKT_DTLS:
        return "dtls";
    case HX_PKT_TURN_CHANNEL:
        return "turn-channel";
    case HX_PKT_RTP:
        return "rtp";
    case HX_PKT_RTCP:
        return "rtcp";
    default:
        return "unknown";
    }
}
