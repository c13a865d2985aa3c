/*
 * Interop test for sctp/: a hearth association against an independent SCTP
 * and DCEP implementation, aiortc's pure-Python RTCSctpTransport, driven by
 * tests/sctp/aiortc_peer.py over a pipe (length-framed SCTP packets on the
 * child's stdin/stdout, no DTLS). hearth is the DTLS server (odd ids) and
 * the active opener; aiortc opens a channel, hearth echoes its string,
 * binary, empty and 60000-byte messages; hearth opens a channel, sends
 * "ping" and expects "pong:ping"; hearth closes its channel by stream
 * reset and aiortc then closes its own the same way. Both sides check
 * everything; the child's exit status carries its verdict.
 *
 * Real time: usrsctp's timers are advanced on the monotonic clock and the
 * loop sleeps until hx_sctp_stack_next_due, as a carrier does, so the
 * exchange also shows that the stack asks for its timers in time. The loop
 * is bounded to 30 s. Skipped when python3 cannot import aiortc.
 */
#include "sctp/sctp.h"

#include "common/clock.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
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
#define PEER HX_SOURCE_DIR "/tests/sctp/aiortc_peer.py"
#define OUT_CAP (4 * 1024 * 1024)
#define IN_CAP (256 * 1024)

typedef struct peer {
    hx_sctp_assoc *a;
    int to_child, from_child;
    uint8_t *out;
    size_t out_len;
    uint8_t in[IN_CAP];
    size_t in_len;
    int echoed, their_sid, our_sid;
    bool got_pong, ours_closed, theirs_closed;
    char error[160];
} peer;

static int peer_send(void *ud, const uint8_t *buf, size_t len)
{
    peer *p = ud;
    if (p->out_len + 2 + len > OUT_CAP) return -1; /* dropped; SCTP retransmits */
    p->out[p->out_len++] = (uint8_t)(len >> 8);
    p->out[p->out_len++] = (uint8_t)len;
    memcpy(p->out + p->out_len, buf, len);
    p->out_len += len;
    return 0;
}

static bool is(const uint8_t *s, size_t n, const char *want)
{
    return n == strlen(want) && memcmp(s, want, n) == 0;
}

static void peer_event(void *ud, hx_sctp_assoc *a, const hx_sctp_event *ev)
{
    peer *p = ud;
    switch (ev->type) {
    case HX_SCTP_EV_CHANNEL_OPEN:
        if (ev->remote) {
            if (!is(ev->info->label, ev->info->label_len, "from-aiortc") ||
                !is(ev->info->protocol, ev->info->protocol_len, "p1") || ev->sid % 2 != 0)
                snprintf(p->error, sizeof p->error, "bad remote open sid %u", ev->sid);
            p->their_sid = ev->sid;
        } else if (ev->sid == p->our_sid) {
            if (hx_sctp_channel_send(a, ev->sid, false, (const uint8_t *)"ping", 4) != 0)
                snprintf(p->error, sizeof p->error, "ping failed");
        }
        break;
    case HX_SCTP_EV_MESSAGE:
        if (ev->sid == p->their_sid) {
            if (hx_sctp_channel_send(a, ev->sid, ev->binary, ev->data, ev->len) != 0)
                snprintf(p->error, sizeof p->error, "echo %d failed", p->echoed);
            if (++p->echoed == 4) {
                hx_sctp_channel_info info = {.label = (const uint8_t *)"from-hearth",
                                             .label_len = 11};
                p->our_sid = hx_sctp_channel_open(a, &info);
                if (p->our_sid < 0 || p->our_sid % 2 != 1)
                    snprintf(p->error, sizeof p->error, "open returned %d", p->our_sid);
            }
        } else if (ev->sid == p->our_sid) {
            if (!is(ev->data, ev->len, "pong:ping") || ev->binary)
                snprintf(p->error, sizeof p->error, "bad pong");
            p->got_pong = true;
            hx_sctp_channel_close(a, ev->sid);
        }
        break;
    case HX_SCTP_EV_CHANNEL_CLOSED:
        if (ev->sid == p->our_sid) p->ours_closed = true;
        if (ev->sid == p->their_sid) p->theirs_closed = true;
        break;
    default:
        break;
    }
}

