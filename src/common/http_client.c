/*
 * The HTTP/1.1 client of http_client.h, in three parts that mirror the
 * header: URL parsing, the response codec, and the socket loop.
 *
 * The codec is a byte-driven state machine. The head (status line and
 * headers) accumulates in p->head up to HX_HTTP_MAX_HEAD; once its blank line
 * arrives the framing is decided as RFC 9112 §6.3 orders it: 1xx is skipped,
 * 204/304 have no body, Transfer-Encoding: chunked wins over Content-Length,
 * and without either the body runs to the end of the connection. Body bytes
 * (de-chunked) go to p->body, which never grows past max_body + 1 (the NUL).
 *
 * The socket loop uses a non-blocking socket and poll() against one deadline
 * for connect, send and receive together, so a stalled server costs at most
 * timeout_ms. Every request carries "Connection: close": no pooling to get
 * wrong, and a close-delimited body is always well defined.
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

/* ---- URL ---------------------------------------------------------------- */

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

int hx_url_parse(const char *s, hx_url *out, const char **why)
{
    const char *p, *auth_end, *hend, *q;
    size_t blen;
    int rc;

    memset(out, 0, sizeof *out);
    if (!s || !*s) return url_fail(why, HX_HTTP_EURL, "empty URL");
    if (strncasecmp(s, "https://", 8) == 0)
        return url_fail(why, HX_HTTP_EUNSUPPORTED,
                        "https is not supported (plain HTTP only): use http:// on loopback, "
                        "or reach the server through a tunnel");
    if (strncasecmp(s, "http://", 7) != 0)
        return url_fail(why, strstr(s, "://") ? HX_HTTP_EUNSUPPORTED : HX_HTTP_EURL,
                        "the URL must start with http://");
    p = s + 7;
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

    out->port = 80;
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

/* ---- response codec ------------------------------------------------------ */

enum {
    P_HEAD,
    P_BODY_LEN,
    P_BODY_CLOSE,
    P_CHUNK_SIZE,
    P_CHUNK_DATA,
    P_CHUNK_END,
    P_TRAILER,
    P_DONE,
    P_ERROR,
};

static int is_tchar(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

static int perr(hx_http_parser *p, int rc, const char *why)
{
    p->why = why;
    p->state = P_ERROR;
    return rc;
}

void hx_http_parser_init(hx_http_parser *p, size_t max_body)
{
    memset(p, 0, sizeof *p);
    p->state = P_HEAD;
    p->max_body = max_body ? max_body : HX_HTTP_MAX_BODY;
    p->content_length = -1;
}

void hx_http_parser_free(hx_http_parser *p)
{
    free(p->head);
    free(p->body);
    p->head = NULL;
    p->body = NULL;
    p->head_len = p->head_cap = p->body_len = p->body_cap = 0;
}

/* Room for extra more body bytes plus the NUL, within max_body. */
static int body_reserve(hx_http_parser *p, size_t extra)
{
    size_t need, cap;
    uint8_t *nb;

    if (extra > p->max_body - p->body_len)
        return perr(p, HX_HTTP_ETOOBIG, "response body over the size cap");
    need = p->body_len + extra + 1;
    if (need <= p->body_cap) return 0;
    cap = p->body_cap ? p->body_cap : 4096;
    while (cap < need)
        cap *= 2;
    if (cap > p->max_body + 1) cap = p->max_body + 1;
    nb = realloc(p->body, cap);
    if (!nb) return perr(p, HX_HTTP_ENOMEM, "out of memory");
    p->body = nb;
    p->body_cap = cap;
    return 0;
}

static int body_append(hx_http_parser *p, const uint8_t *buf, size_t n)
{
    int rc = body_reserve(p, n);
    if (rc < 0) return rc;
    memcpy(p->body + p->body_len, buf, n);
    p->body_len += n;
    return 0;
}

static int set_done(hx_http_parser *p)
{
    int rc = body_reserve(p, 0);
    if (rc < 0) return rc;
    p->body[p->body_len] = '\0';
    p->state = P_DONE;
    return 0;
}

/* Trim optional whitespace (RFC 9110 §5.6.3) from both ends of [*s, *e). */
static void trim_ows(const char **s, const char **e)
{
    while (*s < *e && (**s == ' ' || **s == '\t'))
        (*s)++;
    while (*e > *s && ((*e)[-1] == ' ' || (*e)[-1] == '\t' || (*e)[-1] == '\r'))
        (*e)--;
}

static int parse_content_length(hx_http_parser *p, const char *v, const char *ve)
{
    int64_t n = 0;

    if (v == ve) return perr(p, HX_HTTP_EPROTO, "bad Content-Length");
    for (; v < ve; v++) {
        if (*v < '0' || *v > '9') return perr(p, HX_HTTP_EPROTO, "bad Content-Length");
        if (n > (INT64_MAX - 9) / 10)
            return perr(p, HX_HTTP_ETOOBIG, "Content-Length over the size cap");
        n = n * 10 + (*v - '0');
    }
    /* RFC 9112 §6.3: differing lengths make the framing unknowable. */
    if (p->content_length >= 0 && p->content_length != n)
        return perr(p, HX_HTTP_EPROTO, "conflicting Content-Length headers");
    p->content_length = n;
    return 0;
}

/* The head is complete and NUL-terminated: read the status and the framing. */
static int parse_head(hx_http_parser *p)
{
    const char *h = p->head, *line, *eol;
    int chunked = 0, rc;

    /* RFC 9112 §4: HTTP-version SP 3DIGIT SP [reason] */
    if (strncmp(h, "HTTP/1.", 7) != 0 || h[7] < '0' || h[7] > '9' || h[8] != ' ' || h[9] < '1' ||
        h[9] > '5' || h[10] < '0' || h[10] > '9' || h[11] < '0' || h[11] > '9' ||
        (h[12] != ' ' && h[12] != '\r' && h[12] != '\n'))
        return perr(p, HX_HTTP_EPROTO, "malformed status line");
    p->status = (h[9] - '0') * 100 + (h[10] - '0') * 10 + (h[11] - '0');
    p->content_length = -1;

    for (line = strchr(h, '\n') + 1; *line && *line != '\r' && *line != '\n'; line = eol + 1) {
        const char *colon, *v, *ve;
        eol = strchr(line, '\n');
        if (*line == ' ' || *line == '\t')
            return perr(p, HX_HTTP_EPROTO, "obsolete header line folding");
        for (colon = line; colon < eol && is_tchar(*colon); colon++)
            ;
        if (colon == line || *colon != ':') return perr(p, HX_HTTP_EPROTO, "malformed header line");
        v = colon + 1;
        ve = eol;
        trim_ows(&v, &ve);
        if ((size_t)(colon - line) == 14 && strncasecmp(line, "content-length", 14) == 0) {
            if ((rc = parse_content_length(p, v, ve)) < 0) return rc;
        } else if ((size_t)(colon - line) == 17 &&
                   strncasecmp(line, "transfer-encoding", 17) == 0) {
            /* We send no TE header, so only "chunked" alone may come back. */
            if (ve - v != 7 || strncasecmp(v, "chunked", 7) != 0)
                return perr(p, HX_HTTP_EPROTO, "unsupported transfer coding");
            chunked = 1;
        }
    }

    if (p->status < 200) { /* interim: forget it and read the real response */
        p->head_len = 0;
        p->content_length = -1;
        return 0;
    }
    if (p->status == 204 || p->status == 304) return set_done(p);
    if (chunked) {
        p->line_len = 0;
        p->state = P_CHUNK_SIZE;
        return 0;
    }
    if (p->content_length >= 0) {
        if ((uint64_t)p->content_length > p->max_body)
            return perr(p, HX_HTTP_ETOOBIG, "response body over the size cap");
        if ((rc = body_reserve(p, (size_t)p->content_length)) < 0) return rc;
        p->remaining = (uint64_t)p->content_length;
        if (p->remaining == 0) return set_done(p);
        p->state = P_BODY_LEN;
        return 0;
    }
    p->state = P_BODY_CLOSE;
    return 0;
}

static int feed_head(hx_http_parser *p, const uint8_t *buf, size_t len, size_t *n)
{
    static const char prefix[] = "HTTP/";

    for (*n = 0; *n < len && p->state == P_HEAD;) {
        char ch = (char)buf[(*n)++];
        if (p->head_len + 2 > p->head_cap) {
            size_t cap = p->head_cap ? p->head_cap * 2 : 1024;
            char *nh;
            if (p->head_len + 2 > HX_HTTP_MAX_HEAD)
                return perr(p, HX_HTTP_ETOOBIG, "response head over 64 KiB");
            if (cap > HX_HTTP_MAX_HEAD) cap = HX_HTTP_MAX_HEAD;
            if (!(nh = realloc(p->head, cap))) return perr(p, HX_HTTP_ENOMEM, "out of memory");
            p->head = nh;
            p->head_cap = cap;
        }
        p->head[p->head_len++] = ch;
        /* Fail fast on a peer that is not speaking HTTP at all. */
        if (p->head_len < sizeof prefix && ch != prefix[p->head_len - 1])
            return perr(p, HX_HTTP_EPROTO, "malformed status line");
        if (ch == '\0') return perr(p, HX_HTTP_EPROTO, "NUL byte in the response head");
        if (ch != '\n' || p->head_len < 2) continue;
        /* A blank line (CRLF, or a bare LF per RFC 9112 §2.2) ends the head. */
        if (p->head[p->head_len - 2] == '\n' ||
            (p->head_len >= 3 && p->head[p->head_len - 2] == '\r' &&
             p->head[p->head_len - 3] == '\n')) {
            int rc;
            p->head[p->head_len] = '\0';
            if ((rc = parse_head(p)) < 0) return rc;
        }
    }
    return 0;
}

/* One byte of the chunk-size line: 1*HEXDIG [ chunk-ext ] CRLF (RFC 9112 §7.1). */
static int feed_chunk_size(hx_http_parser *p, char ch)
{
    uint64_t size = 0;
    size_t i, digits = 0;

    if (ch != '\n') {
        if (p->line_len + 1 >= sizeof p->line)
            return perr(p, HX_HTTP_EPROTO, "chunk-size line too long");
        p->line[p->line_len++] = ch;
        return 0;
    }
    for (i = 0; i < p->line_len; i++, digits++) {
        char c = p->line[i];
        int d = (c >= '0' && c <= '9')   ? c - '0'
                : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                         : -1;
        if (d < 0) break;
        if (digits >= 15) return perr(p, HX_HTTP_ETOOBIG, "response body over the size cap");
        size = size * 16 + (uint64_t)d;
    }
    while (i < p->line_len && (p->line[i] == ' ' || p->line[i] == '\t'))
        i++;
    if (digits == 0 || (i < p->line_len && p->line[i] != ';' && p->line[i] != '\r'))
        return perr(p, HX_HTTP_EPROTO, "bad chunk size");
    p->line_len = 0;
    if (size == 0) {
        p->trailer_len = 0;
        p->state = P_TRAILER;
        return 0;
    }
    if (size > p->max_body - p->body_len)
        return perr(p, HX_HTTP_ETOOBIG, "response body over the size cap");
    p->remaining = size;
    p->state = P_CHUNK_DATA;
    return 0;
}

static int feed_byte(hx_http_parser *p, char ch)
{
    switch (p->state) {
    case P_CHUNK_SIZE:
        return feed_chunk_size(p, ch);
    case P_CHUNK_END: /* the CRLF after chunk data */
        if (ch == '\r' && p->line_len == 0) {
            p->line_len = 1;
            return 0;
        }
        if (ch != '\n') return perr(p, HX_HTTP_EPROTO, "missing CRLF after chunk data");
        p->line_len = 0;
        p->state = P_CHUNK_SIZE;
        return 0;
    case P_TRAILER: /* trailer fields are skipped up to the blank line */
        if (++p->trailer_len > HX_HTTP_MAX_HEAD)
            return perr(p, HX_HTTP_ETOOBIG, "response trailers over 64 KiB");
        if (ch == '\n') {
            if (p->line_len == 0) return set_done(p);
            p->line_len = 0;
        } else if (ch != '\r') {
            p->line_len++;
        }
        return 0;
    default:
        return perr(p, HX_HTTP_EPROTO, "parser misuse");
    }
}

int hx_http_parser_feed(hx_http_parser *p, const uint8_t *buf, size_t len, size_t *used)
{
    size_t i = 0, n;
    int rc = 0;

    while (i < len && p->state != P_DONE && rc == 0) {
        switch (p->state) {
        case P_ERROR:
            rc = HX_HTTP_EPROTO;
            break;
        case P_HEAD:
            rc = feed_head(p, buf + i, len - i, &n);
            i += n;
            break;
        case P_BODY_LEN:
        case P_CHUNK_DATA:
            n = len - i < p->remaining ? len - i : (size_t)p->remaining;
            if ((rc = body_append(p, buf + i, n)) < 0) break;
            i += n;
            p->remaining -= n;
            if (p->remaining == 0) {
                if (p->state == P_BODY_LEN) {
                    rc = set_done(p);
                } else {
                    p->line_len = 0;
                    p->state = P_CHUNK_END;
                }
            }
            break;
        case P_BODY_CLOSE:
            rc = body_append(p, buf + i, len - i);
            i = len;
            break;
        default:
            rc = feed_byte(p, (char)buf[i++]);
            break;
        }
    }
    if (used) *used = i;
    if (rc < 0) return rc;
    return p->state == P_DONE;
}

int hx_http_parser_eof(hx_http_parser *p)
{
    int rc;

    switch (p->state) {
    case P_DONE:
        return 1;
    case P_BODY_CLOSE:
        return (rc = set_done(p)) < 0 ? rc : 1;
    case P_HEAD:
        return perr(p, HX_HTTP_EPROTO,
                    p->head_len ? "connection closed inside the response head"
                                : "connection closed without a response");
    case P_BODY_LEN:
        return perr(p, HX_HTTP_EPROTO, "connection closed before Content-Length bytes arrived");
    case P_ERROR:
        return HX_HTTP_EPROTO;
    default:
        return perr(p, HX_HTTP_EPROTO, "connection closed inside a chunked body");
    }
}

/* ---- client --------------------------------------------------------------- */

/* strerror_r comes in an XSI (int) and a GNU (char *) flavour; take either. */
static const char *err_xsi(int r, const char *buf)
{
    return r == 0 ? buf : "unknown error";
}
static const char *err_gnu(const char *r, const char *buf)
{
    (void)buf;
    return r;
}
#define ERRSTR(e, buf)                                                                             \
    _Generic(strerror_r((e), (buf), sizeof(buf)), int                                              \
             : err_xsi, default                                                                    \
             : err_gnu)(strerror_r((e), (buf), sizeof(buf)), (buf))

__attribute__((format(printf, 3, 4))) static int fail(hx_http_client *c, int rc, const char *fmt,
                                                      ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, sizeof c->err, fmt, ap);
    va_end(ap);
    return rc;
}

int hx_http_client_init(hx_http_client *c, const char *url)
{
    const char *why = "";
    int rc;

    memset(c, 0, sizeof *c);
    c->timeout_ms = HX_HTTP_TIMEOUT_MS;
    c->max_body = HX_HTTP_MAX_BODY;
    if ((rc = hx_url_parse(url, &c->url, &why)) < 0)
        return fail(c, rc, "bad URL '%s': %s", url ? url : "", why);
    return 0;
}

/* Wait for ev on fd until deadline: 1 ready, 0 timed out, negative errno. */
static int wait_fd(int fd, short ev, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - hx_mono_ms();
        struct pollfd pfd = {.fd = fd, .events = ev};
        int r;
        if (left <= 0) return 0;
        r = poll(&pfd, 1, left > INT_MAX ? INT_MAX : (int)left);
        if (r > 0) return 1;
        if (r < 0 && errno != EINTR) return -errno;
    }
}

