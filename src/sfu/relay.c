/*
 * Relays between workers, the engine's side (relay.h for the design and the frames).
 *
 * On the home (where a room's publishers are): the room lists the workers it relays to
 * (RELAY_OUT); each packet a publisher's track forwards goes once to each of them, before
 * the local fan-out, and so do the publishers' sender reports and data messages. A
 * keyframe request or a set of wanted layers from one of them acts as a local subscriber's
 * would (the wanted layers count in dynacast.c).
 *
 * On another worker: RELAY_IN makes a mirror of a track, owned by a stand-in transport with
 * the publisher's id (t->relay; no ICE, DTLS or SRTP: nothing is negotiated with anyone). Its
 * packets enter the same receive path a publisher's do (forward.c: hx__rx_media), so the
 * mirror has caches, NACK state, layer rates and sizes like any track. What the stand-in
 * would report goes nowhere (hx__emit): the control plane hears of the publisher from its
 * own worker. Its keyframe requests and wanted layers go to the home instead.
 */
#include "sfu/engine_internal.h"

#include "common/bytes.h"
#include "common/invariant.h"
#include "net/addr.h"
#include "rtp/rtp.h"
#include "sfu/relay.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "ip:port" (IPv6 as "[ip]:port") into a UDP path. 0, or -1. */
static int parse_addr(const hx_sfu_str *s, hx_engine_path *p)
{
    char text[80], *colon;
    if (!s->p || s->len == 0 || s->len >= sizeof text) return -1;
    memcpy(text, s->p, s->len);
    text[s->len] = '\0';
    if (!(colon = strrchr(text, ':'))) return -1;
    *colon = '\0';
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || port < 1 || port > 65535) return -1;
    memset(p, 0, sizeof *p);
    p->proto = HX_PATH_UDP;
    char *host = text;
    if (*host == '[') {
        size_t n = strlen(host);
        if (n < 2 || host[n - 1] != ']') return -1;
        host[n - 1] = '\0';
        host++;
    }
    return hx_addr_from_ip(host, (int)port, &p->addr, &p->addrlen) ? -1 : 0;
}

/* ---- the home ---------------------------------------------------------------------------- */

static int target_of(const hx__room *r, const struct sockaddr_storage *from)
{
    for (int i = 0; r && i < r->n_relays; i++)
        if (hx__addr_equal(&r->relay_to[i].addr, from)) return i;
    return -1;
}

static uint8_t all_layers(const hx__track *tr)
{
    return (uint8_t)((1u << tr->n_layers) - 1);
}

/* RELAY_OUT: start or stop relaying the room to a worker. */
static void relay_out(hx__engine *e, const hx_sfu_msg *m)
{
    char name[sizeof((hx__room *)0)->name];
    hx_engine_path to;
    hx__room *r = hx_strmap_get(&e->rooms, hx_sfu_field_copy(m, HX_SFU_T_ROOM, name, sizeof name));
    if (!r || parse_addr(&m->f[HX_SFU_T_ADDR], &to)) return; /* nothing of the room here */
    int i = target_of(r, &to.addr);
    if (m->flags & HX_SFU_F_ON) {
        if (i >= 0 || r->n_relays == HX__MAX_RELAYS) return;
        i = r->n_relays++;
        r->relay_to[i] = to;
        /* Until that worker says which layers it wants: every one. */
        for (hx__transport *t = r->head; t; t = t->room_next)
            for (int k = 0; t->role == HX__PUBLISHER && k < t->n_tracks; k++) {
                t->tracks[k]->relay_want[i] = all_layers(t->tracks[k]);
                hx__layers_check(t->tracks[k]);
            }
        return;
    }
    if (i < 0) return;
    r->n_relays--;
    for (int k = i; k < r->n_relays; k++)
        r->relay_to[k] = r->relay_to[k + 1];
    for (hx__transport *t = r->head; t; t = t->room_next)
        for (int k = 0; t->role == HX__PUBLISHER && k < t->n_tracks; k++) {
            hx__track *tr = t->tracks[k];
            for (int j = i; j < r->n_relays; j++)
                tr->relay_want[j] = tr->relay_want[j + 1];
            tr->relay_want[r->n_relays] = 0;
            hx__layers_check(tr);
        }
}

