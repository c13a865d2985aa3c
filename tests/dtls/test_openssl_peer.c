/*
 * hx_dtls against an independent implementation: the openssl command-line
 * tool (s_client and s_server), over real UDP sockets on 127.0.0.1.
 *
 * Each case spawns the tool with a certificate made by `openssl req` in a
 * temp dir and drives the hx_dtls side from a poll loop (socket, the tool's
 * output pipe, the hx_dtls timer). Checked: the handshake completes both
 * ways (s_server also makes our client answer a HelloVerifyRequest, since
 * it always asks for a cookie), the SRTP profile the tool printed is ours,
 * the "Keying material" it printed for EXTRACTOR-dtls_srtp equals
 * client_key|server_key|client_salt|server_salt rebuilt from our
 * local/remote split, the tool's certificate matched its fingerprint,
 * and one line of application data goes each way. A last case gives
 * s_server an RSA certificate: no suite in common, so our client must fail
 * with the alert the tool sends.
 */
#include "dtls/dtls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/pem.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#define OUT_CAP 65536
#define LINE_FROM_TOOL "hello from the tool\n"
#define LINE_FROM_HEARTH "hello from hearth\n"

typedef struct peer {
    char dir[64];
    hx_dtls_cert cert;
    hx_dtls_ctx *ctx;
    hx_dtls *d;
    int sock;
    struct sockaddr_in addr; /* where to send: the tool */
    int have_addr;
    pid_t pid;
    int to_tool, from_tool; /* the tool's stdin, stdout+stderr */
    char out[OUT_CAP];
    size_t out_len;
    int connected, failed, closed, fail_err;
    char data[1024];
    size_t data_len;
} peer;

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int on_send(void *user, const uint8_t *buf, size_t len)
{
    peer *p = user;
    if (!p->have_addr) return -1;
    return sendto(p->sock, buf, len, 0, (struct sockaddr *)&p->addr, sizeof p->addr) < 0 ? -1 : 0;
}

static void on_connected(void *user, const hx_dtls_srtp_keys *keys)
{
    (void)keys;
    ((peer *)user)->connected++;
}

static void on_failed(void *user, int err, const char *reason)
{
    peer *p = user;
    p->failed++;
    p->fail_err = err;
    print_message("hx_dtls failed: %s\n", reason);
}

static void on_closed(void *user)
{
    ((peer *)user)->closed++;
}

static void on_data(void *user, const uint8_t *buf, size_t len)
{
    peer *p = user;
    if (p->data_len + len < sizeof p->data) {
        memcpy(p->data + p->data_len, buf, len);
        p->data_len += len;
        p->data[p->data_len] = '\0';
    }
}

static void run(const char *cmd)
{
    assert_int_equal(system(cmd), 0);
}

static void make_tool_cert(peer *p, int rsa)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey %s -nodes -keyout %s/key.pem -out %s/cert.pem -days 2 "
             "-subj /CN=tool 2>/dev/null",
             rsa ? "rsa:2048" : "ec -pkeyopt ec_paramgen_curve:prime256v1", p->dir, p->dir);
    run(cmd);
}

