/*
 * The client address behind trusted proxies (client_addr.h has the rule).
 *
 * A header is read left to right once, each hop parsed into a small ring
 * that keeps the right-most HX_FWD_MAX_HOPS of them (a hop that does not
 * parse is kept as such), then walked from the right. Longer chains than
 * the ring, a bad hop reached before an untrusted one, or a chain of only
 * trusted hops longer than the ring all give the socket peer. Quoted
 * strings (Forwarded) are honoured when splitting, so a comma inside quotes
 * does not start a hop.
 */
#include "http/client_addr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

int hx_ip_parse(const char *s, size_t len, hx_ipaddr *out)
{
    char buf[INET6_ADDRSTRLEN + 1];
    if (!s || len == 0 || len >= sizeof buf) return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    if (memchr(buf, '\0', len)) return -1; /* an embedded NUL */
    memset(out, 0, sizeof *out);
    if (inet_pton(AF_INET, buf, out->b) == 1) {
        out->family = 4;
        return 0;
    }
    if (inet_pton(AF_INET6, buf, out->b) != 1) return -1;
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (!memcmp(out->b, mapped, sizeof mapped)) { /* ::ffff:a.b.c.d is the IPv4 peer */
        memmove(out->b, out->b + 12, 4);
        memset(out->b + 4, 0, 12);
        out->family = 4;
    } else {
        out->family = 6;
    }
    return 0;
}

void hx_ip_format(const hx_ipaddr *a, char *out, size_t outlen)
{
    char buf[INET6_ADDRSTRLEN];
    if (!outlen) return;
    if (!inet_ntop(a->family == 4 ? AF_INET : AF_INET6, a->b, buf, sizeof buf)) buf[0] = '\0';
    snprintf(out, outlen, "%s", buf);
}

int hx_cidr_parse(const char *s, hx_cidr *out)
{
    if (!s) return -1;
    const char *slash = strchr(s, '/');
    size_t alen = slash ? (size_t)(slash - s) : strlen(s);
    if (hx_ip_parse(s, alen, &out->net)) return -1;
    /* The prefix length counts in the text's own family: ::ffff:10.0.0.0/104 is 10.0.0.0/8. */
    bool text_v6 = memchr(s, ':', alen) != NULL;
    unsigned max = out->net.family == 4 ? 32 : 128, bits = text_v6 ? 128 : 32;
    if (slash) {
        const char *p = slash + 1;
        if (!*p || strlen(p) > 3) return -1;
        bits = 0;
        for (; *p; p++) {
            if (*p < '0' || *p > '9') return -1;
            bits = bits * 10 + (unsigned)(*p - '0');
        }
        if (bits > (text_v6 ? 128u : 32u)) return -1;
    }
    if (out->net.family == 4 && text_v6) {
        if (bits < 96) return -1;
        bits -= 96;
    }
    out->bits = (uint8_t)bits;
    for (unsigned i = bits; i < max; i++) /* host bits must be zero: a typo, not a range */
        if (out->net.b[i / 8] & (0x80u >> (i % 8))) return -1;
    return 0;
}

bool hx_cidr_contains(const hx_cidr *c, const hx_ipaddr *a)
{
    if (c->net.family != a->family) return false;
    unsigned full = c->bits / 8, rest = c->bits % 8;
    if (memcmp(c->net.b, a->b, full)) return false;
    if (!rest) return true;
    uint8_t mask = (uint8_t)(0xffu << (8 - rest));
    return (c->net.b[full] & mask) == (a->b[full] & mask);
}

bool hx_cidrs_contain(const hx_cidr *list, size_t n, const hx_ipaddr *a)
{
    for (size_t i = 0; i < n; i++)
        if (hx_cidr_contains(&list[i], a)) return true;
    return false;
}

int hx_fwd_header_parse(const char *s, hx_fwd_header *out)
{
    if (!strcasecmp(s, "x-forwarded-for")) {
        *out = HX_FWD_XFF;
    } else if (!strcasecmp(s, "forwarded")) {
        *out = HX_FWD_FORWARDED;
    } else {
        return -1;
    }
    return 0;
}

/* ---- one hop ------------------------------------------------------------ */

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static void trim(const char **b, const char **e)
{
    while (*b < *e && is_ows(**b)) (*b)++;
    while (*e > *b && is_ows((*e)[-1])) (*e)--;
}

