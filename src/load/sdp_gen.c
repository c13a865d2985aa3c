/*
 * SDP for the load generator's PeerConnections.
 *
 * The publisher offer is written by hand: BUNDLE, rtcp-mux, one sendonly
 * m-line per kind (Opus PT 111, VP8 PT 96 with nack/pli/fir feedback),
 * a=ssrc lines naming the stream (so a server learns SSRCs from SDP),
 * setup:active (the client is always the DTLS client: hearth and Janus both
 * answer passive), and our one host candidate inline. With simulcast the
 * video m-line offers the mid and rid extensions, one a=rid per layer and
 * a=simulcast:send q;h;f, and no SSRC (as Chromium: see
 * tests/sdp/fixtures/chromium_pub_simulcast.sdp).
 *
 * Server offers and answers are parsed with sdp/'s parser (heap-allocated:
 * an hx_sdp is large, and this is signaling, not a packet path). An answer
 * to a server offer takes, per m-line, the first Opus or VP8 payload type
 * recvonly, accepts a data channel m-line without ever speaking SCTP on it,
 * and rejects everything else with port 0; the BUNDLE group lists what was
 * accepted.
 */
#include "load/load_internal.h"
#include "sdp/negotiate.h"
#include "sdp/sdp.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct out {
    char *p;
    size_t cap, len;
    bool over;
} out;

static void put(out *o, const char *fmt, ...)
{
    if (o->over) return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= o->cap - o->len)
        o->over = true;
    else
        o->len += (size_t)n;
}

static void transport(out *o, const hx_lpc *pc, const char *ip)
{
    put(o, "c=IN IP4 %s\r\na=rtcp:9 IN IP4 0.0.0.0\r\n", ip);
    put(o, "a=ice-ufrag:%s\r\na=ice-pwd:%s\r\na=ice-options:trickle\r\n", pc->lufrag, pc->lpwd);
    put(o, "a=fingerprint:sha-256 %s\r\na=setup:active\r\n", hx_lpc_fingerprint(pc));
    put(o, "a=candidate:1 1 udp 2130706431 %s %d typ host\r\n", ip, hx_lpc_port(pc));
}

long hx__load_sdp_offer(const hx_load_part *p, const hx_lpc *pc, char *buf, size_t cap)
{
    const hx_load_cfg *cfg = p->w->run->cfg;
    const char *ip = cfg->local_ip;
    out o = {buf, cap, 0, false};
    char stream[32];
    snprintf(stream, sizeof stream, "load%d", p->index);
    put(&o, "v=0\r\no=- %u 2 IN IP4 %s\r\ns=-\r\nt=0 0\r\n", 1000u + (unsigned)p->index, ip);
    put(&o, "a=group:BUNDLE%s%s\r\na=msid-semantic: WMS %s\r\n", cfg->audio ? " 0" : "",
        cfg->video ? " 1" : "", stream);
    if (cfg->audio) {
        put(&o, "m=audio 9 UDP/TLS/RTP/SAVPF %d\r\n", HX_LOAD_PT_OPUS);
        transport(&o, pc, ip);
        put(&o, "a=mid:0\r\na=sendonly\r\na=rtcp-mux\r\na=msid:%s %s-a\r\n", stream, stream);
        put(&o, "a=rtpmap:%d opus/48000/2\r\na=fmtp:%d minptime=10;useinbandfec=1\r\n",
            HX_LOAD_PT_OPUS, HX_LOAD_PT_OPUS);
        put(&o, "a=ssrc:%u cname:%s\r\na=ssrc:%u msid:%s %s-a\r\n", p->tx.ssrc_a, stream,
            p->tx.ssrc_a, stream, stream);
    }
    if (cfg->video) {
        put(&o, "m=video 9 UDP/TLS/RTP/SAVPF %d\r\n", HX_LOAD_PT_VP8);
        transport(&o, pc, ip);
        put(&o, "a=mid:1\r\na=sendonly\r\na=rtcp-mux\r\na=rtcp-rsize\r\na=msid:%s %s-v\r\n", stream,
            stream);
        put(&o, "a=rtpmap:%d VP8/90000\r\n", HX_LOAD_PT_VP8);
        put(&o, "a=rtcp-fb:%d nack\r\na=rtcp-fb:%d nack pli\r\na=rtcp-fb:%d ccm fir\r\n",
            HX_LOAD_PT_VP8, HX_LOAD_PT_VP8, HX_LOAD_PT_VP8);
        if (cfg->simulcast > 1) {
            put(&o, "a=extmap:%d " HX_SDP_EXT_MID_URI "\r\na=extmap:%d " HX_SDP_EXT_RID_URI "\r\n",
                HX_LOAD_EXT_MID, HX_LOAD_EXT_RID);
            for (int l = 0; l < cfg->simulcast; l++)
                put(&o, "a=rid:%s send\r\n", hx_load_layer_rid(l));
            put(&o, "a=simulcast:send ");
            for (int l = 0; l < cfg->simulcast; l++)
                put(&o, "%s%s", l ? ";" : "", hx_load_layer_rid(l));
            put(&o, "\r\n");
        } else {
            put(&o, "a=ssrc:%u cname:%s\r\na=ssrc:%u msid:%s %s-v\r\n", p->tx.v[0].ssrc, stream,
                p->tx.v[0].ssrc, stream, stream);
        }
    }
    return o.over ? -1 : (long)o.len;
}

