/*
 * The forwarding microbenchmark (issue 4, issue 11): CPU per output packet
 * of an SFU's fan-out, hearth's engine against this machine's limit
 * measured the same way.
 *
 * One publisher packet (12-byte header + 1100-byte VP8 payload, as
 * hearth-load's video) arrives SRTP-protected and goes to N subscribers,
 * each over its own UDP socket on 127.0.0.1 that a second thread drains.
 * Only the sending thread's CPU time is counted (CLOCK_THREAD_CPUTIME_ID;
 * loopback delivery runs in the sender's context).
 *
 *   hearth  the engine core itself (sfu/core.h), as hearthd runs it: a room
 *           made by tests/support/engine_fixture.h (a publisher that offered
 *           Chromium's SDP, N subscribers, each connected with ICE, DTLS and
 *           SRTP and subscribed to the video), then taken over with an io
 *           whose slots are a real hx_udp's (net/udp.c) to the sinks.
 *           Each input is hx_engine_core_rx (unprotect, classify, NACK
 *           state, packet cache, keyframe detection, then per subscriber:
 *           rewrite, protect, commit), and hx_udp_flush after every 32
 *           inputs (one receive batch).
 *   raw     the least any SFU can do: the same copy, a 3-field rewrite, SRTP
 *           written directly on EVP (AES-128-CTR + HMAC-SHA1 from precomputed
 *           SHA-1 pad states, or AES-128-GCM keyed once), and a bare sendmmsg
 *           of the same batches.
 *
 * Build (after the main build):  bench/build.sh   Run:  build/bench_forward [--gcm] [N ...]
 * Prints µs of CPU per output packet, output packets per CPU-second, and
 * hearth's cost relative to raw (the target: raw / hearth >= 80 %).
 */
#define _GNU_SOURCE
#include "net/udp.h"
#include "rtp/rtp.h"
#include "srtp/srtp.h"
#include "support/engine_fixture.h"

#include <arpa/inet.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PAYLOAD 1100
#define PKT (12 + PAYLOAD)
#define SLOT 1500
#define MAX_N 1000
#define OUTPUTS 300000 /* output packets per measurement */
#define RX_BATCH 32
#define QUEUE 64

typedef struct sink {
    int fd[MAX_N];
    struct sockaddr_in addr[MAX_N];
    int n;
    atomic_int stop;
} sink;

static double thread_cpu_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void *drain(void *arg)
{
    sink *s = arg;
    static __thread uint8_t bufs[RX_BATCH][SLOT];
    struct mmsghdr m[RX_BATCH];
    struct iovec iov[RX_BATCH];
    while (!atomic_load(&s->stop)) {
        int got = 0;
        for (int k = 0; k < s->n; k++) {
            for (int i = 0; i < RX_BATCH; i++) {
                iov[i] = (struct iovec){bufs[i], SLOT};
                m[i].msg_hdr = (struct msghdr){.msg_iov = &iov[i], .msg_iovlen = 1};
            }
            int r = recvmmsg(s->fd[k], m, RX_BATCH, MSG_DONTWAIT, NULL);
            if (r > 0) got += r;
        }
        if (!got) usleep(200);
    }
    return NULL;
}

static int open_sinks(sink *s, int n)
{
    s->n = n;
    for (int i = 0; i < n; i++) {
        s->fd[i] = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
        int sz = 4 << 20;
        setsockopt(s->fd[i], SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof sz);
        s->addr[i] = (struct sockaddr_in){.sin_family = AF_INET};
        inet_pton(AF_INET, "127.0.0.1", &s->addr[i].sin_addr);
        socklen_t l = sizeof s->addr[i];
        if (s->fd[i] < 0 || bind(s->fd[i], (struct sockaddr *)&s->addr[i], l) != 0 ||
            getsockname(s->fd[i], (struct sockaddr *)&s->addr[i], &l) != 0)
            return -1;
    }
    return 0;
}

/* ---- raw SRTP on EVP ------------------------------------------------------------------- */

