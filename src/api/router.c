/*
 * Routing: health and metrics endpoints first (never rate limited, so
 * probes and scrapers always get through), then the per-address token
 * bucket, then the embedded assets (the demo app at / and /demo/, the SDK at
 * /sdk/), /v1/join-tickets, /v1/rooms/public and /v1/admin/. Unknown paths
 * get 404, known paths with the wrong method 405, every error a JSON body
 * with a code.
 */
#include "api/api.h"
#include "core/metric_names.h"

#include "cluster/cluster.h"
#include "common/clock.h"
#include "common/ratelimit.h"
#include "core/metrics_zero.h"
#include "core/slo.h"
#include "metrics/process.h"
#include "sfu/remote.h"
#include "signal/protocol.h"
#include "sfu/workers.h"
#include "signal/registry.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TRACKED_ADDRESSES 65536

void hx_http_resp_free(hx_http_resp *resp)
{
    free(resp->body);
    resp->body = NULL;
}

void hx_api_json(hx_http_resp *resp, int status, json_t *body)
{
    resp->status = status;
    resp->content_type = "application/json";
    resp->body = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
    resp->len = resp->body ? strlen(resp->body) : 0;
    json_decref(body);
}

void hx_api_error(hx_http_resp *resp, int status, const char *code, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    hx_api_json(resp, status, json_pack("{s:{s:s, s:s}}", "error", "code", code, "message", msg));
}

json_t *hx_api_body(const hx_http_req *req, hx_http_resp *resp)
{
    json_error_t err;
    json_t *o =
        req->body_len ? json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &err) : NULL;
    if (!json_is_object(o)) {
        json_decref(o);
        hx_api_error(resp, 400, "bad_json", "the body must be a JSON object");
        return NULL;
    }
    return o;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int hx_api_pct_decode(char *s)
{
    char *w = s;
    for (const char *r = s; *r; r++) {
        if (*r == '%') {
            int h = hexval(r[1]), l = h < 0 ? -1 : hexval(r[2]);
            if (h < 0 || l < 0 || (h == 0 && l == 0)) return -1;
            *w++ = (char)(h << 4 | l);
            r += 2;
        } else {
            *w++ = *r == '+' ? ' ' : *r;
        }
    }
    *w = '\0';
    return 0;
}

bool hx_api_query(const hx_http_req *req, const char *name, char *out, size_t outlen)
{
    size_t nl = strlen(name);
    const char *p = req->query;
    while (*p) {
        const char *amp = strchr(p, '&');
        size_t seg = amp ? (size_t)(amp - p) : strlen(p);
        if (seg > nl && strncmp(p, name, nl) == 0 && p[nl] == '=') {
            size_t vl = seg - nl - 1;
            if (vl >= outlen) return false;
            memcpy(out, p + nl + 1, vl);
            out[vl] = '\0';
            return hx_api_pct_decode(out) == 0;
        }
        p += seg + (amp ? 1 : 0);
    }
    return false;
}

static int drop_stale_bucket(void *arg, const char *key, void *value)
{
    hx_bucket *b = value;
    if (*(const int64_t *)arg - b->last_ms > 60000) {
        free(b);
        return 1;
    }
    return 0;
}

/* One token bucket per client address, kept while the address is active. */
static bool admit(hx_server *s, const hx_http_req *req, hx_http_resp *resp)
{
    int64_t now = hx_mono_ms();
    hx_bucket *b = hx_strmap_get(&s->http_buckets, req->peer);
    if (!b) {
        if (s->http_buckets.count >= MAX_TRACKED_ADDRESSES)
            hx_strmap_foreach(&s->http_buckets, drop_stale_bucket, &now);
        if (s->http_buckets.count >= MAX_TRACKED_ADDRESSES || !(b = malloc(sizeof *b))) {
            hx_api_error(resp, 503, "not_ready", "too many clients");
            return false;
        }
        hx_bucket_init(b, s->cfg.http_rate, s->cfg.http_burst, now);
        if (hx_strmap_put(&s->http_buckets, req->peer, b, NULL)) {
            free(b);
            hx_api_error(resp, 503, "not_ready", "out of memory");
            return false;
        }
    }
    if (hx_bucket_take(b, now)) return true;
    int wait = (int)(hx_bucket_wait_s(b, now) + 0.999);
    resp->retry_after_s = wait < 1 ? 1 : wait;
    hx_metrics_add(&s->metrics, HX_M_HTTP_RATE_LIMITED_TOTAL, NULL, NULL, 1);
    hx_api_error(resp, 429, "rate_limited", "too many requests from this address");
    return false;
}

