/*
 * Shared negotiation helpers (see nego_internal.h). The negotiated view
 * folds RTX into its primary codec (RFC 4588 §8: rtx with apt=<pt>) so
 * the media layer sees one entry per codec, and resolves the known header
 * extensions to ids so the RTP layer needs no string compares per packet.
 */
#include "sdp/nego_internal.h"

#include <stdlib.h>
#include <stddef.h>
#include <string.h>

uint8_t hx__sdp_fb_bits(const hx_sdp_codec *c)
{
    static const struct {
        const char *name;
        uint8_t bit;
    } known[] = {{"nack", HX_SDP_FB_NACK},
                 {"nack pli", HX_SDP_FB_PLI},
                 {"ccm fir", HX_SDP_FB_FIR},
                 {"goog-remb", HX_SDP_FB_REMB},
                 {"transport-cc", HX_SDP_FB_TCC}};
    uint8_t bits = 0;
    for (unsigned i = 0; i < c->n_fb; i++)
        for (unsigned k = 0; k < sizeof known / sizeof known[0]; k++)
            if (strcmp(c->fb[i], known[k].name) == 0) bits |= known[k].bit;
    return bits;
}

int hx__sdp_apt(const hx_sdp_codec *c)
{
    char v[8], *end;
    if (!hx__sdp_ieq(c->name, "rtx") || hx_sdp_fmtp_get(c->fmtp, "apt", v, sizeof v) != 0)
        return -1;
    long n = strtol(v, &end, 10);
    return (end == v || *end || n < 0 || n > 127) ? -1 : (int)n;
}

void hx__sdp_nego_clear(hx_sdp_negotiated *nego, unsigned n)
{
    memset(nego, 0, offsetof(hx_sdp_negotiated, media));
    memset(nego->media, 0, (n < HX_SDP_MAX_MEDIA ? n : HX_SDP_MAX_MEDIA) * sizeof nego->media[0]);
}

void hx__sdp_nego_from(hx_sdp_nego_media *nm, const hx_sdp_media *m)
{
    nm->n_codecs = 0;
    for (unsigned i = 0; i < m->n_codecs; i++) {
        const hx_sdp_codec *c = &m->codecs[i];
        if (hx__sdp_ieq(c->name, "rtx") || !c->name[0]) continue;
        hx_sdp_nego_codec *n = &nm->codecs[nm->n_codecs++];
        memset(n, 0, sizeof *n);
        n->pt = c->pt;
        memcpy(n->name, c->name, sizeof n->name);
        n->clock = c->clock;
        n->channels = c->channels;
        memcpy(n->fmtp, c->fmtp, sizeof n->fmtp);
        n->fb = hx__sdp_fb_bits(c);
        for (unsigned j = 0; j < m->n_codecs; j++)
            if (hx__sdp_apt(&m->codecs[j]) == c->pt) n->rtx_pt = m->codecs[j].pt;
    }
    nm->n_ext = m->n_extmaps;
    memcpy(nm->ext, m->extmaps, sizeof nm->ext);
    memset(nm->ext_id, 0, sizeof nm->ext_id);
    for (unsigned i = 0; i < m->n_extmaps; i++) {
        int x = hx_sdp_ext_from_uri(m->extmaps[i].uri);
        if (x >= 0) nm->ext_id[x] = m->extmaps[i].id;
    }
}

void hx__sdp_nego_remote(hx_sdp_nego_media *nm, const hx_sdp_media *r)
{
    nm->n_ssrcs = r->n_ssrcs;
    memcpy(nm->ssrcs, r->ssrcs, sizeof nm->ssrcs);
    nm->n_ssrc_groups = r->n_ssrc_groups;
    memcpy(nm->ssrc_groups, r->ssrc_groups, sizeof nm->ssrc_groups);
    nm->n_rids = r->n_rids;
    memcpy(nm->rids, r->rids, sizeof nm->rids);
    nm->has_simulcast = r->has_simulcast;
    nm->simulcast = r->simulcast;
    nm->sctp_port = r->sctp_port;
    nm->max_message_size = r->max_message_size;
}

bool hx__sdp_strcpy(char *dst, size_t cap, const char *s)
{
    return hx__sdp_copy(dst, cap, hx__sdp_str(s ? s : ""));
}

int hx__sdp_local_check(const hx_sdp_local *l, const char **what)
{
    if (!l->ice_ufrag || !l->ice_ufrag[0] || !l->ice_pwd || !l->ice_pwd[0] || !l->fp_alg ||
        !l->fp_hex || !l->fp_hex[0]) {
        *what = "local ICE credentials and fingerprint are required";
        return HX_SDP_E_MISSING;
    }
    if (strlen(l->ice_ufrag) >= HX_SDP_ICE_LEN || strlen(l->ice_pwd) >= HX_SDP_ICE_LEN ||
        strlen(l->fp_alg) >= sizeof(((hx_sdp_fingerprint *)0)->alg) ||
        strlen(l->fp_hex) >= HX_SDP_FP_LEN || (l->addr && strlen(l->addr) >= HX_SDP_TOKEN_LEN)) {
        *what = "local transport value too long";
        return HX_SDP_E_LIMIT;
    }
    for (size_t i = 0; i < l->n_candidates; i++)
        if (strlen(l->candidates[i]) >= HX_SDP_CAND_LEN) {
            *what = "local candidate too long";
            return HX_SDP_E_LIMIT;
        }
    return 0;
}

void hx__sdp_local_transport(hx_sdp_media *m, const hx_sdp_local *l, hx_sdp_setup setup)
{
    m->port = l->port ? l->port : 9;
    hx__sdp_strcpy(m->conn, sizeof m->conn, l->addr ? l->addr : "0.0.0.0");
    hx__sdp_strcpy(m->ice_ufrag, sizeof m->ice_ufrag, l->ice_ufrag);
    hx__sdp_strcpy(m->ice_pwd, sizeof m->ice_pwd, l->ice_pwd);
    hx__sdp_strcpy(m->fingerprint.alg, sizeof m->fingerprint.alg, l->fp_alg);
    hx__sdp_strcpy(m->fingerprint.hex, sizeof m->fingerprint.hex, l->fp_hex);
    m->setup = setup;
    m->n_cands = 0;
    for (size_t i = 0; i < l->n_candidates && m->n_cands < HX_SDP_MAX_CANDS; i++)
        hx__sdp_strcpy(m->cands[m->n_cands++], HX_SDP_CAND_LEN, l->candidates[i]);
    m->end_of_candidates = l->end_of_candidates;
}

bool hx__sdp_ext_allowed(const hx_sdp_local *l, hx_sdp_kind kind, int x)
{
    if (x < 0 || (l->ext_mask && !(l->ext_mask & (1u << x)))) return false;
    switch (x) {
    case HX_SDP_EXT_AUDIO_LEVEL:
        return kind == HX_SDP_AUDIO;
    case HX_SDP_EXT_RID:
    case HX_SDP_EXT_RRID:
    case HX_SDP_EXT_DD:
        return kind == HX_SDP_VIDEO;
    default:
        return true;
    }
}