uint8_t hx__relay_wanted(const hx__track *tr)
{
    const hx__room *r = tr->pub->room_of;
    uint8_t want = 0;
    for (int i = 0; r && !tr->pub->relay && i < r->n_relays; i++)
        want |= tr->relay_want[i];
    return want;
}

/* One frame (head written by the caller into the slot) to every worker the room relays to. */
static void to_targets(hx__engine *e, const hx__room *r, const uint8_t *frame, size_t len)
{
    for (int i = 0; i < r->n_relays; i++)
        hx__send_copy(e, &r->relay_to[i], frame, len);
}

void hx__relay_media(hx__transport *t, hx__track *tr, int layer, const uint8_t *pkt, size_t len)
{
    hx__engine *e = t->e;
    hx__room *r = t->room_of;
    size_t id_len = strlen(tr->id);
    for (int i = 0; i < r->n_relays; i++) {
        uint8_t *out = e->io.slot(e->io.ctx);
        long n =
            hx_relay_frame_head(out, HX_ENGINE_MTU, HX_RELAY_MEDIA, tr->id, id_len, (uint8_t)layer);
        if (n < 0 || (size_t)n + len > HX_ENGINE_MTU) {
            e->io.commit(e->io.ctx, &r->relay_to[i], 0);
            r->relay_dropped++;
            continue;
        }
        memcpy(out + n, pkt, len);
        e->io.commit(e->io.ctx, &r->relay_to[i], (size_t)n + len);
        r->relay_packets++;
    }
}

void hx__relay_sr(hx__track *tr, int layer)
{
    hx__room *r = tr->pub->room_of;
    if (!r || !r->n_relays || tr->pub->relay) return;
    const hx__layer *ly = &tr->layers[layer];
    uint8_t buf[HX_RELAY_HEAD + HX__ID_LEN + 12];
    long n = hx_relay_frame_sr(buf, sizeof buf, tr->id, (uint8_t)layer, ly->sr_ntp, ly->sr_rtp);
    if (n > 0) to_targets(tr->pub->e, r, buf, (size_t)n);
}

void hx__relay_data(hx__room *r, const uint8_t *msg, size_t len, bool binary)
{
    if (!r || !r->n_relays) return;
    hx__engine *e = r->head ? r->head->e : NULL;
    if (!e) return;
    uint8_t buf[HX_ENGINE_MTU];
    uint32_t seq = ++r->relay_data_seq;
    size_t off = 0;
    for (uint16_t frag = 0; off < len || !frag; frag++) { /* in fragments of a datagram each */
        long n = hx_relay_frame_head(buf, sizeof buf, HX_RELAY_DATA, r->name, strlen(r->name), 0);
        if (n < 0 || (size_t)n + HX_RELAY_DATA_HEAD >= sizeof buf) {
            r->relay_dropped++;
            return;
        }
        size_t room = sizeof buf - (size_t)n - HX_RELAY_DATA_HEAD;
        size_t chunk = len - off < room ? len - off : room;
        buf[3] = (uint8_t)((binary ? HX_RELAY_DATA_BINARY : 0) |
                           (off + chunk < len ? HX_RELAY_DATA_MORE : 0));
        hx_wr32(buf + n, seq);
        hx_wr16(buf + n + 4, frag);
        memcpy(buf + n + HX_RELAY_DATA_HEAD, msg + off, chunk);
        to_targets(e, r, buf, (size_t)n + HX_RELAY_DATA_HEAD + chunk);
        off += chunk;
    }
}

/* A data message or a fragment of one from the room's home: delivered when whole. A fragment
 * out of turn (one was lost) drops the message it belongs to. */