static bool aiortc_available(void)
{
    return system(PYTHON " -c 'import aiortc.rtcsctptransport' >/dev/null 2>&1") == 0;
}

static pid_t spawn(peer *p)
{
    int in[2], out[2];
    if (pipe(in) || pipe(out)) return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[0]), close(in[1]), close(out[0]), close(out[1]);
        execl(PYTHON, PYTHON, PEER, (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    p->to_child = in[1];
    p->from_child = out[0];
    fcntl(p->to_child, F_SETFL, O_NONBLOCK);
    fcntl(p->from_child, F_SETFL, O_NONBLOCK);
    return pid;
}

/* Feed every complete frame read so far. */
static void feed(peer *p)
{
    size_t off = 0;
    while (p->in_len - off >= 2) {
        size_t n = (size_t)p->in[off] << 8 | p->in[off + 1];
        if (p->in_len - off - 2 < n) break;
        if (n) hx_sctp_assoc_input(p->a, p->in + off + 2, n);
        off += 2 + n;
    }
    memmove(p->in, p->in + off, p->in_len - off);
    p->in_len -= off;
}

static void test_aiortc_interop(void **state)
{
    (void)state;
    if (!aiortc_available()) skip();
    signal(SIGPIPE, SIG_IGN);
    hx_sctp_stack *stack;
    assert_int_equal(hx_sctp_stack_create(NULL, &stack), 0);
    peer *p = calloc(1, sizeof *p);
    p->out = malloc(OUT_CAP);
    p->their_sid = p->our_sid = -1;
    hx_sctp_config cfg = {.dtls_client = false,
                          .remote_max_message_size = 65536,
                          .send = peer_send,
                          .on_event = peer_event,
                          .ud = p};
    assert_int_equal(hx_sctp_assoc_create(stack, &cfg, &p->a), 0);
    pid_t pid = spawn(p);
    assert_true(pid > 0);
    assert_int_equal(hx_sctp_assoc_connect(p->a), 0);

    int64_t start = hx_mono_ms();
    int status = -1;
    bool exited = false;
    hx_sctp_stack_advance(stack, start);
    while (hx_mono_ms() - start < 30000) {
        struct pollfd fds[2] = {{.fd = p->from_child, .events = POLLIN},
                                {.fd = p->to_child, .events = p->out_len ? POLLOUT : 0}};
        /* Sleep until input, or until the stack says its timers are due, as a carrier does. */
        int64_t wait = hx_sctp_stack_next_due(stack, hx_mono_ms()) - hx_mono_ms();
        poll(fds, 2, (int)(wait < 0 ? 0 : wait > 1000 ? 1000 : wait));
        if (p->out_len) {
            ssize_t w = write(p->to_child, p->out, p->out_len);
            if (w > 0) {
                memmove(p->out, p->out + w, p->out_len - (size_t)w);
                p->out_len -= (size_t)w;
            }
        }
        ssize_t r = read(p->from_child, p->in + p->in_len, IN_CAP - p->in_len);
        if (r > 0) {
            p->in_len += (size_t)r;
            feed(p);
        }
        hx_sctp_stack_advance(stack, hx_mono_ms());
        if (waitpid(pid, &status, WNOHANG) == pid) {
            exited = true;
            break;
        }
    }
    if (!exited) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
    }
    close(p->to_child);
    close(p->from_child);
    hx_sctp_assoc_destroy(p->a);
    assert_int_equal(hx_sctp_stack_destroy(stack), 0);
    if (p->error[0]) fail_msg("%s", p->error);
    assert_true(exited);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(p->echoed, 4);
    assert_int_equal(p->their_sid, 0);
    assert_true(p->got_pong);
    assert_true(p->ours_closed);
    assert_true(p->theirs_closed);
    free(p->out);
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_aiortc_interop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
