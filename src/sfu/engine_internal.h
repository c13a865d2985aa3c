/*
 * The engine core's insides (core.h), shared by its files (sfu/core.c,
 * sfu/rx.c, sfu/transport.c, sfu/publish.c, sfu/subscribe.c, sfu/forward.c,
 * sfu/rtcp.c, sfu/twcc.c, sfu/datachan.c). No thread, loop or socket here:
 * the carrier (engine.c, tcp.c: carrier_internal.h) owns those and drives
 * the core through core.h; everything below is touched by one thread.
 *
 * Ownership: the engine owns its transports (a table by id) and rooms. A
 * publisher transport owns its tracks; a track links its consumers; a
 * subscriber transport owns its consumers. Closing a transport destroys what
 * it owns and unlinks the rest: a publisher's tracks take their consumers
 * out of their subscribers' lists (which then renegotiate), a subscriber's
 * consumers leave their tracks.
 *
 * The per-packet path (forward.c) allocates nothing: the SRTP contexts,
 * packet caches and the socket's send slots exist before the first packet.
 */
#ifndef HX_SFU_ENGINE_INTERNAL_H
#define HX_SFU_ENGINE_INTERNAL_H

#include "adapt/bwe.h"
#include "adapt/speaker.h"
#include "common/heap.h"
#include "common/ratelimit.h"
#include "common/strmap.h"
#include "dtls/dtls.h"
#include "ice/candidate.h"
#include "ice/demux.h"
#include "ice/ice.h"
#include "rtp/cache.h"
#include "rtp/dd.h"
#include "rtp/keyframe.h"
#include "rtp/seq.h"
#include "rtp/stats.h"
#include "sctp/sctp.h"
#include "sdp/negotiate.h"
#include "sfu/core.h"
#include "srtp/srtp.h"

#include <stdbool.h>

#define HX__MAX_TRACKS 16    /* per publisher transport */
#define HX__MAX_LAYERS 3     /* simulcast */
#define HX__MAX_TL 3         /* VP8 temporal layers told apart (temporal.c) */
#define HX__TL_ALL 7         /* a consumer's temporal cap: every temporal layer */
#define HX__MAX_CONSUMERS 64 /* per subscriber transport */
#define HX__ID_LEN 40
#define HX__TICK_MS 10
#define HX__CACHE_VIDEO 512 /* packets kept per video layer for NACK */
#define HX__PLI_MIN_MS 500  /* at most one keyframe request per track per this */
#define HX__NACK_MAP 512 /* at least 256: an output seq's slot and out_hi (uint8) name it */
#define HX__SCTP_UP_MS 30000 /* an association not up this long after it started is dropped */
#define HX__RELAY_MAX (HX_SCTP_DEFAULT_MAX_MESSAGE + HX__ID_LEN + 2)
#define HX__MAX_RELAYS 15 /* workers a room's home relays it to (relay.c) */

typedef struct hx__engine hx__engine;
typedef struct hx__transport hx__transport;
typedef struct hx__track hx__track;
typedef struct hx__consumer hx__consumer;

/* One simulcast layer (or the only stream) of a published track. */
typedef struct hx__layer {
    char rid[HX_SDP_TOKEN_LEN]; /* "" without simulcast */
    uint32_t ssrc, rtx_ssrc;    /* 0 until known */
    hx_rtp_cache cache;         /* video only */
    hx_rx_stats stats;
    hx_nack_gen nack;
    bool stats_started;
    int64_t last_packet_ms;
    uint64_t packets, bytes;
    uint64_t rtx_duplicates; /* retransmissions of packets already here: not forwarded */
    uint32_t rate_bps;       /* measured each second (rtcp.c), for the downlink allocator */
    uint16_t width, height;  /* from its keyframes (receiving.c); 0: not known */
    uint64_t rate_bytes;
    int64_t rate_ms;
    /* VP8 temporal layers in this layer (temporal.c): the highest TID seen (0: none), bytes
     * per TID, and rates cumulative (T0, T0+T1, all) for the downlink allocator. */
    uint8_t tl_max;
    uint64_t tl_bytes[HX__MAX_TL], tl_rate_bytes[HX__MAX_TL];
    uint32_t tl_rate_bps[HX__MAX_TL];
    /* The publisher's last SR for this SSRC, for the subscribers' SRs. */
    uint64_t sr_ntp;
    uint32_t sr_rtp;
    int64_t sr_at_ms;
} hx__layer;

