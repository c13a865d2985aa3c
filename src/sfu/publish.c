/*
 * The publisher side: the client's offer is answered (sdp/negotiate.h) and
 * every m-line hearth receives on becomes a track, announced to the control
 * plane with TRACK_PUBLISHED. A renegotiation keeps tracks by mid, adds the
 * new ones and closes those whose m-line stopped sending (TRACK_CLOSED).
 *
 * A track is announced only once its media can flow: when the transport's
 * DTLS is up (SRTP keys exist), at once for a renegotiation on a live
 * transport, else when it connects (hx__publisher_connected). A transport
 * that fails (ICE, DTLS, or no connection within media.connect_timeout_ms)
 * withdraws its tracks with the reason (hx__publisher_failed), so the room
 * never holds a track whose transport never came up.
 *
 * A track's streams: one, or one per simulcast RID. SSRCs come from the SDP
 * when it lists them (a=ssrc, ssrc-group FID for RTX) and are otherwise
 * learned from the mid / rid header extensions of the first packets
 * (forward.c).
 */
#include "sfu/engine_internal.h"

#include "sfu/relay.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

hx_video_codec hx__video_codec(const char *name)
{
    if (!strcasecmp(name, "VP8")) return HX_CODEC_VP8;
    if (!strcasecmp(name, "VP9")) return HX_CODEC_VP9;
    if (!strcasecmp(name, "H264")) return HX_CODEC_H264;
    if (!strcasecmp(name, "AV1")) return HX_CODEC_AV1;
    return HX_CODEC_OTHER;
}

static void emit_track(hx__track *tr, hx_sfu_kind kind, const char *reason)
{
    hx__engine *e = tr->pub->e;
    hx_sfu_builder b;
    hx__begin(e, &b, kind, tr->pub->id);
    hx_sfu_put_cstr(&b, HX_SFU_T_ROOM, tr->pub->room);
    hx_sfu_put_cstr(&b, HX_SFU_T_PARTICIPANT, tr->pub->participant);
    hx_sfu_put_cstr(&b, HX_SFU_T_TRACK, tr->id);
    if (kind == HX_SFU_EV_TRACK_PUBLISHED) {
        hx_sfu_put_cstr(&b, HX_SFU_T_MEDIA_KIND, tr->kind == HX_SDP_AUDIO ? "audio" : "video");
        hx_sfu_put_cstr(&b, HX_SFU_T_MID, tr->mid);
        char layers[3 * HX_SDP_TOKEN_LEN] = "";
        for (int i = 0; i < tr->n_layers && tr->layers[i].rid[0]; i++)
            snprintf(layers + strlen(layers), sizeof layers - strlen(layers), "%s%s", i ? "," : "",
                     tr->layers[i].rid);
        if (layers[0]) hx_sfu_put_cstr(&b, HX_SFU_T_LAYERS, layers);
        uint8_t desc[HX_RELAY_DESC_MAX]; /* for the mirrors on other workers (relay.c) */
        long n = hx__track_describe(tr, desc, sizeof desc);
        if (n > 0) hx_sfu_put_str(&b, HX_SFU_T_DESC, (const char *)desc, (size_t)n);
    }
    if (reason) hx_sfu_put_cstr(&b, HX_SFU_T_REASON, reason);
    hx__emit(e, &b);
}

static void announce(hx__track *tr)
{
    if (tr->announced) return;
    tr->announced = true;
    emit_track(tr, HX_SFU_EV_TRACK_PUBLISHED, NULL);
    tr->active_mask = (uint8_t)((1u << tr->n_layers) - 1); /* the client sends them all */
    hx__layers_check(tr);                                  /* nobody watches yet */
}

void hx__track_withdraw(hx__track *tr, const char *reason)
{
    while (tr->consumers)
        hx__consumer_remove(tr->consumers);
    hx__speakers_forget(tr);
    if (tr->announced) emit_track(tr, HX_SFU_EV_TRACK_CLOSED, reason);
    hx_strmap_del(&tr->pub->e->tracks, tr->id);
    for (int i = 0; i < HX__MAX_LAYERS; i++)
        hx_rtp_cache_destroy(&tr->layers[i].cache);
    free(tr->dd);
    free(tr);
}

/* Is this SSRC the RTX of another in an FID group? */
static uint32_t rtx_of(const hx_sdp_nego_media *m, uint32_t ssrc, bool *is_rtx)
{
    *is_rtx = false;
    for (int g = 0; g < m->n_ssrc_groups; g++) {
        const hx_sdp_ssrc_group *sg = &m->ssrc_groups[g];
        if (strcmp(sg->semantics, "FID") || sg->n < 2) continue;
        if (sg->ssrcs[1] == ssrc) *is_rtx = true;
        if (sg->ssrcs[0] == ssrc) return sg->ssrcs[1];
    }
    return 0;
}

