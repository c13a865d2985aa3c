/*
 * Which peers a TURN client may reach (docs/turn.md "Peer policy"). A relay
 * on the open internet must not become a way into the server's own
 * network: peers in loopback, private (RFC 1918, RFC 6598 shared, RFC 4193
 * unique local), link-local, unspecified, multicast, broadcast and
 * reserved ranges are refused (403), unless an operator lists them in
 * turn.allow_peers. IPv4-mapped IPv6 peers (::ffff:a.b.c.d) are judged as
 * the IPv4 address they carry, so the ban cannot be walked around.
 *
 * The SFU's own addresses (full ip:port) are the exception the relay
 * exists for: a client whose UDP is blocked reaches the media engine
 * through TURN. An own IP gets a permission, but only its own ports are
 * reachable (the verdict is OWN_ONLY and the port is checked per packet);
 * the rest of that host stays closed. The allow list wins over both.
 */
#include "turn/core_internal.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An IPv4-mapped IPv6 address as the IPv4 it carries; anything else as is. */
static hx__turn_addr unmapped(const hx__turn_addr *a)
{
    static const uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    hx__turn_addr out = *a;
    if (a->family == AF_INET6 && !memcmp(a->ip, prefix, sizeof prefix)) {
        memset(&out, 0, sizeof out);
        out.family = AF_INET;
        out.port = a->port;
        memcpy(out.ip, a->ip + 12, 4);
    }
    return out;
}

int hx__turn_cidr_parse(const char *s, hx__turn_cidr *out)
{
    char host[64];
    const char *slash = strchr(s, '/');
    size_t hl = slash ? (size_t)(slash - s) : strlen(s);
    if (hl == 0 || hl >= sizeof host) return -1;
    memcpy(host, s, hl);
    host[hl] = '\0';
    memset(out, 0, sizeof *out);
    int max;
    if (inet_pton(AF_INET, host, out->net.ip) == 1) {
        out->net.family = AF_INET;
        max = 32;
    } else if (inet_pton(AF_INET6, host, out->net.ip) == 1) {
        out->net.family = AF_INET6;
        max = 128;
    } else {
        return -1;
    }
    int bits = max;
    if (slash) {
        char *end;
        long v = strtol(slash + 1, &end, 10);
        if (end == slash + 1 || *end || v < 0 || v > max) return -1;
        bits = (int)v;
    }
    out->bits = (uint8_t)bits;
    out->net = unmapped(&out->net);
    if (out->net.family == AF_INET && max == 128) /* ::ffff:a.b.c.d/n: n counts the v6 bits */
        out->bits = (uint8_t)(bits > 96 ? bits - 96 : 0);
    return 0;
}

static bool prefix_match(const uint8_t *a, const uint8_t *b, unsigned bits)
{
    unsigned full = bits / 8, rest = bits % 8;
    if (memcmp(a, b, full)) return false;
    if (!rest) return true;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (a[full] & mask) == (b[full] & mask);
}

bool hx__turn_cidr_match(const hx__turn_cidr *c, const hx__turn_addr *a)
{
    hx__turn_addr u = unmapped(a);
    return u.family == c->net.family && prefix_match(u.ip, c->net.ip, c->bits);
}

bool hx__turn_addr_forbidden(const hx__turn_addr *addr)
{
    hx__turn_addr a = unmapped(addr);
    const uint8_t *p = a.ip;
    if (a.family == AF_INET) {
        return p[0] == 0                               /* 0/8: unspecified, "this network" */
               || p[0] == 127                          /* loopback */
               || p[0] == 10                           /* RFC 1918 */
               || (p[0] == 172 && (p[1] & 0xf0) == 16) /* 172.16/12 */
               || (p[0] == 192 && p[1] == 168)         /* 192.168/16 */
               || (p[0] == 100 && (p[1] & 0xc0) == 64) /* 100.64/10, RFC 6598 */
               || (p[0] == 169 && p[1] == 254)         /* link-local */
               || p[0] >= 224;                         /* multicast, reserved, broadcast */
    }
    if (a.family != AF_INET6) return true;
    static const uint8_t zero[12] = {0};
    return !memcmp(p, zero, sizeof zero)              /* ::, ::1, IPv4-compatible ::/96 */
           || (p[0] & 0xfe) == 0xfc                   /* fc00::/7 unique local */
           || (p[0] == 0xfe && (p[1] & 0xc0) == 0x80) /* fe80::/10 link-local */
           || (p[0] == 0xfe && (p[1] & 0xc0) == 0xc0) /* fec0::/10 old site-local */
           || p[0] == 0xff;                           /* multicast */
}

int hx__turn_policy_init(hx__turn_policy *p, const hx_turn_config *cfg, char *err, size_t errlen)
{
    memset(p, 0, sizeof *p);
    for (size_t i = 0; i < cfg->n_allow && i < HX_TURN_MAX_ALLOW; i++) {
        if (hx__turn_cidr_parse(cfg->allow[i], &p->allow[p->n_allow]) != 0) {
            snprintf(err, errlen, "turn.allow_peers: '%s' is not an address or CIDR",
                     cfg->allow[i]);
            return -1;
        }
        p->n_allow++;
    }
    for (size_t i = 0; i < cfg->n_own && i < HX_TURN_MAX_OWN; i++) {
        hx__turn_addr a;
        if (hx__turn_addr_from(&a, &cfg->own[i]) == 0) p->own[p->n_own++] = unmapped(&a);
    }
    return 0;
}

static bool own_ip(const hx__turn_policy *p, const hx__turn_addr *a)
{
    for (size_t i = 0; i < p->n_own; i++)
        if (hx__turn_addr_ip_eq(&p->own[i], a)) return true;
    return false;
}

hx__turn_verdict hx__turn_policy_ip(const hx__turn_policy *p, const hx__turn_addr *addr)
{
    hx__turn_addr a = unmapped(addr);
    for (size_t i = 0; i < p->n_allow; i++)
        if (hx__turn_cidr_match(&p->allow[i], &a)) return HX__PEER_ALLOWED;
    if (own_ip(p, &a)) return HX__PEER_OWN_ONLY;
    return hx__turn_addr_forbidden(&a) ? HX__PEER_REFUSED : HX__PEER_ALLOWED;
}

bool hx__turn_policy_own_port(const hx__turn_policy *p, const hx__turn_addr *addr)
{
    hx__turn_addr a = unmapped(addr);
    for (size_t i = 0; i < p->n_own; i++)
        if (hx__turn_addr_eq(&p->own[i], &a)) return true;
    return false;
}