struct hx__track {
    char id[HX__ID_LEN];
    hx__transport *pub;
    hx_sdp_kind kind;
    char mid[HX_SDP_TOKEN_LEN];
    hx_sdp_nego_codec codec; /* the forwarded codec (the publisher's first) */
    bool has_alt;            /* codec is RED: alt is the Opus inside it (RFC 2198) */
    hx_sdp_nego_codec alt;
    hx_video_codec vcodec;
    uint8_t ext_id[HX_SDP_EXT_COUNT]; /* the publisher's ids on this m-line */
    uint8_t n_layers;
    hx__layer layers[HX__MAX_LAYERS];
    bool muted;           /* by a moderator: nothing forwarded */
    bool speaker_source;  /* in its room's speaker detector (speakers.c) */
    uint8_t active_mask;  /* layers the publisher was told to send (dynacast.c), bit per layer */
    int64_t shrink_at_ms; /* fewer layers wanted since: told then (0: nothing pending) */
    bool announced;       /* TRACK_PUBLISHED sent (once the transport could carry it) */
    /* SVC (svc.c): spatial layers inside its one stream (VP9, or AV1 with the DD). */
    hx_dd_structure *dd;                     /* AV1: the last dependency structure; else NULL */
    uint8_t svc_layers;                      /* spatial layers sent; 0 or 1: not SVC */
    uint64_t svc_bytes[HX__MAX_LAYERS];      /* received per spatial layer (SID) */
    uint64_t svc_rate_bytes[HX__MAX_LAYERS]; /* svc_bytes at the last rate measurement */
    uint32_t svc_rate_bps[HX__MAX_LAYERS];   /* layers 0..s together, for the allocator */
    uint16_t svc_width[HX__MAX_LAYERS], svc_height[HX__MAX_LAYERS]; /* from the SS; 0: unknown */
    int64_t last_pli_ms;
    int pli_pending; /* a request held back by the rate limit: layer + 1 (0: none, -1: all) */
    uint64_t plis_sent;
    uint8_t relay_want[HX__MAX_RELAYS]; /* on the home: the layers each relay target wants */
    hx__consumer *consumers;            /* linked by track_next */
};

struct hx__consumer {
    /* The forward path's fields first, the list link among them: fan-out walks the track's
     * consumers and touches these for every packet (forward.c prefetches them). */
    hx__track *track;
    hx__transport *sub;
    hx__consumer *track_next; /* in track->consumers */
    uint32_t ssrc, rtx_ssrc;
    uint16_t rtx_seq;
    uint8_t pt, rtx_pt; /* the subscriber's payload types (payload_types.c) */
    uint8_t alt_pt;     /* with RED: the subscriber's Opus PT (== pt without offer_red) */
    bool offer_red;     /* RED offered (its PTs are the publisher's) */
    bool red_ok;        /* RED accepted: forwarded as is; else only its primary block */
    bool alt_ok;        /* with RED: plain Opus accepted */
    bool negotiated;    /* the client answered an offer with this m-line */
    bool paused;
    int layer, target_layer; /* index into track->layers; -1: none yet */
    int bwe_layer;           /* the downlink allocator's cap (downlink.c): -2 none, -1 paused */
    bool tcc;                /* the subscriber negotiated transport-wide seqs on this m-line */
    int8_t svc_target;       /* SVC (svc.c): the spatial layer asked for (q/h/f: 0/1/2) */
    int8_t svc_cur;          /* SVC: spatial layers 0..svc_cur forwarded now; -1: none yet */
    uint8_t tl_target;       /* VP8 temporal layers 0..tl_target the downlink allows (temporal.c) */
    uint8_t tl_cur;          /* ...and 0..tl_cur forwarded now; HX__TL_ALL: every one */
    uint16_t want_w, want_h; /* a size asked for (receiving.c): the target follows it; 0: none */
    bool pinned;             /* PIN: served first by its downlink's allocator (downlink.c) */
    /* What the control plane was last told this consumer receives (receiving.c). */
    bool told;
    bool told_limited;
    int8_t told_layer;
    uint16_t told_w, told_h;
    bool need_keyframe;
    hx_seq_rewriter rw;
    hx_vp8_rewriter vp8;
    uint8_t ext_map[256]; /* publisher id -> subscriber id (0: strip) */
    uint64_t packets, bytes, nacks, rtx_sent;
    uint32_t last_ts_out, last_ts_src;
    int64_t last_out_ms;
    /* Output seq -> source packet, for NACKs (video): the last HX__NACK_MAP packets. */
    struct hx__sent {
        uint16_t src_seq;
        uint16_t pid; /* VP8 picture id as sent, when rewritten (bit 15: set) */
        uint32_t ts_out;
        uint16_t resent; /* ms (mod 2^16) of this subscriber's last resend of it; 0: never */
        uint8_t out_hi;  /* the output seq / HX__NACK_MAP (its slot is the rest) */
        uint8_t layer;   /* the layer + 1; 0: an empty slot */
    } * sent;            /* 12 bytes an entry: 6 KiB a video consumer, from its first packet */
    char mid[HX_SDP_TOKEN_LEN]; /* its m-line in the subscriber PC */
    /* The round trip (rtcp.c): the last two sender reports sent on it (their NTP middle 32 bits,
     * when), which the subscriber's reports name as LSR; the jitter those reports give. */
    uint32_t sr_mid[2];
    int64_t sr_sent_ms[2];
    uint8_t sr_next;
    bool rr_seen;
    uint32_t rr_jitter; /* RTP clock units */
};