static int dial(hx_http_client *c, int64_t deadline, int *out)
{
    struct addrinfo hints = {0}, *res = NULL, *ai;
    char port[8], ebuf[128];
    int gai, last = ECONNREFUSED;

    snprintf(port, sizeof port, "%u", (unsigned)c->url.port);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | (c->url.ipv6 ? AI_NUMERICHOST : 0);
    gai = getaddrinfo(c->url.host, port, &hints, &res);
    if (gai != 0)
        return fail(c, HX_HTTP_ERESOLVE, "cannot resolve %s: %s", c->url.host,
                    gai == EAI_SYSTEM ? ERRSTR(errno, ebuf) : gai_strerror(gai));
    for (ai = res; ai; ai = ai->ai_next) {
        int fd =
            socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
        int soerr = 0, r;
        socklen_t sl = sizeof soerr;
        if (fd < 0) {
            last = errno;
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
            *out = fd;
            freeaddrinfo(res);
            return 0;
        }
        if (errno != EINPROGRESS) {
            last = errno;
            close(fd);
            continue;
        }
        r = wait_fd(fd, POLLOUT, deadline);
        if (r == 0) {
            close(fd);
            freeaddrinfo(res);
            return fail(c, HX_HTTP_ETIMEOUT, "connect to %s port %s: timed out", c->url.host, port);
        }
        if (r < 0)
            soerr = -r;
        else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
            soerr = errno;
        if (soerr == 0) {
            *out = fd;
            freeaddrinfo(res);
            return 0;
        }
        last = soerr;
        close(fd);
    }
    freeaddrinfo(res);
    return fail(c, HX_HTTP_ECONNECT, "connect to %s port %s: %s", c->url.host, port,
                ERRSTR(last, ebuf));
}

