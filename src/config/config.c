/*
 * The configuration keys: one table maps each `section.key` to a field of
 * hx_config and a type, so the file parser, `--set` and --check-config all
 * share one definition. Profiles are plain functions filling defaults.
 */
#include "config/config.h"

#include "common/log.h"
#include "webhook/webhook.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef enum {
    T_STR,
    T_INT,
    T_BOOL,
    T_LIST,
    T_DOUBLE,
    T_SIZE,
    T_LEVEL,
    T_FORMAT,
    T_LISTEN,
    T_REAL /* a double from a decimal number (T_DOUBLE takes integers only) */
} key_type;

typedef struct key_def {
    const char *name;
    key_type type;
    size_t off;
    size_t size;      /* T_STR: buffer size; T_LIST: element size */
    size_t count_off; /* T_LIST: offset of the count */
    int64_t min, max;
    int secret;
} key_def;

/* T_INT bounds of a key whose range its owner checks in hx_config_validate. */
#define ANY_INT INT_MIN, INT_MAX

#define F(field) offsetof(hx_config, field), sizeof(((hx_config *)0)->field)
#define L(field, cnt)                                                                              \
    offsetof(hx_config, field), sizeof(((hx_config *)0)->field[0]), offsetof(hx_config, cnt)

static const key_def keys[] = {
    {"listen", T_LISTEN, 0, 0, 0, 0, 0, 0},
    {"data_dir", T_STR, F(data_dir), 0, 0, 0, 0},
    {"public_url", T_STR, F(public_url), 0, 0, 0, 0},
    {"log_format", T_FORMAT, F(log_json), 0, 0, 0, 0},
    {"log_level", T_LEVEL, F(log_level), 0, 0, 0, 0},
    {"admin_key", T_STR, F(admin_key), 0, 0, 0, 1},
    {"store.backend", T_STR, F(store_backend), 0, 0, 0, 0},
    {"store.postgres_url", T_STR, F(postgres_url), 0, 0, 0, 1},
    {"cluster.redis", T_STR, F(cluster_redis), 0, 0, 0, 0},
    {"cluster.node", T_STR, F(cluster_node), 0, 0, 0, 0},
    {"cluster.prefix", T_STR, F(cluster_prefix), 0, 0, 0, 0},
    {"cluster.lease_ms", T_INT, F(cluster_lease_ms), 0, 1000, 60000, 0},
    {"auth.dev", T_BOOL, F(auth_dev), 0, 0, 0, 0},
    {"auth.jwks_file", T_STR, F(jwks_file), 0, 0, 0, 0},
    {"auth.issuers", T_LIST, L(issuers, n_issuers), 0, 0, 0},
    {"auth.audience", T_STR, F(audience), 0, 0, 0, 0},
    {"auth.leeway_s", T_INT, F(leeway_s), 0, 0, 3600, 0},
    {"auth.max_lifetime_s", T_INT, F(max_lifetime_s), 0, 60, 30 * 86400, 0},
    {"auth.ticket_ttl_s", T_INT, F(ticket_ttl_s), 0, 1, 300, 0},
    {"rooms.max_participants", T_INT, F(max_participants), 0, 1, 100000, 0},
    {"rooms.empty_timeout_s", T_INT, F(empty_timeout_s), 0, 0, 86400, 0},
    {"rooms.public_list", T_BOOL, F(rooms_public_list), 0, 0, 0, 0},
    {"signal.max_message_bytes", T_SIZE, F(max_message_bytes), 0, 1024, 1 << 20, 0},
    {"signal.rate_per_s", T_DOUBLE, F(sig_rate), 0, 1, 10000, 0},
    {"signal.burst", T_DOUBLE, F(sig_burst), 0, 1, 10000, 0},
    {"signal.join_timeout_ms", T_INT, F(join_timeout_ms), 0, 100, 600000, 0},
    {"signal.ping_interval_s", T_INT, F(ping_interval_s), 0, 1, 3600, 0},
    {"http.max_body_bytes", T_SIZE, F(max_body_bytes), 0, 256, 1 << 20, 0},
    {"http.rate_per_s", T_DOUBLE, F(http_rate), 0, 1, 100000, 0},
    {"http.burst", T_DOUBLE, F(http_burst), 0, 1, 100000, 0},
    {"http.cors_origins", T_LIST, L(cors_origins, n_cors), 0, 0, 0},
    {"ice.stun", T_LIST, L(stun, n_stun), 0, 0, 0},
    {"media.enabled", T_BOOL, F(media), 0, 0, 0, 0},
    {"media.host", T_STR, F(media_host), 0, 0, 0, 0},
    {"media.port", T_INT, F(media_port), 0, 0, 65535, 0},
    {"media.tcp_port", T_INT, F(media_tcp_port), 0, -1, 65535, 0},
    {"media.workers", T_INT, F(media_workers), 0, 0, 16, 0},
    {"media.isolation", T_STR, F(media_isolation), 0, 0, 0, 0},
    {"media.split_subscribers", T_INT, F(split_subscribers), 0, 0, 100000, 0},
    {"media.announce", T_LIST, L(announce, n_announce), 0, 0, 0},
    {"media.max_bitrate_bps", T_INT, F(remb_bps), 0, 30000, 100000000, 0},
    {"media.retransmit", T_STR, F(retransmit), 0, 0, 0, 0},
    {"media.max_packet_rate", T_INT, F(max_packet_rate), 0, 100, 1000000, 0},
    {"media.offer_timeout_ms", T_INT, F(offer_timeout_ms), 0, 500, 600000, 0},
    {"media.connect_timeout_ms", T_INT, F(connect_timeout_ms), 0, 1000, 600000, 0},
    {"media.mlines_before_recycle", T_INT, F(mlines_before_recycle), 0, 1, 64, 0},
    {"media.speaker_interval_ms", T_INT, F(speaker_interval_ms), 0, ANY_INT, 0},
    {"media.speaker_threshold", T_INT, F(speaker_threshold), 0, ANY_INT, 0},
    {"media.speaker_smoothing", T_REAL, F(speaker_smoothing), 0, 0, 0, 0},
    {"media.adaptive", T_BOOL, F(adaptive), 0, 0, 0, 0},
    {"audit.retention_session_days", T_INT, F(retention_session_days), 0, 0, 36500, 0},
    {"audit.retention_moderation_days", T_INT, F(retention_moderation_days), 0, 0, 36500, 0},
    {"audit.verbose", T_BOOL, F(audit_verbose), 0, 0, 0, 0},
    {"moderation.timeout_policy", T_STR, F(timeout_policy), 0, 0, 0, 0},
    {"moderation.ratification", T_STR, F(ratification), 0, 0, 0, 0},
    {"moderation.vote_window_s", T_INT, F(vote_window_s), 0, 10, 86400, 0},
    {"moderation.quorum_pct", T_INT, F(quorum_pct), 0, 0, 99, 0},
    {"moderation.majority_pct", T_INT, F(majority_pct), 0, 0, 99, 0},
    {"moderation.kick_cooldown_s", T_INT, F(kick_cooldown_s), 0, 0, 30 * 86400, 0},
    {"moderation.timeout_s", T_INT, F(timeout_s), 0, 1, 30 * 86400, 0},
    {"resume.drop_grace_s", T_INT, F(drop_grace_s), 0, 0, 3600, 0},
    {"resume.restart_grace_s", T_INT, F(restart_grace_s), 0, 0, 3600, 0},
    {"resume.rotate_s", T_INT, F(resume_rotate_s), 0, 1, 86400, 0},
    {"resume.drain_retry_after_ms", T_INT, F(drain_retry_after_ms), 0, 0, 60000, 0},
    {"resume.drain_timeout_ms", T_INT, F(drain_timeout_ms), 0, 500, 120000, 0},
    {"turn.mode", T_STR, F(turn_mode), 0, 0, 0, 0},
    {"turn.secrets", T_LIST, L(turn_secrets, n_turn_secrets), 0, 0, 1},
    {"turn.ttl_s", T_INT, F(turn_ttl_s), 0, 1, 1000000000, 0},
    {"turn.realm", T_STR, F(turn_realm), 0, 0, 0, 0},
    {"turn.host", T_STR, F(turn_host), 0, 0, 0, 0},
    {"turn.udp_port", T_INT, F(turn_udp_port), 0, -1, 65535, 0},
    {"turn.tcp_port", T_INT, F(turn_tcp_port), 0, -1, 65535, 0},
    {"turn.tls_port", T_INT, F(turn_tls_port), 0, -1, 65535, 0},
    {"turn.on_http_port", T_BOOL, F(turn_on_http_port), 0, 0, 0, 0},
    {"turn.relay_host", T_STR, F(turn_relay_host), 0, 0, 0, 0},
    {"turn.min_port", T_INT, F(turn_min_port), 0, 0, 65535, 0},
    {"turn.max_port", T_INT, F(turn_max_port), 0, 0, 65535, 0},
    {"turn.announce", T_STR, F(turn_announce), 0, 0, 0, 0},
    {"turn.allow_peers", T_LIST, L(turn_allow, n_turn_allow), 0, 0, 0},
    {"turn.max_allocations", T_INT, F(turn_max_allocations), 0, 1, 10000, 0},
    {"turn.max_bps", T_INT, F(turn_max_bps), 0, 64000, 10000000000LL, 0},
    {"turn.max_lifetime_s", T_INT, F(turn_max_lifetime_s), 0, 60, 86400, 0},
    {"turn.urls", T_LIST, L(turn_urls, n_turn_urls), 0, 0, 0},
    {"tls.cert_file", T_STR, F(tls_cert), 0, 0, 0, 0},
    {"tls.key_file", T_STR, F(tls_key), 0, 0, 0, 0},
    {"http.trusted_proxies", T_LIST, L(trusted_proxies, n_trusted_proxies), 0, 0, 0},
    {"http.max_conns_per_addr", T_INT, F(max_conns_per_addr), 0, 1, 1000000, 0},
    {"http.max_head_bytes", T_SIZE, F(max_head_bytes), 0, 1024, 65536, 0},
    {"http.proxy_header", T_STR, F(proxy_header), 0, 0, 0, 0},
    {"webhook.url", T_STR, F(webhook_url), 0, 0, 0, 0},
    {"webhook.secret", T_STR, F(webhook_secret), 0, 0, 0, 1},
    {"webhook.events", T_LIST, L(webhook_events, n_webhook_events), 0, 0, 0},
    {"webhook.timeout_ms", T_INT, F(webhook_timeout_ms), 0, 100, 300000, 0},
    {"webhook.backoff_ms", T_INT, F(webhook_backoff_ms), 0, 10, 3600000, 0},
    {"webhook.backoff_max_ms", T_INT, F(webhook_backoff_max_ms), 0, 10, 86400000, 0},
    {"webhook.max_attempts", T_INT, F(webhook_max_attempts), 0, 1, 1000000, 0},
    {"webhook.max_age_s", T_INT, F(webhook_max_age_s), 0, 0, 365 * 86400, 0},
    {"webhook.queue_max", T_INT, F(webhook_queue_max), 0, 1, 100000, 0},
    {"webhook.poll_ms", T_INT, F(webhook_poll_ms), 0, 10, 60000, 0},
    {"webhook.dead_letter_max_mb", T_INT, F(webhook_dead_letter_max_mb), 0, 1, 1000000, 0},
};

