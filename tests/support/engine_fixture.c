/* An engine core driven by a test (engine_fixture.h). */
#include "support/engine_fixture.h"

#include "rtp/demux.h"
#include "rtp/rtcp.h"
#include "sdp/negotiate.h"
#include "stun/stun.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- the core's io -------------------------------------------------------------- */

static uint8_t *io_slot(void *ctx)
{
    return ((fx *)ctx)->slot;
}

static void io_commit(void *ctx, const hx_engine_path *to, size_t len)
{
    fx *f = ctx;
    if (!len) {
        f->released++;
        return;
    }
    f->sent++;
    f->sent_bytes += len;
    if (to->proto <= HX_PATH_TCP) f->sent_on[to->proto]++;
    if (f->keep_out || f->n_out == FX_MAX_OUT) return;
    fx_out *o = &f->out[f->n_out++];
    o->to = *to;
    o->len = len;
    memcpy(o->data, f->slot, len);
}

static void io_event(void *ctx, const uint8_t *msg, size_t len)
{
    fx *f = ctx;
    if (f->n_ev == FX_MAX_EVENTS) return;
    uint8_t *copy = malloc(len);
    const char *why;
    if (!copy) return;
    memcpy(copy, msg, len);
    if (hx_sfu_parse(copy, len, &f->ev[f->n_ev], &why) != 0) {
        snprintf(f->err, sizeof f->err, "the core emitted a malformed event: %s", why);
        free(copy);
        return;
    }
    f->ev_buf[f->n_ev++] = copy;
}

static void io_unbind(void *ctx, void *transport)
{
    ((fx *)ctx)->unbound = transport;
}

static void io_random(void *ctx, void *buf, size_t n)
{
    fx *f = ctx;
    uint8_t *b = buf;
    for (size_t i = 0; i < n; i++) {
        f->rnd ^= f->rnd << 13, f->rnd ^= f->rnd >> 7, f->rnd ^= f->rnd << 17;
        b[i] = (uint8_t)f->rnd;
    }
}

/* --- life and commands ------------------------------------------------------------ */

int fx_init(fx *f, const hx_engine_config *cfg)
{
    return fx_init_with(f, cfg, NULL);
}

void fx_next_addr(fx *f, const struct sockaddr_storage *addr)
{
    f->have_next_addr = addr != NULL;
    if (addr) f->next_addr = *addr;
}

int fx_init_with(fx *f, const hx_engine_config *cfg, const char *srtp_profiles)
{
    memset(f, 0, sizeof *f);
    if (cfg)
        f->cfg = *cfg;
    else
        hx_engine_config_default(&f->cfg);
    f->now = 1000000;
    f->rnd = 0x9e3779b97f4a7c15ull;
    f->out = malloc(FX_MAX_OUT * sizeof *f->out);
    if (!f->out) return -1;
    static const char *const cands[] = {
        "candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host",
        "candidate:101 1 tcp 1518280447 127.0.0.1 40001 typ host tcptype passive",
    };
    hx_engine_io io = {.ctx = f,
                       .slot = io_slot,
                       .commit = io_commit,
                       .event = io_event,
                       .unbind = io_unbind,
                       .random = io_random};
    if (hx_engine_core_new(&f->cfg, cands, 2, &io, &f->core, f->err, sizeof f->err) != 0) return -1;
    hx_engine_core_set_wall_offset(f->core, 1700000000000 - f->now);
    if (hx_dtls_cert_generate(&f->cert) != 0) return -1;
    hx_dtls_config dc = {.cert = &f->cert, .srtp_profiles = srtp_profiles};
    if (hx_dtls_ctx_new(&f->dtls, &dc) != 0) return -1;
    return 0;
}

static void peer_free(fx_peer *p)
{
    hx_dtls_free(p->dtls);
    hx_srtp_destroy(p->srtp_tx);
    hx_srtp_destroy(p->srtp_rx);
    free(p->rx);
    free(p);
}

