/*
 * The subscriber side: consumers (one per forwarded track) and the
 * subscriber PC's offers. A SUBSCRIBE adds a consumer with its own SSRC
 * (and RTX SSRC) and marks the transport for renegotiation; the tick sends
 * the next offer once no other is outstanding (one at a time, so the client
 * never sees glare), the client's answer is checked against the offer it
 * answers, and only consumers the answer accepted forward media.
 *
 * The offered codec is the publisher's forwarded codec, under the payload
 * types payload_types.c chose for this subscriber (the forward path writes
 * them into each packet); header extensions are rewritten to the ids
 * offered here (audio level only; the rest is stripped).
 *
 * Negotiation failures (docs/protocol.md §2.2): an offer the client refuses
 * (REMOTE_SDP "refusal") or leaves unanswered for media.offer_timeout_ms
 * has failed. The offerer rolls back to the state before that offer (the
 * last one agreed; its version still goes up) and offers once more; from
 * then on (and after an answer that did not fit) the transport never
 * recycles m-lines, the feature some stacks refuse. A second failure in a
 * row is final: EV_NEGOTIATION_FAILED with
 * HX_SFU_F_FINAL, no more offers, and the control plane tells the client
 * to rejoin. Each failure is an event, so it is logged, audited and
 * counted where the control plane lives.
 */
#include "sfu/engine_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SUB_EXT_AUDIO_LEVEL 1
#define SUB_EXT_DD 4 /* the dependency descriptor, on AV1 m-lines */

hx__consumer *hx__consumer_find(hx__transport *sub, const char *track)
{
    for (int i = 0; i < sub->n_consumers; i++)
        if (!strcmp(sub->consumers[i]->track->id, track)) return sub->consumers[i];
    return NULL;
}

void hx__subscribe(hx__transport *sub, hx__track *tr, const hx_sfu_msg *cmd)
{
    hx__engine *e = sub->e;
    if (strcmp(tr->pub->room, sub->room) != 0) {
        hx__emit_error(e, sub->id, cmd, "unknown_track", "no such track in this room");
        return;
    }
    if (hx__consumer_find(sub, tr->id)) {
        hx__emit_done(e, sub->id, cmd);
        return;
    }
    if (sub->n_consumers >= HX__MAX_CONSUMERS) {
        hx__emit_error(e, sub->id, cmd, "not_allowed", "too many subscriptions on this transport");
        return;
    }
    hx__consumer *c = calloc(1, sizeof *c);
    if (!c) {
        hx__emit_error(e, sub->id, cmd, "internal_error", "out of memory");
        return;
    }
    c->track = tr;
    c->sub = sub;
    snprintf(c->mid, sizeof c->mid, "%u", sub->next_mid++);
    c->ssrc = hx__random_ssrc(e);
    if (hx__consumer_pick_pts(c) != 0) {
        free(c);
        hx__emit_error(e, sub->id, cmd, "not_allowed", "no payload type left on this transport");
        return;
    }
    c->rtx_ssrc = c->rtx_pt ? hx__random_ssrc(e) : 0;
    c->layer = -1;
    c->bwe_layer = -2;
    c->target_layer = tr->n_layers - 1; /* the best layer until told otherwise */
    c->svc_target = HX__MAX_LAYERS - 1; /* and with SVC, every spatial layer (svc.c) */
    c->svc_cur = -1;
    c->tl_target = c->tl_cur = HX__TL_ALL; /* every temporal layer (temporal.c) */
    c->need_keyframe = tr->kind == HX_SDP_VIDEO;
    hx_seq_rw_init(&c->rw, tr->codec.clock ? tr->codec.clock : 90000, (uint16_t)hx__random_ssrc(e),
                   0);
    hx_vp8_rw_init(&c->vp8);
    if (tr->ext_id[HX_SDP_EXT_AUDIO_LEVEL] && tr->kind == HX_SDP_AUDIO)
        c->ext_map[tr->ext_id[HX_SDP_EXT_AUDIO_LEVEL]] = SUB_EXT_AUDIO_LEVEL;
    c->track_next = tr->consumers;
    tr->consumers = c;
    hx__layers_check(tr);
    sub->consumers[sub->n_consumers++] = c;
    sub->renegotiate = true;
    hx__arm(sub, e->now_ms + HX__TICK_MS);
    hx__emit_done(e, sub->id, cmd);
}

