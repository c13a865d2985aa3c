/*
 * The relay's frames and track descriptions (relay.h). Pure: every length is checked against
 * what is left before it is read; nothing allocates.
 */
#include "sfu/relay.h"

#include "common/bytes.h"

#include <string.h>

long hx_relay_frame_head(uint8_t *buf, size_t cap, hx_relay_type type, const char *id,
                         size_t id_len, uint8_t arg)
{
    if (!id_len || id_len > 255 || cap < HX_RELAY_HEAD + id_len) return -1;
    buf[0] = HX_RELAY_BYTE;
    buf[1] = (uint8_t)type;
    buf[2] = (uint8_t)id_len;
    buf[3] = arg;
    memcpy(buf + HX_RELAY_HEAD, id, id_len);
    return (long)(HX_RELAY_HEAD + id_len);
}

long hx_relay_frame_sr(uint8_t *buf, size_t cap, const char *track, uint8_t layer, uint64_t ntp,
                       uint32_t rtp)
{
    long n = hx_relay_frame_head(buf, cap, HX_RELAY_SR, track, strlen(track), layer);
    if (n < 0 || cap - (size_t)n < 12) return -1;
    hx_wr64(buf + n, ntp);
    hx_wr32(buf + n + 8, rtp);
    return n + 12;
}

int hx_relay_frame_parse(const uint8_t *buf, size_t len, hx_relay_frame *f)
{
    memset(f, 0, sizeof *f);
    if (len < HX_RELAY_HEAD || buf[0] != HX_RELAY_BYTE) return -1;
    f->type = buf[1];
    f->arg = buf[3];
    f->id_len = buf[2];
    if (f->type < HX_RELAY_MEDIA || f->type > HX_RELAY_NACK || !f->id_len ||
        len - HX_RELAY_HEAD < f->id_len)
        return -1;
    f->id = (const char *)buf + HX_RELAY_HEAD;
    f->payload = buf + HX_RELAY_HEAD + f->id_len;
    f->payload_len = len - HX_RELAY_HEAD - f->id_len;
    switch (f->type) {
    case HX_RELAY_MEDIA:
        return f->payload_len >= 12 ? 0 : -1; /* at least an RTP header */
    case HX_RELAY_SR:
        if (f->payload_len != 12) return -1;
        f->ntp = hx_rd64(f->payload);
        f->rtp = hx_rd32(f->payload + 8);
        return 0;
    case HX_RELAY_KEYFRAME:
    case HX_RELAY_LAYERS:
        return f->payload_len == 0 ? 0 : -1;
    case HX_RELAY_NACK:
        return f->payload_len && f->payload_len % 2 == 0 && f->payload_len <= 2 * HX_RELAY_MAX_NACKS
                   ? 0
                   : -1;
    default: /* DATA: a fragment of "participant\n..." */
        if (f->payload_len <= HX_RELAY_DATA_HEAD || f->arg > 3) return -1;
        f->data_seq = hx_rd32(f->payload);
        f->frag = hx_rd16(f->payload + 4);
        f->payload += HX_RELAY_DATA_HEAD;
        f->payload_len -= HX_RELAY_DATA_HEAD;
        return 0;
    }
}

/* ---- descriptions: a byte cursor each way ------------------------------------------------ */

typedef struct wr {
    uint8_t *p;
    size_t cap, len;
    int err;
} wr;

static void put8(wr *w, uint8_t v)
{
    if (w->len + 1 > w->cap) {
        w->err = -1;
        return;
    }
    w->p[w->len++] = v;
}

static void put32(wr *w, uint32_t v)
{
    if (w->len + 4 > w->cap) {
        w->err = -1;
        return;
    }
    hx_wr32(w->p + w->len, v);
    w->len += 4;
}

static void put_str(wr *w, const char *s)
{
    size_t n = strlen(s);
    if (n > 255 || w->len + 1 + n > w->cap) {
        w->err = -1;
        return;
    }
    w->p[w->len++] = (uint8_t)n;
    memcpy(w->p + w->len, s, n);
    w->len += n;
}

