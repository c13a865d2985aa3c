/*
 * The load generator's signaling transport: one HTTP/1.1 exchange, or one
 * WebSocket client (RFC 6455), over a libuv TCP handle on the worker's loop.
 *
 * HTTP: the request is written once connected with "Connection: close"; the
 * response is fed to common/http_client's parser and reported whole through
 * on_http. WebSocket: the upgrade request carries a random key and an
 * optional subprotocol; after the 101 every frame is parsed from the input
 * buffer: text messages (reassembled from fragments) go to on_text, pings
 * are answered with pongs (hearthd closes clients that ignore them), a close
 * frame is answered with its code (kept in close_code) and ends the
 * connection. Client frames are masked as the RFC requires. Our own ends: a
 * close frame then close (hx_lconn_ws_close), or a TCP reset without one
 * (hx_lconn_reset: a simulated network failure).
 *
 * Bounds: at most HX_LCONN_MAX_IN buffered input bytes and the same for one
 * message; more is an error that closes the connection. Writes copy into a
 * malloc'd buffer freed by the write callback: signaling is a few messages
 * per participant, never on a packet path.
 */
#include "common/b64.h"
#include "common/http_client.h"
#include "load/load_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct wreq {
    uv_write_t req;
    size_t len;
    char data[];
} wreq;

static void on_closed(uv_handle_t *h)
{
    hx_lconn *c = h->data;
    c->closing = false;
    free(c->in);
    free(c->msg);
    free(c->out_req);
    c->in = NULL;
    c->msg = NULL;
    c->out_req = NULL;
    c->in_len = c->msg_len = 0;
}

static void finish(hx_lconn *c, int err)
{
    if (!c->open) return;
    void (*cb)(void *, int) = c->on_close;
    hx_lconn_close(c);
    if (cb) cb(c->user, err);
}

void hx_lconn_close(hx_lconn *c)
{
    if (!c->open) return;
    c->open = false;
    c->closing = true;
    c->mode = HX_LCONN_IDLE;
    uv_close((uv_handle_t *)&c->tcp, on_closed);
}

void hx_lconn_reset(hx_lconn *c)
{
    if (!c->open) return;
    c->open = false;
    c->closing = true;
    c->mode = HX_LCONN_IDLE;
    /* SO_LINGER 0: the peer gets a reset, as when a NAT or a network path gives up. */
    if (uv_tcp_close_reset(&c->tcp, on_closed) != 0) uv_close((uv_handle_t *)&c->tcp, on_closed);
}

static int ws_frame(hx_lconn *c, int opcode, const void *payload, size_t len);

void hx_lconn_ws_close(hx_lconn *c, int code)
{
    if (c->open && c->mode == HX_LCONN_WS) {
        uint8_t b[2] = {(uint8_t)(code >> 8), (uint8_t)code};
        ws_frame(c, 8, b, 2); /* written at once when nothing is queued, so it leaves before */
    }
    hx_lconn_close(c);
}

static void on_written(uv_write_t *req, int status)
{
    free(req->data);
}

static int write_raw(hx_lconn *c, const void *a, size_t alen, const void *b, size_t blen)
{
    if (!c->open) return -1;
    wreq *r = malloc(sizeof *r + alen + blen);
    if (!r) return -1;
    memcpy(r->data, a, alen);
    if (blen) memcpy(r->data + alen, b, blen);
    r->len = alen + blen;
    r->req.data = r;
    uv_buf_t buf = uv_buf_init(r->data, (unsigned)r->len);
    if (uv_write(&r->req, (uv_stream_t *)&c->tcp, &buf, 1, on_written) != 0) {
        free(r);
        return -1;
    }
    return 0;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    hx_lconn *c = h->data;
    if (!c->in) c->in = malloc(HX_LCONN_MAX_IN);
    size_t room = c->in ? HX_LCONN_MAX_IN - c->in_len : 0;
    *buf = uv_buf_init(room ? (char *)c->in + c->in_len : NULL, (unsigned)room);
}

/* ---- HTTP ------------------------------------------------------------------------------ */

static void http_done(hx_lconn *c, bool eof)
{
    hx_http_parser p;
    hx_http_parser_init(&p, HX_LCONN_MAX_IN);
    size_t used = 0;
    int rc = hx_http_parser_feed(&p, c->in, c->in_len, &used);
    if (rc == 0 && eof) rc = hx_http_parser_eof(&p);
    if (rc == 1) {
        void (*cb)(void *, int, const char *, size_t) = c->on_http;
        c->on_close = NULL;
        hx_lconn_close(c);
        if (cb) cb(c->user, p.status, (const char *)p.body, p.body_len);
    } else if (rc < 0 || eof) {
        finish(c, -1);
    }
    hx_http_parser_free(&p);
}

