/*
 * libFuzzer target for the downlink estimator and allocator (adapt/bwe.h, adapt/alloc.h),
 * stateful: every input drives one hx_bwe, from a configuration its first bytes may pick
 * (refused ones fall back to the default), through a sequence of operations, each an op byte
 * and the bytes it reads (missing bytes read as 0):
 *
 *   0  transport-cc feedback: a batch of up to 48 packets; per packet a byte moves the send
 *      clock (forward a few ms, or back), loses it, drifts the queueing delay, picks its probe
 *      tag (none, hx_bwe_probe_tag at its send time, or any byte); then a size; the clock
 *      the call is made at moves 0..255 ms;
 *   1  the same with arrival times taken from the bytes as they are (any sign, up to ±2^51 us:
 *      out of order, far back, far ahead);
 *   2  a REMB of up to 2^40 bps;
 *   3  a receiver report's fraction lost;
 *   4  hx_bwe_probe_due with a wanted rate from the bytes;
 *   5  hx_alloc_run over up to HX_ALLOC_MAX_TRACKS + 2 tracks built from the bytes, with the
 *      estimate or an arbitrary budget;
 *   6  time: the clock moves up to 65 s, or the receiver's clock jumps (back by the 24-bit
 *      transport-cc reference time's wrap, or anywhere);
 *   7  100 ms of a simulated link: packets at the estimate (the probe's rate while one runs,
 *      tagged) through a FIFO of the capacity a byte gives, reported in one feedback.
 *
 * After every operation: the estimate within [min, max], delay_bps and loss_bps finite and within
 * [min, max], the adaptive threshold finite within 6..600; a probe started is above the estimate,
 * at most the maximum and 1.1 × wanted, tagged while it runs; an allocation leaves every result
 * within [-1, max_layer], uses at most the budget and at most the sum of the chosen layers
 * (exactly that when no track forwards yet), wants the sum of each track's top sending layer,
 * pauses every track that costs anything on a zero budget and puts every one at its top when
 * the budget covers 1.15 × all tops.
 *
 * Seeds: fuzz/corpus/bwe (a congested queue with probes, a policer, REMB and RR only, allocator
 * runs, clock jumps).
 */
#include "adapt/alloc.h"
#include "adapt/bwe.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct rd {
    const uint8_t *p;
    size_t n;
} rd;

static uint8_t u8(rd *r)
{
    if (!r->n) return 0;
    r->n--;
    return *r->p++;
}

static uint16_t u16(rd *r)
{
    uint16_t v = u8(r);
    return (uint16_t)(v << 8 | u8(r));
}

static uint32_t u32(rd *r)
{
    uint32_t v = u16(r);
    return v << 16 | u16(r);
}

typedef struct state {
    hx_bwe b;
    int64_t now, send, rx_base, qdelay_us; /* ms, ms, us, us */
    int64_t busy_until_us;                 /* the simulated link's queue (op 7) */
    hx_bwe_pkt pk[512];
    hx_alloc_track at[HX_ALLOC_MAX_TRACKS + 2];
} state;

static state st;

static void check(const hx_bwe *b)
{
    const hx_bwe_config *c = &b->cfg;
    if (b->estimate < c->min_bps || b->estimate > c->max_bps) abort();
    if (!isfinite(b->delay_bps) || !isfinite(b->loss_bps) || !isfinite(b->threshold)) abort();
    if (b->delay_bps < c->min_bps || b->delay_bps > c->max_bps) abort();
    if (b->loss_bps < c->min_bps || b->loss_bps > c->max_bps) abort();
    if (b->threshold < 6 || b->threshold > 600) abort();
    if (b->probe_state < 0 || b->probe_state > 2) abort();
    (void)hx_bwe_acked(b);
}