typedef enum { HX__PUBLISHER = 0, HX__SUBSCRIBER = 1 } hx__role;

#define HX__DL_RING 1024 /* packets remembered for transport-cc feedback (~1 s of 8 Mbps) */
/* A subscriber's downlink (downlink.c): what it was sent, its estimate, the allocation. */
typedef struct hx__downlink {
    hx_bwe bwe;
    uint16_t next_seq; /* the next transport-wide sequence number */
    struct hx__dl_sent {
        uint32_t send_ms; /* low 32 bits of the core's ms */
        uint16_t seq, size;
        uint8_t probe, valid;
    } ring[HX__DL_RING];
    int64_t last_alloc_ms;
    uint32_t alloc_estimate; /* the estimate the last allocation used */
    uint32_t wanted_bps;
    hx_bwe_probe probe;
    bool probing;
    int64_t probe_start_ms, next_pad_ms;
    uint64_t probe_bytes_at; /* bytes_out when the probe started */
    uint64_t pad_bytes;      /* padding sent during this probe */
    uint64_t feedbacks, padding_packets, layer_changes;
    uint64_t stamped, recorded, reported_lost, reported_got; /* transport-wide seqs: debug */
    double rtx_tokens; /* bytes of retransmission allowed now (hx__dl_rtx_allowed) */
    int64_t rtx_ms;
    uint64_t rtx_refused;
} hx__downlink;

#define HX__TWCC_RING 1024
/* Transport-wide CC feedback state of a publisher transport (twcc.c). */
typedef struct hx__twcc {
    bool started;
    hx_seq_unwrap seq;
    uint64_t base, highest; /* next to report, newest seen (extended) */
    uint8_t fb_count;
    uint32_t media_ssrc;
    int64_t last_ms;
    int64_t arrival_us[HX__TWCC_RING]; /* -1: not (yet) received */
} hx__twcc;

struct hx__transport {
    hx__engine *e;
    /* What forwarding to this subscriber touches for every packet, together at the start
     * (forward.c prefetches these lines for the next consumer while it serves one). */
    hx_srtp_ctx *srtp_out;
    uint64_t packets_out, bytes_out;
    int64_t last_report_ms, last_stats_ms;
    hx_heap_node timer;  /* in e->timers: when this transport has work due (deadline.c) */
    hx_engine_path path; /* where packets go now (rx.c: hx__path_update), HX_PATH_NONE: nowhere */

    uint64_t id;
    hx__role role;
    char room[HX_SDP_TOKEN_LEN * 2 + 4];
    char participant[HX__ID_LEN];
    uint32_t flags;
    char state[16]; /* last reported: "new", "connected", ... */
    bool closing;
    int64_t connect_deadline_ms; /* 0: none; set with the first remote description */

    hx_ice_agent ice;
    bool ice_registered;
    uint32_t ice_restarts; /* ICE restarts done (hx__transport_ice_restart) */
    void *tcp_conn; /* the ICE-TCP connection last bound by a check (the carrier's), or NULL */
    struct sockaddr_storage tcp_peer; /* its peer */
    bool tcp_bound; /* some connection was bound to us: tell the carrier when we go */
    hx_dtls *dtls;
    bool dtls_server;
    bool have_remote; /* remote description applied */
    hx_srtp_ctx *srtp_in;
    int64_t dtls_timer_at_ms; /* 0: none */

