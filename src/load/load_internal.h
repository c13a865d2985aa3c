/*
 * hearth-load internals: the worker, its participants, their signaling
 * connections (tcp.c), PeerConnections (pc.c) and media state.
 *
 * Ownership: a worker owns its participants (one array, allocated at
 * start); a participant embeds its two connections (HTTP for the ticket,
 * WebSocket for signaling) and owns up to two PeerConnections. Every libuv
 * handle lives inside these structs and is closed before the worker frees
 * them (worker.c runs the loop until every close callback has run).
 */
#ifndef HX_LOAD_LOAD_INTERNAL_H
#define HX_LOAD_LOAD_INTERNAL_H

#include "dtls/dtls.h"
#include "load/load.h"
#include "srtp/srtp.h"
#include "stun/stun.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <uv.h>

#define HX_LCONN_MAX_IN (256 * 1024) /* buffered bytes: HTTP response or one WS message */
#define HX_LPC_CHECK_EVERY_US 50000  /* ICE check retransmit while connecting */
#define HX_LPC_CONSENT_EVERY_US 5000000
#define HX_LPC_RX_BATCH 32
#define HX_LPC_RCVBUF (1024 * 1024)

typedef struct hx_load_part hx_load_part;

/* ---- tcp.c: one HTTP exchange or one WebSocket, over uv_tcp ------------------------------ */

typedef enum { HX_LCONN_IDLE, HX_LCONN_HTTP, HX_LCONN_WS_HANDSHAKE, HX_LCONN_WS } hx_lconn_mode;

typedef struct hx_lconn {
    uv_tcp_t tcp;
    uv_connect_t creq;
    hx_lconn_mode mode;
    bool open, closing;
    void *user;
    /** HTTP: the whole response (status, body); WS: the handshake result (status 101 or not). */
    void (*on_http)(void *user, int status, const char *body, size_t len);
    /** WS: one complete text message (NUL-terminated copy in the conn's buffer). */
    void (*on_text)(void *user, char *text, size_t len);
    /** The connection ended or failed (err < 0) or closed cleanly (0). */
    void (*on_close)(void *user, int err);
    char *out_req; /* the request to write once connected */
    size_t out_len;
    uint8_t *in; /* received bytes not yet consumed */
    size_t in_len;
    char *msg; /* WS message being reassembled */
    size_t msg_len;
    uint32_t rnd;
    int close_code; /* WS: the code of the peer's close frame (1005: none given), 0 before one */
} hx_lconn;

/** Start an HTTP/1.1 request (Connection: close) to ip:port. 0 or negative. */
int hx_lconn_http(hx_lconn *c, uv_loop_t *loop, const char *ip, int port, const char *method,
                  const char *path, const char *headers, const char *body);
/** Open a WebSocket (GET path, optional subprotocol). on_http reports the handshake. */
int hx_lconn_ws(hx_lconn *c, uv_loop_t *loop, const char *ip, int port, const char *path,
                const char *protocol);
/** Send one text message on an open WebSocket. 0 or negative. */
int hx_lconn_ws_send(hx_lconn *c, const char *text, size_t len);
/** Close (safe when idle or closing); on_close is not called after this. */
void hx_lconn_close(hx_lconn *c);
/** An open WebSocket: send a close frame with `code`, then close as hx_lconn_close. */
void hx_lconn_ws_close(hx_lconn *c, int code);
/** Cut the connection as a network failure would: no close frame, a TCP reset; on_close is
 *  not called. */
void hx_lconn_reset(hx_lconn *c);

/* ---- pc.c: a client PeerConnection ------------------------------------------------------- */

typedef struct hx_lpc hx_lpc;
typedef struct hx_lpc_cbs {
    void (*on_up)(hx_lpc *pc); /* DTLS connected, SRTP ready */
    void (*on_fail)(hx_lpc *pc, const char *why);
    void (*on_rtp)(hx_lpc *pc, uint8_t *pkt, size_t len, uint64_t now_us);
    void (*on_rtcp)(hx_lpc *pc, uint8_t *pkt, size_t len, uint64_t now_us);
} hx_lpc_cbs;