static void feedback(state *s, rd *r, bool raw)
{
    size_t n = 1 + u8(r) % 48;
    for (size_t i = 0; i < n; i++) {
        uint8_t k = u8(r);
        if ((k & 0xc0) == 0xc0)
            s->send -= u8(r); /* reordered send times, or a clock gone back */
        else
            s->send += k & 7;
        if (k & 0x08) s->qdelay_us += (int8_t)u8(r) * 100;
        if (s->qdelay_us < 0) s->qdelay_us = 0;
        if (s->qdelay_us > 10000000) s->qdelay_us = 10000000;
        int64_t arr;
        if (raw) {
            int64_t v = (int32_t)u32(r);
            arr = v * (1 << (u8(r) % 21));
        } else if ((k & 0x30) == 0x30)
            arr = -1;
        else
            arr = s->rx_base + s->send * 1000 + s->qdelay_us;
        uint8_t probe = 0;
        switch (k >> 1 & 3) {
        case 1:
            probe = hx_bwe_probe_tag(&s->b, s->send);
            break;
        case 2:
            probe = s->b.probe_id;
            break;
        case 3:
            probe = u8(r);
            break;
        }
        s->pk[i] = (hx_bwe_pkt){s->send, arr, (uint16_t)(u8(r) * 6), probe};
    }
    s->now += u8(r);
    hx_bwe_on_feedback(&s->b, s->pk, n, s->now);
}

static void probe_due(state *s, uint32_t wanted)
{
    hx_bwe_probe p;
    memset(&p, 0xa5, sizeof p);
    if (!hx_bwe_probe_due(&s->b, wanted, s->now, &p)) return;
    /* (probe_due may have finished the previous probe and updated the estimate first) */
    uint32_t e = hx_bwe_estimate(&s->b);
    if (p.id == 0 || p.bps <= e || p.bps > s->b.cfg.max_bps) abort();
    if ((double)p.bps > (double)wanted * 1.1 + 1) abort();
    if (p.until_ms <= s->now) abort();
    if (hx_bwe_probe_tag(&s->b, s->now) != p.id) abort();
    if (hx_bwe_probe_tag(&s->b, p.until_ms) != 0) abort();
}

/* The highest sending layer at or under max (the allocator's clamps applied), or -1. */
static int top_sending(const hx_alloc_track *t)
{
    for (int l = t->max_layer; l >= 0; l--)
        if (t->layer_bps[l]) return l;
    return -1;
}

static void alloc(state *s, rd *r)
{
    uint8_t k = u8(r);
    size_t n = k % (HX_ALLOC_MAX_TRACKS + 3);
    uint32_t budget = hx_bwe_estimate(&s->b);
    if (!(k & 0x80)) {
        budget = u32(r);
        budget >>= u8(r) % 32;
    }
    for (size_t i = 0; i < n; i++) {
        hx_alloc_track *t = &s->at[i];
        uint8_t f = u8(r);
        t->n_layers = f % (HX_ALLOC_MAX_LAYERS + 2); /* 0 and one too many included: clamped */
        for (int l = 0; l < HX_ALLOC_MAX_LAYERS; l++) {
            /* mostly increasing rates, sometimes 0 (not sending) or any value */
            uint8_t v = u8(r);
            t->layer_bps[l] = v == 0xff ? u32(r) : (uint32_t)v * 4000u * (uint32_t)(l * l + 1);
        }
        t->max_layer = (int8_t)(u8(r) % 7 - 2);
        t->current = (int8_t)(u8(r) % 7 - 2);
        t->priority = f >> 5;
        t->size = u8(r);
        t->result = 99;
    }
    size_t m = n < HX_ALLOC_MAX_TRACKS ? n : HX_ALLOC_MAX_TRACKS;
    uint32_t wanted = 0;
    uint32_t used = hx_alloc_run(s->at, n, budget, &wanted);
    if (used > budget) abort();
    uint64_t sum = 0, want = 0;
    double tops = 0;
    bool forwarding = false;
    for (size_t i = 0; i < m; i++) {
        const hx_alloc_track *t = &s->at[i];
        if (t->max_layer < 0 || t->max_layer >= HX_ALLOC_MAX_LAYERS) abort();
        if (t->result < -1 || t->result > t->max_layer) abort();
        if (t->result >= 0) sum += t->layer_bps[t->result];
        if (t->current >= 0) forwarding = true;
        int top = top_sending(t);
        if (top >= 0) {
            want += t->layer_bps[top];
            uint32_t hi = 0; /* the dearest layer it could take */
            for (int l = 0; l <= t->max_layer; l++)
                if (t->layer_bps[l] > hi) hi = t->layer_bps[l];
            tops += hi;
            int low = 0;
            while (!t->layer_bps[low])
                low++;
            if (budget == 0 && t->layer_bps[low] > 1 && t->result != -1) abort();
        } else if (t->result != t->max_layer) {
            abort(); /* nothing sending: its max_layer */
        }
    }
    /* What a forwarding track keeps while the budget is short of it counts only as far as the
     * budget goes; otherwise the rate used is what was chosen. */
    if (used > sum || (!forwarding && used != sum)) abort();
    if (wanted != (want > UINT32_MAX ? UINT32_MAX : want)) abort();
    if ((double)budget >= 1.15 * tops + 1)
        for (size_t i = 0; i < m; i++) {
            int top = top_sending(&s->at[i]);
            if (top >= 0 && s->at[i].result != top) abort();
        }
    for (size_t i = m; i < n; i++)
        if (s->at[i].result != 99) abort(); /* past the maximum: untouched */
}

