/*
 * An engine core (sfu/core.h) with no thread, loop or socket around it,
 * for unit tests, fuzzing and bench_forward: its io records what the core
 * sends and reports, the clock is the test's, and peers stand in for
 * browsers. A peer has an address that never meets a socket, speaks ICE
 * (signed checks with USE-CANDIDATE), DTLS (a real hx_dtls client over
 * memory) and SRTP with the keys that handshake made, so what the core
 * sends it can be decrypted and checked.
 *
 * The fixture answers hearth's subscriber offers itself, by rewriting the
 * offer (recvonly, the peer's ICE and DTLS parameters, setup:active): the
 * browser suite is where real answers are tested.
 *
 * No cmocka here (the fuzz target and the bench use it too): functions
 * return 0 or -1, with the reason in f->err.
 */
#ifndef HX_TESTS_SUPPORT_ENGINE_FIXTURE_H
#define HX_TESTS_SUPPORT_ENGINE_FIXTURE_H

#include "dtls/dtls.h"
#include "rtp/rtcp.h"
#include "rtp/rtp.h"
#include "sfu/core.h"
#include "sfu/sfu.h"
#include "srtp/srtp.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FX_MAX_EVENTS 4096
#define FX_MAX_OUT 1024
#define FX_MAX_PEERS 1024
#define FX_MAX_RX 1024

/** A packet the core sent. */
typedef struct fx_out {
    hx_engine_path to;
    size_t len;
    uint8_t data[HX_ENGINE_MTU];
} fx_out;

/** What a peer received, decrypted (RTP or RTCP). */
typedef struct fx_rx {
    bool rtcp;
    size_t len;
    int64_t at;
    uint8_t data[HX_ENGINE_MTU];
} fx_rx;

typedef struct fx fx;

typedef struct fx_peer {
    fx *f;
    uint64_t id; /* its transport */
    bool subscriber;
    struct sockaddr_storage addr;
    char ufrag[16], pwd[40];             /* the peer's ICE credentials */
    char local_ufrag[64], local_pwd[64]; /* hearth's, from its SDP */
    hx_dtls *dtls;
    hx_srtp_ctx *srtp_tx, *srtp_rx;
    bool connected;
    bool muted_consent; /* drop what hearth sends (a cut network) */
    long revision;      /* the subscriber offer answered last */
    size_t n_rx;
    fx_rx *rx; /* FX_MAX_RX (allocated with the first), oldest dropped when full */
    size_t rx_dropped;
    size_t stun_in; /* STUN responses hearth sent it */
    size_t dtls_in; /* DTLS records hearth sent it */
} fx_peer;

struct fx {
    hx_engine_core *core;
    hx_engine_config cfg;
    int64_t now;
    uint64_t timer_runs; /* hx_engine_core_timer calls fx_advance made */
    uint64_t rnd;
    uint8_t slot[HX_ENGINE_MTU];
    /* the peers' DTLS side */
    hx_dtls_cert cert;
    hx_dtls_ctx *dtls;
    /* events, in order */
    int n_ev;
    uint8_t *ev_buf[FX_MAX_EVENTS];
    hx_sfu_msg ev[FX_MAX_EVENTS];
    /* sent and not yet delivered to a peer */
    size_t n_out;
    fx_out *out;
    uint64_t sent, sent_bytes, released;
    uint64_t sent_on[3]; /* by hx_engine_proto */
    void *unbound;       /* the last transport io.unbind named */
    bool keep_out;       /* bench: count sends, keep none */
    fx_peer *peers[FX_MAX_PEERS];
    int n_peers;
    uint32_t open_flags; /* added to the flags fx_publisher / fx_subscriber open with */
    bool have_next_addr;
    struct sockaddr_storage next_addr;
    char err[256];
};

/** A core with cfg (NULL: hx_engine_config_default), clock at 1,000,000 ms. 0 or -1. */
int fx_init(fx *f, const hx_engine_config *cfg);
/** fx_init, the peers offering only these DTLS-SRTP profiles (OpenSSL names; NULL: default). */
int fx_init_with(fx *f, const hx_engine_config *cfg, const char *srtp_profiles);
/** The next peer gets this address instead of one in 192.0.2.0/24 (NULL: back to those). */
void fx_next_addr(fx *f, const struct sockaddr_storage *addr);
void fx_free(fx *f);

/** Finish b and give it to the core as a command. */
void fx_command(fx *f, hx_sfu_builder *b);
void fx_open(fx *f, uint64_t id, const char *room, const char *who, const char *role,
             uint32_t flags);
void fx_close(fx *f, uint64_t id, const char *reason);
void fx_remote_sdp(fx *f, uint64_t id, const char *type, const char *sdp, const char *req,
                   const char *revision);
/** A track command (SUBSCRIBE, PAUSE, ...), with a field for SET_LAYER (NULL: none). */
void fx_track_cmd(fx *f, hx_sfu_kind kind, uint64_t id, const char *track, const char *layer);
/** A track command that turns something on or off (MUTE, PIN): HX_SFU_F_ON when `on`; with a
 *  request id (NULL: none), so the core answers it with DONE or ERROR. */
void fx_track_flag_cmd(fx *f, hx_sfu_kind kind, uint64_t id, const char *track, bool on,
                       const char *request);
/** SET_LAYER by size ("WxH") for a subscriber transport. */
void fx_size_cmd(fx *f, uint64_t id, const char *track, const char *size);

