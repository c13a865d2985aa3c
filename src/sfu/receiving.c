/*
 * What each subscriber receives of a track with layers, and the size it asks for (issue 12,
 * docs/protocol.md §2.8).
 *
 * Sizes: a simulcast layer's frame size comes from its keyframes where the codec puts it in
 * the first packet (VP8: RFC 6386 §9.1), an SVC track's from the scalability structure of its
 * VP9 keyframes (every spatial layer's). H.264 and AV1 sizes are not read: a size asked for on
 * them keeps the layer chosen before (the top by default) until a rid is asked for.
 *
 * A size asked for (`track.layer` {width, height}) targets the smallest layer at least that
 * large in both dimensions, the top one when none is; as LiveKit's adaptive stream does for a
 * tile of that size. It follows the sizes when they change (a publisher's camera, a layer that
 * appears).
 *
 * EV_RECEIVING tells the control plane the layer a consumer receives now (its rid; q/h/f for
 * SVC's spatial layers; "" when none), its size when known, and whether the downlink's estimate
 * holds it below what was asked for (HX_SFU_F_LIMITED), each time one of these changes: at the
 * switch (a keyframe), when the allocator moves its cap, when a size is learned. Tracks without
 * layers say nothing.
 */
#include "sfu/engine_internal.h"

#include <stdio.h>
#include <string.h>

static bool is_svc(const hx__track *tr)
{
    return tr->svc_layers > 1;
}

static int n_choices(const hx__track *tr)
{
    return is_svc(tr) ? tr->svc_layers : tr->n_layers;
}

static void size_of(const hx__track *tr, int l, uint16_t *w, uint16_t *h)
{
    *w = is_svc(tr) ? tr->svc_width[l] : tr->layers[l].width;
    *h = is_svc(tr) ? tr->svc_height[l] : tr->layers[l].height;
}

int hx__size_target(const hx__consumer *c)
{
    const hx__track *tr = c->track;
    int n = n_choices(tr);
    bool known = false;
    for (int l = 0; l < n; l++) {
        uint16_t w, h;
        size_of(tr, l, &w, &h);
        if (!w || !h) continue;
        known = true;
        if (w >= c->want_w && h >= c->want_h) return l;
    }
    return known ? n - 1 : -1;
}

void hx__consumer_retarget(hx__consumer *c, int l)
{
    hx__track *tr = c->track;
    if (l < 0) return;
    if (hx__svc_capable(tr)) {
        c->svc_target = (int8_t)(l < HX__MAX_LAYERS ? l : HX__MAX_LAYERS - 1);
        if (hx__svc_target(c) > c->svc_cur) hx__request_keyframe(tr, 0); /* up: at a keyframe */
    } else if (l < tr->n_layers && l != c->target_layer) {
        c->target_layer = l;  /* switched at that layer's next keyframe */
        hx__layers_check(tr); /* a paused layer resumes first (dynacast.c) */
        hx__request_keyframe(tr, l);
    }
    hx__receiving_check(c);
}

/* "WxH", each 1..16384; false for anything else. */
static bool parse_size(const hx_sfu_str *s, uint16_t *w, uint16_t *h)
{
    unsigned v[2] = {0, 0};
    int k = 0, digits = 0;
    for (size_t i = 0; i < s->len; i++) {
        char ch = (char)s->p[i];
        if (ch == 'x' && k == 0 && digits) {
            k = 1, digits = 0;
        } else if (ch >= '0' && ch <= '9' && digits < 5) {
            v[k] = v[k] * 10 + (unsigned)(ch - '0');
            digits++;
        } else {
            return false;
        }
    }
    if (k != 1 || !digits || !v[0] || !v[1] || v[0] > 16384 || v[1] > 16384) return false;
    *w = (uint16_t)v[0], *h = (uint16_t)v[1];
    return true;
}

