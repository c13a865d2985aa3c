/*
 * Dependency descriptor (AV1 RTP specification, appendix A.8), read MSB
 * first:
 *
 *   start_of_frame(1) end_of_frame(1) template_id(6) frame_number(16)
 *   [ when longer than 3 bytes:
 *     structure_present(1) active_targets_present(1) custom_dtis(1)
 *     custom_fdiffs(1) custom_chains(1)
 *     [template_dependency_structure] [active_decode_targets(DtCnt)] ]
 *   [ frame_dtis: 2 bits per target ] [ frame_fdiffs: size(2) then
 *     fdiff-1 in 4*size bits, until size 0 ] [ frame_chains: 8 bits each ]
 *
 * The structure: template_id_offset(6) dt_cnt-1(5); template layers as
 * next_layer_idc(2) codes (0 same layer, 1 next temporal, 2 next spatial,
 * 3 end); 2-bit DTIs per template and target; per template fdiffs as
 * follows(1) fdiff-1(4) ...; chain_cnt ns(DtCnt+1) with, if any, a
 * protecting chain ns(chain_cnt) per target and a 4-bit chain fdiff per
 * template and chain; resolutions_present(1) and 16+16 bits per spatial
 * layer. The frame's template is (template_id - offset) mod 64.
 */
#include "rtp/dd.h"

#include <string.h>

typedef struct {
    const uint8_t *p;
    size_t bits, at; /* total and read so far */
    int bad;
} bitr;

static uint32_t f(bitr *b, unsigned n)
{
    uint32_t v = 0;
    if (n > b->bits - b->at) {
        b->bad = 1;
        b->at = b->bits;
        return 0;
    }
    for (unsigned i = 0; i < n; i++, b->at++)
        v = v << 1 | (uint32_t)(b->p[b->at >> 3] >> (7 - (b->at & 7)) & 1);
    return v;
}

/* ns(n): a value below n in a non-symmetric code (spec 4.10.10). */
static uint32_t ns(bitr *b, uint32_t n)
{
    unsigned w = 0;
    for (uint32_t x = n; x; x >>= 1)
        w++;
    if (w == 0) return 0;
    uint32_t m = (1u << w) - n;
    uint32_t v = f(b, w - 1);
    if (v < m) return v;
    return (v << 1) - m + f(b, 1);
}

static int structure(bitr *b, hx_dd_structure *s)
{
    memset(s, 0, sizeof *s);
    s->id_offset = (uint8_t)f(b, 6);
    s->dt_cnt = (uint8_t)(f(b, 5) + 1);
    /* template_layers */
    unsigned sid = 0, tid = 0, idc;
    do {
        if (s->n_templates == HX_DD_MAX_TEMPLATES) return HX_RTP_EINVAL;
        s->sid[s->n_templates] = (uint8_t)sid;
        s->tid[s->n_templates] = (uint8_t)tid;
        s->n_templates++;
        idc = f(b, 2);
        if (idc == 1) {
            if (++tid > 7) return HX_RTP_EINVAL;
            if (tid > s->max_tid) s->max_tid = (uint8_t)tid;
        } else if (idc == 2) {
            tid = 0;
            if (++sid >= HX_DD_MAX_SPATIAL) return HX_RTP_EINVAL;
        }
        if (b->bad) return HX_RTP_ETRUNC;
    } while (idc != 3);
    s->max_sid = (uint8_t)sid;
    /* template_dtis: not kept; layers are chosen by spatial id (sfu/svc.c) */
    for (unsigned t = 0; t < s->n_templates; t++)
        f(b, 2u * s->dt_cnt);
    /* template_fdiffs */
    for (unsigned t = 0; t < s->n_templates && !b->bad; t++)
        while (f(b, 1)) {
            f(b, 4);
            if (++s->fdiff_cnt[t] > 15) return HX_RTP_EINVAL; /* libwebrtc's bound */
        }
    /* template_chains */
    s->chain_cnt = (uint8_t)ns(b, s->dt_cnt + 1u);
    if (s->chain_cnt) {
        for (unsigned d = 0; d < s->dt_cnt; d++)
            ns(b, s->chain_cnt);
        for (unsigned t = 0; t < s->n_templates; t++)
            f(b, 4u * s->chain_cnt);
    }
    if (f(b, 1)) { /* resolutions_present */
        s->has_sizes = 1;
        for (unsigned i = 0; i <= s->max_sid; i++) {
            s->width[i] = (uint16_t)(f(b, 16) + 1);
            s->height[i] = (uint16_t)(f(b, 16) + 1);
        }
    }
    if (b->bad) return HX_RTP_ETRUNC;
    s->valid = 1;
    return HX_RTP_OK;
}

int hx_dd_parse(const uint8_t *p, size_t len, const hx_dd_structure *known, hx_dd_structure *fresh,
                hx_dd_frame *fr)
{
    memset(fr, 0, sizeof *fr);
    if (!p || len < 3) return HX_RTP_ETRUNC;
    if (len > 255) return HX_RTP_EINVAL; /* one extension element at most */
    bitr b = {p, len * 8, 0, 0};
    fr->start = (uint8_t)f(&b, 1);
    fr->end = (uint8_t)f(&b, 1);
    fr->template_id = (uint8_t)f(&b, 6);
    fr->frame_number = (uint16_t)f(&b, 16);
    unsigned custom_dtis = 0, custom_fdiffs = 0, custom_chains = 0;
    hx_dd_structure s;
    const hx_dd_structure *use = known && known->valid ? known : NULL;
    if (len > 3) {
        unsigned has_structure = f(&b, 1), has_active = f(&b, 1);
        custom_dtis = f(&b, 1);
        custom_fdiffs = f(&b, 1);
        custom_chains = f(&b, 1);
        if (has_structure) {
            int rc = structure(&b, &s);
            if (rc != HX_RTP_OK) return rc;
            use = &s;
            fr->has_structure = 1;
        }
        if (!use) return HX_RTP_EINVAL;
        if (has_active) {
            fr->has_active = 1;
            fr->active = f(&b, use->dt_cnt);
        }
    }
    if (!use) return HX_RTP_EINVAL; /* nothing to resolve the template id against */
    if (!fr->has_active) fr->active = use->dt_cnt >= 32 ? UINT32_MAX : (1u << use->dt_cnt) - 1;
    unsigned t = (fr->template_id + 64u - use->id_offset) % 64u;
    if (t >= use->n_templates) return HX_RTP_EINVAL;
    fr->sid = use->sid[t];
    fr->tid = use->tid[t];
    fr->n_fdiffs = use->fdiff_cnt[t];
    if (custom_dtis) f(&b, 2u * use->dt_cnt);
    if (custom_fdiffs) {
        fr->n_fdiffs = 0;
        for (unsigned size; (size = f(&b, 2)) != 0 && !b.bad;) {
            f(&b, 4 * size);
            if (++fr->n_fdiffs > 15) return HX_RTP_EINVAL;
        }
    }
    if (custom_chains) f(&b, 8u * use->chain_cnt);
    if (b.bad) return HX_RTP_ETRUNC;
    fr->keyframe = fr->start && fr->sid == 0 && fr->n_fdiffs == 0;
    if (fr->has_structure && fresh) *fresh = s;
    return HX_RTP_OK;
}
