/*
 * hearth's ICE-lite agent against a real full agent: aioice (Debian's
 * python3-aiortc), controlling, in tests/ice/aioice_peer.py. The test owns
 * a UDP socket on 127.0.0.1 and a demux holding one agent; it formats its
 * host candidate with ice/candidate, starts the peer with it and the local
 * credentials, sets the peer's credentials when it prints them, and
 * answers every datagram through hx_ice_demux_input until the peer reports
 * ICE completed (a pair nominated) and its "ping" on the selected pair got
 * our "pong", sent to hx_ice_agent_selected. Run with both nomination
 * styles aioice has. Skipped only when /usr/bin/python3 cannot import aioice.
 */
#include "ice/candidate.h"
#include "ice/demux.h"

#include "common/clock.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#define PYTHON "/usr/bin/python3"
#define DEADLINE_MS 20000

typedef struct peer_run {
    bool connected, pong_received, got_ping;
    int exit_status;
} peer_run;

static int udp_socket(struct sockaddr_in *bound)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof sin), 0);
    socklen_t len = sizeof *bound;
    assert_int_equal(getsockname(fd, (struct sockaddr *)bound, &len), 0);
    return fd;
}

/* One datagram: STUN answered by the agent, the peer's ping answered with pong. */
static void on_datagram(int fd, hx_ice_demux *d, hx_ice_agent *agent, peer_run *run)
{
    uint8_t pkt[1500], out[512];
    struct sockaddr_storage from;
    socklen_t flen = sizeof from;
    ssize_t n = recvfrom(fd, pkt, sizeof pkt, 0, (struct sockaddr *)&from, &flen);
    assert_true(n > 0);
    hx_ice_agent *who;
    size_t out_len;
    int rc =
        hx_ice_demux_input(d, pkt, (size_t)n, &from, hx_mono_ms(), out, sizeof out, &out_len, &who);
    if (out_len)
        assert_int_equal(sendto(fd, out, out_len, 0, (struct sockaddr *)&from, flen), out_len);
    if (rc == HX_ICE_RX_MEDIA) {
        assert_ptr_equal(who, agent);
        assert_int_equal(n, 4);
        assert_memory_equal(pkt, "ping", 4);
        run->got_ping = true;
        const hx_ice_addr *to = hx_ice_agent_selected(agent);
        assert_non_null(to);
        assert_int_equal(sendto(fd, "pong", 4, 0, &to->sa, sizeof(struct sockaddr_in)), 4);
    } else {
        assert_true(rc == HX_ICE_RX_VALID || rc == HX_ICE_RX_IGNORED);
    }
}

static void on_line(char *line, hx_ice_agent *agent, peer_run *run)
{
    char ufrag[300], pwd[300];
    line[strcspn(line, "\n")] = '\0';
    if (sscanf(line, "creds %299s %299s", ufrag, pwd) == 2)
        assert_int_equal(hx_ice_agent_set_remote(agent, ufrag, pwd), 0);
    else if (!strcmp(line, "connected"))
        run->connected = true;
    else if (!strcmp(line, "received pong"))
        run->pong_received = true;
    else
        print_message("peer: %s\n", line);
}

static void run_peer(const char *mode)
{
    hx_ice_demux d;
    hx_ice_agent agent;
    hx_ice_candidate cand;
    struct sockaddr_in local;
    peer_run run = {0};
    char line[HX_ICE_MAX_CANDIDATE_LINE], cmd[2048];

    int fd = udp_socket(&local);
    assert_int_equal(hx_ice_demux_init(&d, 4), 0);
    assert_int_equal(hx_ice_agent_init(&agent, NULL, hx_mono_ms()), 0);
    assert_int_equal(hx_ice_demux_add(&d, &agent), 0);
    struct sockaddr_storage ss = {0};
    memcpy(&ss, &local, sizeof local);
    assert_int_equal(hx_ice_candidate_host(&cand, "1", HX_ICE_UDP, &ss, 0), 0);
    assert_true(hx_ice_candidate_format(&cand, line, sizeof line) > 0);
    /* ice-chars and candidate text hold no single quotes. */
    snprintf(cmd, sizeof cmd, "exec %s '%s/tests/ice/aioice_peer.py' %s '%s' '%s' '%s'", PYTHON,
             HX_SOURCE_DIR, mode, agent.local_ufrag, agent.local_pwd, line);
    FILE *peer = popen(cmd, "r");
    assert_non_null(peer);

    int64_t deadline = hx_mono_ms() + DEADLINE_MS;
    bool eof = false;
    while (!eof && hx_mono_ms() < deadline) {
        struct pollfd p[2] = {{.fd = fd, .events = POLLIN}, {.fd = fileno(peer), .events = POLLIN}};
        if (poll(p, 2, 100) < 0) break;
        if (p[0].revents & POLLIN) on_datagram(fd, &d, &agent, &run);
        if (p[1].revents & (POLLIN | POLLHUP)) {
            char buf[1024];
            if (fgets(buf, sizeof buf, peer))
                on_line(buf, &agent, &run);
            else
                eof = true;
        }
        hx_ice_agent_tick(&agent, hx_mono_ms());
    }
    int status = pclose(peer);
    assert_true(eof);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_true(run.connected);
    assert_true(run.got_ping);
    assert_true(run.pong_received);
    assert_int_equal(agent.state, HX_ICE_CONNECTED);
    assert_true(agent.n_valid >= 1);
    assert_int_equal(agent.n_error, 0);
    const struct sockaddr_in *sel = (const void *)hx_ice_agent_selected(&agent);
    assert_non_null(sel);
    assert_int_equal(sel->sin_addr.s_addr, htonl(INADDR_LOOPBACK));
    assert_true(agent.remote_ufrag[0] != '\0');
    hx_ice_demux_remove(&d, &agent);
    hx_ice_demux_free(&d);
    close(fd);
}

static bool have_aioice(void)
{
    return system(PYTHON " -c 'import aioice' >/dev/null 2>&1") == 0;
}

static void test_regular_nomination(void **state)
{
    if (!have_aioice()) {
        print_message("skipped: " PYTHON
                      " cannot import aioice (apt-get install python3-aiortc)\n");
        skip();
    }
    run_peer("regular");
}

static void test_aggressive_nomination(void **state)
{
    if (!have_aioice()) {
        print_message("skipped: " PYTHON
                      " cannot import aioice (apt-get install python3-aiortc)\n");
        skip();
    }
    run_peer("aggressive");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_regular_nomination),
        cmocka_unit_test(test_aggressive_nomination),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
