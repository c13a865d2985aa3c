/*
 * Candidate lines (see candidate.h). The parser tokenizes on spaces and
 * checks each field against RFC 8839 §5.1's grammar: foundation 1-32
 * ice-chars, component 1-256, priority 1 to 2^31-1, port 0-65535,
 * extension attributes as name/value pairs.
 */
#include "ice/candidate.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *const type_names[] = {"host", "srflx", "prflx", "relay"};
static const char *const tcptype_names[] = {"", "active", "passive", "so"};

uint32_t hx_ice_priority(unsigned type_pref, unsigned local_pref, unsigned component)
{
    if (component < 1) component = 1;
    if (component > 256) component = 256;
    return (uint32_t)(type_pref & 0x7f) << 24 | (uint32_t)(local_pref & 0xffff) << 8 |
           (uint32_t)(256 - component);
}

uint32_t hx_ice_host_priority(hx_ice_transport t, unsigned addr_pref, unsigned component)
{
    unsigned direction = t == HX_ICE_UDP ? 7 : 4; /* RFC 6544 §4.2: passive 4 */
    if (addr_pref > 8191) addr_pref = 8191;
    return hx_ice_priority(HX_ICE_TYPE_PREF_HOST, direction << 13 | addr_pref, component);
}

static bool ice_chars(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '+' || ch == '/'))
            return false;
    }
    return true;
}

int hx_ice_candidate_host(hx_ice_candidate *c, const char *foundation, hx_ice_transport t,
                          const struct sockaddr_storage *addr, unsigned addr_pref)
{
    size_t flen = strlen(foundation);
    memset(c, 0, sizeof *c);
    if (!flen || flen > HX_ICE_MAX_FOUNDATION || !ice_chars(foundation, flen))
        return HX_ICE_CAND_EINVAL;
    memcpy(c->foundation, foundation, flen + 1);
    const void *ip;
    if (addr->ss_family == AF_INET) {
        ip = &((const struct sockaddr_in *)addr)->sin_addr;
        c->port = ntohs(((const struct sockaddr_in *)addr)->sin_port);
    } else if (addr->ss_family == AF_INET6) {
        ip = &((const struct sockaddr_in6 *)addr)->sin6_addr;
        c->port = ntohs(((const struct sockaddr_in6 *)addr)->sin6_port);
    } else {
        return HX_ICE_CAND_EINVAL;
    }
    if (!inet_ntop(addr->ss_family, ip, c->address, sizeof c->address)) return HX_ICE_CAND_EINVAL;
    c->component = 1;
    c->transport = t;
    c->priority = hx_ice_host_priority(t, addr_pref, 1);
    c->type = HX_ICE_HOST;
    c->tcptype = t == HX_ICE_TCP ? HX_ICE_TCP_PASSIVE : HX_ICE_TCP_NONE;
    c->addr_numeric = true;
    c->addr = *addr;
    return 0;
}

long hx_ice_candidate_format(const hx_ice_candidate *c, char *out, size_t cap)
{
    if ((unsigned)c->type > HX_ICE_RELAY || (unsigned)c->tcptype > HX_ICE_TCP_SO)
        return HX_ICE_CAND_EINVAL;
    int n = snprintf(out, cap, "candidate:%s %u %s %u %s %u typ %s", c->foundation, c->component,
                     c->transport == HX_ICE_TCP ? "tcp" : "udp", c->priority, c->address, c->port,
                     type_names[c->type]);
    if (n >= 0 && (size_t)n < cap && c->has_related)
        n += snprintf(out + n, cap - (size_t)n, " raddr %s rport %u", c->raddr, c->rport);
    if (n >= 0 && (size_t)n < cap && c->transport == HX_ICE_TCP && c->tcptype != HX_ICE_TCP_NONE)
        n += snprintf(out + n, cap - (size_t)n, " tcptype %s", tcptype_names[c->tcptype]);
    if (n < 0 || (size_t)n >= cap) return HX_ICE_CAND_ENOSPACE;
    return n;
}

/* ---- parsing ---- */

typedef struct tok {
    const char *p;
    size_t n;
} tok;

static bool next_tok(const char **p, const char *end, tok *t)
{
    while (*p < end && **p == ' ')
        (*p)++;
    if (*p == end) return false;
    t->p = *p;
    while (*p < end && **p != ' ')
        (*p)++;
    t->n = (size_t)(*p - t->p);
    return true;
}

static bool tok_is(tok t, const char *s)
{
    return t.n == strlen(s) && !strncasecmp(t.p, s, t.n);
}