static const char *const profile_names[] = {"dev", "small", "standard", "large"};

const char *hx_profile_name(hx_profile p)
{
    return (unsigned)p < 4 ? profile_names[p] : "?";
}

int hx_profile_parse(const char *s, hx_profile *out)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(s, profile_names[i]) == 0) {
            *out = (hx_profile)i;
            return 0;
        }
    return -1;
}

void hx_config_defaults(hx_config *cfg, hx_profile p)
{
    static const struct {
        int max_participants;
        int64_t empty_timeout_s;
        double http_rate, http_burst;
        int64_t drop_grace_s, restart_grace_s; /* DESIGN §9: bigger rooms hold absent seats less long */
    } per[] = {{50, 10, 50, 100, 30, 60},
               {50, 30, 20, 40, 30, 120},
               {200, 60, 50, 100, 20, 60},
               {1000, 120, 200, 400, 10, 30}};

    memset(cfg, 0, sizeof *cfg);
    cfg->profile = p;
    snprintf(cfg->listen_host, sizeof cfg->listen_host, "%s",
             p == HX_PROFILE_DEV ? "127.0.0.1" : "0.0.0.0");
    cfg->listen_port = 7880;
    snprintf(cfg->data_dir, sizeof cfg->data_dir, "%s",
             p == HX_PROFILE_DEV ? "./hearth-data" : "/var/lib/hearth");
    cfg->log_level = HX_LOG_INFO;
    snprintf(cfg->store_backend, sizeof cfg->store_backend, "sqlite");
    snprintf(cfg->cluster_prefix, sizeof cfg->cluster_prefix, "hearth");
    cfg->cluster_lease_ms = 5000; /* a dead node's rooms move within about this */
    cfg->auth_dev = p == HX_PROFILE_DEV;
    cfg->leeway_s = 60;
    cfg->max_lifetime_s = 86400;
    cfg->ticket_ttl_s = 30;
    cfg->max_participants = per[p].max_participants;
    cfg->empty_timeout_s = per[p].empty_timeout_s;
    cfg->rooms_public_list = p == HX_PROFILE_DEV; /* room names are the operator's to publish */
    cfg->max_message_bytes = 65536;
    cfg->sig_rate = 20;
    cfg->sig_burst = 40;
    cfg->join_timeout_ms = 10000;
    cfg->ping_interval_s = 15;
    cfg->max_body_bytes = 16384;
    cfg->http_rate = per[p].http_rate;
    cfg->http_burst = per[p].http_burst;
    cfg->media = true;
    snprintf(cfg->media_host, sizeof cfg->media_host, "%s",
             p == HX_PROFILE_DEV ? "127.0.0.1" : "0.0.0.0");
    cfg->media_port = p == HX_PROFILE_DEV ? 0 : 7882;
    cfg->media_tcp_port = p == HX_PROFILE_DEV ? 0 : 7881;
    cfg->media_workers = 0; /* one per core (hx_config_media_workers) */
    cfg->split_subscribers = 250;
    snprintf(cfg->media_isolation, sizeof cfg->media_isolation, "auto");
    cfg->remb_bps = 3000000;
    cfg->adaptive = true; /* each subscriber's downlink estimate caps its layers (docs/design.md §1) */
    snprintf(cfg->retransmit, sizeof cfg->retransmit, "rtx");
    cfg->max_packet_rate = 5000;
    cfg->offer_timeout_ms = 10000;
    cfg->connect_timeout_ms = 15000;
    cfg->mlines_before_recycle = 32;
    hx_speaker_config sc;
    hx_speaker_config_default(&sc);
    cfg->speaker_interval_ms = sc.interval_ms;
    cfg->speaker_threshold = sc.threshold;
    cfg->speaker_smoothing = sc.smoothing;
    cfg->retention_session_days = 30; /* DESIGN §6, the same in every profile */
    cfg->retention_moderation_days = 365;
    snprintf(cfg->timeout_policy, sizeof cfg->timeout_policy, "listen_only"); /* DESIGN §5 */
    snprintf(cfg->ratification, sizeof cfg->ratification, "required");
    cfg->vote_window_s = 600;
    cfg->quorum_pct = 50;
    cfg->majority_pct = 50;
    cfg->kick_cooldown_s = 600;
    cfg->timeout_s = 600;
    cfg->drop_grace_s = per[p].drop_grace_s;
    cfg->restart_grace_s = per[p].restart_grace_s;
    cfg->resume_rotate_s = 300;
    cfg->drain_retry_after_ms = 500; /* a restart takes about that; clients back off after */
    cfg->drain_timeout_ms = 5000;
    bool dev = p == HX_PROFILE_DEV;
    snprintf(cfg->turn_mode, sizeof cfg->turn_mode, "embedded"); /* DESIGN §3: one binary serves */
    cfg->turn_ttl_s = 3600;
    snprintf(cfg->turn_realm, sizeof cfg->turn_realm, "hearth");
    snprintf(cfg->turn_host, sizeof cfg->turn_host, "%s", dev ? "127.0.0.1" : "0.0.0.0");
    cfg->turn_udp_port = dev ? 0 : 3478; /* dev: many daemons side by side in tests */
    cfg->turn_tcp_port = dev ? 0 : 3478;
    cfg->turn_tls_port = dev ? 0 : 5349;
    cfg->turn_on_http_port = true;
    cfg->turn_max_allocations = 32; /* Chromium: one per PC per URL (up to 3); tabs and devices */
    cfg->turn_max_bps = 20000000;
    cfg->turn_max_lifetime_s = 3600;
    cfg->max_conns_per_addr = dev ? 2000 : 64; /* dev: load tests open hundreds from 127.0.0.1 */
    cfg->max_head_bytes = 8192;
    snprintf(cfg->proxy_header, sizeof cfg->proxy_header, "x-forwarded-for"); /* nginx, HAProxy */
    cfg->webhook_timeout_ms = 10000; /* docs/webhooks.md: 15 failures span 4..8 min */
    cfg->webhook_backoff_ms = 500;
    cfg->webhook_backoff_max_ms = 60000;
    cfg->webhook_max_attempts = 15;
    cfg->webhook_max_age_s = 86400;
    cfg->webhook_queue_max = 1000;
    cfg->webhook_poll_ms = 250;
    cfg->webhook_dead_letter_max_mb = 64;
    if (p ==
        HX_PROFILE_DEV) { /* the demo page and SDK may be served from anywhere in development */
        cfg->n_cors = 1;
        snprintf(cfg->cors_origins[0], sizeof cfg->cors_origins[0], "*");
    }
}

