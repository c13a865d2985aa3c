/*
 * The TURN carrier on loopback (real sockets, its own thread): a UDP
 * client allocates, installs a permission toward a local UDP "peer"
 * (allowed by the allow list), relays a Send indication to it and gets the
 * answer back as a Data indication; a TCP client's requests arrive split
 * across writes; a stream adopted with hx_turn_adopt_stream (a socketpair
 * end plus head bytes) is answered with the peer address it was given;
 * the per-address connection cap closes the connection over it; and stop
 * closes everything. Only 127.0.0.1 is ever written to.
 */
#include "auth/turn_cred.h"
#include "common/bytes.h"
#include "stun/stun.h"
#include "turn/turn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#define SECRET "loopback-secret-0123456789"

static struct sockaddr_in loopback(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

static hx_turn *start(uint32_t per_addr)
{
    hx_turn_config cfg;
    hx_turn_config_default(&cfg);
    cfg.tls_port = -1;
    snprintf(cfg.secrets[0], sizeof cfg.secrets[0], SECRET);
    cfg.n_secrets = 1;
    snprintf(cfg.allow[0], sizeof cfg.allow[0], "127.0.0.1");
    cfg.n_allow = 1;
    cfg.max_conns_per_addr = per_addr;
    hx_turn *t = NULL;
    char err[256];
    assert_int_equal(hx_turn_start(&cfg, &t, err, sizeof err), 0);
    assert_true(hx_turn_port(t, HX_TURN_UDP) > 0);
    assert_true(hx_turn_port(t, HX_TURN_TCP) > 0);
    assert_int_equal(hx_turn_port(t, HX_TURN_TLS), -1);
    return t;
}

/* One datagram or stream read within 2 s: its length, or -1. */
static ssize_t recv_wait(int fd, uint8_t *buf, size_t cap)
{
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, 2000) != 1) return -1;
    return recv(fd, buf, cap, 0);
}

/* Read exactly n bytes from a stream within 2 s. */
static int read_exact(int fd, uint8_t *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = recv_wait(fd, buf + got, n - got);
        if (r <= 0) return -1;
        got += (size_t)r;
    }
    return 0;
}

/* A STUN message from a stream (header, then body). */
static size_t read_stun(int fd, uint8_t *buf)
{
    assert_int_equal(read_exact(fd, buf, 20), 0);
    size_t len = hx_rd16(buf + 2);
    assert_int_equal(read_exact(fd, buf + 20, len), 0);
    return 20 + len;
}

typedef struct client {
    char username[HX_TURN_CRED_MAX_USERNAME];
    char password[HX_TURN_CRED_PASSWORD_LEN];
    char nonce[64];
    hx_stun_key key;
    uint32_t seq;
} client;

static void client_init(client *c, const char *user)
{
    memset(c, 0, sizeof *c);
    assert_int_equal(hx_turn_cred_mint(SECRET, user, time(NULL) + 600, c->username,
                                       sizeof c->username, c->password),
                     0);
    hx_stun_key_init_long_term(&c->key, c->username, "hearth", c->password);
}

/* Build a request: attrs(w) adds the method's attributes; signed when a nonce is held. */
static size_t build(client *c, uint8_t *buf, uint16_t type,
                    void (*attrs)(hx_stun_writer *w, const void *arg), const void *arg)
{
    uint8_t tid[12] = {1, 2, 3};
    hx_wr32(tid + 8, ++c->seq);
    hx_stun_writer w;
    hx_stun_writer_init(&w, buf, 1024, type, tid);
    if (attrs) attrs(&w, arg);
    if (c->nonce[0] && hx_stun_class(type) == HX_STUN_CLASS_REQUEST) {
        hx_stun_put(&w, HX_STUN_ATTR_USERNAME, c->username, strlen(c->username));
        hx_stun_put(&w, HX_STUN_ATTR_REALM, "hearth", 6);
        hx_stun_put(&w, HX_STUN_ATTR_NONCE, c->nonce, strlen(c->nonce));
        hx_stun_put_integrity(&w, &c->key);
    }
    hx_stun_put_fingerprint(&w);
    long n = hx_stun_writer_finish(&w);
    assert_true(n > 0);
    return (size_t)n;
}

static void udp_transport(hx_stun_writer *w, const void *arg)
{
    hx_stun_put_u32(w, HX_STUN_ATTR_REQUESTED_TRANSPORT, 17u << 24);
}

static void peer_attr(hx_stun_writer *w, const void *arg)
{
    hx_stun_put_xor_addr(w, HX_STUN_ATTR_XOR_PEER_ADDRESS, arg);
}