static void tool_fingerprint(peer *p, char *fp, size_t len)
{
    char path[128];
    snprintf(path, sizeof path, "%s/cert.pem", p->dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    assert_non_null(x);
    assert_true(hx_dtls_fingerprint(x, "sha-256", fp, len) > 0);
    X509_free(x);
}

static void spawn(peer *p, char *const argv[])
{
    int in[2], out[2];
    assert_int_equal(pipe(in), 0);
    assert_int_equal(pipe(out), 0);
    p->pid = fork();
    assert_true(p->pid >= 0);
    if (p->pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        dup2(out[1], 2);
        close(in[1]);
        close(out[0]);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    p->to_tool = in[1];
    p->from_tool = out[0];
}

static void setup_peer(peer *p, hx_dtls_role role, const char *profiles)
{
    memset(p, 0, sizeof *p);
    p->sock = p->to_tool = p->from_tool = -1;
    snprintf(p->dir, sizeof p->dir, "/tmp/hx_dtls_peerXXXXXX");
    assert_non_null(mkdtemp(p->dir));
    assert_int_equal(hx_dtls_cert_generate(&p->cert), 0);
    hx_dtls_config cfg = {.cert = &p->cert, .srtp_profiles = profiles};
    assert_int_equal(hx_dtls_ctx_new(&p->ctx, &cfg), 0);
    hx_dtls_cbs cbs = {p, on_send, on_connected, on_failed, on_closed, on_data};
    assert_int_equal(hx_dtls_new(&p->d, p->ctx, role, &cbs), 0);
    p->sock = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    assert_true(p->sock >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(p->sock, (struct sockaddr *)&a, sizeof a), 0);
}

static int local_port(int sock)
{
    struct sockaddr_in a;
    socklen_t alen = sizeof a;
    assert_int_equal(getsockname(sock, (struct sockaddr *)&a, &alen), 0);
    return ntohs(a.sin_port);
}

/* A free UDP port for the tool to bind (released just before it starts). */
static int free_port(void)
{
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    int port = local_port(s);
    close(s);
    return port;
}

static void teardown_peer(peer *p)
{
    if (p->to_tool >= 0) close(p->to_tool);
    if (p->pid > 0) {
        int st;
        for (int i = 0; i < 100 && waitpid(p->pid, &st, WNOHANG) == 0; i++)
            usleep(10000);
        if (waitpid(p->pid, &st, WNOHANG) == 0) {
            kill(p->pid, SIGKILL);
            waitpid(p->pid, &st, 0);
        }
    }
    if (p->from_tool >= 0) close(p->from_tool);
    if (p->sock >= 0) close(p->sock);
    hx_dtls_free(p->d);
    hx_dtls_ctx_free(p->ctx);
    hx_dtls_cert_free(&p->cert);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", p->dir);
    run(cmd);
}

/* One poll round: datagrams to hx_dtls, tool output to p->out, the timer. */
static void step(peer *p)
{
    struct pollfd fds[2] = {{.fd = p->sock, .events = POLLIN},
                            {.fd = p->from_tool, .events = POLLIN}};
    int64_t t = hx_dtls_timeout_ms(p->d, now_ms());
    int wait = t < 0 || t > 50 ? 50 : (int)t;
    assert_true(poll(fds, 2, wait) >= 0);
    if (fds[0].revents & POLLIN) {
        uint8_t buf[2048];
        struct sockaddr_in from;
        socklen_t flen = sizeof from;
        ssize_t n;
        while ((n = recvfrom(p->sock, buf, sizeof buf, 0, (struct sockaddr *)&from, &flen)) > 0) {
            if (!p->have_addr) p->addr = from, p->have_addr = 1;
            hx_dtls_input(p->d, buf, (size_t)n, now_ms());
            flen = sizeof from;
        }
    }
    if (fds[1].revents & (POLLIN | POLLHUP)) {
        ssize_t n = read(p->from_tool, p->out + p->out_len, sizeof p->out - 1 - p->out_len);
        if (n > 0) p->out_len += (size_t)n;
        p->out[p->out_len] = '\0';
        if (n == 0) { /* the tool exited */
            close(p->from_tool);
            p->from_tool = -1;
        }
    }
    if (hx_dtls_timeout_ms(p->d, now_ms()) == 0) hx_dtls_on_timer(p->d, now_ms());
}

static void run_until(peer *p, int (*done)(peer *), int ms)
{
    uint64_t end = now_ms() + (uint64_t)ms;
    while (!done(p) && now_ms() < end && p->from_tool >= 0)
        step(p);
    if (!done(p)) print_message("tool output:\n%s\n", p->out);
    assert_true(done(p));
}

static int keymat_printed(peer *p)
{
    char *k = strstr(p->out, "Keying material: ");
    return p->connected && k && strchr(k, '\n');
}

static int lines_exchanged(peer *p)
{
    return strstr(p->data, LINE_FROM_TOOL) && strstr(p->out, LINE_FROM_HEARTH);
}

static int listening(peer *p)
{
    return strstr(p->out, "ACCEPT") != NULL;
}

static int has_failed(peer *p)
{
    return p->failed > 0;
}

/* The tool's printed keying material against ours, rebuilt in RFC 5764 §4.2 order. */
static void check_keys(peer *p, hx_dtls_role role, uint16_t profile, const char *profile_name)
{
    char want[128];
    snprintf(want, sizeof want, "SRTP Extension negotiated, profile=%s", profile_name);
    assert_non_null(strstr(p->out, want));
    const hx_dtls_srtp_keys *k = hx_dtls_keys(p->d);
    assert_non_null(k);
    assert_int_equal(k->profile, profile);
    int client = role == HX_DTLS_CLIENT;
    uint8_t m[60];
    size_t n = 0;
    memcpy(m + n, client ? k->local_key : k->remote_key, k->key_len), n += k->key_len;
    memcpy(m + n, client ? k->remote_key : k->local_key, k->key_len), n += k->key_len;
    memcpy(m + n, client ? k->local_salt : k->remote_salt, k->salt_len), n += k->salt_len;
    memcpy(m + n, client ? k->remote_salt : k->local_salt, k->salt_len), n += k->salt_len;
    char hex[2 * sizeof m + 1];
    for (size_t i = 0; i < n; i++)
        snprintf(hex + 2 * i, 3, "%02X", m[i]);
    const char *printed = strstr(p->out, "Keying material: ") + strlen("Keying material: ");
    assert_int_equal(strspn(printed, "0123456789ABCDEF"), 2 * n);
    assert_memory_equal(printed, hex, 2 * n);
}

static void exchange_lines(peer *p)
{
    assert_int_equal(
        hx_dtls_send(p->d, (const uint8_t *)LINE_FROM_HEARTH, strlen(LINE_FROM_HEARTH)), 0);
    assert_int_equal(write(p->to_tool, LINE_FROM_TOOL, strlen(LINE_FROM_TOOL)),
                     (ssize_t)strlen(LINE_FROM_TOOL));
    run_until(p, lines_exchanged, 5000);
    assert_int_equal(hx_dtls_close(p->d), 0);
}

static void test_hearth_server_openssl_client(void **state)
{
    (void)state;
    peer p;
    setup_peer(&p, HX_DTLS_SERVER, NULL);
    make_tool_cert(&p, 0);
    char fp[HX_DTLS_FP_TEXT_MAX], target[64], cert[128], key[128];
    tool_fingerprint(&p, fp, sizeof fp);
    assert_int_equal(hx_dtls_set_remote_fingerprint(p.d, "sha-256", fp), 0);
    assert_int_equal(hx_dtls_start(p.d, now_ms()), 0);
    snprintf(target, sizeof target, "127.0.0.1:%d", local_port(p.sock));
    snprintf(cert, sizeof cert, "%s/cert.pem", p.dir);
    snprintf(key, sizeof key, "%s/key.pem", p.dir);
    char *argv[] = {"openssl",
                    "s_client",
                    "-dtls1_2",
                    "-connect",
                    target,
                    "-use_srtp",
                    "SRTP_AES128_CM_SHA1_80",
                    "-keymatexport",
                    "EXTRACTOR-dtls_srtp",
                    "-keymatexportlen",
                    "60",
                    "-cert",
                    cert,
                    "-key",
                    key,
                    NULL};
    spawn(&p, argv);
    run_until(&p, keymat_printed, 10000);
    check_keys(&p, HX_DTLS_SERVER, HX_DTLS_SRTP_AES128_CM_SHA1_80, "SRTP_AES128_CM_SHA1_80");
    exchange_lines(&p);
    teardown_peer(&p);
}

static void test_hearth_client_openssl_server(void **state)
{
    (void)state;
    peer p;
    setup_peer(&p, HX_DTLS_CLIENT, NULL);
    make_tool_cert(&p, 0);
    char fp[HX_DTLS_FP_TEXT_MAX], accept[16], cert[128], key[128];
    tool_fingerprint(&p, fp, sizeof fp);
    int port = free_port();
    snprintf(accept, sizeof accept, "%d", port);
    snprintf(cert, sizeof cert, "%s/cert.pem", p.dir);
    snprintf(key, sizeof key, "%s/key.pem", p.dir);
    char *argv[] = {"openssl",
                    "s_server",
                    "-dtls1_2",
                    "-4",
                    "-accept",
                    accept,
                    "-use_srtp",
                    "SRTP_AEAD_AES_128_GCM",
                    "-keymatexport",
                    "EXTRACTOR-dtls_srtp",
                    "-keymatexportlen",
                    "56",
                    "-cert",
                    cert,
                    "-key",
                    key,
                    "-verify",
                    "1",
                    "-naccept",
                    "1",
                    NULL};
    spawn(&p, argv);
    run_until(&p, listening, 10000);
    p.addr = (struct sockaddr_in){.sin_family = AF_INET,
                                  .sin_port = htons((uint16_t)port),
                                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    p.have_addr = 1;
    assert_int_equal(hx_dtls_start(p.d, now_ms()), 0);
    /* The fingerprint arrives late, as from a slow answer: the handshake waits for it. */
    assert_int_equal(hx_dtls_set_remote_fingerprint(p.d, "sha-256", fp), 0);
    run_until(&p, keymat_printed, 10000);
    check_keys(&p, HX_DTLS_CLIENT, HX_DTLS_SRTP_AEAD_AES_128_GCM, "SRTP_AEAD_AES_128_GCM");
    assert_non_null(strstr(p.out, "CN = hearth")); /* it saw our certificate */
    exchange_lines(&p);
    teardown_peer(&p);
}

static void test_no_common_suite_alert(void **state)
{
    (void)state;
    peer p;
    setup_peer(&p, HX_DTLS_CLIENT, NULL);
    make_tool_cert(&p, 1);
    char fp[HX_DTLS_FP_TEXT_MAX], accept[16], cert[128], key[128];
    tool_fingerprint(&p, fp, sizeof fp);
    assert_int_equal(hx_dtls_set_remote_fingerprint(p.d, "sha-256", fp), 0);
    int port = free_port();
    snprintf(accept, sizeof accept, "%d", port);
    snprintf(cert, sizeof cert, "%s/cert.pem", p.dir);
    snprintf(key, sizeof key, "%s/key.pem", p.dir);
    char *argv[] = {"openssl", "s_server", "-dtls1_2", "-4",       "-accept", accept, "-cert",
                    cert,      "-key",     key,        "-naccept", "1",       NULL};
    spawn(&p, argv);
    run_until(&p, listening, 10000);
    p.addr = (struct sockaddr_in){.sin_family = AF_INET,
                                  .sin_port = htons((uint16_t)port),
                                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    p.have_addr = 1;
    assert_int_equal(hx_dtls_start(p.d, now_ms()), 0);
    run_until(&p, has_failed, 10000);
    assert_int_equal(p.fail_err, HX_DTLS_ERR_ALERT);
    const char *why = NULL;
    hx_dtls_error(p.d, &why);
    assert_string_equal(why, "alert received: handshake failure");
    teardown_peer(&p);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hearth_server_openssl_client),
        cmocka_unit_test(test_hearth_client_openssl_server),
        cmocka_unit_test(test_no_common_suite_alert),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
