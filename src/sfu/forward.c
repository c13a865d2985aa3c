/*
 * The forwarding hot path: one SRTP packet from a publisher becomes one
 * packet per subscriber. Unprotect once; find the track and layer by SSRC
 * (learned from the mid / rid header extensions when the SDP named none);
 * unwrap RTX; note it for receive statistics, NACK generation and the
 * packet cache; then for every consumer that forwards this layer: copy the
 * packet into a send slot of the socket, rewrite SSRC, sequence number,
 * timestamp and header extension ids, protect with the subscriber's SRTP
 * context and commit the slot on the subscriber's path (core.h: the carrier
 * batches UDP slots into few syscalls). Nothing here allocates.
 *
 * Simulcast: a consumer forwards one layer; it moves to its target layer at
 * that layer's next keyframe, and the rewriter re-bases so its sequence
 * numbers and timestamps stay continuous.
 */
#include "sfu/engine_internal.h"

#include "rtp/red.h"

#include <stdlib.h>
#include <string.h>

static uint64_t now_us(const hx__engine *e)
{
    return (uint64_t)e->now_ms * 1000;
}

void hx__request_keyframe(hx__track *tr, int layer)
{
    hx__transport *pub = tr->pub;
    if (tr->kind != HX_SDP_VIDEO || (!pub->srtp_out && !pub->relay)) return;
    int64_t now = pub->e->now_ms;
    if (tr->last_pli_ms && now - tr->last_pli_ms < HX__PLI_MIN_MS) {
        /* Held back, not dropped: the tick sends it when the interval has passed. */
        tr->pli_pending =
            layer < 0 || (tr->pli_pending && tr->pli_pending != layer + 1) ? -1 : layer + 1;
        hx__arm(pub, tr->last_pli_ms + HX__PLI_MIN_MS);
        return;
    }
    tr->last_pli_ms = now;
    tr->pli_pending = 0;
    if (hx__relay_keyframe(tr, layer)) { /* a mirror: its home asks the publisher */
        tr->plis_sent++;
        return;
    }
    uint8_t buf[64 + HX_SRTCP_MAX_OVERHEAD];
    for (int i = 0; i < tr->n_layers; i++) {
        if (layer >= 0 && i != layer) continue;
        if (!tr->layers[i].ssrc) continue;
        long n = hx_rtcp_pli_build(buf, 64, 1, tr->layers[i].ssrc);
        if (n > 0) hx__send_rtcp(pub, buf, (size_t)n);
        tr->plis_sent++;
    }
    hx_sfu_builder b;
    hx__begin(pub->e, &b, HX_SFU_EV_KEYFRAME_NEEDED, pub->id);
    hx_sfu_put_cstr(&b, HX_SFU_T_TRACK, tr->id);
    hx__emit(pub->e, &b);
}

/*
 * Last resort (RFC 8843 §9.2): no a=ssrc and no mid extension (GStreamer's webrtcbin offers
 * before its encoder knows its SSRC, and sends no mid). The payload type names the m-line when
 * exactly one track without simulcast that has not learned its SSRC yet uses it.
 */
static hx__track *by_payload_type(hx__transport *t, const hx_rtp_hdr *h, int *layer, bool *rtx)
{
    hx__track *found = NULL;
    bool found_rtx = false;
    for (int i = 0; i < t->n_tracks; i++) {
        hx__track *tr = t->tracks[i];
        if (tr->n_layers != 1 || tr->layers[0].rid[0]) continue;
        bool media =
            !tr->layers[0].ssrc && (h->pt == tr->codec.pt || (tr->has_alt && h->pt == tr->alt.pt));
        bool rtx_pt = !tr->layers[0].rtx_ssrc && tr->codec.rtx_pt && h->pt == tr->codec.rtx_pt;
        if (!media && !rtx_pt) continue;
        if (found) return NULL; /* ambiguous: wait for an SSRC the SDP or an extension names */
        found = tr;
        found_rtx = rtx_pt;
    }
    if (!found) return NULL;
    if (found_rtx)
        found->layers[0].rtx_ssrc = h->ssrc;
    else
        found->layers[0].ssrc = h->ssrc;
    *layer = 0, *rtx = found_rtx;
    return found;
}

