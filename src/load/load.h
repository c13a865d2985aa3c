/*
 * hearth-load: many simulated WebRTC participants in one process, for load,
 * soak and side-by-side benchmarks (DESIGN §0, issue 4).
 *
 * Layout. main.c parses the command line into an hx_load_cfg and starts
 * cfg.threads workers (worker.c), each a thread with its own libuv loop that
 * owns a fixed slice of the participants (participant i goes to worker
 * i % threads). A participant joins through a target's real signaling
 * (hearth: sig_hearth.c, a join ticket over HTTP and the WebSocket protocol
 * of docs/protocol.md; Janus: sig_janus.c, the VideoRoom plugin over Janus's
 * WebSocket API), both over the small HTTP/WebSocket client of tcp.c. Its
 * media goes through client transports (pc.c): one UDP socket per
 * PeerConnection, ICE checks as the controlling agent (and answers to a full
 * agent's checks), DTLS as the client, SRTP both ways, all from hearth's own
 * stun/, dtls/ and srtp/ modules. Publishers send synthetic Opus-like audio
 * and VP8-like video (media_tx.c) whose payload ends with a trailer carrying
 * the send time; subscribers measure what arrives (media_rx.c), and the
 * constrained ones (--constrained) report a fixed REMB back (media_fb.c).
 * report.c merges the workers' figures into the summary table and JSON.
 *
 * Against hearth a participant outlives its signaling connection: after a
 * drop or a server restart it resumes (docs/protocol.md §2.4) and renews its
 * media (sig_hearth.c). --churn adds participants that come and go, some of
 * them cut once on purpose; the summary reports joins as DESIGN §8 counts
 * them (media connected within 5 s of the ticket request) and reconnects by
 * kind (drop, restart) and outcome, the figures hearthd's /metrics has too.
 *
 * Memory: everything is sized at start (participants, their streams, the
 * workers' receive batches and send buffer, histograms). The packet paths
 * (send, receive, protect, unprotect, statistics) never allocate;
 * signaling (JSON, SDP) allocates, a few times per participant.
 *
 * Threads share only the read-only config, the start time and the phase
 * flag main.c moves (run, drain, stop); progress counters are atomics.
 */
#ifndef HX_LOAD_LOAD_H
#define HX_LOAD_LOAD_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HX_LOAD_MAX_PARTICIPANTS 4096
#define HX_LOAD_MAX_THREADS 16
#define HX_LOAD_MAX_RX_STREAMS 64 /* streams one participant receives */
#define HX_LOAD_PKT_MAX 1500
#define HX_LOAD_RTP_PAYLOAD 1100 /* largest video payload per packet */
#define HX_LOAD_TRAILER_LEN 16   /* magic(2) kind(1) flags(1) counter(4) send_us(8) */
#define HX_LOAD_LAT_BUCKET_US 100
#define HX_LOAD_LAT_BUCKETS 10000 /* 0.1 ms buckets up to 1 s; the last one takes the rest */
#define HX_LOAD_JOIN_TIMEOUT_MS 15000
#define HX_LOAD_JOIN_TARGET_MS 5000 /* DESIGN §8: media connected within 5 s */
#define HX_LOAD_MAX_LAYERS 3        /* simulcast: rids q, h, f */
#define HX_LOAD_FB_EVERY_US 250000  /* a constrained receiver's RR + REMB (media_fb.c) */

/* Receiver groups for the summary: constrained receivers (--constrained) report a REMB of
 * --remb-kbps; the open ones send no RTCP and take whatever the server forwards. */
enum { HX_LOAD_OPEN = 0, HX_LOAD_CONSTRAINED = 1, HX_LOAD_GROUPS = 2 };

typedef enum hx_load_target { HX_LOAD_HEARTH = 0, HX_LOAD_JANUS = 1 } hx_load_target;

typedef enum hx_load_phase {
    HX_LOAD_RUN = 0, /* join and send */
    HX_LOAD_DRAIN,   /* publishers stop; packets in flight still count */
    HX_LOAD_STOP,    /* close everything and leave the loop */
} hx_load_phase;