static int parse_i64(const char *v, int64_t *out)
{
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (errno || end == v || *end) return -1;
    *out = x;
    return 0;
}

static int parse_bool(const char *v, bool *out)
{
    if (!strcasecmp(v, "true") || !strcmp(v, "1") || !strcasecmp(v, "yes") || !strcasecmp(v, "on"))
        *out = true;
    else if (!strcasecmp(v, "false") || !strcmp(v, "0") || !strcasecmp(v, "no") ||
             !strcasecmp(v, "off"))
        *out = false;
    else
        return -1;
    return 0;
}

/* "host:port", "[v6]:port" or ":port". */
static int parse_listen(hx_config *cfg, const char *v)
{
    const char *colon;
    char host[sizeof cfg->listen_host];
    if (v[0] == '[') {
        const char *rb = strchr(v, ']');
        if (!rb || rb[1] != ':' || (size_t)(rb - v - 1) >= sizeof host) return -1;
        memcpy(host, v + 1, (size_t)(rb - v - 1));
        host[rb - v - 1] = '\0';
        colon = rb + 1;
    } else {
        colon = strrchr(v, ':');
        if (!colon || (size_t)(colon - v) >= sizeof host) return -1;
        memcpy(host, v, (size_t)(colon - v));
        host[colon - v] = '\0';
        if (!host[0]) snprintf(host, sizeof host, "0.0.0.0");
    }
    int64_t port;
    if (parse_i64(colon + 1, &port) || port < 0 || port > 65535) return -1;
    snprintf(cfg->listen_host, sizeof cfg->listen_host, "%s", host);
    cfg->listen_port = (int)port;
    return 0;
}