    /* Data channel (SCTP over DTLS). */
    hx_sctp_assoc *sctp;
    uint16_t sctp_remote_port;
    uint32_t remote_max_message;
    int data_sid;            /* the "hearth" channel's stream id, -1 until open */
    bool sctp_wanted;        /* the SDP carries an application m-line */
    int64_t data_started_ms; /* when the association started; -1: it never came up, given up */
    hx_bucket data_bucket;

    /* Publisher: the tracks of the last answered offer; congestion-control feedback. */
    uint8_t twcc_id; /* the transport-wide seq extension's id, 0: not negotiated */
    hx__twcc *twcc;  /* publishers only, from the first packet with a sequence number */
    uint8_t n_tracks;
    hx__track *tracks[HX__MAX_TRACKS];

    /* Subscriber: the downlink estimate (downlink.c), from the first stamped packet or REMB. */
    hx__downlink *dl;

    /* Subscriber: consumers, the offer history, what awaits the client. */
    uint8_t n_consumers;
    hx__consumer *consumers[HX__MAX_CONSUMERS];
    hx_sdp_offerer *offerer;
    hx_sdp_offerer *agreed; /* the offerer before the outstanding offer (rollback), or NULL */
    long revision;          /* of the last offer sent */
    bool offer_outstanding; /* sent, not answered */
    int64_t offer_sent_ms;
    uint8_t nego_failures; /* in a row: the second one is final (no more offers) */
    bool no_recycle;       /* a negotiation failed: new m-lines only from now on */
    bool renegotiate;      /* something changed since the last offer */
    char data_mid[8];      /* the application m-line's mid, "" when none */
    char *last_offer;      /* text of the outstanding offer (to check the answer against) */
    uint32_t next_mid;     /* subscriber m-line ids: "0", "1", ... */

    uint64_t packets_in, bytes_in, rtcp_in, rtcp_out;
    uint64_t dtls_records_in; /* application data records DTLS authenticated */
    uint8_t milestones;       /* EV_MILESTONEs reported (sfu.h): HX__MS_* bits (transport.c) */
    uint64_t srtp_errors;
    int64_t rtt_ms; /* subscribers: the last round trip measured (rtcp.c); -1: none yet */
    hx_bucket rx_bucket; /* inbound datagrams per second (media.max_packet_rate) */
    uint64_t rx_limited;
    int64_t last_nack_ms, last_debug_ms;
    uint64_t stats_seen; /* the packet counters' sum at the last EV_STATS */
    hx__transport *room_next, *room_prev;
    struct hx__room *room_of; /* its entry in e->rooms while it is listed there, else NULL */

    /* A stand-in for a publisher on another worker (relay.c): it only holds mirrors of that
     * publisher's tracks, fed with frames from relay_peer (the home); reports nothing. */
    bool relay;
    hx_engine_path relay_peer;
};

typedef struct hx__room hx__room;
struct hx__room {
    char name[HX_SDP_TOKEN_LEN * 2 + 4];
    hx__transport *head;
    size_t n;
    hx_speaker_detector *speakers; /* with the first audio level (speakers.c) */
    /* On the home of a room spread over workers: where its streams go too (relay.c). */
    uint8_t n_relays;
    hx_engine_path relay_to[HX__MAX_RELAYS];
    uint64_t relay_packets, relay_dropped;
    uint32_t relay_data_seq; /* the home: data messages relayed */
    uint8_t *rx_buf;         /* another worker: a relayed data message being gathered */
    size_t rx_len;
    uint32_t rx_seq;
    uint16_t rx_next; /* the fragment expected next (UINT16_MAX: none) */
};

struct hx__engine {
    hx_engine_config cfg;
    hx_engine_io io;
    bool stopping;

    hx_ice_demux demux;
    hx_dtls_cert cert;
    hx_dtls_ctx *dtls;
    hx_sctp_stack *sctp;
    int64_t sctp_due;       /* when the SCTP stack's timers run next (INT64_MAX: never) */
    hx_heap timers;         /* every transport with work due, earliest first (deadline.c) */
    int64_t wall_offset_ms; /* unix ms - monotonic ms, for NTP times */
    char candidates[HX_ENGINE_MAX_ANNOUNCE * 2][HX_ICE_MAX_CANDIDATE_LINE]; /* UDP and TCP */
    size_t n_candidates;

