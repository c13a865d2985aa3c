/*
 * The send path with and without UDP GSO (issue 11, item 3): CPU per packet
 * of net/udp.c's hx_udp_slot / hx_udp_commit / hx_udp_flush sending video
 * frames (K packets of L bytes, 1100 by default, as hearth-load's video) to
 * each of N destinations: N receiving sockets on 127.0.0.1 (hx_udp too)
 * that a second thread drains.
 *
 * Two orders of the same packets:
 *   grouped      each destination's K packets one after another;
 *   interleaved  packet-major, as an SFU fans one input packet out to every
 *                subscriber before the next (sfu/forward.c): what the
 *                flush's grouping by destination has to gather.
 * The queue is flushed when full (hx_udp_slot does it) and after each frame.
 *
 * Only the sending thread's CPU is counted (CLOCK_THREAD_CPUTIME_ID);
 * loopback runs the kernel's software segmentation and the delivery in the
 * sender's context, where the kernel charges softirq work to the task (not
 * with CONFIG_IRQ_TIME_ACCOUNTING). Wall time is printed too. Rounds
 * alternate GSO on and off; the medians are the result.
 *
 * Build (after the main build):  bench/build.sh
 * Run:  build/bench_gso [--dests N] [--pkts K] [--len L] [--frames F] [--rounds R]
 */
#define _GNU_SOURCE
#include "net/udp.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_DESTS 1000
#define MAX_ROUNDS 15

typedef struct sinks {
    hx_udp *rx[MAX_DESTS];
    int n;
    atomic_int stop;
    atomic_ullong got;
} sinks;

typedef struct params {
    int dests, pkts, len, frames, rounds;
} params;