void hx__consumer_remove(hx__consumer *c)
{
    hx__track *tr = c->track;
    for (hx__consumer **pp = &tr->consumers; *pp; pp = &(*pp)->track_next)
        if (*pp == c) {
            *pp = c->track_next;
            break;
        }
    hx__transport *sub = c->sub;
    for (int i = 0; i < sub->n_consumers; i++)
        if (sub->consumers[i] == c) {
            memmove(&sub->consumers[i], &sub->consumers[i + 1],
                    (size_t)(sub->n_consumers - i - 1) * sizeof c);
            sub->n_consumers--;
            break;
        }
    if (sub->srtp_out) {
        hx_srtp_forget(sub->srtp_out, c->ssrc);
        if (c->rtx_ssrc) hx_srtp_forget(sub->srtp_out, c->rtx_ssrc);
    }
    sub->renegotiate = !sub->closing;
    hx__arm(sub, sub->e->now_ms + HX__TICK_MS); /* no-op while closing */
    if (!tr->pub->closing) hx__layers_check(tr);
    free(c->sent);
    free(c);
}

void hx__unsubscribe(hx__transport *sub, hx__track *tr, const hx_sfu_msg *cmd)
{
    hx__consumer *c = hx__consumer_find(sub, tr->id);
    if (c) hx__consumer_remove(c);
    hx__emit_done(sub->e, sub->id, cmd);
}

static void fb_strings(hx_sdp_codec *c, uint8_t fb, hx_sdp_kind kind)
{
    static const struct {
        uint8_t bit;
        const char *s;
    } map[] = {{HX_SDP_FB_NACK, "nack"}, {HX_SDP_FB_PLI, "nack pli"}, {HX_SDP_FB_FIR, "ccm fir"}};
    c->n_fb = 0;
    for (size_t i = 0; i < sizeof map / sizeof map[0] && kind == HX_SDP_VIDEO; i++)
        if (fb & map[i].bit) snprintf(c->fb[c->n_fb++], sizeof c->fb[0], "%s", map[i].s);
    /* The subscriber's feedback drives its downlink estimate (downlink.c). */
    if (kind == HX_SDP_VIDEO) snprintf(c->fb[c->n_fb++], sizeof c->fb[0], "transport-cc");
}

void hx__subscriber_maybe_offer(hx__transport *t)
{
    hx__engine *e = t->e;
    if (!t->renegotiate || t->offer_outstanding || !t->offerer || t->closing ||
        t->nego_failures >= 2)
        return;
    hx_sdp_track *tracks = e->offer_tracks;
    size_t n = 0;
    for (int i = 0; i < t->n_consumers; i++) {
        hx__consumer *c = t->consumers[i];
        hx__track *tr = c->track;
        hx_sdp_track *s = &tracks[n++];
        memset(s, 0, sizeof *s);
        s->kind = tr->kind;
        s->mid = c->mid;
        /* A RED track offered without RED (payload_types.c): its Opus alone. */
        const hx_sdp_nego_codec *fc = tr->has_alt && !c->offer_red ? &tr->alt : &tr->codec;
        s->codec.pt = c->pt;
        snprintf(s->codec.name, sizeof s->codec.name, "%s", fc->name);
        s->codec.clock = fc->clock;
        s->codec.channels = fc->channels;
        snprintf(s->codec.fmtp, sizeof s->codec.fmtp, "%s", fc->fmtp);
        fb_strings(&s->codec, fc->fb, tr->kind);
        if (tr->has_alt && c->offer_red) {
            s->has_alt = true;
            memset(&s->alt, 0, sizeof s->alt);
            s->alt.pt = tr->alt.pt;
            snprintf(s->alt.name, sizeof s->alt.name, "%s", tr->alt.name);
            s->alt.clock = tr->alt.clock;
            s->alt.channels = tr->alt.channels;
            snprintf(s->alt.fmtp, sizeof s->alt.fmtp, "%s", tr->alt.fmtp);
        }
        s->rtx_pt = c->rtx_pt;
        s->ssrc = c->ssrc;
        s->rtx_ssrc = c->rtx_ssrc;
        s->cname = tr->pub->participant;
        s->stream_id = tr->pub->participant;
        s->track_id = tr->id;
        if (tr->kind == HX_SDP_AUDIO) {
            s->n_ext = 1;
            s->ext[0].id = SUB_EXT_AUDIO_LEVEL;
            snprintf(s->ext[0].uri, sizeof s->ext[0].uri, "%s", HX_SDP_EXT_AUDIO_LEVEL_URI);
        } else if (tr->kind == HX_SDP_VIDEO) {
            /* Video only: audio-only subscribers (a big audio room) send no feedback at all. */
            s->n_ext = 1;
            s->ext[0].id = HX__SUB_EXT_TCC;
            snprintf(s->ext[0].uri, sizeof s->ext[0].uri, "%s", HX_SDP_EXT_TCC_URI);
            if (tr->ext_id[HX_SDP_EXT_DD]) { /* AV1's layers: the decoder needs it (svc.c) */
                s->ext[s->n_ext].id = SUB_EXT_DD;
                snprintf(s->ext[s->n_ext++].uri, sizeof s->ext[0].uri, "%s", HX_SDP_EXT_DD_URI);
            }
        }
    }
    if (n == 0 && !t->data_mid[0] && !t->revision) return; /* nothing to offer yet */
    hx_sdp_local local;
    hx__transport_local(t, &local);
    hx_sdp_error err = {0, NULL};
    if (!t->agreed && !(t->agreed = malloc(sizeof *t->agreed))) return; /* next tick */
    *t->agreed = *t->offerer;
    /* After a failure, offers grow new m-lines rather than reuse removed ones. */
    unsigned bound = t->no_recycle ? HX_SDP_MAX_MEDIA : e->cfg.mlines_before_recycle;
    t->offerer->recycle_after = (uint8_t)(bound < HX_SDP_MAX_MEDIA ? bound : HX_SDP_MAX_MEDIA);
    int rc = hx_sdp_offerer_build(t->offerer, &local, tracks, n,
                                  t->data_mid[0] ? t->data_mid : NULL, e->sdp_a, &err);
    long len = rc == 0 ? hx_sdp_write(e->sdp_a, e->sdp_text, HX_SDP_MAX_LEN + 1) : rc;
    if (len < 0) {
        char why[160];
        snprintf(why, sizeof why, "cannot build the subscriber offer: %s%s%s",
                 hx_sdp_strerror((int)len), err.what ? ": " : "", err.what ? err.what : "");
        hx__emit_error(e, t->id, NULL, "negotiation_failed", why);
        t->renegotiate = false;
        return;
    }
    char *copy = malloc((size_t)len + 1);
    if (!copy ||
        hx__transport_ensure_dtls(t) != 0) { /* the client answers, then sends its ClientHello */
        free(copy);
        return;
    }
    memcpy(copy, e->sdp_text, (size_t)len + 1);
    free(t->last_offer);
    t->last_offer = copy;
    t->revision++;
    t->offer_outstanding = true;
    t->offer_sent_ms = e->now_ms;
    t->renegotiate = false;
    hx_sfu_builder b;
    char rev[24];
    snprintf(rev, sizeof rev, "%ld", t->revision);
    hx__begin(e, &b, HX_SFU_EV_LOCAL_SDP, t->id);
    hx_sfu_put_cstr(&b, HX_SFU_T_SDP_TYPE, "offer");
    hx_sfu_put_str(&b, HX_SFU_T_SDP, e->sdp_text, (size_t)len);
    hx_sfu_put_cstr(&b, HX_SFU_T_REVISION, rev);
    hx__emit(e, &b);
}

