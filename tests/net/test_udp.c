/*
 * Batched UDP on real loopback sockets: packets written into slots arrive
 * intact and in order in recvmmsg batches, a full queue flushes itself,
 * counters add up, IPv6 works where the host has ::1, bad input is refused.
 *
 * GSO: loopback segments UDP_SEGMENT messages in software, so the receiver
 * reads the datagrams one by one and the counters show how they left: runs
 * of equal lengths to one destination in one message, a shorter last one
 * ending it, other lengths and interleaved destinations split the right
 * way, the kernel's limits (64 segments, 64 KiB) kept. A GSO send the
 * kernel refuses (SO_NO_CHECK makes it answer EINVAL, as a device without
 * checksum offload answers EIO) goes again singly, and GSO turned off (by
 * that or by hx_udp_set_gso) sends the same bytes. The GSO cases skip where
 * the kernel has no UDP_SEGMENT.
 */
#include "net/udp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

static socklen_t sa_len(const struct sockaddr_storage *ss)
{
    return ss->ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
}

/* Packet `tag` of `len` bytes: the tag, then bytes that depend on it and their place. */
static void fill(uint8_t *s, uint32_t tag, size_t len)
{
    memcpy(s, &tag, 4);
    for (size_t k = 4; k < len; k++)
        s[k] = (uint8_t)(tag + k);
}

/* Queue packet `tag` of `len` bytes on tx, to `to`. */
static void queue_to(hx_udp *tx, const struct sockaddr_storage *to, uint32_t tag, size_t len)
{
    fill(hx_udp_slot(tx), tag, len);
    hx_udp_commit(tx, len, (const struct sockaddr *)to, sa_len(to));
    assert_true(hx_udp_queued(tx) <= hx_udp_queue_cap(tx));
}

/* Receive exactly n packets (2 s at most): tags[i] of lens[i] bytes as fill wrote them, in
 * this order (loopback keeps it), then nothing more. */
static void expect(hx_udp *rx, int n, const uint32_t *tags, const size_t *lens)
{
    int got = 0;
    while (got < n) {
        struct pollfd pfd = {.fd = hx_udp_fd(rx), .events = POLLIN};
        assert_int_equal(poll(&pfd, 1, 2000), 1);
        hx_udp_pkt *p;
        int k = hx_udp_recv(rx, &p);
        assert_true(k >= 0 && k <= HX_UDP_BATCH && got + k <= n);
        for (int i = 0; i < k; i++, got++) {
            assert_int_equal(p[i].len, lens[got]);
            uint32_t tag;
            memcpy(&tag, p[i].data, 4);
            assert_int_equal(tag, tags[got]);
            for (size_t b = 4; b < lens[got]; b++)
                assert_int_equal(p[i].data[b], (uint8_t)(tag + b));
        }
    }
    hx_udp_pkt *p;
    assert_int_equal(hx_udp_recv(rx, &p), 0); /* nothing more waiting */
}

