/*
 * hearth-load: the command line. Parses options into an hx_load_cfg
 * (--churn and its companions: load.h), starts the workers, prints a
 * progress line every --progress seconds,
 * moves the phase (run for --duration seconds, drain 1 s, stop) and prints
 * the summary. The time bound is hard: the process ends at most a few
 * seconds after --duration whatever the server does.
 */
#include "load/load.h"

#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DRAIN_MS 1000

static void usage(FILE *f)
{
    fprintf(f,
            "usage: hearth-load [options]\n"
            "Simulated WebRTC participants against hearthd (or Janus's VideoRoom).\n\n"
            "  --target hearth|janus   server kind (default hearth)\n"
            "  --url URL               hearth: http://127.0.0.1:7880 (default);\n"
            "                          janus: ws://127.0.0.2:8188\n"
            "  --room NAME             room (Janus: a number; default load / 4242)\n"
            "  --local-ip IP           the clients' UDP address (default 127.0.0.1)\n"
            "  --publishers N          participants that send (default 1)\n"
            "  --subscribers N         participants that only receive (default 4)\n"
            "  --threads N             worker threads, one loop each (default 1, max %d)\n"
            "  --duration S            run time, joins included (default 30)\n"
            "  --join-rate R           joins per second (default 20)\n"
            "  --audio / --no-audio    publishers send Opus-like audio, 50 packets/s (on)\n"
            "  --video / --no-video    publishers send VP8-like video (on)\n"
            "  --video-kbps K          video bitrate per publisher (default 500)\n"
            "  --fps F                 video frames per second (default 30)\n"
            "  --keyint S              seconds between keyframes (default 2)\n"
            "  --audio-bytes B         audio payload per packet (default 80)\n"
            "  --talkers K             only K publishers talk at a time (50 audio packets/s);\n"
            "                          the others are silent and send Opus DTX, one packet\n"
            "                          per 400 ms; who talks rotates every 5 s (default: all)\n"
            "  --simulcast N           video layers per publisher, 1-3 (rids q, h, f; 1/8,\n"
            "                          1/4, 5/8 of the bitrate; default 1: no simulcast)\n"
            "  --layer q|h|f           receivers ask the server for this layer (track.layer;\n"
            "                          hearth target; default: the server's choice)\n"
            "  --constrained N         the first N subscribers (participants P .. P+N-1 for\n"
            "                          --publishers P, in join order) are constrained: every\n"
            "                          250 ms they send an RTCP receiver report and a REMB of\n"
            "                          --remb-kbps for the video they receive (hearthd's\n"
            "                          estimator reads REMB: hearth-load accepts no\n"
            "                          transport-cc); Janus, which does not switch layers on\n"
            "                          a REMB, is also asked for substream 0 for them\n"
            "                          (default 0; the summary splits each group's figures)\n"
            "  --remb-kbps K           the constrained receivers' REMB (needed with them)\n"
            "  --progress S            a progress line every S seconds on stderr (1; 0: off)\n"
            "  --max-loss PCT          exit 1 when the loss exceeds PCT %% (default: never)\n"
            "  --churn N               hearth: N more participants come and go, joining after\n"
            "                          the steady ones at --join-rate; each stays a random\n"
            "                          lifetime once its media connected, then sends leave\n"
            "  --lifetime-s A:B        churn: that lifetime, uniform in A..B s (default 5:20)\n"
            "  --drop-pct P            churn: P %% of them have their signaling connection cut\n"
            "                          once (a TCP reset, no close frame) and resume (default 0)\n"
            "  --churn-publish PCT     churn: PCT %% of them publish too (default 25)\n"
            "  --min-join-success PCT  exit 1 when fewer joins succeed (media connected within\n"
            "                          5 s of the ticket request; default: never)\n"
            "  --min-reconnect-success PCT\n"
            "                          exit 1 when fewer reconnects resume (default: never)\n"
            "  --json                  print the summary as one JSON object\n"
            "  --help                  this text\n"
            "Against hearth every participant resumes (docs/protocol.md 2.4) after a dropped\n"
            "connection or a server restart, with backoff, within the server's window.\n"
            "Exit status: 0, or 1 when a participant failed to join or the loss is too high\n"
            "(with --churn: only on --max-loss, --min-join-success, --min-reconnect-success).\n",
            HX_LOAD_MAX_THREADS);
}

