/*
 * Applying the client's answer to hearth's subscriber offer (JSEP §5.10
 * checks, as far as hearth relies on them): same number of m-lines, same
 * mids in the same places; an accepted m-line uses only payload types and
 * extmap ids hearth offered (with the same URI); accepted m-lines are
 * bundled; the bundle's first m-line carries ICE credentials and a
 * fingerprint; setup is active (hearth is the DTLS server) or passive
 * (hearth the client), never actpass in an answer (RFC 8842 §5.3).
 */
#include "sdp/nego_internal.h"

#include <string.h>

#define FAIL(code, text)                                                                           \
    do {                                                                                           \
        *what = (text);                                                                            \
        return (code);                                                                             \
    } while (0)

static int media(const hx_sdp_media *o, const hx_sdp_media *a, hx_sdp_nego_media *nm,
                 const char **what)
{
    if (strcmp(o->mid, a->mid) != 0 || o->kind != a->kind)
        FAIL(HX_SDP_E_MISMATCH, "answer m-line differs from the offer's (mid or kind)");
    memcpy(nm->mid, o->mid, sizeof nm->mid);
    nm->kind = o->kind;
    if (!a->port || !o->port) return 0;
    if (o->proto == HX_SDP_PROTO_RTP) {
        if (a->proto != HX_SDP_PROTO_RTP) FAIL(HX_SDP_E_MISMATCH, "answer changed the protocol");
        for (unsigned i = 0; i < a->n_codecs; i++)
            if (!hx_sdp_find_pt(o, a->codecs[i].pt))
                FAIL(HX_SDP_E_MISMATCH, "answer uses a payload type hearth did not offer");
        for (unsigned i = 0; i < a->n_extmaps; i++) {
            unsigned id = hx_sdp_extmap_id(o, a->extmaps[i].uri);
            if (id != a->extmaps[i].id)
                FAIL(HX_SDP_E_MISMATCH, "answer extmap id or URI not in the offer");
        }
        if (!a->rtcp_mux) FAIL(HX_SDP_E_MISMATCH, "answer without rtcp-mux");
        hx__sdp_nego_from(nm, a);
        /* Codec details (fmtp, rtcp-fb) are the answer's: what the client will do. */
        if (!nm->n_codecs) FAIL(HX_SDP_E_MISMATCH, "answer accepts no codec");
        nm->dir = (a->dir == HX_SDP_RECVONLY || a->dir == HX_SDP_SENDRECV || !a->dir)
                      ? HX_SDP_SENDONLY
                      : HX_SDP_INACTIVE;
    } else if (a->proto != HX_SDP_PROTO_SCTP && a->proto != HX_SDP_PROTO_SCTP_LEGACY) {
        FAIL(HX_SDP_E_MISMATCH, "answer changed the protocol");
    }
    hx__sdp_nego_remote(nm, a);
    nm->accepted = true;
    return 0;
}

static int apply(const hx_sdp *offer, const hx_sdp *ans, hx_sdp_negotiated *nego, const char **what)
{
    if (ans->n_media != offer->n_media) FAIL(HX_SDP_E_MISMATCH, "answer has another m-line count");
    nego->n_media = offer->n_media;
    bool any = false;
    for (unsigned i = 0; i < offer->n_media; i++) {
        int rc = media(&offer->media[i], &ans->media[i], &nego->media[i], what);
        if (rc) return rc;
        if (!nego->media[i].accepted) continue;
        any = true;
        bool bundled = false;
        for (unsigned b = 0; b < ans->n_bundle; b++)
            if (strcmp(ans->bundle[b], ans->media[i].mid) == 0) bundled = true;
        if (!bundled) FAIL(HX_SDP_E_MISMATCH, "accepted m-line outside the answer's BUNDLE");
    }
    if (!any) return 0; /* everything rejected: a valid, if empty, answer */
    const hx_sdp_media *tag = hx_sdp_find_mid(ans, ans->bundle[0]);
    if (!tag->ice_ufrag[0] || !tag->ice_pwd[0])
        FAIL(HX_SDP_E_MISSING, "answer lacks ICE credentials");
    if (!tag->fingerprint.alg[0]) FAIL(HX_SDP_E_MISSING, "answer lacks a DTLS fingerprint");
    if (tag->setup != HX_SDP_SETUP_ACTIVE && tag->setup != HX_SDP_SETUP_PASSIVE)
        FAIL(HX_SDP_E_MISMATCH, "answer setup must be active or passive");
    memcpy(nego->remote_ufrag, tag->ice_ufrag, sizeof nego->remote_ufrag);
    memcpy(nego->remote_pwd, tag->ice_pwd, sizeof nego->remote_pwd);
    nego->remote_fingerprint = tag->fingerprint;
    nego->remote_ice_lite = ans->ice_lite;
    nego->dtls_server = tag->setup == HX_SDP_SETUP_ACTIVE;
    nego->extmap_allow_mixed = ans->extmap_allow_mixed;
    return 0;
}

int hx_sdp_answer_apply(const hx_sdp *offer, const hx_sdp *answer, hx_sdp_negotiated *nego,
                        hx_sdp_error *err)
{
    const char *what = NULL;
    hx__sdp_nego_clear(nego, offer->n_media);
    int rc = apply(offer, answer, nego, &what);
    if (err) {
        err->line = 0;
        err->what = rc ? what : NULL;
    }
    return rc;
}