/* ---- WebSocket frames ------------------------------------------------------------------ */

static int ws_frame(hx_lconn *c, int opcode, const void *payload, size_t len)
{
    uint8_t h[14];
    size_t n = 0;
    h[n++] = (uint8_t)(0x80 | opcode);
    if (len < 126) {
        h[n++] = (uint8_t)(0x80 | len);
    } else if (len <= 0xffff) {
        h[n++] = 0x80 | 126;
        h[n++] = (uint8_t)(len >> 8);
        h[n++] = (uint8_t)len;
    } else {
        h[n++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--)
            h[n++] = (uint8_t)((uint64_t)len >> (8 * i));
    }
    c->rnd = c->rnd * 1103515245u + 12345u;
    uint8_t mask[4] = {(uint8_t)(c->rnd >> 24), (uint8_t)(c->rnd >> 16), (uint8_t)(c->rnd >> 8),
                       (uint8_t)c->rnd};
    memcpy(h + n, mask, 4);
    n += 4;
    char *masked = malloc(len ? len : 1);
    if (!masked) return -1;
    const uint8_t *src = payload;
    for (size_t i = 0; i < len; i++)
        masked[i] = (char)(src[i] ^ mask[i & 3]);
    int rc = write_raw(c, h, n, masked, len);
    free(masked);
    return rc;
}

int hx_lconn_ws_send(hx_lconn *c, const char *text, size_t len)
{
    if (c->mode != HX_LCONN_WS) return -1;
    return ws_frame(c, 1, text, len);
}

/* Parse every complete frame in c->in. Returns false when the connection went away. */
static bool ws_frames(hx_lconn *c)
{
    size_t pos = 0;
    while (c->open && c->in_len - pos >= 2) {
        const uint8_t *f = c->in + pos;
        size_t avail = c->in_len - pos, hl = 2;
        uint64_t len = f[1] & 0x7f;
        if (len == 126) {
            if (avail < 4) break;
            len = (uint64_t)f[2] << 8 | f[3];
            hl = 4;
        } else if (len == 127) {
            if (avail < 10) break;
            len = 0;
            for (int i = 0; i < 8; i++)
                len = len << 8 | f[2 + i];
            hl = 10;
        }
        bool masked = f[1] & 0x80;
        if (masked) hl += 4;
        if (len > HX_LCONN_MAX_IN) {
            finish(c, -1);
            return false;
        }
        if (avail < hl + len) break;
        uint8_t *data = c->in + pos + hl;
        if (masked)
            for (uint64_t i = 0; i < len; i++)
                data[i] ^= f[hl - 4 + (i & 3)];
        int op = f[0] & 0x0f;
        bool fin = f[0] & 0x80;
        pos += hl + len;
        if (op == 9) {
            if (ws_frame(c, 10, data, len) < 0) {
                finish(c, -1);
                return false;
            }
        } else if (op == 8) {
            /* The peer closes: answer with its code (RFC 6455 §5.5.1), then end. */
            c->close_code = len >= 2 ? data[0] << 8 | data[1] : 1005;
            ws_frame(c, 8, data, len >= 2 ? 2 : 0);
            finish(c, 0);
            return false;
        } else if (op == 1 || op == 0) {
            if (!c->msg) c->msg = malloc(HX_LCONN_MAX_IN + 1);
            if (!c->msg || c->msg_len + len > HX_LCONN_MAX_IN) {
                finish(c, -1);
                return false;
            }
            memcpy(c->msg + c->msg_len, data, len);
            c->msg_len += len;
            if (fin) {
                c->msg[c->msg_len] = '\0';
                size_t n = c->msg_len;
                c->msg_len = 0;
                if (c->on_text) c->on_text(c->user, c->msg, n);
                if (!c->open) return false;
            }
        }
    }
    memmove(c->in, c->in + pos, c->in_len - pos);
    c->in_len -= pos;
    return true;
}