void fx_free(fx *f)
{
    hx_engine_core_free(f->core, f->now);
    for (int i = 0; i < f->n_peers; i++)
        peer_free(f->peers[i]);
    fx_clear_events(f);
    hx_dtls_ctx_free(f->dtls);
    hx_dtls_cert_free(&f->cert);
    free(f->out);
    memset(f, 0, sizeof *f);
}

void fx_command(fx *f, hx_sfu_builder *b)
{
    long n = hx_sfu_finish(b);
    if (n <= 0) {
        snprintf(f->err, sizeof f->err, "a command does not fit");
        return;
    }
    hx_engine_core_command(f->core, b->buf, (size_t)n, f->now);
    fx_pump(f);
}

void fx_open(fx *f, uint64_t id, const char *room, const char *who, const char *role,
             uint32_t flags)
{
    uint8_t buf[512];
    hx_sfu_builder b;
    hx_sfu_build(&b, buf, sizeof buf, HX_SFU_TRANSPORT_OPEN, id);
    hx_sfu_put_cstr(&b, HX_SFU_T_ROOM, room);
    hx_sfu_put_cstr(&b, HX_SFU_T_PARTICIPANT, who);
    hx_sfu_put_cstr(&b, HX_SFU_T_ROLE, role);
    hx_sfu_put_flags(&b, flags);
    fx_command(f, &b);
}

void fx_close(fx *f, uint64_t id, const char *reason)
{
    uint8_t buf[256];
    hx_sfu_builder b;
    hx_sfu_build(&b, buf, sizeof buf, HX_SFU_TRANSPORT_CLOSE, id);
    hx_sfu_put_cstr(&b, HX_SFU_T_REASON, reason);
    fx_command(f, &b);
}

void fx_remote_sdp(fx *f, uint64_t id, const char *type, const char *sdp, const char *req,
                   const char *revision)
{
    static uint8_t buf[HX_SFU_MSG_MAX];
    hx_sfu_builder b;
    hx_sfu_build(&b, buf, sizeof buf, HX_SFU_REMOTE_SDP, id);
    hx_sfu_put_cstr(&b, HX_SFU_T_SDP_TYPE, type);
    hx_sfu_put_cstr(&b, HX_SFU_T_SDP, sdp);
    if (req) hx_sfu_put_cstr(&b, HX_SFU_T_REQUEST, req);
    if (revision) hx_sfu_put_cstr(&b, HX_SFU_T_REVISION, revision);
    fx_command(f, &b);
}

void fx_track_cmd(fx *f, hx_sfu_kind kind, uint64_t id, const char *track, const char *layer)
{
    uint8_t buf[256];
    hx_sfu_builder b;
    hx_sfu_build(&b, buf, sizeof buf, kind, id);
    hx_sfu_put_cstr(&b, HX_SFU_T_TRACK, track);
    if (layer) hx_sfu_put_cstr(&b, HX_SFU_T_LAYER, layer);
    fx_command(f, &b);
}

void fx_track_flag_cmd(fx *f, hx_sfu_kind kind, uint64_t id, const char *track, bool on,
                       const char *request)
{
    uint8_t buf[256];
    hx_sfu_builder b;
    hx_sfu_build(&b, buf, sizeof buf, kind, id);
    hx_sfu_put_cstr(&b, HX_SFU_T_TRACK, track);
    hx_sfu_put_flags(&b, on ? HX_SFU_F_ON : 0);
    if (request) hx_sfu_put_cstr(&b, HX_SFU_T_REQUEST, request);
    fx_command(f, &b);
}

void fx_size_cmd(fx *f, uint64_t id, const char *track, const char *size)
{
    uint8_t buf[256];
    hx_sfu_builder b;
    hx_sfu_build(&b, buf, sizeof buf, HX_SFU_SET_LAYER, id);
    hx_sfu_put_cstr(&b, HX_SFU_T_TRACK, track);
    hx_sfu_put_cstr(&b, HX_SFU_T_SIZE, size);
    fx_command(f, &b);
}

