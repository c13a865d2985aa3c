/*
 * URLs for the HTTP client: http://host[:port][/base] with IPv4, [IPv6] or
 * a hostname (https is refused with a message: this client speaks plain
 * HTTP), the same for the URL a server is reached by (public_url: http,
 * https, ws, wss), and percent-encoding of path segments.
 */
#include "common/http_client.h"

#include "common/clock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef HX_VERSION
#define HX_VERSION "0"
#endif


static int is_hostname_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '-' || ch == '.' || ch == '_';
}

static int url_fail(const char **why, int rc, const char *msg)
{
    if (why) *why = msg;
    return rc;
}

static int parse_ipv6(const char *p, size_t len, hx_url *out, const char **why)
{
    char addr[INET6_ADDRSTRLEN + 1];
    struct in6_addr a6;
    size_t alen = len;
    const char *zone = memchr(p, '%', len);

    if (len == 0 || len >= sizeof out->host)
        return url_fail(why, HX_HTTP_EURL, "bad IPv6 address in brackets");
    if (zone) alen = (size_t)(zone - p);
    if (alen >= sizeof addr) return url_fail(why, HX_HTTP_EURL, "bad IPv6 address in brackets");
    memcpy(addr, p, alen);
    addr[alen] = '\0';
    if (inet_pton(AF_INET6, addr, &a6) != 1 || (zone && len - alen < 2))
        return url_fail(why, HX_HTTP_EURL, "bad IPv6 address in brackets");
    /* RFC 6874 writes the zone separator as "%25"; getaddrinfo wants a bare '%'. */
    if (zone && len - alen > 3 && zone[1] == '2' && zone[2] == '5') {
        memcpy(out->host, p, alen + 1);
        memcpy(out->host + alen + 1, zone + 3, len - alen - 3);
        out->host[len - 2] = '\0';
    } else {
        memcpy(out->host, p, len);
        out->host[len] = '\0';
    }
    out->ipv6 = 1;
    return 0;
}

static int parse_port(const char *p, const char *end, hx_url *out, const char **why)
{
    long v = 0;

    if (p == end) return url_fail(why, HX_HTTP_EURL, "missing port after ':'");
    for (; p < end; p++) {
        if (*p < '0' || *p > '9') return url_fail(why, HX_HTTP_EURL, "the port must be a number");
        v = v * 10 + (*p - '0');
        if (v > 65535) break;
    }
    if (v < 1 || v > 65535) return url_fail(why, HX_HTTP_EURL, "the port must be 1-65535");
    out->port = (uint16_t)v;
    return 0;
}

/* Everything after "scheme://": host, [IPv6] or name, optional port (else default_port), base. */
static int parse_rest(const char *p, uint16_t default_port, hx_url *out, const char **why)
{
    const char *auth_end, *hend, *q;
    size_t blen;
    int rc;

    if (strpbrk(p, "?#"))
        return url_fail(why, HX_HTTP_EURL, "a base URL takes no query or fragment");
    auth_end = p + strcspn(p, "/");
    if (memchr(p, '@', (size_t)(auth_end - p)))
        return url_fail(why, HX_HTTP_EURL, "user@host URLs are not supported");

    if (*p == '[') {
        hend = memchr(p, ']', (size_t)(auth_end - p));
        if (!hend) return url_fail(why, HX_HTTP_EURL, "unterminated [IPv6] address");
        if ((rc = parse_ipv6(p + 1, (size_t)(hend - p - 1), out, why)) < 0) return rc;
        q = hend + 1;
    } else {
        for (q = p; q < auth_end && *q != ':'; q++)
            if (!is_hostname_char(*q))
                return url_fail(why, HX_HTTP_EURL, "bad character in the host name");
        if (q == p) return url_fail(why, HX_HTTP_EURL, "missing host");
        if ((size_t)(q - p) >= sizeof out->host)
            return url_fail(why, HX_HTTP_EURL, "host name too long");
        if (q < auth_end && memchr(q + 1, ':', (size_t)(auth_end - q - 1)))
            return url_fail(why, HX_HTTP_EURL, "IPv6 addresses go in brackets: http://[::1]:7880");
        memcpy(out->host, p, (size_t)(q - p));
        out->host[q - p] = '\0';
    }

    out->port = default_port;
    if (q < auth_end) {
        if (*q != ':') return url_fail(why, HX_HTTP_EURL, "unexpected characters after the host");
        if ((rc = parse_port(q + 1, auth_end, out, why)) < 0) return rc;
    }

    blen = strlen(auth_end);
    while (blen > 0 && auth_end[blen - 1] == '/')
        blen--;
    if (blen >= sizeof out->base) return url_fail(why, HX_HTTP_EURL, "base path too long");
    for (size_t i = 0; i < blen; i++)
        if ((unsigned char)auth_end[i] <= 0x20 || (unsigned char)auth_end[i] >= 0x7f)
            return url_fail(why, HX_HTTP_EURL, "bad character in the base path");
    memcpy(out->base, auth_end, blen);
    out->base[blen] = '\0';
    return 0;
}

int hx_url_parse(const char *s, hx_url *out, const char **why)
{
    memset(out, 0, sizeof *out);
    if (!s || !*s) return url_fail(why, HX_HTTP_EURL, "empty URL");
    if (strncasecmp(s, "https://", 8) == 0)
        return url_fail(why, HX_HTTP_EUNSUPPORTED,
                        "https is not supported (plain HTTP only): use http:// on loopback, "
                        "or reach the server through a tunnel");
    if (strncasecmp(s, "http://", 7) != 0)
        return url_fail(why, strstr(s, "://") ? HX_HTTP_EUNSUPPORTED : HX_HTTP_EURL,
                        "the URL must start with http://");
    return parse_rest(s + 7, 80, out, why);
}

int hx_url_parse_public(const char *s, hx_url *out, int *tls, const char **why)
{
    static const struct {
        const char *scheme;
        uint16_t port;
        int tls;
    } schemes[] = {{"http://", 80, 0}, {"ws://", 80, 0}, {"https://", 443, 1}, {"wss://", 443, 1}};
    memset(out, 0, sizeof *out);
    if (!s || !*s) return url_fail(why, HX_HTTP_EURL, "empty URL");
    for (size_t i = 0; i < sizeof schemes / sizeof schemes[0]; i++) {
        size_t n = strlen(schemes[i].scheme);
        if (strncasecmp(s, schemes[i].scheme, n) == 0) {
            *tls = schemes[i].tls;
            return parse_rest(s + n, schemes[i].port, out, why);
        }
    }
    return url_fail(why, HX_HTTP_EURL, "the URL must start with http://, https://, ws:// or wss://");
}

long hx_url_encode(const char *in, char *out, size_t outlen)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;

    for (; *in; in++) {
        unsigned char ch = (unsigned char)*in;
        int plain = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                    (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_' || ch == '~';
        if (o + (plain ? 1 : 3) >= outlen) return -1;
        if (plain) {
            out[o++] = (char)ch;
        } else {
            out[o++] = '%';
            out[o++] = hex[ch >> 4];
            out[o++] = hex[ch & 15];
        }
    }
    if (o >= outlen) return -1;
    out[o] = '\0';
    return (long)o;
}
