/*
 * ICE servers with fresh TURN credentials (ice_servers.h). In embedded mode
 * the URLs follow what the TURN server actually bound (hx_turn_port), so a
 * dev profile's kernel-chosen ports are right; a listener that is off is
 * left out, and so is TURN as a whole when nothing is listening.
 */
#include "core/ice_servers.h"

#include "auth/turn_cred.h"
#include "common/http_client.h"
#include "turn/turn.h"

#include <stdio.h>
#include <string.h>

static bool wildcard(const char *h)
{
    return !h[0] || !strcmp(h, "0.0.0.0") || !strcmp(h, "::") || !strcmp(h, "[::]");
}

static void put_host(const char *h, char *out, size_t len)
{
    bool v6 = strchr(h, ':') && h[0] != '[';
    snprintf(out, len, v6 ? "[%s]" : "%s", h);
}

void hx_ice_turn_host(const hx_config *c, const char *req_host, char *out, size_t len)
{
    hx_url u;
    int tls;
    if (c->turn_announce[0])
        put_host(c->turn_announce, out, len);
    else if (c->public_url[0] && hx_url_parse_public(c->public_url, &u, &tls, NULL) == 0)
        put_host(u.host, out, len);
    else if (!wildcard(c->turn_host))
        put_host(c->turn_host, out, len);
    else if (c->n_announce)
        put_host(c->announce[0], out, len);
    else if (req_host && req_host[0])
        put_host(req_host, out, len);
    else
        snprintf(out, len, "127.0.0.1");
}

static void add_url(json_t *urls, const char *fmt, const char *host, int port)
{
    char u[HX_CFG_STR + 64];
    snprintf(u, sizeof u, fmt, host, port);
    json_array_append_new(urls, json_string(u));
}

/*
 * The port clients reach the HTTP listener on: public_url's (its scheme's
 * default when it names none), else the bound one. 0 when a proxy sits in
 * front (http.trusted_proxies): it carries HTTP, not TURN.
 */
static int http_port(const hx_server *s)
{
    hx_url u;
    int tls;
    if (s->cfg.n_trusted_proxies) return 0;
    if (!s->cfg.public_url[0]) return s->port;
    return hx_url_parse_public(s->cfg.public_url, &u, &tls, NULL) == 0 ? u.port : 0;
}

/*
 * The embedded server's URLs: one per listener that is up. With
 * turn.on_http_port and TLS on the HTTP listener, TURN over TLS is offered
 * on that port (the one that gets through a 443-only firewall) instead of
 * the dedicated TLS listener; without TLS, plain TURN over TCP on it only
 * when there is no dedicated TCP listener.
 */
static void embedded_urls(const hx_server *s, const char *req_host, json_t *urls)
{
    char host[HX_CFG_STR];
    hx_ice_turn_host(&s->cfg, req_host, host, sizeof host);
    if (!s->turn) return;
    int udp = hx_turn_port(s->turn, HX_TURN_UDP), tcp = hx_turn_port(s->turn, HX_TURN_TCP),
        tls = hx_turn_port(s->turn, HX_TURN_TLS);
    int hp = s->cfg.turn_on_http_port ? http_port(s) : 0;
    if (hp > 0 && s->tls) tls = hp;
    if (hp > 0 && !s->tls && tcp <= 0) tcp = hp;
    if (udp > 0) add_url(urls, "turn:%s:%d?transport=udp", host, udp);
    if (tcp > 0) add_url(urls, "turn:%s:%d?transport=tcp", host, tcp);
    if (tls > 0) add_url(urls, "turns:%s:%d?transport=tcp", host, tls);
}

json_t *hx_ice_servers(const hx_server *s, const char *user, const char *req_host, int64_t now_s,
                       int64_t *expires_s)
{
    const hx_config *c = &s->cfg;
    *expires_s = 0;
    json_t *list = json_array();
    if (!list) return NULL;
    if (c->n_stun) {
        json_t *urls = json_array();
        for (size_t i = 0; i < c->n_stun; i++) json_array_append_new(urls, json_string(c->stun[i]));
        json_array_append_new(list, json_pack("{s:o}", "urls", urls));
    }
    if (!s->n_turn_secrets || !strcmp(c->turn_mode, "off")) return list;
    json_t *urls = json_array();
    if (!strcmp(c->turn_mode, "external"))
        for (size_t i = 0; i < c->n_turn_urls; i++)
            json_array_append_new(urls, json_string(c->turn_urls[i]));
    else
        embedded_urls(s, req_host, urls);
    char username[HX_TURN_CRED_MAX_USERNAME], password[HX_TURN_CRED_PASSWORD_LEN];
    int64_t exp = now_s + c->turn_ttl_s;
    if (!json_array_size(urls) ||
        hx_turn_cred_mint(s->turn_secrets[0], user, exp, username, sizeof username, password)) {
        json_decref(urls);
        return list;
    }
    json_array_append_new(list, json_pack("{s:o, s:s, s:s}", "urls", urls, "username", username,
                                          "credential", password));
    *expires_s = exp;
    return list;
}
