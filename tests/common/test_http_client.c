/*
 * Tests for src/common/http_client.c.
 *
 * URL parsing and the response codec are tested as pure functions. The
 * client is tested end to end against a canned loopback server: a thread
 * that accepts one connection, reads the request (kept for assertions),
 * writes a scripted response in pieces with optional pauses, then holds the
 * connection open until the client closes it or hold_ms passes. Holding
 * matters: it proves the client stops at Content-Length or the last chunk
 * instead of waiting for the close. Every test runs under alarm() so a hang
 * fails instead of stalling the suite.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/clock.h"
#include "common/http_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- canned server ------------------------------------------------------ */

typedef struct canned {
    const char *const *pieces; /* NULL-terminated, written in order */
    int pause_ms;              /* between pieces */
    size_t filler;             /* then this many 'x' bytes */
    int hold_ms;               /* then keep the connection open this long */
    int no_accept_read;        /* close right after accept, reading nothing */
    int family;                /* AF_INET (default) or AF_INET6 */
    int lfd;
    uint16_t port;
    pthread_t thread;
    char request[16384];
    size_t request_len;
} canned;

static void sleep_ms(int ms)
{
    poll(NULL, 0, ms);
}

/* Read one request: the head, then Content-Length bytes of body. */
static void read_request(canned *s, int fd)
{
    size_t want = SIZE_MAX;

    while (s->request_len < want && s->request_len < sizeof s->request - 1) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        ssize_t n;
        char *end;
        if (poll(&pfd, 1, 2000) <= 0) return;
        n = recv(fd, s->request + s->request_len, sizeof s->request - 1 - s->request_len, 0);
        if (n <= 0) return;
        s->request_len += (size_t)n;
        s->request[s->request_len] = '\0';
        if (want == SIZE_MAX && (end = strstr(s->request, "\r\n\r\n"))) {
            const char *cl = strstr(s->request, "Content-Length: ");
            want = (size_t)(end + 4 - s->request);
            if (cl && cl < end) want += strtoul(cl + 16, NULL, 10);
        }
    }
}

static void *serve(void *arg)
{
    canned *s = arg;
    char junk[4096];
    int fd = accept(s->lfd, NULL, NULL);

    if (fd < 0) return NULL;
    if (s->no_accept_read) {
        close(fd);
        return NULL;
    }
    read_request(s, fd);
    for (size_t i = 0; s->pieces && s->pieces[i]; i++) {
        if (i && s->pause_ms) sleep_ms(s->pause_ms);
        if (send(fd, s->pieces[i], strlen(s->pieces[i]), MSG_NOSIGNAL) < 0) goto done;
    }
    memset(junk, 'x', sizeof junk);
    for (size_t left = s->filler; left > 0;) {
        size_t n = left < sizeof junk ? left : sizeof junk;
        ssize_t w = send(fd, junk, n, MSG_NOSIGNAL);
        if (w <= 0) goto done;
        left -= (size_t)w;
    }
    if (s->hold_ms) { /* until the client hangs up */
        int64_t end = hx_mono_ms() + s->hold_ms;
        while (hx_mono_ms() < end) {
            struct pollfd pfd = {.fd = fd, .events = POLLIN};
            if (poll(&pfd, 1, 50) > 0 && recv(fd, junk, sizeof junk, 0) <= 0) break;
        }
    }
done:
    close(fd);
    return NULL;
}

static int server_start(canned *s)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    int family = s->family ? s->family : AF_INET;

    memset(&ss, 0, sizeof ss);
    if (family == AF_INET6) {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
        a6->sin6_family = AF_INET6;
        a6->sin6_addr = in6addr_loopback;
    } else {
        struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
        a4->sin_family = AF_INET;
        a4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    }
    s->lfd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s->lfd < 0) return -1;
    if (bind(s->lfd, (struct sockaddr *)&ss, sl) < 0 || listen(s->lfd, 4) < 0 ||
        getsockname(s->lfd, (struct sockaddr *)&ss, &sl) < 0) {
        close(s->lfd);
        return -1;
    }
    s->port = ntohs(family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                       : ((struct sockaddr_in *)&ss)->sin_port);
    return pthread_create(&s->thread, NULL, serve, s) == 0 ? 0 : -1;
}

