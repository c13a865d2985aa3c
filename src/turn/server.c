/*
 * The TURN server's life (turn.h): start binds the listeners and starts a
 * thread running its own libuv loop, as the media engine does; a 500 ms
 * tick expires what the core's deadline heap says is due and closes
 * stalled connections; stop closes everything on that loop, joins the
 * thread and frees.
 *
 * Other threads reach the loop through one uv_async (`wake`) and a mutex
 * over three things: the stop flag, new secrets (hx_turn_set_secrets) and
 * the bounded queue of stream connections handed over by
 * hx_turn_adopt_stream (a full queue refuses, closing the fd).
 */
#include "turn/carrier_internal.h"

#include "common/clock.h"

#include <errno.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void hx_turn_config_default(hx_turn_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->host, sizeof cfg->host, "127.0.0.1");
    snprintf(cfg->realm, sizeof cfg->realm, "hearth");
    cfg->max_allocations = 32;
    cfg->max_bps = 20000000;
    cfg->max_lifetime_s = 3600;
    cfg->max_total_allocations = 4096;
    cfg->max_conns_per_addr = 64;
    cfg->max_conns = 4096;
    cfg->nonce_lifetime_s = 600;
}

/* --- the loop ------------------------------------------------------------ */

static void on_tick(uv_timer_t *h)
{
    hx_turn *t = h->data;
    t->now_ms = hx_mono_ms();
    hx_turn_core_set_wall_offset(t->core, hx_now_ms() - t->now_ms);
    hx_turn_core_tick(t->core, t->now_ms);
    hx__turn_conns_tick(t);
    hx__turn_flush(t);
}

static void shut(hx_turn *t)
{
    hx__turn_conns_stop(t); /* their close callbacks find no core: it goes first, below */
    hx_turn_core_stats(t->core, &t->final);
    hx_turn_core_free(t->core); /* closes every relay */
    t->core = NULL;
    hx__turn_udp_stop(t);
    uv_close((uv_handle_t *)&t->tick, NULL);
    uv_close((uv_handle_t *)&t->wake, NULL);
}

static void on_wake(uv_async_t *h)
{
    hx_turn *t = h->data;
    hx__turn_adopt *q = t->adopt;
    for (;;) {
        pthread_mutex_lock(&t->lock);
        if (t->stop) {
            pthread_mutex_unlock(&t->lock);
            shut(t);
            return;
        }
        if (t->secrets_dirty) {
            hx_turn_core_set_secrets(t->core, (const char(*)[128])t->secrets, t->n_secrets);
            t->secrets_dirty = false;
        }
        if (!t->adopt_len) {
            pthread_mutex_unlock(&t->lock);
            return;
        }
        hx__turn_adopt *a = &q[t->adopt_head];
        int fd = a->fd;
        struct sockaddr_storage peer = a->peer;
        size_t len = a->len;
        uint8_t head[HX_TURN_STREAM_MAX_FRAME]; /* the slot is free for a push once unlocked */
        memcpy(head, a->head, len);
        t->adopt_head = (t->adopt_head + 1) % HX__TURN_ADOPT_QUEUE;
        t->adopt_len--;
        pthread_mutex_unlock(&t->lock);
        hx__turn_conn_open(t, NULL, fd, &peer, head, len);
    }
}

static void *run(void *arg)
{
    hx_turn *t = arg;
    uv_run(&t->loop, UV_RUN_DEFAULT);
    return NULL;
}

/* --- start and stop ------------------------------------------------------ */

static void turn_free(hx_turn *t)
{
    if (t->loop_ready) { /* a start that failed after the loop was made */
        if (t->core) shut(t);
        uv_run(&t->loop, UV_RUN_DEFAULT);
        uv_loop_close(&t->loop);
    }
    hx_turn_core_free(t->core);
    hx_udp_close(t->udp);
    /* Adopted connections still queued: their fds are ours to close. */
    for (size_t i = 0; t->adopt && i < t->adopt_len; i++)
        close(t->adopt[(t->adopt_head + i) % HX__TURN_ADOPT_QUEUE].fd);
    SSL_CTX_free(t->ssl_ctx);
    pthread_mutex_destroy(&t->lock);
    pthread_mutex_destroy(&t->tls_lock);
    hx_strmap_free(&t->per_ip);
    free(t->conns);
    free(t->adopt);
    free(t->read_chunk);
    free(t->plain);
    free(t->scratch);
    free(t);
}