static void data_in(hx__room *r, const hx_relay_frame *f)
{
    const uint8_t *msg = f->payload;
    size_t len = f->payload_len;
    bool more = f->arg & HX_RELAY_DATA_MORE;
    if (f->frag == 0 && !more) {
        r->rx_len = 0; /* a whole message: nothing to gather */
    } else {
        if (f->frag == 0) {
            r->rx_seq = f->data_seq;
            r->rx_len = 0;
            r->rx_next = 0;
        }
        if (f->data_seq != r->rx_seq || f->frag != r->rx_next || r->rx_len + len > HX__RELAY_MAX) {
            r->rx_next = UINT16_MAX; /* the rest of this message is no use */
            r->relay_dropped++;
            return;
        }
        if (!r->rx_buf && !(r->rx_buf = malloc(HX__RELAY_MAX))) return;
        memcpy(r->rx_buf + r->rx_len, msg, len);
        r->rx_len += len;
        r->rx_next++;
        if (more) return;
        msg = r->rx_buf, len = r->rx_len;
        r->rx_len = 0;
        r->rx_next = UINT16_MAX;
    }
    const uint8_t *nl = memchr(msg, '\n', len);
    if (nl)
        hx__data_deliver(r, (const char *)msg, (size_t)(nl - msg), msg, len,
                         f->arg & HX_RELAY_DATA_BINARY);
}

/* A keyframe request or the wanted layers from a worker this room relays to. */
static void from_target(hx__engine *e, const hx_engine_path *from, const hx_relay_frame *f)
{
    char id[HX__ID_LEN];
    if (f->id_len >= sizeof id) return;
    memcpy(id, f->id, f->id_len);
    id[f->id_len] = '\0';
    hx__track *tr = hx_strmap_get(&e->tracks, id);
    if (!tr || tr->pub->relay) return;
    int i = target_of(tr->pub->room_of, &from->addr);
    if (i < 0) return; /* not a worker this room relays to */
    if (f->type == HX_RELAY_KEYFRAME) {
        hx__request_keyframe(tr, f->arg == 255 || f->arg >= tr->n_layers ? -1 : f->arg);
    } else if (f->type == HX_RELAY_NACK) {
        if (f->arg >= tr->n_layers) return;
        const hx__room *r = tr->pub->room_of;
        hx__layer *ly = &tr->layers[f->arg];
        for (size_t k = 0; k + 1 < f->payload_len; k += 2) {
            const hx_rtp_cache_entry *ce =
                hx_rtp_cache_get(&ly->cache, hx_rd16(f->payload + k), (uint64_t)e->now_ms * 1000);
            uint8_t *out = ce ? e->io.slot(e->io.ctx) : NULL;
            long n = out ? hx_relay_frame_head(out, HX_ENGINE_MTU, HX_RELAY_MEDIA, tr->id,
                                               strlen(tr->id), f->arg)
                         : -1;
            if (!out) continue;
            if (n < 0 || (size_t)n + ce->len > HX_ENGINE_MTU) {
                e->io.commit(e->io.ctx, &r->relay_to[i], 0);
                continue;
            }
            memcpy(out + n, ce->data, ce->len);
            e->io.commit(e->io.ctx, &r->relay_to[i], (size_t)n + ce->len);
        }
    } else {
        tr->relay_want[i] = f->arg & all_layers(tr);
        hx__layers_check(tr);
    }
}

/* ---- a mirror's worker ------------------------------------------------------------------- */

/* The stand-in for a publisher on another worker: a transport that only holds mirrors. */
static hx__transport *stand_in(hx__engine *e, const hx_sfu_msg *m, const hx_engine_path *home)
{
    hx__transport *t = hx__transport_get(e, m->transport);
    if (t) return t->relay && hx__addr_equal(&t->relay_peer.addr, &home->addr) ? t : NULL;
    const char *why;
    if (!(t = hx__transport_open(e, m, &why))) return NULL;
    hx_ice_demux_remove(&e->demux, &t->ice); /* nothing to check: packets come as frames */
    t->ice_registered = false;
    t->relay = true;
    t->relay_peer = *home;
    t->flags = HX_SFU_F_PUBLISH;
    e->n_relay_in++;
    return t;
}