static void ws_handshake(hx_lconn *c)
{
    uint8_t *end = NULL;
    for (size_t i = 0; i + 3 < c->in_len; i++)
        if (!memcmp(c->in + i, "\r\n\r\n", 4)) {
            end = c->in + i + 4;
            break;
        }
    if (!end) return;
    int status = 0;
    if (c->in_len > 12 && !memcmp(c->in, "HTTP/1.1 ", 9)) status = atoi((const char *)c->in + 9);
    size_t used = (size_t)(end - c->in);
    memmove(c->in, end, c->in_len - used);
    c->in_len -= used;
    if (status != 101) {
        finish(c, -status);
        return;
    }
    c->mode = HX_LCONN_WS;
    if (c->on_http) c->on_http(c->user, status, "", 0);
    if (c->open && c->in_len) ws_frames(c);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    hx_lconn *c = s->data;
    if (!c->open) return;
    if (n < 0) {
        if (c->mode == HX_LCONN_HTTP)
            http_done(c, true);
        else
            finish(c, n == UV_EOF ? 0 : (int)n);
        return;
    }
    if (n == 0 && c->in_len == HX_LCONN_MAX_IN) {
        finish(c, -1); /* the buffer is full and nothing could be consumed */
        return;
    }
    c->in_len += (size_t)n;
    if (c->mode == HX_LCONN_HTTP)
        http_done(c, false);
    else if (c->mode == HX_LCONN_WS_HANDSHAKE)
        ws_handshake(c);
    else if (c->mode == HX_LCONN_WS)
        ws_frames(c);
}

static void on_connect(uv_connect_t *req, int status)
{
    hx_lconn *c = req->data;
    if (!c->open) return;
    if (status < 0 || uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) < 0 ||
        write_raw(c, c->out_req, c->out_len, NULL, 0) < 0) {
        finish(c, status < 0 ? status : -1);
        return;
    }
    free(c->out_req);
    c->out_req = NULL;
}

static int start(hx_lconn *c, uv_loop_t *loop, const char *ip, int port, char *req, size_t len)
{
    struct sockaddr_in sa;
    if (c->open || c->closing || uv_ip4_addr(ip, port, &sa) != 0) {
        free(req);
        return -1;
    }
    if (uv_tcp_init(loop, &c->tcp) != 0) {
        free(req);
        return -1;
    }
    c->tcp.data = c;
    c->creq.data = c;
    c->open = true;
    c->out_req = req;
    c->out_len = len;
    c->in_len = c->msg_len = 0;
    c->close_code = 0;
    uv_tcp_nodelay(&c->tcp, 1);
    if (uv_tcp_connect(&c->creq, &c->tcp, (const struct sockaddr *)&sa, on_connect) != 0) {
        hx_lconn_close(c);
        return -1;
    }
    return 0;
}

int hx_lconn_http(hx_lconn *c, uv_loop_t *loop, const char *ip, int port, const char *method,
                  const char *path, const char *headers, const char *body)
{
    size_t blen = body ? strlen(body) : 0, cap = 512 + strlen(path) + strlen(headers) + blen;
    char *req = malloc(cap);
    if (!req) return -1;
    int n = snprintf(req, cap,
                     "%s %s HTTP/1.1\r\nHost: %s:%d\r\nConnection: close\r\n%s"
                     "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                     method, path, ip, port, headers, blen, body ? body : "");
    if (n < 0 || (size_t)n >= cap) {
        free(req);
        return -1;
    }
    if (start(c, loop, ip, port, req, (size_t)n) < 0) return -1;
    c->mode = HX_LCONN_HTTP;
    return 0;
}

int hx_lconn_ws(hx_lconn *c, uv_loop_t *loop, const char *ip, int port, const char *path,
                const char *protocol)
{
    uint8_t key[16];
    c->rnd ^= (uint32_t)(uintptr_t)c ^ (uint32_t)uv_hrtime();
    for (int i = 0; i < 16; i++) {
        c->rnd = c->rnd * 1103515245u + 12345u;
        key[i] = (uint8_t)(c->rnd >> 16);
    }
    char key64[32];
    if (hx_b64_encode(key, sizeof key, key64, sizeof key64, 0) < 0) return -1;
    char proto[128] = "";
    if (protocol) snprintf(proto, sizeof proto, "Sec-WebSocket-Protocol: %s\r\n", protocol);
    size_t cap = 512 + strlen(path);
    char *req = malloc(cap);
    if (!req) return -1;
    int n = snprintf(req, cap,
                     "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                     "Sec-WebSocket-Version: 13\r\n%s\r\n",
                     path, ip, port, key64, proto);
    if (n < 0 || (size_t)n >= cap) {
        free(req);
        return -1;
    }
    if (start(c, loop, ip, port, req, (size_t)n) < 0) return -1;
    c->mode = HX_LCONN_WS_HANDSHAKE;
    return 0;
}