/* 100 ms of a paced sender through a FIFO of cap bps, reported at once. */
static void link(state *s, uint32_t cap)
{
    size_t n = 0;
    double credit = 0;
    for (int ms = 0; ms < 100 && n < sizeof s->pk / sizeof *s->pk; ms++, s->send++) {
        uint32_t rate = hx_bwe_estimate(&s->b);
        uint8_t tag = hx_bwe_probe_tag(&s->b, s->send);
        if (tag && s->b.probe_bps > rate) rate = s->b.probe_bps;
        credit += rate / 8000.0;
        while (credit >= 1200 && n < sizeof s->pk / sizeof *s->pk) {
            credit -= 1200;
            int64_t t = s->send * 1000;
            if (s->busy_until_us > t + 1000000) s->busy_until_us = t; /* the clock went back */
            int64_t start = s->busy_until_us > t ? s->busy_until_us : t;
            int64_t done = start + 1200 * 8 * 1000000LL / cap;
            int64_t arr = -1;
            if (done - t <= 500000) {
                s->busy_until_us = done;
                arr = s->rx_base + done + 20000;
            }
            s->pk[n++] = (hx_bwe_pkt){s->send, arr, 1200, tag};
        }
    }
    s->now = s->send + 20;
    if (n) hx_bwe_on_feedback(&s->b, s->pk, n, s->now);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rd r = {data, size};
    state *s = &st;
    hx_bwe_config c;
    hx_bwe_config_default(&c);
    if (u8(&r) & 1) {
        hx_bwe_config x;
        x.min_bps = u32(&r);
        x.start_bps = u32(&r);
        x.max_bps = u32(&r);
        if (!hx_bwe_config_check(&x)) c = x;
    }
    if (hx_bwe_config_check(&c)) abort();
    hx_bwe_init(&s->b, &c);
    check(&s->b);
    s->now = (int64_t)u32(&r) + 1;
    s->send = s->now;
    s->rx_base = (int64_t)u32(&r) * 1000;
    s->qdelay_us = 0;
    s->busy_until_us = 0;
    while (r.n) {
        switch (u8(&r) % 8) {
        case 0:
            feedback(s, &r, false);
            break;
        case 1:
            feedback(s, &r, true);
            break;
        case 2: {
            uint64_t bps = u32(&r);
            bps <<= u8(&r) % 9;
            hx_bwe_on_remb(&s->b, bps, s->now += u8(&r));
            break;
        }
        case 3:
            hx_bwe_on_rr_loss(&s->b, u8(&r), s->now += u8(&r));
            break;
        case 4: {
            uint32_t wanted = u32(&r);
            probe_due(s, wanted >> (u8(&r) % 24));
            break;
        }
        case 5:
            alloc(s, &r);
            break;
        case 6: {
            uint8_t k = u8(&r);
            if (k & 1) {
                s->now += u16(&r);
                s->send = s->now;
            } else if (k & 2) {
                s->rx_base -= (int64_t)(1 << 24) * 64000; /* the reference time wrapped */
            } else {
                s->rx_base = (int64_t)(int32_t)u32(&r) * 1000;
            }
            break;
        }
        case 7: {
            if (s->send < s->now) s->send = s->now;
            link(s, 16000u * (1u + u8(&r)));
            break;
        }
        }
        check(&s->b);
    }
    return 0;
}
