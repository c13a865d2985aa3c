/*
 * VP9 RTP payload descriptor, RFC 9628 §4.2:
 *
 *   I P L F B E V Z            I: picture id; P: inter-picture predicted;
 *   [M PictureID(7) [(8)]]     L: layer byte; F: flexible mode; B/E: first/
 *   [TID(3) U SID(3) D]        last packet of a layer frame; V: scalability
 *   [TL0PICIDX]                structure; Z: not a reference for the upper
 *   [P_DIFF(7) N] x <= 3       spatial layers. TL0PICIDX with L in non-
 *   [SS]                       flexible mode, P_DIFFs with F and P.
 *
 * The scalability structure (§4.2.1): N_S(3) Y G RSV(3); with Y a 16-bit
 * width and height per spatial layer; with G a picture count N_G and per
 * picture TID(3) U R(2) RSV(2) followed by R P_DIFF bytes.
 *
 * A spatial layer frame's packets run from B to E; the RTP marker ends the
 * picture (its last spatial layer). An SFU that drops the upper layers ends
 * the picture itself (sfu/svc.c).
 */
#include "rtp/keyframe.h"

#include <string.h>

#define NEED(n)                                                                                    \
    do {                                                                                           \
        if (len - pos < (size_t)(n)) return HX_RTP_ETRUNC;                                         \
    } while (0)

static int parse_ss(const uint8_t *p, size_t len, size_t *at, hx_vp9_desc *d)
{
    size_t pos = *at;
    NEED(1);
    uint8_t b = p[pos++];
    d->ss_layers = (uint8_t)((b >> 5) + 1);
    if (b & 0x10) { /* Y: resolutions */
        NEED(4 * d->ss_layers);
        for (int i = 0; i < d->ss_layers; i++, pos += 4) {
            d->ss_width[i] = (uint16_t)(p[pos] << 8 | p[pos + 1]);
            d->ss_height[i] = (uint16_t)(p[pos + 2] << 8 | p[pos + 3]);
        }
    }
    if (b & 0x08) { /* G: picture group */
        NEED(1);
        int n_g = p[pos++];
        for (int i = 0; i < n_g; i++) {
            NEED(1);
            int refs = p[pos++] >> 2 & 3;
            NEED(refs);
            pos += (size_t)refs;
        }
    }
    d->has_ss = 1;
    *at = pos;
    return HX_RTP_OK;
}

int hx_vp9_parse(const uint8_t *p, size_t len, hx_vp9_desc *d)
{
    memset(d, 0, sizeof *d);
    if (!p || len < 1) return HX_RTP_ETRUNC;
    size_t pos = 1;
    uint8_t b = p[0];
    d->inter = b >> 6 & 1;
    d->has_layers = b >> 5 & 1;
    d->flexible = b >> 4 & 1;
    d->begin = b >> 3 & 1;
    d->end = b >> 2 & 1;
    d->not_ref = b & 1;
    if (b & 0x80) {
        NEED(1);
        d->has_picture_id = 1;
        if (p[pos] & 0x80) {
            NEED(2);
            d->picture_id = (uint16_t)((p[pos] & 0x7f) << 8 | p[pos + 1]);
            pos += 2;
        } else {
            d->picture_id = p[pos++];
        }
    }
    if (d->has_layers) {
        NEED(1);
        uint8_t l = p[pos++];
        d->tid = l >> 5;
        d->switch_up = l >> 4 & 1;
        d->sid = l >> 1 & 7;
        d->inter_layer = l & 1;
        if (!d->flexible) {
            NEED(1);
            pos++; /* TL0PICIDX */
        }
    }
    if (d->flexible && d->inter) {
        for (int i = 0;; i++) {
            if (i == 3) return HX_RTP_EINVAL; /* at most three references */
            NEED(1);
            if (!(p[pos++] & 1)) break;
        }
    }
    if (b & 0x02) {
        int rc = parse_ss(p, len, &pos, d);
        if (rc != HX_RTP_OK) return rc;
    }
    d->hdr_len = pos;
    d->keyframe = d->begin && !d->inter && d->sid == 0;
    return HX_RTP_OK;
}
