/*
 * One SCTP association over AF_CONN, as a WebRTC peer runs it (RFC 8831 §6):
 *
 *   - the AF_CONN address is the association pointer: registered with
 *     usrsctp, bound to, and connected to (usrsctp routes output by the
 *     address a socket is bound/connected to; with any other pointer the
 *     association never comes up, silently);
 *   - both sides connect: browsers do a simultaneous open, which SCTP
 *     resolves (RFC 4960 §5.2.1);
 *   - a non-blocking one-to-one socket with a receive callback: usrsctp
 *     hands each message (or, under partial delivery, each piece) to
 *     receive_cb, which owns and must free() the buffer;
 *   - stream reset enabled (channel close, §6.7), PR-SCTP on (it is the
 *     default), I-DATA (RFC 8260) offered with fragment interleave level 2
 *     so a large message on one stream does not block the others, as
 *     Firefox does; SCTP_NODELAY; fixed path MTU with PMTU discovery off,
 *     since DTLS sits underneath;
 *   - SO_SNDBUF is the bounded outbound buffer; SO_LINGER 0 so close aborts
 *     at once and nothing refers to the association after destroy.
 *
 * Notifications (MSG_NOTIFICATION) are handled here; data goes to channel.c.
 */
#include "sctp/sctp_internal.h"

#include "common/clock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#ifndef SCTP_INTERLEAVING_SUPPORTED /* in usrsctp's netinet/sctp.h, not usrsctp.h */
#define SCTP_INTERLEAVING_SUPPORTED 0x00001206
#endif

#define DEFAULT_MTU 1200
#define MIN_STREAMS 16

void hx__assoc_emit(hx_sctp_assoc *a, const hx_sctp_event *ev)
{
    if (a->cfg.on_event) a->cfg.on_event(a->cfg.ud, a, ev);
}

static int64_t default_now(void *ud)
{
    (void)ud;
    return hx_mono_ms();
}

int64_t hx__assoc_now(hx_sctp_assoc *a)
{
    return a->cfg.now_ms(a->cfg.ud);
}

int64_t hx__assoc_active(hx_sctp_assoc *a, bool in)
{
    int64_t now = hx__assoc_now(a);
    if (in)
        a->stack->last_in_ms = now;
    else
        a->stack->last_out_ms = now;
    return now;
}

/* Whether the handshake's timers (INIT, COOKIE-ECHO retransmits) may be running. */
static void set_connecting(hx_sctp_assoc *a, bool on)
{
    if (a->connecting == on) return;
    a->connecting = on;
    if (on)
        a->stack->n_connecting++;
    else
        a->stack->n_connecting--;
}

static void on_assoc_change(hx_sctp_assoc *a, const struct sctp_assoc_change *ac)
{
    hx_sctp_event ev = {0};
    switch (ac->sac_state) {
    case SCTP_COMM_UP:
    case SCTP_RESTART:
        set_connecting(a, false);
        a->n_out = ac->sac_outbound_streams;
        a->n_in = ac->sac_inbound_streams;
        if (a->up) return;
        a->up = true;
        ev.type = HX_SCTP_EV_UP;
        hx__assoc_emit(a, &ev);
        break;
    case SCTP_COMM_LOST:
    case SCTP_SHUTDOWN_COMP:
    case SCTP_CANT_STR_ASSOC:
        set_connecting(a, false);
        if (!a->up && ac->sac_state != SCTP_CANT_STR_ASSOC) return;
        hx__chan_close_all(a);
        a->up = false;
        ev.type = HX_SCTP_EV_DOWN;
        ev.reason = ac->sac_state == SCTP_SHUTDOWN_COMP ? 0 : HX_SCTP_ESTACK;
        hx__assoc_emit(a, &ev);
        break;
    default:
        break;
    }
}