static void server_stop(canned *s)
{
    pthread_join(s->thread, NULL);
    close(s->lfd);
}

/* GET base/path against a canned server; returns the client's result. */
static int fetch(canned *s, hx_http_client *c, hx_http_response *r, int timeout_ms)
{
    char url[64];
    hx_http_request req = {.method = "GET", .path = "/v1/thing"};
    int rc;

    assert_int_equal(server_start(s), 0);
    snprintf(url, sizeof url, "http://127.0.0.1:%u/base", (unsigned)s->port);
    assert_int_equal(hx_http_client_init(c, url), 0);
    if (timeout_ms) c->timeout_ms = timeout_ms;
    rc = hx_http_client_request(c, &req, r);
    server_stop(s);
    return rc;
}

static int arm_alarm(void **state)
{
    (void)state;
    alarm(20);
    return 0;
}

/* ---- URL ----------------------------------------------------------------- */

static void test_url_ok(void **state __attribute__((unused)))
{
    hx_url u;
    const char *why = NULL;

    assert_int_equal(hx_url_parse("http://127.0.0.1:7880", &u, &why), 0);
    assert_string_equal(u.host, "127.0.0.1");
    assert_int_equal(u.port, 7880);
    assert_string_equal(u.base, "");
    assert_false(u.ipv6);

    assert_int_equal(hx_url_parse("HTTP://[::1]:8080/hearth/admin/", &u, &why), 0);
    assert_string_equal(u.host, "::1");
    assert_int_equal(u.port, 8080);
    assert_true(u.ipv6);
    assert_string_equal(u.base, "/hearth/admin");

    assert_int_equal(hx_url_parse("http://hearth.example.org/", &u, &why), 0);
    assert_string_equal(u.host, "hearth.example.org");
    assert_int_equal(u.port, 80);
    assert_string_equal(u.base, "");

    assert_int_equal(hx_url_parse("http://[fe80::1%25eth0]:1", &u, &why), 0);
    assert_string_equal(u.host, "fe80::1%eth0");
}

static void test_url_bad(void **state __attribute__((unused)))
{
    static const char *const bad[] = {
        "",
        "127.0.0.1:7880",
        "http://",
        "http://:80",
        "http://h:",
        "http://h:0",
        "http://h:65536",
        "http://h:99999999999",
        "http://h:8x",
        "http://[::1",
        "http://[zz]:1",
        "http://::1:80",
        "http://h/x?y=1",
        "http://h#f",
        "http://u:p@h",
        "http://h o",
        "http://h]",
    };
    hx_url u;
    const char *why = NULL;

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        why = NULL;
        if (hx_url_parse(bad[i], &u, &why) != HX_HTTP_EURL)
            fail_msg("'%s' should be a bad URL", bad[i]);
        assert_non_null(why);
    }
    assert_int_equal(hx_url_parse("https://127.0.0.1", &u, &why), HX_HTTP_EUNSUPPORTED);
    assert_non_null(strstr(why, "https"));
    assert_int_equal(hx_url_parse("ws://h", &u, &why), HX_HTTP_EUNSUPPORTED);
}

/* public_url: the schemes a server is reached by, each with its default port. */
static void test_url_public(void **state __attribute__((unused)))
{
    hx_url u;
    const char *why = NULL;
    int tls = -1;
    assert_int_equal(hx_url_parse_public("wss://hearth.example.org/", &u, &tls, &why), 0);
    assert_string_equal(u.host, "hearth.example.org");
    assert_int_equal(u.port, 443);
    assert_int_equal(tls, 1);
    assert_int_equal(hx_url_parse_public("HTTPS://[2001:db8::1]:8443/x", &u, &tls, &why), 0);
    assert_string_equal(u.host, "2001:db8::1");
    assert_true(u.ipv6);
    assert_int_equal(u.port, 8443);
    assert_string_equal(u.base, "/x");
    assert_int_equal(hx_url_parse_public("ws://10.0.0.1", &u, &tls, &why), 0);
    assert_int_equal(u.port, 80);
    assert_int_equal(tls, 0);
    assert_int_equal(hx_url_parse_public("ftp://h", &u, &tls, &why), HX_HTTP_EURL);
    assert_int_equal(hx_url_parse_public("wss://", &u, &tls, &why), HX_HTTP_EURL);
    assert_int_equal(hx_url_parse_public("wss://h:99999", &u, &tls, &why), HX_HTTP_EURL);
}