static void exchange(const char *host)
{
    char err[256];
    hx_udp *a, *b;
    assert_int_equal(hx_udp_open(host, 0, &a, err, sizeof err), 0);
    assert_int_equal(hx_udp_open(host, 0, &b, err, sizeof err), 0);
    assert_true(hx_udp_port(b) > 0);
    const struct sockaddr_storage *to = hx_udp_local(b);
    enum { N = HX_UDP_QUEUE + 100 }; /* more than a queue: auto-flush on a full queue */
    static uint32_t tags[N];
    static size_t lens[N];
    const size_t len = 1200;
    for (int i = 0; i < N; i++) {
        tags[i] = (uint32_t)i;
        lens[i] = len;
        queue_to(a, to, tags[i], len);
    }
    assert_int_equal(hx_udp_queued(a), N - HX_UDP_QUEUE);
    hx_udp_flush(a);
    assert_int_equal(hx_udp_queued(a), 0);
    expect(b, N, tags, lens);
    const hx_udp_counters *ca = hx_udp_stats(a), *cb = hx_udp_stats(b);
    assert_int_equal(ca->tx_packets, N);
    assert_int_equal(ca->tx_bytes, (uint64_t)N * len);
    assert_int_equal(ca->tx_dropped, 0);
    assert_int_equal(ca->tx_errors, 0);
    assert_int_equal(ca->tx_batches, 2); /* one sendmmsg per flush */
    if (hx_udp_gso(a)) /* all in GSO messages: 54 segments of 1200 bytes fit in one */
        assert_int_equal(ca->tx_gso_segments, N);
    assert_int_equal(cb->rx_packets, N);
    assert_true(cb->rx_batches < (uint64_t)N); /* batched, not one per packet */

    /* The sender's address is reported: answer b -> a with hx_udp_send. */
    hx_udp_pkt *p;
    uint8_t small[8] = {0, 0, 0, 0, 1, 2, 3, 4};
    assert_int_equal(
        hx_udp_send(b, small, sizeof small, (const struct sockaddr *)hx_udp_local(a), sa_len(to)),
        0);
    hx_udp_flush(b);
    struct pollfd pfd = {.fd = hx_udp_fd(a), .events = POLLIN};
    assert_int_equal(poll(&pfd, 1, 2000), 1);
    assert_int_equal(hx_udp_recv(a, &p), 1);
    assert_int_equal(p[0].len, sizeof small);
    assert_int_equal(p[0].from.ss_family, to->ss_family);
    hx_udp_close(a);
    hx_udp_close(b);
}

static void test_ipv4(void **state)
{
    (void)state;
    exchange("127.0.0.1");
}

static int have_ipv6(void)
{
    char err[256];
    hx_udp *u;
    if (hx_udp_open("::1", 0, &u, err, sizeof err) != 0) {
        print_message("no ::1 here (%s)\n", err);
        return 0;
    }
    hx_udp_close(u);
    return 1;
}

static void test_ipv6(void **state)
{
    (void)state;
    if (!have_ipv6()) skip();
    exchange("::1");
}

static void test_refusals(void **state)
{
    (void)state;
    char err[256];
    hx_udp *u;
    assert_int_equal(hx_udp_open("localhost", 0, &u, err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "numeric"));
    assert_null(u);
    assert_int_equal(hx_udp_open("127.0.0.1", 70000, &u, err, sizeof err), -EINVAL);
    assert_int_equal(hx_udp_open("127.0.0.1", 0, &u, err, sizeof err), 0);
    hx_udp *v;
    assert_true(hx_udp_open("127.0.0.1", hx_udp_port(u), &v, err, sizeof err) == -EADDRINUSE);
    static uint8_t big[HX_UDP_MTU + 1];
    const struct sockaddr *to = (const struct sockaddr *)hx_udp_local(u);
    assert_int_equal(hx_udp_send(u, big, sizeof big, to, sizeof(struct sockaddr_in)), -EMSGSIZE);
    assert_int_equal(hx_udp_queued(u), 0);
    assert_int_equal(hx_udp_stats(u)->tx_dropped, 1);
    hx_udp_flush(u); /* nothing queued: no syscall */
    assert_int_equal(hx_udp_stats(u)->tx_batches, 0);
    hx_udp_close(u);
    hx_udp_close(NULL);
}

/* A commit without a slot breaks the slot protocol: in test builds the invariant aborts. */
/* The queue's size is the caller's: a short one flushes by itself when full, a long one holds a
 * whole fan-out; sizes outside 1..HX_UDP_QUEUE_MAX are refused. */