typedef struct raw_ctx {
    bool gcm;
    EVP_CIPHER_CTX *c;
    EVP_MD_CTX *inner, *outer, *tmp;
    uint8_t salt[14];
} raw_ctx;

static void raw_init(raw_ctx *r, bool gcm, const uint8_t key[16], const uint8_t salt[14])
{
    r->gcm = gcm;
    r->c = EVP_CIPHER_CTX_new();
    memcpy(r->salt, salt, 14);
    EVP_EncryptInit_ex(r->c, gcm ? EVP_aes_128_gcm() : EVP_aes_128_ctr(), NULL, key, NULL);
    if (gcm) return;
    uint8_t ipad[64], opad[64], akey[20];
    memset(akey, 0x42, sizeof akey); /* an auth key as derived; its value does not matter */
    for (int i = 0; i < 64; i++) {
        ipad[i] = (uint8_t)((i < 20 ? akey[i] : 0) ^ 0x36);
        opad[i] = (uint8_t)((i < 20 ? akey[i] : 0) ^ 0x5c);
    }
    r->inner = EVP_MD_CTX_new();
    r->outer = EVP_MD_CTX_new();
    r->tmp = EVP_MD_CTX_new();
    EVP_DigestInit_ex(r->inner, EVP_sha1(), NULL);
    EVP_DigestUpdate(r->inner, ipad, 64);
    EVP_DigestInit_ex(r->outer, EVP_sha1(), NULL);
    EVP_DigestUpdate(r->outer, opad, 64);
}

/* Encrypt (or decrypt: CTR and the tag check cost the same) and tag pkt in place. */
static size_t raw_protect(raw_ctx *r, uint8_t *pkt, size_t len, uint32_t ssrc, uint64_t index)
{
    uint8_t iv[16] = {0};
    int n;
    if (r->gcm) {
        memcpy(iv, r->salt, 12);
        for (int i = 0; i < 4; i++)
            iv[2 + i] ^= (uint8_t)(ssrc >> (24 - 8 * i));
        for (int i = 0; i < 6; i++)
            iv[6 + i] ^= (uint8_t)(index >> (40 - 8 * i));
        EVP_EncryptInit_ex(r->c, NULL, NULL, NULL, iv);
        EVP_EncryptUpdate(r->c, NULL, &n, pkt, 12);
        EVP_EncryptUpdate(r->c, pkt + 12, &n, pkt + 12, (int)len - 12);
        EVP_EncryptFinal_ex(r->c, pkt + len, &n);
        EVP_CIPHER_CTX_ctrl(r->c, EVP_CTRL_GCM_GET_TAG, 16, pkt + len);
        return len + 16;
    }
    memcpy(iv, r->salt, 14);
    for (int i = 0; i < 4; i++)
        iv[4 + i] ^= (uint8_t)(ssrc >> (24 - 8 * i));
    for (int i = 0; i < 6; i++)
        iv[8 + i] ^= (uint8_t)(index >> (40 - 8 * i));
    EVP_EncryptInit_ex(r->c, NULL, NULL, NULL, iv);
    EVP_EncryptUpdate(r->c, pkt + 12, &n, pkt + 12, (int)len - 12);
    uint8_t roc[4] = {0}, md[20];
    unsigned mdl;
    EVP_MD_CTX_copy_ex(r->tmp, r->inner);
    EVP_DigestUpdate(r->tmp, pkt, len);
    EVP_DigestUpdate(r->tmp, roc, 4);
    EVP_DigestFinal_ex(r->tmp, md, &mdl);
    EVP_MD_CTX_copy_ex(r->tmp, r->outer);
    EVP_DigestUpdate(r->tmp, md, 20);
    EVP_DigestFinal_ex(r->tmp, md, &mdl);
    memcpy(pkt + len, md, 10);
    return len + 10;
}

static void raw_free(raw_ctx *r)
{
    EVP_CIPHER_CTX_free(r->c);
    EVP_MD_CTX_free(r->inner);
    EVP_MD_CTX_free(r->outer);
    EVP_MD_CTX_free(r->tmp);
}