static int send_all(hx_http_client *c, int fd, const char *buf, size_t len, int64_t deadline)
{
    char ebuf[128];

    while (len > 0) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
        if (n > 0) {
            buf += n;
            len -= (size_t)n;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int r = wait_fd(fd, POLLOUT, deadline);
            if (r == 0)
                return fail(c, HX_HTTP_ETIMEOUT, "sending the request: timed out after %d ms",
                            c->timeout_ms);
            if (r < 0) return fail(c, HX_HTTP_EIO, "send: %s", ERRSTR(-r, ebuf));
        } else if (n < 0 && errno != EINTR) {
            return fail(c, HX_HTTP_EIO, "send: %s", ERRSTR(errno, ebuf));
        }
    }
    return 0;
}

static int recv_response(hx_http_client *c, int fd, int64_t deadline, hx_http_parser *p)
{
    uint8_t buf[16384];
    char ebuf[128];

    for (;;) {
        ssize_t n;
        int r = wait_fd(fd, POLLIN, deadline);
        if (r == 0)
            return fail(c, HX_HTTP_ETIMEOUT, "no complete response within %d ms", c->timeout_ms);
        if (r < 0) return fail(c, HX_HTTP_EIO, "poll: %s", ERRSTR(-r, ebuf));
        n = recv(fd, buf, sizeof buf, 0);
        if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) continue;
        if (n < 0) return fail(c, HX_HTTP_EIO, "recv: %s", ERRSTR(errno, ebuf));
        r = n == 0 ? hx_http_parser_eof(p) : hx_http_parser_feed(p, buf, (size_t)n, NULL);
        if (r < 0) return fail(c, r, "bad response: %s", p->why ? p->why : "protocol error");
        if (r == 1) return 0;
    }
}