void hx__subscriber_answer(hx__transport *t, const hx_sfu_msg *cmd)
{
    hx__engine *e = t->e;
    char rev[24];
    hx_sfu_field_copy(cmd, HX_SFU_T_REVISION, rev, sizeof rev);
    if (!t->offer_outstanding || !t->last_offer || strtol(rev, NULL, 10) != t->revision) {
        hx__emit_error(e, t->id, cmd, "bad_request",
                       "no offer with that revision awaits an answer");
        return;
    }
    hx_sdp_error err = {0, NULL};
    char why[192];
    int rc = hx_sdp_parse(cmd->f[HX_SFU_T_SDP].p, cmd->f[HX_SFU_T_SDP].len, e->sdp_b, &err);
    if (rc != 0) {
        snprintf(why, sizeof why, "answer line %d: %s%s%s", err.line, hx_sdp_strerror(rc),
                 err.what ? ": " : "", err.what ? err.what : "");
        hx__emit_error(e, t->id, cmd, "bad_sdp", why);
        return;
    }
    rc = hx_sdp_parse(t->last_offer, strlen(t->last_offer), e->sdp_a, &err);
    if (rc == 0) rc = hx_sdp_answer_apply(e->sdp_a, e->sdp_b, e->nego, &err);
    if (rc == 0 && hx__transport_apply_remote(t, e->nego) != 0) {
        rc = HX_SDP_E_MISSING;
        err.what = "ICE credentials or DTLS fingerprint";
    }
    if (rc != 0) {
        snprintf(why, sizeof why, "the answer does not fit the offer: %s%s%s", hx_sdp_strerror(rc),
                 err.what ? ": " : "", err.what ? err.what : "");
        hx__emit_error(e, t->id, cmd, "bad_sdp", why);
        t->no_recycle = true;
        return;
    }
    t->offer_outstanding = false;
    t->nego_failures = 0;
    free(t->agreed); /* the offerer's state is the agreed one now */
    t->agreed = NULL;
    free(t->last_offer); /* answered: nothing more to check against it */
    t->last_offer = NULL;
    for (int i = 0; i < t->n_consumers; i++) {
        hx__consumer *c = t->consumers[i];
        bool was = c->negotiated;
        c->negotiated = false;
        for (int k = 0; k < e->nego->n_media; k++) {
            const hx_sdp_nego_media *m = &e->nego->media[k];
            if (strcmp(m->mid, c->mid) || !m->accepted || !m->n_codecs) continue;
            /* The answer uses the payload types offered (apply.c checked): which did it keep? */
            bool primary = false;
            c->red_ok = c->alt_ok = false;
            for (int k2 = 0; k2 < m->n_codecs; k2++) {
                if (m->codecs[k2].pt == c->pt) {
                    primary = true;
                    if (!m->codecs[k2].rtx_pt) c->rtx_pt = 0; /* RTX declined */
                }
                if (c->track->has_alt && m->codecs[k2].pt == c->alt_pt) c->alt_ok = true;
            }
            c->red_ok = c->offer_red && primary;
            /* Transport-wide numbers where the answer kept the extension: the publisher's
             * element stays in place to be overwritten (downlink.c), or one is added. */
            c->tcc = c->track->kind == HX_SDP_VIDEO && m->ext_id[HX_SDP_EXT_TCC] == HX__SUB_EXT_TCC;
            uint8_t pub_tcc = c->track->ext_id[HX_SDP_EXT_TCC];
            if (pub_tcc) c->ext_map[pub_tcc] = c->tcc ? HX__SUB_EXT_TCC : 0;
            uint8_t pub_dd = c->track->ext_id[HX_SDP_EXT_DD];
            if (pub_dd) c->ext_map[pub_dd] = m->ext_id[HX_SDP_EXT_DD] == SUB_EXT_DD ? SUB_EXT_DD : 0;
            c->negotiated = c->track->has_alt ? (c->red_ok || c->alt_ok) : primary;
        }
        if (c->negotiated && !was && t->srtp_out) {
            c->need_keyframe = c->track->kind == HX_SDP_VIDEO;
            hx__request_keyframe(c->track, hx__wanted_layer(c, e->now_ms));
        }
    }
    hx__emit_done(e, t->id, cmd);
}

