/*
 * TURN on the HTTP listener's port (turn.on_http_port; DESIGN §3: a client
 * that may reach only TCP 443 still gets media, through TURN over TLS on the
 * port that serves https and wss).
 *
 * lws hands a connection whose first bytes (after TLS, if any) are not HTTP
 * to the raw role (LWS_SERVER_OPTION_FALLBACK_TO_APPLY_LISTEN_ACCEPT_CONFIG,
 * http_server.c). When those bytes are TURN (a STUN request: first_bytes.h), the
 * connection is spliced to the embedded TURN server (turn/turn.h): a
 * socketpair whose far end goes to hx_turn_adopt_stream with the client's
 * own address and the bytes read so far, and whose near end is polled on
 * this loop. Plaintext is copied both
 * ways; each direction holds at most one buffer (SPLICE_BUF) and stops
 * reading its source while that buffer waits (lws_rx_flow_control towards
 * the client, the poll towards TURN), so neither side can queue without
 * bound. Anything else on the raw role is closed; plaintext HTTP on a TLS
 * port is first told to use https.
 *
 * Each connection's splice hangs off its wsi (lws_set_opaque_user_data); it
 * is freed once both the wsi (RAW_CLOSE) and the poll handle are closed.
 */
#include "http/first_bytes.h"
#include "core/metric_names.h"
#include "http/http_internal.h"

#include "turn/turn.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#define SPLICE_BUF 16384

typedef struct splice {
    hx_server *srv;
    struct lws *wsi; /* NULL once lws closed it */
    int fd;          /* our end of the socketpair */
    uv_poll_t poll;
    int events;      /* UV_READABLE / UV_WRITABLE being polled */
    bool eof;        /* TURN closed its end: close the client after the last write */
    size_t up_len;   /* client -> TURN bytes waiting for the socketpair */
    uint8_t up[SPLICE_BUF];
    size_t down_len; /* TURN -> client bytes waiting for lws (after LWS_PRE) */
    uint8_t down[LWS_PRE + SPLICE_BUF];
} splice;

/* The opaque user data of a plaintext HTTP connection on the TLS port (it has no splice). */
static const char use_https;

static void on_poll_closed(uv_handle_t *h)
{
    splice *sp = h->data;
    close(sp->fd);
    free(sp);
}

/* Poll for what the two buffers allow: read TURN while `down` is free, write while `up` waits. */
static void repoll(splice *sp);

static void detach(splice *sp)
{
    if (sp->wsi) lws_set_opaque_user_data(sp->wsi, NULL);
    sp->wsi = NULL;
    if (!uv_is_closing((uv_handle_t *)&sp->poll)) uv_close((uv_handle_t *)&sp->poll, on_poll_closed);
}

/* Write what `up` holds to TURN; true when it is empty. */
static bool flush_up(splice *sp)
{
    while (sp->up_len) {
        ssize_t n = send(sp->fd, sp->up, sp->up_len, MSG_NOSIGNAL);
        if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK ? false : (sp->eof = true, false);
        memmove(sp->up, sp->up + n, sp->up_len - (size_t)n);
        sp->up_len -= (size_t)n;
    }
    return true;
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    splice *sp = h->data;
    if (!sp->wsi) return;
    if (status < 0) events = UV_READABLE; /* an error: the read below sees it and ends */
    if ((events & UV_WRITABLE) && flush_up(sp)) lws_rx_flow_control(sp->wsi, 1);
    if ((events & UV_READABLE) && !sp->down_len && !sp->eof) {
        ssize_t n = recv(sp->fd, sp->down + LWS_PRE, SPLICE_BUF, 0);
        if (n > 0)
            sp->down_len = (size_t)n;
        else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
            sp->eof = true;
        lws_callback_on_writable(sp->wsi);
    }
    if (sp->eof) lws_callback_on_writable(sp->wsi);
    repoll(sp);
}

static void repoll(splice *sp)
{
    int want = (!sp->down_len && !sp->eof ? UV_READABLE : 0) | (sp->up_len ? UV_WRITABLE : 0);
    if (want == sp->events) return;
    sp->events = want;
    if (want)
        uv_poll_start(&sp->poll, want, on_poll);
    else
        uv_poll_stop(&sp->poll);
}

