/*
 * The HTTP/1.1 response codec: a byte-driven state machine, no I/O.
 *
 * The head (status line and headers) accumulates in p->head up to
 * HX_HTTP_MAX_HEAD; once its blank line arrives the framing is decided as
 * RFC 9112 §6.3 orders it: 1xx is skipped, 204/304 have no body,
 * Transfer-Encoding: chunked wins over Content-Length, and without either
 * the body runs to the end of the connection. Body bytes (de-chunked) go to
 * p->body, which never grows past max_body + 1 (the NUL).
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
        for (colon = line; colon < eol && hx__http_is_tchar(*colon); colon++)
            ;
        if (colon == line || *colon != ':') return perr(p, HX_HTTP_EPROTO, "malformed header line");
        v = colon + 1;
        ve = eol;
        hx__http_trim_ows(&v, &ve);
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