typedef struct hx_load_cfg {
    hx_load_target target;
    char url[256];     /* hearth: http://host:port; janus: ws://host:port */
    char room[129];    /* hearth room name; Janus: a numeric room id */
    char local_ip[64]; /* the clients' UDP address (and the one put in their candidates) */
    int publishers;    /* participants that send (and receive the others) */
    int subscribers;   /* participants that only receive */
    int threads;       /* workers, one libuv loop each */
    int duration_s;    /* the whole run, joins included */
    double join_rate;  /* joins per second */
    bool audio, video; /* what publishers send */
    int video_kbps;    /* video bitrate per publisher */
    int fps;           /* video frames per second */
    int keyint_s;      /* seconds between keyframes */
    int audio_bytes;   /* audio payload bytes per 20 ms packet */
    int talkers;       /* publishers talking at a time (0: all); the rest send DTX (media_tx.c) */
    int simulcast;     /* video layers per publisher, 1..HX_LOAD_MAX_LAYERS (1: no simulcast) */
    int layer;         /* the layer receivers ask for with track.layer (-1: the server's choice) */
    int constrained;   /* the first N subscribers are constrained receivers (media_fb.c) */
    int remb_kbps;     /* the REMB they send; Janus: they ask for substream 0 instead */
    int progress_s;    /* 0: no progress lines */
    bool json;         /* print the summary as JSON on stdout */
    double max_loss;   /* exit 1 above this loss percentage (< 0: never) */
    /* Churn (hearth target): `churn` more participants join after the steady ones, at
     * join_rate, each stays a random lifetime in [life_min_s, life_max_s] after its media
     * connected, then sends `leave`; drop_pct % of them have their signaling connection cut
     * once (no close frame) and resume; churn_pub_pct % of them publish too. */
    int churn;
    int drop_pct;
    double life_min_s, life_max_s;
    int churn_pub_pct;
    double min_join_success;      /* exit 1 below this join success percentage (< 0: never) */
    double min_reconnect_success; /* exit 1 below this reconnect success percentage (< 0: never) */
} hx_load_cfg;

/* Reconnect kinds: a cut connection, or a server restart (drained, or down when we came back). */
enum { HX_LOAD_RC_DROP = 0, HX_LOAD_RC_RESTART = 1, HX_LOAD_RC_KINDS = 2 };

typedef struct hx_load_hist {
    uint64_t n;
    uint32_t b[HX_LOAD_LAT_BUCKETS];
} hx_load_hist;

