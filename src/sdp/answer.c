/*
 * The publisher-PC answer (JSEP §5.3): one answer m-line per offered
 * m-line, same order, same mid, same payload type numbers.
 *
 * An m-line is accepted when it is bundled, has a mid, a port (or port 0
 * with a=bundle-only: a max-bundle offer, RFC 8843 §6 / §7.3.1), rtcp-mux
 * (RTP) and at least one codec hearth supports; the first data m-line is
 * accepted, later ones rejected. Rejected m-lines are written as port 0
 * with their mid and first format, and left out of the BUNDLE group. An
 * offer with nothing acceptable is an error (HX_SDP_E_UNSUPPORTED), never
 * an answer that rejects everything.
 *
 * Codec choice runs in two passes over the offered list: primaries matched
 * against the capabilities (codec.c), then the dependants, RED (audio,
 * "a=fmtp:63 111/111": all of its components accepted) and RTX (apt names
 * an accepted codec). The answer lists them in the offerer's order and
 * mirrors their fmtp (Opus keeps useinbandfec/usedtx, H.264 its level).
 * rtcp-fb is cut to what hearth implements; transport-cc and goog-remb
 * stay only with the header extension they need.
 *
 * Transport comes from the offerer-tagged m-line (the first BUNDLE mid,
 * RFC 8843 §7.2). hearth writes its own transport into every accepted
 * m-line, as Chromium does, and answers setup:passive unless the offer
 * says passive (see negotiate.h for the DTLS role).
 */
#include "sdp/nego_internal.h"

#include <stddef.h>
#include <string.h>

#define FAIL(code, text)                                                                           \
    do {                                                                                           \
        *what = (text);                                                                            \
        return (code);                                                                             \
    } while (0)

static bool fb_kept(const char *fb, bool tcc, bool remb)
{
    if (strcmp(fb, "transport-cc") == 0) return tcc;
    if (strcmp(fb, "goog-remb") == 0) return remb;
    return strcmp(fb, "nack") == 0 || strcmp(fb, "nack pli") == 0 || strcmp(fb, "ccm fir") == 0;
}

static bool supported(const hx_sdp_local *l, hx_sdp_kind kind, const hx_sdp_codec *c)
{
    size_t n = l->n_caps;
    const hx_sdp_codec_cap *caps = l->caps ? l->caps : hx_sdp_default_caps(&n);
    for (size_t i = 0; i < n; i++)
        if (!hx__sdp_ieq(caps[i].name, "red") && hx_sdp_codec_match(kind, c, &caps[i])) return true;
    return false;
}

static bool red_supported(const hx_sdp_local *l, hx_sdp_kind kind, const hx_sdp_codec *c)
{
    size_t n = l->n_caps;
    const hx_sdp_codec_cap *caps = l->caps ? l->caps : hx_sdp_default_caps(&n);
    for (size_t i = 0; i < n; i++)
        if (hx__sdp_ieq(caps[i].name, "red") && hx_sdp_codec_match(kind, c, &caps[i])) return true;
    return false;
}

/* RED's fmtp is "<pt>/<pt>/..." (RFC 2198 §5): every component must be accepted. */
static bool red_ok(const hx_sdp_codec *red, const bool *acc)
{
    hx__sdp_span s = hx__sdp_str(red->fmtp), t;
    uint64_t pt;
    if (!s.n) return false;
    for (;;) {
        bool more = hx__sdp_split(&s, '/', &t);
        if (!more) t = s;
        if (!hx__sdp_uint(t, 127, &pt) || !acc[pt]) return false;
        if (!more) return true;
    }
}