static void on_stream_reset(hx_sctp_assoc *a, const struct sctp_stream_reset_event *e, size_t len)
{
    if (len < sizeof *e || e->strreset_length > len) return;
    size_t n = (e->strreset_length - sizeof *e) / sizeof(uint16_t);
    if (e->strreset_flags & (SCTP_STREAM_RESET_DENIED | SCTP_STREAM_RESET_FAILED)) {
        /* Ask again later for the outgoing ones; incoming failures are the peer's. */
        if (e->strreset_flags & SCTP_STREAM_RESET_OUTGOING_SSN) {
            for (size_t i = 0; i < n; i++) {
                uint16_t sid = e->strreset_stream_list[i];
                if (sid < a->cfg.streams && a->chans[sid].state == HX__CHAN_CLOSING) {
                    a->chans[sid].reset_pending = true;
                    a->resets_pending = true;
                }
            }
        }
        return;
    }
    if (e->strreset_flags & SCTP_STREAM_RESET_INCOMING_SSN)
        hx__chan_stream_reset(a, e->strreset_stream_list, n, true);
    if (e->strreset_flags & SCTP_STREAM_RESET_OUTGOING_SSN)
        hx__chan_stream_reset(a, e->strreset_stream_list, n, false);
}

static void on_notification(hx_sctp_assoc *a, const union sctp_notification *n, size_t len)
{
    if (len < sizeof n->sn_header || n->sn_header.sn_length > len) return;
    switch (n->sn_header.sn_type) {
    case SCTP_ASSOC_CHANGE:
        if (len >= sizeof n->sn_assoc_change) on_assoc_change(a, &n->sn_assoc_change);
        break;
    case SCTP_STREAM_RESET_EVENT:
        on_stream_reset(a, &n->sn_strreset_event, len);
        break;
    case SCTP_PARTIAL_DELIVERY_EVENT:
        if (len >= sizeof n->sn_pdapi_event) {
            uint32_t sid = n->sn_pdapi_event.pdapi_stream;
            if (sid < a->cfg.streams) { /* aborted: drop what was collected */
                a->chans[sid].rx_len = 0;
                a->chans[sid].rx_dropping = false;
            }
        }
        break;
    default:
        break;
    }
    hx__chan_flush_resets(a);
}

static int receive_cb(struct socket *sock, union sctp_sockstore addr, void *data, size_t len,
                      struct sctp_rcvinfo rcv, int flags, void *ulp_info)
{
    (void)addr;
    hx_sctp_assoc *a = ulp_info;
    if (!a) usrsctp_get_ulpinfo(sock, (void **)&a);
    if (!data) {
        /* NULL data: the socket was shut down or the association aborted. */
        return 1;
    }
    if (a) {
        if (flags & MSG_NOTIFICATION)
            on_notification(a, data, len);
        else
            hx__chan_receive(a, rcv.rcv_sid, ntohl(rcv.rcv_ppid), data, len, flags & MSG_EOR);
    }
    free(data);
    return 1;
}

static int send_cb(struct socket *sock, uint32_t sb_free, void *ulp_info)
{
    (void)sock;
    (void)sb_free;
    hx_sctp_assoc *a = ulp_info;
    if (a && a->blocked) {
        a->blocked = false;
        hx_sctp_event ev = {.type = HX_SCTP_EV_WRITABLE};
        hx__assoc_emit(a, &ev);
    }
    return 1;
}

