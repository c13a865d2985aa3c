/*
 * Media-level attributes: everything under an m= line except the transport
 * attributes parse.c shares with the session level. Codecs are created from
 * the m= format list; rtpmap, fmtp and rtcp-fb fill them in and are ignored
 * for a payload type the list does not name (RFC 8866 §6.6). Header
 * extensions (RFC 8285), SSRCs (RFC 5576), RIDs (RFC 8851), simulcast
 * (RFC 8853) and the SCTP attributes (RFC 8841) are kept per m-line: in a
 * BUNDLE each m-line's extmap ids are its own (aiortc 1.4.0 reuses an id
 * across m-lines), so nothing here is merged across sections.
 */
#include "sdp/sdp_internal.h"

#include <string.h>

#define FAIL(code, text)                                                                           \
    do {                                                                                           \
        *what = (text);                                                                            \
        return (code);                                                                             \
    } while (0)

static hx__sdp_span trim(hx__sdp_span s)
{
    while (s.n && (*s.p == ' ' || *s.p == '\t')) {
        s.p++;
        s.n--;
    }
    while (s.n && (s.p[s.n - 1] == ' ' || s.p[s.n - 1] == '\t'))
        s.n--;
    return s;
}

static hx_sdp_codec *codec_of(hx_sdp_media *m, hx__sdp_span pt)
{
    uint64_t n;
    if (!hx__sdp_uint(pt, 127, &n)) return NULL;
    return (hx_sdp_codec *)hx_sdp_find_pt(m, (unsigned)n);
}

/* a=rtpmap:<pt> <name>/<clock>[/<channels>] */
static int rtpmap(hx_sdp_media *m, hx__sdp_span v, const char **what)
{
    hx__sdp_span pt, enc, name, clock;
    uint64_t n;
    if (!hx__sdp_token(&v, &pt) || !hx__sdp_token(&v, &enc) || !hx__sdp_split(&enc, '/', &name))
        FAIL(HX_SDP_E_VALUE, "rtpmap needs <pt> <name>/<clock>");
    if (!hx__sdp_uint(pt, 127, &n)) FAIL(HX_SDP_E_VALUE, "rtpmap payload type must be 0-127");
    hx_sdp_codec *c = codec_of(m, pt);
    if (!c) return 0;
    if (c->name[0]) FAIL(HX_SDP_E_DUPLICATE, "second rtpmap for a payload type");
    clock = enc;
    bool has_ch = hx__sdp_split(&enc, '/', &clock);
    if (!hx__sdp_uint(clock, UINT32_MAX, &n) || n == 0)
        FAIL(HX_SDP_E_VALUE, "bad rtpmap clock rate");
    c->clock = (uint32_t)n;
    if (has_ch) {
        if (!hx__sdp_uint(enc, 255, &n) || n == 0) FAIL(HX_SDP_E_VALUE, "bad rtpmap channels");
        c->channels = (uint8_t)n;
    }
    if (name.n == 0) FAIL(HX_SDP_E_VALUE, "empty codec name");
    if (!hx__sdp_copy(c->name, sizeof c->name, name)) FAIL(HX_SDP_E_LIMIT, "codec name too long");
    return 0;
}

/* a=fmtp:<pt> <params>  and  a=rtcp-fb:<pt|*> <type> [<subtype>] */
static int fmtp_or_fb(hx_sdp_media *m, hx__sdp_span v, bool fb, const char **what)
{
    hx__sdp_span pt;
    if (!hx__sdp_token(&v, &pt)) FAIL(HX_SDP_E_VALUE, "fmtp/rtcp-fb needs a payload type");
    v = trim(v);
    if (v.n == 0) FAIL(HX_SDP_E_VALUE, "fmtp/rtcp-fb without a value");
    bool all = fb && hx__sdp_eq(pt, "*", false);
    for (unsigned i = 0; i < m->n_codecs; i++) {
        hx_sdp_codec *c = &m->codecs[i];
        if (!all && c != codec_of(m, pt)) continue;
        if (!fb) {
            if (c->fmtp[0]) FAIL(HX_SDP_E_DUPLICATE, "second fmtp for a payload type");
            if (!hx__sdp_copy(c->fmtp, sizeof c->fmtp, v)) FAIL(HX_SDP_E_LIMIT, "fmtp too long");
            continue;
        }
        if (c->n_fb == HX_SDP_MAX_FB) FAIL(HX_SDP_E_LIMIT, "too many rtcp-fb for a codec");
        if (!hx__sdp_copy(c->fb[c->n_fb++], HX_SDP_FB_LEN, v))
            FAIL(HX_SDP_E_LIMIT, "rtcp-fb too long");
    }
    return 0;
}