/* The client's address as a sockaddr (for XOR-MAPPED-ADDRESS and TURN's per-address caps). */
static int peer_of(struct lws *wsi, struct sockaddr_storage *ss)
{
    socklen_t len = sizeof *ss;
    return getpeername(lws_get_socket_fd(wsi), (struct sockaddr *)ss, &len);
}

/* The first bytes are TURN: make the socketpair and hand its far end over. 0 or -1 (close). */
static int start(struct lws *wsi, hx_server *srv, const uint8_t *head, size_t len)
{
    struct sockaddr_storage peer;
    int fds[2];
    if (peer_of(wsi, &peer) ||
        socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds))
        return -1;
    splice *sp = calloc(1, sizeof *sp);
    if (!sp) {
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (uv_poll_init(srv->loop, &sp->poll, fds[0])) {
        close(fds[0]);
        close(fds[1]);
        free(sp);
        return -1;
    }
    sp->srv = srv;
    sp->wsi = wsi;
    sp->fd = fds[0];
    sp->poll.data = sp;
    lws_set_opaque_user_data(wsi, sp);
    if (hx_turn_adopt_stream(srv->turn, fds[1], (struct sockaddr *)&peer, head, len)) {
        detach(sp); /* fds[1] is TURN's to close, whatever happened */
        return -1;
    }
    hx_metrics_add(&srv->metrics, HX_M_TURN_HTTP_PORT_CONNECTIONS_TOTAL, NULL,
                   NULL, 1);
    repoll(sp);
    return 0;
}

static int rx(struct lws *wsi, hx_server *srv, splice *sp, bool hint, const uint8_t *in,
              size_t len)
{
    if (!len || hint) return 0; /* lws' fallback announces itself with an empty read */
    if (!sp) {
        hx_first_kind k = hx_first_bytes(in, len, srv->tls && !lws_is_ssl(wsi));
        if (k == HX_FIRST_TURN && srv->turn && srv->cfg.turn_on_http_port)
            return start(wsi, srv, in, len);
        if (k == HX_FIRST_HTTP) {
            lws_set_opaque_user_data(wsi, (void *)&use_https); /* answered when writeable */
            lws_rx_flow_control(wsi, 0);
            lws_callback_on_writable(wsi);
            return 0;
        }
        return -1;
    }
    if (sp->up_len + len > SPLICE_BUF) return -1; /* flow control should have stopped it */
    memcpy(sp->up + sp->up_len, in, len);
    sp->up_len += len;
    if (!flush_up(sp)) lws_rx_flow_control(wsi, 0); /* until TURN reads what waits */
    if (sp->eof) return -1;
    repoll(sp);
    return 0;
}

static int writeable(struct lws *wsi, splice *sp, bool hint)
{
    if (hint) { /* plaintext HTTP on the TLS port: say so, then close */
        static const char msg[] = "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n"
                                  "Content-Type: text/plain\r\nContent-Length: 36\r\n\r\n"
                                  "This port speaks TLS: use https://\r\n";
        uint8_t buf[LWS_PRE + sizeof msg];
        memcpy(buf + LWS_PRE, msg, sizeof msg - 1);
        lws_write(wsi, buf + LWS_PRE, sizeof msg - 1, LWS_WRITE_RAW);
        lws_set_opaque_user_data(wsi, NULL); /* the next writeable (once it is out) closes */
        lws_callback_on_writable(wsi);
        return 0;
    }
    if (!sp) return -1;
    if (sp->down_len) {
        if (lws_write(sp->wsi, sp->down + LWS_PRE, sp->down_len, LWS_WRITE_RAW) < 0) return -1;
        sp->down_len = 0;
    }
    if (sp->eof) return -1; /* TURN is done: close once what it said is out */
    repoll(sp);
    return 0;
}

int hx__turn_splice_callback(struct lws *wsi, enum lws_callback_reasons reason, void *in,
                             size_t len)
{
    hx_http *h = hx__http_of(wsi);
    void *ud = lws_get_opaque_user_data(wsi);
    bool hint = ud == &use_https;
    splice *sp = hint ? NULL : ud;
    switch (reason) {
    case LWS_CALLBACK_RAW_ADOPT:
        return 0;
    case LWS_CALLBACK_RAW_RX:
        return rx(wsi, h->srv, sp, hint, in, len);
    case LWS_CALLBACK_RAW_WRITEABLE:
        return writeable(wsi, sp, hint);
    case LWS_CALLBACK_RAW_CLOSE:
        if (sp) detach(sp);
        return 0;
    default:
        return 0;
    }
}
