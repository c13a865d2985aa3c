/*
 * A tiny blocking HTTP/1.1 client for hearth's own tools (hearthctl,
 * hearth-load): one request per connection, no TLS, no redirects, no
 * keep-alive. It exists so the tools need no libcurl, and it is small enough
 * to read in one sitting.
 *
 * Three layers, each usable alone:
 *   hx_url_parse       "http://host[:port][/base]" -> hx_url (pure)
 *   hx_http_parser     response codec fed with bytes: status line, headers,
 *                      then a body framed by Content-Length, chunked transfer
 *                      coding, or the end of the connection (RFC 9112 §6.3).
 *                      No I/O; the body buffer grows up to a cap.
 *   hx_http_client_request  resolve, connect, send, receive with one overall
 *                      deadline (poll), feeding the parser.
 *
 * Ownership: a hx_http_client is a plain value (the parsed URL, the limits and
 * the last error message); it holds no socket between calls. A
 * hx_http_response owns its malloc'd body and header block until
 * hx_http_response_free(). Errors are negative hx_http_err values; the
 * client's err[] says what happened in words. Nothing is global, so one client
 * per thread is safe.
 */
#ifndef HX_COMMON_HTTP_CLIENT_H
#define HX_COMMON_HTTP_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#define HX_HTTP_MAX_BODY (1024 * 1024) /* default response body cap */
#define HX_HTTP_MAX_HEAD (64 * 1024)   /* status line + headers (+ trailers) */
#define HX_HTTP_TIMEOUT_MS 10000       /* default deadline for a whole exchange */

typedef enum hx_http_err {
    HX_HTTP_OK = 0,
    HX_HTTP_EURL = -1,         /* the URL does not parse */
    HX_HTTP_EUNSUPPORTED = -2, /* https:// or another scheme */
    HX_HTTP_ERESOLVE = -3,     /* getaddrinfo failed */
    HX_HTTP_ECONNECT = -4,     /* no address accepted the connection */
    HX_HTTP_EIO = -5,          /* send/recv failed or the peer reset */
    HX_HTTP_ETIMEOUT = -6,     /* the deadline passed */
    HX_HTTP_ETOOBIG = -7,      /* body over the cap, or head over HX_HTTP_MAX_HEAD */
    HX_HTTP_EPROTO = -8,       /* malformed or truncated response */
    HX_HTTP_ENOMEM = -9,
    HX_HTTP_EARG = -10, /* bad request arguments (CR/LF in a header, ...) */
} hx_http_err;

/** A parsed base URL. host has no brackets; base has no trailing slash ("" for none). */
typedef struct hx_url {
    char host[256];
    uint16_t port;
    int ipv6; /* host is an IPv6 literal: bracket it in the Host header */
    char base[512];
} hx_url;

/**
 * Parse "http://host[:port][/base]". host is IPv4, "[IPv6]" or a DNS name;
 * port defaults to 80. No userinfo, query or fragment. Returns 0, or
 * HX_HTTP_EURL / HX_HTTP_EUNSUPPORTED with *why set to a static description.
 */
int hx_url_parse(const char *s, hx_url *out, const char **why);

/**
 * Parse the URL a server is reached by (public_url): "scheme://host[:port][/base]" with http,
 * https, ws or wss; the port defaults to 80, or 443 for https and wss (*tls = 1). Otherwise as
 * hx_url_parse.
 */
int hx_url_parse_public(const char *s, hx_url *out, int *tls, const char **why);

/**
 * Percent-encode in as one path segment or query value (RFC 3986 §2.1: all but
 * unreserved characters). Writes a NUL-terminated string; returns its length,
 * or -1 if out is too small.
 */
long hx_url_encode(const char *in, char *out, size_t outlen);

/* ---- response codec ---------------------------------------------------- */

typedef struct hx_http_parser {
    int state;
    int status;
    size_t max_body;
    char *head; /* status line and headers, NUL-terminated */
    size_t head_len, head_cap;
    int64_t content_length; /* -1: none */
    uint64_t remaining;     /* bytes left in the Content-Length body or current chunk */
    char line[128];         /* chunk-size line */
    size_t line_len;
    size_t trailer_len;
    uint8_t *body; /* NUL-terminated once done */
    size_t body_len, body_cap;
    const char *why; /* static description of the last error */
} hx_http_parser;

/** Start parsing a response whose body may hold at most max_body bytes (0: HX_HTTP_MAX_BODY). */
void hx_http_parser_init(hx_http_parser *p, size_t max_body);
/**
 * Feed received bytes. Returns 1 when the response is complete (*used tells
 * how many bytes belonged to it), 0 when more are needed, or a negative
 * hx_http_err with p->why set. Interim 1xx responses are skipped.
 */
int hx_http_parser_feed(hx_http_parser *p, const uint8_t *buf, size_t len, size_t *used);
/** The peer closed. Returns 1 if that completes the response, else a negative error. */
int hx_http_parser_eof(hx_http_parser *p);
/** Free the parser's buffers (safe on a half-used or already-moved parser). */
void hx_http_parser_free(hx_http_parser *p);

/* ---- client ------------------------------------------------------------- */

typedef struct hx_http_header {
    const char *name;
    const char *value;
} hx_http_header;

typedef struct hx_http_request {
    const char *method; /* "GET", "POST", ... */
    const char *path;   /* appended to the URL's base; starts with '/', may carry a query */
    const hx_http_header
        *headers; /* extra headers; Host, Connection and Content-Length are set here */
    size_t n_headers;
    const void *body; /* NULL: none (POST still sends Content-Length: 0) */
    size_t body_len;
} hx_http_request;

typedef struct hx_http_response {
    int status;
    char *body; /* NUL-terminated; body_len excludes the NUL */
    size_t body_len;
    char *head; /* raw status line and headers, for hx_http_response_header */
} hx_http_response;

typedef struct hx_http_client {
    hx_url url;
    int timeout_ms;  /* whole exchange: connect + send + receive */
    size_t max_body; /* response body cap */
    char err[256];   /* the last error, in words */
} hx_http_client;

/** Parse url and set the defaults (HX_HTTP_TIMEOUT_MS, HX_HTTP_MAX_BODY). Error text in c->err. */
int hx_http_client_init(hx_http_client *c, const char *url);
/**
 * Send one request and wait for the whole response. On 0, *resp holds the
 * status and body (any status, 4xx/5xx included); free it with
 * hx_http_response_free. On error *resp is empty and c->err says why. Name
 * resolution (getaddrinfo) is not bounded by the deadline.
 */
int hx_http_client_request(hx_http_client *c, const hx_http_request *req, hx_http_response *resp);
/** Copy the first header called name (case-insensitive) into out. Returns its length or -1. */
long hx_http_response_header(const hx_http_response *r, const char *name, char *out, size_t outlen);
/** Free the response's buffers; safe on a zeroed response. */
void hx_http_response_free(hx_http_response *r);
/** A static name for an hx_http_err ("connection failed", ...). */
const char *hx_http_strerror(int err);

#endif
