/*
 * Starting and stopping the media engines (sfu/engine.h) for the daemon:
 * the media.* configuration becomes an hx_engine_config, media.workers
 * engines start (each its own thread, loop and ports: media.port + i and
 * media.tcp_port + i when those are fixed, else the kernel's), their events
 * are delivered on the main loop to hx_signal_engine_event, and commands go
 * out through srv->sfu_post: the worker dispatch (sfu/workers.h), which
 * keeps each room on one worker. Stopped when the server's stop sequence
 * closes its handles, after the sessions are gone.
 */
#include "hearthd/daemon.h"
#include "core/metric_names.h"

#include "common/clock.h"

#include "sfu/engine.h"
#include "sfu/remote.h"
#include "sfu/workers.h"
#include "signal/session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void engine_config(const hx_server *s, int worker, hx_engine_config *ec)
{
    hx_engine_config_default(ec);
    snprintf(ec->host, sizeof ec->host, "%s", s->cfg.media_host);
    ec->port = s->cfg.media_port ? s->cfg.media_port + worker : 0;
    ec->tcp_port =
        s->cfg.media_tcp_port > 0 ? s->cfg.media_tcp_port + worker : s->cfg.media_tcp_port;
    for (size_t i = 0; i < s->cfg.n_announce && i < HX_ENGINE_MAX_ANNOUNCE; i++)
        snprintf(ec->announce[ec->n_announce++], sizeof ec->announce[0], "%s", s->cfg.announce[i]);
    ec->remb_bps = (uint32_t)s->cfg.remb_bps;
    ec->adaptive = s->cfg.adaptive;
    ec->retransmit_original = !strcmp(s->cfg.retransmit, "original");
    ec->max_packet_rate = (double)s->cfg.max_packet_rate;
    ec->offer_timeout_ms = s->cfg.offer_timeout_ms;
    ec->connect_timeout_ms = s->cfg.connect_timeout_ms;
    ec->mlines_before_recycle = (unsigned)s->cfg.mlines_before_recycle;
    hx_config_speaker(&s->cfg, &ec->speaker); /* checked by hx_config_validate */
}

/* ---- media.isolation = process ------------------------------------------------------ */

#define RESTART_MS 200       /* a worker that died is started again after this */
#define RESTART_SLOW_MS 3000 /* ... unless it died this soon after its start */
#define READY_TIMEOUT_MS 10000

/* The dispatch's post for a worker process: its slot in s->remotes (a restart replaces it). */
static int post_slot(void *slot, const uint8_t *msg, size_t len)
{
    hx_remote *r = *(hx_remote **)slot;
    return r ? hx_remote_post(r, msg, len) : -1;
}

static int worker_of(const hx_server *s, const hx_remote *r)
{
    for (size_t i = 0; i < s->n_engines; i++)
        if (s->remotes[i] == r) return (int)i;
    return -1;
}

static void log_ready(hx_server *s, int i, int pid)
{
    char port[16], tcp[16], worker[16], p[16];
    snprintf(port, sizeof port, "%d", s->media_udp[i]);
    snprintf(tcp, sizeof tcp, "%d", s->media_tcp[i]);
    snprintf(worker, sizeof worker, "%d", i);
    snprintf(p, sizeof p, "%d", pid);
    hx_log(&s->log, HX_LOG_INFO, "media.ready", "host", s->cfg.media_host, "udp_port", port,
           "tcp_port", tcp, "worker", worker, pid ? "pid" : NULL, p, NULL);
}

/* Where a worker's socket takes relay frames from the others (sfu/relay.h): its bound address,
 * loopback for a wildcard one. */
static void relay_addr(hx_server *s, int i)
{
    if (!s->workers || s->media_udp[i] <= 0) return;
    const char *host = s->cfg.media_host;
    bool v6 = strchr(host, ':') != NULL;
    if (!strcmp(host, "0.0.0.0") || !strcmp(host, "::") || !host[0]) host = v6 ? "::1" : "127.0.0.1";
    char addr[HX_WORKER_ADDR_MAX];
    snprintf(addr, sizeof addr, v6 ? "[%s]:%d" : "%s:%d", host, s->media_udp[i]);
    hx_workers_set_addr(s->workers, i, addr);
}