struct hx_lpc {
    hx_load_worker *w;
    hx_load_part *part;
    hx_lpc_cbs cbs;
    int fd;
    uv_poll_t poll;
    bool poll_init, closing, failed;
    struct sockaddr_storage local, remote;
    socklen_t remote_len;
    bool have_remote;
    char lufrag[9], lpwd[25];
    char rufrag[HX_STUN_MAX_USERNAME / 2], rpwd[257];
    hx_stun_key lkey, rkey;
    bool have_rcreds;
    uint8_t tid[HX_STUN_TID_LEN];
    uint64_t tiebreaker, next_check_us, ice_deadline_us;
    bool ice_ok;
    bool controlled; /* we answered a full agent's offer: it nominates (RFC 8445 §6.1.1) */
    hx_dtls *dtls;
    bool dtls_started;
    hx_srtp_ctx *tx, *rx;
    bool up;
};

/** Open the socket on the local address (pc malloc'd; freed by hx_lpc_close, or here on failure).
 */
int hx_lpc_open(hx_lpc *pc, hx_load_worker *w, hx_load_part *part, const hx_lpc_cbs *cbs);
/** The remote ICE credentials, DTLS fingerprint and (first IPv4 UDP) candidate from SDP text. */
int hx_lpc_set_remote(hx_lpc *pc, const char *ufrag, const char *pwd, const char *fp_alg,
                      const char *fp);
/** A remote candidate line ("candidate:..." or "a=candidate:..."); the first usable one wins. */
int hx_lpc_add_candidate(hx_lpc *pc, const char *cand);
/** Timers: ICE checks and consent, DTLS retransmits. */
void hx_lpc_tick(hx_lpc *pc, uint64_t now_us);
/** Protect and send one RTP packet built in buf (cap bytes of room). 0 or negative. */
int hx_lpc_send_rtp(hx_lpc *pc, uint8_t *buf, size_t len, size_t cap);
/** Protect and send one RTCP compound. */
int hx_lpc_send_rtcp(hx_lpc *pc, uint8_t *buf, size_t len, size_t cap);
/** Close the socket and free DTLS/SRTP (the poll handle closes asynchronously). */
void hx_lpc_close(hx_lpc *pc);
/** Local port (for SDP candidates). */
int hx_lpc_port(const hx_lpc *pc);
/** Local DTLS fingerprint (sha-256, SDP form). */
const char *hx_lpc_fingerprint(const hx_lpc *pc);

/* ---- media_tx.c / media_rx.c ------------------------------------------------------------- */

#define HX_LOAD_MAGIC0 0x48 /* 'H' */
#define HX_LOAD_MAGIC1 0x4c /* 'L' */
#define HX_LOAD_KIND_AUDIO 1
#define HX_LOAD_KIND_VIDEO 2
#define HX_LOAD_PT_OPUS 111
#define HX_LOAD_PT_VP8 96

#define HX_LOAD_EXT_MID 4 /* one-byte header extension ids in the offer (Chromium's) */
#define HX_LOAD_EXT_RID 10
#define HX_LOAD_FLAG_KEY 0x01      /* trailer flags: a keyframe's packet */
#define HX_LOAD_FLAG_LAYER_SHIFT 4 /* bits 4-5: the simulcast layer */
#define HX_LOAD_MAX_VTRACKS 16     /* remote video tracks a receiver asks a layer of */

/** One video stream a publisher sends (one per simulcast layer). */
typedef struct hx_load_vlayer {
    uint32_t ssrc, count;
    uint16_t seq, picture_id;
    bool want_key;
} hx_load_vlayer;

typedef struct hx_load_tx {
    uint32_t ssrc_a;
    uint16_t seq_a;
    uint32_t ts_a, ts_v, count_a;
    uint32_t slot_a; /* 20 ms audio slots since the last one sent while silent (DTX) */
    hx_load_vlayer v[HX_LOAD_MAX_LAYERS];
    uint64_t next_audio_us, next_frame_us;
    uint32_t frame_no;
} hx_load_tx;