static int parse(int argc, char **argv, hx_load_cfg *c)
{
    *c = (hx_load_cfg){.publishers = 1,
                       .subscribers = 4,
                       .threads = 1,
                       .duration_s = 30,
                       .join_rate = 20,
                       .audio = true,
                       .video = true,
                       .video_kbps = 500,
                       .fps = 30,
                       .keyint_s = 2,
                       .audio_bytes = 80,
                       .simulcast = 1,
                       .layer = -1,
                       .progress_s = 1,
                       .max_loss = -1,
                       .life_min_s = 5,
                       .life_max_s = 20,
                       .churn_pub_pct = 25,
                       .min_join_success = -1,
                       .min_reconnect_success = -1};
    snprintf(c->url, sizeof c->url, "http://127.0.0.1:7880");
    snprintf(c->local_ip, sizeof c->local_ip, "127.0.0.1");
    bool room_set = false, url_set = false;
    enum {
        TARGET = 256,
        URL,
        ROOM,
        LOCAL,
        PUBS,
        SUBS,
        THREADS,
        DUR,
        RATE,
        AUDIO,
        NOAUDIO,
        VIDEO,
        NOVIDEO,
        KBPS,
        FPS,
        KEYINT,
        ABYTES,
        TALKERS,
        SIMULCAST,
        LAYER,
        CONSTRAINED,
        REMB,
        PROGRESS,
        MAXLOSS,
        CHURN,
        LIFETIME,
        DROPPCT,
        CHURNPUB,
        MINJOIN,
        MINRECONNECT,
        JSON,
        HELP
    };
    static const struct option opts[] = {{"target", 1, 0, TARGET},
                                         {"url", 1, 0, URL},
                                         {"room", 1, 0, ROOM},
                                         {"local-ip", 1, 0, LOCAL},
                                         {"publishers", 1, 0, PUBS},
                                         {"subscribers", 1, 0, SUBS},
                                         {"threads", 1, 0, THREADS},
                                         {"duration", 1, 0, DUR},
                                         {"join-rate", 1, 0, RATE},
                                         {"audio", 0, 0, AUDIO},
                                         {"no-audio", 0, 0, NOAUDIO},
                                         {"video", 0, 0, VIDEO},
                                         {"no-video", 0, 0, NOVIDEO},
                                         {"video-kbps", 1, 0, KBPS},
                                         {"fps", 1, 0, FPS},
                                         {"keyint", 1, 0, KEYINT},
                                         {"audio-bytes", 1, 0, ABYTES},
                                         {"talkers", 1, 0, TALKERS},
                                         {"simulcast", 1, 0, SIMULCAST},
                                         {"layer", 1, 0, LAYER},
                                         {"constrained", 1, 0, CONSTRAINED},
                                         {"remb-kbps", 1, 0, REMB},
                                         {"progress", 1, 0, PROGRESS},
                                         {"max-loss", 1, 0, MAXLOSS},
                                         {"churn", 1, 0, CHURN},
                                         {"lifetime-s", 1, 0, LIFETIME},
                                         {"drop-pct", 1, 0, DROPPCT},
                                         {"churn-publish", 1, 0, CHURNPUB},
                                         {"min-join-success", 1, 0, MINJOIN},
                                         {"min-reconnect-success", 1, 0, MINRECONNECT},
                                         {"json", 0, 0, JSON},
                                         {"help", 0, 0, HELP},
                                         {0, 0, 0, 0}};
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case TARGET:
            if (!strcmp(optarg, "janus"))
                c->target = HX_LOAD_JANUS;
            else if (strcmp(optarg, "hearth") != 0)
                return -1;
            break;
        case URL:
            snprintf(c->url, sizeof c->url, "%s", optarg);
            url_set = true;
            break;
        case ROOM:
            snprintf(c->room, sizeof c->room, "%s", optarg);
            room_set = true;
            break;
        case LOCAL:
            snprintf(c->local_ip, sizeof c->local_ip, "%s", optarg);
            break;
        case PUBS:
            c->publishers = atoi(optarg);
            break;
        case SUBS:
            c->subscribers = atoi(optarg);
            break;
        case THREADS:
            c->threads = atoi(optarg);
            break;
        case DUR:
            c->duration_s = atoi(optarg);
            break;
        case RATE:
            c->join_rate = atof(optarg);
            break;
        case AUDIO:
            c->audio = true;
            break;
        case NOAUDIO:
            c->audio = false;
            break;
        case VIDEO:
            c->video = true;
            break;
        case NOVIDEO:
            c->video = false;
            break;
        case KBPS:
            c->video_kbps = atoi(optarg);
            break;
        case FPS:
            c->fps = atoi(optarg);
            break;
        case KEYINT:
            c->keyint_s = atoi(optarg);
            break;
        case ABYTES:
            c->audio_bytes = atoi(optarg);
            break;
        case TALKERS:
            c->talkers = atoi(optarg);
            break;
        case SIMULCAST:
            c->simulcast = atoi(optarg);
            break;
        case LAYER:
            c->layer = -2;
            for (int l = 0; l < HX_LOAD_MAX_LAYERS; l++)
                if (!strcmp(optarg, hx_load_layer_rid(l))) c->layer = l;
            if (c->layer == -2) return -1;
            break;
        case CONSTRAINED:
            c->constrained = atoi(optarg);
            break;
        case REMB:
            c->remb_kbps = atoi(optarg);
            break;
        case PROGRESS:
            c->progress_s = atoi(optarg);
            break;
        case MAXLOSS:
            c->max_loss = atof(optarg);
            break;
        case CHURN:
            c->churn = atoi(optarg);
            break;
        case LIFETIME:
            if (sscanf(optarg, "%lf:%lf", &c->life_min_s, &c->life_max_s) != 2) return -1;
            break;
        case DROPPCT:
            c->drop_pct = atoi(optarg);
            break;
        case CHURNPUB:
            c->churn_pub_pct = atoi(optarg);
            break;
        case MINJOIN:
            c->min_join_success = atof(optarg);
            break;
        case MINRECONNECT:
            c->min_reconnect_success = atof(optarg);
            break;
        case JSON:
            c->json = true;
            break;
        case HELP:
            usage(stdout);
            exit(0);
        default:
            return -1;
        }
    }
    if (optind < argc) return -1;
    if (!url_set && c->target == HX_LOAD_JANUS)
        snprintf(c->url, sizeof c->url, "ws://127.0.0.2:8188");
    if (!room_set) snprintf(c->room, sizeof c->room, c->target == HX_LOAD_JANUS ? "4242" : "load");
    int total = c->publishers + c->subscribers + c->churn;
    if (c->churn < 0 || (c->churn && c->target != HX_LOAD_HEARTH) || c->drop_pct < 0 ||
        c->drop_pct > 100 || c->churn_pub_pct < 0 || c->churn_pub_pct > 100 ||
        !(c->life_min_s >= 0.1) || !(c->life_max_s >= c->life_min_s) || c->life_max_s > 86400) {
        fprintf(stderr, "hearth-load: churn options out of range (--churn >= 0, hearth target "
                        "only; --drop-pct and --churn-publish 0..100; --lifetime-s A:B with "
                        "0.1 <= A <= B)\n");
        return -1;
    }
    if (c->constrained < 0 || c->constrained > c->subscribers || c->remb_kbps < 0 ||
        c->remb_kbps > 1000000 || (c->constrained && c->remb_kbps < 1)) {
        fprintf(stderr, "hearth-load: --constrained N takes 0..--subscribers, with --remb-kbps "
                        "1..1000000\n");
        return -1;
    }
    if (c->publishers < 0 || c->subscribers < 0 || total < 1 || total > HX_LOAD_MAX_PARTICIPANTS ||
        c->threads < 1 || c->threads > HX_LOAD_MAX_THREADS || c->duration_s < 1 ||
        c->duration_s > 86400 || c->join_rate <= 0 || c->join_rate > 10000 || c->video_kbps < 10 ||
        c->video_kbps > 50000 || c->fps < 1 || c->fps > 120 || c->keyint_s < 0 ||
        c->audio_bytes < 20 || c->audio_bytes > 1000 || c->talkers < 0 || c->progress_s < 0 ||
        c->simulcast < 1 || c->simulcast > HX_LOAD_MAX_LAYERS || c->layer >= c->simulcast ||
        (!c->audio && !c->video)) {
        fprintf(stderr,
                "hearth-load: an option is out of range (participants 1..%d, threads "
                "1..%d, duration 1..86400, fps 1..120, kbps 10..50000, simulcast 1..3, "
                "layer one of those sent)\n",
                HX_LOAD_MAX_PARTICIPANTS, HX_LOAD_MAX_THREADS);
        return -1;
    }
    double need = total / c->join_rate + (c->churn ? c->life_max_s + 3 : 0);
    if (c->churn && c->duration_s < need)
        fprintf(stderr,
                "hearth-load: warning: --duration %d is short: the last churner joins at %.0f s "
                "and may stay %.0f s (about %.0f s needed for every one to leave)\n",
                c->duration_s, total / c->join_rate, c->life_max_s, need);
    return 0;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void progress(const hx_load_cfg *cfg, hx_load_worker **w, double t, uint64_t *last_rx)
{
    uint64_t tx = 0, rx = 0, joined = 0, failed = 0, resumed = 0, left = 0;
    for (int i = 0; i < cfg->threads; i++) {
        hx_load_stats *s = hx_load_worker_stats(w[i]);
        tx += atomic_load_explicit(&s->tx_packets, memory_order_relaxed);
        rx += atomic_load_explicit(&s->rx_packets, memory_order_relaxed);
        joined += atomic_load_explicit(&s->joined, memory_order_relaxed);
        failed += atomic_load_explicit(&s->failed, memory_order_relaxed);
        resumed += atomic_load_explicit(&s->resumed, memory_order_relaxed);
        left += atomic_load_explicit(&s->left, memory_order_relaxed);
    }
    char more[64] = "";
    if (cfg->churn || resumed)
        snprintf(more, sizeof more, "  resumed %llu left %llu", (unsigned long long)resumed,
                 (unsigned long long)left);
    fprintf(stderr, "[%5.1f s] joined %llu/%d failed %llu%s  sent %llu  received %llu (%llu/s)\n",
            t, (unsigned long long)joined, cfg->publishers + cfg->subscribers + cfg->churn,
            (unsigned long long)failed, more, (unsigned long long)tx, (unsigned long long)rx,
            (unsigned long long)((rx - *last_rx) / (uint64_t)cfg->progress_s));
    *last_rx = rx;
}

