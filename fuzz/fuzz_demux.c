/*
 * libFuzzer target for the media-port demultiplexer (rtp/demux) and the
 * dispatch behind it: the classifier must agree with RFC 7983's byte
 * ranges, and whatever it calls RTP or RTCP goes to that parser, which
 * must then at least accept the fixed header (the classifier's length
 * promise) or reject the rest with an error code, never crash.
 * The seed corpus (fuzz/corpus/demux) holds one datagram of each kind.
 */
#include "rtp/demux.h"
#include "rtp/rtcp.h"
#include "rtp/rtp.h"

#include <stdlib.h>

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) abort();                                                                         \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hx_pkt_kind k = hx_pkt_classify(data, size);
    CHECK(hx_pkt_kind_name(k) != NULL);
    uint8_t b = size ? data[0] : 0;
    switch (k) {
    case HX_PKT_STUN:
        CHECK(b <= 3 && size >= 20);
        break;
    case HX_PKT_DTLS:
        CHECK(b >= 20 && b <= 63 && size >= 13);
        break;
    case HX_PKT_TURN_CHANNEL:
        CHECK(b >= 64 && b <= 79 && size >= 4);
        break;
    case HX_PKT_RTP: {
        CHECK(b >= 128 && b <= 191 && size >= 12 && (data[1] < 192 || data[1] > 223));
        hx_rtp_hdr h;
        int rc = hx_rtp_parse(data, size, &h);
        CHECK(rc == HX_RTP_OK || rc == HX_RTP_ETRUNC || rc == HX_RTP_EPADDING);
        if (rc == HX_RTP_OK) {
            size_t pos = 0;
            hx_rtp_ext e;
            while (hx_rtp_ext_next(data, &h, &pos, &e) == 1)
                CHECK(e.offset + e.len <= h.payload_offset);
        }
        break;
    }
    case HX_PKT_RTCP: {
        CHECK(b >= 128 && b <= 191 && data[1] >= 192 && data[1] <= 223);
        hx_rtcp_iter it;
        hx_rtcp_pkt p;
        int rc, first = 1;
        hx_rtcp_iter_init(&it, data, size);
        while ((rc = hx_rtcp_iter_next(&it, &p)) == 1) {
            hx_rtcp_fb fb;
            if (first) CHECK(p.pt == data[1]);
            first = 0;
            if (p.pt == HX_RTCP_RTPFB || p.pt == HX_RTCP_PSFB)
                CHECK(hx_rtcp_fb_parse(&p, &fb) == HX_RTP_OK || p.body_len < 8);
        }
        CHECK(rc <= 0);
        break;
    }
    default:
        CHECK(size == 0 || !((b <= 3 && size >= 20) || (b >= 128 && b <= 191 && size >= 12)));
    }
    return 0;
}