static int parse_list(char *base, size_t elem, size_t *count, const char *v)
{
    size_t n = 0;
    const char *p = v;
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        if (!*p) break;
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        while (len && p[len - 1] == ' ')
            len--;
        if (n >= HX_CFG_MAX_LIST || len >= elem) return -1;
        memcpy(base + n * elem, p, len);
        base[n * elem + len] = '\0';
        n++;
        p += len;
    }
    *count = n;
    return 0;
}

int hx_config_set(hx_config *cfg, const char *key, const char *v, char *err, size_t errlen)
{
    const key_def *k = NULL;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (strcmp(keys[i].name, key) == 0) k = &keys[i];
    if (!k) {
        snprintf(err, errlen, "unknown configuration key '%s'", key);
        return -1;
    }
    char *f = (char *)cfg + k->off;
    int64_t i64;
    bool b;
    switch (k->type) {
    case T_STR:
        if (strlen(v) >= k->size) goto bad;
        memcpy(f, v, strlen(v) + 1);
        return 0;
    case T_INT:
    case T_SIZE:
    case T_DOUBLE:
        if (parse_i64(v, &i64) || i64 < k->min || (k->max && i64 > k->max)) {
            if (k->min == INT_MIN && k->max == INT_MAX)
                snprintf(err, errlen, "%s: '%s' is not an integer", key, v);
            else
                snprintf(err, errlen, "%s: '%s' is not an integer in %lld..%lld", key, v,
                         (long long)k->min, (long long)k->max);
            return -1;
        }
        if (k->type == T_DOUBLE)
            *(double *)f = (double)i64;
        else if (k->type == T_SIZE)
            *(size_t *)f = (size_t)i64;
        else if (k->size == sizeof(int))
            *(int *)f = (int)i64;
        else
            *(int64_t *)f = i64;
        return 0;
    case T_REAL: {
        char *end;
        errno = 0;
        double d = strtod(v, &end);
        if (errno || end == v || *end) {
            snprintf(err, errlen, "%s: '%s' is not a number", key, v);
            return -1;
        }
        *(double *)f = d;
        return 0;
    }
    case T_BOOL:
        if (parse_bool(v, &b)) goto bad;
        *(bool *)f = b;
        return 0;
    case T_LIST:
        if (parse_list(f, k->size, (size_t *)((char *)cfg + k->count_off), v)) goto bad;
        return 0;
    case T_LEVEL:
        if ((i64 = hx_log_level_parse(v)) < 0) goto bad;
        cfg->log_level = (int)i64;
        return 0;
    case T_FORMAT:
        if (strcmp(v, "json") && strcmp(v, "text")) goto bad;
        cfg->log_json = strcmp(v, "json") == 0;
        return 0;
    case T_LISTEN:
        if (parse_listen(cfg, v)) goto bad;
        return 0;
    }
bad:
    snprintf(err, errlen, "%s: invalid value '%s'", key, v);
    return -1;
}

