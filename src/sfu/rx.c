/*
 * The receive path's first step and the send path's one decision.
 *
 * Receive: a UDP datagram goes through the ICE demux, which answers STUN
 * checks (back on the path the check came from) and names the transport for
 * everything else by its remote address. A frame on an ICE-TCP connection
 * (RFC 6544) goes to the transport its first valid check bound the
 * connection to; a STUN frame is answered by the agent its USERNAME's ufrag
 * names. Then by first byte (RFC 7983): DTLS to the transport's DTLS, RTP
 * and RTCP to the SRTP path. Anything else, or a packet from an address no
 * check validated, is dropped. What SRTP, SRTCP or DTLS authenticated counts
 * as consent on either carrier (ice.h).
 *
 * Send: a transport's path (UDP to an address, or its ICE-TCP connection) is
 * decided by hx__path_update whenever ICE can have changed it, and every
 * packet to the transport goes there, through the carrier's io.
 */
#include "sfu/engine_internal.h"

#include "rtp/demux.h"
#include "sfu/relay.h"
#include "stun/stun.h"

#include <string.h>

bool hx__addr_equal(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family) return false;
    if (a->ss_family == AF_INET) {
        const struct sockaddr_in *x = (const struct sockaddr_in *)a,
                                 *y = (const struct sockaddr_in *)b;
        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)a,
                              *y = (const struct sockaddr_in6 *)b;
    return x->sin6_port == y->sin6_port &&
           !memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr);
}

static socklen_t addr_len(const struct sockaddr_storage *a)
{
    return a->ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
}

void hx__path_update(hx__transport *t)
{
    const hx_ice_addr *sel = hx_ice_agent_selected(&t->ice);
    /* Checked but not yet nominated: the peer may start DTLS (and so media) before it nominates. */
    if (!sel && t->ice.n_pairs) sel = &t->ice.pairs[t->ice.n_pairs - 1].addr;
    hx_engine_path *p = &t->path;
    struct sockaddr_storage ss;
    const struct sockaddr_storage *to = sel && hx_ice_addr_storage(sel, &ss) ? &ss : NULL;
    if (!to) {
        p->proto = HX_PATH_NONE;
        p->conn = NULL;
        return;
    }
    bool tcp = t->tcp_conn && hx__addr_equal(to, &t->tcp_peer);
    p->proto = tcp ? HX_PATH_TCP : HX_PATH_UDP;
    p->conn = tcp ? t->tcp_conn : NULL;
    p->addr = *to;
    p->addrlen = addr_len(to);
}

int hx__send_copy(hx__engine *e, const hx_engine_path *to, const uint8_t *buf, size_t len)
{
    if (to->proto == HX_PATH_NONE || len > HX_ENGINE_MTU) return -1;
    uint8_t *out = e->io.slot(e->io.ctx);
    memcpy(out, buf, len);
    e->io.commit(e->io.ctx, to, len);
    return 0;
}

int hx__transport_send(hx__transport *t, const uint8_t *buf, size_t len)
{
    return hx__send_copy(t->e, &t->path, buf, len);
}

/* DTLS, RTP or RTCP from a transport's peer. */
static void media(hx__transport *t, const struct sockaddr_storage *from, uint8_t *pkt, size_t len)
{
    /* Every transport has a packet-rate ceiling: a flood costs it its own packets, nobody else's. */
    if (!hx_bucket_take(&t->rx_bucket, t->e->now_ms)) {
        t->rx_limited++;
        return;
    }
    uint64_t authenticated = t->packets_in + t->rtcp_in + t->dtls_records_in;
    bool dtls = false;
    switch (hx_pkt_classify(pkt, len)) {
    case HX_PKT_DTLS:
        hx__transport_rx_dtls(t, pkt, len);
        dtls = true;
        break;
    case HX_PKT_RTP:
        hx__rx_rtp(t, pkt, len);
        break;
    case HX_PKT_RTCP:
        hx__rx_rtcp(t, pkt, len);
        break;
    default:
        break;
    }
    if (dtls) { /* a handshake step (its timer, connected), data channel traffic */
        hx__rearm(t);
        hx__sctp_touched(t->e);
    }
    if (t->packets_in + t->rtcp_in + t->dtls_records_in == authenticated) return;
    hx_ice_agent_media_seen(&t->ice, from, t->e->now_ms);
    uint32_t ev = hx_ice_agent_take_events(&t->ice); /* consent back through media */
    if (ev) {
        hx__path_update(t);
        hx__transport_ice_events(t, ev);
    }
    hx__arm(t, t->last_stats_ms + 2000); /* its counters moved */
}