static int fill_defaults(hx_sctp_config *c)
{
    if (!c->send) return HX_SCTP_EINVAL;
    if (!c->local_port) c->local_port = HX_SCTP_PORT;
    if (!c->remote_port) c->remote_port = HX_SCTP_PORT;
    if (!c->max_message_size) c->max_message_size = HX_SCTP_DEFAULT_MAX_MESSAGE;
    if (!c->remote_max_message_size) c->remote_max_message_size = HX_SCTP_DEFAULT_MAX_MESSAGE;
    if (!c->send_buffer) c->send_buffer = 4 * c->remote_max_message_size;
    if (!c->streams) c->streams = HX_SCTP_DEFAULT_STREAMS;
    if (!c->mtu) c->mtu = DEFAULT_MTU;
    if (!c->now_ms) c->now_ms = default_now;
    if (c->rx_rate > 0 && c->rx_burst <= 0) c->rx_burst = 2 * c->rx_rate;
    if (c->send_buffer < c->remote_max_message_size || c->streams < MIN_STREAMS ||
        c->send_buffer > INT32_MAX || c->max_message_size > INT32_MAX || c->mtu < 576)
        return HX_SCTP_EINVAL;
    return HX_SCTP_OK;
}

static int setopt(hx_sctp_assoc *a, int level, int name, const void *v, socklen_t len)
{
    return usrsctp_setsockopt(a->sock, level, name, v, len) == 0 ? 0 : HX_SCTP_ESTACK;
}