/* ---- the two fan-outs ------------------------------------------------------------------ */

static void make_packet(uint8_t *p, uint16_t seq, uint32_t ts)
{
    memset(p, 0xa5, PKT);
    p[0] = 0x80, p[1] = 96;
    hx_rtp_set_seq(p, seq);
    hx_rtp_set_ts(p, ts);
    hx_rtp_set_ssrc(p, 0x11223344);
}

/* ---- hearth: the engine core --------------------------------------------------------------- */

#define VIDEO_SSRC 2467563263u /* tests/sdp/fixtures/chromium_pub.sdp */

typedef struct core_io {
    hx_udp *u;
} core_io;

static uint8_t *io_slot(void *ctx)
{
    return hx_udp_slot(((core_io *)ctx)->u);
}

static void io_commit(void *ctx, const hx_engine_path *to, size_t len)
{
    core_io *c = ctx;
    if (len && to->proto == HX_PATH_UDP)
        hx_udp_commit(c->u, len, (const struct sockaddr *)&to->addr, to->addrlen);
    else
        hx_udp_release(c->u);
}

static void io_event(void *ctx, const uint8_t *msg, size_t len)
{
    (void)ctx, (void)msg, (void)len;
}

typedef struct room {
    fx f;
    fx_peer *pub;
    core_io io;
    uint16_t seq;
    uint32_t ts;
} room;


/* A publisher and s->n subscribers of its video, at the sinks' addresses; then the real socket. */
static void room_open(room *r, sink *s, bool gcm)
{
    hx_engine_config cfg;
    hx_engine_config_default(&cfg);
    cfg.max_packet_rate = 1e9; /* the bench's publisher sends far past hearthd's per-transport cap */
    if (fx_init_with(&r->f, &cfg, gcm ? "SRTP_AEAD_AES_128_GCM" : "SRTP_AES128_CM_SHA1_80")) {
        fprintf(stderr, "fixture: %s\n", r->f.err);
        exit(1);
    }
    const char *offer = fx_sdp_fixture(".", "chromium_pub.sdp");
    if (!offer) {
        fprintf(stderr, "run from the source tree (tests/sdp/fixtures/chromium_pub.sdp)\n");
        exit(1);
    }
    r->pub = fx_publisher(&r->f, 1, "bench", "p_pub", offer);
    const char *video = r->pub ? fx_track_id(&r->f, 1, 1) : NULL;
    if (!video) {
        fprintf(stderr, "publisher: %s\n", r->f.err);
        exit(1);
    }
    char track[64];
    snprintf(track, sizeof track, "%s", video);
    for (int k = 0; k < s->n; k++) {
        struct sockaddr_storage a;
        memcpy(&a, &s->addr[k], sizeof s->addr[k]);
        fx_next_addr(&r->f, &a);
        fx_peer *sub = fx_subscriber(&r->f, 100 + (uint64_t)k, "bench", "p_sub");
        if (!sub) exit(1);
        fx_track_cmd(&r->f, HX_SFU_SUBSCRIBE, sub->id, track, NULL);
        fx_advance(&r->f, 20);
        if (fx_answer(sub) != 0) {
            fprintf(stderr, "subscriber %d: %s\n", k, r->f.err);
            exit(1);
        }
    }
    char err[128];
    if (hx_udp_open("127.0.0.1", 0, &r->io.u, err, sizeof err) != 0) {
        fprintf(stderr, "udp: %s\n", err);
        exit(1);
    }
    int sz = 4 << 20;
    setsockopt(hx_udp_fd(r->io.u), SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof sz);
    hx_engine_io io = {.ctx = &r->io, .slot = io_slot, .commit = io_commit, .event = io_event};
    hx_engine_core_set_io(r->f.core, &io);
    r->seq = 1000;
}

static void room_close(room *r)
{
    fx_free(&r->f); /* its transports' close_notify still goes through the socket */
    hx_udp_close(r->io.u);
}