/* Find (or learn) the track and layer of a packet; *rtx when it is a retransmission stream. */
static hx__track *classify(hx__transport *t, const uint8_t *pkt, const hx_rtp_hdr *h, int *layer,
                           bool *rtx)
{
    for (int i = 0; i < t->n_tracks; i++) {
        hx__track *tr = t->tracks[i];
        for (int l = 0; l < tr->n_layers; l++) {
            if (tr->layers[l].ssrc == h->ssrc) {
                *layer = l, *rtx = false;
                return tr;
            }
            if (tr->layers[l].rtx_ssrc && tr->layers[l].rtx_ssrc == h->ssrc) {
                *layer = l, *rtx = true;
                return tr;
            }
        }
    }
    /* Unknown SSRC: the mid extension names the m-line, rid / repaired-rid the layer. */
    for (int i = 0; i < t->n_tracks; i++) {
        hx__track *tr = t->tracks[i];
        char mid[HX_SDP_TOKEN_LEN], rid[HX_SDP_TOKEN_LEN] = "";
        if (!tr->ext_id[HX_SDP_EXT_MID] ||
            hx_rtp_ext_string(pkt, h, tr->ext_id[HX_SDP_EXT_MID], mid, sizeof mid) < 0 ||
            strcmp(mid, tr->mid) != 0)
            continue;
        bool is_rtx = false;
        if (tr->ext_id[HX_SDP_EXT_RID] &&
            hx_rtp_ext_string(pkt, h, tr->ext_id[HX_SDP_EXT_RID], rid, sizeof rid) >= 0) {
        } else if (tr->ext_id[HX_SDP_EXT_RRID] &&
                   hx_rtp_ext_string(pkt, h, tr->ext_id[HX_SDP_EXT_RRID], rid, sizeof rid) >= 0) {
            is_rtx = true;
        } else {
            is_rtx = tr->codec.rtx_pt && h->pt == tr->codec.rtx_pt;
        }
        for (int l = 0; l < tr->n_layers; l++) {
            if (strcmp(tr->layers[l].rid, rid) != 0) continue;
            if (is_rtx)
                tr->layers[l].rtx_ssrc = h->ssrc;
            else
                tr->layers[l].ssrc = h->ssrc;
            *layer = l, *rtx = is_rtx;
            return tr;
        }
    }
    return by_payload_type(t, h, layer, rtx);
}

static bool layer_sending(const hx__track *tr, int l, int64_t now)
{
    return tr->layers[l].last_packet_ms && now - tr->layers[l].last_packet_ms < 1000;
}

/* Which layer should c forward now? Its target within the downlink's cap (downlink.c); when
 * that layer is not sending, the nearest one below that is, else the nearest above. */
int hx__wanted_layer(const hx__consumer *c, int64_t now)
{
    const hx__track *tr = c->track;
    int l = c->target_layer < 0 ? 0 : c->target_layer;
    if (c->bwe_layer >= 0 && c->bwe_layer < l) l = c->bwe_layer;
    if (l >= tr->n_layers) l = tr->n_layers - 1;
    for (int i = l; i >= 0; i--)
        if (layer_sending(tr, i, now)) return i;
    for (int i = l + 1; i < tr->n_layers; i++)
        if (layer_sending(tr, i, now)) return i;
    return l;
}

/* The lines of a subscriber transport that forward_one reads (engine_internal.h keeps them at
 * the start of hx__transport). */
static inline void prefetch_sub(const hx__transport *sub)
{
    __builtin_prefetch(sub);
    __builtin_prefetch((const char *)sub + 64);
    __builtin_prefetch((const char *)&sub->path + sizeof sub->path - 1);
}