static void send_attrs(hx_stun_writer *w, const void *arg)
{
    hx_stun_put_xor_addr(w, HX_STUN_ATTR_XOR_PEER_ADDRESS, arg);
    hx_stun_put(w, HX_STUN_ATTR_DATA, "hello peer", 10);
}

/* The answer's code (0: success); takes the nonce of a 401. */
static int answer(client *c, const uint8_t *buf, size_t len, hx_stun_msg *m)
{
    assert_int_equal(hx_stun_parse(m, buf, len), HX_STUN_OK);
    assert_int_equal(hx_stun_check_fingerprint(m), HX_STUN_OK);
    if (hx_stun_class(m->type) == HX_STUN_CLASS_SUCCESS) return 0;
    int code;
    const char *reason;
    size_t rl;
    assert_int_equal(hx_stun_get_error(m, &code, &reason, &rl), 0);
    const uint8_t *v;
    size_t n;
    if (code == 401 && hx_stun_get_bytes(m, HX_STUN_ATTR_NONCE, &v, &n) == 0 &&
        n < sizeof c->nonce) {
        memcpy(c->nonce, v, n);
        c->nonce[n] = '\0';
    }
    return code;
}

static void udp_relay_round_trip(void **state)
{
    hx_turn *t = start(64);
    int fd = socket(AF_INET, SOCK_DGRAM, 0), peer = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in srv = loopback(hx_turn_port(t, HX_TURN_UDP)), pa = loopback(0);
    assert_int_equal(bind(peer, (struct sockaddr *)&pa, sizeof pa), 0);
    socklen_t pl = sizeof pa;
    getsockname(peer, (struct sockaddr *)&pa, &pl);
    assert_int_equal(connect(fd, (struct sockaddr *)&srv, sizeof srv), 0);
    client c;
    client_init(&c, "alice");
    uint8_t buf[2048];
    hx_stun_msg m;
    int code = -1;
    for (int i = 0; i < 2; i++) {
        size_t n = build(&c, buf, HX_STUN_ALLOCATE, udp_transport, NULL);
        assert_int_equal(send(fd, buf, n, 0), (ssize_t)n);
        ssize_t r = recv_wait(fd, buf, sizeof buf);
        assert_true(r > 0);
        code = answer(&c, buf, (size_t)r, &m);
    }
    assert_int_equal(code, 0);
    struct sockaddr_storage relayed;
    assert_int_equal(hx_stun_get_xor_addr(&m, HX_STUN_ATTR_XOR_RELAYED_ADDRESS, &relayed), 0);
    assert_int_equal(((struct sockaddr_in *)&relayed)->sin_addr.s_addr, htonl(INADDR_LOOPBACK));

    size_t n = build(&c, buf, HX_STUN_CREATE_PERMISSION, peer_attr, &pa);
    send(fd, buf, n, 0);
    ssize_t r = recv_wait(fd, buf, sizeof buf);
    assert_true(r > 0);
    assert_int_equal(answer(&c, buf, (size_t)r, &m), 0);

    n = build(&c, buf, HX_STUN_SEND | HX_STUN_CLASS_INDICATION, send_attrs, &pa);
    send(fd, buf, n, 0);
    struct sockaddr_storage from;
    socklen_t fl = sizeof from;
    struct pollfd p = {peer, POLLIN, 0};
    assert_int_equal(poll(&p, 1, 2000), 1);
    r = recvfrom(peer, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
    assert_int_equal(r, 10);
    assert_memory_equal(buf, "hello peer", 10);
    assert_int_equal(((struct sockaddr_in *)&from)->sin_port,
                     ((struct sockaddr_in *)&relayed)->sin_port); /* from the relay */

    sendto(peer, "hello client", 12, 0, (struct sockaddr *)&relayed, sizeof(struct sockaddr_in));
    r = recv_wait(fd, buf, sizeof buf);
    assert_true(r > 0);
    assert_int_equal(hx_stun_parse(&m, buf, (size_t)r), 0);
    assert_int_equal(m.type, HX_STUN_DATA | HX_STUN_CLASS_INDICATION);
    const uint8_t *d;
    size_t dl;
    assert_int_equal(hx_stun_get_bytes(&m, HX_STUN_ATTR_DATA, &d, &dl), 0);
    assert_int_equal(dl, 12);
    assert_memory_equal(d, "hello client", 12);

    hx_turn_stats st;
    hx_turn_stats_get(t, &st);
    assert_int_equal(st.allocations, 1);
    assert_int_equal(st.relayed_packets, 2);
    close(fd);
    close(peer);
    hx_turn_stop(t);
}

static void tcp_split_writes(void **state)
{
    hx_turn *t = start(64);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in srv = loopback(hx_turn_port(t, HX_TURN_TCP));
    assert_int_equal(connect(fd, (struct sockaddr *)&srv, sizeof srv), 0);
    client c;
    client_init(&c, "bob");
    uint8_t buf[2048], in[2048];
    hx_stun_msg m;
    int code = -1;
    for (int i = 0; i < 2; i++) {
        size_t n = build(&c, buf, HX_STUN_ALLOCATE, udp_transport, NULL);
        for (size_t off = 0; off < n; off += 7) { /* in 7-byte pieces */
            size_t k = n - off < 7 ? n - off : 7;
            assert_int_equal(send(fd, buf + off, k, 0), (ssize_t)k);
            usleep(1000);
        }
        code = answer(&c, in, read_stun(fd, in), &m);
    }
    assert_int_equal(code, 0);
    /* Two requests in one write: two answers. */
    size_t n1 = build(&c, buf, HX_STUN_BINDING_REQUEST, NULL, NULL);
    size_t n2 = build(&c, buf + n1, HX_STUN_BINDING_REQUEST, NULL, NULL);
    assert_int_equal(send(fd, buf, n1 + n2, 0), (ssize_t)(n1 + n2));
    assert_int_equal(answer(&c, in, read_stun(fd, in), &m), 0);
    assert_int_equal(answer(&c, in, read_stun(fd, in), &m), 0);
    hx_turn_stats st;
    hx_turn_stats_get(t, &st);
    assert_int_equal(st.allocations, 1);
    assert_int_equal(st.connections, 1);
    /* Garbage (neither STUN nor ChannelData): the connection is closed, its allocation freed. */
    send(fd, "\x80\x80\x80\x80", 4, 0);
    ssize_t r = recv_wait(fd, in, sizeof in);
    assert_true(r <= 0);
    for (int i = 0; i < 200 && (hx_turn_stats_get(t, &st), st.allocations); i++)
        usleep(10000);
    assert_int_equal(st.allocations, 0);
    close(fd);
    hx_turn_stop(t);
}

static void adopted_stream(void **state)
{
    hx_turn *t = start(64);
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    client c;
    client_init(&c, "carol");
    uint8_t buf[256], in[256];
    size_t n = build(&c, buf, HX_STUN_BINDING_REQUEST, NULL, NULL);
    struct sockaddr_in real = loopback(4242);
    real.sin_addr.s_addr = htonl(0x7f000009); /* 127.0.0.9, as an HTTP front end saw it */
    assert_int_equal(hx_turn_adopt_stream(t, sv[1], (struct sockaddr *)&real, buf, 10), 0);
    assert_int_equal(send(sv[0], buf + 10, n - 10, 0), (ssize_t)(n - 10));
    hx_stun_msg m;
    assert_int_equal(answer(&c, in, read_stun(sv[0], in), &m), 0);
    struct sockaddr_storage mapped;
    assert_int_equal(hx_stun_get_xor_addr(&m, HX_STUN_ATTR_XOR_MAPPED_ADDRESS, &mapped), 0);
    assert_int_equal(((struct sockaddr_in *)&mapped)->sin_port, htons(4242));
    assert_int_equal(((struct sockaddr_in *)&mapped)->sin_addr.s_addr, htonl(0x7f000009));
    /* Head bytes over the cap are refused, the fd closed. */
    int sv2[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv2);
    static uint8_t big[8192];
    assert_int_equal(hx_turn_adopt_stream(t, sv2[1], (struct sockaddr *)&real, big, sizeof big),
                     -1);
    assert_int_equal(recv_wait(sv2[0], in, sizeof in), 0); /* the other end saw the close */
    close(sv2[0]);
    close(sv[0]);
    hx_turn_stop(t);
}

static void per_address_cap(void **state)
{
    hx_turn *t = start(2);
    struct sockaddr_in srv = loopback(hx_turn_port(t, HX_TURN_TCP));
    int fds[3];
    for (int i = 0; i < 3; i++) {
        fds[i] = socket(AF_INET, SOCK_STREAM, 0);
        assert_int_equal(connect(fds[i], (struct sockaddr *)&srv, sizeof srv), 0);
    }
    uint8_t in[64];
    assert_true(recv_wait(fds[2], in, sizeof in) <= 0); /* closed by the server */
    hx_turn_stats st;
    hx_turn_stats_get(t, &st);
    assert_int_equal(st.connections, 2);
    assert_int_equal(st.refused_connections, 1);
    for (int i = 0; i < 3; i++)
        close(fds[i]);
    hx_turn_stop(t); /* with connections possibly still open on its side */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(udp_relay_round_trip),
        cmocka_unit_test(tcp_split_writes),
        cmocka_unit_test(adopted_stream),
        cmocka_unit_test(per_address_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
