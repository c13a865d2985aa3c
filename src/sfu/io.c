/*
 * The receive path's first step: every datagram from the worker's socket
 * goes through the ICE demux, which answers STUN checks (the response is
 * queued on the socket at once) and names the transport for everything
 * else by its remote address. Then by first byte (RFC 7983): DTLS to the
 * transport's DTLS, RTP and RTCP to the SRTP path. Anything else, or a
 * packet from an address no check validated, is dropped and counted.
 */
#include "sfu/engine_internal.h"

#include "rtp/demux.h"

#include <string.h>

static socklen_t addr_len(const struct sockaddr_storage *a)
{
    return a->ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
}

void hx__engine_rx(hx__engine *e, hx_udp_pkt *p)
{
    uint8_t out[1024];
    size_t olen = 0;
    hx_ice_agent *a = NULL;
    int rc = hx_ice_demux_input(&e->demux, p->data, p->len, &p->from, e->now_ms, out, sizeof out,
                                &olen, &a);
    if ((rc == HX_ICE_RX_VALID || rc == HX_ICE_RX_ERROR) && olen)
        hx_udp_send(e->udp, out, olen, (const struct sockaddr *)&p->from, addr_len(&p->from));
    if (!a || !a->user) return;
    hx__transport *t = a->user;
    /* Every transport has a packet-rate ceiling: a flood costs it its own packets, nobody else's.
     */
    if (!hx_bucket_take(&t->rx_bucket, e->now_ms)) {
        t->rx_limited++;
        return;
    }
    if (rc == HX_ICE_RX_VALID) {
        hx_ice_agent_take_events(&t->ice); /* state is reported from the tick */
        return;
    }
    if (rc != HX_ICE_RX_MEDIA) return;
    /* Each counts only what SRTP, SRTCP or DTLS authenticated: consent (ice.h). */
    uint64_t authenticated = t->packets_in + t->rtcp_in + t->dtls_records_in;
    switch (hx_pkt_classify(p->data, p->len)) {
    case HX_PKT_DTLS:
        hx__transport_rx_dtls(t, p->data, p->len);
        break;
    case HX_PKT_RTP:
        hx__rx_rtp(t, p->data, p->len);
        break;
    case HX_PKT_RTCP:
        hx__rx_rtcp(t, p->data, p->len);
        break;
    default:
        break;
    }
    if (t->packets_in + t->rtcp_in + t->dtls_records_in != authenticated)
        hx_ice_agent_media_seen(a, &p->from, e->now_ms);
}

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

hx__tcpconn *hx__transport_tcp(const hx__transport *t)
{
    if (!t->tcp) return NULL;
    const struct sockaddr_storage *to = hx__transport_dest(t);
    return to && hx__addr_equal(to, hx__tcp_peer(t->tcp)) ? t->tcp : NULL;
}

const struct sockaddr_storage *hx__transport_dest(const hx__transport *t)
{
    const struct sockaddr_storage *to = hx_ice_agent_selected(&t->ice);
    /* Checked but not yet nominated: the peer may start DTLS (and so media) before it nominates. */
    if (!to && t->ice.n_pairs) to = &t->ice.pairs[t->ice.n_pairs - 1].addr;
    return to;
}

int hx__transport_send(hx__transport *t, const uint8_t *buf, size_t len)
{
    hx__tcpconn *tc = hx__transport_tcp(t);
    if (tc) return hx__tcp_send(tc, buf, len);
    const struct sockaddr_storage *to = hx__transport_dest(t);
    if (!to) return -1;
    return hx_udp_send(t->e->udp, buf, len, (const struct sockaddr *)to, addr_len(to));
}