static hx_sdp *parse(const char *text)
{
    hx_sdp *s = malloc(sizeof *s);
    if (!s) return NULL;
    hx_sdp_error err;
    int rc = hx_sdp_parse(text, strlen(text), s, &err);
    if (rc != 0) {
        fprintf(stderr, "hearth-load: SDP from the server: %s (line %d: %s)\n", hx_sdp_strerror(rc),
                err.line, err.what ? err.what : "");
        free(s);
        return NULL;
    }
    return s;
}

/* The remote ICE credentials, fingerprint and candidates: session level or the first m-line. */
static int learn(hx_lpc *pc, const hx_sdp *s)
{
    const char *ufrag = s->ice_ufrag, *pwd = s->ice_pwd;
    const hx_sdp_fingerprint *fp = &s->fingerprint;
    for (int i = 0; i < s->n_media; i++) {
        const hx_sdp_media *m = &s->media[i];
        if (!*ufrag && *m->ice_ufrag) ufrag = m->ice_ufrag;
        if (!*pwd && *m->ice_pwd) pwd = m->ice_pwd;
        if (!*fp->alg && *m->fingerprint.alg) fp = &m->fingerprint;
        for (int c = 0; c < m->n_cands; c++)
            hx_lpc_add_candidate(pc, m->cands[c]);
    }
    if (!*ufrag || !*pwd || !*fp->alg) return -1;
    return hx_lpc_set_remote(pc, ufrag, pwd, fp->alg, fp->hex);
}

int hx__load_sdp_apply_answer(hx_lpc *pc, const char *answer)
{
    hx_sdp *s = parse(answer);
    if (!s) return -1;
    int rc = learn(pc, s);
    free(s);
    return rc;
}

/* A data channel m-line: accepted (it is often the BUNDLE tag) but never used; the server's
 * SCTP INITs arrive as DTLS application data and are dropped. */
static bool take_data(const hx_sdp_media *m)
{
    return m->kind == HX_SDP_APPLICATION && m->port != 0 && m->proto == HX_SDP_PROTO_SCTP;
}

static const hx_sdp_codec *pick(const hx_sdp_media *m)
{
    const char *want = m->kind == HX_SDP_AUDIO ? "opus" : m->kind == HX_SDP_VIDEO ? "VP8" : NULL;
    if (!want || m->port == 0 || m->proto != HX_SDP_PROTO_RTP) return NULL;
    if (m->dir == HX_SDP_RECVONLY || m->dir == HX_SDP_INACTIVE) return NULL;
    for (int i = 0; i < m->n_codecs; i++)
        if (!strcasecmp(m->codecs[i].name, want)) return &m->codecs[i];
    return NULL;
}