/* inputs protected packets (a key frame first, so every subscriber forwards from there). */
static size_t make_inputs(room *r, uint8_t *pool, size_t *plen, int inputs, bool first)
{
    for (int i = 0; i < inputs; i++) {
        uint8_t *p = pool + (size_t)i * SLOT;
        uint8_t payload[PAYLOAD];
        memset(payload, 0xa5, sizeof payload);
        bool key = first && i == 0;
        payload[0] = 0x10, payload[1] = key ? 0x00 : 0x01; /* VP8: S=1, then P */
        payload[2] = 0x9d, payload[3] = 0x01, payload[4] = 0x2a;
        if (i % 8 == 0) r->ts += 3000;
        plen[i] = fx_rtp(p, 96, r->seq++, r->ts, VIDEO_SSRC, i % 8 == 7, payload, sizeof payload);
        if (hx_srtp_protect(r->pub->srtp_tx, p, &plen[i], SLOT) != 0) abort();
    }
    return (size_t)inputs;
}

static double run_hearth(room *r, int inputs, bool first)
{
    uint8_t *pool = malloc((size_t)inputs * SLOT);
    size_t *plen = malloc((size_t)inputs * sizeof *plen);
    make_inputs(r, pool, plen, inputs, first);
    hx_engine_path from = {.proto = HX_PATH_UDP, .addr = r->pub->addr,
                           .addrlen = sizeof(struct sockaddr_in)};
    static uint8_t rx[SLOT];
    uint64_t before = hx_udp_stats(r->io.u)->tx_packets;
    double t0 = thread_cpu_s();
    for (int i = 0; i < inputs; i++) {
        memcpy(rx, pool + (size_t)i * SLOT, plen[i]); /* as recvmmsg leaves it */
        hx_engine_core_rx(r->f.core, &from, NULL, rx, plen[i], r->f.now);
        if (i % RX_BATCH == RX_BATCH - 1) hx_udp_flush(r->io.u);
    }
    hx_udp_flush(r->io.u);
    double cpu = thread_cpu_s() - t0;
    const hx_udp_counters *c = hx_udp_stats(r->io.u);
    if (c->tx_packets - before < (uint64_t)(inputs - 1) * (uint64_t)(r->f.n_peers - 1))
        fprintf(stderr, "  (hearth: %llu of %d x %d packets went out)\n",
                (unsigned long long)(c->tx_packets - before), inputs, r->f.n_peers - 1);
    if (c->tx_dropped)
        fprintf(stderr, "  (hearth: %llu sends dropped)\n", (unsigned long long)c->tx_dropped);
    free(pool);
    free(plen);
    return cpu;
}