static void bus_count(hx_metrics *mx, const char *name, const char *help, uint64_t now,
                      uint64_t *seen)
{
    hx_metrics_add(mx, name, help, NULL, NULL, (double)(now - *seen));
    *seen = now;
}

/* The Redis bus (docs/scaling.md): whether it is up, and what crossed it. */
static void bus_metrics(hx_server *s)
{
    hx_bus_redis_stats st;
    hx_bus_redis_stats_get(s->bus, &st);
    hx_bus_redis_stats *seen = &s->bus_seen;
    hx_metrics *mx = &s->metrics;
    hx_metrics_set(mx, HX_M_BUS_REDIS_UP,
                   st.up ? 1 : 0);
    bus_count(mx, HX_M_BUS_PUBLISHED_TOTAL,
              st.published, &seen->published);
    bus_count(mx, HX_M_BUS_RECEIVED_TOTAL,
              st.received, &seen->received);
    bus_count(mx, HX_M_BUS_DROPPED_TOTAL, st.dropped,
              &seen->dropped);
    bus_count(mx, HX_M_BUS_RECONNECTS_TOTAL,
              st.reconnects, &seen->reconnects);
    if (s->cluster) {
        size_t pending = 0, held = hx_cluster_leases(s->cluster, &pending);
        hx_metrics_set(mx, HX_M_CLUSTER_LEASES_HELD,
                       (double)held);
        hx_metrics_set(mx, HX_M_CLUSTER_LEASES_PENDING,
                       (double)pending);
    }
}

/* Media workers (sfu/workers.h): how the rooms spread over them. */
static void worker_metrics(hx_server *s)
{
    for (size_t i = 0; i < s->workers->n; i++) {
        char label[24];
        snprintf(label, sizeof label, "%zu", i);
        hx_metrics_set_labeled(&s->metrics, HX_M_WORKER_TRANSPORTS, "worker", label,
                               (double)s->workers->transports[i]);
        /* the counters, at zero until the worker forwards or dies */
        hx_metrics_add(&s->metrics, HX_M_WORKER_PACKETS_SENT_TOTAL, "worker", label, 0);
        if (s->remotes[i]) hx_metrics_add(&s->metrics, HX_M_WORKER_RESTARTS_TOTAL, "worker", label, 0);
    }
    hx_metrics_set(&s->metrics, HX_M_ROOMS_SPREAD,
                   (double)s->workers->spread_rooms);
    hx_metrics_set(&s->metrics, HX_M_WORKER_RELAYS_STARTED_TOTAL,
                   (double)s->workers->relays_started);
}

/* What hearthd and each media worker process cost (metrics/process.h), and which build runs. */
static void process_metrics(hx_server *s)
{
    hx_metrics *mx = &s->metrics;
    hx_proc_sample p;
    if (hx_proc_sample_get(0, &p) == 0) {
        hx_metrics_set(mx, "process_cpu_seconds_total", "User and system CPU time spent in seconds",
                       p.cpu_seconds);
        hx_metrics_set(mx, "process_resident_memory_bytes", "Resident memory size in bytes",
                       p.rss_bytes);
        hx_metrics_set(mx, "process_open_fds", "Number of open file descriptors", p.open_fds);
        hx_metrics_set(mx, "process_max_fds", "Maximum number of open file descriptors",
                       p.max_fds);
        hx_metrics_set(mx, "process_start_time_seconds",
                       "Start time of the process since unix epoch in seconds", p.start_time_s);
    }
    for (size_t i = 0; s->workers && i < s->n_engines; i++) {
        int pid = s->remotes[i] ? hx_remote_pid(s->remotes[i]) : 0;
        if (pid <= 0 || hx_proc_sample_get(pid, &p)) continue;
        char w[24];
        snprintf(w, sizeof w, "%zu", i);
        hx_metrics_set_labeled(mx, HX_M_WORKER_CPU_SECONDS_TOTAL, "worker", w, p.cpu_seconds);
        hx_metrics_set_labeled(mx, HX_M_WORKER_RESIDENT_MEMORY_BYTES, "worker", w, p.rss_bytes);
        hx_metrics_set_labeled(mx, HX_M_WORKER_OPEN_FDS, "worker", w, p.open_fds);
    }
    char proto[16];
    snprintf(proto, sizeof proto, "%d-%d", HX_PROTO_MIN, HX_PROTO_MAX);
    hx_metrics_set_labeled2(mx, HX_M_BUILD_INFO, "version", HX_VERSION, "protocols", proto, 1);
}

