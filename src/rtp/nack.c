/*
 * Receive-side NACK generator (RFC 4585 §3.2: the receiver decides what
 * to ask for; the policy is libwebrtc's NackRequester, simplified).
 *
 * Missing packets are the gaps in the extended sequence numbers seen. A
 * gap is added when a newer packet arrives, an entry leaves when the
 * packet arrives late (original or RTX-recovered), when it falls more
 * than max_age_seq behind the newest packet, or after max_tries NACKs.
 * A seq is asked for again only after an RTT without it arriving.
 *
 * The list is a fixed array sorted by extended seq: new gaps are always
 * newer than every entry, so adding appends; removal compacts. When a gap
 * would overflow HX_NACK_MAX the list is cleared and the caller asked to
 * request a keyframe instead, since recovering that much by NACK would
 * take longer than a new keyframe.
 */
#include "rtp/stats.h"

#include <string.h>

void hx_nack_gen_init(hx_nack_gen *g, uint8_t max_tries, uint16_t max_age_seq)
{
    memset(g, 0, sizeof *g);
    hx_seq_unwrap_init(&g->seq);
    g->max_tries = max_tries ? max_tries : 1;
    g->max_age_seq = max_age_seq ? max_age_seq : 1;
}

static void remove_at(hx_nack_gen *g, size_t i)
{
    memmove(&g->items[i], &g->items[i + 1], (g->n - i - 1) * sizeof g->items[0]);
    g->n--;
}

static void remove_seq(hx_nack_gen *g, uint64_t ext)
{
    size_t lo = 0, hi = g->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (g->items[mid].ext < ext)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < g->n && g->items[lo].ext == ext) remove_at(g, lo);
}

static void drop_old(hx_nack_gen *g)
{
    size_t k = 0;
    while (k < g->n && g->items[k].ext + g->max_age_seq < g->seq.max)
        k++;
    if (!k) return;
    memmove(&g->items[0], &g->items[k], (g->n - k) * sizeof g->items[0]);
    g->n -= k;
}

int hx_nack_gen_on_packet(hx_nack_gen *g, uint16_t seq)
{
    int first = !g->seq.started;
    uint64_t prev = g->seq.max, ext;
    int kind = hx_seq_unwrap_push(&g->seq, seq, &ext);
    if (first || kind == HX_SEQ_BAD) return HX_NACK_OK;
    if (kind == HX_SEQ_RESET) {
        g->n = 0;
        return HX_NACK_OK;
    }
    if (kind == HX_SEQ_OLD) {
        remove_seq(g, ext);
        return HX_NACK_OK;
    }
    drop_old(g);
    uint64_t missing = ext - prev - 1;
    if (missing > HX_NACK_MAX - g->n) {
        g->n = 0;
        return HX_NACK_KEYFRAME;
    }
    for (uint64_t s = prev + 1; s < ext; s++) {
        hx_nack_item *it = &g->items[g->n++];
        it->ext = s;
        it->sent_us = 0;
        it->tries = 0;
    }
    return HX_NACK_OK;
}

size_t hx_nack_gen_collect(hx_nack_gen *g, uint64_t now_us, uint64_t rtt_us, uint16_t *out,
                           size_t cap)
{
    size_t w = 0, n = 0;
    for (size_t i = 0; i < g->n; i++) {
        hx_nack_item it = g->items[i];
        int due = !it.sent_us || now_us < it.sent_us || now_us - it.sent_us >= rtt_us;
        if (due && n < cap) {
            out[n++] = (uint16_t)it.ext;
            it.sent_us = now_us ? now_us : 1;
            it.tries++;
            if (it.tries >= g->max_tries) continue; /* last try: forget it */
        }
        g->items[w++] = it;
    }
    g->n = w;
    return n;
}