static void forward_one(hx__consumer *c, const uint8_t *pkt, size_t len, const hx_rtp_hdr *h,
                        int layer, bool keyframe, const hx__svc_frame *svc, const hx_vp8_desc *vp8)
{
    hx__transport *sub = c->sub;
    hx__engine *e = sub->e;
    if (!sub->path.proto || !sub->srtp_out || !c->negotiated || c->paused) return;
    hx__track *tr = c->track;
    /* The downlink cannot carry this layer (downlink.c): stop at once, so the lower layer's
     * keyframe does not queue behind it. The picture holds until that keyframe. */
    if (c->bwe_layer >= -1 && layer > c->bwe_layer && tr->kind == HX_SDP_VIDEO) return;
    if (c->layer != layer) {
        if (layer != hx__wanted_layer(c, e->now_ms) || (tr->kind == HX_SDP_VIDEO && !keyframe))
            return;
        c->layer = layer; /* switch here, at a keyframe */
        c->need_keyframe = false;
        hx_seq_rw_switch(&c->rw);
        hx_vp8_rw_switch(&c->vp8);
        /* What was sent before is no use to the decoder now, and its VP8 numbers were rewritten
         * with offsets that end here: nothing of it is resent (hx__resend). */
        if (c->sent) memset(c->sent, 0, HX__NACK_MAP * sizeof *c->sent);
        hx__receiving_check(c); /* the subscriber hears of it (receiving.c) */
    } else if (c->need_keyframe) {
        if (!keyframe) return;
        c->need_keyframe = false;
    }
    bool marker = false;
    if (svc && !hx__svc_filter(c, svc, &marker)) { /* a spatial layer above c's (svc.c) */
        hx_seq_rw_drop(&c->rw, h->ssrc, h->seq);
        return;
    }
    if (vp8 && (c->tl_target != HX__TL_ALL || c->tl_cur != HX__TL_ALL) &&
        !hx__temporal_pass(c, layer, vp8, keyframe)) {
        hx_seq_rw_drop(&c->rw, h->ssrc, h->seq); /* a temporal layer above c's (temporal.c) */
        return;
    }
    uint16_t seq;
    uint32_t ts;
    if (hx_seq_rw_map(&c->rw, h->ssrc, h->seq, h->ts, now_us(e), &seq, &ts) != HX_SEQ_RW_FORWARD)
        return;
    if (len + HX_SRTP_MAX_OVERHEAD > HX_ENGINE_MTU) return;
    uint8_t *out = e->io.slot(e->io.ctx);
    size_t olen = len;
    hx_rtp_hdr oh = *h;
    uint8_t red_pt;
    size_t red_off, red_len;
    if (tr->has_alt && h->pt == tr->codec.pt && !c->red_ok && c->alt_ok &&
        hx_red_primary(pkt + h->payload_offset, h->payload_len, &red_pt, &red_off, &red_len) == 0 &&
        red_pt == tr->alt.pt) {
        /* A subscriber without RED gets the primary block: a plain Opus packet. */
        memcpy(out, pkt, h->payload_offset);
        memcpy(out + h->payload_offset, pkt + h->payload_offset + red_off, red_len);
        out[0] &= (uint8_t)~0x20; /* no padding */
        hx_rtp_set_pt(out, c->alt_pt);
        olen = h->payload_offset + red_len;
        oh.payload_len = red_len;
        oh.padding = 0;
        oh.padding_len = 0;
    } else if (tr->has_alt && (h->pt == tr->codec.pt ? !c->red_ok : !c->alt_ok)) {
        e->io.commit(e->io.ctx, &sub->path, 0); /* RED we cannot unwrap, or Opus without RED */
        return;
    } else {
        memcpy(out, pkt, len);
        /* The subscriber's payload type (payload_types.c); RED passes with the publisher's. */
        uint8_t pt = tr->has_alt && h->pt == tr->alt.pt ? c->alt_pt : c->pt;
        if (pt != h->pt) hx_rtp_set_pt(out, pt);
    }
    hx_rtp_set_ssrc(out, c->ssrc);
    hx_rtp_set_seq(out, seq);
    hx_rtp_set_ts(out, ts);
    if (marker) hx_rtp_set_marker(out, 1);
    if (oh.extension) hx_rtp_ext_remap(out, &olen, &oh, c->ext_map, HX_EXT_UNKNOWN_REMOVE);
    bool rewritten = tr->vcodec == HX_CODEC_VP8 && (tr->n_layers > 1 || c->vp8.dropped) &&
                     hx_vp8_rw_rewrite(&c->vp8, out + oh.payload_offset, oh.payload_len) == 0 &&
                     c->vp8.out_pid >= 0;
    uint16_t tseq;
    bool stamped = c->tcc && hx__dl_stamp(c, out, &olen, HX_ENGINE_MTU - HX_SRTP_MAX_OVERHEAD, &oh,
                                          &tseq) == 0;
    if (hx_srtp_protect(sub->srtp_out, out, &olen, HX_ENGINE_MTU) != 0) {
        e->io.commit(e->io.ctx, &sub->path, 0);
        return;
    }
    e->io.commit(e->io.ctx, &sub->path, olen);
    if (stamped) hx__dl_sent(sub, tseq, olen);
    /* The NACK map comes with a video consumer's first packet (one that never forwards costs
     * nothing); without the memory for it, its NACKs go unanswered. */
    if (!c->packets && !c->sent && tr->kind == HX_SDP_VIDEO)
        c->sent = calloc(HX__NACK_MAP, sizeof *c->sent);
    if (c->sent) {
        c->sent[seq % HX__NACK_MAP] =
            (struct hx__sent){.src_seq = h->seq,
                              .pid = rewritten ? (uint16_t)(0x8000 | c->vp8.out_pid) : 0,
                              .ts_out = ts,
                              .out_hi = (uint8_t)(seq / HX__NACK_MAP),
                              .layer = (uint8_t)(layer + 1)};
    }
    c->last_ts_out = ts;
    c->last_ts_src = h->ts;
    c->last_out_ms = e->now_ms;
    c->packets++;
    c->bytes += olen;
    if (!sub->packets_out++) hx__milestones(sub);
    sub->bytes_out += olen;
    /* Its sender report and stats are due (O(1) unless the timer is later than that). */
    hx__arm(sub, sub->last_report_ms + 1000 < sub->last_stats_ms + 2000
                     ? sub->last_report_ms + 1000
                     : sub->last_stats_ms + 2000);
}

