/*
 * Starting and stopping the embedded TURN server (turn/turn.h) for the
 * daemon when turn.mode = embedded: the turn.* and tls.* configuration
 * and the loaded secrets become an hx_turn_config; the SFU's own addresses
 * (the media engine's bound UDP and ICE-TCP ports on its host or announced
 * addresses) are the peers the relay always lets clients reach. Its bound
 * ports (hx_turn_port: the ICE servers handed out name them) go into the
 * `turn.ready` log line.
 *
 * A 1 s timer on the control loop copies the server's counters into
 * /metrics (the live allocations as a gauge, the rest as counters moved by
 * what they gained). It is owned here (kept as the hx_turn's owner data), counted
 * in s->handles_open and unref'd, so it never holds the loop open; it is
 * closed with the server in hx_server_turn_stop.
 */
#include "hearthd/daemon.h"
#include "core/metric_names.h"

#include "net/addr.h"
#include "sfu/engine.h"
#include "turn/turn.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define METRICS_MS 1000

typedef struct turn_metrics {
    uv_timer_t timer;
    hx_server *s;
    hx_turn_stats last; /* what the counters on /metrics already hold */
} turn_metrics;

static bool wildcard(const char *h)
{
    return !h[0] || !strcmp(h, "0.0.0.0") || !strcmp(h, "::");
}

static void add_own(hx_turn_config *tc, const char *ip, int port)
{
    if (port <= 0 || tc->n_own >= HX_TURN_MAX_OWN) return;
    struct sockaddr_storage ss;
    if (hx_addr_from_ip(ip, port, &ss, NULL)) return;
    tc->own[tc->n_own++] = ss;
}