/* --- events ------------------------------------------------------------------------ */

const hx_sfu_msg *fx_event(const fx *f, uint16_t kind, uint64_t transport, int nth)
{
    const hx_sfu_msg *last = NULL;
    for (int i = 0; i < f->n_ev; i++) {
        if (f->ev[i].kind != kind || f->ev[i].transport != transport) continue;
        if (nth == 0) return &f->ev[i];
        nth--;
        last = &f->ev[i];
    }
    return nth < 0 ? last : NULL;
}

int fx_count(const fx *f, uint16_t kind, uint64_t transport)
{
    int n = 0;
    for (int i = 0; i < f->n_ev; i++)
        n += f->ev[i].kind == kind && f->ev[i].transport == transport;
    return n;
}

void fx_clear_events(fx *f)
{
    for (int i = 0; i < f->n_ev; i++)
        free(f->ev_buf[i]);
    f->n_ev = 0;
}

const char *fx_field(const hx_sfu_msg *m, hx_sfu_tag tag)
{
    static char buf[4][HX_SFU_MSG_MAX + 1];
    static int k;
    char *b = buf[k++ & 3];
    size_t n = m && m->f[tag].p ? m->f[tag].len : 0;
    if (n) memcpy(b, m->f[tag].p, n);
    b[n] = '\0';
    return b;
}

const char *fx_track_id(const fx *f, uint64_t transport, int nth)
{
    const hx_sfu_msg *m = fx_event(f, HX_SFU_EV_TRACK_PUBLISHED, transport, nth);
    return m ? fx_field(m, HX_SFU_T_TRACK) : NULL;
}

/* --- delivery ---------------------------------------------------------------------- */

static bool same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
    return a->ss_family == AF_INET && b->ss_family == AF_INET && x->sin_port == y->sin_port &&
           x->sin_addr.s_addr == y->sin_addr.s_addr;
}

static void peer_rx(fx_peer *p, const fx_out *o)
{
    uint8_t buf[HX_ENGINE_MTU];
    size_t len = o->len;
    memcpy(buf, o->data, len);
    switch (hx_pkt_classify(buf, len)) {
    case HX_PKT_STUN:
        p->stun_in++;
        return;
    case HX_PKT_DTLS:
        p->dtls_in++;
        if (p->dtls) hx_dtls_input(p->dtls, buf, len, (uint64_t)p->f->now);
        return;
    case HX_PKT_RTP:
    case HX_PKT_RTCP:
        break;
    default:
        return;
    }
    bool rtcp = hx_pkt_classify(buf, len) == HX_PKT_RTCP;
    if (!p->srtp_rx || (rtcp ? hx_srtcp_unprotect(p->srtp_rx, buf, &len)
                             : hx_srtp_unprotect(p->srtp_rx, buf, &len)) != 0)
        return;
    if (!p->rx && !(p->rx = malloc(FX_MAX_RX * sizeof *p->rx))) return;
    if (p->n_rx == FX_MAX_RX) {
        memmove(p->rx, p->rx + 1, (FX_MAX_RX - 1) * sizeof *p->rx);
        p->n_rx--;
        p->rx_dropped++;
    }
    fx_rx *r = &p->rx[p->n_rx++];
    r->rtcp = rtcp;
    r->len = len;
    r->at = p->f->now;
    memcpy(r->data, buf, len);
}

void fx_pump(fx *f)
{
    /* Delivering may make the core send more (a DTLS flight answers a flight): loop. */
    for (size_t i = 0; i < f->n_out; i++) {
        fx_out *o = &f->out[i];
        for (int k = 0; k < f->n_peers; k++) {
            fx_peer *p = f->peers[k];
            if (!p->muted_consent && same_addr(&o->to.addr, &p->addr)) {
                peer_rx(p, o);
                break;
            }
        }
    }
    f->n_out = 0;
}

