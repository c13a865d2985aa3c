/*
 * What a simulated publisher sends: Opus-like audio, one 20 ms packet at a
 * time (50 packets/s), and VP8-like video at cfg.fps frames per second,
 * each frame cfg.video_kbps / 8 / fps bytes (a keyframe three times that)
 * cut into packets of at most HX_LOAD_RTP_PAYLOAD payload bytes.
 *
 * Video payloads are real enough for an SFU: the VP8 payload descriptor
 * (RFC 7741 §4.2) with a 15-bit picture id, S=1 on a frame's first packet,
 * whose VP8 payload header has P=0 on keyframes followed by the keyframe
 * start code and a 640x480 size; the marker bit ends a frame. Keyframes come
 * every cfg.keyint_s seconds and at once after a PLI or FIR.
 *
 * Every packet ends with the load trailer (HX_LOAD_TRAILER_LEN bytes):
 * 'H' 'L', kind, flags, a per-stream packet counter (loss is counted on it,
 * so a server's sequence rewriting cannot hide or invent loss) and the send
 * time in monotonic microseconds (one-way latency; sender and receivers
 * share the clock). Packets are built in the worker's one send buffer and
 * protected in place: nothing is allocated.
 */
#include "load/load_internal.h"
#include "rtp/rtcp.h"

#include <string.h>

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)(v >> 16));
    put16(p + 2, (uint16_t)v);
}

static size_t header(uint8_t *b, uint8_t pt, bool marker, uint16_t seq, uint32_t ts, uint32_t ssrc)
{
    b[0] = 0x80;
    b[1] = (uint8_t)((marker ? 0x80 : 0) | pt);
    put16(b + 2, seq);
    put32(b + 4, ts);
    put32(b + 8, ssrc);
    return 12;
}

static void trailer(uint8_t *t, uint8_t kind, uint8_t flags, uint32_t counter, uint64_t now_us)
{
    t[0] = HX_LOAD_MAGIC0;
    t[1] = HX_LOAD_MAGIC1;
    t[2] = kind;
    t[3] = flags;
    put32(t + 4, counter);
    put32(t + 8, (uint32_t)(now_us >> 32));
    put32(t + 12, (uint32_t)now_us);
}

static void send_audio(hx_load_part *p, uint64_t now_us)
{
    hx_load_worker *w = p->w;
    hx_load_tx *tx = &p->tx;
    uint8_t *b = w->tx_buf;
    size_t n = header(b, HX_LOAD_PT_OPUS, false, tx->seq_a++, tx->ts_a, tx->ssrc_a);
    tx->ts_a += 960;
    size_t body = (size_t)w->run->cfg->audio_bytes;
    if (body < HX_LOAD_TRAILER_LEN + 1) body = HX_LOAD_TRAILER_LEN + 1;
    b[n] = 0x78; /* an Opus TOC byte: SILK-only wideband 20 ms, one frame */
    memset(b + n + 1, 0x5a, body - 1 - HX_LOAD_TRAILER_LEN);
    trailer(b + n + body - HX_LOAD_TRAILER_LEN, HX_LOAD_KIND_AUDIO, 0, tx->count_a++, now_us);
    if (hx_lpc_send_rtp(p->pub, b, n + body, sizeof w->tx_buf) == 0) w->st.tx_packets++;
}

static void send_frame(hx_load_part *p, uint64_t now_us)
{
    hx_load_worker *w = p->w;
    const hx_load_cfg *cfg = w->run->cfg;
    hx_load_tx *tx = &p->tx;
    uint32_t gop = (uint32_t)(cfg->keyint_s * cfg->fps);
    bool key = tx->want_key || gop == 0 || tx->frame_no % gop == 0;
    tx->want_key = false;
    size_t bytes = (size_t)cfg->video_kbps * 1000 / 8 / (size_t)cfg->fps;
    if (key) bytes *= 3;
    size_t per = HX_LOAD_RTP_PAYLOAD, npkt = (bytes + per - 1) / per;
    if (npkt == 0) npkt = 1;
    if (npkt > 128) npkt = 128;
    uint16_t pic = tx->picture_id++ & 0x7fff;
    for (size_t i = 0; i < npkt; i++) {
        uint8_t *b = w->tx_buf;
        size_t n = header(b, HX_LOAD_PT_VP8, i + 1 == npkt, tx->seq_v++, tx->ts_v, tx->ssrc_v);
        size_t start = n;
        b[n++] = (uint8_t)(0x80 | (i == 0 ? 0x10 : 0)); /* X, S on the first packet, PID 0 */
        b[n++] = 0x80;                                  /* I: picture id present */
        b[n++] = (uint8_t)(0x80 | pic >> 8);            /* M: 15 bits */
        b[n++] = (uint8_t)pic;
        if (i == 0) {
            b[n++] = key ? 0x10 : 0x11; /* show_frame, version 0, P (0: keyframe) */
            b[n++] = 0;
            b[n++] = 0;
            if (key) {
                static const uint8_t kf[7] = {0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01};
                memcpy(b + n, kf, sizeof kf);
                n += sizeof kf;
            }
        }
        size_t left = bytes - i * per, body = left < per ? left : per;
        if (body < n - start + HX_LOAD_TRAILER_LEN) body = n - start + HX_LOAD_TRAILER_LEN;
        size_t fill = body - (n - start) - HX_LOAD_TRAILER_LEN;
        memset(b + n, 0xa5, fill);
        n += fill;
        trailer(b + n, HX_LOAD_KIND_VIDEO, key, tx->count_v++, now_us);
        n += HX_LOAD_TRAILER_LEN;
        if (hx_lpc_send_rtp(p->pub, b, n, sizeof w->tx_buf) == 0) w->st.tx_packets++;
    }
    tx->ts_v += (uint32_t)(90000 / cfg->fps);
    tx->frame_no++;
}

void hx_load_tx_tick(hx_load_part *p, uint64_t now_us)
{
    const hx_load_cfg *cfg = p->w->run->cfg;
    hx_load_tx *tx = &p->tx;
    if (!p->pub || !p->pub->up || atomic_load(&p->w->run->phase) != HX_LOAD_RUN) return;
    if (!tx->next_audio_us) tx->next_audio_us = tx->next_frame_us = now_us;
    /* Behind by more than 200 ms (a stalled loop): skip ahead rather than burst. */
    if (now_us > tx->next_audio_us + 200000) tx->next_audio_us = now_us;
    if (now_us > tx->next_frame_us + 200000) tx->next_frame_us = now_us;
    while (cfg->audio && now_us >= tx->next_audio_us) {
        send_audio(p, now_us);
        tx->next_audio_us += 20000;
    }
    while (cfg->video && now_us >= tx->next_frame_us) {
        send_frame(p, now_us);
        tx->next_frame_us += 1000000u / (unsigned)cfg->fps;
    }
}

void hx_load_tx_rtcp(hx_load_part *p, const uint8_t *pkt, size_t len)
{
    hx_rtcp_iter it;
    hx_rtcp_pkt r;
    hx_rtcp_iter_init(&it, pkt, len);
    while (hx_rtcp_iter_next(&it, &r) == 1) {
        if (r.pt == 206 && (r.count == 1 || r.count == 4)) { /* PSFB: PLI, FIR (RFC 4585/5104) */
            p->tx.want_key = true;
            p->w->st.plis++;
        }
    }
}