void hx__rx_rtp(hx__transport *t, uint8_t *pkt, size_t len)
{
    if (!t->srtp_in || t->role != HX__PUBLISHER) return;
    if (hx_srtp_unprotect(t->srtp_in, pkt, &len) != 0) {
        t->srtp_errors++;
        return;
    }
    if (!t->packets_in++) hx__milestones(t);
    t->bytes_in += len;
    hx_rtp_hdr h;
    if (hx_rtp_parse(pkt, len, &h) != 0) return;
    if (t->twcc_id && h.extension) hx__twcc_on_packet(t, pkt, &h);
    int layer = 0;
    bool rtx = false;
    hx__track *tr = classify(t, pkt, &h, &layer, &rtx);
    if (!tr) return;
    hx__layer *l = &tr->layers[layer];
    if (rtx) {
        if (!l->ssrc) return;
        long n = hx_rtx_unwrap(pkt, len, l->ssrc, tr->codec.pt);
        if (n <= 0 || hx_rtp_parse(pkt, (size_t)n, &h) != 0) return;
        len = (size_t)n;
    }
    hx__rx_media(t, tr, layer, rtx, pkt, len, &h);
}

void hx__rx_media(hx__transport *t, hx__track *tr, int layer, bool rtx, uint8_t *pkt, size_t len,
                  hx_rtp_hdr *hp)
{
    hx_rtp_hdr h = *hp;
    hx__layer *l = &tr->layers[layer];
    /* Only the negotiated first codec is forwarded (and, behind RED, plain Opus). */
    if (h.pt != tr->codec.pt && !(tr->has_alt && h.pt == tr->alt.pt)) return;
    uint64_t us = now_us(t->e);
    /* A retransmission of a packet we have: libwebrtc pads its uplink with RTX copies of recent
     * packets ("redundant payloads"), the same one again and again. Forwarded, each copy would
     * reach subscribers under the sequence number they already have: their SRTP replay check
     * drops it, after it cost their link and left a hole in their transport-wide feedback that
     * reads as loss (downlink.c). */
    if (rtx && l->cache.slots && hx_rtp_cache_get(&l->cache, h.seq, us)) {
        l->rtx_duplicates++;
        return;
    }
    l->last_packet_ms = t->e->now_ms;
    l->packets++;
    l->bytes += len;
    if (!l->stats_started) {
        hx_rx_stats_init(&l->stats, tr->codec.clock ? tr->codec.clock : 90000);
        l->stats_started = true;
    }
    hx_rx_stats_update(&l->stats, h.seq, h.ts, us);
    bool keyframe = false;
    hx__svc_frame sf;
    const hx__svc_frame *svc = NULL;
    hx_vp8_desc vd;
    const hx_vp8_desc *vp8 = NULL;
    if (!t->relay) hx__arm(t, t->last_report_ms + 1000); /* its receiver report */
    if (tr->kind == HX_SDP_VIDEO) {
        if (hx_nack_gen_on_packet(&l->nack, h.seq) == HX_NACK_KEYFRAME)
            hx__request_keyframe(tr, layer);
        if (l->nack.n) hx__arm(t, t->last_nack_ms + 20); /* a gap: NACK it (relay.c too) */
        if (l->cache.slots) hx_rtp_cache_put(&l->cache, pkt, len, us);
        if (tr->vcodec == HX_CODEC_VP8 &&
            hx_vp8_parse(pkt + h.payload_offset, h.payload_len, &vd) == HX_RTP_OK) {
            vp8 = &vd;
            hx__temporal_count(l, vp8, len); /* temporal.c */
        }
        int read = hx__svc_on_packet(tr, pkt, &h, len, &sf);
        if (read == 1) svc = &sf;
        keyframe = read >= 0
                       ? sf.keyframe
                       : hx_keyframe_start(tr->vcodec, pkt + h.payload_offset, h.payload_len) == 1;
        if (keyframe) /* the layers' sizes (receiving.c) */
            hx__sizes_learn(tr, layer, pkt + h.payload_offset, h.payload_len,
                            read >= 0 ? &sf : NULL);
    }
    if (tr->muted) return; /* a moderator's mute: no packets, and no speaker either */
    if (t->room_of && t->room_of->n_relays && !t->relay) /* the other workers of the room */
        hx__relay_media(t, tr, layer, pkt, len);
    if (tr->kind == HX_SDP_AUDIO && tr->ext_id[HX_SDP_EXT_AUDIO_LEVEL] && h.extension)
        hx__speakers_level(t, tr, pkt, &h);
    /* A big room's consumers and subscriber transports are far apart in memory: each one's
     * first touch was a cache miss, most of the fan-out's time at 1,000 subscribers. So the
     * walk fetches ahead: while consumer i is served, consumer i+3, the transport lines of
     * i+2 (its consumer is in by then) and the SRTP context of i+1 (its transport is in). */
    hx__consumer *c = tr->consumers, *c1 = c ? c->track_next : NULL;
    hx__consumer *c2 = c1 ? c1->track_next : NULL;
    if (c) prefetch_sub(c->sub);
    if (c1) prefetch_sub(c1->sub);
    while (c) {
        if (c2) {
            __builtin_prefetch(c2->track_next);
            prefetch_sub(c2->sub);
        }
        if (c1) __builtin_prefetch(c1->sub->srtp_out);
        forward_one(c, pkt, len, &h, layer, keyframe, svc, vp8);
        c = c1;
        c1 = c2;
        c2 = c2 ? c2->track_next : NULL;
    }
}

