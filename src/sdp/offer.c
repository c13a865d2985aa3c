/*
 * The subscriber-PC offer and its renegotiations. hearth offers one
 * sendonly m-line per forwarded track plus the data m-line; the client
 * answers (hx_sdp_answer_apply, apply.c).
 *
 * hx_sdp_offerer remembers the m-line slots across offers, because JSEP
 * §5.2.2 requires a new offer to keep every earlier m-line in place: a
 * slot's position never changes. Each build:
 *   1. keeps slots whose mid is still among the tracks (or the data mid);
 *   2. turns the others port 0 / inactive, out of BUNDLE;
 *   3. gives each new track its own old slot if its mid names one of its
 *      kind, else a new slot at the end while the offer has fewer than
 *      recycle_after m-lines, else a slot of its kind that was already
 *      port 0 in the previous offer (recycling, JSEP §5.2.2: the m-line
 *      gets the new mid), else a new slot while any is left.
 * A slot freed in this build is not recycled in the same build: the peer
 * must first see it rejected. The version in o= goes up by one per offer
 * (RFC 8866 §5.2). Everything is built into copies and committed to *o
 * only when the offer is complete.
 *
 * Why a bound before recycling (docs/protocol.md §2.2): JSEP allows both a
 * removed m-line without transport attributes and a recycled m-line under a
 * new mid, but deployed stacks differ in what they take (aiortc 1.4.0
 * refuses the first; some stacks mishandle the second). New m-lines cost
 * the client a transceiver each and make every later offer longer, so
 * they cannot grow forever: hearth appends up to recycle_after
 * (media.mlines_before_recycle, 32 by default) and recycles past it. A
 * removed m-line keeps its ICE, DTLS and rtcp-mux attributes (port 0,
 * inactive, no candidates, out of BUNDLE), which JSEP permits and which
 * every tested stack parses.
 */
#include "sdp/nego_internal.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define FAIL(code, text)                                                                           \
    do {                                                                                           \
        *what = (text);                                                                            \
        return (code);                                                                             \
    } while (0)

void hx_sdp_offerer_init(hx_sdp_offerer *o, uint64_t session_id)
{
    memset(o, 0, sizeof *o);
    o->session_id = session_id;
    o->recycle_after = HX_SDP_RECYCLE_AFTER;
}

static const hx_sdp_track *track_of(const hx_sdp_track *t, size_t n, const char *mid)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(t[i].mid, mid) == 0) return &t[i];
    return NULL;
}

static int check_tracks(const hx_sdp_track *t, size_t n, const char *data_mid, const char **what)
{
    const char *by_id[256] = {NULL};
    for (size_t i = 0; i < n; i++) {
        if (!t[i].mid || !t[i].mid[0] || strlen(t[i].mid) >= HX_SDP_OFFER_MID_LEN)
            FAIL(HX_SDP_E_VALUE, "track mid empty or too long");
        if ((t[i].kind != HX_SDP_AUDIO && t[i].kind != HX_SDP_VIDEO) || !t[i].codec.name[0] ||
            !t[i].codec.clock || t[i].codec.pt > 127 || t[i].rtx_pt > 127 ||
            (t[i].rtx_pt && t[i].rtx_pt == t[i].codec.pt) || t[i].n_ext > HX_SDP_MAX_EXTMAPS)
            FAIL(HX_SDP_E_VALUE, "track needs audio/video, a codec and distinct PTs");
        if ((data_mid && strcmp(t[i].mid, data_mid) == 0) || track_of(t, i, t[i].mid))
            FAIL(HX_SDP_E_DUPLICATE, "two tracks with one mid");
        for (unsigned e = 0; e < t[i].n_ext; e++) {
            const hx_sdp_extmap *x = &t[i].ext[e];
            if (!x->id || (by_id[x->id] && strcmp(by_id[x->id], x->uri) != 0))
                FAIL(HX_SDP_E_DUPLICATE, "extmap id means two URIs in the bundle");
            by_id[x->id] = x->uri;
        }
    }
    if (data_mid && (!data_mid[0] || strlen(data_mid) >= HX_SDP_OFFER_MID_LEN))
        FAIL(HX_SDP_E_VALUE, "data mid empty or too long");
    return 0;
}