void fx_advance(fx *f, int64_t ms)
{
    int64_t end = f->now + ms;
    for (;;) {
        int64_t next = hx_engine_core_next_deadline(f->core);
        if (next <= f->now) {
            int64_t after = hx_engine_core_timer(f->core, f->now);
            f->timer_runs++;
            fx_pump(f);
            if (after <= f->now) { /* the core promises to move its deadlines past now */
                snprintf(f->err, sizeof f->err, "the timer is due again at once");
                abort();
            }
            continue;
        }
        if (f->now >= end) break;
        f->now = next < end ? next : end;
    }
}

/* --- peers ------------------------------------------------------------------------- */

static void peer_in(fx_peer *p, uint8_t *buf, size_t len)
{
    hx_engine_path from = {
        .proto = HX_PATH_UDP, .addr = p->addr, .addrlen = sizeof(struct sockaddr_in)};
    hx_engine_core_rx(p->f->core, &from, NULL, buf, len, p->f->now);
}

static int dtls_send(void *user, const uint8_t *buf, size_t len)
{
    fx_peer *p = user;
    uint8_t copy[HX_ENGINE_MTU];
    if (len > sizeof copy) return -1;
    memcpy(copy, buf, len);
    peer_in(p, copy, len);
    return 0;
}

static void dtls_connected(void *user, const hx_dtls_srtp_keys *k)
{
    fx_peer *p = user;
    if (hx_srtp_create(&p->srtp_tx, k->profile, k->local_key, k->key_len, k->local_salt,
                       k->salt_len) == 0 &&
        hx_srtp_create(&p->srtp_rx, k->profile, k->remote_key, k->key_len, k->remote_salt,
                       k->salt_len) == 0)
        p->connected = true;
}

static fx_peer *peer_new(fx *f, uint64_t id, bool subscriber)
{
    if (f->n_peers == FX_MAX_PEERS) return NULL;
    fx_peer *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->f = f;
    p->id = id;
    p->subscriber = subscriber;
    struct sockaddr_in *a = (struct sockaddr_in *)&p->addr;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)(5000 + f->n_peers));
    inet_pton(AF_INET, "192.0.2.10", &a->sin_addr); /* TEST-NET-1: never a socket's */
    if (f->have_next_addr) p->addr = f->next_addr;
    snprintf(p->ufrag, sizeof p->ufrag, "fx%02d", f->n_peers);
    snprintf(p->pwd, sizeof p->pwd, "fixturepassword%02dxxxxxxxxx", f->n_peers);
    f->peers[f->n_peers++] = p;
    return p;
}

/* The value of the first "a=<attr>:" line of an SDP. */
static int sdp_attr(const char *sdp, const char *attr, char *out, size_t cap)
{
    char key[64];
    snprintf(key, sizeof key, "a=%s:", attr);
    const char *s = strstr(sdp, key);
    if (!s) return -1;
    s += strlen(key);
    size_t n = strcspn(s, "\r\n");
    if (n >= cap) return -1;
    memcpy(out, s, n);
    out[n] = '\0';
    return 0;
}

/*
 * Rewrite an SDP line by line for the peer: its ICE credentials and fingerprint; for an answer
 * to hearth's offer also recvonly, setup:active, and none of hearth's SSRCs, candidates or lite.
 */