/* The media engine's addresses as it announces them: configured, its host, or every interface. */
static void own_addresses(hx_server *s, hx_turn_config *tc)
{
    if (!s->n_engines) return;
    char ips[HX_TURN_MAX_OWN][64];
    size_t n = 0;
    for (size_t i = 0; i < s->cfg.n_announce && n < HX_TURN_MAX_OWN; i++)
        snprintf(ips[n++], sizeof ips[0], "%s", s->cfg.announce[i]);
    if (!wildcard(s->cfg.media_host) && n < HX_TURN_MAX_OWN)
        snprintf(ips[n++], sizeof ips[0], "%s", s->cfg.media_host);
    struct ifaddrs *ifs = NULL;
    if (!n && getifaddrs(&ifs) == 0) {
        for (struct ifaddrs *i = ifs; i && n < HX_TURN_MAX_OWN; i = i->ifa_next) {
            if (!i->ifa_addr || !(i->ifa_flags & IFF_UP) || (i->ifa_flags & IFF_LOOPBACK)) continue;
            int fam = i->ifa_addr->sa_family;
            if (fam != AF_INET && fam != AF_INET6) continue;
            const void *a = fam == AF_INET
                                ? (const void *)&((struct sockaddr_in *)i->ifa_addr)->sin_addr
                                : (const void *)&((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr;
            if (inet_ntop(fam, a, ips[n], sizeof ips[0])) n++;
        }
        freeifaddrs(ifs);
    }
    for (size_t w = 0; w < s->n_engines; w++) /* every worker's ports */
        for (size_t i = 0; i < n; i++) {
            add_own(tc, ips[i], s->media_udp[w]);
            add_own(tc, ips[i], s->media_tcp[w]);
        }
}

static void build_config(hx_server *s, hx_turn_config *tc)
{
    const hx_config *c = &s->cfg;
    hx_turn_config_default(tc);
    snprintf(tc->host, sizeof tc->host, "%s", c->turn_host);
    tc->udp_port = c->turn_udp_port;
    tc->tcp_port = c->turn_tcp_port;
    tc->tls_port = c->turn_tls_port;
    snprintf(tc->relay_host, sizeof tc->relay_host, "%s", c->turn_relay_host);
    tc->min_port = c->turn_min_port;
    tc->max_port = c->turn_max_port;
    snprintf(tc->announce, sizeof tc->announce, "%s", c->turn_announce);
    snprintf(tc->realm, sizeof tc->realm, "%s", c->turn_realm);
    for (size_t i = 0; i < s->n_turn_secrets && i < HX_TURN_MAX_SECRETS; i++)
        snprintf(tc->secrets[tc->n_secrets++], sizeof tc->secrets[0], "%s", s->turn_secrets[i]);
    for (size_t i = 0; i < c->n_turn_allow && i < HX_TURN_MAX_ALLOW; i++)
        snprintf(tc->allow[tc->n_allow++], sizeof tc->allow[0], "%s", c->turn_allow[i]);
    own_addresses(s, tc);
    tc->max_allocations = (uint32_t)c->turn_max_allocations;
    tc->max_bps = (uint64_t)c->turn_max_bps;
    tc->max_lifetime_s = (uint32_t)c->turn_max_lifetime_s;
    snprintf(tc->tls_cert, sizeof tc->tls_cert, "%s", c->tls_cert);
    snprintf(tc->tls_key, sizeof tc->tls_key, "%s", c->tls_key);
}

/* A counter moved by what it gained since the last copy (hx_turn_stats are cumulative). */
static void count(hx_metrics *mx, const char *name, const char *help, uint64_t now, uint64_t *last)
{
    hx_metrics_add(mx, name, help, NULL, NULL, (double)(now - *last));
    *last = now;
}

static void publish(uv_timer_t *h)
{
    turn_metrics *m = h->data;
    hx_server *s = m->s;
    hx_turn_stats st;
    hx_turn_stats_get(s->turn, &st);
    hx_metrics *mx = &s->metrics;
    hx_turn_stats *l = &m->last;
    hx_metrics_set(mx, HX_M_TURN_ALLOCATIONS,
                   (double)st.allocations);
    count(mx, HX_M_TURN_ALLOCATIONS_TOTAL, st.allocations_total,
          &l->allocations_total);
    count(mx, HX_M_TURN_AUTH_FAILURES_TOTAL, st.auth_failures,
          &l->auth_failures);
    count(mx, HX_M_TURN_REFUSED_PEERS_TOTAL, st.refused_peers,
          &l->refused_peers);
    count(mx, HX_M_TURN_QUOTA_REFUSALS_TOTAL,
          st.quota_refusals, &l->quota_refusals);
    count(mx, HX_M_TURN_RELAYED_PACKETS_TOTAL,
          st.relayed_packets, &l->relayed_packets);
    count(mx, HX_M_TURN_RELAYED_BYTES_TOTAL,
          st.relayed_bytes, &l->relayed_bytes);
}

static void on_metrics_closed(uv_handle_t *h)
{
    turn_metrics *m = h->data;
    m->s->handles_open--;
    free(m);
}

static void start_metrics(hx_server *s)
{
    turn_metrics *m = calloc(1, sizeof *m);
    if (!m || uv_timer_init(s->loop, &m->timer) != 0) {
        free(m);
        return; /* no counters on /metrics; relaying goes on */
    }
    m->s = s;
    m->timer.data = m;
    s->handles_open++;
    uv_timer_start(&m->timer, publish, 0, METRICS_MS);
    uv_unref((uv_handle_t *)&m->timer);
    hx_turn_set_owner_data(s->turn, m);
}

int hx_server_turn_start(hx_server *s, char *err, size_t errlen)
{
    if (strcmp(s->cfg.turn_mode, "embedded")) return 0;
    hx_turn_config tc;
    build_config(s, &tc);
    if (hx_turn_start(&tc, &s->turn, err, errlen) != 0) return -1;
    char ports[3][16];
    for (int p = HX_TURN_UDP; p <= HX_TURN_TLS; p++) {
        snprintf(ports[p], sizeof ports[p], "%d", hx_turn_port(s->turn, (hx_turn_proto)p));
    }
    start_metrics(s);
    char own[8];
    snprintf(own, sizeof own, "%zu", tc.n_own);
    hx_log(&s->log, HX_LOG_INFO, "turn.ready", "host", tc.host, "udp_port", ports[HX_TURN_UDP],
           "tcp_port", ports[HX_TURN_TCP], "tls_port", ports[HX_TURN_TLS], "realm", tc.realm,
           "own_addresses", own, NULL);
    return 0;
}

void hx_server_turn_stop(hx_server *s)
{
    if (!s->turn) return;
    turn_metrics *m = hx_turn_owner_data(s->turn);
    if (m) {
        publish(&m->timer); /* the last counts */
        uv_close((uv_handle_t *)&m->timer, on_metrics_closed);
    }
    hx_turn_stop(s->turn);
    s->turn = NULL;
}
