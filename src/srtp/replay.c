/*
 * Packet index estimation and the replay window.
 *
 * RTP carries only a 16-bit sequence number; the 48-bit packet index is
 * ROC * 2^16 + SEQ, with the rollover counter kept at each end. Given the
 * highest index authenticated so far (ROC, s_l), RFC 3711 Appendix A picks
 * v in {ROC - 1, ROC, ROC + 1} so that the index lands closest to s_l:
 *
 *   s_l < 2^15:  v = ROC - 1 if SEQ - s_l > 2^15, else ROC
 *   s_l >= 2^15: v = ROC + 1 if s_l - 2^15 > SEQ, else ROC
 *
 * v = -1 (a packet from before the first one, across a wrap) has no index
 * and is refused as too old; v = 2^32 means the index space is exhausted.
 *
 * The replay window (§3.3.2) is a bitmap of the HX_SRTP_REPLAY_WINDOW
 * indices at and below the highest; anything newer is accepted, anything
 * older than the window is refused. The sender uses the same estimation on
 * what it protects, so its ROC advances on the wrap however the packets
 * reach it (an SFU forwards them slightly out of order at times).
 */
#include "srtp/srtp_internal.h"

#include <string.h>

#define HALF 32768

int hx__srtp_estimate(uint64_t top, uint16_t seq, uint64_t *index)
{
    int64_t roc = (int64_t)(top >> 16), v = roc;
    int32_t s_l = (int32_t)(top & 0xffff), s = seq;
    if (s_l < HALF) {
        if (s - s_l > HALF) v = roc - 1;
    } else if (s_l - HALF > s) {
        v = roc + 1;
    }
    if (v < 0) return HX_SRTP_ERR_REPLAY;
    if (v > (int64_t)UINT32_MAX) return HX_SRTP_ERR_LIMIT;
    *index = (uint64_t)v << 16 | seq;
    return 0;
}

void hx__replay_start(hx__replay *w, uint64_t index)
{
    memset(w, 0, sizeof *w);
    w->top = index;
}

int hx__replay_check(const hx__replay *w, uint64_t index)
{
    if (index > w->top) return 0;
    uint64_t d = w->top - index;
    if (d >= HX_SRTP_REPLAY_WINDOW) return HX_SRTP_ERR_REPLAY;
    return w->bits[d / 64] >> (d % 64) & 1 ? HX_SRTP_ERR_REPLAY : 0;
}

/* Shift the bitmap towards older indices by n < HX_SRTP_REPLAY_WINDOW bits. */
static void shift(hx__replay *w, unsigned n)
{
    unsigned words = n / 64, bits = n % 64;
    for (int i = HX__WINDOW_WORDS - 1; i >= 0; i--) {
        int src = i - (int)words;
        uint64_t v = src >= 0 ? w->bits[src] << bits : 0;
        if (bits && src - 1 >= 0) v |= w->bits[src - 1] >> (64 - bits);
        w->bits[i] = v;
    }
}

void hx__replay_add(hx__replay *w, uint64_t index)
{
    if (index > w->top) {
        uint64_t d = index - w->top;
        if (d >= HX_SRTP_REPLAY_WINDOW)
            memset(w->bits, 0, sizeof w->bits);
        else
            shift(w, (unsigned)d);
        w->top = index;
        w->bits[0] |= 1;
        return;
    }
    uint64_t d = w->top - index;
    if (d < HX_SRTP_REPLAY_WINDOW) w->bits[d / 64] |= (uint64_t)1 << (d % 64);
}
