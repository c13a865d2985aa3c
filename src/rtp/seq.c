/*
 * Sequence unwrapping and per-subscriber rewriting.
 *
 * Unwrapping follows RFC 3550 A.1: a step forward of less than
 * HX_SEQ_MAX_DROPOUT advances, a step back of up to HX_SEQ_MAX_MISORDER
 * is a late packet, anything else is a jump that only counts once the
 * next packet confirms it (bad_seq); then the source is taken to have
 * restarted. Extended numbers are kept monotonic across such a restart,
 * unlike A.1's init_seq, because caches and statistics key on them.
 *
 * The rewriter (mediasoup's SeqManager and RtpStreamSend) maps the
 * current source's packets as
 *     out = out_base + (in - in_base) - drops before in
 * where in_base is the first packet mapped since the last switch and
 * out_base the output number it got (last sent + 1). Dropped packets
 * (padding, another layer's packets) are counted so the subscriber sees
 * no hole. A newer packet subtracts all drops; a reordered one subtracts
 * only the drops before it, found in a fixed ring of the last
 * HX_SEQ_RW_DROPS drops; a packet older than what the ring remembers is
 * skipped rather than mapped to a wrong number. Timestamps use one offset
 * per switch, chosen so the new source continues from the last timestamp
 * sent plus the wall time elapsed in clock-rate units.
 */
#include "rtp/seq.h"

#include <string.h>

#define NO_BAD_SEQ 0x10000u

void hx_seq_unwrap_init(hx_seq_unwrap *u)
{
    u->started = 0;
    u->max = 0;
    u->bad_seq = NO_BAD_SEQ;
}

uint64_t hx_seq_unwrap_peek(const hx_seq_unwrap *u, uint16_t seq)
{
    if (!u->started) return 0;
    uint16_t d = (uint16_t)(seq - (uint16_t)u->max);
    if (d < 0x8000) return u->max + d;
    return u->max - (0x10000u - d);
}

int hx_seq_unwrap_push(hx_seq_unwrap *u, uint16_t seq, uint64_t *ext)
{
    if (!u->started) {
        u->started = 1;
        u->max = 0x10000u + seq;
        u->bad_seq = NO_BAD_SEQ;
        *ext = u->max;
        return HX_SEQ_NEW;
    }
    uint16_t d = (uint16_t)(seq - (uint16_t)u->max);
    if (d == 0) {
        *ext = u->max;
        return HX_SEQ_OLD;
    }
    if (d < HX_SEQ_MAX_DROPOUT) {
        u->max += d;
        u->bad_seq = NO_BAD_SEQ;
        *ext = u->max;
        return HX_SEQ_NEW;
    }
    if (d >= 0x10000u - HX_SEQ_MAX_MISORDER) {
        *ext = u->max - (0x10000u - d);
        return HX_SEQ_OLD;
    }
    if (seq == u->bad_seq) {
        u->max += d;
        u->bad_seq = NO_BAD_SEQ;
        *ext = u->max;
        return HX_SEQ_RESET;
    }
    u->bad_seq = (uint16_t)(seq + 1);
    return HX_SEQ_BAD;
}

void hx_seq_rw_init(hx_seq_rewriter *rw, uint32_t clock_rate, uint16_t first_seq, uint32_t first_ts)
{
    memset(rw, 0, sizeof *rw);
    rw->clock_rate = clock_rate;
    hx_seq_unwrap_init(&rw->in);
    rw->out_base = first_seq;
    rw->last_ts_out = first_ts;
}

void hx_seq_rw_switch(hx_seq_rewriter *rw)
{
    rw->switch_pending = 1;
}

/* Re-base on packet (seq, ts) of src_ssrc. */
static void rebase(hx_seq_rewriter *rw, uint32_t src_ssrc, uint16_t seq, uint32_t ts,
                   uint64_t now_us)
{
    uint32_t ts_out = rw->last_ts_out;
    if (rw->started) {
        uint64_t elapsed = now_us > rw->last_us ? now_us - rw->last_us : 0;
        uint64_t adv = elapsed * rw->clock_rate / 1000000u;
        ts_out += adv ? (uint32_t)adv : 1u;
        rw->out_base = rw->out_max + 1;
    }
    hx_seq_unwrap_init(&rw->in);
    hx_seq_unwrap_push(&rw->in, seq, &rw->in_base);
    rw->src_ssrc = src_ssrc;
    rw->ts_offset = ts_out - ts;
    rw->dropped = 0;
    rw->drop_floor = 0;
    rw->drop_head = rw->drop_n = 0;
    rw->switch_pending = 0;
}

/* Drops recorded after ext, or -1 if ext itself was dropped. */
static long drops_after(const hx_seq_rewriter *rw, uint64_t ext)
{
    long n = 0;
    for (size_t i = 0; i < rw->drop_n; i++) {
        uint64_t d = rw->drops[(rw->drop_head + i) % HX_SEQ_RW_DROPS];
        if (d == ext) return -1;
        if (d > ext) n++;
    }
    return n;
}

int hx_seq_rw_map(hx_seq_rewriter *rw, uint32_t src_ssrc, uint16_t seq, uint32_t ts,
                  uint64_t now_us, uint16_t *seq_out, uint32_t *ts_out)
{
    uint64_t ext;
    int kind;
    if (!rw->started || rw->switch_pending || src_ssrc != rw->src_ssrc) {
        rebase(rw, src_ssrc, seq, ts, now_us);
        ext = rw->in_base;
        kind = HX_SEQ_NEW;
    } else {
        kind = hx_seq_unwrap_push(&rw->in, seq, &ext);
        if (kind == HX_SEQ_BAD) return HX_SEQ_RW_SKIP;
        if (kind == HX_SEQ_RESET) {
            rebase(rw, src_ssrc, seq, ts, now_us);
            ext = rw->in_base;
        }
    }
    uint64_t before = rw->dropped;
    if (kind == HX_SEQ_OLD) {
        long after = drops_after(rw, ext);
        if (ext < rw->in_base || ext < rw->drop_floor || after < 0) return HX_SEQ_RW_SKIP;
        before -= (uint64_t)after;
    }
    uint64_t out = rw->out_base + (ext - rw->in_base) - before;
    *seq_out = (uint16_t)out;
    *ts_out = ts + rw->ts_offset;
    if (!rw->started || out > rw->out_max) {
        rw->started = 1;
        rw->out_max = out;
        rw->last_ts_out = *ts_out;
        rw->last_us = now_us;
    }
    return HX_SEQ_RW_FORWARD;
}

void hx_seq_rw_drop(hx_seq_rewriter *rw, uint32_t src_ssrc, uint16_t seq)
{
    uint64_t ext;
    if (!rw->started || rw->switch_pending || src_ssrc != rw->src_ssrc) return;
    int kind = hx_seq_unwrap_push(&rw->in, seq, &ext);
    if (kind == HX_SEQ_RESET) {
        rw->switch_pending = 1; /* re-base on the next packet mapped */
        return;
    }
    if (kind != HX_SEQ_NEW) return; /* a late packet keeps the number it implicitly has */
    if (rw->drop_n == HX_SEQ_RW_DROPS) {
        rw->drop_floor = rw->drops[rw->drop_head] + 1;
        rw->drop_head = (rw->drop_head + 1) % HX_SEQ_RW_DROPS;
        rw->drop_n--;
    }
    rw->drops[(rw->drop_head + rw->drop_n) % HX_SEQ_RW_DROPS] = ext;
    rw->drop_n++;
    rw->dropped++;
}