static void test_queue_sizes(void **state)
{
    (void)state;
    char err[256];
    hx_udp *a, *b, *big;
    assert_int_equal(hx_udp_open_queue("127.0.0.1", 0, 0, &a, err, sizeof err), -EINVAL);
    assert_int_equal(hx_udp_open_queue("127.0.0.1", 0, HX_UDP_QUEUE_MAX + 1, &a, err, sizeof err),
                     -EINVAL);
    assert_int_equal(hx_udp_open_queue("127.0.0.1", 0, 3, &a, err, sizeof err), 0);
    assert_int_equal(hx_udp_queue_cap(a), 3);
    assert_int_equal(hx_udp_open("127.0.0.1", 0, &b, err, sizeof err), 0);
    assert_int_equal(hx_udp_queue_cap(b), HX_UDP_QUEUE);
    enum { N = 10 };
    static uint32_t tags[N];
    static size_t lens[N];
    for (int i = 0; i < N; i++) {
        tags[i] = (uint32_t)i + 100;
        lens[i] = 200 + (size_t)i;
        queue_to(a, hx_udp_local(b), tags[i], lens[i]);
    }
    assert_int_equal(hx_udp_queued(a), N % 3 ? N % 3 : 3);
    hx_udp_flush(a);
    expect(b, N, tags, lens);
    /* A long queue: 2000 packets wait for one flush. */
    assert_int_equal(hx_udp_open_queue("127.0.0.1", 0, 2000, &big, err, sizeof err), 0);
    for (uint32_t i = 0; i < 2000; i++)
        queue_to(big, hx_udp_local(b), i, 64);
    assert_int_equal(hx_udp_queued(big), 2000);
    hx_udp_close(big);
    hx_udp_close(a);
    hx_udp_close(b);
}

static void test_commit_without_slot_aborts(void **state)
{
    (void)state;
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char err[256];
        hx_udp *u;
        if (hx_udp_open("127.0.0.1", 0, &u, err, sizeof err)) _exit(2);
        hx_udp_commit(u, 10, (const struct sockaddr *)hx_udp_local(u), sizeof(struct sockaddr_in));
        _exit(0); /* not reached while invariants are checked */
    }
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFSIGNALED(st));
    assert_int_equal(WTERMSIG(st), SIGABRT);
}

/* --- GSO ------------------------------------------------------------------- */

/* A socket on host whose flushes use GSO; the test skips where the kernel has none. */
static hx_udp *open_gso(const char *host)
{
    char err[256];
    hx_udp *u;
    assert_int_equal(hx_udp_open(host, 0, &u, err, sizeof err), 0);
    if (!hx_udp_gso(u)) {
        print_message("no UDP GSO here\n");
        hx_udp_close(u);
        skip();
    }
    return u;
}

static hx_udp *open_rx(const char *host)
{
    char err[256];
    hx_udp *u;
    assert_int_equal(hx_udp_open(host, 0, &u, err, sizeof err), 0);
    return u;
}

/* Packets to one receiver, lens[i] bytes each and tagged i, flushed at once, received whole. */
static void send_lens(hx_udp *a, hx_udp *b, int n, const size_t *lens)
{
    uint32_t tags[128];
    assert_true(n <= 128);
    for (int i = 0; i < n; i++) {
        tags[i] = (uint32_t)i;
        queue_to(a, hx_udp_local(b), tags[i], lens[i]);
    }
    hx_udp_flush(a);
    expect(b, n, tags, lens);
}

/* n equal packets to one receiver leave as one message, and arrive as n datagrams. */
static void one_message(const char *host)
{
    hx_udp *a = open_gso(host), *b = open_rx(host);
    enum { N = 40 };
    size_t lens[N];
    for (int i = 0; i < N; i++)
        lens[i] = 1100;
    send_lens(a, b, N, lens);
    const hx_udp_counters *c = hx_udp_stats(a);
    assert_int_equal(c->tx_gso_msgs, 1);
    assert_int_equal(c->tx_gso_segments, N);
    assert_int_equal(c->tx_packets, N);
    assert_int_equal(c->tx_bytes, N * 1100);
    assert_int_equal(c->tx_batches, 1);
    assert_int_equal(c->tx_gso_fallbacks + c->tx_errors + c->tx_dropped, 0);
    assert_int_equal(hx_udp_stats(b)->rx_packets, N);
    hx_udp_close(a);
    hx_udp_close(b);
}

