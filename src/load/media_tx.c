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
 * Simulcast (cfg.simulcast > 1): every frame is sent once per layer, rids
 * q, h, f, each layer its own SSRC, sequence numbers, picture ids and
 * keyframe requests (a PLI names the layer's SSRC; a FIR entry too) and a
 * share of the bitrate (weights 1, 2, 5: 1/8, 1/4 and 5/8 with three
 * layers). As Chromium does, every video packet then carries the mid and
 * rid header extensions (RFC 8285 one-byte form, ids HX_LOAD_EXT_MID and
 * HX_LOAD_EXT_RID, RFC 8852), and the SDP names no video SSRC: the server
 * learns them from the extensions.
 *
 * Talkers (cfg.talkers > 0): as in an audio room, only that many publishers
 * talk at a time; a silent one sends what an Opus encoder with DTX sends
 * (RFC 7587 §3.1.3), one packet per 400 ms, its RTP timestamp still moving
 * 960 per 20 ms. Publisher i talks while (i + now / 5 s) mod publishers < K,
 * so the talkers rotate and every stream keeps flowing.
 *
 * Every packet ends with the load trailer (HX_LOAD_TRAILER_LEN bytes):
 * 'H' 'L', kind, flags (keyframe, layer), a per-stream packet counter (loss
 * is counted on it, so a server's sequence rewriting cannot hide or invent
 * loss) and the send time in monotonic microseconds (one-way latency;
 * sender and receivers share the clock). Packets are built in the worker's
 * one send buffer and protected in place: nothing is allocated.
 */
#include "load/load_internal.h"
#include "common/bytes.h"
#include "rtp/rtcp.h"
#include "rtp/rtp.h"

#include <string.h>

static size_t header(uint8_t *b, uint8_t pt, bool marker, uint16_t seq, uint32_t ts, uint32_t ssrc)
{
    b[0] = 0x80;
    b[1] = (uint8_t)((marker ? 0x80 : 0) | pt);
    hx_wr16(b + 2, seq);
    hx_wr32(b + 4, ts);
    hx_wr32(b + 8, ssrc);
    return 12;
}

/* The mid and rid extensions (one-byte form, RFC 8285 §4.2) after the 12-byte header. */
static size_t ext_mid_rid(uint8_t *b, const char *mid, const char *rid)
{
    size_t ml = strlen(mid), rl = strlen(rid), n = 4 + 1 + ml + 1 + rl;
    size_t words = (n - 4 + 3) / 4;
    b[0] |= 0x10; /* X */
    hx_wr16(b + 12, HX_RTP_EXT_ONE_BYTE);
    hx_wr16(b + 14, (uint16_t)words);
    uint8_t *e = b + 16;
    *e++ = (uint8_t)(HX_LOAD_EXT_MID << 4 | (ml - 1));
    memcpy(e, mid, ml);
    e += ml;
    *e++ = (uint8_t)(HX_LOAD_EXT_RID << 4 | (rl - 1));
    memcpy(e, rid, rl);
    e += rl;
    size_t end = 16 + words * 4;
    memset(e, 0, (size_t)(b + end - e)); /* padding */
    return end;
}

const char *hx_load_layer_rid(int layer)
{
    static const char *const rid[HX_LOAD_MAX_LAYERS] = {"q", "h", "f"};
    return layer >= 0 && layer < HX_LOAD_MAX_LAYERS ? rid[layer] : "";
}

double hx_load_layer_share(int layer, int n)
{
    static const int weight[HX_LOAD_MAX_LAYERS] = {1, 2, 5};
    if (n <= 1) return 1.0;
    int sum = 0;
    for (int i = 0; i < n && i < HX_LOAD_MAX_LAYERS; i++)
        sum += weight[i];
    return layer >= 0 && layer < n ? (double)weight[layer] / sum : 0;
}

static void trailer(uint8_t *t, uint8_t kind, uint8_t flags, uint32_t counter, uint64_t now_us)
{
    t[0] = HX_LOAD_MAGIC0;
    t[1] = HX_LOAD_MAGIC1;
    t[2] = kind;
    t[3] = flags;
    hx_wr32(t + 4, counter);
    hx_wr32(t + 8, (uint32_t)(now_us >> 32));
    hx_wr32(t + 12, (uint32_t)now_us);
}

#define TALK_TURN_US 5000000u /* who talks changes this often */
#define DTX_EVERY 20          /* a silent publisher sends one 20 ms slot in 20: 400 ms */

/* Whether publisher p talks now (cfg.talkers) or is silent (DTX). */
static bool talking(const hx_load_part *p, uint64_t now_us)
{
    const hx_load_cfg *cfg = p->w->run->cfg;
    if (cfg->talkers <= 0 || cfg->talkers >= cfg->publishers || p->index >= cfg->publishers)
        return true;
    uint64_t t0 = p->w->run->t0_us, turn = now_us > t0 ? (now_us - t0) / TALK_TURN_US : 0;
    return (uint64_t)(p->index + turn) % (uint64_t)cfg->publishers < (uint64_t)cfg->talkers;
}

static void send_audio(hx_load_part *p, uint64_t now_us)
{
    hx_load_worker *w = p->w;
    hx_load_tx *tx = &p->tx;
    uint8_t *b = w->tx_buf;
    bool silent = !talking(p, now_us);
    if (silent && tx->slot_a++ % DTX_EVERY != 0) { /* DTX: this 20 ms is not sent */
        tx->ts_a += 960;
        return;
    }
    if (!silent) tx->slot_a = 0;
    size_t n = header(b, HX_LOAD_PT_OPUS, false, tx->seq_a++, tx->ts_a, tx->ssrc_a);
    tx->ts_a += 960;
    size_t body = (size_t)w->run->cfg->audio_bytes;
    if (body < HX_LOAD_TRAILER_LEN + 1) body = HX_LOAD_TRAILER_LEN + 1;
    b[n] = 0x78; /* an Opus TOC byte: SILK-only wideband 20 ms, one frame */
    memset(b + n + 1, 0x5a, body - 1 - HX_LOAD_TRAILER_LEN);
    trailer(b + n + body - HX_LOAD_TRAILER_LEN, HX_LOAD_KIND_AUDIO, 0, tx->count_a++, now_us);
    if (hx_lpc_send_rtp(p->pub, b, n + body, sizeof w->tx_buf) == 0) w->st.tx_packets++;
}

static void send_layer(hx_load_part *p, int layer, bool gop_key, uint64_t now_us)
{
    hx_load_worker *w = p->w;
    const hx_load_cfg *cfg = w->run->cfg;
    hx_load_tx *tx = &p->tx;
    hx_load_vlayer *v = &tx->v[layer];
    bool key = v->want_key || gop_key;
    v->want_key = false;
    size_t bytes = (size_t)((double)cfg->video_kbps * 1000 / 8 / cfg->fps *
                            hx_load_layer_share(layer, cfg->simulcast));
    if (key) bytes *= 3;
    size_t per = HX_LOAD_RTP_PAYLOAD, npkt = (bytes + per - 1) / per;
    if (npkt == 0) npkt = 1;
    if (npkt > 128) npkt = 128;
    uint16_t pic = v->picture_id++ & 0x7fff;
    uint8_t flags = (uint8_t)((key ? HX_LOAD_FLAG_KEY : 0) | layer << HX_LOAD_FLAG_LAYER_SHIFT);
    for (size_t i = 0; i < npkt; i++) {
        uint8_t *b = w->tx_buf;
        size_t n = header(b, HX_LOAD_PT_VP8, i + 1 == npkt, v->seq++, tx->ts_v, v->ssrc);
        if (cfg->simulcast > 1) n = ext_mid_rid(b, "1", hx_load_layer_rid(layer));
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
        size_t left = bytes > i * per ? bytes - i * per : 0, body = left < per ? left : per;
        if (body < n - start + HX_LOAD_TRAILER_LEN) body = n - start + HX_LOAD_TRAILER_LEN;
        size_t fill = body - (n - start) - HX_LOAD_TRAILER_LEN;
        memset(b + n, 0xa5, fill);
        n += fill;
        trailer(b + n, HX_LOAD_KIND_VIDEO, flags, v->count++, now_us);
        n += HX_LOAD_TRAILER_LEN;
        if (hx_lpc_send_rtp(p->pub, b, n, sizeof w->tx_buf) == 0) w->st.tx_packets++;
    }
}

static void send_frame(hx_load_part *p, uint64_t now_us)
{
    const hx_load_cfg *cfg = p->w->run->cfg;
    hx_load_tx *tx = &p->tx;
    uint32_t gop = (uint32_t)(cfg->keyint_s * cfg->fps);
    bool gop_key = gop == 0 || tx->frame_no % gop == 0;
    for (int l = 0; l < cfg->simulcast; l++)
        send_layer(p, l, gop_key, now_us);
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

/* A keyframe for the layer sending `ssrc` (every layer when no layer has it). */
static void want_key(hx_load_part *p, uint32_t ssrc)
{
    int n = p->w->run->cfg->simulcast, hit = 0;
    for (int l = 0; l < n; l++)
        if (p->tx.v[l].ssrc == ssrc) p->tx.v[l].want_key = true, hit++;
    for (int l = 0; !hit && l < n; l++)
        p->tx.v[l].want_key = true;
    p->w->st.plis++;
}

void hx_load_tx_rtcp(hx_load_part *p, const uint8_t *pkt, size_t len)
{
    hx_rtcp_iter it;
    hx_rtcp_pkt r;
    hx_rtcp_fb fb;
    hx_rtcp_iter_init(&it, pkt, len);
    while (hx_rtcp_iter_next(&it, &r) == 1) {
        if (r.pt != 206) continue;                            /* PSFB (RFC 4585 §6.3) */
        if (r.count == 1 && hx_rtcp_fb_parse(&r, &fb) == 0) { /* PLI */
            want_key(p, fb.media_ssrc);
        } else if (r.count == 4) { /* FIR (RFC 5104 §4.3.1) */
            hx_rtcp_fir_entry e[8];
            size_t n = 0;
            if (hx_rtcp_fir_parse(&r, &fb, e, 8, &n) != 0 || n == 0) {
                want_key(p, 0);
                continue;
            }
            for (size_t i = 0; i < n; i++)
                want_key(p, e[i].ssrc);
        }
    }
}