void hx__consumer_ask(hx__consumer *c, const hx_sfu_str *layer, const hx_sfu_str *size)
{
    hx__track *tr = c->track;
    if (size->len) {
        if (!parse_size(size, &c->want_w, &c->want_h)) return;
        hx__consumer_retarget(c, hx__size_target(c));
        return;
    }
    if (hx__svc_capable(tr)) { /* SVC, now or once it sends */
        static const char names[HX__MAX_LAYERS] = {'q', 'h', 'f'};
        for (int s = 0; s < HX__MAX_LAYERS; s++)
            if (layer->len == 1 && layer->p[0] == names[s]) {
                c->want_w = c->want_h = 0;
                hx__consumer_retarget(c, s);
            }
        return;
    }
    for (int i = 0; i < tr->n_layers; i++)
        if (layer->len == strlen(tr->layers[i].rid) &&
            !memcmp(layer->p, tr->layers[i].rid, layer->len)) {
            c->want_w = c->want_h = 0;
            hx__consumer_retarget(c, i);
        }
}

void hx__sizes_learn(hx__track *tr, int layer, const uint8_t *payload, size_t len,
                     const hx__svc_frame *f)
{
    bool changed = false;
    uint16_t w = 0, h = 0;
    if (f && f->sized && f->layers > 1) {
        for (int s = 0; s < f->layers && s < HX__MAX_LAYERS; s++) {
            changed |= tr->svc_width[s] != f->width[s] || tr->svc_height[s] != f->height[s];
            tr->svc_width[s] = f->width[s];
            tr->svc_height[s] = f->height[s];
        }
    } else if (f && f->sized) {
        w = f->width[0], h = f->height[0];
    } else if (tr->vcodec == HX_CODEC_VP8) {
        if (hx_vp8_keyframe_size(payload, len, &w, &h) != HX_RTP_OK) return;
    }
    if (w && h) {
        hx__layer *ly = &tr->layers[layer];
        changed |= ly->width != w || ly->height != h;
        ly->width = w, ly->height = h;
    }
    if (!changed) return;
    for (hx__consumer *c = tr->consumers; c; c = c->track_next) {
        if (c->want_w || c->want_h)
            hx__consumer_retarget(c, hx__size_target(c));
        else
            hx__receiving_check(c);
    }
}

void hx__receiving_check(hx__consumer *c)
{
    const hx__track *tr = c->track;
    if (tr->kind != HX_SDP_VIDEO || n_choices(tr) < 2) return;
    bool svc = is_svc(tr);
    int now = c->layer < 0 ? -1 : svc ? c->svc_cur : c->layer;
    int asked = svc ? c->svc_target : c->target_layer;
    if (asked >= n_choices(tr)) asked = n_choices(tr) - 1;
    /* Limited: a lower layer than asked, or fewer temporal layers (temporal.c). */
    bool limited = (c->bwe_layer >= -1 && c->bwe_layer < asked) || c->tl_target != HX__TL_ALL;
    uint16_t w = 0, h = 0;
    if (now >= 0) size_of(tr, now, &w, &h);
    if (c->told && c->told_layer == now && c->told_limited == limited && c->told_w == w &&
        c->told_h == h)
        return;
    c->told = true;
    c->told_layer = (int8_t)now;
    c->told_limited = limited;
    c->told_w = w, c->told_h = h;
    static const char *const spatial[HX__MAX_LAYERS] = {"q", "h", "f"};
    const char *rid = now < 0 ? "" : svc ? spatial[now] : tr->layers[now].rid;
    char size[16] = "";
    if (w && h) snprintf(size, sizeof size, "%ux%u", (unsigned)w, (unsigned)h);
    hx__engine *e = c->sub->e;
    hx_sfu_builder b;
    hx__begin(e, &b, HX_SFU_EV_RECEIVING, c->sub->id);
    hx_sfu_put_cstr(&b, HX_SFU_T_TRACK, tr->id);
    hx_sfu_put_cstr(&b, HX_SFU_T_LAYER, rid);
    hx_sfu_put_cstr(&b, HX_SFU_T_SIZE, size);
    hx_sfu_put_flags(&b, limited ? HX_SFU_F_LIMITED : 0);
    hx__emit(e, &b);
}