static void test_gso_one_message(void **state)
{
    (void)state;
    one_message("127.0.0.1");
}

static void test_gso_ipv6(void **state)
{
    (void)state;
    if (!have_ipv6()) skip();
    one_message("::1");
}

/* A dual-stack socket ("::") sends to IPv4 as mapped addresses: GSO works there too. */
static void test_gso_mapped(void **state)
{
    (void)state;
    if (!have_ipv6()) skip();
    hx_udp *a = open_gso("::"), *b = open_rx("127.0.0.1");
    struct sockaddr_in6 m = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)hx_udp_port(b))};
    assert_int_equal(inet_pton(AF_INET6, "::ffff:127.0.0.1", &m.sin6_addr), 1);
    struct sockaddr_storage to;
    memcpy(&to, &m, sizeof m);
    enum { N = 10 };
    uint32_t tags[N];
    size_t lens[N];
    for (int i = 0; i < N; i++) {
        tags[i] = (uint32_t)i;
        lens[i] = 700;
        queue_to(a, &to, tags[i], lens[i]);
    }
    hx_udp_flush(a);
    expect(b, N, tags, lens);
    assert_int_equal(hx_udp_stats(a)->tx_gso_msgs, 1);
    assert_int_equal(hx_udp_stats(a)->tx_gso_segments, N);
    hx_udp_close(a);
    hx_udp_close(b);
}

/* Packets to three receivers, interleaved: grouped per destination, each in its order. */
static void test_gso_interleaved(void **state)
{
    (void)state;
    hx_udp *a = open_gso("127.0.0.1");
    hx_udp *rx[3];
    enum { N = 30 };
    uint32_t tags[3][N];
    size_t lens[N];
    for (int r = 0; r < 3; r++)
        rx[r] = open_rx("127.0.0.1");
    for (int i = 0; i < N; i++) {
        lens[i] = 1000;
        for (int r = 0; r < 3; r++) {
            tags[r][i] = (uint32_t)(1000 * r + i);
            queue_to(a, hx_udp_local(rx[r]), tags[r][i], lens[i]);
        }
    }
    hx_udp_flush(a);
    for (int r = 0; r < 3; r++)
        expect(rx[r], N, tags[r], lens);
    const hx_udp_counters *c = hx_udp_stats(a);
    assert_int_equal(c->tx_gso_msgs, 3);
    assert_int_equal(c->tx_gso_segments, 3 * N);
    assert_int_equal(c->tx_batches, 1);
    hx_udp_close(a);
    for (int r = 0; r < 3; r++)
        hx_udp_close(rx[r]);
}

/* A shorter packet ends a run as its last segment; the next run starts after it. */
static void test_gso_short_last(void **state)
{
    (void)state;
    hx_udp *a = open_gso("127.0.0.1"), *b = open_rx("127.0.0.1");
    const size_t lens[] = {1000, 1000, 1000, 1000, 1000, 300, 1000, 1000, 999};
    send_lens(a, b, 9, lens);
    const hx_udp_counters *c = hx_udp_stats(a);
    assert_int_equal(c->tx_gso_msgs, 2); /* 5 x 1000 + 300, 2 x 1000 + 999 */
    assert_int_equal(c->tx_gso_segments, 9);
    assert_int_equal(c->tx_bytes, 8 * 1000 - 1 + 300);
    hx_udp_close(a);
    hx_udp_close(b);
}

/* Messages: 500 500 | 800 800 800 200 | 200 | 1200 1200 | 1300 (a longer packet cannot join
 * a run: it starts the next message; one alone is a plain message). */