/* A check passed: the path may have moved, and consent may be back ("connected" again). */
static void checked(hx__transport *t)
{
    hx__path_update(t);
    hx__transport_ice_events(t, hx_ice_agent_take_events(&t->ice));
    hx__milestones(t);
    int64_t ice = hx_ice_agent_next_deadline(&t->ice); /* a first pair: its consent */
    hx__arm(t, ice < t->e->now_ms ? t->e->now_ms : ice);
}

static void rx_udp(hx__engine *e, const hx_engine_path *from, uint8_t *pkt, size_t len)
{
    uint8_t out[1024];
    size_t olen = 0;
    hx_ice_agent *a = NULL;
    int rc = hx_ice_demux_input(&e->demux, pkt, len, &from->addr, e->now_ms, out, sizeof out, &olen,
                                &a);
    if ((rc == HX_ICE_RX_VALID || rc == HX_ICE_RX_ERROR) && olen) hx__send_copy(e, from, out, olen);
    if (!a || !a->user) return;
    hx__transport *t = a->user;
    if (rc == HX_ICE_RX_VALID) {
        if (!hx_bucket_take(&t->rx_bucket, e->now_ms))
            t->rx_limited++;
        else
            checked(t);
        return;
    }
    if (rc == HX_ICE_RX_MEDIA) media(t, &from->addr, pkt, len);
}

/* A STUN frame on a connection: the agent named by USERNAME answers it; a valid check binds. */
static void rx_tcp_stun(hx__engine *e, const hx_engine_path *from, void **bound,
                        const uint8_t *f, size_t len)
{
    hx_stun_msg m;
    const uint8_t *user;
    size_t ulen;
    if (hx_stun_parse(&m, f, len) != 0 ||
        hx_stun_get_bytes(&m, HX_STUN_ATTR_USERNAME, &user, &ulen) != 0)
        return;
    const uint8_t *colon = memchr(user, ':', ulen);
    hx_ice_agent *a = hx_ice_demux_by_ufrag(&e->demux, user, colon ? (size_t)(colon - user) : ulen);
    if (!a || !a->user || (*bound && a->user != *bound)) return;
    uint8_t out[1024];
    size_t olen = 0;
    int rc = hx_ice_agent_on_msg(a, &m, &from->addr, e->now_ms, out, sizeof out, &olen);
    if ((rc == HX_ICE_RX_VALID || rc == HX_ICE_RX_ERROR) && olen) hx__send_copy(e, from, out, olen);
    if (rc != HX_ICE_RX_VALID) return;
    hx__transport *t = a->user;
    *bound = t;
    t->tcp_bound = true;
    /* Send on this connection while the selected pair (or, before nomination, the last checked
     * one) is it. */
    const hx_ice_addr *sel = hx_ice_agent_selected(a);
    struct sockaddr_storage ss;
    if (!sel || (hx_ice_addr_storage(sel, &ss) && hx__addr_equal(&ss, &from->addr))) {
        t->tcp_conn = from->conn;
        t->tcp_peer = from->addr;
    }
    checked(t);
}

void hx_engine_core_rx(hx_engine_core *e, const hx_engine_path *from, void **bound, uint8_t *pkt,
                       size_t len, int64_t now_ms)
{
    e->now_ms = now_ms;
    if (from->proto == HX_PATH_UDP && len && pkt[0] == HX_RELAY_BYTE) {
        hx__relay_rx(e, from, pkt, len); /* another worker's (relay.c) */
        return;
    }
    if (from->proto == HX_PATH_UDP) {
        rx_udp(e, from, pkt, len);
        return;
    }
    if (from->proto != HX_PATH_TCP || !bound) return;
    if (hx_stun_is(pkt, len)) {
        rx_tcp_stun(e, from, bound, pkt, len);
        return;
    }
    if (*bound) media(*bound, &from->addr, pkt, len); /* before a valid check: dropped */
}

void hx_engine_core_conn_closed(hx_engine_core *e, void *conn, void *bound, int64_t now_ms)
{
    e->now_ms = now_ms;
    hx__transport *t = bound;
    if (!t || t->tcp_conn != conn) return;
    t->tcp_conn = NULL;
    hx__path_update(t);
}