/* Every engine's events: the dispatch reads the tracks (relays), then the control plane. */
static void engine_event(void *ctx, const uint8_t *msg, size_t len)
{
    hx_server *s = ctx;
    if (s->workers) hx_workers_event(s->workers, msg, len);
    hx_signal_engine_event(ctx, msg, len);
}

static void on_ready(void *ctx, hx_remote *r, int udp, int tcp, const char *why)
{
    hx_server *s = ctx;
    int i = worker_of(s, r);
    if (i < 0) return;
    if (udp < 0) {
        hx_log(&s->log, HX_LOG_ERROR, "media.worker_failed", "error", why, NULL);
        s->media_udp[i] = -1;
        return;
    }
    s->media_udp[i] = udp;
    s->media_tcp[i] = tcp;
    if (s->workers) hx_workers_set_down(s->workers, i, false);
    relay_addr(s, i);
    log_ready(s, i, hx_remote_pid(r));
}

static void on_exited(void *ctx, hx_remote *r, int64_t status, int term_signal);

/* Start worker i as a process (`hearthd --media-worker`); its ports come with on_ready. */
static int spawn_worker(hx_server *s, size_t i, char *err, size_t errlen)
{
    char exe[1024];
    size_t n = sizeof exe;
    if (uv_exepath(exe, &n)) {
        snprintf(err, errlen, "cannot find hearthd's own executable");
        return -1;
    }
    hx_engine_config ec;
    engine_config(s, (int)i, &ec);
    hx_remote_hooks h = {engine_event, on_ready, on_exited, s};
    s->media_udp[i] = s->media_tcp[i] = 0;
    s->media_started_ms[i] = hx_mono_ms();
    return hx_remote_start(s->loop, exe, &ec, &h, &s->remotes[i], err, errlen);
}

static void restart_worker(uv_timer_t *t)
{
    hx_server *s = t->data;
    char err[256];
    for (size_t i = 0; i < s->n_engines && !s->stopping; i++)
        if (!s->remotes[i] && spawn_worker(s, i, err, sizeof err))
            hx_log(&s->log, HX_LOG_ERROR, "media.worker_restart_failed", "error", err, NULL);
}

static void on_exited(void *ctx, hx_remote *r, int64_t status, int term_signal)
{
    hx_server *s = ctx;
    int i = worker_of(s, r);
    if (i < 0) return;
    char worker[16], st[24], sig[16];
    snprintf(worker, sizeof worker, "%d", i);
    snprintf(st, sizeof st, "%lld", (long long)status);
    snprintf(sig, sizeof sig, "%d", term_signal);
    hx_log(&s->log, HX_LOG_ERROR, "media.worker_died", "worker", worker, "status", st, "signal",
           sig, NULL);
    hx_metrics_add(&s->metrics, HX_M_WORKER_RESTARTS_TOTAL, "worker", worker, 1);
    hx_remote_stop(r);
    s->remotes[i] = NULL;
    s->media_udp[i] = s->media_tcp[i] = -1;
    /* Its transports are gone: their sessions resume, with new media on a live worker. */
    if (s->workers) hx_workers_lost(s->workers, i, hx_signal_media_lost, s);
    /* One that keeps dying at start (a fixed port taken, say) is tried every few seconds. */
    bool early = hx_mono_ms() - s->media_started_ms[i] < RESTART_SLOW_MS;
    if (!s->stopping && s->media_restart.data)
        uv_timer_start(&s->media_restart, restart_worker, early ? RESTART_SLOW_MS : RESTART_MS, 0);
}

static void ready_timeout(uv_timer_t *t)
{
    *(bool *)t->data = true;
}