static char *rewrite(const fx_peer *p, const char *sdp, bool answer)
{
    size_t cap = strlen(sdp) + 4096;
    char *out = malloc(cap);
    if (!out) return NULL;
    size_t n = 0;
    for (const char *s = sdp; *s;) {
        size_t len = strcspn(s, "\r\n");
        char line[2048];
        snprintf(line, sizeof line, "%.*s", (int)(len < sizeof line ? len : sizeof line - 1), s);
        s += len;
        while (*s == '\r' || *s == '\n')
            s++;
        if (!strncmp(line, "a=ice-ufrag:", 12))
            snprintf(line, sizeof line, "a=ice-ufrag:%s", p->ufrag);
        else if (!strncmp(line, "a=ice-pwd:", 10))
            snprintf(line, sizeof line, "a=ice-pwd:%s", p->pwd);
        else if (!strncmp(line, "a=fingerprint:", 14))
            snprintf(line, sizeof line, "a=fingerprint:sha-256 %s", p->f->cert.fingerprint);
        else if (answer && !strcmp(line, "a=sendonly"))
            snprintf(line, sizeof line, "a=recvonly");
        else if (answer && !strncmp(line, "a=setup:", 8))
            snprintf(line, sizeof line, "a=setup:active");
        else if (answer && (!strncmp(line, "a=ssrc", 6) || !strncmp(line, "a=msid", 6) ||
                            !strncmp(line, "a=candidate", 11) || !strcmp(line, "a=ice-lite") ||
                            !strcmp(line, "a=end-of-candidates")))
            continue;
        n += (size_t)snprintf(out + n, cap - n, "%s\r\n", line);
        if (n >= cap) {
            free(out);
            return NULL;
        }
    }
    return out;
}

void fx_check(fx_peer *p)
{
    hx_engine_path from = {
        .proto = HX_PATH_UDP, .addr = p->addr, .addrlen = sizeof(struct sockaddr_in)};
    fx_check_from(p, &from, NULL);
}

void fx_check_from(fx_peer *p, const hx_engine_path *from, void **bound)
{
    uint8_t buf[512], tid[12];
    for (int i = 0; i < 12; i++)
        tid[i] = (uint8_t)(p->f->now >> (i % 8) ^ i);
    char user[160];
    snprintf(user, sizeof user, "%s:%s", p->local_ufrag, p->ufrag);
    hx_stun_key k;
    if (hx_stun_key_init(&k, (const uint8_t *)p->local_pwd, strlen(p->local_pwd)) != 0) return;
    hx_stun_writer w;
    hx_stun_writer_init(&w, buf, sizeof buf, HX_STUN_BINDING_REQUEST, tid);
    hx_stun_put(&w, HX_STUN_ATTR_USERNAME, user, strlen(user));
    hx_stun_put_u32(&w, HX_STUN_ATTR_PRIORITY, 0x6e7f1eff);
    hx_stun_put_u64(&w, HX_STUN_ATTR_ICE_CONTROLLING, 0x1122334455667788ull);
    hx_stun_put(&w, HX_STUN_ATTR_USE_CANDIDATE, NULL, 0);
    hx_stun_put_integrity(&w, &k);
    hx_stun_put_fingerprint(&w);
    long n = hx_stun_writer_finish(&w);
    hx_stun_key_clear(&k);
    if (n > 0) hx_engine_core_rx(p->f->core, from, bound, buf, (size_t)n, p->f->now);
    fx_pump(p->f);
}

/* Check, then the DTLS handshake as its client, pumped to the end. */
static int connect_peer(fx_peer *p, const char *hearth_sdp)
{
    fx *f = p->f;
    if (sdp_attr(hearth_sdp, "ice-ufrag", p->local_ufrag, sizeof p->local_ufrag) ||
        sdp_attr(hearth_sdp, "ice-pwd", p->local_pwd, sizeof p->local_pwd)) {
        snprintf(f->err, sizeof f->err, "no ICE credentials in hearth's SDP");
        return -1;
    }
    char fp[160];
    if (sdp_attr(hearth_sdp, "fingerprint", fp, sizeof fp) || strncmp(fp, "sha-256 ", 8)) {
        snprintf(f->err, sizeof f->err, "no fingerprint in hearth's SDP");
        return -1;
    }
    fx_check(p);
    hx_dtls_cbs cbs = {.user = p, .send = dtls_send, .on_connected = dtls_connected};
    if (hx_dtls_new(&p->dtls, f->dtls, HX_DTLS_CLIENT, &cbs) != 0 ||
        hx_dtls_set_remote_fingerprint(p->dtls, "sha-256", fp + 8) != 0 ||
        hx_dtls_start(p->dtls, (uint64_t)f->now) != 0) {
        snprintf(f->err, sizeof f->err, "the peer's DTLS did not start");
        return -1;
    }
    for (int i = 0; i < 20 && !p->connected; i++)
        fx_pump(f);
    if (!p->connected) {
        snprintf(f->err, sizeof f->err, "DTLS did not connect");
        return -1;
    }
    return 0;
}

