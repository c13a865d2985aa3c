/*
 * Start, run and stop. Start-up order: data dir, store, secrets, keys,
 * revocations, HTTP; a failure at any step leaves a half-built server that
 * hx_server_destroy can free. Stop (SIGTERM, SIGINT, `hearthctl drain`)
 * drains: every joined session is told `shutdown` with a resume hint and
 * closed (it stays AWAY, in the store, for the restart), then (once the
 * connections are gone, or after resume.drain_timeout_ms) our handles and
 * lws' listeners close and the loop runs dry; main() finishes teardown.
 */
#include "hearthd/daemon.h"

#include "bus/bus_redis.h"
#include "cluster/cluster.h"
#include "common/clock.h"
#include "core/metrics_zero.h"
#include "core/moderate.h"
#include "hearthd/keys.h"
#include "http/http_server.h"
#include "signal/registry.h"
#include "turn/turn.h"
#include "webhook/webhook.h"

#include <errno.h>
#include <jansson.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define HOUSEKEEPING_MS 100
#define SWEEP_EVERY_MS 60000
#define ORPHAN_SWEEP_MS 5000

static int load_revocation(void *arg, const hx_revocation *rv)
{
    return hx_revocations_add(arg, rv->kind, rv->value, rv->not_before, rv->expires_ms);
}

/* A room swept closed: audited (relaxed: nothing is acknowledged on it) for webhooks. */
static void room_closed(void *arg, const hx_room *r)
{
    hx_server_audit_relaxed(arg, "room.finished", r->name, NULL, NULL, NULL, NULL, NULL);
}

static void housekeeping(uv_timer_t *t)
{
    hx_server *s = t->data;
    int64_t mono = hx_mono_ms(), now = hx_now_ms();
    if (s->drain_requested) hx_server_stop(s); /* after the API's answer is on its way */
    hx_sessions_tick(s, mono);
    if (s->cluster) hx_cluster_tick(s->cluster, mono);
    /* A cluster: the records of nodes that died and whose clients resumed nowhere. Only once
     * this node has seen the registry (Redis up), or every node would look dead. */
    if (s->cluster && mono - s->last_orphan_sweep_ms >= ORPHAN_SWEEP_MS &&
        hx_cluster_nodes_seen(s->cluster)) {
        s->last_orphan_sweep_ms = mono;
        hx_sessions_sweep_orphans(s, hx_cluster_node_alive, s->cluster);
    }
    hx_moderation_tick(s, now);
    hx_rooms_sweep(&s->rooms, now, s->cfg.empty_timeout_s * 1000, room_closed, s);
    if (mono - s->last_sweep_ms >= SWEEP_EVERY_MS) {
        s->last_sweep_ms = mono;
        hx_revocations_sweep(&s->revocations, now);
        if (s->store->ops->sweep(s->store, now, &(hx_retention){s->cfg.retention_session_days * HX_DAY_MS, s->cfg.retention_moderation_days * HX_DAY_MS}) < 0)
            hx_log(&s->log, HX_LOG_ERROR, "store.error", "op", "sweep", "error", hx_store_errmsg(s->store), NULL);
    }
}

static void on_handle_closed(uv_handle_t *h)
{
    hx_server *s = h->data;
    s->handles_open--;
}

static void close_handle(hx_server *s, uv_handle_t *h)
{
    if (h->data && !uv_is_closing(h)) uv_close(h, on_handle_closed);
}

static bool connected(const hx_session *x, const void *unused)
{
    (void)unused;
    return x->io != hx_session_away_io();
}

static void drain_one(hx_session *x, void *unused)
{
    (void)unused;
    if (x->state != HX_SESSION_AWAY) hx_session_drain(x);
}

static void stop_poll(uv_timer_t *t)
{
    hx_server *s = t->data;
    /* Wait for the connections (AWAY sessions have none and stay in the store for the restart). */
    if (hx_sessions_each(s, connected, NULL, NULL, NULL) &&
        hx_mono_ms() - s->stop_started_ms < s->cfg.drain_timeout_ms)
        return;
    close_handle(s, (uv_handle_t *)&s->housekeeping);
    close_handle(s, (uv_handle_t *)&s->sig_term);
    close_handle(s, (uv_handle_t *)&s->sig_int);
    close_handle(s, (uv_handle_t *)&s->sig_hup);
    close_handle(s, (uv_handle_t *)&s->stop_timer);
    hx_webhook_stop(s->webhook); /* the cursor written; what is left goes after the restart */
    s->webhook = NULL;
    hx_server_media_stop(s);
    hx_http_stop(s);
}

