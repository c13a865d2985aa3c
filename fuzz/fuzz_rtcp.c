/*
 * libFuzzer target for RTCP: rtp/rtcp, rtp/rtcp_fb, rtp/rtcp_twcc.
 *
 * Each input is walked as a compound packet, and every packet is handed
 * to every sub-parser (each must reject what is not its type). Beyond
 * what the sanitizers catch it aborts when a promise breaks: a packet or
 * body outside the input, counts over their limits, an SR/RR that does
 * not rebuild to the same fields, a NACK whose set of seqs does not
 * survive compress/expand, a REMB whose rebuilt rate is larger than the parsed
 * one, or TWCC statuses that do not rebuild from their arrival times.
 * The seed corpus (fuzz/corpus/rtcp) holds the packets of tests/rtp:
 * compounds, reduced-size feedback, a captured TWCC and a Chrome REMB.
 */
#include "rtp/rtcp.h"

#include <stdlib.h>
#include <string.h>

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) abort();                                                                         \
    } while (0)

static void check_reports(const hx_rtcp_pkt *p)
{
    static hx_rtcp_sr sr, sr2;
    static hx_rtcp_rr rr, rr2;
    uint8_t out[1024];
    hx_rtcp_iter it;
    hx_rtcp_pkt q;
    if (hx_rtcp_sr_parse(p, &sr) == HX_RTP_OK) {
        long n = hx_rtcp_sr_build(out, sizeof out, &sr);
        CHECK(n > 0);
        hx_rtcp_iter_init(&it, out, (size_t)n);
        CHECK(hx_rtcp_iter_next(&it, &q) == 1 && hx_rtcp_sr_parse(&q, &sr2) == HX_RTP_OK);
        CHECK(sr2.ntp == sr.ntp && sr2.n_rb == sr.n_rb &&
              memcmp(sr2.rb, sr.rb, sr.n_rb * sizeof sr.rb[0]) == 0);
    }
    if (hx_rtcp_rr_parse(p, &rr) == HX_RTP_OK) {
        long n = hx_rtcp_rr_build(out, sizeof out, &rr);
        CHECK(n > 0);
        hx_rtcp_iter_init(&it, out, (size_t)n);
        CHECK(hx_rtcp_iter_next(&it, &q) == 1 && hx_rtcp_rr_parse(&q, &rr2) == HX_RTP_OK);
        CHECK(rr2.ssrc == rr.ssrc && rr2.n_rb == rr.n_rb &&
              memcmp(rr2.rb, rr.rb, rr.n_rb * sizeof rr.rb[0]) == 0);
    }
    hx_rtcp_sdes_chunk ch[32];
    size_t n;
    if (hx_rtcp_sdes_parse(p, ch, 32, &n) == HX_RTP_OK) {
        CHECK(n == p->count);
        for (size_t i = 0; i < n; i++)
            CHECK(!ch[i].cname || (ch[i].cname >= p->body &&
                                   ch[i].cname + ch[i].cname_len <= p->body + p->body_len));
    }
    hx_rtcp_bye bye;
    if (hx_rtcp_bye_parse(p, &bye) == HX_RTP_OK)
        CHECK(!bye.reason || bye.reason + bye.reason_len <= p->body + p->body_len);
}

static void check_feedback(const hx_rtcp_pkt *p)
{
    hx_rtcp_fb fb;
    static uint16_t seqs[65536], again[65536];
    size_t n, m;
    hx_rtcp_iter it;
    hx_rtcp_pkt q;
    static uint8_t out[8 * 65536];
    if (hx_rtcp_nack_parse(p, &fb, seqs, 65536, &n) == HX_RTP_OK && n > 0) {
        long len = hx_rtcp_nack_build(out, sizeof out, fb.sender_ssrc, fb.media_ssrc, seqs, n);
        CHECK(len > 0);
        hx_rtcp_iter_init(&it, out, (size_t)len);
        CHECK(hx_rtcp_iter_next(&it, &q) == 1);
        CHECK(hx_rtcp_nack_parse(&q, &fb, again, 65536, &m) == HX_RTP_OK);
        /* the same set of seqs (order and duplicates may differ for unordered input) */
        static uint8_t in_a[65536], in_b[65536];
        memset(in_a, 0, sizeof in_a);
        memset(in_b, 0, sizeof in_b);
        for (size_t i = 0; i < n; i++)
            in_a[seqs[i]] = 1;
        for (size_t i = 0; i < m; i++)
            in_b[again[i]] = 1;
        CHECK(m <= n && memcmp(in_a, in_b, sizeof in_a) == 0);
    }
    hx_rtcp_fir_entry fe[64];
    if (hx_rtcp_fir_parse(p, &fb, fe, 64, &n) == HX_RTP_OK) CHECK(n * 8 == fb.fci_len);
    hx_rtcp_remb r;
    if (hx_rtcp_remb_parse(p, &fb, &r) == HX_RTP_OK) {
        uint64_t parsed = r.bitrate;
        long len = hx_rtcp_remb_build(out, sizeof out, fb.sender_ssrc, &r);
        CHECK(len > 0);
        hx_rtcp_iter_init(&it, out, (size_t)len);
        CHECK(hx_rtcp_iter_next(&it, &q) == 1 && hx_rtcp_remb_parse(&q, &fb, &r) == HX_RTP_OK);
        CHECK(r.bitrate <= parsed);
    }
    static hx_twcc_status st[65536];
    hx_twcc_fb tf;
    if (hx_rtcp_twcc_parse(p, &tf, st, 65536) == HX_RTP_OK && tf.status_count > 0) {
        /* integrate the deltas into arrival times and rebuild */
        static int64_t arr[65536];
        int64_t t = 1000000000LL + (int64_t)tf.ref_time * 64000;
        for (size_t i = 0; i < tf.status_count; i++) {
            CHECK(st[i].seq == (uint16_t)(tf.base_seq + i));
            if (st[i].status == HX_TWCC_NOT_RECEIVED) {
                arr[i] = -1;
                continue;
            }
            t += (int64_t)st[i].delta * 250;
            arr[i] = t;
        }
        size_t used;
        long len = hx_rtcp_twcc_build(out, HX_RTP_MAX_PACKET, 1, 2, tf.base_seq, tf.fb_count, arr,
                                      tf.status_count, &used);
        if (len > 0) {
            CHECK(used >= 1 && used <= tf.status_count);
            hx_rtcp_iter_init(&it, out, (size_t)len);
            CHECK(hx_rtcp_iter_next(&it, &q) == 1);
            CHECK(hx_rtcp_twcc_parse(&q, &tf, st, 65536) == HX_RTP_OK && tf.status_count == used);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hx_rtcp_iter it;
    hx_rtcp_pkt p;
    size_t total = 0;
    hx_rtcp_iter_init(&it, data, size);
    while (hx_rtcp_iter_next(&it, &p) == 1) {
        CHECK(p.pkt >= data && p.pkt + p.pkt_len <= data + size);
        CHECK(p.body == p.pkt + 4 && p.body_len + 4 <= p.pkt_len && p.pkt_len % 4 == 0);
        CHECK(p.count < 32);
        total += p.pkt_len;
        check_reports(&p);
        check_feedback(&p);
    }
    CHECK(total <= size);
    return 0;
}