    hx_strmap transports; /* id (hex) -> hx__transport */
    hx_strmap tracks;     /* id -> hx__track */
    hx_strmap rooms;      /* name -> hx__room */
    uint64_t next_id;

    /* Scratch for negotiation (one thread: no per-negotiation allocation). */
    hx_sdp *sdp_a, *sdp_b;
    hx_sdp_negotiated *nego;
    char *sdp_text;             /* HX_SDP_MAX_LEN + 1 */
    hx_sdp_track *offer_tracks; /* HX__MAX_CONSUMERS, for building subscriber offers */
    uint8_t *relay;             /* HX__RELAY_MAX: a data channel message with its sender prefix */
    const char *candidate_ptrs[HX_ENGINE_MAX_ANNOUNCE * 2]; /* into candidates, for hx_sdp_local */
    uint8_t *msg;                                           /* an outgoing event, HX_SFU_MSG_MAX */

    size_t n_relay_in;  /* stand-ins (relay.c): hx__emit looks for them only when there are */
    uint64_t relay_bad; /* relay frames that did not parse */
    int64_t now_ms;     /* the time of the current call into the core */
    bool debug;     /* HX_ENGINE_DEBUG: per-transport counters to stderr every 2 s */
};

/* core.c */
/** Emit an event: kind + transport, then fields added by the callback. */
void hx__emit(hx__engine *e, hx_sfu_builder *b);
void hx__begin(hx__engine *e, hx_sfu_builder *b, hx_sfu_kind kind, uint64_t transport);
void hx__emit_error(hx__engine *e, uint64_t transport, const hx_sfu_msg *cmd, const char *code,
                    const char *reason);
void hx__emit_done(hx__engine *e, uint64_t transport, const hx_sfu_msg *cmd);
void hx__emit_state(hx__transport *t, const char *state, const char *reason);
void hx__random_id(hx__engine *e, char *out, size_t cap, const char *prefix);
uint32_t hx__random_ssrc(hx__engine *e);
hx__transport *hx__transport_get(hx__engine *e, uint64_t id);
/** The transports table's key for an id (hex). */
const char *hx__transport_key(uint64_t id, char key[24]);

/* deadline.c */
/** t has work due at `at` or later: make sure its timer fires by then (O(1) unless earlier). */
static inline void hx__arm(hx__transport *t, int64_t at);
/** Set t's timer to exactly when its earliest work is due (none: out of the heap). */
void hx__rearm(hx__transport *t);
/** When t's earliest work is due (INT64_MAX: none): the timer's precise answer. */
int64_t hx__transport_due(hx__transport *t);
void hx__arm_slow(hx__transport *t, int64_t at);
static inline void hx__arm(hx__transport *t, int64_t at)
{
    if (at < t->timer.at || t->timer.pos == SIZE_MAX) hx__arm_slow(t, at);
}
/** A call that may have moved SCTP traffic: the stack's timers may be due sooner. */
void hx__sctp_touched(hx__engine *e);
/** The packet counters whose change makes an EV_STATS worth sending. */
static inline uint64_t hx__stats_sum(const hx__transport *t)
{
    return t->packets_in + t->packets_out + t->rtcp_in + t->rtcp_out + t->srtp_errors +
           t->rx_limited;
}
/** The milestones (sfu.h) t has reached and not reported yet, reported. */
void hx__milestones(hx__transport *t);
enum { HX__MS_ICE = 1, HX__MS_MEDIA = 2 };

/* rx.c */
bool hx__addr_equal(const struct sockaddr_storage *a, const struct sockaddr_storage *b);
/** Decide t->path again: the selected pair, else the last checked one; TCP when its connection. */
void hx__path_update(hx__transport *t);
/** Copy and send a packet on a path (control traffic: STUN, DTLS, SCTP, RTCP). 0 or -1. */
int hx__send_copy(hx__engine *e, const hx_engine_path *to, const uint8_t *buf, size_t len);

/* transport.c */
hx__transport *hx__transport_open(hx__engine *e, const hx_sfu_msg *cmd, const char **why);
void hx__transport_close(hx__transport *t, const char *reason);
/** Report "failed" (once) with the reason; a publisher withdraws its tracks. */
void hx__transport_fail(hx__transport *t, const char *reason);
int hx__transport_remote_candidate(hx__transport *t, const char *cand, size_t len);
int hx__transport_apply_remote(hx__transport *t, const hx_sdp_negotiated *n);
/** ICE restart: new local credentials (the answer or next offer carries them). 0 or -1. */
int hx__transport_ice_restart(hx__transport *t);
/** Create the DTLS association (as server) if it does not exist yet: before hearth's first offer.
 */