void hx_server_stop(hx_server *s)
{
    if (s->stopping) return;
    s->stopping = true;
    s->ready = false;
    s->stop_started_ms = hx_mono_ms();
    hx_log(&s->log, HX_LOG_INFO, "server.stopping", NULL);
    /* Drain: joins refused from now on; every joined client gets a resume hint and 1001. The
     * store holds every session already (each change is written before it is acknowledged);
     * dating the heartbeat now starts the restart window from this moment. */
    if (s->cluster) hx_cluster_stop(s->cluster); /* leases released: successors claim them */
    hx_sessions_each(s, hx_session_any, NULL, drain_one, NULL);
    s->sessions->alive_written_ms = 0;
    hx_signal_heartbeat(s, hx_mono_ms());
    s->stop_timer.data = s;
    if (uv_timer_init(s->loop, &s->stop_timer) == 0) {
        s->handles_open++;
        uv_timer_start(&s->stop_timer, stop_poll, 0, 20);
    }
}

static void on_signal(uv_signal_t *h, int signum)
{
    hx_server *s = h->data;
    if (signum == SIGHUP) {
        char err[256];
        if (s->cfg.jwks_file[0]) hx_server_reload_keys(s, err, sizeof err);
        hx_http_reload_tls(s, err, sizeof err); /* logs; a failure keeps the old certificate */
        if (s->turn && hx_turn_reload_tls(s->turn, err, sizeof err))
            hx_log(&s->log, HX_LOG_WARN, "turn.tls_reload_failed", "error", err, NULL);
        return;
    }
    hx_server_stop(s);
}

static int start_handle_signal(hx_server *s, uv_signal_t *h, int signum)
{
    h->data = s;
    if (uv_signal_init(s->loop, h)) return -1;
    s->handles_open++;
    return uv_signal_start(h, on_signal, signum);
}

static int write_port_file(const hx_server *s)
{
    FILE *f = fopen(s->cfg.port_file, "w");
    if (!f) return -1;
    fprintf(f, "%d\n", s->port);
    return fclose(f);
}

static int fail(hx_server *s, const char *step, const char *why)
{
    hx_log(&s->log, HX_LOG_ERROR, "server.start_failed", "step", step, "error", why, NULL);
    return -1;
}

/* A node id for this run when cluster.node names none: 16 hex digits. */
static void random_node_id(char *out, size_t cap)
{
    unsigned char r[8] = {0};
    (void)RAND_bytes(r, sizeof r); /* an id, not a secret: zeros would still be one */
    snprintf(out, cap, "n%02x%02x%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3], r[4], r[5],
             r[6], r[7]);
}

/*
 * The demo app's address for the ready line: public_url when set (ws and wss read as http and
 * https: the page is on the same port), else the listen address and port, a wildcard as
 * loopback (where a browser on this machine finds it).
 */
static void demo_url(const hx_server *s, char *out, size_t cap)
{
    const char *pub = s->cfg.public_url;
    if (pub[0]) {
        size_t n = strlen(pub);
        const char *scheme = !strncmp(pub, "wss://", 6) ? "https://" :
                             !strncmp(pub, "ws://", 5)  ? "http://" : "";
        const char *rest = scheme[0] ? strstr(pub, "://") + 3 : pub;
        snprintf(out, cap, "%s%s%s", scheme, rest, pub[n - 1] == '/' ? "" : "/");
        return;
    }
    const char *host = s->cfg.listen_host;
    if (!strcmp(host, "0.0.0.0"))
        host = "127.0.0.1";
    else if (!strcmp(host, "::"))
        host = "::1";
    snprintf(out, cap, strchr(host, ':') ? "%s://[%s]:%d/" : "%s://%s:%d/",
             s->tls ? "https" : "http", host, s->port);
}

