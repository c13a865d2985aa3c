/*
 * The socket loop of the HTTP client (http_client.h): a non-blocking socket
 * and poll() against one deadline for connect, send and receive together,
 * so a stalled server costs at most timeout_ms. Every request carries
 * "Connection: close": no pooling to get wrong, and a close-delimited body
 * is always well defined. URLs are in http_url.c, the response codec in
 * http_parser.c.
 */
#include "common/http_client.h"
#include "common/http_internal.h"

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
        if (!hx__http_is_tchar(*s)) return 0;
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
            hx__http_trim_ows(&v, &ve);
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