/* webhook.*: the URL's and the patterns' shapes are the webhook's own (webhook/webhook.h). */
static int validate_webhook(const hx_config *cfg, char *err, size_t errlen)
{
    hx_wh_url u;
    hx_wh_filter f;
    const char *why;
    if (!cfg->webhook_url[0]) return 0;
    if (hx_wh_url_parse(cfg->webhook_url, &u, &why)) {
        snprintf(err, errlen, "webhook.url %s", why);
        return -1;
    }
    if (strlen(cfg->webhook_secret) < 16) {
        snprintf(err, errlen, "webhook.url needs webhook.secret, at least 16 characters (the "
                              "key of the Hearth-Signature header)");
        return -1;
    }
    if (hx_wh_filter_parse(&f, cfg->webhook_events, cfg->n_webhook_events, &why)) {
        snprintf(err, errlen, "%s", why);
        return -1;
    }
    if (cfg->webhook_backoff_max_ms < cfg->webhook_backoff_ms) {
        snprintf(err, errlen, "webhook.backoff_max_ms must be at least webhook.backoff_ms");
        return -1;
    }
    return 0;
}

int hx_config_validate(const hx_config *cfg, char *err, size_t errlen)
{
    if (strcmp(cfg->timeout_policy, "listen_only") && strcmp(cfg->timeout_policy, "deny_join")) {
        snprintf(err, errlen, "moderation.timeout_policy must be listen_only or deny_join, not '%s'",
                 cfg->timeout_policy);
        return -1;
    }
    if (strcmp(cfg->ratification, "required") && strcmp(cfg->ratification, "none")) {
        snprintf(err, errlen, "moderation.ratification must be required or none, not '%s'", cfg->ratification);
        return -1;
    }
    if (strcmp(cfg->store_backend, "sqlite") && strcmp(cfg->store_backend, "postgres")) {
        snprintf(err, errlen, "store.backend must be sqlite or postgres, not '%s'",
                 cfg->store_backend);
        return -1;
    }
    if (!strcmp(cfg->store_backend, "postgres") && !cfg->postgres_url[0]) {
        snprintf(err, errlen, "store.backend = postgres needs store.postgres_url"
                              " (a libpq connection string or URI)");
        return -1;
    }
    if (cfg->cluster_redis[0] && hx_config_redis_addr(cfg, NULL, 0, NULL) != 0) {
        snprintf(err, errlen, "cluster.redis must be host:port (a numeric port 1..65535), not '%s'",
                 cfg->cluster_redis);
        return -1;
    }
    if (strcmp(cfg->media_isolation, "thread") && strcmp(cfg->media_isolation, "process") &&
        strcmp(cfg->media_isolation, "auto")) {
        snprintf(err, errlen, "media.isolation must be auto, thread or process, not '%s'",
                 cfg->media_isolation);
        return -1;
    }
    /* usrsctp (data channels) keeps one stack per process and fires every association's timers
     * from whichever thread drives it: engines sharing a process would touch each other. */
    if (cfg->media_workers != 1 && !strcmp(cfg->media_isolation, "thread")) {
        snprintf(err, errlen, "media.workers = %d%s needs media.isolation = process or auto (one "
                 "SCTP stack per process)", cfg->media_workers,
                 cfg->media_workers ? "" : " (one per core)");
        return -1;
    }
    if (strcmp(cfg->retransmit, "rtx") && strcmp(cfg->retransmit, "original")) {
        snprintf(err, errlen, "media.retransmit must be rtx or original, not '%s'",
                 cfg->retransmit);
        return -1;
    }
    hx_speaker_config sc;
    hx_config_speaker(cfg, &sc);
    const char *why = hx_speaker_config_check(&sc);
    if (why) { /* "speaker.interval_ms must be ..." names media.speaker_interval_ms here */
        if (!strncmp(why, "speaker.", 8))
            snprintf(err, errlen, "media.speaker_%s", why + 8);
        else
            snprintf(err, errlen, "media: %s", why);
        return -1;
    }
    if (cfg->turn_ttl_s < 300 || cfg->turn_ttl_s > 86400) {
        snprintf(err, errlen, "turn.ttl_s must be 300..86400 (5 min to 24 h), not %lld",
                 (long long)cfg->turn_ttl_s);
        return -1;
    }
    if (strcmp(cfg->turn_mode, "embedded") && strcmp(cfg->turn_mode, "external") &&
        strcmp(cfg->turn_mode, "off")) {
        snprintf(err, errlen, "turn.mode must be embedded, external or off, not '%s'", cfg->turn_mode);
        return -1;
    }
    if (!strcmp(cfg->turn_mode, "external") && (!cfg->n_turn_urls || !cfg->n_turn_secrets)) {
        snprintf(err, errlen, "turn.mode = external needs turn.urls and turn.secrets (the coturn's"
                              " static-auth-secret)");
        return -1;
    }
    if (cfg->n_turn_secrets > 2) {
        snprintf(err, errlen, "turn.secrets: at most two (the current one first, then the old one)");
        return -1;
    }
    for (size_t i = 0; i < cfg->n_turn_secrets; i++)
        if (strlen(cfg->turn_secrets[i]) < 16) {
            snprintf(err, errlen, "turn.secrets: each secret must be at least 16 characters");
            return -1;
        }
    if (cfg->turn_min_port > cfg->turn_max_port || (cfg->turn_min_port == 0) != (cfg->turn_max_port == 0)) {
        snprintf(err, errlen, "turn.min_port and turn.max_port: both 0, or a range min <= max");
        return -1;
    }
    if (strcasecmp(cfg->proxy_header, "x-forwarded-for") && strcasecmp(cfg->proxy_header, "forwarded")) {
        snprintf(err, errlen, "http.proxy_header must be x-forwarded-for or forwarded, not '%s'",
                 cfg->proxy_header);
        return -1;
    }
    if (!cfg->tls_cert[0] != !cfg->tls_key[0]) {
        snprintf(err, errlen, "tls.cert_file and tls.key_file go together");
        return -1;
    }
    if (cfg->profile != HX_PROFILE_DEV) {
        if (cfg->auth_dev) {
            snprintf(err, errlen,
                     "auth.dev = true is only allowed in the dev profile (profile is %s)",
                     hx_profile_name(cfg->profile));
            return -1;
        }
        if (!cfg->jwks_file[0] || !cfg->n_issuers || !cfg->audience[0]) {
            snprintf(err, errlen, "profile %s needs auth.jwks_file, auth.issuers and auth.audience",
                     hx_profile_name(cfg->profile));
            return -1;
        }
    }
    if (!cfg->data_dir[0]) {
        snprintf(err, errlen, "data_dir is empty");
        return -1;
    }
    if (cfg->admin_key[0] && strlen(cfg->admin_key) < 16) {
        snprintf(err, errlen, "admin_key must be at least 16 characters");
        return -1;
    }
    return validate_webhook(cfg, err, errlen);
}