/** Figures one worker collects; the atomics are read by main.c's progress line. */
typedef struct hx_load_stats {
    _Atomic uint64_t tx_packets, rx_packets, rx_bytes, joined, failed, plis;
    uint64_t expected, received, dup_or_late, rx_bad, unprotect_fail;
    uint64_t jitter_sum_us, jitter_streams;
    hx_load_hist lat_audio, lat_video;
    /* video received per layer (trailer flags): bytes, and the summed first-to-last arrival
     * spans of the streams that carried it, so bytes * 8 / span is the bitrate per receiver */
    uint64_t layer_bytes[HX_LOAD_MAX_LAYERS], layer_span_us[HX_LOAD_MAX_LAYERS];
    uint64_t layer_streams[HX_LOAD_MAX_LAYERS];
    /* The same by receiver group (HX_LOAD_OPEN, HX_LOAD_CONSTRAINED), with the layer each
     * received video SSRC ended the run on, each group's loss, its receivers (participants
     * that expected media) and the RTCP reports the constrained ones sent. */
    uint64_t g_layer_bytes[HX_LOAD_GROUPS][HX_LOAD_MAX_LAYERS];
    uint64_t g_layer_span_us[HX_LOAD_GROUPS][HX_LOAD_MAX_LAYERS];
    uint64_t g_layer_streams[HX_LOAD_GROUPS][HX_LOAD_MAX_LAYERS];
    uint64_t g_layer_final[HX_LOAD_GROUPS][HX_LOAD_MAX_LAYERS]; /* received SSRCs ending on it */
    uint64_t g_expected[HX_LOAD_GROUPS], g_received[HX_LOAD_GROUPS];
    uint64_t g_receivers[HX_LOAD_GROUPS];
    uint64_t fb_sent; /* RR + REMB compounds sent by constrained receivers */
    int n_join;
    uint32_t join_ms[HX_LOAD_MAX_PARTICIPANTS]; /* per participant that got media */
    /* Joins as DESIGN §8 counts them (hearth target): started (a ticket requested), with a
     * valid ticket (the rest never got one: not a join in §8's sense), succeeded (a
     * PeerConnection connected, ICE + DTLS, within HX_LOAD_JOIN_TARGET_MS of the ticket
     * request), failed (the others that ended; late: connected, but after the target);
     * retried: joins begun again with a new ticket because the server went away first. */
    uint64_t joins_started, joins_no_ticket, joins_succeeded, joins_failed, joins_late;
    uint64_t joins_retried;
    int n_connect;
    uint32_t connect_ms[HX_LOAD_MAX_PARTICIPANTS]; /* ticket request to media connected */
    /* Reconnects (resume, docs/protocol.md §2.4), by kind: episodes that ended resumed (the
     * resume acknowledged), failed (refused with rejoin, or the window passed), or were still
     * going when the run ended; tries: connections opened for them; renewed: resumed sessions
     * whose new PeerConnections connected (renew_failed: that did not). */
    uint64_t rc_resumed[HX_LOAD_RC_KINDS], rc_failed[HX_LOAD_RC_KINDS];
    uint64_t rc_in_progress[HX_LOAD_RC_KINDS];
    uint64_t rc_tries, rc_renewed, rc_renew_failed;
    uint64_t neg_failures; /* offers or answers refused or unusable, negotiation_failed closes */
    uint64_t dropped;      /* connections cut on purpose (churn) */
    _Atomic uint64_t resumed, left; /* progress: resumes acknowledged, participants that left */
} hx_load_stats;

/** Shared between main.c and the workers. */
typedef struct hx_load_run {
    const hx_load_cfg *cfg;
    uint64_t t0_us;    /* monotonic start */
    _Atomic int phase; /* hx_load_phase */
    _Atomic int ready; /* workers whose loop is set up */
    /* The last time (hx_load_now_us) any participant saw the server stop: a `disconnect`
     * shutdown, close 1001, a `draining` refusal or a refused connection. A reconnect that
     * began before it crossed a restart. */
    _Atomic uint64_t shutdown_seen_us;
} hx_load_run;

typedef struct hx_load_worker hx_load_worker;

/** A simulcast layer's rid ("q", "h", "f"). */
const char *hx_load_layer_rid(int layer);
/** Layer `layer`'s share of the video bitrate when `n` layers are sent (weights 1, 2, 5). */
double hx_load_layer_share(int layer, int n);

/** Monotonic microseconds (uv_hrtime / 1000): send stamps and arrival times. */
uint64_t hx_load_now_us(void);

/** Create worker `index` of `run` (allocates its participants). 0 or negative. */
int hx_load_worker_new(hx_load_worker **out, hx_load_run *run, int index);
/** The thread body: run the loop until the phase says stop, then close everything. */
void *hx_load_worker_main(void *w);
/** This worker's figures (valid to read fully once its thread has ended). */
hx_load_stats *hx_load_worker_stats(hx_load_worker *w);
/** Free a stopped worker. */
void hx_load_worker_free(hx_load_worker *w);

/** Add a latency sample in microseconds. */
void hx_load_hist_add(hx_load_hist *h, int64_t us);
/** Merge b into a. */
void hx_load_hist_merge(hx_load_hist *a, const hx_load_hist *b);
/** The q-quantile (0..1) in milliseconds, or -1 when empty. */
double hx_load_hist_quantile_ms(const hx_load_hist *h, double q);

/** Merge the workers' figures, print the table (or JSON) to stdout. Returns the exit code. */
int hx_load_report(const hx_load_cfg *cfg, hx_load_stats *const *st, int n, double elapsed_s);

#endif