int main(int argc, char **argv)
{
    hx_load_cfg cfg;
    if (parse(argc, argv, &cfg) != 0) {
        usage(stderr);
        return 2;
    }
    /* A write to a connection the server has just closed (a restart) is an error to handle,
     * not the end of the process. */
    signal(SIGPIPE, SIG_IGN);
    hx_load_run run = {.cfg = &cfg};
    hx_load_worker *w[HX_LOAD_MAX_THREADS] = {0};
    pthread_t th[HX_LOAD_MAX_THREADS];
    for (int i = 0; i < cfg.threads; i++)
        if (hx_load_worker_new(&w[i], &run, i) != 0) {
            fprintf(stderr, "hearth-load: worker %d: setup failed (URL %s?)\n", i, cfg.url);
            return 2;
        }
    run.t0_us = hx_load_now_us() + 100000;
    for (int i = 0; i < cfg.threads; i++)
        pthread_create(&th[i], NULL, hx_load_worker_main, w[i]);
    uint64_t end = run.t0_us + (uint64_t)cfg.duration_s * 1000000u, last_rx = 0;
    uint64_t next_progress = run.t0_us + (uint64_t)cfg.progress_s * 1000000u;
    for (uint64_t now = hx_load_now_us(); now < end; now = hx_load_now_us()) {
        sleep_ms(50);
        if (cfg.progress_s && now >= next_progress) {
            progress(&cfg, w, (now - run.t0_us) / 1e6, &last_rx);
            next_progress += (uint64_t)cfg.progress_s * 1000000u;
        }
    }
    atomic_store(&run.phase, HX_LOAD_DRAIN);
    sleep_ms(DRAIN_MS);
    atomic_store(&run.phase, HX_LOAD_STOP);
    alarm(15); /* the hard bound: a worker that does not stop ends the process */
    hx_load_stats *st[HX_LOAD_MAX_THREADS];
    for (int i = 0; i < cfg.threads; i++) {
        pthread_join(th[i], NULL);
        st[i] = hx_load_worker_stats(w[i]);
    }
    int rc = hx_load_report(&cfg, st, cfg.threads, cfg.duration_s);
    for (int i = 0; i < cfg.threads; i++)
        hx_load_worker_free(w[i]);
    return rc;
}
