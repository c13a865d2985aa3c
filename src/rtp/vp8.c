/*
 * VP8 RTP payload descriptor, RFC 7741 §4.2:
 *
 *   X R N S R PID(3)           X: extension byte follows; S: start of a
 *   [I L T K RSV(4)]           partition; PID: partition index
 *   [M PictureID(7) [(8)]]     I: picture id, M: 15 bits instead of 7
 *   [TL0PICIDX]                L
 *   [TID(2) Y KEYIDX(5)]       T or K
 *
 * The VP8 payload header (§4.3) follows on the first packet of a frame
 * (S=1, PID=0); its first byte's low bit P is 0 for a key frame.
 *
 * Simulcast layers number their pictures independently. On a switch the
 * rewriter picks offsets so the subscriber's picture id and TL0PICIDX
 * continue at one past the last values sent; packets of one picture keep
 * one number because the offset is constant until the next switch. "Last"
 * is the newest value in serial-number order (15 bits, 8 bits), so a late
 * packet does not pull it back.
 */
#include "rtp/keyframe.h"

#include <string.h>

int hx_vp8_parse(const uint8_t *p, size_t len, hx_vp8_desc *d)
{
    memset(d, 0, sizeof *d);
    if (!p || len < 1) return HX_RTP_ETRUNC;
    size_t pos = 1;
    d->non_ref = p[0] >> 5 & 1;
    d->start = p[0] >> 4 & 1;
    d->pid = p[0] & 7;
    if (p[0] & 0x80) {
        if (len < 2) return HX_RTP_ETRUNC;
        uint8_t x = p[1];
        pos = 2;
        if (x & 0x80) {
            if (pos >= len) return HX_RTP_ETRUNC;
            d->has_picture_id = 1;
            d->picture_id_off = pos;
            if (p[pos] & 0x80) {
                if (pos + 1 >= len) return HX_RTP_ETRUNC;
                d->picture_id_long = 1;
                d->picture_id = (uint16_t)((p[pos] & 0x7f) << 8 | p[pos + 1]);
                pos += 2;
            } else {
                d->picture_id = p[pos] & 0x7f;
                pos += 1;
            }
        }
        if (x & 0x40) {
            if (pos >= len) return HX_RTP_ETRUNC;
            d->has_tl0 = 1;
            d->tl0_off = pos;
            d->tl0picidx = p[pos++];
        }
        if (x & 0x30) {
            if (pos >= len) return HX_RTP_ETRUNC;
            d->has_tid = x >> 5 & 1;
            d->has_keyidx = x >> 4 & 1;
            d->tid = p[pos] >> 6;
            d->layer_sync = p[pos] >> 5 & 1;
            d->keyidx = p[pos] & 0x1f;
            pos++;
        }
    }
    d->hdr_len = pos;
    if (d->start && d->pid == 0 && pos < len) d->keyframe = !(p[pos] & 1);
    return HX_RTP_OK;
}

int hx_vp8_keyframe_size(const uint8_t *p, size_t len, uint16_t *width, uint16_t *height)
{
    hx_vp8_desc d;
    int rc = hx_vp8_parse(p, len, &d);
    if (rc != HX_RTP_OK) return rc;
    if (!d.keyframe) return HX_RTP_ENOTFOUND;
    if (len - d.hdr_len < 10) return HX_RTP_ETRUNC;
    const uint8_t *k = p + d.hdr_len;
    if (k[3] != 0x9d || k[4] != 0x01 || k[5] != 0x2a) return HX_RTP_EINVAL;
    *width = (uint16_t)((k[6] | k[7] << 8) & 0x3fff);
    *height = (uint16_t)((k[8] | k[9] << 8) & 0x3fff);
    return HX_RTP_OK;
}

int hx_vp8_set_picture_id(uint8_t *p, const hx_vp8_desc *d, uint16_t picture_id)
{
    if (!d->has_picture_id) return HX_RTP_ENOTFOUND;
    if (d->picture_id_long) {
        p[d->picture_id_off] = (uint8_t)(0x80 | (picture_id >> 8 & 0x7f));
        p[d->picture_id_off + 1] = (uint8_t)picture_id;
    } else {
        p[d->picture_id_off] = picture_id & 0x7f;
    }
    return HX_RTP_OK;
}

int hx_vp8_set_tl0picidx(uint8_t *p, const hx_vp8_desc *d, uint8_t tl0picidx)
{
    if (!d->has_tl0) return HX_RTP_ENOTFOUND;
    p[d->tl0_off] = tl0picidx;
    return HX_RTP_OK;
}

void hx_vp8_rw_init(hx_vp8_rewriter *rw)
{
    memset(rw, 0, sizeof *rw);
    rw->out_pid = -1;
}

void hx_vp8_rw_switch(hx_vp8_rewriter *rw)
{
    rw->switch_pending = 1;
}

/* Serial-number "a is newer than b" for n-bit counters (RFC 1982). */
static int newer(uint16_t a, uint16_t b, uint16_t mask)
{
    uint16_t d = (uint16_t)((a - b) & mask);
    return d != 0 && d <= mask / 2;
}

int hx_vp8_rw_rewrite(hx_vp8_rewriter *rw, uint8_t *payload, size_t len)
{
    hx_vp8_desc d;
    int rc = hx_vp8_parse(payload, len, &d);
    if (rc != HX_RTP_OK) return rc;
    if (rw->started && rw->switch_pending) {
        rw->pid_offset = (uint16_t)((rw->last_pid + 1 - d.picture_id) & 0x7fff);
        rw->tl0_offset = (uint8_t)(rw->last_tl0 + 1 - d.tl0picidx);
    }
    rw->switch_pending = 0;
    uint16_t pid = (uint16_t)((d.picture_id + rw->pid_offset) & 0x7fff);
    uint8_t tl0 = (uint8_t)(d.tl0picidx + rw->tl0_offset);
    rw->out_pid = -1;
    if (d.has_picture_id) {
        hx_vp8_set_picture_id(payload, &d, pid);
        if (!rw->started || newer(pid, rw->last_pid, 0x7fff)) rw->last_pid = pid;
        rw->out_pid = pid;
    }
    if (d.has_tl0) {
        hx_vp8_set_tl0picidx(payload, &d, tl0);
        if (!rw->started || newer(tl0, rw->last_tl0, 0xff)) rw->last_tl0 = tl0;
    }
    rw->started = 1;
    return HX_RTP_OK;
}

void hx_vp8_rw_drop(hx_vp8_rewriter *rw, const hx_vp8_desc *d)
{
    if (!d->has_picture_id) return;
    if (rw->dropped && d->picture_id == rw->drop_pid) return; /* the same picture again */
    rw->dropped = 1;
    rw->drop_pid = d->picture_id;
    rw->pid_offset = (uint16_t)((rw->pid_offset - 1) & 0x7fff);
}

int hx_vp8_rw_resend(const hx_vp8_rewriter *rw, uint8_t *payload, size_t len, uint16_t pid)
{
    hx_vp8_desc d;
    int rc = hx_vp8_parse(payload, len, &d);
    if (rc != HX_RTP_OK) return rc;
    if (d.has_picture_id) hx_vp8_set_picture_id(payload, &d, pid & 0x7fff);
    if (d.has_tl0) hx_vp8_set_tl0picidx(payload, &d, (uint8_t)(d.tl0picidx + rw->tl0_offset));
    return HX_RTP_OK;
}