fx_peer *fx_publisher(fx *f, uint64_t id, const char *room, const char *who, const char *offer)
{
    fx_peer *p = peer_new(f, id, false);
    if (!p) return NULL;
    fx_open(f, id, room, who, "publisher", HX_SFU_F_PUBLISH | f->open_flags);
    char *sdp = rewrite(p, offer, false);
    if (!sdp) return NULL;
    fx_remote_sdp(f, id, "offer", sdp, "pub", NULL);
    free(sdp);
    const hx_sfu_msg *ans = fx_event(f, HX_SFU_EV_LOCAL_SDP, id, -1);
    if (!ans) {
        snprintf(f->err, sizeof f->err, "no answer to the publisher's offer");
        return NULL;
    }
    return connect_peer(p, fx_field(ans, HX_SFU_T_SDP)) == 0 ? p : NULL;
}

int fx_answer(fx_peer *p)
{
    fx *f = p->f;
    const hx_sfu_msg *offer = fx_event(f, HX_SFU_EV_LOCAL_SDP, p->id, -1);
    if (!offer || !hx_sfu_field_is(offer, HX_SFU_T_SDP_TYPE, "offer")) {
        snprintf(f->err, sizeof f->err, "no offer to answer");
        return -1;
    }
    long rev = strtol(fx_field(offer, HX_SFU_T_REVISION), NULL, 10);
    if (rev <= p->revision) {
        snprintf(f->err, sizeof f->err, "the newest offer is answered already");
        return -1;
    }
    char *hearth_sdp = malloc(HX_SFU_MSG_MAX + 1);
    if (!hearth_sdp) return -1;
    snprintf(hearth_sdp, HX_SFU_MSG_MAX + 1, "%s", fx_field(offer, HX_SFU_T_SDP));
    char *sdp = rewrite(p, hearth_sdp, true);
    int rc = -1;
    if (sdp) {
        p->revision = rev;
        char revision[24];
        snprintf(revision, sizeof revision, "%ld", rev);
        fx_remote_sdp(f, p->id, "answer", sdp, "ans", revision);
        rc = p->dtls ? 0 : connect_peer(p, hearth_sdp);
    }
    free(sdp);
    free(hearth_sdp);
    return rc;
}

fx_peer *fx_subscriber(fx *f, uint64_t id, const char *room, const char *who)
{
    fx_peer *p = peer_new(f, id, true);
    if (p) fx_open(f, id, room, who, "subscriber", HX_SFU_F_SUBSCRIBE | f->open_flags);
    return p;
}

static int send_protected(fx_peer *p, const uint8_t *pkt, size_t len, bool rtcp)
{
    uint8_t buf[HX_ENGINE_MTU];
    if (!p->srtp_tx || len + HX_SRTP_MAX_OVERHEAD > sizeof buf) return -1;
    memcpy(buf, pkt, len);
    int rc = rtcp ? hx_srtcp_protect(p->srtp_tx, buf, &len, sizeof buf)
                  : hx_srtp_protect(p->srtp_tx, buf, &len, sizeof buf);
    if (rc != 0) return -1;
    peer_in(p, buf, len);
    fx_pump(p->f);
    return 0;
}

int fx_send_rtp(fx_peer *p, const uint8_t *pkt, size_t len)
{
    return send_protected(p, pkt, len, false);
}

int fx_send_rtcp(fx_peer *p, const uint8_t *pkt, size_t len)
{
    return send_protected(p, pkt, len, true);
}