static void put_codec(wr *w, const hx_sdp_nego_codec *c)
{
    put8(w, c->pt);
    put8(w, c->rtx_pt);
    put32(w, c->clock);
    put8(w, c->channels);
    put8(w, c->fb);
    put_str(w, c->name);
    put_str(w, c->fmtp);
}

typedef struct rd {
    const uint8_t *p;
    size_t len, off;
    int err;
} rd;

static uint8_t get8(rd *r)
{
    if (r->off + 1 > r->len) {
        r->err = -1;
        return 0;
    }
    return r->p[r->off++];
}

static uint32_t get32(rd *r)
{
    if (r->off + 4 > r->len) {
        r->err = -1;
        return 0;
    }
    uint32_t v = hx_rd32(r->p + r->off);
    r->off += 4;
    return v;
}

/* A string into out[cap]: too long for it, or past the end, is an error. */
static void get_str(rd *r, char *out, size_t cap)
{
    size_t n = get8(r);
    if (r->err || n >= cap || r->off + n > r->len) {
        r->err = -1;
        out[0] = '\0';
        return;
    }
    memcpy(out, r->p + r->off, n);
    out[n] = '\0';
    r->off += n;
    if (memchr(out, '\0', n)) r->err = -1; /* a NUL inside: not a string of ours */
}

static void get_codec(rd *r, hx_sdp_nego_codec *c)
{
    c->pt = get8(r);
    c->rtx_pt = get8(r);
    c->clock = get32(r);
    c->channels = get8(r);
    c->fb = get8(r);
    get_str(r, c->name, sizeof c->name);
    get_str(r, c->fmtp, sizeof c->fmtp);
}

#define DESC_VERSION 1

long hx_relay_desc_encode(const hx_relay_desc *d, uint8_t *buf, size_t cap)
{
    wr w = {buf, cap, 0, 0};
    put8(&w, DESC_VERSION);
    put8(&w, (uint8_t)d->kind);
    put_str(&w, d->mid);
    put_codec(&w, &d->codec);
    put8(&w, d->has_alt);
    if (d->has_alt) put_codec(&w, &d->alt);
    put8(&w, HX_SDP_EXT_COUNT);
    for (int i = 0; i < HX_SDP_EXT_COUNT; i++)
        put8(&w, d->ext_id[i]);
    put8(&w, d->n_layers);
    for (int i = 0; i < d->n_layers && i < HX_RELAY_MAX_LAYERS; i++) {
        put_str(&w, d->layers[i].rid);
        put32(&w, d->layers[i].ssrc);
        put32(&w, d->layers[i].rtx_ssrc);
    }
    return w.err ? -1 : (long)w.len;
}

int hx_relay_desc_decode(const uint8_t *buf, size_t len, hx_relay_desc *d)
{
    memset(d, 0, sizeof *d);
    rd r = {buf, len, 0, 0};
    if (get8(&r) != DESC_VERSION) return -1;
    d->kind = (hx_sdp_kind)get8(&r);
    get_str(&r, d->mid, sizeof d->mid);
    get_codec(&r, &d->codec);
    uint8_t alt = get8(&r);
    if (alt > 1) return -1;
    d->has_alt = alt;
    if (alt) get_codec(&r, &d->alt);
    if (get8(&r) != HX_SDP_EXT_COUNT) return -1; /* another build's extensions: not ours */
    for (int i = 0; i < HX_SDP_EXT_COUNT; i++)
        d->ext_id[i] = get8(&r);
    d->n_layers = get8(&r);
    if (r.err || d->n_layers < 1 || d->n_layers > HX_RELAY_MAX_LAYERS) return -1;
    for (int i = 0; i < d->n_layers; i++) {
        get_str(&r, d->layers[i].rid, sizeof d->layers[i].rid);
        d->layers[i].ssrc = get32(&r);
        d->layers[i].rtx_ssrc = get32(&r);
    }
    if (r.err || r.off != len || (d->kind != HX_SDP_AUDIO && d->kind != HX_SDP_VIDEO)) return -1;
    return 0;
}
