/*
 * Payload types on a subscriber PC. Every m-line of a BUNDLE group shares
 * one RTP session, so a payload type must mean one codec across all of
 * them (RFC 8843 §9.1): a stack that keeps one payload type map per
 * transport (GStreamer's webrtcbin) otherwise decodes VP8 as Opus when an
 * aiortc publisher's VP8 and a Chromium publisher's Opus both arrive as 96.
 *
 * A consumer keeps its publisher's payload types where they mean the same
 * on this transport (a free number, or one already carrying the same codec:
 * all VP8 m-lines may share 96), and otherwise takes a free dynamic number
 * (96-127, then 35-63; never 64-95, which rtcp-mux reserves for RTCP,
 * RFC 5761 §4). The forward path then writes the subscriber's number into
 * each packet. RTX is "rtx with apt=<the consumer's primary>". RED (RFC
 * 2198) is offered only when its number and the Opus number inside it can
 * stay the publisher's, since its block headers name the inner payload
 * type; otherwise the consumer is offered plain Opus and gets the primary
 * blocks (forward.c).
 */
#include "sfu/engine_internal.h"

#include <string.h>
#include <strings.h>

static bool same_codec(const hx_sdp_nego_codec *a, const hx_sdp_nego_codec *b)
{
    return !strcasecmp(a->name, b->name) && a->clock == b->clock && a->channels == b->channels &&
           !strcmp(a->fmtp, b->fmtp);
}

/* What k uses pt for: a codec (*codec), or RTX (*apt >= 0). False when k does not use it. */
static bool meaning(const hx__consumer *k, unsigned pt, const hx_sdp_nego_codec **codec, int *apt)
{
    const hx__track *tr = k->track;
    *codec = NULL;
    *apt = -1;
    if (pt == k->pt)
        *codec = (tr->has_alt && !k->offer_red) ? &tr->alt : &tr->codec;
    else if (k->rtx_pt && pt == k->rtx_pt)
        *apt = k->pt;
    else if (k->offer_red && pt == k->alt_pt)
        *codec = &tr->alt;
    return *codec || *apt >= 0;
}

/* Can `self` use pt for codec (or, apt >= 0, for RTX of apt) on its transport? */
static bool fits(const hx__consumer *self, unsigned pt, const hx_sdp_nego_codec *codec, int apt)
{
    const hx__transport *sub = self->sub;
    for (int i = 0; i < sub->n_consumers; i++) {
        const hx__consumer *k = sub->consumers[i];
        const hx_sdp_nego_codec *kc;
        int ka;
        if (k == self || !meaning(k, pt, &kc, &ka)) continue;
        if (apt >= 0 ? ka != apt : (ka >= 0 || !same_codec(kc, codec))) return false;
    }
    return true;
}

/* The number another consumer already gives this codec (or this RTX), else the preferred one
 * if it fits, else the first free dynamic one not in `own`; 0: none. Sharing numbers keeps the
 * offer short and lets a recycled m-line keep its number (aiortc 1.4.0 answers a recycled
 * m-line with the number its previous codec had). */
static uint8_t pick(const hx__consumer *c, unsigned preferred, const hx_sdp_nego_codec *codec,
                    int apt, const uint8_t own[2])
{
    const hx__transport *sub = c->sub;
    for (int i = 0; i < sub->n_consumers; i++) {
        const hx__consumer *k = sub->consumers[i];
        const hx_sdp_nego_codec *kc;
        int ka;
        for (unsigned j = 0; j < 3 && k != c; j++) {
            unsigned pt = j == 0 ? k->pt : j == 1 ? k->rtx_pt : (k->offer_red ? k->alt_pt : 0);
            if (!pt || pt == own[0] || pt == own[1] || !meaning(k, pt, &kc, &ka)) continue;
            if ((apt >= 0 ? ka == apt : (ka < 0 && same_codec(kc, codec))) &&
                fits(c, pt, codec, apt))
                return (uint8_t)pt;
        }
    }
    if (preferred && preferred != own[0] && preferred != own[1] &&
        fits(c, preferred, codec, apt))
        return (uint8_t)preferred;
    for (unsigned i = 0; i < 32 + 29; i++) {
        unsigned pt = i < 32 ? 96 + i : 35 + (i - 32);
        if (pt != own[0] && pt != own[1] && fits(c, pt, codec, apt)) return (uint8_t)pt;
    }
    return 0;
}

int hx__consumer_pick_pts(hx__consumer *c)
{
    const hx__track *tr = c->track;
    uint8_t own[2] = {0, 0};
    c->offer_red = false;
    c->pt = c->alt_pt = c->rtx_pt = 0;
    if (tr->has_alt) {
        /* RED as is when both of its numbers can stay; else plain Opus. */
        c->offer_red = true;
        c->pt = tr->codec.pt;
        c->alt_pt = tr->alt.pt;
        if (!fits(c, tr->codec.pt, &tr->codec, -1) || !fits(c, tr->alt.pt, &tr->alt, -1) ||
            tr->codec.pt == tr->alt.pt) {
            c->offer_red = false;
            c->pt = c->alt_pt = 0;
        }
    }
    if (!c->pt) {
        const hx_sdp_nego_codec *codec = tr->has_alt ? &tr->alt : &tr->codec;
        c->pt = pick(c, codec->pt, codec, -1, own);
        if (!c->pt) return -1;
        if (tr->has_alt) c->alt_pt = c->pt;
    }
    own[0] = c->pt;
    own[1] = c->offer_red ? c->alt_pt : 0;
    if (tr->codec.rtx_pt && !tr->has_alt) {
        c->rtx_pt = pick(c, tr->codec.rtx_pt, NULL, c->pt, own);
        if (!c->rtx_pt) return -1;
    }
    return 0;
}