static int start_processes(hx_server *s, size_t n, char *err, size_t errlen)
{
    uv_timer_init(s->loop, &s->media_restart);
    s->media_restart.data = s;
    uv_unref((uv_handle_t *)&s->media_restart);
    for (size_t i = 0; i < n; i++) {
        if (spawn_worker(s, i, err, errlen)) return -1;
        s->n_engines = i + 1;
    }
    /* Wait for every worker's ports (TURN lists them; the log names them) or its failure. */
    bool timed_out = false;
    uv_timer_t t;
    uv_timer_init(s->loop, &t);
    t.data = &timed_out;
    uv_timer_start(&t, ready_timeout, READY_TIMEOUT_MS, 0);
    for (;;) {
        size_t up = 0;
        for (size_t i = 0; i < n; i++) {
            if (s->media_udp[i] < 0 || !s->remotes[i]) {
                snprintf(err, errlen, "media worker %zu did not start", i);
                timed_out = true;
                break;
            }
            up += s->media_udp[i] > 0;
        }
        if (up == n || timed_out) break;
        uv_run(s->loop, UV_RUN_ONCE);
    }
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(s->loop, UV_RUN_NOWAIT);
    if (timed_out) {
        if (!err[0])
            snprintf(err, errlen, "media workers not ready within %d ms", READY_TIMEOUT_MS);
        return -1;
    }
    return 0;
}

int hx_server_media_start(hx_server *s, char *err, size_t errlen)
{
    if (!s->cfg.media) return 0;
    bool process;
    size_t n = (size_t)hx_config_media_workers(&s->cfg, uv_available_parallelism(), &process);
    if (n < 1 || n > HX_MAX_WORKERS || n > sizeof s->engines / sizeof s->engines[0]) {
        snprintf(err, errlen, "media.workers must be 0..%d", HX_MAX_WORKERS);
        return -1;
    }
    err[0] = '\0';
    if (process && start_processes(s, n, err, errlen)) {
        hx_server_media_stop(s);
        return -1;
    }
    for (size_t i = 0; !process && i < n; i++) {
        hx_engine_config ec;
        engine_config(s, (int)i, &ec);
        if (hx_engine_start(&ec, s->loop, engine_event, s, &s->engines[i], err, errlen) != 0) {
            hx_server_media_stop(s);
            return -1;
        }
        s->n_engines = i + 1;
        s->media_udp[i] = hx_engine_port(s->engines[i]);
        s->media_tcp[i] = hx_engine_tcp_port(s->engines[i]);
        log_ready(s, (int)i, 0);
    }
    void *ctx[HX_MAX_WORKERS];
    for (size_t i = 0; i < n; i++)
        ctx[i] = process ? (void *)&s->remotes[i] : (void *)s->engines[i];
    if (!(s->workers = malloc(sizeof *s->workers)) ||
        hx_workers_init(s->workers, n, process ? post_slot : hx_engine_post, ctx)) {
        free(s->workers);
        s->workers = NULL;
        hx_server_media_stop(s);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    s->workers->split_subscribers = (uint32_t)s->cfg.split_subscribers;
    for (size_t i = 0; i < n; i++)
        relay_addr(s, (int)i);
    s->sfu_post = hx_workers_post;
    s->sfu_ctx = s->workers;
    return 0;
}

void hx_server_media_stop(hx_server *s)
{
    if (s->media_restart.data && !uv_is_closing((uv_handle_t *)&s->media_restart))
        uv_close((uv_handle_t *)&s->media_restart, NULL);
    s->sfu_post = NULL;
    s->sfu_ctx = NULL;
    for (size_t i = 0; i < s->n_engines; i++) {
        if (s->engines[i]) hx_engine_stop(s->engines[i]);
        if (s->remotes[i]) hx_remote_stop(s->remotes[i]);
        s->engines[i] = NULL;
        s->remotes[i] = NULL;
    }
    s->n_engines = 0;
    if (s->workers) hx_workers_free(s->workers);
    free(s->workers);
    s->workers = NULL;
}
