/*
 * The webhook.url value, checked at start so that a typo is a configuration
 * error with a reason rather than a stream of failed deliveries. Only the
 * shape is checked (RFC 3986 authority: host, optional port); libcurl reads
 * the URL itself. Credentials in the URL are refused: the URL is logged, and
 * the receiver authenticates hearthd by the signature (webhook.secret).
 */
#include "webhook/webhook.h"

#include <stdio.h>
#include <string.h>

#define URL_MAX 2048

static bool host_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_';
}

/* Port digits [p, end): 1..65535. */
static int parse_port(const char *p, const char *end, int *port)
{
    long v = 0;
    if (p == end || end - p > 5) return -1;
    for (; p < end; p++) {
        if (*p < '0' || *p > '9') return -1;
        v = v * 10 + (*p - '0');
    }
    if (v < 1 || v > 65535) return -1;
    *port = (int)v;
    return 0;
}

static int fail(const char **why, const char *msg)
{
    *why = msg;
    return -1;
}

int hx_wh_url_parse(const char *url, hx_wh_url *out, const char **why)
{
    memset(out, 0, sizeof *out);
    size_t len = strnlen(url, URL_MAX + 1);
    if (len > URL_MAX) return fail(why, "longer than 2048 bytes");
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)url[i] <= ' ' || url[i] == 0x7f)
            return fail(why, "has a space or a control character");
    const char *p;
    if (!strncmp(url, "https://", 8)) {
        out->https = true;
        p = url + 8;
    } else if (!strncmp(url, "http://", 7)) {
        p = url + 7;
    } else {
        return fail(why, "must start with http:// or https://");
    }
    if (strchr(url, '#')) return fail(why, "has a fragment (#)");
    const char *end = p + strcspn(p, "/?");
    const char *at = memchr(p, '@', (size_t)(end - p));
    if (at) return fail(why, "has user:password@ (the signature authenticates hearthd)");
    const char *host = p, *host_end, *port_at = NULL;
    if (*p == '[') { /* an IPv6 literal */
        host = p + 1;
        host_end = memchr(host, ']', (size_t)(end - host));
        if (!host_end) return fail(why, "has an unclosed [");
        for (const char *c = host; c < host_end; c++)
            if (!strchr("0123456789abcdefABCDEF:.", *c)) return fail(why, "has a bad IPv6 address");
        if (host_end[1] == ':')
            port_at = host_end + 2;
        else if (host_end + 1 != end)
            return fail(why, "has text after ]");
    } else {
        host_end = memchr(p, ':', (size_t)(end - p));
        if (host_end)
            port_at = host_end + 1;
        else
            host_end = end;
        for (const char *c = host; c < host_end; c++)
            if (!host_char(*c)) return fail(why, "has a bad character in the host");
    }
    if (host_end == host) return fail(why, "has no host");
    if ((size_t)(host_end - host) >= sizeof out->host) return fail(why, "has a host too long");
    memcpy(out->host, host, (size_t)(host_end - host));
    out->host[host_end - host] = '\0';
    out->port = out->https ? 443 : 80;
    if (port_at && parse_port(port_at, end, &out->port))
        return fail(why, "has a port that is not 1..65535");
    *why = NULL;
    return 0;
}