/* A header value may not smuggle a line break into the request. */
static int is_field_value(const char *v)
{
    for (; *v; v++)
        if (*v == '\r' || *v == '\n') return 0;
    return 1;
}

static int is_token(const char *s)
{
    if (!s || !*s) return 0;
    for (; *s; s++)
        if (!is_tchar(*s)) return 0;
    return 1;
}

static int reserved_header(const char *name)
{
    return strcasecmp(name, "host") == 0 || strcasecmp(name, "connection") == 0 ||
           strcasecmp(name, "content-length") == 0 || strcasecmp(name, "transfer-encoding") == 0;
}

/* Append to the request head; fails once HX_HTTP_MAX_HEAD would be exceeded. */
__attribute__((format(printf, 3, 4))) static int head_add(char *buf, size_t *len, const char *fmt,
                                                          ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf + *len, HX_HTTP_MAX_HEAD - *len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= HX_HTTP_MAX_HEAD - *len) return -1;
    *len += (size_t)n;
    return 0;
}

static int build_head(hx_http_client *c, const hx_http_request *req, char *buf, size_t *len)
{
    const hx_url *u = &c->url;
    int ua = 0, bad = 0;

    *len = 0;
    if (!is_token(req->method) || !req->path || req->path[0] != '/')
        return fail(c, HX_HTTP_EARG, "bad method or path");
    for (const char *s = req->path; *s; s++)
        if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
            return fail(c, HX_HTTP_EARG, "bad character in the request path");
    bad |= head_add(buf, len, "%s %s%s HTTP/1.1\r\n", req->method, u->base, req->path);
    if (u->port == 80)
        bad |= head_add(buf, len, u->ipv6 ? "Host: [%s]\r\n" : "Host: %s\r\n", u->host);
    else
        bad |= head_add(buf, len, u->ipv6 ? "Host: [%s]:%u\r\n" : "Host: %s:%u\r\n", u->host,
                        (unsigned)u->port);
    for (size_t i = 0; i < req->n_headers; i++) {
        const hx_http_header *h = &req->headers[i];
        if (!is_token(h->name) || !h->value || !is_field_value(h->value))
            return fail(c, HX_HTTP_EARG, "bad header '%s'", h->name ? h->name : "");
        if (reserved_header(h->name))
            return fail(c, HX_HTTP_EARG, "header '%s' is set by the client", h->name);
        ua |= strcasecmp(h->name, "user-agent") == 0;
        bad |= head_add(buf, len, "%s: %s\r\n", h->name, h->value);
    }
    if (!ua) bad |= head_add(buf, len, "User-Agent: hearth/%s\r\n", HX_VERSION);
    /* Servers answer 411 to a body-less POST without a length. */
    if (req->body || (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0))
        bad |= head_add(buf, len, "Content-Length: %zu\r\n", req->body ? req->body_len : 0);
    bad |= head_add(buf, len, "Connection: close\r\n\r\n");
    if (bad) return fail(c, HX_HTTP_EARG, "request head over 64 KiB");
    return 0;
}