/* Pick codecs into a (same PTs, offer order). Returns the number of primaries. */
static unsigned pick_codecs(const hx_sdp_media *o, hx_sdp_media *a, const hx_sdp_local *l)
{
    bool acc[128] = {false};
    unsigned primaries = 0;
    for (unsigned i = 0; i < o->n_codecs; i++) {
        const hx_sdp_codec *c = &o->codecs[i];
        if (supported(l, o->kind, c)) acc[c->pt] = true, primaries++;
    }
    for (unsigned i = 0; i < o->n_codecs; i++) {
        const hx_sdp_codec *c = &o->codecs[i];
        if (!acc[c->pt] && hx__sdp_ieq(c->name, "red") && red_supported(l, o->kind, c) &&
            red_ok(c, acc))
            acc[c->pt] = true;
    }
    for (unsigned i = 0; i < o->n_codecs; i++) {
        int apt = hx__sdp_apt(&o->codecs[i]);
        if (apt >= 0 && acc[apt] && !hx__sdp_ieq(hx_sdp_find_pt(o, (unsigned)apt)->name, "rtx"))
            acc[o->codecs[i].pt] = true;
    }
    bool tcc = hx_sdp_extmap_id(a, HX_SDP_EXT_TCC_URI) != 0;
    bool remb = hx_sdp_extmap_id(a, HX_SDP_EXT_ABS_SEND_TIME_URI) != 0;
    a->n_codecs = 0;
    for (unsigned i = 0; i < o->n_codecs && primaries; i++) {
        const hx_sdp_codec *c = &o->codecs[i];
        if (!acc[c->pt]) continue;
        hx_sdp_codec *d = &a->codecs[a->n_codecs++];
        *d = *c;
        d->n_fb = 0;
        for (unsigned f = 0; f < c->n_fb; f++)
            if (fb_kept(c->fb[f], tcc, remb)) memcpy(d->fb[d->n_fb++], c->fb[f], HX_SDP_FB_LEN);
    }
    return primaries;
}

/* Extensions hearth knows, minus ids another m-line of the bundle gave another URI. */
static void pick_extmaps(const hx_sdp_media *o, hx_sdp_media *a, const hx_sdp_local *l,
                         const char *by_id[256])
{
    a->n_extmaps = 0;
    for (unsigned i = 0; i < o->n_extmaps; i++) {
        const hx_sdp_extmap *e = &o->extmaps[i];
        if (!hx__sdp_ext_allowed(l, o->kind, hx_sdp_ext_from_uri(e->uri))) continue;
        if (by_id[e->id] && strcmp(by_id[e->id], e->uri) != 0) continue; /* RFC 8843 §9.2 */
        by_id[e->id] = e->uri;
        a->extmaps[a->n_extmaps] = *e;
        a->extmaps[a->n_extmaps++].dir = HX_SDP_DIR_NONE;
    }
}

/* The dependency descriptor only where AV1 is the codec: the SFU reads it to pick AV1's
 * spatial layers (sfu/svc.c); VP8 and VP9 have their own descriptors, and a DD kept there would
 * cost every packet bytes nobody reads. */
static void drop_dd_unless_av1(hx_sdp_media *a)
{
    if (a->n_codecs && hx__sdp_ieq(a->codecs[0].name, "AV1")) return;
    unsigned k = 0;
    for (unsigned i = 0; i < a->n_extmaps; i++) {
        if (hx_sdp_ext_from_uri(a->extmaps[i].uri) != HX_SDP_EXT_DD) a->extmaps[k++] = a->extmaps[i];
    }
    a->n_extmaps = k;
}

static void reject(const hx_sdp_media *o, hx_sdp_media *a)
{
    a->port = 0;
    a->n_codecs = o->n_codecs ? 1 : 0;
    if (o->n_codecs) a->codecs[0].pt = o->codecs[0].pt;
    memcpy(a->fmt, o->fmt, sizeof a->fmt);
    if (!a->fmt[0]) memcpy(a->fmt, "0", 2);
    if (o->proto == HX_SDP_PROTO_RTP && !o->n_codecs) a->proto = HX_SDP_PROTO_OTHER;
    a->dir = o->proto == HX_SDP_PROTO_RTP ? HX_SDP_INACTIVE : HX_SDP_DIR_NONE;
}