void fx_rx_clear(fx_peer *p)
{
    p->n_rx = 0;
    p->rx_dropped = 0;
}

uint32_t fx_offer_ssrc(const fx_peer *p, const char *mid, bool rtx)
{
    const hx_sfu_msg *offer = fx_event(p->f, HX_SFU_EV_LOCAL_SDP, p->id, -1);
    if (!offer) return 0;
    const char *sdp = fx_field(offer, HX_SFU_T_SDP);
    char key[32];
    snprintf(key, sizeof key, "a=mid:%s\r\n", mid);
    const char *m = strstr(sdp, key);
    if (!m) return 0;
    const char *next = strstr(m, "\r\nm=");
    /* a=ssrc-group:FID <media> <rtx> names both; without it, the one a=ssrc. */
    const char *g = strstr(m, "a=ssrc-group:FID ");
    unsigned long media = 0, rtx_ssrc = 0;
    if (g && (!next || g < next) && sscanf(g, "a=ssrc-group:FID %lu %lu", &media, &rtx_ssrc) == 2)
        return (uint32_t)(rtx ? rtx_ssrc : media);
    const char *s = strstr(m, "a=ssrc:");
    if (rtx || !s || (next && s > next)) return 0;
    return (uint32_t)strtoul(s + 7, NULL, 10);
}

size_t fx_rtp(uint8_t *buf, uint8_t pt, uint16_t seq, uint32_t ts, uint32_t ssrc, bool marker,
              const uint8_t *payload, size_t plen)
{
    buf[0] = 0x80;
    buf[1] = (uint8_t)((marker ? 0x80 : 0) | (pt & 0x7f));
    buf[2] = (uint8_t)(seq >> 8), buf[3] = (uint8_t)seq;
    buf[4] = (uint8_t)(ts >> 24), buf[5] = (uint8_t)(ts >> 16), buf[6] = (uint8_t)(ts >> 8);
    buf[7] = (uint8_t)ts;
    buf[8] = (uint8_t)(ssrc >> 24), buf[9] = (uint8_t)(ssrc >> 16), buf[10] = (uint8_t)(ssrc >> 8);
    buf[11] = (uint8_t)ssrc;
    if (plen) memcpy(buf + 12, payload, plen);
    return 12 + plen;
}

size_t fx_rtp_ext(uint8_t *buf, uint8_t pt, uint16_t seq, uint32_t ts, uint32_t ssrc, bool marker,
                  const fx_ext *ext, size_t n_ext, const uint8_t *payload, size_t plen)
{
    size_t n = fx_rtp(buf, pt, seq, ts, ssrc, marker, NULL, 0);
    if (!n_ext) {
        memcpy(buf + n, payload, plen);
        return n + plen;
    }
    buf[0] |= 0x10;
    size_t start = n;
    n += 4; /* 0xBEDE, length in words, filled below */
    for (size_t i = 0; i < n_ext; i++) {
        buf[n++] = (uint8_t)(ext[i].id << 4 | (ext[i].len - 1));
        memcpy(buf + n, ext[i].data, ext[i].len);
        n += ext[i].len;
    }
    while ((n - start) % 4)
        buf[n++] = 0;
    size_t words = (n - start - 4) / 4;
    buf[start] = 0xbe, buf[start + 1] = 0xde;
    buf[start + 2] = (uint8_t)(words >> 8), buf[start + 3] = (uint8_t)words;
    memcpy(buf + n, payload, plen);
    return n + plen;
}

fx_ext fx_ext_str(uint8_t id, const char *s)
{
    fx_ext e = {.id = id, .len = (uint8_t)strlen(s)};
    memcpy(e.data, s, e.len);
    return e;
}

size_t fx_rtp_of(const fx_peer *p, uint32_t ssrc, hx_rtp_hdr *hs, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < p->n_rx && n < cap; i++) {
        hx_rtp_hdr h;
        if (p->rx[i].rtcp || hx_rtp_parse(p->rx[i].data, p->rx[i].len, &h) != 0) continue;
        if (h.ssrc == ssrc) hs[n++] = h;
    }
    return n;
}