/** The nth event of kind for transport (nth < 0: the last), or NULL. */
const hx_sfu_msg *fx_event(const fx *f, uint16_t kind, uint64_t transport, int nth);
int fx_count(const fx *f, uint16_t kind, uint64_t transport);
void fx_clear_events(fx *f);
/** A field of an event as a C string (in one of 4 rotating buffers). */
const char *fx_field(const hx_sfu_msg *m, hx_sfu_tag tag);

/** Deliver what the core sent to the peers, until nothing moves. */
void fx_pump(fx *f);
/** Move the clock ms forward, running the core's timer whenever due, and pump. */
void fx_advance(fx *f, int64_t ms);

/**
 * A publisher peer: opens transport id, offers `offer` (an SDP whose ICE credentials and
 * fingerprint are replaced with the peer's), takes the answer, passes a check and the DTLS
 * handshake. NULL with f->err on failure.
 */
fx_peer *fx_publisher(fx *f, uint64_t id, const char *room, const char *who, const char *offer);
/** A subscriber peer: opens transport id (it connects with its first fx_answer). */
fx_peer *fx_subscriber(fx *f, uint64_t id, const char *room, const char *who);
/** Answer the subscriber's newest offer (and connect, the first time). 0, or -1 with f->err. */
int fx_answer(fx_peer *p);
/** A binding check with USE-CANDIDATE from the peer (consent, nomination). */
void fx_check(fx_peer *p);
/** The same check from another path (ICE-TCP: from->conn, with the carrier's *bound). */
void fx_check_from(fx_peer *p, const hx_engine_path *from, void **bound);
/** Send an RTP packet (protected here) from the peer. */
int fx_send_rtp(fx_peer *p, const uint8_t *pkt, size_t len);
/** Send an RTCP compound packet (protected here) from the peer. */
int fx_send_rtcp(fx_peer *p, const uint8_t *pkt, size_t len);
/** Forget what the peer received. */
void fx_rx_clear(fx_peer *p);
/** The SSRC hearth sends the peer's m-line `mid` with, from the last offer (0: none). */
uint32_t fx_offer_ssrc(const fx_peer *p, const char *mid, bool rtx);

/** The track id of the nth TRACK_PUBLISHED for transport (NULL: none). */
const char *fx_track_id(const fx *f, uint64_t transport, int nth);

/** One RFC 8285 one-byte header extension element. */
typedef struct fx_ext {
    uint8_t id, len; /* id 1..14, len 1..16 */
    uint8_t data[16];
} fx_ext;
/** The same with one-byte header extensions (mid, rid, transport-cc...). Its length. */
size_t fx_rtp_ext(uint8_t *buf, uint8_t pt, uint16_t seq, uint32_t ts, uint32_t ssrc, bool marker,
                  const fx_ext *ext, size_t n_ext, const uint8_t *payload, size_t plen);
/** A string extension (mid, rid). */
fx_ext fx_ext_str(uint8_t id, const char *s);
/** The RTP headers of the packets the peer received with this SSRC (up to cap). How many. */
size_t fx_rtp_of(const fx_peer *p, uint32_t ssrc, hx_rtp_hdr *hs, size_t cap);
/** The nth RTP packet the peer received with this SSRC (its decrypted bytes, *len), or NULL. */
const uint8_t *fx_rtp_data_of(const fx_peer *p, uint32_t ssrc, size_t nth, size_t *len);
/** Where fx_rtcp_next is in what a peer received; zeroed to start from the first packet. */
typedef struct fx_rtcp_cursor {
    size_t i;  /* the received datagram */
    bool open; /* it is being walked */
    hx_rtcp_iter it;
} fx_rtcp_cursor;
/** The next RTCP packet of type pt (and fmt; -1: any) the peer received after *c, pointing into
 *  its rx; false when there is none. */
bool fx_rtcp_next(const fx_peer *p, fx_rtcp_cursor *c, uint8_t pt, int fmt, hx_rtcp_pkt *k);
/** RTCP packets of type pt (and fmt; -1: any) in what the peer received. */
int fx_rtcp_count(const fx_peer *p, uint8_t pt, int fmt);

/** The text of tests/sdp/fixtures/<name> under the source tree `root` (a static buffer,
 *  overwritten by the next call), or NULL when it cannot be read. */
const char *fx_sdp_fixture(const char *root, const char *name);
/** chromium_pub.sdp with VP9 (98, its RTX 99) first on the video m-line, so hearth forwards
 *  VP9 (fx_sdp_fixture's buffer), or NULL. The video SSRC stays FX_CHROMIUM_VIDEO_SSRC. */
const char *fx_sdp_vp9_offer(const char *root);
/** chromium_pub.sdp with AV1 (45, its RTX 46) first and the dependency descriptor extension
 *  (id FX_DD_ID) on the video m-line, as Chromium offers it (a static buffer), or NULL. */
const char *fx_sdp_av1_offer(const char *root);
#define FX_DD_ID 12
#define FX_DD_ID_STR "12"
#define FX_CHROMIUM_VIDEO_SSRC 2467563263u

/** Build an RTP packet (12-byte header, no extension), then the payload. Its length. */
size_t fx_rtp(uint8_t *buf, uint8_t pt, uint16_t seq, uint32_t ts, uint32_t ssrc, bool marker,
              const uint8_t *payload, size_t plen);

#endif