/* Layers and SSRCs from the SDP (what it does not say is learned from packets). */
static void set_layers(hx__track *tr, const hx_sdp_nego_media *m)
{
    bool video = tr->kind == HX_SDP_VIDEO;
    uint8_t n = 0;
    if (m->has_simulcast && m->simulcast.n_recv) {
        /* our answer says recv: the rids the client sends */
        for (int i = 0; i < m->simulcast.n_recv && n < HX__MAX_LAYERS; i++)
            snprintf(tr->layers[n++].rid, sizeof tr->layers[0].rid, "%s", m->simulcast.recv[i]);
    } else if (m->n_rids) {
        for (int i = 0; i < m->n_rids && n < HX__MAX_LAYERS; i++)
            snprintf(tr->layers[n++].rid, sizeof tr->layers[0].rid, "%s", m->rids[i].id);
    }
    if (n == 0) {
        n = 1;
        for (int i = 0; i < m->n_ssrcs; i++) {
            bool is_rtx;
            uint32_t rtx = rtx_of(m, m->ssrcs[i].ssrc, &is_rtx);
            if (is_rtx) continue;
            tr->layers[0].ssrc = m->ssrcs[i].ssrc;
            tr->layers[0].rtx_ssrc = rtx;
            break;
        }
    }
    for (int i = 0; i < n; i++) {
        hx__layer *l = &tr->layers[i];
        if (video && !l->cache.slots) hx_rtp_cache_init(&l->cache, HX__CACHE_VIDEO, 3000000);
        hx_nack_gen_init(&l->nack, 10, 10000);
    }
    tr->n_layers = n;
}

static hx__track *find_mid(hx__transport *t, const char *mid)
{
    for (int i = 0; i < t->n_tracks; i++)
        if (!strcmp(t->tracks[i]->mid, mid)) return t->tracks[i];
    return NULL;
}

/*
 * The id a resumed publisher's track had before (docs/protocol.md §2.4): the control plane sends
 * "mid:id,mid:id" in the offer's TRACK field. Used when the id is free; else a new one.
 */
static bool hinted_id(const hx__transport *t, const hx_sfu_str *hints, const char *mid, char *out,
                      size_t cap)
{
    const char *p = hints->p, *end = p ? p + hints->len : NULL;
    size_t ml = strlen(mid);
    while (p && p < end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *item_end = comma ? comma : end;
        const char *colon = memchr(p, ':', (size_t)(item_end - p));
        size_t idl = colon ? (size_t)(item_end - colon - 1) : 0;
        if (colon && (size_t)(colon - p) == ml && !memcmp(p, mid, ml) && idl > 3 && idl < cap &&
            !memcmp(colon + 1, "TR_", 3)) {
            memcpy(out, colon + 1, idl);
            out[idl] = '\0';
            for (size_t i = 0; i < idl; i++)
                if (out[i] <= ' ' || out[i] > '~') return false;
            return hx_strmap_get(&t->e->tracks, out) == NULL;
        }
        p = comma ? comma + 1 : end;
    }
    return false;
}

static hx__track *track_new(hx__transport *t, const hx_sdp_nego_media *m, const hx_sfu_str *hints)
{
    hx__track *tr = calloc(1, sizeof *tr);
    if (!tr) return NULL;
    tr->pub = t;
    tr->kind = m->kind;
    snprintf(tr->mid, sizeof tr->mid, "%s", m->mid);
    tr->codec = m->codecs[0];
    tr->vcodec = hx__video_codec(tr->codec.name);
    /* RED first: forward it, and keep the Opus it carries for subscribers that want it plain. */
    for (int i = 1; !strcasecmp(tr->codec.name, "red") && i < m->n_codecs && !tr->has_alt; i++)
        if (!strcasecmp(m->codecs[i].name, "opus")) {
            tr->alt = m->codecs[i];
            tr->has_alt = true;
        }
    memcpy(tr->ext_id, m->ext_id, sizeof tr->ext_id);
    if (!hinted_id(t, hints, m->mid, tr->id, sizeof tr->id)) hx__random_id(t->e, tr->id, sizeof tr->id, "TR_");
    set_layers(tr, m);
    if (hx_strmap_put(&t->e->tracks, tr->id, tr, NULL) != 0) {
        for (int i = 0; i < HX__MAX_LAYERS; i++)
            hx_rtp_cache_destroy(&tr->layers[i].cache);
        free(tr);
        return NULL;
    }
    return tr;
}