void hx_config_speaker(const hx_config *cfg, hx_speaker_config *out)
{
    hx_speaker_config_default(out);
    out->interval_ms = cfg->speaker_interval_ms;
    out->threshold = cfg->speaker_threshold;
    out->smoothing = cfg->speaker_smoothing;
}

void hx_config_print(const hx_config *cfg, FILE *out)
{
    fprintf(out, "profile = %s\n", hx_profile_name(cfg->profile));
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const key_def *k = &keys[i];
        const char *f = (const char *)cfg + k->off;
        fprintf(out, "%s = ", k->name);
        switch (k->type) {
        case T_STR:
            fprintf(out, "%s", k->secret && *f ? "(set)" : f);
            break;
        case T_INT:
            fprintf(out, "%lld",
                    k->size == sizeof(int) ? (long long)*(const int *)f
                                           : (long long)*(const int64_t *)f);
            break;
        case T_SIZE:
            fprintf(out, "%zu", *(const size_t *)f);
            break;
        case T_DOUBLE:
            fprintf(out, "%g", *(const double *)f);
            break;
        case T_REAL: /* 15 digits: a value written with fewer reads back the same (0.3, not 0.29999...) */
            fprintf(out, "%.15g", *(const double *)f);
            break;
        case T_BOOL:
            fprintf(out, "%s", *(const bool *)f ? "true" : "false");
            break;
        case T_LIST: {
            size_t n = *(const size_t *)((const char *)cfg + k->count_off);
            if (k->secret && n) {
                fprintf(out, "(%zu set)", n);
                break;
            }
            for (size_t j = 0; j < n; j++)
                fprintf(out, "%s%s", j ? ", " : "", f + j * k->size);
            break;
        }
        case T_LEVEL:
            fprintf(out, "%s", (const char *[]){"error", "warn", "info", "debug"}[cfg->log_level]);
            break;
        case T_FORMAT:
            fprintf(out, "%s", cfg->log_json ? "json" : "text");
            break;
        case T_LISTEN:
            fprintf(out, strchr(cfg->listen_host, ':') ? "[%s]:%d" : "%s:%d", cfg->listen_host,
                    cfg->listen_port);
            break;
        }
        fputc('\n', out);
    }
}

int hx_config_redis_addr(const hx_config *cfg, char *host, size_t hostlen, int *port)
{
    const char *colon = strrchr(cfg->cluster_redis, ':');
    if (!colon || colon == cfg->cluster_redis) return -1;
    char *end;
    long p = strtol(colon + 1, &end, 10);
    if (*end || end == colon + 1 || p < 1 || p > 65535) return -1;
    size_t n = (size_t)(colon - cfg->cluster_redis);
    if (host) {
        if (n >= hostlen) return -1;
        memcpy(host, cfg->cluster_redis, n);
        host[n] = '\0';
    }
    if (port) *port = (int)p;
    return 0;
}

int hx_config_media_workers(const hx_config *cfg, unsigned cores, bool *process)
{
    int n = cfg->media_workers;
    if (n == 0) n = cores < 1 ? 1 : cores > 16 ? 16 : (int)cores;
    *process = !strcmp(cfg->media_isolation, "process") ||
               (!strcmp(cfg->media_isolation, "auto") && n > 1);
    return n;
}