static void track_media(hx_sdp_media *m, const hx_sdp_track *t)
{
    hx__sdp_strcpy(m->kind_name, sizeof m->kind_name, hx__sdp_kind_name(t->kind));
    m->dir = HX_SDP_SENDONLY;
    m->rtcp_mux = m->rtcp_rsize = true;
    m->codecs[0] = t->codec;
    m->n_codecs = 1;
    if (t->has_alt) m->codecs[m->n_codecs++] = t->alt;
    if (t->rtx_pt) {
        hx_sdp_codec *r = &m->codecs[m->n_codecs++];
        memset(r, 0, sizeof *r);
        r->pt = t->rtx_pt;
        memcpy(r->name, "rtx", 4);
        r->clock = t->codec.clock;
        snprintf(r->fmtp, sizeof r->fmtp, "apt=%u", t->codec.pt);
    }
    m->n_extmaps = t->n_ext;
    memcpy(m->extmaps, t->ext, sizeof m->extmaps);
    snprintf(m->msid, sizeof m->msid, "%.63s %.63s", t->stream_id ? t->stream_id : "-",
             t->track_id ? t->track_id : t->mid);
    uint32_t ssrcs[2] = {t->ssrc, t->rtx_ssrc};
    for (unsigned i = 0; i < (t->rtx_pt && t->rtx_ssrc ? 2u : 1u); i++) {
        hx_sdp_ssrc *s = &m->ssrcs[m->n_ssrcs++];
        s->ssrc = ssrcs[i];
        hx__sdp_strcpy(s->cname, sizeof s->cname, t->cname ? t->cname : "hearth");
        memcpy(s->msid, m->msid, sizeof s->msid);
    }
    if (m->n_ssrcs == 2) {
        hx_sdp_ssrc_group *g = &m->ssrc_groups[m->n_ssrc_groups++];
        memcpy(g->semantics, "FID", 4);
        g->n = 2;
        g->ssrcs[0] = t->ssrc;
        g->ssrcs[1] = t->rtx_ssrc;
    }
}

static void data_media(hx_sdp_media *m, const hx_sdp_local *l)
{
    memcpy(m->kind_name, "application", 12);
    m->proto = HX_SDP_PROTO_SCTP;
    hx__sdp_strcpy(m->proto_name, sizeof m->proto_name, "UDP/DTLS/SCTP");
    memcpy(m->fmt, "webrtc-datachannel", 19);
    m->sctp_port = 5000;
    m->max_message_size = l->max_message_size ? l->max_message_size : 262144;
}

/* Assign the tracks and the data mid to slots (step 3 of the essay). */
static int assign(hx_sdp_offerer *n, const hx_sdp_offerer *old, const hx_sdp_track *t, size_t nt,
                  const char *data_mid, const char **what)
{
    for (unsigned i = 0; i < n->n_slots; i++)
        n->slots[i].live = (n->slots[i].kind == HX_SDP_APPLICATION)
                               ? (data_mid && strcmp(n->slots[i].mid, data_mid) == 0)
                               : track_of(t, nt, n->slots[i].mid) != NULL;
    for (size_t j = 0; j <= nt; j++) {
        /* data_first: the data m-line takes its slot before the tracks (see negotiate.h) */
        size_t k = n->data_first ? (j == 0 ? nt : j - 1) : j;
        const char *mid = k < nt ? t[k].mid : data_mid;
        hx_sdp_kind kind = k < nt ? t[k].kind : HX_SDP_APPLICATION;
        if (!mid) continue;
        int slot = -1;
        for (unsigned i = 0; i < n->n_slots && slot < 0; i++)
            if (strcmp(n->slots[i].mid, mid) == 0) {
                if (n->slots[i].kind != kind)
                    FAIL(HX_SDP_E_DUPLICATE, "mid reused for another kind");
                slot = (int)i;
            }
        bool grow = n->n_slots < n->recycle_after && n->n_slots < HX_SDP_MAX_MEDIA;
        for (unsigned i = 0; i < old->n_slots && slot < 0 && !grow; i++)
            if (!old->slots[i].live && !n->slots[i].live && n->slots[i].kind == kind &&
                !track_of(t, nt, n->slots[i].mid) &&
                !(data_mid && strcmp(n->slots[i].mid, data_mid) == 0)) /* a mid never moves */
                slot = (int)i;
        if (slot < 0) {
            if (n->n_slots == HX_SDP_MAX_MEDIA) FAIL(HX_SDP_E_LIMIT, "too many m-lines");
            slot = n->n_slots++;
            n->slots[slot].kind = kind;
        }
        struct hx_sdp_slot *s = &n->slots[slot];
        hx__sdp_strcpy(s->mid, sizeof s->mid, mid);
        s->live = true;
        if (k < nt) {
            s->codec.pt = t[k].codec.pt;
            s->codec.channels = t[k].codec.channels;
            s->codec.clock = t[k].codec.clock;
            hx__sdp_strcpy(s->codec.name, sizeof s->codec.name, t[k].codec.name);
        }
    }
    return 0;
}