static bool bundled(const hx_sdp *s, const char *mid)
{
    for (unsigned i = 0; i < s->n_bundle; i++)
        if (strcmp(s->bundle[i], mid) == 0) return true;
    return false;
}

/* Mirror the offer's rids and simulcast with the direction turned around (RFC 8853 §5.3). */
static void mirror_simulcast(const hx_sdp_media *o, hx_sdp_media *a)
{
    a->n_rids = 0;
    for (unsigned i = 0; i < o->n_rids; i++) {
        if (o->rids[i].dir != HX_SDP_SENDONLY) continue;
        memcpy(a->rids[a->n_rids].id, o->rids[i].id, HX_SDP_TOKEN_LEN);
        a->rids[a->n_rids++].dir = HX_SDP_RECVONLY;
    }
    if (o->has_simulcast && o->simulcast.n_send) {
        a->has_simulcast = true;
        memset(&a->simulcast, 0, sizeof a->simulcast);
        a->simulcast.n_recv = o->simulcast.n_send;
        a->simulcast.recv_paused = o->simulcast.send_paused;
        memcpy(a->simulcast.recv, o->simulcast.send, sizeof a->simulcast.recv);
    }
}

static bool accept_media(const hx_sdp *offer, const hx_sdp_media *o, hx_sdp_media *a,
                         const hx_sdp_local *l, const char *by_id[256], bool *data_taken)
{
    /* Port 0 rejects an m-line unless it is bundle-only (RFC 8843 §6, §7.3.1). */
    if ((!o->port && !o->bundle_only) || !o->mid[0] || !bundled(offer, o->mid)) return false;
    if (o->proto == HX_SDP_PROTO_RTP) {
        /* rtcp-mux is a bundle-wide (IDENTICAL) attribute, RFC 8843 §9.3.1: a bundle-only
         * m-line may leave it to the offerer-tagged one. */
        const hx_sdp_media *tag = hx_sdp_find_mid(offer, offer->bundle[0]);
        bool mux = o->rtcp_mux || (o->bundle_only && tag && tag->rtcp_mux);
        if ((o->kind != HX_SDP_AUDIO && o->kind != HX_SDP_VIDEO) || !mux) return false;
        const char *saved[256];
        memcpy(saved, by_id, sizeof saved);
        pick_extmaps(o, a, l, by_id);
        if (!pick_codecs(o, a, l)) {
            memcpy(by_id, saved, sizeof saved); /* a rejected m-line claims no ids */
            a->n_extmaps = 0;
            return false;
        }
        drop_dd_unless_av1(a);
        a->dir = (o->dir == HX_SDP_RECVONLY || o->dir == HX_SDP_INACTIVE) ? HX_SDP_INACTIVE
                                                                          : HX_SDP_RECVONLY;
        a->rtcp_mux = true;
        a->rtcp_rsize = o->rtcp_rsize;
        mirror_simulcast(o, a);
        return true;
    }
    bool sctp = o->proto == HX_SDP_PROTO_SCTP && strcmp(o->fmt, "webrtc-datachannel") == 0;
    if (o->kind != HX_SDP_APPLICATION || *data_taken ||
        !(sctp || o->proto == HX_SDP_PROTO_SCTP_LEGACY))
        return false;
    *data_taken = true;
    memcpy(a->fmt, o->fmt, sizeof a->fmt);
    a->sctp_port = o->sctp_port ? o->sctp_port : 5000;
    a->max_message_size = l->max_message_size ? l->max_message_size : 262144;
    return true;
}

