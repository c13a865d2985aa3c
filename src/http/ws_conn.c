/*
 * The WebSocket transport under a signaling session. Upgrades are accepted
 * only on /v1/signal (lws picks protocols by subprotocol, not path, so the
 * path is enforced here); `?v=` names the protocol version. A message that
 * arrives whole (lws delivers up to 2 KiB at once: all but SDP) goes
 * to the session straight from lws' buffer; a longer one is reassembled up
 * to max_message_bytes in a buffer that lives only until it is complete, so
 * an idle connection holds none; beyond the limit the session is told and
 * the rest of the message is discarded. Outbound messages wait in a
 * per-connection queue capped at 1 MiB (a client that stops reading is
 * disconnected instead of growing it) and go out one per WRITEABLE; a message to a
 * connection with nothing waiting is written at once (write_now).
 *
 * The protocol is text (JSON): a binary frame closes the connection with
 * 1003 (RFC 6455 §7.4.1, "a type of data it cannot accept") and a reason.
 * An unmasked client frame is NOT failed with 1002 as §5.1 requires:
 * libwebsockets 4.1.6 takes it like a masked one and exposes no mask bit
 * (tests/integration/test_edge_limits.py records this; docs/connectivity.md).
 */
#include "http/conn.h"
#include "http/http_internal.h"

#include "common/clock.h"
#include "core/slo.h"

#include <stdlib.h>
#include <string.h>

#define MAX_QUEUED (1u << 20)

/* A message to a connection with nothing waiting goes out at once when the socket can take
 * it: true when written. A write that fails (the peer is gone) queues the message as before:
 * the connection's end is then lws' to find and report, so a dropped client stays resumable
 * (a failed send would end its session as one that does not read). Requesting a WRITEABLE callback
 * for it instead cost two epoll_ctl calls and a loop turn per message, per recipient: most of
 * the signaling thread in a big room, where every member gets the room's events. lws copies
 * what a partial write leaves (a "truncated send") and reports the pipe choked until it is
 * out, so nothing overtakes it; after that, or with anything queued, messages wait their turn. */
static bool write_now(hx_conn *c, const char *text, size_t len)
{
    if (c->head || c->close_pending || len > HX__WS_DIRECT_MAX) return false;
    hx_http *h = hx__http_of(c->wsi);
    if (!h->direct && !(h->direct = malloc(LWS_PRE + HX__WS_DIRECT_MAX))) return false;
    if (lws_send_pipe_choked(c->wsi)) return false;
    memcpy(h->direct + LWS_PRE, text, len);
    return lws_write(c->wsi, h->direct + LWS_PRE, len, LWS_WRITE_TEXT) >= 0;
}

static int io_send(void *ctx, const char *text, size_t len)
{
    hx_conn *c = ctx;
    if (write_now(c, text, len)) return 0;
    if (c->queued + len > MAX_QUEUED) return -1;
    hx_outmsg *m = malloc(sizeof *m + LWS_PRE + len);
    if (!m) return -1;
    m->next = NULL;
    m->len = len;
    memcpy(m->buf + LWS_PRE, text, len);
    if (c->tail)
        c->tail->next = m;
    else
        c->head = m;
    c->tail = m;
    c->queued += len;
    lws_callback_on_writable(c->wsi);
    return 0;
}

static void io_close(void *ctx, int code, const char *reason)
{
    hx_conn *c = ctx;
    if (c->close_pending) return;
    c->close_pending = true;
    c->close_code = code;
    snprintf(c->close_reason, sizeof c->close_reason, "%s", reason ? reason : "");
    lws_callback_on_writable(c->wsi);
}

static void io_ping(void *ctx)
{
    hx_conn *c = ctx;
    c->ping_pending = true;
    lws_callback_on_writable(c->wsi);
}

/* A resume moves this connection to the session it resumes (signal/resume.c). */
static void io_adopt(void *ctx, hx_session *s)
{
    hx_conn *c = ctx;
    c->session = s;
}

static const hx_sig_io lws_io = {io_send, io_close, io_ping, io_adopt};

static int filter(hx_conn *c, struct lws *wsi)
{
    char path[64], v[16];
    int n = lws_hdr_copy(wsi, path, sizeof path, WSI_TOKEN_GET_URI);
    if (n <= 0 || strcmp(path, "/v1/signal") != 0) return -1; /* refuse the upgrade */
    hx__request_addr(hx__http_of(wsi), wsi, c->addr, sizeof c->addr);
    c->version = 0;
    if (lws_get_urlarg_by_name(wsi, "v=", v, sizeof v)) {
        const char *val = v + 2; /* the buffer holds "v=N" */
        char *end;
        long x = strtol(val, &end, 10);
        c->version = (*val && !*end && x > 0 && x < 1000) ? (int)x : -1;
    }
    return 0;
}