/* A port after the address: digits up to 65535, or an RFC 7239 §6.3 obfuscated port. */
static bool port_ok(const char *p, const char *e)
{
    if (p == e) return false;
    if (*p == '_') {
        for (p++; p < e; p++)
            if (!(*p == '.' || *p == '_' || *p == '-' || (*p >= '0' && *p <= '9') ||
                  (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
                return false;
        return true;
    }
    if (e - p > 5) return false;
    unsigned v = 0;
    for (; p < e; p++) {
        if (*p < '0' || *p > '9') return false;
        v = v * 10 + (unsigned)(*p - '0');
    }
    return v <= 65535;
}

/* A node: "1.2.3.4", "1.2.3.4:80", "[v6]", "[v6]:80", bare "v6". 0 or -1. */
static int parse_node(const char *b, const char *e, hx_ipaddr *out)
{
    if (b < e && *b == '[') {
        const char *close = memchr(b, ']', (size_t)(e - b));
        if (!close || hx_ip_parse(b + 1, (size_t)(close - b - 1), out) || out->family != 6)
            return -1;
        if (close + 1 == e) return 0;
        return close[1] == ':' && port_ok(close + 2, e) ? 0 : -1;
    }
    const char *colon = memchr(b, ':', (size_t)(e - b));
    if (colon && !memchr(colon + 1, ':', (size_t)(e - colon - 1))) { /* one colon: v4:port */
        if (hx_ip_parse(b, (size_t)(colon - b), out) || out->family != 4) return -1;
        return port_ok(colon + 1, e) ? 0 : -1;
    }
    return hx_ip_parse(b, (size_t)(e - b), out);
}

/* Unquote an RFC 7230 quoted-string into buf (quoted-pairs resolved). Length or -1. */
static long unquote(const char *b, const char *e, char *buf, size_t len)
{
    size_t n = 0;
    if (e - b < 2 || *b != '"' || e[-1] != '"') return -1;
    for (b++, e--; b < e; b++) {
        char c = *b;
        if (c == '\\') {
            if (++b == e) return -1;
            c = *b;
        } else if (c == '"') {
            return -1;
        }
        if (n + 1 >= len) return -1;
        buf[n++] = c;
    }
    return (long)n;
}

/* A Forwarded element ("for=...;proto=...;by=..."): its for= node. 0 or -1 (none, or bad). */
static int parse_forwarded_element(const char *b, const char *e, hx_ipaddr *out)
{
    int found = -1;
    while (b < e) {
        /* Find the end of this pair: the next ';' outside quotes. */
        const char *p = b;
        bool q = false;
        for (; p < e && (q || *p != ';'); p++) {
            if (*p == '"') q = !q;
            if (*p == '\\' && q && p + 1 < e) p++;
        }
        const char *pb = b, *pe = p, *eq;
        trim(&pb, &pe);
        if (pb < pe) {
            if (!(eq = memchr(pb, '=', (size_t)(pe - pb)))) return -1;
            const char *kb = pb, *ke = eq, *vb = eq + 1, *ve = pe;
            trim(&kb, &ke);
            trim(&vb, &ve);
            if (ke - kb == 3 && !strncasecmp(kb, "for", 3)) {
                if (found == 0) return -1; /* for= twice in one element: not one hop */
                char buf[128];
                long n;
                if (vb < ve && *vb == '"') {
                    if ((n = unquote(vb, ve, buf, sizeof buf)) < 0) return -1;
                    found = parse_node(buf, buf + n, out);
                } else {
                    found = parse_node(vb, ve, out);
                }
                if (found) return -1;
            }
        }
        b = p < e ? p + 1 : e;
    }
    return found;
}

/* ---- the chain ----------------------------------------------------------- */

typedef struct hop {
    hx_ipaddr a;
    bool ok;
} hop;

typedef struct hops {
    hop ring[HX_FWD_MAX_HOPS];
    size_t total; /* hops seen; the ring holds the last min(total, HX_FWD_MAX_HOPS) */
} hops;

static void add_hop(hops *h, const hx_ipaddr *a, bool ok)
{
    hop *slot = &h->ring[h->total % HX_FWD_MAX_HOPS];
    if (ok) slot->a = *a;
    slot->ok = ok;
    h->total++;
}

static void split_hops(const char *v, hx_fwd_header which, hops *h)
{
    const char *b = v, *end = v + strlen(v);
    while (b <= end) {
        const char *p = b;
        bool q = false;
        for (; p < end && (q || *p != ','); p++) {
            if (which == HX_FWD_FORWARDED && *p == '"') q = !q;
            if (which == HX_FWD_FORWARDED && *p == '\\' && q && p + 1 < end) p++;
        }
        const char *eb = b, *ee = p;
        trim(&eb, &ee);
        if (eb < ee) { /* empty list elements are allowed and skipped (RFC 7230 §7) */
            hx_ipaddr a;
            int rc = which == HX_FWD_FORWARDED ? parse_forwarded_element(eb, ee, &a)
                                               : parse_node(eb, ee, &a);
            add_hop(h, &a, rc == 0);
        }
        b = p + 1;
    }
}

int hx_client_addr(const char *peer, const char *forwarded, const char *xff, hx_fwd_header which,
                   const hx_cidr *trusted, size_t n_trusted, char *out, size_t outlen)
{
    hx_ipaddr pa;
    if (!outlen) return 0;
    if (!peer || hx_ip_parse(peer, strlen(peer), &pa)) {
        snprintf(out, outlen, "%s", peer ? peer : "");
        return 0;
    }
    hx_ip_format(&pa, out, outlen);
    const char *v = which == HX_FWD_FORWARDED ? forwarded : xff;
    if (!v || !hx_cidrs_contain(trusted, n_trusted, &pa)) return 0;

    hops h = {.total = 0};
    split_hops(v, which, &h);
    size_t kept = h.total < HX_FWD_MAX_HOPS ? h.total : HX_FWD_MAX_HOPS;
    for (size_t i = 0; i < kept; i++) {
        const hop *x = &h.ring[(h.total - 1 - i) % HX_FWD_MAX_HOPS];
        if (!x->ok) return 0;
        if (!hx_cidrs_contain(trusted, n_trusted, &x->a) || i + 1 == h.total) {
            /* Not a proxy of ours: the client. Or the left-most hop of a chain of trusted
             * hosts: a client inside the trusted range, named by the first proxy. */
            hx_ip_format(&x->a, out, outlen);
            return 1;
        }
    }
    return 0; /* no header hop, or more trusted hops than the ring holds */
}