static hx__track *mirror_new(hx__transport *t, const char *id, const hx_relay_desc *d)
{
    hx__track *tr = calloc(1, sizeof *tr);
    if (!tr) return NULL;
    snprintf(tr->id, sizeof tr->id, "%s", id);
    tr->pub = t;
    tr->kind = d->kind;
    snprintf(tr->mid, sizeof tr->mid, "%s", d->mid);
    tr->codec = d->codec;
    tr->has_alt = d->has_alt;
    tr->alt = d->alt;
    tr->vcodec = hx__video_codec(tr->codec.name);
    memcpy(tr->ext_id, d->ext_id, sizeof tr->ext_id);
    tr->n_layers = d->n_layers;
    for (int i = 0; i < d->n_layers; i++) {
        hx__layer *l = &tr->layers[i];
        snprintf(l->rid, sizeof l->rid, "%s", d->layers[i].rid);
        l->ssrc = d->layers[i].ssrc;
        l->rtx_ssrc = d->layers[i].rtx_ssrc;
        if (tr->kind == HX_SDP_VIDEO) hx_rtp_cache_init(&l->cache, HX__CACHE_VIDEO, 3000000);
        hx_nack_gen_init(&l->nack, 10, 10000);
    }
    if (hx_strmap_put(&t->e->tracks, tr->id, tr, NULL)) {
        for (int i = 0; i < HX__MAX_LAYERS; i++)
            hx_rtp_cache_destroy(&tr->layers[i].cache);
        free(tr);
        return NULL;
    }
    t->tracks[t->n_tracks++] = tr;
    tr->announced = true; /* to nobody (hx__emit): subscribers here may take it */
    tr->active_mask = all_layers(tr);
    hx__layers_check(tr); /* nobody here watches it yet: the home hears so */
    return tr;
}

static void relay_in(hx__engine *e, const hx_sfu_msg *m)
{
    char id[HX__ID_LEN];
    hx_engine_path home;
    hx_relay_desc d;
    if (m->f[HX_SFU_T_TRACK].len == 0 || m->f[HX_SFU_T_TRACK].len >= sizeof id ||
        parse_addr(&m->f[HX_SFU_T_ADDR], &home) ||
        hx_relay_desc_decode((const uint8_t *)m->f[HX_SFU_T_DESC].p, m->f[HX_SFU_T_DESC].len, &d))
        return;
    hx_sfu_field_copy(m, HX_SFU_T_TRACK, id, sizeof id);
    if (hx_strmap_get(&e->tracks, id)) return; /* here already */
    hx__transport *t = stand_in(e, m, &home);
    if (!t || t->n_tracks == HX__MAX_TRACKS) return;
    if (!mirror_new(t, id, &d) && !t->n_tracks) hx__transport_close(t, "relay");
}

static void relay_drop(hx__engine *e, const hx_sfu_msg *m)
{
    char id[HX__ID_LEN];
    if (m->f[HX_SFU_T_TRACK].len >= sizeof id) return;
    hx__track *tr = hx_strmap_get(&e->tracks, hx_sfu_field_copy(m, HX_SFU_T_TRACK, id, sizeof id));
    if (!tr || !tr->pub->relay) return;
    hx__transport *t = tr->pub;
    for (int i = 0; i < t->n_tracks; i++)
        if (t->tracks[i] == tr) {
            t->tracks[i] = t->tracks[--t->n_tracks];
            break;
        }
    hx__track_withdraw(tr, "relay");
    if (!t->n_tracks) hx__transport_close(t, "relay");
}