static void metrics(hx_server *s, hx_http_resp *resp)
{
    if (s->workers && s->workers->n > 1) worker_metrics(s);
    if (s->bus && !strcmp(s->bus->ops->name, "redis")) bus_metrics(s);
    hx_metrics_zero(s); /* every family and the SLI series, at zero until counted */
    process_metrics(s);
    size_t participants = 0;
    for (size_t i = 0; i < s->rooms.by_name.nbuckets; i++)
        for (hx_strmap_entry *e = s->rooms.by_name.buckets[i]; e; e = e->next)
            participants += ((hx_room *)e->value)->count;
    hx_metrics_set(&s->metrics, HX_M_ROOMS, (double)s->rooms.by_name.count);
    hx_metrics_set(&s->metrics, HX_M_PARTICIPANTS,
                   (double)participants);
    hx_metrics_set(&s->metrics, HX_M_SIGNAL_SESSIONS,
                   (double)hx_sessions_count(s));
    hx_metrics_set(&s->metrics, HX_M_UPTIME_SECONDS,
                   (double)(hx_mono_ms() - s->started_ms) / 1000.0);
    resp->status = 200;
    resp->content_type = "text/plain; version=0.0.4";
    resp->body = hx_metrics_render(&s->metrics, &resp->len);
    if (!resp->body) hx_api_error(resp, 500, "internal_error", "out of memory");
}

static void route(hx_server *s, const hx_http_req *req, hx_http_resp *resp)
{
    const char *p = req->path;
    bool get = req->method == HX_HTTP_GET, post = req->method == HX_HTTP_POST;

    if (!strcmp(p, "/healthz") || !strcmp(p, "/readyz") || !strcmp(p, "/metrics")) {
        if (!get) {
            hx_api_error(resp, 405, "method_not_allowed", "use GET");
        } else if (!strcmp(p, "/healthz")) {
            hx_api_json(resp, 200, json_pack("{s:s}", "status", "ok"));
        } else if (!strcmp(p, "/readyz")) {
            bool ready = s->ready && !s->stopping;
            hx_api_json(resp, ready ? 200 : 503,
                        json_pack("{s:s}", "status", ready ? "ready" : "not_ready"));
        } else {
            metrics(s, resp);
        }
        return;
    }
    bool asset = !strcmp(p, "/") || !strncmp(p, "/sdk/", 5) || !strcmp(p, "/demo") ||
                 !strncmp(p, "/demo/", 6);
    if (strncmp(p, "/v1/", 4) != 0 && !asset) {
        hx_api_error(resp, 404, "not_found", "no such endpoint");
        return;
    }
    if (!admit(s, req, resp)) return;
    if (asset) {
        if (!get)
            hx_api_error(resp, 405, "method_not_allowed", "use GET");
        else if (!hx_api_asset(req, resp))
            hx_api_error(resp, 404, "not_found", "no such file");
        return;
    }
    if (!strcmp(p, "/v1/join-tickets")) {
        if (!post)
            hx_api_error(resp, 405, "method_not_allowed", "use POST");
        else
            hx_api_join_ticket(s, req, resp);
    } else if (!strcmp(p, "/v1/rooms/public")) {
        hx_api_public_rooms(s, req, resp);
    } else if (!strncmp(p, "/v1/admin/", 10)) {
        hx_api_admin(s, req, resp, p + 10);
    } else {
        hx_api_error(resp, 404, "not_found", "no such endpoint");
    }
}

/* CORS (http.cors_origins): the allowed value for this request's Origin, or NULL. */
static const char *cors_origin(const hx_server *s, const hx_http_req *req)
{
    if (!req->has_origin) return NULL;
    for (size_t i = 0; i < s->cfg.n_cors; i++) {
        if (!strcmp(s->cfg.cors_origins[i], "*")) return "*";
        if (!strcmp(s->cfg.cors_origins[i], req->origin)) return req->origin;
    }
    return NULL;
}

void hx_api_handle(hx_server *s, const hx_http_req *req, hx_http_resp *resp)
{
    memset(resp, 0, sizeof *resp);
    resp->cors_origin = cors_origin(s, req);
    if (req->method == HX_HTTP_OPTIONS) {
        /* A CORS preflight: no body, the allow headers when the origin may ask. */
        resp->status = 204;
        resp->content_type = "text/plain";
        resp->body = calloc(1, 1);
        resp->cors_preflight = resp->cors_origin != NULL;
        if (!resp->body) hx_api_error(resp, 500, "internal_error", "out of memory");
    } else if (req->body_len > s->cfg.max_body_bytes) {
        hx_api_error(resp, 413, "body_too_large", "the body is over %zu bytes",
                     s->cfg.max_body_bytes);
    } else {
        route(s, req, resp);
    }
    char status[8];
    snprintf(status, sizeof status, "%d", resp->status);
    hx_metrics_add(&s->metrics, HX_M_HTTP_REQUESTS_TOTAL, "status",
                   status, 1);
}