/* A subscriber lost packets: resend them from the publisher's cache, as RTX when negotiated. */
void hx__resend(hx__consumer *c, const uint16_t *seqs, size_t n)
{
    hx__transport *sub = c->sub;
    hx__engine *e = sub->e;
    if (!c->sent || !sub->path.proto || !sub->srtp_out) return;
    if (c->track->muted) return; /* a moderator's mute holds for retransmissions too */
    for (size_t i = 0; i < n; i++) {
        struct hx__sent *s = &c->sent[seqs[i] % HX__NACK_MAP];
        int layer = s->layer - 1; /* -1: nothing in this slot */
        if (layer < 0 || s->out_hi != seqs[i] / HX__NACK_MAP || layer >= c->track->n_layers)
            continue;
        /* A layer left behind (a switch, the downlink's cap) is no use to the decoder any more;
         * resending it would only load a link that just proved too narrow. */
        if (c->track->n_layers > 1 && layer != c->layer) continue;
        hx__layer *l = &c->track->layers[layer];
        /* At most once per 10 ms per subscriber; other subscribers' NACKs do not hold this one
         * back. */
        if (s->resent && (uint16_t)((uint16_t)e->now_ms - s->resent) < 10) continue;
        const hx_rtp_cache_entry *ce = hx_rtp_cache_get(&l->cache, s->src_seq, now_us(e));
        if (!ce || !hx__dl_rtx_allowed(sub, ce->len)) continue;
        s->resent = (uint16_t)e->now_ms ? (uint16_t)e->now_ms : 1;
        uint8_t tmp[HX_RTP_MAX_PACKET];
        size_t len = ce->len;
        memcpy(tmp, ce->data, len);
        hx_rtp_hdr h;
        if (hx_rtp_parse(tmp, len, &h) != 0) continue;
        hx_rtp_set_ssrc(tmp, c->ssrc);
        hx_rtp_set_pt(tmp, c->pt);
        hx_rtp_set_seq(tmp, seqs[i]);
        hx_rtp_set_ts(tmp, s->ts_out);
        if (h.extension) hx_rtp_ext_remap(tmp, &len, &h, c->ext_map, HX_EXT_UNKNOWN_REMOVE);
        /* As forward_one sent it: the VP8 numbers of a simulcast switch, the marker of the top
         * spatial layer a subscriber gets (svc.c). The cache holds what the publisher sent. */
        if (s->pid & 0x8000) /* as sent: picture ids move on with every dropped picture */
            hx_vp8_rw_resend(&c->vp8, tmp + h.payload_offset, h.payload_len, s->pid);
        else if (c->track->vcodec == HX_CODEC_VP8 && c->track->n_layers > 1)
            hx_vp8_rw_rewrite(&c->vp8, tmp + h.payload_offset, h.payload_len);
        hx__svc_frame v;
        if (c->track->svc_layers > 1 && hx__svc_read(c->track, tmp, &h, &v, false) == 0 &&
            v.sid == c->svc_cur && v.end)
            hx_rtp_set_marker(tmp, 1);
        uint16_t tseq;
        bool stamped =
            c->tcc &&
            hx__dl_stamp(c, tmp, &len, HX_ENGINE_MTU - HX_SRTP_MAX_OVERHEAD - 2, &h, &tseq) == 0;
        uint8_t *out = e->io.slot(e->io.ctx);
        long olen = (long)len;
        if (c->rtx_ssrc && c->rtx_pt && !e->cfg.retransmit_original)
            olen = hx_rtx_wrap(out, HX_ENGINE_MTU - HX_SRTP_MAX_OVERHEAD, tmp, len, c->rtx_ssrc,
                               c->rtx_pt, c->rtx_seq++);
        else if (len + HX_SRTP_MAX_OVERHEAD <= HX_ENGINE_MTU)
            memcpy(out, tmp, len);
        else
            olen = -1;
        size_t plen = olen > 0 ? (size_t)olen : 0;
        if (olen <= 0 || hx_srtp_protect(sub->srtp_out, out, &plen, HX_ENGINE_MTU) != 0) {
            e->io.commit(e->io.ctx, &sub->path, 0);
            continue;
        }
        e->io.commit(e->io.ctx, &sub->path, plen);
        if (stamped) hx__dl_sent(sub, tseq, plen);
        c->rtx_sent++;
    }
}