int hx_http_client_request(hx_http_client *c, const hx_http_request *req, hx_http_response *resp)
{
    int timeout = c->timeout_ms > 0 ? c->timeout_ms : HX_HTTP_TIMEOUT_MS;
    int64_t deadline = hx_mono_ms() + timeout;
    hx_http_parser p;
    char *head;
    size_t head_len;
    int fd = -1, rc, send_rc;
    char send_err[sizeof c->err];

    memset(resp, 0, sizeof *resp);
    c->err[0] = '\0';
    hx_http_parser_init(&p, c->max_body);
    if (!(head = malloc(HX_HTTP_MAX_HEAD))) return fail(c, HX_HTTP_ENOMEM, "out of memory");
    if ((rc = build_head(c, req, head, &head_len)) < 0 || (rc = dial(c, deadline, &fd)) < 0)
        goto out;

    send_rc = send_all(c, fd, head, head_len, deadline);
    if (send_rc == 0 && req->body && req->body_len)
        send_rc = send_all(c, fd, req->body, req->body_len, deadline);
    /* A server may answer (413, 401) and close before reading the whole
     * body; its answer is still the best thing to report. */
    if (send_rc < 0 && send_rc != HX_HTTP_EIO) {
        rc = send_rc;
        goto out;
    }
    memcpy(send_err, c->err, sizeof send_err);
    rc = recv_response(c, fd, deadline, &p);
    if (rc < 0 && send_rc < 0) {
        memcpy(c->err, send_err, sizeof c->err);
        rc = send_rc;
    }
    if (rc == 0) {
        resp->status = p.status;
        resp->body = (char *)p.body;
        resp->body_len = p.body_len;
        resp->head = p.head;
        p.body = NULL;
        p.head = NULL;
    }
out:
    if (fd >= 0) close(fd);
    free(head);
    hx_http_parser_free(&p);
    return rc;
}