int hx__transport_ensure_dtls(hx__transport *t);
void hx__transport_tick(hx__transport *t);
/** What ICE raised (HX_ICE_EV_*, from a check or the timer): the state to report, if any. */
void hx__transport_ice_events(hx__transport *t, uint32_t ev);
void hx__transport_rx_dtls(hx__transport *t, const uint8_t *buf, size_t len);
/** Send on the transport's path (a copy). 0 or -1. */
int hx__transport_send(hx__transport *t, const uint8_t *buf, size_t len);
/** Local ICE/DTLS parameters for negotiation. */
void hx__transport_local(hx__transport *t, hx_sdp_local *local);

/* publish.c */
void hx__publisher_offer(hx__transport *t, const hx_sfu_msg *cmd);
/** Close a track: its consumers go, TRACK_CLOSED (with the reason) if it was announced. */
void hx__track_withdraw(hx__track *tr, const char *reason);
/** The transport's DTLS is up: announce the tracks waiting for it. */
void hx__publisher_connected(hx__transport *t);
/** The transport failed: withdraw every track with the reason. */
void hx__publisher_failed(hx__transport *t, const char *reason);

/* subscribe.c */
void hx__subscribe(hx__transport *sub, hx__track *tr, const hx_sfu_msg *cmd);
void hx__unsubscribe(hx__transport *sub, hx__track *tr, const hx_sfu_msg *cmd);
void hx__consumer_remove(hx__consumer *c); /* unlink from track and transport, renegotiate */
void hx__subscriber_answer(hx__transport *t, const hx_sfu_msg *cmd);
/** The client could not apply the outstanding offer (REMOTE_SDP "refusal"). */
void hx__subscriber_refused(hx__transport *t, const hx_sfu_msg *cmd);
/** Offer deadline (media.offer_timeout_ms), from the transport's tick. */
void hx__subscriber_tick(hx__transport *t);
void hx__subscriber_maybe_offer(hx__transport *t);
hx__consumer *hx__consumer_find(hx__transport *sub, const char *track);

/* payload_types.c */
/** Choose c's payload types, unique in meaning across its subscriber transport. 0, or -1. */
int hx__consumer_pick_pts(hx__consumer *c);

/* forward.c */
void hx__rx_rtp(hx__transport *t, uint8_t *pkt, size_t len);
/** A packet of tr's layer (classified, RTX unwrapped when rtx; h parsed): counted, cached and
 *  forwarded to the relays and consumers. */
void hx__rx_media(hx__transport *t, hx__track *tr, int layer, bool rtx, uint8_t *pkt, size_t len,
                  hx_rtp_hdr *h);
void hx__request_keyframe(hx__track *tr, int layer);
void hx__resend(hx__consumer *c, const uint16_t *seqs, size_t n);
/** The layer c should forward now: its target, or the best one still sending. */
int hx__wanted_layer(const hx__consumer *c, int64_t now);

/* rtcp.c */
void hx__rx_rtcp(hx__transport *t, uint8_t *pkt, size_t len);
/** Each layer's rate over the last report interval (the downlink allocator's input). */
void hx__layer_rates(hx__transport *t);
void hx__rtcp_tick(hx__transport *t);
void hx__send_rtcp(hx__transport *t, uint8_t *pkt, size_t len);

/** Rates of n sublayers over elapsed_ms, each with those below it (sublayer i: 0..i), smoothed
 *  as a layer's: bytes counted so far, at: the counts at the last call (updated), bps: out. */
void hx__rates_cumulative(const uint64_t *bytes, uint64_t *at, uint32_t *bps, int n,
                          int64_t elapsed_ms);

/* twcc.c */
void hx__twcc_init(hx__twcc *w);
void hx__twcc_on_packet(hx__transport *t, const uint8_t *pkt, const hx_rtp_hdr *h);
void hx__twcc_tick(hx__transport *t);

/* downlink.c */
#define HX__SUB_EXT_TCC 3 /* the transport-wide seq's id in subscriber offers (video m-lines) */
/** Stamp an outgoing packet (out[cap]) for c with the next transport-wide seq (c->tcc). 0, or
 *  -1 (sent without). *seq gets the number for hx__dl_sent. */
int hx__dl_stamp(hx__consumer *c, uint8_t *out, size_t *olen, size_t cap, hx_rtp_hdr *oh,
                 uint16_t *seq);