/* The outstanding offer failed: roll back, then offer once more or give up (the essay). */
static void offer_failed(hx__transport *t, const char *code, const char *reason)
{
    hx__engine *e = t->e;
    if (t->agreed) {
        uint64_t version = t->offerer->version; /* o= versions never go back (RFC 8866) */
        *t->offerer = *t->agreed;
        t->offerer->version = version;
        free(t->agreed);
        t->agreed = NULL;
    }
    free(t->last_offer);
    t->last_offer = NULL;
    t->offer_outstanding = false;
    bool final = ++t->nego_failures >= 2;
    t->no_recycle = true;
    t->renegotiate = !final;
    char rev[24];
    snprintf(rev, sizeof rev, "%ld", t->revision);
    hx_sfu_builder b;
    hx__begin(e, &b, HX_SFU_EV_NEGOTIATION_FAILED, t->id);
    hx_sfu_put_cstr(&b, HX_SFU_T_CODE, code);
    hx_sfu_put_cstr(&b, HX_SFU_T_REASON, reason);
    hx_sfu_put_cstr(&b, HX_SFU_T_REVISION, rev);
    hx_sfu_put_flags(&b, final ? HX_SFU_F_FINAL : 0);
    hx__emit(e, &b);
}

void hx__subscriber_refused(hx__transport *t, const hx_sfu_msg *cmd)
{
    char rev[24], reason[160], why[200];
    hx_sfu_field_copy(cmd, HX_SFU_T_REVISION, rev, sizeof rev);
    if (!t->offer_outstanding || strtol(rev, NULL, 10) != t->revision) {
        hx__emit_error(t->e, t->id, cmd, "bad_request", "no offer with that revision awaits an answer");
        return;
    }
    hx_sfu_field_copy(cmd, HX_SFU_T_REASON, reason, sizeof reason);
    snprintf(why, sizeof why, "the client refused offer %ld: %s", t->revision,
             reason[0] ? reason : "(no reason given)");
    hx__emit_done(t->e, t->id, cmd);
    offer_failed(t, "offer_refused", why);
}

void hx__subscriber_tick(hx__transport *t)
{
    hx__engine *e = t->e;
    if (!t->offer_outstanding || e->now_ms - t->offer_sent_ms < e->cfg.offer_timeout_ms) return;
    char why[96];
    snprintf(why, sizeof why, "offer %ld not answered in %lld ms", t->revision,
             (long long)e->cfg.offer_timeout_ms);
    offer_failed(t, "answer_timeout", why);
}