int hx_turn_start(const hx_turn_config *cfg, hx_turn **out, char *err, size_t errlen)
{
    *out = NULL;
    hx_turn *t = calloc(1, sizeof *t);
    if (!t) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    t->cfg = *cfg;
    if (!t->cfg.max_conns) t->cfg.max_conns = 1;
    if (!t->cfg.max_total_allocations) t->cfg.max_total_allocations = 1;
    t->ports[0] = t->ports[1] = t->ports[2] = -1;
    pthread_mutex_init(&t->lock, NULL);
    pthread_mutex_init(&t->tls_lock, NULL);
    hx_strmap_init(&t->per_ip);
    t->conns = calloc(t->cfg.max_conns, sizeof *t->conns);
    t->adopt = calloc(HX__TURN_ADOPT_QUEUE, sizeof *t->adopt);
    t->read_chunk = malloc(HX__TURN_READ_CHUNK);
    t->plain = malloc(16384);
    t->scratch = malloc(HX_TURN_STREAM_MAX_FRAME);
    uint8_t key[HX_TURN_NONCE_KEY_LEN];
    if (!t->conns || !t->adopt || !t->read_chunk || !t->plain || !t->scratch ||
        RAND_bytes(key, sizeof key) != 1) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    bool tls = t->cfg.tls_port >= 0 && t->cfg.tls_cert[0] && t->cfg.tls_key[0];
    if (tls && hx__turn_tls_load(&t->cfg, &t->ssl_ctx, err, errlen) != 0) goto fail;
    hx_turn_io io;
    hx__turn_io(t, &io);
    int rc = hx_turn_core_new(&t->cfg, key, &io, &t->core, err, errlen);
    memset(key, 0, sizeof key);
    if (rc != 0) goto fail;
    if (uv_loop_init(&t->loop) != 0) {
        snprintf(err, errlen, "uv_loop_init failed");
        goto fail;
    }
    t->loop_ready = true;
    uv_async_init(&t->loop, &t->wake, on_wake);
    t->wake.data = t;
    uv_timer_init(&t->loop, &t->tick);
    t->tick.data = t;
    t->now_ms = hx_mono_ms();
    hx_turn_core_set_wall_offset(t->core, hx_now_ms() - t->now_ms);
    if (hx__turn_udp_start(t, err, errlen) != 0) goto fail;
    if (t->cfg.tcp_port >= 0 &&
        hx__turn_listen(t, &t->tcp_listen, t->cfg.tcp_port, false, err, errlen))
        goto fail;
    if (tls && hx__turn_listen(t, &t->tls_listen, t->cfg.tls_port, true, err, errlen)) goto fail;
    uv_timer_start(&t->tick, on_tick, HX__TURN_TICK_MS, HX__TURN_TICK_MS);
    if (pthread_create(&t->thread, NULL, run, t) != 0) {
        snprintf(err, errlen, "cannot start the TURN thread");
        goto fail;
    }
    t->thread_started = true;
    *out = t;
    return 0;
fail:
    turn_free(t);
    return -1;
}

int hx_turn_port(const hx_turn *t, hx_turn_proto p)
{
    return t && (unsigned)p < 3 ? t->ports[p] : -1;
}

int hx_turn_adopt_stream(hx_turn *t, int fd, const struct sockaddr *peer, const uint8_t *head,
                         size_t len)
{
    socklen_t pl = peer && peer->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                                       : sizeof(struct sockaddr_in);
    if (!t || !peer || (peer->sa_family != AF_INET && peer->sa_family != AF_INET6) ||
        len > HX_TURN_STREAM_MAX_FRAME) {
        close(fd);
        return -1;
    }
    pthread_mutex_lock(&t->lock);
    if (t->stop || t->adopt_len == HX__TURN_ADOPT_QUEUE) {
        pthread_mutex_unlock(&t->lock);
        close(fd);
        atomic_fetch_add_explicit(&t->refused_connections, 1, memory_order_relaxed);
        return -1;
    }
    hx__turn_adopt *a = &t->adopt[(t->adopt_head + t->adopt_len) % HX__TURN_ADOPT_QUEUE];
    a->fd = fd;
    memset(&a->peer, 0, sizeof a->peer);
    memcpy(&a->peer, peer, pl);
    a->len = len;
    if (len) memcpy(a->head, head, len);
    t->adopt_len++;
    pthread_mutex_unlock(&t->lock);
    uv_async_send(&t->wake);
    return 0;
}

void hx_turn_set_secrets(hx_turn *t, const char secrets[][128], size_t n)
{
    if (!t) return;
    if (n > HX_TURN_MAX_SECRETS) n = HX_TURN_MAX_SECRETS;
    pthread_mutex_lock(&t->lock);
    for (size_t i = 0; i < n; i++)
        snprintf(t->secrets[i], sizeof t->secrets[i], "%s", secrets[i]);
    t->n_secrets = n;
    t->secrets_dirty = true;
    pthread_mutex_unlock(&t->lock);
    uv_async_send(&t->wake);
}

void hx_turn_stats_get(const hx_turn *t, hx_turn_stats *out)
{
    memset(out, 0, sizeof *out);
    if (!t) return;
    if (t->core)
        hx_turn_core_stats(t->core, out);
    else
        *out = t->final;
    out->dropped_packets += atomic_load_explicit(&t->dropped, memory_order_relaxed);
    out->connections = atomic_load_explicit(&t->connections, memory_order_relaxed);
    out->refused_connections = atomic_load_explicit(&t->refused_connections, memory_order_relaxed);
}

void hx_turn_set_owner_data(hx_turn *t, void *data)
{
    t->owner_data = data;
}

void *hx_turn_owner_data(const hx_turn *t)
{
    return t ? t->owner_data : NULL;
}

void hx_turn_stop(hx_turn *t)
{
    if (!t) return;
    pthread_mutex_lock(&t->lock);
    t->stop = true;
    pthread_mutex_unlock(&t->lock);
    uv_async_send(&t->wake);
    if (t->thread_started) pthread_join(t->thread, NULL);
    uv_loop_close(&t->loop);
    t->loop_ready = false;
    turn_free(t);
}