static double run_raw(sink *s, bool gcm, int inputs)
{
    uint8_t key[16], salt[14];
    memset(key, 7, sizeof key);
    memset(salt, 9, sizeof salt);
    raw_ctx pub, *sub = calloc((size_t)s->n, sizeof *sub);
    raw_init(&pub, gcm, key, salt);
    for (int i = 0; i < s->n; i++) {
        key[0] = (uint8_t)i;
        raw_init(&sub[i], gcm, key, salt);
    }
    uint8_t *pool = malloc((size_t)inputs * SLOT);
    for (int i = 0; i < inputs; i++)
        make_packet(pool + (size_t)i * SLOT, (uint16_t)i, 0);
    size_t in_len = PKT + (gcm ? 16 : 10);
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    int sz = 4 << 20;
    setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof sz);
    static uint8_t slots[QUEUE][SLOT], rx[SLOT];
    struct mmsghdr m[QUEUE];
    struct iovec iov[QUEUE];
    int q = 0;
    uint64_t dropped = 0;
    double t0 = thread_cpu_s();
    for (int i = 0; i < inputs; i++) {
        memcpy(rx, pool + (size_t)i * SLOT, in_len);
        raw_protect(&pub, rx, PKT, 0x11223344, (uint64_t)i); /* the unprotect's work */
        for (int k = 0; k < s->n; k++) {
            if (q == QUEUE) {
                int r = sendmmsg(fd, m, (unsigned)q, 0);
                if (r < q) dropped += (uint64_t)(q - (r < 0 ? 0 : r));
                q = 0;
            }
            uint8_t *out = slots[q];
            memcpy(out, rx, PKT);
            out[2] = (uint8_t)(i >> 8), out[3] = (uint8_t)i; /* seq, ts, ssrc rewrite */
            out[4] ^= 1, out[8] = (uint8_t)k;
            size_t olen = raw_protect(&sub[k], out, PKT, 0x5000 + (uint32_t)k, (uint64_t)i);
            iov[q] = (struct iovec){out, olen};
            m[q].msg_hdr = (struct msghdr){.msg_name = &s->addr[k],
                                           .msg_namelen = sizeof s->addr[k],
                                           .msg_iov = &iov[q],
                                           .msg_iovlen = 1};
            q++;
        }
        if (i % RX_BATCH == RX_BATCH - 1 && q) {
            int r = sendmmsg(fd, m, (unsigned)q, 0);
            if (r < q) dropped += (uint64_t)(q - (r < 0 ? 0 : r));
            q = 0;
        }
    }
    if (q) sendmmsg(fd, m, (unsigned)q, 0);
    double cpu = thread_cpu_s() - t0;
    if (dropped) fprintf(stderr, "  (raw: %llu sends dropped)\n", (unsigned long long)dropped);
    close(fd);
    raw_free(&pub);
    for (int i = 0; i < s->n; i++)
        raw_free(&sub[i]);
    free(sub);
    free(pool);
    return cpu;
}

int main(int argc, char **argv)
{
    bool gcm = false;
    int ns[32], nn = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--gcm"))
            gcm = true;
        else if (!strcmp(argv[i], "--help")) {
            printf("usage: bench_forward [--gcm] [N ...]  (default N: 1 10 50 100)\n");
            return 0;
        } else if (nn < 32 && atoi(argv[i]) > 0 && atoi(argv[i]) <= MAX_N)
            ns[nn++] = atoi(argv[i]);
    }
    if (!nn) ns[nn++] = 1, ns[nn++] = 10, ns[nn++] = 50, ns[nn++] = 100;
    printf("forwarding fan-out, %d-byte RTP packets, %s, CPU of the sending thread\n", PKT,
           gcm ? "AEAD_AES_128_GCM" : "AES128_CM_SHA1_80");
    printf("%6s  %14s %12s  %14s %12s  %s\n", "N", "hearth us/pkt", "pkts/s/core", "raw us/pkt",
           "pkts/s/core", "raw/hearth");
    for (int j = 0; j < nn; j++) {
        static sink s;
        memset(&s, 0, sizeof s);
        if (open_sinks(&s, ns[j]) != 0) {
            perror("sink sockets");
            return 1;
        }
        pthread_t th;
        pthread_create(&th, NULL, drain, &s);
        int inputs = OUTPUTS / ns[j];
        if (inputs > 20000) inputs = 20000;
        static room rm;
        memset(&rm, 0, sizeof rm);
        room_open(&rm, &s, gcm);
        double best_h = 1e9, best_r = 1e9;
        for (int round = 0; round < 3; round++) { /* best of 3: the machine is shared */
            double h = run_hearth(&rm, inputs, round == 0), r = run_raw(&s, gcm, inputs);
            if (h < best_h) best_h = h;
            if (r < best_r) best_r = r;
        }
        double outs = (double)inputs * ns[j];
        double uh = best_h / outs * 1e6, ur = best_r / outs * 1e6;
        printf("%6d  %14.2f %12.0f  %14.2f %12.0f  %9.0f %%\n", ns[j], uh, 1e6 / uh, ur, 1e6 / ur,
               100.0 * ur / uh);
        fflush(stdout);
        room_close(&rm);
        atomic_store(&s.stop, 1);
        pthread_join(th, NULL);
        for (int i = 0; i < s.n; i++)
            close(s.fd[i]);
    }
    return 0;
}
