/*
 * Batched UDP on real loopback sockets: packets written into slots arrive
 * intact and in order in recvmmsg batches, a full queue flushes itself,
 * counters add up, IPv6 works where the host has ::1, bad input is refused.
 */
#include "net/udp.h"

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

/* Receive until `want` packets arrived (or 2 s pass); check each one's pattern. */
static void receive_all(hx_udp *rx, int want, size_t len)
{
    int got = 0;
    while (got < want) {
        struct pollfd pfd = {.fd = hx_udp_fd(rx), .events = POLLIN};
        assert_true(poll(&pfd, 1, 2000) == 1);
        hx_udp_pkt *p;
        int n = hx_udp_recv(rx, &p);
        assert_true(n >= 0);
        assert_true(n <= HX_UDP_BATCH);
        for (int i = 0; i < n; i++, got++) {
            assert_int_equal(p[i].len, len);
            uint32_t seq;
            memcpy(&seq, p[i].data, 4);
            assert_int_equal(seq, (uint32_t)got); /* loopback keeps order */
            for (size_t k = 4; k < len; k++)
                assert_int_equal(p[i].data[k], (uint8_t)(got + k));
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
    socklen_t tl =
        to->ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
    const int N = 150; /* more than two queues: auto-flush on a full queue */
    const size_t len = 1200;
    for (int i = 0; i < N; i++) {
        uint8_t *s = hx_udp_slot(a);
        uint32_t seq = (uint32_t)i;
        memcpy(s, &seq, 4);
        for (size_t k = 4; k < len; k++)
            s[k] = (uint8_t)(i + k);
        hx_udp_commit(a, len, (const struct sockaddr *)to, tl);
        assert_true(hx_udp_queued(a) <= HX_UDP_QUEUE);
    }
    assert_int_equal(hx_udp_queued(a), N % HX_UDP_QUEUE ? N % HX_UDP_QUEUE : HX_UDP_QUEUE);
    hx_udp_flush(a);
    assert_int_equal(hx_udp_queued(a), 0);
    receive_all(b, N, len);
    const hx_udp_counters *ca = hx_udp_stats(a), *cb = hx_udp_stats(b);
    assert_int_equal(ca->tx_packets, N);
    assert_int_equal(ca->tx_bytes, (uint64_t)N * len);
    assert_int_equal(ca->tx_dropped, 0);
    assert_true(ca->tx_batches >= 3 && ca->tx_batches <= 6);
    assert_int_equal(cb->rx_packets, N);
    assert_true(cb->rx_batches < (uint64_t)N); /* batched, not one per packet */

    /* The sender's address is reported: answer b -> a with hx_udp_send. */
    hx_udp_pkt *p;
    uint8_t small[8] = {0, 0, 0, 0, 1, 2, 3, 4};
    assert_int_equal(
        hx_udp_send(b, small, sizeof small, (const struct sockaddr *)hx_udp_local(a), tl), 0);
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

static void test_ipv6(void **state)
{
    (void)state;
    char err[256];
    hx_udp *u;
    if (hx_udp_open("::1", 0, &u, err, sizeof err) != 0) {
        print_message("no ::1 here (%s)\n", err);
        skip();
    }
    hx_udp_close(u);
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
    hx_udp_close(u);
    hx_udp_close(NULL);
}

/* A commit without a slot breaks the slot protocol: in test builds the invariant aborts. */
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ipv4),
        cmocka_unit_test(test_ipv6),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_commit_without_slot_aborts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