static void on_receive(hx_conn *c, struct lws *wsi, const void *in, size_t len)
{
    size_t max = c->srv->cfg.max_message_bytes;
    bool last = lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi);
    if (last && c->rx_len == 0 && !c->rx_discard && len <= max) {
        hx_session_message(c->session, in, len); /* whole: no copy */
        return;
    }
    if (!c->rx_discard) {
        if (c->rx_len + len > max) {
            c->rx_discard = true;
            c->rx_len = 0;
            hx_session_too_large(c->session);
        } else {
            if (c->rx_len + len > c->rx_cap) { /* grow by doubling, up to the limit */
                size_t cap = c->rx_cap ? c->rx_cap : 4096;
                while (cap < c->rx_len + len)
                    cap *= 2;
                if (cap > max) cap = max;
                char *nb = realloc(c->rx, cap);
                if (!nb) return;
                c->rx = nb;
                c->rx_cap = cap;
            }
            memcpy(c->rx + c->rx_len, in, len);
            c->rx_len += len;
        }
    }
    if (!last) return;
    if (!c->rx_discard) hx_session_message(c->session, c->rx, c->rx_len);
    c->rx_len = 0;
    c->rx_discard = false;
    free(c->rx); /* not kept for an idle connection */
    c->rx = NULL;
    c->rx_cap = 0;
}

static int on_writeable(hx_conn *c, struct lws *wsi)
{
    if (c->ping_pending && !c->close_pending) {
        /* A non-empty payload, since lws hands only non-empty pongs to the callback; ASCII,
         * since lws' UTF-8 validation covers the echoed pong too. */
        unsigned char ping[LWS_PRE + 9];
        snprintf((char *)ping + LWS_PRE, 9, "%08x", (unsigned)hx_mono_ms());
        c->ping_pending = false;
        if (lws_write(wsi, ping + LWS_PRE, 8, LWS_WRITE_PING) < 0) return -1;
        if (c->head) lws_callback_on_writable(wsi);
        return 0;
    }
    hx_outmsg *m = c->head;
    if (m) {
        c->head = m->next;
        if (!c->head) c->tail = NULL;
        c->queued -= m->len;
        int n = lws_write(wsi, m->buf + LWS_PRE, m->len, LWS_WRITE_TEXT);
        free(m);
        if (n < 0) return -1;
        if (c->head || c->close_pending) lws_callback_on_writable(wsi);
        return 0;
    }
    if (c->close_pending) {
        /* Write the close frame ourselves: lws_close_reason() + return -1 does not send it with
         * lws 4.1 on a foreign libuv loop (the peer sees 1006). RFC 6455 §5.5.1: 2-byte code,
         * then the reason. 4 is lws' internal LWS_WRITE_CLOSE (lws-write.h leaves it out). */
        unsigned char buf[LWS_PRE + 2 + sizeof c->close_reason];
        size_t rlen = strlen(c->close_reason);
        buf[LWS_PRE] = (unsigned char)(c->close_code >> 8);
        buf[LWS_PRE + 1] = (unsigned char)c->close_code;
        memcpy(buf + LWS_PRE + 2, c->close_reason, rlen);
        if (c->close_sent) return 0;
        lws_write(wsi, buf + LWS_PRE, 2 + rlen, (enum lws_write_protocol)4);
        /* Closing the socket now would reset a peer still sending (the rest of an oversized
         * message, say), and a reset can destroy our close frame in its receive buffer before
         * the peer reads it. Wait for its close frame instead (lws closes then), 1 s at most. */
        c->close_sent = true;
        lws_set_timeout(wsi, PENDING_TIMEOUT_CLOSE_ACK, 1);
        return 0;
    }
    return 0;
}

static void on_closed(hx_conn *c)
{
    /* A client that closes with 1000 (done) or 1001 (its page went away) meant to go; any other
     * end may come back (resume). */
    if (c->session &&
        (c->peer_close_code == HX_CLOSE_NORMAL || c->peer_close_code == HX_CLOSE_GOING_AWAY))
        c->session->no_resume = true;
    if (c->session) hx_session_closed(c->session);
    c->session = NULL;
    while (c->head) {
        hx_outmsg *m = c->head;
        c->head = m->next;
        free(m);
    }
    c->tail = NULL;
    free(c->rx);
    c->rx = NULL;
    c->rx_cap = 0;
}

int hx_ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                   size_t len)
{
    hx_conn *c = user;
    switch (reason) {
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        return filter(c, wsi);
    case LWS_CALLBACK_ESTABLISHED:
        c->srv = hx__http_of(wsi)->srv;
        c->wsi = wsi;
        if (c->srv->stopping) return -1;
        c->session = hx_session_open(c->srv, &lws_io, c, c->version);
        if (c->session) /* for the audit trail: whose join */
            snprintf(c->session->addr, sizeof c->session->addr, "%s", c->addr);
        if (c->session) hx_slo_stage(c->srv, "signal_connected");
        return c->session ? 0 : -1;
    case LWS_CALLBACK_RECEIVE:
        if (c->close_sent) return 0; /* closing: what still arrives is dropped */
        if (lws_frame_is_binary(wsi)) {
            hx__http_refused(hx__http_of(wsi), "binary_frame");
            io_close(c, 1003, "binary frames are not accepted: send JSON text");
            return 0;
        }
        if (c->session) {
            hx_session_seen(c->session, hx_mono_ms());
            on_receive(c, wsi, in, len);
        }
        return 0;
    case LWS_CALLBACK_RECEIVE_PONG:
        if (c->session) hx_session_seen(c->session, hx_mono_ms());
        return 0;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return on_writeable(c, wsi);
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        if (len >= 2)
            c->peer_close_code =
                ((const unsigned char *)in)[0] << 8 | ((const unsigned char *)in)[1];
        /* The peer answers our close frame: no echo (a second close frame after the handshake
         * makes Chromium fail the connection, 1006 instead of our code), just close. */
        return c->close_sent ? -1 : 0;
    case LWS_CALLBACK_CLOSED:
        on_closed(c);
        return 0;
    default:
        return 0;
    }
}