static void test_url_encode(void **state __attribute__((unused)))
{
    char buf[32];

    assert_int_equal(hx_url_encode("a b/c~d.e_f-g", buf, sizeof buf), 17);
    assert_string_equal(buf, "a%20b%2Fc~d.e_f-g");
    assert_int_equal(hx_url_encode("\xc3\xa9?", buf, sizeof buf), 9);
    assert_string_equal(buf, "%C3%A9%3F");
    assert_int_equal(hx_url_encode("abc", buf, 3), -1);
    assert_int_equal(hx_url_encode("abc", buf, 4), 3);
    assert_int_equal(hx_url_encode("/", buf, 3), -1);
}

/* ---- codec --------------------------------------------------------------- */

static void test_parser_bytewise_chunked(void **state __attribute__((unused)))
{
    static const char resp[] = "HTTP/1.1 100 Continue\r\n\r\n"
                               "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                               "3\r\nabc\r\nA ; x=y\r\n0123456789\r\n0\r\nT: 1\r\n\r\nEXTRA";
    hx_http_parser p;
    size_t used, i;
    int rc = 0;

    hx_http_parser_init(&p, 0);
    for (i = 0; i < sizeof resp - 1 && rc == 0; i++)
        rc = hx_http_parser_feed(&p, (const uint8_t *)resp + i, 1, &used);
    assert_int_equal(rc, 1);
    assert_int_equal(i, sizeof resp - 1 - 5); /* stops before EXTRA */
    assert_int_equal(p.status, 200);
    assert_int_equal(p.body_len, 13);
    assert_string_equal((char *)p.body, "abc0123456789");
    hx_http_parser_free(&p);
}

static void test_parser_errors(void **state __attribute__((unused)))
{
    static const struct {
        const char *in;
        int rc;
    } cases[] = {
        {"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", HX_HTTP_EPROTO},
        {"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", HX_HTTP_EPROTO},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", HX_HTTP_EPROTO},
        {"HTTP/1.1 200 OK\r\n folded\r\n\r\n", HX_HTTP_EPROTO},
        {"HTTP/1.1 200 OK\r\nno colon\r\n\r\n", HX_HTTP_EPROTO},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", HX_HTTP_EPROTO},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab", HX_HTTP_EPROTO},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFF\r\n",
         HX_HTTP_ETOOBIG},
        {"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n", HX_HTTP_ETOOBIG},
        {"HTTP/2 200\r\n\r\n", HX_HTTP_EPROTO},
        {"HTTP/1.1 20 OK\r\n\r\n", HX_HTTP_EPROTO},
        {"HTTP/1.1 600 Nope\r\n\r\n", HX_HTTP_EPROTO},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hx_http_parser p;
        size_t used;
        int rc;
        hx_http_parser_init(&p, 0);
        rc = hx_http_parser_feed(&p, (const uint8_t *)cases[i].in, strlen(cases[i].in), &used);
        if (rc != cases[i].rc) fail_msg("case %zu: got %d, want %d", i, rc, cases[i].rc);
        assert_non_null(p.why);
        hx_http_parser_free(&p);
    }
}

static void test_parser_eof(void **state __attribute__((unused)))
{
    hx_http_parser p;
    size_t used;
    static const char cl[] = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc";
    static const char nocl[] = "HTTP/1.0 200 OK\nX: y\n\nuntil close";

    hx_http_parser_init(&p, 0);
    assert_int_equal(hx_http_parser_eof(&p), HX_HTTP_EPROTO);
    hx_http_parser_free(&p);

    hx_http_parser_init(&p, 0);
    assert_int_equal(hx_http_parser_feed(&p, (const uint8_t *)cl, sizeof cl - 1, &used), 0);
    assert_int_equal(hx_http_parser_eof(&p), HX_HTTP_EPROTO);
    hx_http_parser_free(&p);

    hx_http_parser_init(&p, 0); /* bare LF line ends are tolerated (RFC 9112 §2.2) */
    assert_int_equal(hx_http_parser_feed(&p, (const uint8_t *)nocl, sizeof nocl - 1, &used), 0);
    assert_int_equal(hx_http_parser_eof(&p), 1);
    assert_string_equal((char *)p.body, "until close");
    hx_http_parser_free(&p);
}