static int configure_socket(hx_sctp_assoc *a)
{
    int on = 1, two = 2;
    int sndbuf = (int)a->cfg.send_buffer;
    /* Room for a whole message plus some: partial delivery handles the rest. */
    int rcvbuf =
        (int)(a->cfg.max_message_size < 256 * 1024 ? 1024 * 1024 : 4 * a->cfg.max_message_size);
    struct linger lin = {.l_onoff = 1, .l_linger = 0};
    struct sctp_assoc_value reset = {.assoc_id = SCTP_ALL_ASSOC,
                                     .assoc_value = SCTP_ENABLE_RESET_STREAM_REQ};
    struct sctp_initmsg init = {.sinit_num_ostreams = a->cfg.streams,
                                .sinit_max_instreams = a->cfg.streams};
    struct sctp_paddrparams pp = {.spp_pathmtu = a->cfg.mtu, .spp_flags = SPP_PMTUD_DISABLE};
    struct sctp_assoc_value ndata = {.assoc_id = SCTP_FUTURE_ASSOC, .assoc_value = 1};
    static const uint16_t events[] = {SCTP_ASSOC_CHANGE, SCTP_STREAM_RESET_EVENT,
                                      SCTP_PARTIAL_DELIVERY_EVENT, SCTP_SEND_FAILED_EVENT,
                                      SCTP_STREAM_CHANGE_EVENT};
    int rc = 0;
    rc |= usrsctp_set_non_blocking(a->sock, 1) == 0 ? 0 : HX_SCTP_ESTACK;
    rc |= setopt(a, SOL_SOCKET, SO_LINGER, &lin, sizeof lin);
    rc |= setopt(a, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
    rc |= setopt(a, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    rc |= setopt(a, IPPROTO_SCTP, SCTP_NODELAY, &on, sizeof on);
    rc |= setopt(a, IPPROTO_SCTP, SCTP_ENABLE_STREAM_RESET, &reset, sizeof reset);
    rc |= setopt(a, IPPROTO_SCTP, SCTP_INITMSG, &init, sizeof init);
    rc |= setopt(a, IPPROTO_SCTP, SCTP_PEER_ADDR_PARAMS, &pp, sizeof pp);
    rc |= setopt(a, IPPROTO_SCTP, SCTP_FRAGMENT_INTERLEAVE, &two, sizeof two);
    rc |= setopt(a, IPPROTO_SCTP, SCTP_INTERLEAVING_SUPPORTED, &ndata, sizeof ndata);
    for (size_t i = 0; i < sizeof events / sizeof events[0]; i++) {
        struct sctp_event ev = {.se_assoc_id = SCTP_ALL_ASSOC, .se_type = events[i], .se_on = 1};
        rc |= setopt(a, IPPROTO_SCTP, SCTP_EVENT, &ev, sizeof ev);
    }
    return rc ? HX_SCTP_ESTACK : HX_SCTP_OK;
}

static struct sockaddr_conn conn_addr(hx_sctp_assoc *a, uint16_t port)
{
    struct sockaddr_conn sc = {.sconn_family = AF_CONN, .sconn_port = htons(port), .sconn_addr = a};
#ifdef HAVE_SCONN_LEN
    sc.sconn_len = sizeof sc;
#endif
    return sc;
}

int hx_sctp_assoc_create(hx_sctp_stack *s, const hx_sctp_config *cfg, hx_sctp_assoc **out)
{
    *out = NULL;
    hx_sctp_assoc *a = calloc(1, sizeof *a);
    if (!a) return HX_SCTP_ENOMEM;
    a->stack = s;
    a->cfg = *cfg;
    s->n_assocs++;
    int rc = fill_defaults(&a->cfg);
    if (rc) goto fail;
    rc = HX_SCTP_ENOMEM;
    a->chans = calloc(a->cfg.streams, sizeof *a->chans);
    if (!a->chans) goto fail;
    if (a->cfg.rx_rate > 0)
        hx_bucket_init(&a->bucket, a->cfg.rx_rate, a->cfg.rx_burst, hx__assoc_now(a));
    usrsctp_register_address(a);
    a->registered = true;
    rc = HX_SCTP_ESTACK;
    a->sock = usrsctp_socket(AF_CONN, SOCK_STREAM, IPPROTO_SCTP, receive_cb, send_cb,
                             (uint32_t)(a->cfg.send_buffer / 2), a);
    if (!a->sock) goto fail;
    rc = configure_socket(a);
    if (rc) goto fail;
    struct sockaddr_conn local = conn_addr(a, a->cfg.local_port);
    rc = HX_SCTP_ESTACK;
    if (usrsctp_bind(a->sock, (struct sockaddr *)&local, sizeof local) != 0) goto fail;
    *out = a;
    return HX_SCTP_OK;
fail:
    hx_sctp_assoc_destroy(a);
    return rc;
}

int hx_sctp_assoc_connect(hx_sctp_assoc *a)
{
    struct sockaddr_conn remote = conn_addr(a, a->cfg.remote_port);
    hx__stack_catch_up(a->stack, hx__assoc_now(a));
    if (usrsctp_connect(a->sock, (struct sockaddr *)&remote, sizeof remote) != 0 &&
        errno != EINPROGRESS)
        return HX_SCTP_ESTACK;
    set_connecting(a, !a->up);
    return HX_SCTP_OK;
}

int hx_sctp_assoc_input(hx_sctp_assoc *a, const uint8_t *buf, size_t len)
{
    if (!len || len > HX_SCTP_MAX_PACKET) return HX_SCTP_EINVAL;
    hx__stack_catch_up(a->stack, hx__assoc_active(a, true));
    usrsctp_conninput(a, buf, len, 0);
    hx__chan_flush_resets(a);
    return HX_SCTP_OK;
}

int hx_sctp_assoc_shutdown(hx_sctp_assoc *a)
{
    if (!a->up) return HX_SCTP_ENOTUP;
    return usrsctp_shutdown(a->sock, SHUT_WR) == 0 ? HX_SCTP_OK : HX_SCTP_ESTACK;
}

void hx_sctp_assoc_destroy(hx_sctp_assoc *a)
{
    if (!a) return;
    if (a->sock) {
        /* Events from the abort would reach an owner that is tearing down. */
        a->cfg.on_event = NULL;
        usrsctp_close(a->sock);
    }
    if (a->registered) usrsctp_deregister_address(a);
    if (a->chans) {
        for (unsigned i = 0; i < a->cfg.streams; i++)
            free(a->chans[i].rx_buf);
        free(a->chans);
    }
    set_connecting(a, false);
    a->stack->n_assocs--;
    free(a);
}

bool hx_sctp_assoc_is_up(const hx_sctp_assoc *a)
{
    return a->up;
}

const hx_sctp_stats *hx_sctp_assoc_stats(const hx_sctp_assoc *a)
{
    return &a->stats;
}