static bool parse_dir(hx__sdp_span t, hx_sdp_dir *d)
{
    static const char *const names[] = {"sendrecv", "sendonly", "recvonly", "inactive"};
    for (int i = 0; i < 4; i++)
        if (hx__sdp_eq(t, names[i], false)) {
            *d = (hx_sdp_dir)(HX_SDP_SENDRECV + i);
            return true;
        }
    return false;
}

/* a=extmap:<id>[/<direction>] <uri> [<attributes>] (RFC 8285 §8) */
static int extmap(hx_sdp_media *m, hx__sdp_span v, const char **what)
{
    hx__sdp_span idt, uri, id;
    uint64_t n;
    hx_sdp_dir dir = HX_SDP_DIR_NONE;
    if (!hx__sdp_token(&v, &idt) || !hx__sdp_token(&v, &uri))
        FAIL(HX_SDP_E_VALUE, "extmap needs <id> <uri>");
    id = idt;
    if (hx__sdp_split(&idt, '/', &id) && !parse_dir(idt, &dir))
        FAIL(HX_SDP_E_VALUE, "bad extmap direction");
    if (!hx__sdp_uint(id, 255, &n) || n == 0) FAIL(HX_SDP_E_VALUE, "extmap id must be 1-255");
    for (unsigned i = 0; i < m->n_extmaps; i++)
        if (m->extmaps[i].id == n) FAIL(HX_SDP_E_DUPLICATE, "extmap id used twice in an m-line");
    if (m->n_extmaps == HX_SDP_MAX_EXTMAPS) FAIL(HX_SDP_E_LIMIT, "too many extmaps");
    hx_sdp_extmap *e = &m->extmaps[m->n_extmaps];
    if (!hx__sdp_copy(e->uri, sizeof e->uri, uri)) FAIL(HX_SDP_E_LIMIT, "extmap URI too long");
    e->id = (uint8_t)n;
    e->dir = dir;
    m->n_extmaps++;
    return 0;
}

static bool parse_ssrc(hx__sdp_span t, uint32_t *out)
{
    uint64_t n;
    if (!hx__sdp_uint(t, UINT32_MAX, &n)) return false;
    *out = (uint32_t)n;
    return true;
}

/* a=ssrc:<ssrc> <attribute>[:<value>] (RFC 5576 §4.1) */
static int ssrc(hx_sdp_media *m, hx__sdp_span v, const char **what)
{
    hx__sdp_span t, attr;
    uint32_t id;
    if (!hx__sdp_token(&v, &t) || !parse_ssrc(t, &id)) FAIL(HX_SDP_E_VALUE, "bad ssrc");
    v = trim(v);
    if (v.n == 0) FAIL(HX_SDP_E_VALUE, "ssrc without an attribute");
    hx_sdp_ssrc *s = NULL;
    for (unsigned i = 0; i < m->n_ssrcs && !s; i++)
        if (m->ssrcs[i].ssrc == id) s = &m->ssrcs[i];
    if (!s) {
        if (m->n_ssrcs == HX_SDP_MAX_SSRCS) FAIL(HX_SDP_E_LIMIT, "too many ssrcs");
        s = &m->ssrcs[m->n_ssrcs++];
        s->ssrc = id;
    }
    if (!hx__sdp_split(&v, ':', &attr)) return 0;
    if (hx__sdp_eq(attr, "cname", false)) {
        if (!hx__sdp_copy(s->cname, sizeof s->cname, v)) FAIL(HX_SDP_E_LIMIT, "cname too long");
    } else if (hx__sdp_eq(attr, "msid", false)) {
        if (!hx__sdp_copy(s->msid, sizeof s->msid, v)) FAIL(HX_SDP_E_LIMIT, "ssrc msid too long");
    }
    return 0;
}