/* ---- client over loopback ---------------------------------------------------- */

static void test_content_length(void **state __attribute__((unused)))
{
    static const char *const pieces[] = {
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 10\r\n\r\n",
        "{\"a\":", "true}", NULL};
    canned s = {.pieces = pieces, .pause_ms = 20, .hold_ms = 5000};
    hx_http_client c;
    hx_http_response r;
    char ct[64];
    int64_t t0 = hx_mono_ms();

    assert_int_equal(fetch(&s, &c, &r, 0), 0);
    assert_true(hx_mono_ms() - t0 < 2000); /* did not wait for the close */
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, 10);
    assert_string_equal(r.body, "{\"a\":true}");
    assert_int_equal(hx_http_response_header(&r, "content-type", ct, sizeof ct), 16);
    assert_string_equal(ct, "application/json");
    assert_int_equal(hx_http_response_header(&r, "X-Missing", ct, sizeof ct), -1);
    hx_http_response_free(&r);

    assert_non_null(strstr(s.request, "GET /base/v1/thing HTTP/1.1\r\n"));
    assert_non_null(strstr(s.request, "\r\nConnection: close\r\n"));
    assert_non_null(strstr(s.request, "\r\nHost: 127.0.0.1:"));
    assert_null(strstr(s.request, "Content-Length"));
}

static void test_chunked(void **state __attribute__((unused)))
{
    static const char *const pieces[] = {
        "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel",
        "lo\r\n6;ext=1\r\n world\r\n", "0\r\nX-Trailer: y\r\n\r\n", NULL};
    canned s = {.pieces = pieces, .pause_ms = 20, .hold_ms = 5000};
    hx_http_client c;
    hx_http_response r;
    int64_t t0 = hx_mono_ms();

    assert_int_equal(fetch(&s, &c, &r, 0), 0);
    assert_true(hx_mono_ms() - t0 < 2000);
    assert_int_equal(r.status, 201);
    assert_string_equal(r.body, "hello world");
    assert_int_equal(r.body_len, 11);
    hx_http_response_free(&r);
}

static void test_close_delimited(void **state __attribute__((unused)))
{
    static const char *const pieces[] = {"HTTP/1.0 404 Not Found\r\nServer: x\r\n\r\n",
                                         "read until ", "close", NULL};
    canned s = {.pieces = pieces, .pause_ms = 10};
    hx_http_client c;
    hx_http_response r;

    assert_int_equal(fetch(&s, &c, &r, 0), 0);
    assert_int_equal(r.status, 404);
    assert_string_equal(r.body, "read until close");
    hx_http_response_free(&r);
}