static bool tok_uint(tok t, uint32_t min, uint32_t max, uint32_t *v)
{
    uint64_t x = 0;
    if (t.n == 0 || t.n > 10) return false;
    for (size_t i = 0; i < t.n; i++) {
        if (t.p[i] < '0' || t.p[i] > '9') return false;
        x = x * 10 + (uint64_t)(t.p[i] - '0');
    }
    if (x < min || x > max) return false;
    *v = (uint32_t)x;
    return true;
}

static int tok_enum(tok t, const char *const *names, int n)
{
    for (int i = 0; i < n; i++)
        if (names[i][0] && tok_is(t, names[i])) return i;
    return -1;
}

/* An IP literal or a hostname (letters, digits, '.', '-', ':' for IPv6). */
static bool tok_address(tok t, char out[HX_ICE_MAX_ADDRESS + 1])
{
    if (!t.n || t.n > HX_ICE_MAX_ADDRESS) return false;
    for (size_t i = 0; i < t.n; i++) {
        char ch = t.p[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '-' || ch == ':'))
            return false;
    }
    memcpy(out, t.p, t.n);
    out[t.n] = '\0';
    return true;
}

static void numeric_addr(hx_ice_candidate *c)
{
    struct sockaddr_in *s4 = (void *)&c->addr;
    struct sockaddr_in6 *s6 = (void *)&c->addr;
    memset(&c->addr, 0, sizeof c->addr);
    if (inet_pton(AF_INET, c->address, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons(c->port);
        c->addr_numeric = true;
    } else if (inet_pton(AF_INET6, c->address, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(c->port);
        c->addr_numeric = true;
    }
}

int hx_ice_candidate_parse(hx_ice_candidate *c, const char *line, size_t len)
{
    const char *p = line, *end = line + len;
    tok t[8];
    uint32_t v;
    memset(c, 0, sizeof *c);
    if (len > HX_ICE_MAX_CANDIDATE_LINE) return HX_ICE_CAND_EPARSE;
    while (end > p && (end[-1] == '\r' || end[-1] == '\n'))
        end--;
    if (end - p >= 2 && !strncmp(p, "a=", 2)) p += 2;
    if (end - p < 10 || strncasecmp(p, "candidate:", 10)) return HX_ICE_CAND_EPARSE;
    p += 10;
    for (int i = 0; i < 8; i++)
        if (!next_tok(&p, end, &t[i])) return HX_ICE_CAND_EPARSE;

    if (t[0].n > HX_ICE_MAX_FOUNDATION || !ice_chars(t[0].p, t[0].n)) return HX_ICE_CAND_EPARSE;
    memcpy(c->foundation, t[0].p, t[0].n);
    if (!tok_uint(t[1], 1, 256, &v)) return HX_ICE_CAND_EPARSE;
    c->component = (uint16_t)v;
    if (tok_is(t[2], "udp"))
        c->transport = HX_ICE_UDP;
    else if (tok_is(t[2], "tcp"))
        c->transport = HX_ICE_TCP;
    else
        return HX_ICE_CAND_EPARSE;
    if (!tok_uint(t[3], 1, 0x7fffffff, &c->priority)) return HX_ICE_CAND_EPARSE;
    if (!tok_address(t[4], c->address)) return HX_ICE_CAND_EPARSE;
    if (!tok_uint(t[5], 0, 65535, &v)) return HX_ICE_CAND_EPARSE;
    c->port = (uint16_t)v;
    int type = tok_enum(t[7], type_names, 4);
    if (!tok_is(t[6], "typ") || type < 0) return HX_ICE_CAND_EPARSE;
    c->type = (hx_ice_cand_type)type;

    tok name, value;
    bool have_raddr = false, have_rport = false;
    while (next_tok(&p, end, &name)) {
        if (!next_tok(&p, end, &value)) return HX_ICE_CAND_EPARSE; /* pairs only */
        if (tok_is(name, "raddr")) {
            if (!tok_address(value, c->raddr)) return HX_ICE_CAND_EPARSE;
            have_raddr = true;
        } else if (tok_is(name, "rport")) {
            if (!tok_uint(value, 0, 65535, &v)) return HX_ICE_CAND_EPARSE;
            c->rport = (uint16_t)v;
            have_rport = true;
        } else if (tok_is(name, "tcptype")) {
            int tt = tok_enum(value, tcptype_names, 4);
            if (tt < 0) return HX_ICE_CAND_EPARSE;
            c->tcptype = (hx_ice_tcptype)tt;
        }
    }
    if (have_raddr != have_rport) return HX_ICE_CAND_EPARSE; /* RFC 8839: they come together */
    c->has_related = have_raddr;
    /* RFC 6544 §4.5: a TCP candidate names its tcptype. */
    if ((c->transport == HX_ICE_TCP) != (c->tcptype != HX_ICE_TCP_NONE)) return HX_ICE_CAND_EPARSE;
    numeric_addr(c);
    return 0;
}