void hx__relay_command(hx__engine *e, const hx_sfu_msg *m)
{
    switch (m->kind) {
    case HX_SFU_RELAY_OUT:
        relay_out(e, m);
        break;
    case HX_SFU_RELAY_IN:
        relay_in(e, m);
        break;
    case HX_SFU_RELAY_DROP:
        relay_drop(e, m);
        break;
    default:
        break;
    }
}

bool hx__relay_keyframe(hx__track *tr, int layer)
{
    hx__transport *t = tr->pub;
    if (!t->relay) return false;
    uint8_t buf[HX_RELAY_HEAD + HX__ID_LEN];
    long n = hx_relay_frame_head(buf, sizeof buf, HX_RELAY_KEYFRAME, tr->id, strlen(tr->id),
                                 layer < 0 ? 255 : (uint8_t)layer);
    if (n > 0) hx__send_copy(t->e, &t->relay_peer, buf, (size_t)n);
    return true;
}

bool hx__relay_layers(hx__track *tr)
{
    hx__transport *t = tr->pub;
    if (!t->relay) return false;
    uint8_t buf[HX_RELAY_HEAD + HX__ID_LEN];
    long n = hx_relay_frame_head(buf, sizeof buf, HX_RELAY_LAYERS, tr->id, strlen(tr->id),
                                 tr->active_mask);
    if (n > 0) hx__send_copy(t->e, &t->relay_peer, buf, (size_t)n);
    return true;
}

/* A frame from the home: media, a sender report, or a data message. */
static void from_home(hx__engine *e, const hx_engine_path *from, const hx_relay_frame *f,
                      uint8_t *pkt)
{
    if (f->type == HX_RELAY_DATA) {
        char name[sizeof((hx__room *)0)->name];
        if (f->id_len >= sizeof name) return;
        memcpy(name, f->id, f->id_len);
        name[f->id_len] = '\0';
        hx__room *r = hx_strmap_get(&e->rooms, name);
        bool named = false; /* the home of this room is where it comes from */
        for (hx__transport *t = r ? r->head : NULL; t && !named; t = t->room_next)
            named = t->relay && hx__addr_equal(&t->relay_peer.addr, &from->addr);
        if (named) data_in(r, f);
        return;
    }
    char id[HX__ID_LEN];
    if (f->id_len >= sizeof id) return;
    memcpy(id, f->id, f->id_len);
    id[f->id_len] = '\0';
    hx__track *tr = hx_strmap_get(&e->tracks, id);
    if (!tr || !tr->pub->relay || !hx__addr_equal(&tr->pub->relay_peer.addr, &from->addr) ||
        f->arg >= tr->n_layers)
        return;
    hx__layer *ly = &tr->layers[f->arg];
    if (f->type == HX_RELAY_SR) {
        ly->sr_ntp = f->ntp;
        ly->sr_rtp = f->rtp;
        ly->sr_at_ms = e->now_ms;
        return;
    }
    uint8_t *rtp = pkt + (f->payload - pkt);
    hx_rtp_hdr h;
    if (hx_rtp_parse(rtp, f->payload_len, &h) != 0) return;
    ly->ssrc = h.ssrc; /* as the home classified it */
    hx__transport *t = tr->pub;
    t->packets_in++;
    t->bytes_in += f->payload_len;
    hx__rx_media(t, tr, f->arg, false, rtp, f->payload_len, &h);
    hx__arm(t, hx__relay_due(t));
}

void hx__relay_rx(hx__engine *e, const hx_engine_path *from, uint8_t *pkt, size_t len)
{
    hx_relay_frame f;
    if (hx_relay_frame_parse(pkt, len, &f)) {
        e->relay_bad++;
        return;
    }
    if (f.type == HX_RELAY_KEYFRAME || f.type == HX_RELAY_LAYERS || f.type == HX_RELAY_NACK)
        from_target(e, from, &f); /* from a worker this room relays to */
    else
        from_home(e, from, &f, pkt);
}