bool fx_rtcp_next(const fx_peer *p, fx_rtcp_cursor *c, uint8_t pt, int fmt, hx_rtcp_pkt *k)
{
    for (; c->i < p->n_rx; c->i++, c->open = false) {
        if (!p->rx[c->i].rtcp) continue;
        if (!c->open) hx_rtcp_iter_init(&c->it, p->rx[c->i].data, p->rx[c->i].len);
        c->open = true;
        while (hx_rtcp_iter_next(&c->it, k) == 1)
            if (k->pt == pt && (fmt < 0 || k->count == fmt)) return true;
    }
    return false;
}

int fx_rtcp_count(const fx_peer *p, uint8_t pt, int fmt)
{
    fx_rtcp_cursor c = {0};
    hx_rtcp_pkt k;
    int n = 0;
    while (fx_rtcp_next(p, &c, pt, fmt, &k))
        n++;
    return n;
}

const char *fx_sdp_fixture(const char *root, const char *name)
{
    static char text[70000];
    char path[512];
    snprintf(path, sizeof path, "%s/tests/sdp/fixtures/%s", root, name);
    FILE *fp = fopen(path, "rb");
    if (!fp) return NULL;
    size_t n = fread(text, 1, sizeof text - 1, fp);
    fclose(fp);
    text[n] = '\0';
    return text;
}

const char *fx_sdp_vp9_offer(const char *root)
{
    static const char from[] =
        "SAVPF 96 97 102 103 104 107 108 109 114 115 116 117 39 40 45 46 98 99 ";
    static const char to[] =
        "SAVPF 98 99 96 97 102 103 104 107 108 109 114 115 116 117 39 40 45 46 ";
    char *text = (char *)fx_sdp_fixture(root, "chromium_pub.sdp");
    char *at = text ? strstr(text, from) : NULL;
    if (!at) return NULL;
    memcpy(at, to, sizeof to - 1); /* the same payload types, VP9 and its RTX first */
    return text;
}

const char *fx_sdp_av1_offer(const char *root)
{
    static const char from[] =
        "SAVPF 96 97 102 103 104 107 108 109 114 115 116 117 39 40 45 46 ";
    static const char to[] = "SAVPF 45 46 96 97 102 103 104 107 108 109 114 115 116 117 39 40 ";
    static const char after[] = "a=extmap:11 urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id\r\n";
    static const char dd[] = "a=extmap:" FX_DD_ID_STR " " HX_SDP_EXT_DD_URI "\r\n";
    static char out[65536];
    char *text = (char *)fx_sdp_fixture(root, "chromium_pub.sdp");
    char *at = text ? strstr(text, from) : NULL;
    if (!at) return NULL;
    memcpy(at, to, sizeof to - 1); /* the same payload types, AV1 and its RTX first */
    char *ext = strstr(text, after);
    if (!ext || strlen(text) + sizeof dd >= sizeof out) return NULL;
    size_t head = (size_t)(ext - text) + sizeof after - 1;
    memcpy(out, text, head); /* Chromium offers the dependency descriptor with AV1 */
    memcpy(out + head, dd, sizeof dd - 1);
    strcpy(out + head + sizeof dd - 1, text + head);
    return out;
}

const uint8_t *fx_rtp_data_of(const fx_peer *p, uint32_t ssrc, size_t nth, size_t *len)
{
    for (size_t i = 0; i < p->n_rx; i++) {
        hx_rtp_hdr h;
        if (p->rx[i].rtcp || hx_rtp_parse(p->rx[i].data, p->rx[i].len, &h) != 0) continue;
        if (h.ssrc == ssrc && nth-- == 0) {
            *len = p->rx[i].len;
            return p->rx[i].data;
        }
    }
    return NULL;
}