/** The stamped packet went out with `size` bytes. */
void hx__dl_sent(hx__transport *t, uint16_t seq, size_t size);
void hx__dl_feedback(hx__transport *t, const hx_rtcp_pkt *p);
void hx__dl_remb(hx__transport *t, const hx_rtcp_pkt *p);
void hx__dl_report(hx__transport *t, const hx_rtcp_rb *rb, size_t n);
/** May `bytes` of retransmission go to t now? Within half the estimate (adaptive only). */
bool hx__dl_rtx_allowed(hx__transport *t, size_t bytes);
/** Allocation, probing and padding when due (from the transport's tick). */
void hx__dl_tick(hx__transport *t);
/** When hx__dl_tick has work (INT64_MAX: none). */
int64_t hx__dl_due(const hx__transport *t);
/** Allocate again now (a consumer's order changed: PIN), if t has a downlink yet. */
void hx__dl_replan(hx__transport *t);

/* dynacast.c */
#define HX__LAYERS_SHRINK_MS 3000
/** Which of tr's layers its consumers want changed? Tell the publisher (more at once, fewer
 *  once it held HX__LAYERS_SHRINK_MS). */
void hx__layers_check(hx__track *tr);
int64_t hx__layers_due(const hx__transport *t);
void hx__layers_tick(hx__transport *t);

/* svc.c */
/** One frame's layer facts for SVC selection: from VP9's payload descriptor or, for AV1, the
 *  dependency descriptor extension. */
typedef struct {
    uint8_t sid, tid;   /* spatial and temporal layer */
    uint8_t begin, end; /* first / last packet of this layer frame */
    uint8_t keyframe;   /* the start of a keyframe (spatial layer 0, no references) */
    uint8_t layers;     /* spatial layers a structure in this packet announces; 0: none */
    uint8_t sized;      /* that structure gave each layer's size */
    uint16_t width[HX__MAX_LAYERS], height[HX__MAX_LAYERS];
} hx__svc_frame;
/** One encoding of VP9, or of AV1 with the dependency descriptor negotiated: SVC once its
 *  packets show spatial layers (tr->svc_layers > 1). */
static inline bool hx__svc_capable(const hx__track *tr)
{
    return tr->n_layers == 1 && (tr->vcodec == HX_CODEC_VP9 ||
                                 (tr->vcodec == HX_CODEC_AV1 && tr->ext_id[HX_SDP_EXT_DD]));
}
/** Read a packet of tr into *f (its layer facts) without counting it; an AV1 structure in it
 *  is kept for the next packets when `keep` (not for a retransmission's old one). 0, or -1 when
 *  tr is not SVC-capable or the packet says nothing. */
int hx__svc_read(hx__track *tr, const uint8_t *pkt, const hx_rtp_hdr *h, hx__svc_frame *f,
                 bool keep);
/** A packet of tr arrived: read it into *f and count it. 1 when tr is SVC (more than one
 *  spatial layer), 0 when not, -1 when *f was not read. */
int hx__svc_on_packet(hx__track *tr, const uint8_t *pkt, const hx_rtp_hdr *h, size_t pkt_len,
                      hx__svc_frame *f);
/** Each spatial layer's rate (cumulative) over the last elapsed_ms (from the report tick). */
void hx__svc_rates(hx__track *tr, int64_t elapsed_ms);
/** The spatial layer c should receive now: asked for, within its downlink's cap. */
int hx__svc_target(const hx__consumer *c);
/** Forward this packet of an SVC track to c? *marker: it ends the picture for c. */
bool hx__svc_filter(hx__consumer *c, const hx__svc_frame *f, bool *marker);

/* temporal.c */
/** A VP8 packet of layer ly arrived (d: its descriptor): count its temporal layer. */
void hx__temporal_count(hx__layer *ly, const hx_vp8_desc *d, size_t pkt_len);
/** The temporal layers' rates over the last elapsed_ms (from the report tick). */
void hx__temporal_rates(hx__layer *ly, int64_t elapsed_ms);
/** Forward this VP8 packet (d: its descriptor, NULL when unreadable) to c under its temporal
 *  cap? A picture dropped is taken out of the picture ids c sees. */
bool hx__temporal_pass(hx__consumer *c, int layer, const hx_vp8_desc *d, bool keyframe);
/** How many steps the allocator sees in tr's lowest layer: one per temporal cap (T0, T0-1,
 *  all), 1 when tr has no temporal layers to drop. */