static int build(hx_sdp_offerer *o, const hx_sdp_local *l, const hx_sdp_track *t, size_t nt,
                 const char *data_mid, hx_sdp *s, const char **what)
{
    int rc = hx__sdp_local_check(l, what);
    if (!rc) rc = check_tracks(t, nt, data_mid, what);
    if (rc) return rc;
    hx_sdp_offerer next = *o;
    rc = assign(&next, o, t, nt, data_mid, what);
    if (rc) return rc;
    next.version++;

    memcpy(s->origin_user, "-", 2);
    s->sess_id = next.session_id;
    s->sess_version = next.version;
    memcpy(s->origin_addr, "127.0.0.1", 10);
    s->ice_lite = s->ice_trickle = true;
    /* Forwarded packets keep the publisher's two-byte extension elements (an AV1 dependency
     * structure is longer than a one-byte element holds): RFC 8285 §6 wants this said. */
    s->extmap_allow_mixed = true;
    memcpy(s->msid_semantic, "WMS", 4);
    s->n_media = next.n_slots;
    memset(s->media, 0, next.n_slots * sizeof s->media[0]);
    for (unsigned i = 0; i < next.n_slots; i++) {
        const struct hx_sdp_slot *slot = &next.slots[i];
        hx_sdp_media *m = &s->media[i];
        m->kind = slot->kind;
        hx__sdp_strcpy(m->mid, sizeof m->mid, slot->mid);
        if (slot->kind == HX_SDP_APPLICATION) {
            data_media(m, l);
        } else {
            m->proto = HX_SDP_PROTO_RTP;
            hx__sdp_strcpy(m->proto_name, sizeof m->proto_name, "UDP/TLS/RTP/SAVPF");
            if (slot->live) track_media(m, track_of(t, nt, slot->mid));
        }
        if (!slot->live) {
            /* Port 0, the last codec, inactive, out of BUNDLE (JSEP §5.2.2), with the
             * transport attributes strict parsers want but no candidates (essay above). */
            hx__sdp_local_transport(m, l, HX_SDP_SETUP_ACTPASS);
            m->n_cands = 0;
            m->end_of_candidates = false;
            m->rtcp_mux = slot->kind != HX_SDP_APPLICATION;
            hx__sdp_strcpy(m->kind_name, sizeof m->kind_name, hx__sdp_kind_name(slot->kind));
            m->port = 0;
            m->dir = slot->kind == HX_SDP_APPLICATION ? HX_SDP_DIR_NONE : HX_SDP_INACTIVE;
            memset(&m->codecs[0], 0, sizeof m->codecs[0]);
            m->codecs[0].pt = slot->codec.pt;
            m->codecs[0].channels = slot->codec.channels;
            m->codecs[0].clock = slot->codec.clock;
            hx__sdp_strcpy(m->codecs[0].name, sizeof m->codecs[0].name, slot->codec.name);
            m->n_codecs = 1;
            continue;
        }
        hx__sdp_local_transport(m, l, HX_SDP_SETUP_ACTPASS);
        memcpy(s->bundle[s->n_bundle++], m->mid, HX_SDP_TOKEN_LEN);
    }
    *o = next;
    return 0;
}

int hx_sdp_offerer_build(hx_sdp_offerer *o, const hx_sdp_local *local, const hx_sdp_track *tracks,
                         size_t n_tracks, const char *data_mid, hx_sdp *offer, hx_sdp_error *err)
{
    const char *what = NULL;
    /* The session part; build clears the m-lines it writes (entries past n_media are not
     * read, and the 64 of them are 1.8 MB). */
    memset(offer, 0, offsetof(hx_sdp, media));
    int rc = build(o, local, tracks, n_tracks, data_mid, offer, &what);
    if (err) {
        err->line = 0;
        err->what = rc ? what : NULL;
    }
    return rc;
}
