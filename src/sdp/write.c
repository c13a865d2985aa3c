/*
 * hx_sdp_write: the model back to text, in the order Chromium writes it
 * (session lines, then per m-line: connection, candidates, transport,
 * mid, extmaps, direction, msid, rtcp, codecs, rids/simulcast, ssrcs,
 * SCTP). Only what is set is written, so the builders control the output
 * by filling the model. Transport values equal to the session-level ones
 * are left to inheritance (see sdp.h). Output is bounded by cap and by
 * HX_SDP_MAX_LEN; a text that does not fit is an error, never cut short.
 */
#include "sdp/sdp_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static void transport(hx__sdp_out *o, const char *ufrag, const char *pwd,
                      const hx_sdp_fingerprint *fp, hx_sdp_setup setup, const hx_sdp *s)
{
    bool session = s == NULL;
    if (ufrag[0] && (session || strcmp(ufrag, s->ice_ufrag) != 0))
        hx__sdp_line(o, "a=ice-ufrag:%s", ufrag);
    if (pwd[0] && (session || strcmp(pwd, s->ice_pwd) != 0)) hx__sdp_line(o, "a=ice-pwd:%s", pwd);
    if (fp->alg[0] && (session || strcmp(fp->alg, s->fingerprint.alg) != 0 ||
                       strcmp(fp->hex, s->fingerprint.hex) != 0))
        hx__sdp_line(o, "a=fingerprint:%s %s", fp->alg, fp->hex);
    if (setup != HX_SDP_SETUP_NONE && (session || setup != s->setup))
        hx__sdp_line(o, "a=setup:%s", hx__sdp_setup_name(setup));
}

static void codecs(hx__sdp_out *o, const hx_sdp_media *m)
{
    for (unsigned i = 0; i < m->n_codecs; i++) {
        const hx_sdp_codec *c = &m->codecs[i];
        if (c->name[0] && c->channels)
            hx__sdp_line(o, "a=rtpmap:%u %s/%" PRIu32 "/%u", c->pt, c->name, c->clock, c->channels);
        else if (c->name[0])
            hx__sdp_line(o, "a=rtpmap:%u %s/%" PRIu32, c->pt, c->name, c->clock);
        for (unsigned f = 0; f < c->n_fb; f++)
            hx__sdp_line(o, "a=rtcp-fb:%u %s", c->pt, c->fb[f]);
        if (c->fmtp[0]) hx__sdp_line(o, "a=fmtp:%u %s", c->pt, c->fmtp);
    }
}

static void simulcast(hx__sdp_out *o, const hx_sdp_simulcast *sc)
{
    char buf[2 * HX_SDP_MAX_RIDS * (HX_SDP_TOKEN_LEN + 2) + 16];
    size_t n = 0;
    for (int d = 0; d < 2; d++) {
        unsigned cnt = d ? sc->n_recv : sc->n_send;
        uint8_t paused = d ? sc->recv_paused : sc->send_paused;
        if (!cnt) continue;
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s ", n ? " " : "", d ? "recv" : "send");
        for (unsigned i = 0; i < cnt && n < sizeof buf; i++)
            n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s%s", i ? ";" : "",
                                  paused & (1u << i) ? "~" : "", d ? sc->recv[i] : sc->send[i]);
    }
    if (n < sizeof buf)
        hx__sdp_line(o, "a=simulcast:%s", buf);
    else
        o->fail = true;
}