int hx__temporal_steps(const hx__track *tr);
/** The rate of step s (< hx__temporal_steps) of tr's lowest layer, whose whole rate is all. */
uint32_t hx__temporal_step_bps(const hx__track *tr, int s, uint32_t all);

/* receiving.c */
/** A keyframe of tr's layer arrived (f: its SVC facts when read, else NULL): learn the
 *  layers' frame sizes; consumers that asked for a size follow a change. */
void hx__sizes_learn(hx__track *tr, int layer, const uint8_t *payload, size_t len,
                     const hx__svc_frame *f);
/** The layer (or spatial layer) index c should target for the size it asked for; -1 when the
 *  sizes are not known yet. */
int hx__size_target(const hx__consumer *c);
/** Target layer (simulcast) or spatial layer (SVC) `l` for c: what a rid, a size or a learned
 *  size chose. Keyframes and the publisher's layers (dynacast.c) follow. */
void hx__consumer_retarget(hx__consumer *c, int l);
/** SET_LAYER: a layer by name (a rid; q/h/f for VP9's spatial layers) or a size "WxH". */
void hx__consumer_ask(hx__consumer *c, const hx_sfu_str *layer, const hx_sfu_str *size);
/** EV_RECEIVING when what c receives (layer, size, limited by the downlink) changed. */
void hx__receiving_check(hx__consumer *c);

/* speakers.c */
/** An audio packet of tr (published on t) with the audio level extension. */
void hx__speakers_level(hx__transport *t, hx__track *tr, const uint8_t *pkt, const hx_rtp_hdr *h);
/** The room's decision, if due; EV_SPEAKERS when it changed. */
void hx__speakers_tick(hx__transport *t);
/** When t (a publisher with audio in the detector) must tick for its room (INT64_MAX: never). */
int64_t hx__speakers_due(const hx__transport *t);
/** Where pub's audio stands among its room's speakers as last told (0: the loudest), or -1 when
 *  it does not speak: the downlink allocator serves speakers' video first (downlink.c). */
int hx__speaker_rank(const hx__transport *pub);
/** The track leaves its room's detector. */
void hx__speakers_forget(hx__track *tr);

/* datachan.c */
int hx__data_start(hx__transport *t);
/** A data message of `from` (its first plen bytes; buf is "participant\n" + the message) to
 *  the room's subscriber channels here, the sender's own excepted. */
void hx__data_deliver(hx__room *r, const char *from, size_t plen, const uint8_t *buf, size_t len,
                      bool binary);

/* publish.c */
hx_video_codec hx__video_codec(const char *name);

/* relay.c (relay.h) */
void hx__relay_command(hx__engine *e, const hx_sfu_msg *m);
/** A datagram whose first byte is HX_RELAY_BYTE. */
void hx__relay_rx(hx__engine *e, const hx_engine_path *from, uint8_t *pkt, size_t len);
/** The home: a packet of tr to every worker t's room relays to. */
void hx__relay_media(hx__transport *t, hx__track *tr, int layer, const uint8_t *pkt, size_t len);
/** The home: tr's layer has a new sender report; the relays hear of it. */
void hx__relay_sr(hx__track *tr, int layer);
/** The home: a data message (buf as hx__data_deliver's) to every worker r relays to. */
void hx__relay_data(hx__room *r, const uint8_t *buf, size_t len, bool binary);
/** The home: the layers of tr the workers it relays to want (dynacast.c). */
uint8_t hx__relay_wanted(const hx__track *tr);
/** A mirror's keyframe request / wanted layers, sent to its home; false when tr is no mirror. */
bool hx__relay_keyframe(hx__track *tr, int layer);
bool hx__relay_layers(hx__track *tr);
/** A stand-in's timer (deadline.c, transport.c). */
int64_t hx__relay_due(const hx__transport *t);
void hx__relay_tick(hx__transport *t);
/** tr's description for TRACK_PUBLISHED (relay.h): its length, or -1. */
long hx__track_describe(const hx__track *tr, uint8_t *buf, size_t cap);
void hx__data_input(hx__transport *t, const uint8_t *buf, size_t len);
void hx__data_stop(hx__transport *t);
/** The association started and is not up yet. */
bool hx__data_waiting(const hx__transport *t);
/** Drop an association still not up HX__SCTP_UP_MS after it started (from the timer). */
void hx__data_tick(hx__transport *t);

#endif