long hx__load_sdp_answer(hx_lpc *pc, const char *offer, char *buf, size_t cap)
{
    hx_sdp *s = parse(offer);
    if (!s) return -1;
    const char *ip = pc->w->run->cfg->local_ip;
    out o = {buf, cap, 0, false};
    long rc = -1;
    pc->controlled = !s->ice_lite; /* the offerer is controlling unless it is lite */
    if (learn(pc, s) != 0) goto done;
    put(&o, "v=0\r\no=- %u 2 IN IP4 %s\r\ns=-\r\nt=0 0\r\na=group:BUNDLE",
        2000u + (unsigned)pc->part->index, ip);
    for (int i = 0; i < s->n_media; i++)
        if (pick(&s->media[i]) || take_data(&s->media[i])) put(&o, " %s", s->media[i].mid);
    put(&o, "\r\na=msid-semantic: WMS\r\n");
    for (int i = 0; i < s->n_media; i++) {
        const hx_sdp_media *m = &s->media[i];
        const hx_sdp_codec *c = pick(m);
        if (take_data(m)) {
            put(&o, "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n");
            transport(&o, pc, ip);
            put(&o, "a=mid:%s\r\na=sctp-port:%u\r\n", m->mid, m->sctp_port ? m->sctp_port : 5000);
            continue;
        }
        if (!c) {
            const char *fmt = m->n_codecs ? "" : m->fmt;
            char pt[8] = "";
            if (m->n_codecs) snprintf(pt, sizeof pt, "%u", m->codecs[0].pt);
            put(&o, "m=%s 0 %s %s%s\r\nc=IN IP4 0.0.0.0\r\na=mid:%s\r\na=inactive\r\n",
                m->kind_name, m->proto_name, fmt, pt, m->mid);
            continue;
        }
        put(&o, "m=%s 9 UDP/TLS/RTP/SAVPF %u\r\n", m->kind_name, c->pt);
        transport(&o, pc, ip);
        put(&o, "a=mid:%s\r\na=recvonly\r\na=rtcp-mux\r\n", m->mid);
        if (c->channels)
            put(&o, "a=rtpmap:%u %s/%u/%u\r\n", c->pt, c->name, c->clock, c->channels);
        else
            put(&o, "a=rtpmap:%u %s/%u\r\n", c->pt, c->name, c->clock);
        if (*c->fmtp) put(&o, "a=fmtp:%u %s\r\n", c->pt, c->fmtp);
    }
    rc = o.over ? -1 : (long)o.len;
done:
    free(s);
    return rc;
}

char *hx__load_publisher_offer(hx_load_part *p)
{
    hx_lpc *pc = malloc(sizeof *pc);
    if (!pc || hx_lpc_open(pc, p->w, p, &hx__load_pub_cbs) != 0) {
        free(pc);
        hx__load_fail(p, "publisher socket");
        return NULL;
    }
    p->pub = pc;
    char *sdp = malloc(HX_SDP_MAX_LEN);
    if (!sdp || hx__load_sdp_offer(p, pc, sdp, HX_SDP_MAX_LEN) < 0) {
        free(sdp);
        hx__load_fail(p, "publisher offer");
        return NULL;
    }
    return sdp;
}

char *hx__load_subscriber_answer(hx_load_part *p, const char *offer)
{
    if (!p->sub) {
        hx_lpc *pc = malloc(sizeof *pc);
        if (!pc || hx_lpc_open(pc, p->w, p, &hx__load_sub_cbs) != 0) {
            free(pc);
            hx__load_fail(p, "subscriber socket");
            return NULL;
        }
        p->sub = pc;
    }
    char *sdp = malloc(HX_SDP_MAX_LEN);
    if (!sdp || hx__load_sdp_answer(p->sub, offer, sdp, HX_SDP_MAX_LEN) < 0) {
        free(sdp);
        hx__load_fail(p, "subscriber answer");
        return NULL;
    }
    return sdp;
}