static const size_t split_lens[] = {500, 500, 800, 800, 800, 200, 200, 1200, 1200, 1300};

static void test_gso_sizes_split(void **state)
{
    (void)state;
    hx_udp *a = open_gso("127.0.0.1"), *b = open_rx("127.0.0.1");
    send_lens(a, b, 10, split_lens);
    const hx_udp_counters *c = hx_udp_stats(a);
    assert_int_equal(c->tx_gso_msgs, 3);
    assert_int_equal(c->tx_gso_segments, 8);
    assert_int_equal(c->tx_packets, 10);
    assert_int_equal(c->tx_batches, 1);
    hx_udp_close(a);
    hx_udp_close(b);
}

/* At most 64 segments and 65507 bytes in one message. */
static void test_gso_limits(void **state)
{
    (void)state;
    hx_udp *a = open_gso("127.0.0.1"), *b = open_rx("127.0.0.1");
    size_t lens[70];
    for (int i = 0; i < 70; i++)
        lens[i] = 100;
    send_lens(a, b, 70, lens); /* 64 + 6 */
    assert_int_equal(hx_udp_stats(a)->tx_gso_msgs, 2);
    for (int i = 0; i < 60; i++)
        lens[i] = 1200;
    send_lens(a, b, 60, lens); /* 54 (64800 bytes) + 6 */
    const hx_udp_counters *c = hx_udp_stats(a);
    assert_int_equal(c->tx_gso_msgs, 4);
    assert_int_equal(c->tx_gso_segments, 130);
    assert_int_equal(c->tx_gso_fallbacks + c->tx_errors + c->tx_dropped, 0);
    hx_udp_close(a);
    hx_udp_close(b);
}

/* Two packets to each of 128 addresses (127.0.0.2 ...): the whole queue, a destination per
 * two slots, grouped in order of first appearance; one receiver on 0.0.0.0 sees them all. */
static void test_gso_many_destinations(void **state)
{
    (void)state;
    hx_udp *a = open_gso("127.0.0.1"), *b = open_rx("0.0.0.0");
    enum { D = HX_UDP_QUEUE / 2 };
    static struct sockaddr_storage to[D];
    static uint32_t tags[2 * D];
    static size_t lens[2 * D];
    for (int d = 0; d < D; d++) {
        struct sockaddr_in *in = (struct sockaddr_in *)&to[d];
        *in = (struct sockaddr_in){.sin_family = AF_INET,
                                   .sin_port = htons((uint16_t)hx_udp_port(b)),
                                   .sin_addr.s_addr = htonl(0x7f000002u + (uint32_t)d)};
    }
    for (int r = 0; r < 2; r++)
        for (int d = 0; d < D; d++)
            queue_to(a, &to[d], (uint32_t)(2 * d + r), 100 + (size_t)d);
    assert_int_equal(hx_udp_queued(a), HX_UDP_QUEUE);
    for (int i = 0; i < 2 * D; i++) {
        tags[i] = (uint32_t)i;
        lens[i] = 100 + (size_t)i / 2;
    }
    hx_udp_flush(a);
    expect(b, 2 * D, tags, lens);
    const hx_udp_counters *c = hx_udp_stats(a);
    assert_int_equal(c->tx_gso_msgs, D);
    assert_int_equal(c->tx_gso_segments, 2 * D);
    assert_int_equal(c->tx_batches, 1);
    hx_udp_close(a);
    hx_udp_close(b);
}

/* GSO turned off by the API: the same packets leave one per message, the same bytes arrive. */
static void test_gso_off(void **state)
{
    (void)state;
    hx_udp *a = open_gso("127.0.0.1"), *b = open_rx("127.0.0.1");
    assert_int_equal(hx_udp_set_gso(a, 0), 0);
    assert_int_equal(hx_udp_gso(a), 0);
    send_lens(a, b, 10, split_lens);
    const hx_udp_counters *c = hx_udp_stats(a);
    assert_int_equal(c->tx_gso_msgs, 0);
    assert_int_equal(c->tx_packets, 10);
    assert_int_equal(c->tx_batches, 1);
    assert_int_equal(hx_udp_set_gso(a, 1), 1);
    send_lens(a, b, 10, split_lens);
    assert_int_equal(c->tx_gso_msgs, 3);
    hx_udp_close(a);
    hx_udp_close(b);
}