static void test_interim_and_empty(void **state __attribute__((unused)))
{
    static const char *const pieces[] = {
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n", NULL};
    canned s = {.pieces = pieces, .hold_ms = 5000};
    hx_http_client c;
    hx_http_response r;

    assert_int_equal(fetch(&s, &c, &r, 0), 0);
    assert_int_equal(r.status, 204);
    assert_int_equal(r.body_len, 0);
    assert_string_equal(r.body, "");
    hx_http_response_free(&r);
}

static void test_oversized(void **state __attribute__((unused)))
{
    static const char *const big_cl[] = {"HTTP/1.1 200 OK\r\nContent-Length: 1048577\r\n\r\n",
                                         NULL};
    static const char *const close_delim[] = {"HTTP/1.1 200 OK\r\n\r\n", NULL};
    static const char *const exact[] = {"HTTP/1.1 200 OK\r\nContent-Length: 1048576\r\n\r\n", NULL};
    hx_http_client c;
    hx_http_response r;
    canned a = {.pieces = big_cl, .hold_ms = 5000};
    canned b = {.pieces = close_delim, .filler = HX_HTTP_MAX_BODY + 1};
    canned d = {.pieces = exact, .filler = HX_HTTP_MAX_BODY};

    assert_int_equal(fetch(&a, &c, &r, 0), HX_HTTP_ETOOBIG);
    assert_null(r.body);
    assert_non_null(strstr(c.err, "cap"));
    assert_int_equal(fetch(&b, &c, &r, 0), HX_HTTP_ETOOBIG);
    assert_int_equal(fetch(&d, &c, &r, 0), 0); /* exactly the cap is fine */
    assert_int_equal(r.body_len, HX_HTTP_MAX_BODY);
    hx_http_response_free(&r);
}

static void test_oversized_head(void **state __attribute__((unused)))
{
    static const char *const pieces[] = {"HTTP/1.1 200 OK\r\nX-Big: ", NULL};
    canned s = {.pieces = pieces, .filler = HX_HTTP_MAX_HEAD + 10};
    hx_http_client c;
    hx_http_response r;

    assert_int_equal(fetch(&s, &c, &r, 0), HX_HTTP_ETOOBIG);
}

static void test_timeout(void **state __attribute__((unused)))
{
    static const char *const pieces[] = {"HTTP/1.1 200 OK\r\nContent-Le", NULL};
    canned s = {.pieces = pieces, .hold_ms = 5000};
    hx_http_client c;
    hx_http_response r;
    int64_t t0 = hx_mono_ms(), dt;

    assert_int_equal(fetch(&s, &c, &r, 200), HX_HTTP_ETIMEOUT);
    dt = hx_mono_ms() - t0;
    assert_true(dt >= 150 && dt < 2000);
    assert_non_null(strstr(c.err, "200 ms"));
}

static void test_garbage(void **state __attribute__((unused)))
{
    static const char *const ssh[] = {"SSH-2.0-OpenSSH_9.2\r\n", NULL};
    static const char *const bad_code[] = {"HTTP/1.1 2x0 OK\r\nContent-Length: 0\r\n\r\n", NULL};
    canned a = {.pieces = ssh, .hold_ms = 5000};
    canned b = {.pieces = bad_code, .hold_ms = 5000};
    canned d = {.no_accept_read = 1};
    hx_http_client c;
    hx_http_response r;
    int64_t t0 = hx_mono_ms();

    assert_int_equal(fetch(&a, &c, &r, 0), HX_HTTP_EPROTO);
    assert_true(hx_mono_ms() - t0 < 2000); /* fails fast, no wait for the head's end */
    assert_non_null(strstr(c.err, "status line"));
    assert_int_equal(fetch(&b, &c, &r, 0), HX_HTTP_EPROTO);
    int rc = fetch(&d, &c, &r, 0); /* closed at once: EOF, or a reset while sending */
    assert_true(rc == HX_HTTP_EPROTO || rc == HX_HTTP_EIO);
}

static void test_post_body_and_headers(void **state __attribute__((unused)))
{
    static const char *const pieces[] = {"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n{}",
                                         NULL};
    canned s = {.pieces = pieces};
    canned s2 = {.pieces = pieces};
    hx_http_header h[] = {{"Authorization", "Bearer k"}, {"Content-Type", "application/json"}};
    hx_http_request req = {.method = "POST",
                           .path = "/v1/admin/revocations",
                           .headers = h,
                           .n_headers = 2,
                           .body = "{\"jti\":\"x\"}",
                           .body_len = 11};
    hx_http_client c;
    hx_http_response r;
    char url[64];

    assert_int_equal(server_start(&s), 0);
    snprintf(url, sizeof url, "http://localhost:%u", (unsigned)s.port);
    assert_int_equal(hx_http_client_init(&c, url), 0);
    assert_int_equal(hx_http_client_request(&c, &req, &r), 0);
    server_stop(&s);
    assert_int_equal(r.status, 201);
    hx_http_response_free(&r);
    assert_non_null(strstr(s.request, "POST /v1/admin/revocations HTTP/1.1\r\n"));
    assert_non_null(strstr(s.request, "\r\nAuthorization: Bearer k\r\n"));
    assert_non_null(strstr(s.request, "\r\nContent-Length: 11\r\n"));
    assert_non_null(strstr(s.request, "\r\n\r\n{\"jti\":\"x\"}"));

    /* A body-less POST still says how long its body is. */
    req.body = NULL;
    req.n_headers = 0;
    assert_int_equal(server_start(&s2), 0);
    c.url.port = s2.port;
    assert_int_equal(hx_http_client_request(&c, &req, &r), 0);
    server_stop(&s2);
    hx_http_response_free(&r);
    assert_non_null(strstr(s2.request, "\r\nContent-Length: 0\r\n"));
}

static void test_bad_request_args(void **state __attribute__((unused)))
{
    hx_http_header inject[] = {{"X-A", "v\r\nX-Evil: 1"}};
    hx_http_header reserved[] = {{"Host", "elsewhere"}};
    hx_http_request req = {.method = "GET", .path = "/", .headers = inject, .n_headers = 1};
    hx_http_client c;
    hx_http_response r;

    assert_int_equal(hx_http_client_init(&c, "http://127.0.0.1:1"), 0);
    assert_int_equal(hx_http_client_request(&c, &req, &r), HX_HTTP_EARG);
    req.headers = reserved;
    assert_int_equal(hx_http_client_request(&c, &req, &r), HX_HTTP_EARG);
    req.n_headers = 0;
    req.path = "/a b";
    assert_int_equal(hx_http_client_request(&c, &req, &r), HX_HTTP_EARG);
    req.path = "no-slash";
    assert_int_equal(hx_http_client_request(&c, &req, &r), HX_HTTP_EARG);
    assert_int_equal(hx_http_client_init(&c, "https://127.0.0.1"), HX_HTTP_EUNSUPPORTED);
    assert_non_null(strstr(c.err, "https"));
}

static void test_connect_refused(void **state __attribute__((unused)))
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof a;
    hx_http_request req = {.method = "GET", .path = "/"};
    hx_http_client c;
    hx_http_response r;
    char url[64];
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    /* A port that was just free: bound, never listened on, then released. */
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &sl), 0);
    close(fd);
    snprintf(url, sizeof url, "http://127.0.0.1:%u", (unsigned)ntohs(a.sin_port));
    assert_int_equal(hx_http_client_init(&c, url), 0);
    assert_int_equal(hx_http_client_request(&c, &req, &r), HX_HTTP_ECONNECT);
    assert_non_null(strstr(c.err, "refused"));
    assert_string_equal(hx_http_strerror(HX_HTTP_ECONNECT), "connection failed");
}