long hx_http_response_header(const hx_http_response *r, const char *name, char *out, size_t outlen)
{
    size_t nlen = strlen(name);
    const char *line;

    if (!r->head || !(line = strchr(r->head, '\n'))) return -1;
    for (line++; *line && *line != '\r' && *line != '\n';) {
        const char *eol = strchr(line, '\n');
        if (!eol) break;
        if (strncasecmp(line, name, nlen) == 0 && line[nlen] == ':') {
            const char *v = line + nlen + 1, *ve = eol;
            size_t vlen;
            trim_ows(&v, &ve);
            vlen = (size_t)(ve - v);
            if (vlen >= outlen) return -1;
            memcpy(out, v, vlen);
            out[vlen] = '\0';
            return (long)vlen;
        }
        line = eol + 1;
    }
    return -1;
}

void hx_http_response_free(hx_http_response *r)
{
    free(r->body);
    free(r->head);
    memset(r, 0, sizeof *r);
}

const char *hx_http_strerror(int err)
{
    switch (err) {
    case HX_HTTP_OK:
        return "ok";
    case HX_HTTP_EURL:
        return "bad URL";
    case HX_HTTP_EUNSUPPORTED:
        return "unsupported URL scheme";
    case HX_HTTP_ERESOLVE:
        return "name resolution failed";
    case HX_HTTP_ECONNECT:
        return "connection failed";
    case HX_HTTP_EIO:
        return "connection error";
    case HX_HTTP_ETIMEOUT:
        return "timed out";
    case HX_HTTP_ETOOBIG:
        return "response too large";
    case HX_HTTP_EPROTO:
        return "malformed response";
    case HX_HTTP_ENOMEM:
        return "out of memory";
    case HX_HTTP_EARG:
        return "bad request arguments";
    default:
        return "unknown error";
    }
}