/* This node in the registry (bus_redis.h): who, where, how loaded. */
static const char *node_beacon(void *arg)
{
    hx_server *s = arg;
    char url[HX_CFG_STR + 64];
    if (s->cfg.public_url[0])
        snprintf(url, sizeof url, "%s", s->cfg.public_url);
    else
        snprintf(url, sizeof url, strchr(s->cfg.listen_host, ':') ? "%s://[%s]:%d" : "%s://%s:%d",
                 s->tls ? "https" : "http", s->cfg.listen_host, s->port);
    json_t *j = json_pack("{s:s, s:s, s:I, s:I, s:b, s:I}", "node", s->node, "url", url,
                          "sessions", (json_int_t)hx_sessions_count(s), "rooms",
                          (json_int_t)s->rooms.by_name.count, "draining",
                          s->drain_requested || s->stopping,
                          "at_ms", (json_int_t)hx_now_ms());
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!text || strlen(text) >= sizeof s->beacon) {
        free(text);
        return NULL;
    }
    memcpy(s->beacon, text, strlen(text) + 1);
    free(text);
    return s->beacon;
}

int hx_server_start(hx_server *s, uv_loop_t *loop, const hx_config *cfg)
{
    char err[512], path[HX_CFG_STR + 16];
    memset(s, 0, sizeof *s);
    s->cfg = *cfg;
    s->loop = loop;
    s->log = (hx_logger){stderr, (hx_log_level)cfg->log_level, cfg->log_json};
    s->started_ms = s->last_sweep_ms = hx_mono_ms();
    hx_revocations_init(&s->revocations);
    hx_rooms_init(&s->rooms, 100000);
    hx_metrics_init(&s->metrics);
    hx_metrics_zero(s);
    hx_strmap_init(&s->http_buckets);

    if (cfg->cluster_redis[0]) { /* the nodes' bus (docs/scaling.md) */
        char host[HX_CFG_STR], node[128];
        int port = 0;
        if (hx_config_redis_addr(cfg, host, sizeof host, &port)) return fail(s, "bus", "cluster.redis");
        if (cfg->cluster_node[0])
            snprintf(node, sizeof node, "%s", cfg->cluster_node);
        else
            random_node_id(node, sizeof node);
        if (!(s->bus = hx_bus_redis_new(loop, host, port, node, cfg->cluster_prefix)))
            return fail(s, "bus", "out of memory");
        snprintf(s->node, sizeof s->node, "%s", node);
        hx_bus_redis_set_beacon(s->bus, node_beacon, s);
        hx_log(&s->log, HX_LOG_INFO, "bus.redis", "redis", cfg->cluster_redis, "node", node,
               "channel", cfg->cluster_prefix, NULL);
    } else if (!(s->bus = hx_bus_local_new())) {
        return fail(s, "bus", "out of memory");
    }
    if (hx_signal_attach(s)) return fail(s, "signal", "out of memory");
    if (mkdir(cfg->data_dir, 0700) && errno != EEXIST) return fail(s, "data_dir", strerror(errno));
    snprintf(path, sizeof path, "%s/hearth.db", cfg->data_dir);
    if (strcmp(cfg->store_backend, "postgres") == 0)
        s->store = hx_store_pg_open(cfg->postgres_url, err, sizeof err);
    else
        s->store = hx_store_sqlite_open(path, err, sizeof err);
    if (!s->store) return fail(s, "store", err);
    if (hx_keys_ticket(s, err, sizeof err) || hx_keys_admin(s, err, sizeof err) ||
        hx_keys_turn(s, err, sizeof err)) return fail(s, "keys", err);
    if (cfg->jwks_file[0] && hx_jwks_load_file(cfg->jwks_file, &s->jwks, err, sizeof err))
        return fail(s, "jwks", err);
    if (s->store->ops->list_revocations(s->store, hx_now_ms(), load_revocation, &s->revocations))
        return fail(s, "revocations", hx_store_errmsg(s->store));
    if (hx_moderation_load(s)) return fail(s, "moderation", hx_store_errmsg(s->store));
    if (hx_sessions_restore(s) < 0) return fail(s, "sessions", hx_store_errmsg(s->store));
    if (cfg->cluster_redis[0] && !strcmp(cfg->store_backend, "postgres")) {
        /* Rooms placed over the nodes: a ticket from any node is spent on another, a session's
         * record read by the node its room moves to, so only with a store they share. */
        if (!(s->cluster = hx_cluster_new(s, cfg->cluster_lease_ms)))
            return fail(s, "cluster", "out of memory");
        hx_cluster_on_moved(s->cluster, hx_signal_room_moved, s);
    } else if (cfg->cluster_redis[0]) {
        hx_log(&s->log, HX_LOG_WARN, "cluster.routing_off", "reason",
               "store.backend is not postgres: each node hosts the rooms of the tickets it mints",
               NULL);
    }
    if (hx_server_media_start(s, err, sizeof err)) return fail(s, "media", err);
    if (hx_server_turn_start(s, err, sizeof err)) return fail(s, "turn", err);
    if (hx_webhook_start(s, &s->webhook, err, sizeof err)) return fail(s, "webhook", err);
    if (hx_http_start(s)) return -1;
    if (cfg->port_file[0] && write_port_file(s)) return fail(s, "port_file", strerror(errno));

    s->housekeeping.data = s;
    if (uv_timer_init(loop, &s->housekeeping)) return fail(s, "timer", "uv_timer_init");
    s->handles_open++;
    uv_timer_start(&s->housekeeping, housekeeping, HOUSEKEEPING_MS, HOUSEKEEPING_MS);
    if (start_handle_signal(s, &s->sig_term, SIGTERM) || start_handle_signal(s, &s->sig_int, SIGINT) ||
        start_handle_signal(s, &s->sig_hup, SIGHUP))
        return fail(s, "signals", "uv_signal_init");

    char port[16], keys[16], demo[HX_CFG_STR + 80];
    snprintf(port, sizeof port, "%d", s->port);
    snprintf(keys, sizeof keys, "%zu", s->jwks ? hx_jwks_count(s->jwks) : 0);
    demo_url(s, demo, sizeof demo);
    hx_log(&s->log, HX_LOG_INFO, "server.ready", "version", HX_VERSION, "profile", hx_profile_name(cfg->profile),
           "listen", cfg->listen_host, "port", port, "data_dir", cfg->data_dir, "dev_auth",
           cfg->auth_dev ? "on" : "off", "jwks_keys", keys, "demo", demo, NULL);
    s->ready = true;
    return 0;
}

