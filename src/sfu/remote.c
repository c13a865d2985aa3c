/*
 * The control plane's side of a worker process (remote.h).
 */
#include "sfu/remote.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct hx_remote {
    uv_loop_t *loop;
    uv_process_t proc;
    uv_pipe_t ch;
    hx_remote_hooks hooks;
    bool up, dead, stopping;
    int open_handles;
    size_t queued;
    size_t rx_len;
    uint8_t rx[5 + HX_REMOTE_MAX_FRAME]; /* the frame being read */
    char rd[64 * 1024];                  /* what one read gets */
};

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

void hx_remote_header(uint8_t hdr[5], uint8_t type, uint32_t len)
{
    hdr[0] = type;
    hdr[1] = (uint8_t)(len >> 24);
    hdr[2] = (uint8_t)(len >> 16);
    hdr[3] = (uint8_t)(len >> 8);
    hdr[4] = (uint8_t)len;
}

int hx_remote_unframe(uint8_t *buf, size_t *len, size_t cap, const uint8_t *in, size_t n,
                      void (*fn)(void *arg, uint8_t type, const uint8_t *p, size_t len), void *arg)
{
    for (;;) {
        size_t need = 5;
        if (*len >= 5) {
            uint32_t flen = be32(buf + 1);
            if (flen > HX_REMOTE_MAX_FRAME || 5 + (size_t)flen > cap) return -1;
            need = 5 + (size_t)flen;
            if (*len == need) { /* a whole frame */
                fn(arg, buf[0], buf + 5, need - 5);
                *len = 0;
                continue;
            }
        }
        if (!n) return 0;
        size_t take = need - *len < n ? need - *len : n;
        memcpy(buf + *len, in, take);
        *len += take;
        in += take;
        n -= take;
    }
}

static void on_closed(uv_handle_t *h)
{
    hx_remote *r = h->data;
    if (--r->open_handles == 0) free(r);
}

static void close_all(hx_remote *r)
{
    if (!uv_is_closing((uv_handle_t *)&r->ch)) uv_close((uv_handle_t *)&r->ch, on_closed);
    if (!uv_is_closing((uv_handle_t *)&r->proc)) uv_close((uv_handle_t *)&r->proc, on_closed);
}

static void kill_worker(hx_remote *r)
{
    if (!r->dead && r->proc.pid > 0) uv_process_kill(&r->proc, SIGKILL);
}

static void on_frame(void *arg, uint8_t type, const uint8_t *p, size_t len)
{
    hx_remote *r = arg;
    if (r->stopping) return;
    if (type == HX_REMOTE_EVENT && r->up) {
        r->hooks.deliver(r->hooks.ctx, p, len);
    } else if (type == HX_REMOTE_READY && !r->up && len == 8) {
        int32_t udp = (int32_t)be32(p), tcp = (int32_t)be32(p + 4);
        r->up = true;
        r->hooks.ready(r->hooks.ctx, r, udp, tcp, NULL);
    } else if (type == HX_REMOTE_FAILED && !r->up) {
        char why[256];
        snprintf(why, sizeof why, "%.*s", (int)(len < 255 ? len : 255), (const char *)p);
        r->hooks.ready(r->hooks.ctx, r, -1, -1, why);
    } else {
        kill_worker(r); /* a frame it should not send: it is broken */
    }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    hx_remote *r = h->data;
    (void)suggested;
    *buf = uv_buf_init(r->rd, sizeof r->rd); /* consumed before the next read */
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    hx_remote *r = s->data;
    if (n < 0) { /* EOF: the worker is gone (its exit is reported by on_exit) */
        uv_read_stop(s);
        kill_worker(r);
        return;
    }
    if (n > 0 && hx_remote_unframe(r->rx, &r->rx_len, sizeof r->rx, (const uint8_t *)buf->base,
                                   (size_t)n, on_frame, r))
        kill_worker(r);
}

static void on_proc_exit(uv_process_t *p, int64_t status, int term_signal)
{
    hx_remote *r = p->data;
    r->dead = true;
    r->up = false;
    if (!r->stopping && r->hooks.exited) r->hooks.exited(r->hooks.ctx, r, status, term_signal);
}

typedef struct wreq {
    uv_write_t req;
    hx_remote *r;
    size_t len;
    uint8_t data[];
} wreq;

static void on_written(uv_write_t *req, int status)
{
    wreq *w = (wreq *)req;
    (void)status;
    w->r->queued -= w->len;
    free(w);
}

static int send_frame(hx_remote *r, uint8_t type, const uint8_t *p, size_t len)
{
    if (r->dead || r->stopping || len > HX_REMOTE_MAX_FRAME ||
        r->queued + len + 5 > HX_REMOTE_MAX_QUEUED)
        return -1;
    wreq *w = malloc(sizeof *w + 5 + len);
    if (!w) return -1;
    w->r = r;
    w->len = 5 + len;
    hx_remote_header(w->data, type, (uint32_t)len);
    memcpy(w->data + 5, p, len);
    uv_buf_t b = uv_buf_init((char *)w->data, (unsigned)w->len);
    if (uv_write(&w->req, (uv_stream_t *)&r->ch, &b, 1, on_written)) {
        free(w);
        return -1;
    }
    r->queued += w->len;
    return 0;
}

int hx_remote_start(uv_loop_t *loop, const char *exe, const hx_engine_config *cfg,
                    const hx_remote_hooks *hooks, hx_remote **out, char *err, size_t errlen)
{
    *out = NULL;
    hx_remote *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    r->loop = loop;
    r->hooks = *hooks;
    uv_pipe_init(loop, &r->ch, 0);
    r->ch.data = r;
    r->proc.data = r;
    r->open_handles = 1;
    char *args[] = {(char *)exe, "--media-worker", NULL};
    uv_stdio_container_t stdio[4] = {
        {.flags = UV_IGNORE},
        {.flags = UV_INHERIT_FD, .data.fd = 1},
        {.flags = UV_INHERIT_FD, .data.fd = 2},
        {.flags = UV_CREATE_PIPE | UV_READABLE_PIPE | UV_WRITABLE_PIPE,
         .data.stream = (uv_stream_t *)&r->ch},
    };
    uv_process_options_t o = {
        .file = exe, .args = args, .exit_cb = on_proc_exit, .stdio = stdio, .stdio_count = 4};
    int rc = uv_spawn(loop, &r->proc, &o);
    if (rc) {
        snprintf(err, errlen, "cannot start a media worker (%s): %s", exe, uv_strerror(rc));
        uv_close((uv_handle_t *)&r->ch, on_closed);
        return -1;
    }
    r->open_handles = 2;
    uv_read_start((uv_stream_t *)&r->ch, on_alloc, on_read);
    if (send_frame(r, HX_REMOTE_CONFIG, (const uint8_t *)cfg, sizeof *cfg)) {
        snprintf(err, errlen, "cannot configure the media worker");
        hx_remote_stop(r);
        return -1;
    }
    *out = r;
    return 0;
}

int hx_remote_post(void *remote, const uint8_t *msg, size_t len)
{
    hx_remote *r = remote;
    return r->up ? send_frame(r, HX_REMOTE_COMMAND, msg, len) : -1;
}

int hx_remote_pid(const hx_remote *r)
{
    return r->dead ? 0 : r->proc.pid;
}

void hx_remote_stop(hx_remote *r)
{
    if (!r) return;
    r->stopping = true;
    kill_worker(r);
    close_all(r);
}