/* a=ssrc-group:<semantics> <ssrc> ... */
static int ssrc_group(hx_sdp_media *m, hx__sdp_span v, const char **what)
{
    hx__sdp_span sem, t;
    if (!hx__sdp_token(&v, &sem)) FAIL(HX_SDP_E_VALUE, "empty ssrc-group");
    if (m->n_ssrc_groups == HX_SDP_MAX_SSRC_GROUPS) FAIL(HX_SDP_E_LIMIT, "too many ssrc-groups");
    hx_sdp_ssrc_group *g = &m->ssrc_groups[m->n_ssrc_groups];
    if (!hx__sdp_copy(g->semantics, sizeof g->semantics, sem))
        FAIL(HX_SDP_E_LIMIT, "ssrc-group semantics too long");
    while (hx__sdp_token(&v, &t)) {
        if (g->n == HX_SDP_MAX_GROUP_SSRCS) FAIL(HX_SDP_E_LIMIT, "too many ssrcs in a group");
        if (!parse_ssrc(t, &g->ssrcs[g->n++])) FAIL(HX_SDP_E_VALUE, "bad ssrc in ssrc-group");
    }
    if (g->n == 0) FAIL(HX_SDP_E_VALUE, "ssrc-group without ssrcs");
    m->n_ssrc_groups++;
    return 0;
}

/* rid-id = 1*(alpha-numeric / "-" / "_") (RFC 8851 §10) */
static bool rid_ok(hx__sdp_span t)
{
    if (t.n == 0) return false;
    for (size_t i = 0; i < t.n; i++) {
        char c = t.p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return false;
    }
    return true;
}

/* a=rid:<id> <send|recv> [<restrictions>] */
static int rid(hx_sdp_media *m, hx__sdp_span v, const char **what)
{
    hx__sdp_span id, dir;
    if (!hx__sdp_token(&v, &id) || !hx__sdp_token(&v, &dir) || !rid_ok(id))
        FAIL(HX_SDP_E_VALUE, "rid needs <id> <send|recv>");
    if (m->n_rids == HX_SDP_MAX_RIDS) FAIL(HX_SDP_E_LIMIT, "too many rids");
    hx_sdp_rid *r = &m->rids[m->n_rids];
    if (hx__sdp_eq(dir, "send", false))
        r->dir = HX_SDP_SENDONLY;
    else if (hx__sdp_eq(dir, "recv", false))
        r->dir = HX_SDP_RECVONLY;
    else
        FAIL(HX_SDP_E_VALUE, "rid direction must be send or recv");
    if (!hx__sdp_copy(r->id, sizeof r->id, id) ||
        !hx__sdp_copy(r->params, sizeof r->params, trim(v)))
        FAIL(HX_SDP_E_LIMIT, "rid too long");
    for (unsigned i = 0; i < m->n_rids; i++)
        if (strcmp(m->rids[i].id, r->id) == 0) FAIL(HX_SDP_E_DUPLICATE, "rid declared twice");
    m->n_rids++;
    return 0;
}

/* One "q;h,x;~f" list: streams split by ';', alternatives by ','; keep the first. */
static int sc_list(hx__sdp_span v, char ids[][HX_SDP_TOKEN_LEN], uint8_t *n, uint8_t *paused)
{
    hx__sdp_span stream, alt;
    for (;;) {
        bool more = hx__sdp_split(&v, ';', &stream);
        if (!more) stream = v;
        if (!hx__sdp_split(&stream, ',', &alt)) alt = stream;
        bool p = alt.n && *alt.p == '~';
        if (p) {
            alt.p++;
            alt.n--;
        }
        if (*n == HX_SDP_MAX_RIDS) return HX_SDP_E_LIMIT;
        if (!rid_ok(alt) || !hx__sdp_copy(ids[*n], HX_SDP_TOKEN_LEN, alt)) return HX_SDP_E_VALUE;
        if (p) *paused |= (uint8_t)(1u << *n);
        (*n)++;
        if (!more) return 0;
    }
}

int hx__sdp_simulcast(hx_sdp_simulcast *sc, hx__sdp_span v)
{
    hx__sdp_span dir, list;
    bool any = false;
    memset(sc, 0, sizeof *sc);
    while (hx__sdp_token(&v, &dir)) {
        if (!hx__sdp_token(&v, &list)) return HX_SDP_E_VALUE;
        int rc;
        if (hx__sdp_eq(dir, "send", false) && !sc->n_send)
            rc = sc_list(list, sc->send, &sc->n_send, &sc->send_paused);
        else if (hx__sdp_eq(dir, "recv", false) && !sc->n_recv)
            rc = sc_list(list, sc->recv, &sc->n_recv, &sc->recv_paused);
        else
            return HX_SDP_E_VALUE;
        if (rc) return rc;
        any = true;
    }
    return any ? 0 : HX_SDP_E_VALUE;
}