static double clock_s(clockid_t id)
{
    struct timespec t;
    clock_gettime(id, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void *drain(void *arg)
{
    sinks *s = arg;
    while (!atomic_load(&s->stop)) {
        unsigned long long got = 0;
        for (int k = 0; k < s->n; k++) {
            hx_udp_pkt *p;
            int n;
            while ((n = hx_udp_recv(s->rx[k], &p)) > 0)
                got += (unsigned long long)n;
        }
        atomic_fetch_add(&s->got, got);
        if (!got) usleep(100);
    }
    return NULL;
}

typedef struct result {
    double cpu_us, wall_us;       /* per packet */
    uint64_t sent, msgs, dropped; /* packets, messages they left in */
} result;

/* One run: `frames` frames, each `pkts` packets to every destination, in the given order. */
static result run(hx_udp *tx, sinks *s, const params *p, int gso, int interleaved)
{
    hx_udp_set_gso(tx, gso);
    hx_udp_counters before = *hx_udp_stats(tx);
    static uint8_t pkt[HX_UDP_MTU];
    memset(pkt, 0xa5, sizeof pkt);
    double c0 = clock_s(CLOCK_THREAD_CPUTIME_ID), w0 = clock_s(CLOCK_MONOTONIC);
    for (int f = 0; f < p->frames; f++) {
        for (int i = 0; i < p->dests * p->pkts; i++) {
            int d = interleaved ? i % p->dests : i / p->pkts;
            const struct sockaddr_storage *to = hx_udp_local(s->rx[d]);
            uint8_t *out = hx_udp_slot(tx);
            memcpy(out, pkt, (size_t)p->len);
            out[0] = (uint8_t)i; /* as a rewritten header would */
            hx_udp_commit(tx, (size_t)p->len, (const struct sockaddr *)to,
                          sizeof(struct sockaddr_in));
        }
        hx_udp_flush(tx);
    }
    double cpu = clock_s(CLOCK_THREAD_CPUTIME_ID) - c0, wall = clock_s(CLOCK_MONOTONIC) - w0;
    const hx_udp_counters *c = hx_udp_stats(tx);
    result r = {.sent = c->tx_packets - before.tx_packets,
                .msgs = c->tx_packets - before.tx_packets -
                        (c->tx_gso_segments - before.tx_gso_segments) + c->tx_gso_msgs -
                        before.tx_gso_msgs,
                .dropped = c->tx_dropped - before.tx_dropped};
    double n = (double)p->frames * p->dests * p->pkts;
    r.cpu_us = cpu / n * 1e6;
    r.wall_us = wall / n * 1e6;
    return r;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int arg(int argc, char **argv, const char *name, int def, int lo, int hi)
{
    for (int i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], name)) {
            long v = strtol(argv[i + 1], NULL, 10);
            if (v < lo || v > hi) {
                fprintf(stderr, "%s: %d to %d\n", name, lo, hi);
                exit(2);
            }
            return (int)v;
        }
    return def;
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "--help")) {
        printf("usage: bench_gso [--dests N] [--pkts K] [--len L] [--frames F] [--rounds R]\n");
        return 0;
    }
    params p = {.dests = arg(argc, argv, "--dests", 100, 1, MAX_DESTS),
                .pkts = arg(argc, argv, "--pkts", 10, 1, 1000),
                .len = arg(argc, argv, "--len", 1100, 4, HX_UDP_MTU),
                .frames = arg(argc, argv, "--frames", 300, 1, 1000000),
                .rounds = arg(argc, argv, "--rounds", 3, 1, MAX_ROUNDS)};
    static sinks s;
    char err[256];
    s.n = p.dests;
    for (int k = 0; k < p.dests; k++)
        if (hx_udp_open("127.0.0.1", 0, &s.rx[k], err, sizeof err) != 0) {
            fprintf(stderr, "receiver: %s\n", err);
            return 1;
        }
    hx_udp *tx;
    if (hx_udp_open("127.0.0.1", 0, &tx, err, sizeof err) != 0) {
        fprintf(stderr, "sender: %s\n", err);
        return 1;
    }
    if (!hx_udp_gso(tx)) {
        fprintf(stderr, "no UDP GSO on this kernel\n");
        return 1;
    }
    pthread_t th;
    pthread_create(&th, NULL, drain, &s);
    printf("%d packets of %d bytes to each of %d destinations, %d frames a run, queue %d\n", p.pkts,
           p.len, p.dests, p.frames, HX_UDP_QUEUE);
    printf("%-12s %-4s %5s  %8s %8s  %9s %8s\n", "order", "gso", "round", "cpu us", "wall us",
           "pkts/msg", "dropped");
    for (int order = 0; order < 2; order++) {
        double cpu[2][MAX_ROUNDS], wall[2][MAX_ROUNDS];
        for (int r = 0; r < p.rounds; r++)
            for (int g = 1; g >= 0; g--) {
                result x = run(tx, &s, &p, g, order);
                cpu[g][r] = x.cpu_us;
                wall[g][r] = x.wall_us;
                printf("%-12s %-4s %5d  %8.3f %8.3f  %9.1f %8llu\n",
                       order ? "interleaved" : "grouped", g ? "on" : "off", r + 1, x.cpu_us,
                       x.wall_us, (double)x.sent / (double)x.msgs, (unsigned long long)x.dropped);
            }
        double on = median(cpu[1], p.rounds), off = median(cpu[0], p.rounds);
        printf("%-12s median cpu us/pkt: gso on %.3f, off %.3f (on/off %.0f %%); wall on %.3f, "
               "off %.3f\n",
               order ? "interleaved" : "grouped", on, off, 100.0 * on / off,
               median(wall[1], p.rounds), median(wall[0], p.rounds));
        fflush(stdout);
    }
    usleep(200000); /* let the drain catch up before counting */
    atomic_store(&s.stop, 1);
    pthread_join(th, NULL);
    unsigned long long sent = hx_udp_stats(tx)->tx_packets, got = atomic_load(&s.got);
    printf("received %llu of %llu sent (%llu lost in receive buffers)\n", got, sent, sent - got);
    hx_udp_close(tx);
    for (int k = 0; k < p.dests; k++)
        hx_udp_close(s.rx[k]);
    return 0;
}