/** A received stream: one SSRC and, for simulcast video, one layer of it (the trailer's). */
typedef struct hx_load_rxs {
    uint32_t ssrc;
    uint8_t kind, layer;
    bool started;
    uint32_t first, highest; /* trailer counters */
    uint64_t received, bytes;
    uint64_t window; /* bit i: highest - i seen */
    uint64_t first_us, last_us;
    int64_t last_transit_us;
    double jitter_us;
    uint32_t ext_seq;                  /* highest RTP sequence number, extended (RR) */
    uint64_t rr_expected, rr_received; /* at the last receiver report (media_fb.c) */
} hx_load_rxs;

/** A remote video track a receiver asks a layer of (track.layer). */
typedef struct hx_load_vtrack {
    char id[48];
    uint8_t state; /* 0: to ask, 1: asked, 2: acknowledged */
} hx_load_vtrack;

/** Send whatever is due for a publisher. */
void hx_load_tx_tick(hx_load_part *p, uint64_t now_us);
/** A publisher's RTCP: PLI and FIR ask for a keyframe. */
void hx_load_tx_rtcp(hx_load_part *p, const uint8_t *pkt, size_t len);
/** One decrypted RTP packet for a subscriber. */
void hx_load_rx_rtp(hx_load_part *p, const uint8_t *pkt, size_t len, uint64_t now_us);
/** Fold a participant's streams into the worker's loss and jitter figures. */
void hx_load_rx_finish(hx_load_part *p, hx_load_stats *st);
/** A constrained receiver: its RR + REMB when due (every HX_LOAD_FB_EVERY_US; at once when
 *  `now` is set, for the first one as its subscriber PeerConnection comes up). */
void hx_load_rx_feedback(hx_load_part *p, uint64_t now_us, bool now);

/* ---- participants and signaling ---------------------------------------------------------- */

typedef enum {
    HX_LP_WAITING = 0, /* not started */
    HX_LP_SIGNALING,   /* ticket, WebSocket, join, negotiation */
    HX_LP_JOINED,      /* media flowing (or expected) */
    HX_LP_FAILED,
    HX_LP_CLOSED,
    HX_LP_LEFT, /* said `leave` and was let go (churn) */
} hx_load_part_state;

/* Where a hearth participant's signaling is (sig_hearth.c). */
typedef enum {
    HX_LS_NONE = 0,
    HX_LS_TICKET,  /* the ticket request is out */
    HX_LS_JOIN,    /* WebSocket opening, then `join` until its ack */
    HX_LS_RESUME,  /* WebSocket opening, then `resume` until its ack */
    HX_LS_OPEN,    /* joined or resumed */
    HX_LS_WAIT,    /* connection lost: trying again at retry_at_us (resume, or join anew) */
    HX_LS_LEAVING, /* `leave` sent */
    HX_LS_DONE,
} hx_load_sig_state;

typedef struct hx_load_janus hx_load_janus; /* sig_janus.c's per-participant state */