/* ---- the stand-in's timer ------------------------------------------------------------------ */

static void relay_nacks(hx__transport *t, hx__track *tr, int l)
{
    hx__layer *ly = &tr->layers[l];
    uint16_t seqs[HX_RELAY_MAX_NACKS];
    if (!ly->nack.n) return;
    /* Loopback's round trip: a millisecond or so; asked again after 5 ms. */
    size_t n = hx_nack_gen_collect(&ly->nack, (uint64_t)t->e->now_ms * 1000, 5000, seqs,
                                   HX_RELAY_MAX_NACKS);
    uint8_t buf[HX_RELAY_HEAD + HX__ID_LEN + 2 * HX_RELAY_MAX_NACKS];
    long h =
        hx_relay_frame_head(buf, sizeof buf, HX_RELAY_NACK, tr->id, strlen(tr->id), (uint8_t)l);
    if (!n || h < 0) return;
    for (size_t k = 0; k < n; k++)
        hx_wr16(buf + h + 2 * k, seqs[k]);
    hx__send_copy(t->e, &t->relay_peer, buf, (size_t)h + 2 * n);
}

int64_t hx__relay_due(const hx__transport *t)
{
    int64_t due = hx__layers_due(t);
    for (int i = 0; i < t->n_tracks; i++) {
        const hx__track *tr = t->tracks[i];
        for (int l = 0; tr->kind == HX_SDP_VIDEO && l < tr->n_layers; l++)
            if (tr->layers[l].nack.n && t->last_nack_ms + 20 < due) due = t->last_nack_ms + 20;
        if (tr->pli_pending && tr->last_pli_ms + HX__PLI_MIN_MS < due)
            due = tr->last_pli_ms + HX__PLI_MIN_MS;
        if (tr->layers[0].stats_started && t->last_report_ms + 1000 < due)
            due = t->last_report_ms + 1000;
    }
    return due;
}

void hx__relay_tick(hx__transport *t)
{
    int64_t now = t->e->now_ms;
    for (int i = 0; i < t->n_tracks; i++) {
        hx__track *tr = t->tracks[i];
        if (tr->pli_pending && now - tr->last_pli_ms >= HX__PLI_MIN_MS)
            hx__request_keyframe(tr, tr->pli_pending > 0 ? tr->pli_pending - 1 : -1);
    }
    hx__layers_tick(t);
    if (now - t->last_nack_ms >= 20) { /* what was lost on the way, asked of the home */
        t->last_nack_ms = now;
        for (int i = 0; i < t->n_tracks; i++)
            for (int l = 0; t->tracks[i]->kind == HX_SDP_VIDEO && l < t->tracks[i]->n_layers; l++)
                relay_nacks(t, t->tracks[i], l);
    }
    if (now - t->last_report_ms < 1000) return;
    t->last_report_ms = now;
    hx__layer_rates(t); /* the downlink allocator's input, as for a publisher (rtcp.c) */
}

long hx__track_describe(const hx__track *tr, uint8_t *buf, size_t cap)
{
    hx_relay_desc d;
    memset(&d, 0, sizeof d);
    d.kind = tr->kind;
    snprintf(d.mid, sizeof d.mid, "%s", tr->mid);
    d.codec = tr->codec;
    d.has_alt = tr->has_alt;
    if (tr->has_alt) d.alt = tr->alt;
    memcpy(d.ext_id, tr->ext_id, sizeof d.ext_id);
    d.n_layers = tr->n_layers;
    for (int i = 0; i < tr->n_layers && i < HX_RELAY_MAX_LAYERS; i++) {
        snprintf(d.layers[i].rid, sizeof d.layers[i].rid, "%s", tr->layers[i].rid);
        d.layers[i].ssrc = tr->layers[i].ssrc;
        d.layers[i].rtx_ssrc = tr->layers[i].rtx_ssrc;
    }
    return hx_relay_desc_encode(&d, buf, cap);
}
