/*
 * `hearthd --media-worker`: a media engine in its own process (sfu/remote.h has the frames).
 * The control plane started us with one end of a socketpair as fd 3. We read the engine's
 * configuration, start the engine (sfu/engine.h: its own thread, loop and ports, as in
 * process), answer with the ports, then carry commands in and events out until the socket
 * closes (the control plane stopped us, or died: then we go too; PR_SET_PDEATHSIG as well).
 */
#include "hearthd/daemon.h"

#include "sfu/engine.h"
#include "sfu/remote.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

typedef struct worker {
    uv_loop_t loop;
    uv_pipe_t ch;
    hx_engine *engine;
    size_t rx_len;
    uint8_t rx[5 + HX_REMOTE_MAX_FRAME];
    char rd[64 * 1024];
    int status;
} worker;

static void on_written(uv_write_t *req, int status)
{
    (void)status;
    free(req);
}

static void send_frame(worker *w, uint8_t type, const uint8_t *p, size_t len)
{
    uv_write_t *req = malloc(sizeof *req + 5 + len);
    if (!req) return;
    uint8_t *data = (uint8_t *)(req + 1);
    hx_remote_header(data, type, (uint32_t)len);
    memcpy(data + 5, p, len);
    uv_buf_t b = uv_buf_init((char *)data, (unsigned)(5 + len));
    if (uv_write(req, (uv_stream_t *)&w->ch, &b, 1, on_written)) free(req);
}

static void on_event(void *ctx, const uint8_t *msg, size_t len)
{
    send_frame(ctx, HX_REMOTE_EVENT, msg, len);
}

static void put32(uint8_t *p, int32_t v)
{
    uint32_t u = (uint32_t)v;
    p[0] = (uint8_t)(u >> 24), p[1] = (uint8_t)(u >> 16), p[2] = (uint8_t)(u >> 8),
    p[3] = (uint8_t)u;
}

static void on_frame(void *arg, uint8_t type, const uint8_t *p, size_t len)
{
    worker *w = arg;
    if (type == HX_REMOTE_CONFIG && !w->engine && len == sizeof(hx_engine_config)) {
        hx_engine_config cfg;
        memcpy(&cfg, p, sizeof cfg);
        char err[256];
        if (hx_engine_start(&cfg, &w->loop, on_event, w, &w->engine, err, sizeof err)) {
            send_frame(w, HX_REMOTE_FAILED, (const uint8_t *)err, strlen(err));
            w->status = 1;
            uv_close((uv_handle_t *)&w->ch, NULL);
            return;
        }
        uint8_t ports[8];
        put32(ports, hx_engine_port(w->engine));
        put32(ports + 4, hx_engine_tcp_port(w->engine));
        send_frame(w, HX_REMOTE_READY, ports, sizeof ports);
    } else if (type == HX_REMOTE_COMMAND && w->engine) {
        /* A full engine queue drops the command; the control plane bounds what it sends. */
        hx_engine_post(w->engine, p, len);
    }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    worker *w = h->data;
    (void)suggested;
    *buf = uv_buf_init(w->rd, sizeof w->rd);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    worker *w = s->data;
    if (n < 0 || (n > 0 && hx_remote_unframe(w->rx, &w->rx_len, sizeof w->rx,
                                             (const uint8_t *)buf->base, (size_t)n, on_frame, w))) {
        /* the control plane is gone (or broke the stream): so are we */
        if (!uv_is_closing((uv_handle_t *)s)) uv_close((uv_handle_t *)s, NULL);
        if (w->engine) hx_engine_stop(w->engine);
        w->engine = NULL;
    }
}

int hx_media_worker_main(int fd)
{
    static worker w; /* large buffers: not on the stack */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    signal(SIGPIPE, SIG_IGN);
    if (uv_loop_init(&w.loop) || uv_pipe_init(&w.loop, &w.ch, 0) || uv_pipe_open(&w.ch, fd)) {
        fprintf(stderr, "hearthd --media-worker: fd %d is not the control plane's socket\n", fd);
        return 1;
    }
    w.ch.data = &w;
    uv_read_start((uv_stream_t *)&w.ch, on_alloc, on_read);
    uv_run(&w.loop, UV_RUN_DEFAULT);
    if (w.engine) hx_engine_stop(w.engine);
    uv_run(&w.loop, UV_RUN_DEFAULT); /* the events pipe's close */
    uv_loop_close(&w.loop);
    return w.status;
}