struct hx_load_part {
    hx_load_worker *w;
    int index; /* global participant number */
    bool publisher, expects_media;
    bool constrained;    /* reports --remb-kbps (media_fb.c); Janus: asks for substream 0 */
    uint64_t next_fb_us; /* its next RR + REMB */
    hx_load_part_state state;
    uint64_t start_us, first_media_us, deadline_us;
    hx_lconn http, ws;
    hx_lpc *pub, *sub;
    char ip[64]; /* server address and port (from cfg.url) */
    int port;
    int next_id;
    hx_load_tx tx;
    int n_rx;
    hx_load_rxs rx[HX_LOAD_MAX_RX_STREAMS];
    char *ticket; /* hearth: the join ticket, between the HTTP answer and `join` */
    int n_vtracks;
    hx_load_vtrack vtracks[HX_LOAD_MAX_VTRACKS];
    hx_load_janus *janus;
    /* hearth: the session across connections (sig_hearth.c) */
    hx_load_sig_state sig;
    bool got_ticket, join_done, join_retried, media_ok, renewing, leave_acked;
    uint64_t media_up_us; /* the first PeerConnection of this session connected */
    uint64_t renew_deadline_us;
    char *token; /* the latest resume token */
    int drop_grace_s, restart_grace_s;
    bool disc_seen, disc_resume; /* a `disconnect` on the current connection */
    char disc_reason[32];
    int disc_retry_ms;
    uint64_t retry_at_us;
    int backoff;    /* steps taken in the current retry sequence */
    bool ep_active; /* a reconnect episode is under way */
    int ep_kind;    /* HX_LOAD_RC_* */
    uint64_t ep_start_us, ep_deadline_us;
    /* churn */
    bool churn, drop_planned, dropped;
    uint64_t lifetime_us, leave_at_us, drop_at_us;
};

struct hx_load_worker {
    hx_load_run *run;
    int index;
    uv_loop_t loop;
    uv_timer_t tick;
    hx_dtls_cert cert;
    hx_dtls_ctx *dtls_ctx;
    hx_load_part *parts;
    int n_parts;
    uint32_t rnd;
    bool stopping;
    hx_load_stats st;
    uint8_t tx_buf[HX_LOAD_PKT_MAX + 64];
    uint8_t rx_bufs[HX_LPC_RX_BATCH][HX_LOAD_PKT_MAX + 64];
};

/** A pseudo-random 32-bit number from the worker's generator (not for secrets). */
uint32_t hx__load_rand(hx_load_worker *w);
/** Random ICE characters into out[0..n) and a NUL. */
void hx__load_rand_ice(hx_load_worker *w, char *out, size_t n);
/** Mark a participant failed (once) with a reason on stderr. */
void hx__load_fail(hx_load_part *p, const char *why);
/** A participant received its first media packet. */
void hx__load_first_media(hx_load_part *p, uint64_t now_us);

/** A PeerConnection of p connected (ICE + DTLS): media connected, for the join figures. */
void hx__load_media_up(hx_load_part *p, uint64_t now_us);

/** Start joining (hearth target). */
int hx__load_hearth_start(hx_load_part *p);
/** Periodic signaling work (hearth target): retries, reconnect windows, churn drops and leaves. */
void hx__load_hearth_tick(hx_load_part *p, uint64_t now_us);
/** The run ends: a reconnect still under way is counted as in progress; free the token. */
void hx__load_hearth_end(hx_load_part *p);
/** Start joining (Janus target). */
int hx__load_janus_start(hx_load_part *p);
/** Periodic signaling work (Janus keepalives, waiting for publishers). */
void hx__load_janus_tick(hx_load_part *p, uint64_t now_us);
/** Free the Janus state. */
void hx__load_janus_free(hx_load_part *p);

/** The publisher offer (audio and/or video, sendonly), into out. Length or negative. */
long hx__load_sdp_offer(const hx_load_part *p, const hx_lpc *pc, char *out, size_t cap);
/** Answer a server offer (recvonly everything we can take), into out; learns the remote
 *  ICE/DTLS parameters and candidates into pc. Length or negative. */
long hx__load_sdp_answer(hx_lpc *pc, const char *offer, char *out, size_t cap);
/** Open the publisher PC and write its offer (malloc'd); NULL after hx__load_fail. */
char *hx__load_publisher_offer(hx_load_part *p);
/** Open the subscriber PC if needed and answer offer (malloc'd); NULL after hx__load_fail. */
char *hx__load_subscriber_answer(hx_load_part *p, const char *offer);
/** Apply an answer to our offer: ICE/DTLS parameters and candidates. 0 or negative. */
int hx__load_sdp_apply_answer(hx_lpc *pc, const char *answer);

/** PeerConnection callbacks shared by both targets. */
extern const hx_lpc_cbs hx__load_pub_cbs, hx__load_sub_cbs;

#endif