static void test_ipv6_loopback(void **state __attribute__((unused)))
{
    static const char *const pieces[] = {"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nv6", NULL};
    canned s = {.pieces = pieces, .family = AF_INET6};
    hx_http_request req = {.method = "GET", .path = "/"};
    hx_http_client c;
    hx_http_response r;
    char url[64];

    if (server_start(&s) < 0) skip(); /* no IPv6 on this host */
    snprintf(url, sizeof url, "http://[::1]:%u", (unsigned)s.port);
    assert_int_equal(hx_http_client_init(&c, url), 0);
    assert_int_equal(hx_http_client_request(&c, &req, &r), 0);
    server_stop(&s);
    assert_string_equal(r.body, "v6");
    assert_non_null(strstr(s.request, "\r\nHost: [::1]:"));
    hx_http_response_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_url_ok, arm_alarm),
        cmocka_unit_test_setup(test_url_bad, arm_alarm),
        cmocka_unit_test_setup(test_url_public, arm_alarm),
        cmocka_unit_test_setup(test_url_encode, arm_alarm),
        cmocka_unit_test_setup(test_parser_bytewise_chunked, arm_alarm),
        cmocka_unit_test_setup(test_parser_errors, arm_alarm),
        cmocka_unit_test_setup(test_parser_eof, arm_alarm),
        cmocka_unit_test_setup(test_content_length, arm_alarm),
        cmocka_unit_test_setup(test_chunked, arm_alarm),
        cmocka_unit_test_setup(test_close_delimited, arm_alarm),
        cmocka_unit_test_setup(test_interim_and_empty, arm_alarm),
        cmocka_unit_test_setup(test_oversized, arm_alarm),
        cmocka_unit_test_setup(test_oversized_head, arm_alarm),
        cmocka_unit_test_setup(test_timeout, arm_alarm),
        cmocka_unit_test_setup(test_garbage, arm_alarm),
        cmocka_unit_test_setup(test_post_body_and_headers, arm_alarm),
        cmocka_unit_test_setup(test_bad_request_args, arm_alarm),
        cmocka_unit_test_setup(test_connect_refused, arm_alarm),
        cmocka_unit_test_setup(test_ipv6_loopback, arm_alarm),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