static int answer(const hx_sdp *offer, const hx_sdp_local *l, hx_sdp *ans, hx_sdp_negotiated *nego,
                  const char **what)
{
    int rc = hx__sdp_local_check(l, what);
    if (rc) return rc;
    if (!offer->n_bundle) FAIL(HX_SDP_E_MISSING, "offer has no BUNDLE group");
    const hx_sdp_media *tag = hx_sdp_find_mid(offer, offer->bundle[0]);
    if (!tag->ice_ufrag[0] || !tag->ice_pwd[0])
        FAIL(HX_SDP_E_MISSING, "offer lacks ICE credentials");
    if (!tag->fingerprint.alg[0]) FAIL(HX_SDP_E_MISSING, "offer lacks a DTLS fingerprint");
    if (tag->setup == HX_SDP_SETUP_HOLDCONN)
        FAIL(HX_SDP_E_UNSUPPORTED, "offer says setup:holdconn");
    memcpy(nego->remote_ufrag, tag->ice_ufrag, sizeof nego->remote_ufrag);
    memcpy(nego->remote_pwd, tag->ice_pwd, sizeof nego->remote_pwd);
    nego->remote_fingerprint = tag->fingerprint;
    nego->remote_ice_lite = offer->ice_lite;
    nego->dtls_server = tag->setup != HX_SDP_SETUP_PASSIVE;
    nego->extmap_allow_mixed = offer->extmap_allow_mixed;

    memcpy(ans->origin_user, "-", 2);
    ans->sess_id = l->session_id;
    ans->sess_version = l->session_version;
    memcpy(ans->origin_addr, "127.0.0.1", 10);
    ans->ice_lite = true;
    ans->ice_trickle = true;
    ans->extmap_allow_mixed = offer->extmap_allow_mixed;
    hx_sdp_setup setup = nego->dtls_server ? HX_SDP_SETUP_PASSIVE : HX_SDP_SETUP_ACTIVE;

    const char *by_id[256] = {NULL};
    bool data_taken = false;
    ans->n_media = nego->n_media = offer->n_media;
    for (unsigned i = 0; i < offer->n_media; i++) {
        const hx_sdp_media *o = &offer->media[i];
        hx_sdp_media *a = &ans->media[i];
        hx_sdp_nego_media *nm = &nego->media[i];
        a->kind = o->kind;
        memcpy(a->kind_name, o->kind_name, sizeof a->kind_name);
        a->proto = o->proto;
        memcpy(a->proto_name, o->proto_name, sizeof a->proto_name);
        memcpy(a->mid, o->mid, sizeof a->mid);
        memcpy(nm->mid, o->mid, sizeof nm->mid);
        nm->kind = o->kind;
        if (!accept_media(offer, o, a, l, by_id, &data_taken)) {
            reject(o, a);
            continue;
        }
        hx__sdp_local_transport(a, l, setup);
        memcpy(ans->bundle[ans->n_bundle++], a->mid, HX_SDP_TOKEN_LEN);
        nm->accepted = true;
        nm->dir = a->dir;
        hx__sdp_nego_from(nm, a);
        hx__sdp_nego_remote(nm, o);
    }
    if (!ans->n_bundle) FAIL(HX_SDP_E_UNSUPPORTED, "no m-line hearth can accept");
    return 0;
}

int hx_sdp_answer(const hx_sdp *offer, const hx_sdp_local *local, hx_sdp *ans,
                  hx_sdp_negotiated *nego, hx_sdp_error *err)
{
    const char *what = NULL;
    /* The session part and one m-line per offered one (entries past n_media are not read, and
     * the 64 of them are 1.8 MB). */
    memset(ans, 0, offsetof(hx_sdp, media));
    memset(ans->media, 0,
           (offer->n_media < HX_SDP_MAX_MEDIA ? offer->n_media : HX_SDP_MAX_MEDIA) *
               sizeof ans->media[0]);
    hx__sdp_nego_clear(nego, offer->n_media);
    int rc = answer(offer, local, ans, nego, &what);
    if (err) {
        err->line = 0;
        err->what = rc ? what : NULL;
    }
    return rc;
}