/* Make the track list match the negotiation. */
static void reconcile(hx__transport *t, const hx_sdp_negotiated *n, const hx_sfu_str *hints)
{
    hx__track *keep[HX__MAX_TRACKS];
    uint8_t nk = 0;
    for (int i = 0; i < n->n_media; i++) {
        const hx_sdp_nego_media *m = &n->media[i];
        bool receives = m->accepted && m->n_codecs &&
                        (m->kind == HX_SDP_AUDIO || m->kind == HX_SDP_VIDEO) &&
                        (m->dir == HX_SDP_RECVONLY || m->dir == HX_SDP_SENDRECV);
        if (!receives || nk == HX__MAX_TRACKS || !(t->flags & HX_SFU_F_PUBLISH)) continue;
        hx__track *tr = find_mid(t, m->mid);
        if (tr) {
            set_layers(tr, m);
            memcpy(tr->ext_id, m->ext_id, sizeof tr->ext_id);
            keep[nk++] = tr;
            continue;
        }
        if ((tr = track_new(t, m, hints))) {
            keep[nk++] = tr;
            if (t->srtp_in) announce(tr); /* else once the transport connects */
        }
    }
    for (int i = 0; i < t->n_tracks; i++) {
        bool kept = false;
        for (int k = 0; k < nk; k++)
            kept |= keep[k] == t->tracks[i];
        if (!kept) hx__track_withdraw(t->tracks[i], "unpublished");
    }
    memcpy(t->tracks, keep, nk * sizeof keep[0]);
    t->n_tracks = nk;
}

void hx__publisher_offer(hx__transport *t, const hx_sfu_msg *cmd)
{
    hx__engine *e = t->e;
    hx_sdp_error err = {0, NULL};
    char why[192];
    int rc = hx_sdp_parse(cmd->f[HX_SFU_T_SDP].p, cmd->f[HX_SFU_T_SDP].len, e->sdp_a, &err);
    if (rc != 0) {
        snprintf(why, sizeof why, "offer line %d: %s%s%s", err.line, hx_sdp_strerror(rc),
                 err.what ? ": " : "", err.what ? err.what : "");
        hx__emit_error(e, t->id, cmd, "bad_sdp", why);
        return;
    }
    hx_sdp_local local;
    hx__transport_local(t, &local);
    local.session_id = t->id;
    local.session_version = (uint64_t)++t->revision;
    rc = hx_sdp_answer(e->sdp_a, &local, e->sdp_b, e->nego, &err);
    /* The client restarts ICE (new credentials in its offer, e.g. after a network change):
     * answer with new ones of ours too (RFC 8839 §4.4.1.1.1). */
    if (rc == 0 && t->have_remote && t->ice.remote_ufrag[0] &&
        strcmp(e->nego->remote_ufrag, t->ice.remote_ufrag) != 0) {
        if (hx__transport_ice_restart(t) != 0) {
            hx__emit_error(e, t->id, cmd, "negotiation_failed", "ICE restart: no new credentials");
            return;
        }
        hx__transport_local(t, &local);
        local.session_id = t->id;
        local.session_version = (uint64_t)t->revision;
        rc = hx_sdp_answer(e->sdp_a, &local, e->sdp_b, e->nego, &err);
    }
    if (rc == 0 && hx__transport_apply_remote(t, e->nego) != 0) {
        rc = HX_SDP_E_MISSING;
        err.what = "ICE credentials or DTLS fingerprint";
    }
    if (rc != 0) {
        snprintf(why, sizeof why, "cannot answer: %s%s%s", hx_sdp_strerror(rc),
                 err.what ? ": " : "", err.what ? err.what : "");
        hx__emit_error(e, t->id, cmd, "negotiation_failed", why);
        return;
    }
    long len = hx_sdp_write(e->sdp_b, e->sdp_text, HX_SDP_MAX_LEN + 1);
    if (len < 0) {
        hx__emit_error(e, t->id, cmd, "negotiation_failed", "the answer does not fit");
        return;
    }
    reconcile(t, e->nego, &cmd->f[HX_SFU_T_TRACK]);
    t->twcc_id = 0;
    for (int i = 0; i < e->nego->n_media && !t->twcc_id; i++)
        if (e->nego->media[i].accepted) t->twcc_id = e->nego->media[i].ext_id[HX_SDP_EXT_TCC];
    hx_sfu_builder b;
    hx__begin(e, &b, HX_SFU_EV_LOCAL_SDP, t->id);
    hx_sfu_put_cstr(&b, HX_SFU_T_SDP_TYPE, "answer");
    hx_sfu_put_str(&b, HX_SFU_T_SDP, e->sdp_text, (size_t)len);
    if (hx_sfu_has(cmd, HX_SFU_T_REQUEST))
        hx_sfu_put_str(&b, HX_SFU_T_REQUEST, cmd->f[HX_SFU_T_REQUEST].p,
                       cmd->f[HX_SFU_T_REQUEST].len);
    hx__emit(e, &b);
}

void hx__publisher_connected(hx__transport *t)
{
    for (int i = 0; i < t->n_tracks; i++)
        announce(t->tracks[i]);
}

void hx__publisher_failed(hx__transport *t, const char *reason)
{
    while (t->n_tracks)
        hx__track_withdraw(t->tracks[--t->n_tracks], reason);
}