static int free_bucket(void *arg, const char *key, void *value)
{
    free(value);
    return 1;
}

void hx_server_destroy(hx_server *s)
{
    hx_webhook_stop(s->webhook); /* before the store closes: it writes the cursor */
    s->webhook = NULL;
    hx_server_turn_stop(s);
    hx_server_media_stop(s); /* its events handle closes on our loop, run below or by main() */
    /* Handles of a half-started server: close them and let the loop finish them. */
    if (s->handles_open) {
        close_handle(s, (uv_handle_t *)&s->housekeeping);
        close_handle(s, (uv_handle_t *)&s->sig_term);
        close_handle(s, (uv_handle_t *)&s->sig_int);
        close_handle(s, (uv_handle_t *)&s->sig_hup);
        close_handle(s, (uv_handle_t *)&s->stop_timer);
        if (s->lws) hx_http_stop(s);
        uv_run(s->loop, UV_RUN_DEFAULT);
    }
    hx_http_destroy(s);
    hx_sessions_free_all(s); /* AWAY ones: their records stay in the store for the restart */
    hx_rooms_free(&s->rooms);
    hx_revocations_free(&s->revocations);
    hx_moderation_free(s);
    hx_strmap_foreach(&s->http_buckets, free_bucket, NULL);
    hx_strmap_free(&s->http_buckets);
    hx_signal_detach(s);
    if (s->bus) s->bus->ops->close(s->bus); /* the cluster's claims in flight come back NULL */
    s->bus = NULL;
    hx_cluster_free(s->cluster);
    s->cluster = NULL;
    hx_jwks_free(s->jwks);
    s->jwks = NULL;
    if (s->store) s->store->ops->close(s->store);
    s->store = NULL;
}