/*
 * The kernel refuses GSO on a socket without UDP checksums (SO_NO_CHECK: EINVAL). A message
 * of large segments goes again singly and GSO stays on (EINVAL can mean "larger than the
 * route's MTU" then); one of small segments turns GSO off, and what follows it in the same
 * flush goes singly too. No packet is lost or reordered.
 */
static void test_gso_refused(void **state)
{
    (void)state;
    hx_udp *a = open_gso("127.0.0.1"), *b = open_rx("127.0.0.1"), *c2 = open_rx("127.0.0.1");
    int one = 1;
    assert_int_equal(setsockopt(hx_udp_fd(a), SOL_SOCKET, SO_NO_CHECK, &one, sizeof one), 0);
    uint32_t first_tag[1] = {77};
    size_t first_len[1] = {50};
    size_t lens[10];
    for (int i = 0; i < 10; i++)
        lens[i] = 1400;
    /* A plain message to c2 first: sendmmsg sends it, then stops at the refused one. */
    queue_to(a, hx_udp_local(c2), 77, 50);
    send_lens(a, b, 10, lens);
    expect(c2, 1, first_tag, first_len);
    const hx_udp_counters *c = hx_udp_stats(a);
    assert_int_equal(c->tx_gso_fallbacks, 1);
    assert_int_equal(hx_udp_gso(a), 1);
    assert_int_equal(c->tx_packets, 11);
    assert_int_equal(c->tx_gso_msgs, 0);

    /* Small segments to b, then to c2: the first refusal turns GSO off, all go singly. */
    uint32_t tags[10];
    for (int i = 0; i < 10; i++) {
        lens[i] = 1000;
        tags[i] = (uint32_t)(500 + i);
        queue_to(a, hx_udp_local(b), (uint32_t)i, lens[i]);
    }
    for (int i = 0; i < 10; i++)
        queue_to(a, hx_udp_local(c2), tags[i], lens[i]);
    hx_udp_flush(a);
    uint32_t btags[10];
    for (int i = 0; i < 10; i++)
        btags[i] = (uint32_t)i;
    expect(b, 10, btags, lens);
    expect(c2, 10, tags, lens);
    assert_int_equal(c->tx_gso_fallbacks, 2);
    assert_int_equal(hx_udp_gso(a), 0);
    assert_int_equal(c->tx_packets, 31);
    assert_int_equal(c->tx_gso_msgs, 0);
    assert_int_equal(c->tx_errors + c->tx_dropped, 0);

    /* Off from now on: no more refusals. */
    send_lens(a, b, 10, lens);
    assert_int_equal(c->tx_gso_fallbacks, 2);
    assert_int_equal(c->tx_packets, 41);
    hx_udp_close(a);
    hx_udp_close(b);
    hx_udp_close(c2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ipv4),
        cmocka_unit_test(test_ipv6),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_queue_sizes),
        cmocka_unit_test(test_commit_without_slot_aborts),
        cmocka_unit_test(test_gso_one_message),
        cmocka_unit_test(test_gso_ipv6),
        cmocka_unit_test(test_gso_mapped),
        cmocka_unit_test(test_gso_interleaved),
        cmocka_unit_test(test_gso_short_last),
        cmocka_unit_test(test_gso_sizes_split),
        cmocka_unit_test(test_gso_limits),
        cmocka_unit_test(test_gso_many_destinations),
        cmocka_unit_test(test_gso_off),
        cmocka_unit_test(test_gso_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