static int number(hx__sdp_span v, uint64_t max, uint64_t *out, const char **what)
{
    hx__sdp_span t;
    if (!hx__sdp_token(&v, &t) || !hx__sdp_uint(t, max, out)) FAIL(HX_SDP_E_VALUE, "bad number");
    return 0;
}

static int copy_or_fail(char *dst, size_t cap, hx__sdp_span v, const char *name, const char **what)
{
    v = trim(v);
    if (v.n == 0) FAIL(HX_SDP_E_VALUE, name);
    if (!hx__sdp_copy(dst, cap, v)) FAIL(HX_SDP_E_LIMIT, name);
    return 0;
}

int hx__sdp_media_attr(hx_sdp_media *m, hx__sdp_span name, hx__sdp_span val, bool has_val,
                       const char **what)
{
    uint64_t n = 0;
    int rc = 0;
    if (!has_val) {
        if (parse_dir(name, &m->dir)) return 0;
        if (hx__sdp_eq(name, "rtcp-mux", false))
            m->rtcp_mux = true;
        else if (hx__sdp_eq(name, "rtcp-rsize", false))
            m->rtcp_rsize = true;
        else if (hx__sdp_eq(name, "end-of-candidates", false))
            m->end_of_candidates = true;
        else if (hx__sdp_eq(name, "bundle-only", false))
            m->bundle_only = true;
        return 0;
    }
    if (hx__sdp_eq(name, "mid", false)) {
        if (m->mid[0]) FAIL(HX_SDP_E_DUPLICATE, "second mid in an m-line");
        return copy_or_fail(m->mid, sizeof m->mid, val, "bad mid", what);
    }
    if (hx__sdp_eq(name, "candidate", false)) {
        if (m->n_cands == HX_SDP_MAX_CANDS) {
            if (m->cands_dropped < UINT16_MAX) m->cands_dropped++;
            return 0;
        }
        char *c = m->cands[m->n_cands];
        memcpy(c, "candidate:", 10);
        if (!hx__sdp_copy(c + 10, HX_SDP_CAND_LEN - 10, val))
            FAIL(HX_SDP_E_LIMIT, "candidate too long");
        m->n_cands++;
        return 0;
    }
    if (hx__sdp_eq(name, "rtpmap", false)) return rtpmap(m, val, what);
    if (hx__sdp_eq(name, "fmtp", false)) return fmtp_or_fb(m, val, false, what);
    if (hx__sdp_eq(name, "rtcp-fb", false)) return fmtp_or_fb(m, val, true, what);
    if (hx__sdp_eq(name, "extmap", false)) return extmap(m, val, what);
    if (hx__sdp_eq(name, "ssrc", false)) return ssrc(m, val, what);
    if (hx__sdp_eq(name, "ssrc-group", false)) return ssrc_group(m, val, what);
    if (hx__sdp_eq(name, "rid", false)) return rid(m, val, what);
    if (hx__sdp_eq(name, "msid", false))
        return copy_or_fail(m->msid, sizeof m->msid, val, "bad msid", what);
    if (hx__sdp_eq(name, "simulcast", false)) {
        if (m->has_simulcast) FAIL(HX_SDP_E_DUPLICATE, "second simulcast attribute");
        rc = hx__sdp_simulcast(&m->simulcast, val);
        if (rc) FAIL(rc, "bad simulcast");
        m->has_simulcast = true;
        return 0;
    }
    if (hx__sdp_eq(name, "sctp-port", false)) {
        rc = number(val, 65535, &n, what);
        m->sctp_port = (uint16_t)n;
    } else if (hx__sdp_eq(name, "sctpmap", false)) {
        rc = number(val, 65535, &n, what); /* "5000 webrtc-datachannel 65535" */
        m->sctp_port = (uint16_t)n;
    } else if (hx__sdp_eq(name, "max-message-size", false)) {
        rc = number(val, UINT32_MAX, &n, what);
        m->max_message_size = (uint32_t)n;
    }
    return rc;
}