static int media(hx__sdp_out *o, const hx_sdp *s, const hx_sdp_media *m)
{
    char fmts[HX_SDP_MAX_CODECS * 4 + 1];
    size_t n = 0;
    for (unsigned i = 0; i < m->n_codecs; i++)
        n += (size_t)snprintf(fmts + n, sizeof fmts - n, "%s%u", i ? " " : "", m->codecs[i].pt);
    const char *fmt = m->proto == HX_SDP_PROTO_RTP ? fmts : m->fmt;
    const char *kind = m->kind_name[0] ? m->kind_name : hx__sdp_kind_name(m->kind);
    if (!fmt[0] || !kind[0] || !m->proto_name[0]) return HX_SDP_E_VALUE;
    hx__sdp_line(o, "m=%s %u %s %s", kind, m->port, m->proto_name, fmt);
    hx__sdp_line(o, "c=IN %s %s", strchr(m->conn, ':') ? "IP6" : "IP4",
                 m->conn[0] ? m->conn : "0.0.0.0");
    for (unsigned i = 0; i < m->n_cands; i++)
        hx__sdp_line(o, "a=%s", m->cands[i]);
    if (m->end_of_candidates) hx__sdp_line(o, "a=end-of-candidates");
    transport(o, m->ice_ufrag, m->ice_pwd, &m->fingerprint, m->setup, s);
    if (m->ice_trickle && !s->ice_trickle) hx__sdp_line(o, "a=ice-options:trickle");
    if (m->mid[0]) hx__sdp_line(o, "a=mid:%s", m->mid);
    for (unsigned i = 0; i < m->n_extmaps; i++) {
        const hx_sdp_extmap *e = &m->extmaps[i];
        hx__sdp_line(o, "a=extmap:%u%s%s %s", e->id, e->dir ? "/" : "", hx__sdp_dir_name(e->dir),
                     e->uri);
    }
    if (m->dir) hx__sdp_line(o, "a=%s", hx__sdp_dir_name(m->dir));
    if (m->msid[0]) hx__sdp_line(o, "a=msid:%s", m->msid);
    if (m->rtcp_mux) hx__sdp_line(o, "a=rtcp-mux");
    if (m->rtcp_rsize) hx__sdp_line(o, "a=rtcp-rsize");
    if (m->bundle_only) hx__sdp_line(o, "a=bundle-only");
    codecs(o, m);
    for (unsigned i = 0; i < m->n_rids; i++)
        hx__sdp_line(o, "a=rid:%s %s%s%s", m->rids[i].id,
                     m->rids[i].dir == HX_SDP_RECVONLY ? "recv" : "send",
                     m->rids[i].params[0] ? " " : "", m->rids[i].params);
    if (m->has_simulcast) simulcast(o, &m->simulcast);
    for (unsigned i = 0; i < m->n_ssrc_groups; i++) {
        const hx_sdp_ssrc_group *g = &m->ssrc_groups[i];
        char list[HX_SDP_MAX_GROUP_SSRCS * 11 + 1];
        size_t k = 0;
        for (unsigned j = 0; j < g->n; j++)
            k += (size_t)snprintf(list + k, sizeof list - k, " %" PRIu32, g->ssrcs[j]);
        hx__sdp_line(o, "a=ssrc-group:%s%s", g->semantics, list);
    }
    for (unsigned i = 0; i < m->n_ssrcs; i++) {
        const hx_sdp_ssrc *x = &m->ssrcs[i];
        if (x->cname[0]) hx__sdp_line(o, "a=ssrc:%" PRIu32 " cname:%s", x->ssrc, x->cname);
        if (x->msid[0]) hx__sdp_line(o, "a=ssrc:%" PRIu32 " msid:%s", x->ssrc, x->msid);
    }
    if (m->proto == HX_SDP_PROTO_SCTP && m->sctp_port)
        hx__sdp_line(o, "a=sctp-port:%u", m->sctp_port);
    if (m->proto == HX_SDP_PROTO_SCTP_LEGACY && m->sctp_port)
        hx__sdp_line(o, "a=sctpmap:%u webrtc-datachannel 65535", m->sctp_port);
    if (m->max_message_size) hx__sdp_line(o, "a=max-message-size:%" PRIu32, m->max_message_size);
    return 0;
}

long hx_sdp_write(const hx_sdp *s, char *out, size_t cap)
{
    if (!out || cap == 0) return HX_SDP_E_NOSPACE;
    hx__sdp_out o = {out, cap, 0, false};
    out[0] = '\0';
    hx__sdp_line(&o, "v=0");
    hx__sdp_line(&o, "o=%s %" PRIu64 " %" PRIu64 " IN %s %s",
                 s->origin_user[0] ? s->origin_user : "-", s->sess_id, s->sess_version,
                 strchr(s->origin_addr, ':') ? "IP6" : "IP4",
                 s->origin_addr[0] ? s->origin_addr : "127.0.0.1");
    hx__sdp_line(&o, "s=-");
    hx__sdp_line(&o, "t=0 0");
    if (s->ice_lite) hx__sdp_line(&o, "a=ice-lite");
    if (s->n_bundle) {
        char list[HX_SDP_MAX_MEDIA * HX_SDP_TOKEN_LEN + 1];
        size_t k = 0;
        for (unsigned i = 0; i < s->n_bundle; i++)
            k += (size_t)snprintf(list + k, sizeof list - k, " %s", s->bundle[i]);
        hx__sdp_line(&o, "a=group:BUNDLE%s", list);
    }
    if (s->ice_trickle) hx__sdp_line(&o, "a=ice-options:trickle");
    if (s->extmap_allow_mixed) hx__sdp_line(&o, "a=extmap-allow-mixed");
    if (s->msid_semantic[0]) hx__sdp_line(&o, "a=msid-semantic: %s", s->msid_semantic);
    transport(&o, s->ice_ufrag, s->ice_pwd, &s->fingerprint, s->setup, NULL);
    for (unsigned i = 0; i < s->n_media && i < HX_SDP_MAX_MEDIA; i++) {
        int rc = media(&o, s, &s->media[i]);
        if (rc) return rc;
    }
    return o.fail ? HX_SDP_E_NOSPACE : (long)o.len;
}
