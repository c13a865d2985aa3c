/*
 * Offer/answer for hearth's two PeerConnections per participant (DESIGN §1,
 * LiveKit's model; JSEP, RFC 8829):
 *
 *   publisher PC   the client offers, hearth answers: hx_sdp_answer;
 *   subscriber PC  hearth offers (hx_sdp_offerer_build), the client
 *                  answers, hearth applies it: hx_sdp_answer_apply.
 *
 * Both ends produce an hx_sdp_negotiated: per m-line what the media layer
 * needs (codecs with their RTX payload types, the header extension id map
 * of that m-line, the remote SSRCs, RIDs and simulcast, SCTP parameters)
 * plus the remote transport (ICE credentials, DTLS fingerprint, role).
 *
 * Transport is always BUNDLE + rtcp-mux, hearth is ICE-lite and trickles.
 * DTLS role: hearth is the DTLS server (setup:passive in its answers)
 * whenever the peer lets it choose. Offerers (Chromium, aiortc) send
 * actpass; as answerers to hearth's actpass both pick active, so in
 * practice hearth is the server on every PC: one code path, and as the
 * ICE-lite (controlled) side it just waits for the ClientHello that
 * follows the peer's nomination. Only an offer with setup:passive, or an
 * answer with setup:passive, makes hearth the client (dtls_server false).
 *
 * Header extensions: RTP packets of every m-line in a BUNDLE arrive on one
 * transport, so an id must mean one URI bundle-wide (RFC 8843 §9.2).
 * aiortc 1.4.0 violates this in its offers (id 2 is audio-level on audio,
 * abs-send-time on video); hx_sdp_answer keeps the first m-line's meaning
 * and drops the colliding extension from later m-lines, and the result
 * still carries a per-m-line map so the RTP layer can look ids up by mid.
 */
#ifndef HX_SDP_NEGOTIATE_H
#define HX_SDP_NEGOTIATE_H

#include "sdp/sdp.h"

#define HX_SDP_EXT_MID_URI "urn:ietf:params:rtp-hdrext:sdes:mid"
#define HX_SDP_EXT_RID_URI "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"
#define HX_SDP_EXT_RRID_URI "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id"
#define HX_SDP_EXT_ABS_SEND_TIME_URI "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
#define HX_SDP_EXT_TCC_URI                                                                         \
    "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"
#define HX_SDP_EXT_AUDIO_LEVEL_URI "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
#define HX_SDP_EXT_DD_URI                                                                          \
    "https://aomediacodec.github.io/av1-rtp-spec/#dependency-descriptor-rtp-header-extension"

/** The header extensions hearth understands; bit (1 << x) in hx_sdp_local.ext_mask. */
typedef enum {
    HX_SDP_EXT_MID,
    HX_SDP_EXT_RID,
    HX_SDP_EXT_RRID,
    HX_SDP_EXT_ABS_SEND_TIME,
    HX_SDP_EXT_TCC,
    HX_SDP_EXT_AUDIO_LEVEL,
    HX_SDP_EXT_DD, /* AV1 SVC layers (sfu/svc.c); kept only where AV1 is the codec */
    HX_SDP_EXT_COUNT
} hx_sdp_ext;

/** RTCP feedback kept in answers (bits of hx_sdp_nego_codec.fb). */
enum {
    HX_SDP_FB_NACK = 1,
    HX_SDP_FB_PLI = 2,
    HX_SDP_FB_FIR = 4,
    HX_SDP_FB_REMB = 8,
    HX_SDP_FB_TCC = 16,
};

/** A codec hearth accepts. fmtp carries what must match (see hx_sdp_codec_match). */
typedef struct hx_sdp_codec_cap {
    hx_sdp_kind kind;
    const char *name;
    uint32_t clock;
    uint8_t channels; /* 0: any / not given */
    const char *fmtp; /* "" or NULL when nothing must match */
} hx_sdp_codec_cap;

/** H.264 profiles as libwebrtc classifies profile-level-id (RFC 6184 §8.1). */
typedef enum {
    HX_H264_NONE = -1,
    HX_H264_CONSTRAINED_BASELINE,
    HX_H264_BASELINE,
    HX_H264_MAIN,
    HX_H264_CONSTRAINED_HIGH,
    HX_H264_HIGH,
    HX_H264_PREDICTIVE_HIGH_444,
} hx_h264_profile;

/** hearth's side of a negotiation. NULL / 0 fields take the documented defaults. */
typedef struct hx_sdp_local {
    const char *ice_ufrag, *ice_pwd; /* required */
    const char *fp_alg, *fp_hex;     /* required; hearth uses "sha-256" */
    const char *const *candidates;   /* "candidate:..." lines, may be none (trickle) */
    size_t n_candidates;
    bool end_of_candidates;
    const char *addr; /* c= address; default "0.0.0.0" */
    uint16_t port;    /* m= port; default 9 */
    uint64_t session_id, session_version;
    const hx_sdp_codec_cap *caps; /* default hx_sdp_default_caps() */
    size_t n_caps;
    uint32_t ext_mask;         /* bits 1 << hx_sdp_ext; 0: all */
    uint32_t max_message_size; /* SCTP; default 262144 */
} hx_sdp_local;

typedef struct hx_sdp_nego_codec {
    uint8_t pt, rtx_pt; /* rtx_pt 0: no RTX */
    char name[HX_SDP_TOKEN_LEN];
    uint32_t clock;
    uint8_t channels;
    char fmtp[HX_SDP_FMTP_LEN];
    uint8_t fb; /* HX_SDP_FB_* */
} hx_sdp_nego_codec;

typedef struct hx_sdp_nego_media {
    char mid[HX_SDP_TOKEN_LEN];
    hx_sdp_kind kind;
    bool accepted;    /* false: port 0 */
    hx_sdp_dir dir;   /* hearth's direction on this m-line */
    uint8_t n_codecs; /* preference order; RTX is folded into rtx_pt */
    hx_sdp_nego_codec codecs[HX_SDP_MAX_CODECS];
    uint8_t n_ext; /* this m-line's id → URI map */
    hx_sdp_extmap ext[HX_SDP_MAX_EXTMAPS];
    uint8_t ext_id[HX_SDP_EXT_COUNT]; /* id per known extension, 0 when not negotiated */
    uint8_t n_ssrcs, n_ssrc_groups;   /* the remote side's */
    hx_sdp_ssrc ssrcs[HX_SDP_MAX_SSRCS];
    hx_sdp_ssrc_group ssrc_groups[HX_SDP_MAX_SSRC_GROUPS];
    uint8_t n_rids; /* the remote side's, as it wrote them */
    hx_sdp_rid rids[HX_SDP_MAX_RIDS];
    bool has_simulcast;
    hx_sdp_simulcast simulcast;
    uint16_t sctp_port;        /* remote SCTP port */
    uint32_t max_message_size; /* remote limit, 0: not given (RFC 8841: 64 KiB) */
} hx_sdp_nego_media;

typedef struct hx_sdp_negotiated {
    char remote_ufrag[HX_SDP_ICE_LEN];
    char remote_pwd[HX_SDP_ICE_LEN];
    hx_sdp_fingerprint remote_fingerprint;
    bool remote_ice_lite;
    bool dtls_server; /* hearth's DTLS role */
    bool extmap_allow_mixed;
    uint8_t n_media; /* same order as the m-lines */
    hx_sdp_nego_media media[HX_SDP_MAX_MEDIA];
} hx_sdp_negotiated;

/** hearth's default codecs: Opus, RED, VP8, H.264 (CB, baseline, main, high; mode 1), VP9 0, AV1 0.
 */
const hx_sdp_codec_cap *hx_sdp_default_caps(size_t *n);

/** Profile of an H.264 fmtp (profile-level-id; libwebrtc's default when absent). */
hx_h264_profile hx_sdp_h264_profile(const char *fmtp);

/**
 * Does an offered codec match a capability? Name (case-insensitive), clock and
 * channels; H.264: same packetization-mode and same profile (level may differ);
 * VP9: same profile-id; AV1: same profile (absent = 0).
 */
bool hx_sdp_codec_match(hx_sdp_kind kind, const hx_sdp_codec *offered, const hx_sdp_codec_cap *cap);

/** The hx_sdp_ext for a URI, or -1. */
int hx_sdp_ext_from_uri(const char *uri);

/**
 * Answer a publisher offer: *answer gets the model (write it with hx_sdp_write),
 * *nego the result. Mirrors the offer's mids and payload types; recvonly for the
 * offer's sendonly/sendrecv m-lines; rejects (port 0) what hearth cannot take.
 */
int hx_sdp_answer(const hx_sdp *offer, const hx_sdp_local *local, hx_sdp *answer,
                  hx_sdp_negotiated *nego, hx_sdp_error *err);

/** One forwarded track on a subscriber PC. */
typedef struct hx_sdp_track {
    hx_sdp_kind kind;   /* audio or video */
    const char *mid;    /* unique in the session */
    hx_sdp_codec codec; /* pt, name, clock, channels, fmtp, rtcp-fb */
    bool has_alt;       /* a second codec after the first: Opus behind RED (RFC 2198) */
    hx_sdp_codec alt;
    uint8_t rtx_pt;     /* 0: no RTX */
    uint32_t ssrc, rtx_ssrc;
    const char *cname, *stream_id, *track_id;
    uint8_t n_ext; /* hearth-chosen ids; one id means one URI across the bundle */
    hx_sdp_extmap ext[HX_SDP_MAX_EXTMAPS];
} hx_sdp_track;

/** Default m-line count below which a new track gets a new m-line rather than a reused one. */
#define HX_SDP_RECYCLE_AFTER 32

/** The longest mid an offerer keeps, NUL included: hearth names its m-lines "0", "1", ... (each
 * slot is one of a subscriber transport's 64; short mids keep them small). */
#define HX_SDP_OFFER_MID_LEN 16

/** Subscriber-PC offer state across renegotiations: m-line slots and the version. */
typedef struct hx_sdp_offerer {
    uint64_t session_id, version;
    uint8_t recycle_after; /* grow to this many m-lines before recycling removed ones */
    bool data_first;       /* a new data m-line goes before new tracks' (the BUNDLE tag) */
    uint8_t n_slots;
    struct hx_sdp_slot {
        hx_sdp_kind kind;
        char mid[HX_SDP_OFFER_MID_LEN];
        bool live; /* carries a track (or the data channel) in the last offer */
        struct {   /* last codec, reused for its port-0 m-line (no fmtp or feedback there) */
            uint8_t pt, channels;
            uint32_t clock;
            char name[16];
        } codec;
    } slots[HX_SDP_MAX_MEDIA];
} hx_sdp_offerer;

/** Start a subscriber PC's offer history (recycle_after = HX_SDP_RECYCLE_AFTER; may be changed). */
void hx_sdp_offerer_init(hx_sdp_offerer *o, uint64_t session_id);

/**
 * Build the next offer from the current tracks (and the data m-line when data_mid is
 * not NULL). M-line order is stable; a removed track's m-line goes port 0 inactive;
 * a new track takes its own old slot (by mid), else a new m-line while there are
 * fewer than o->recycle_after, else a slot of its kind that was already port 0 in
 * the previous offer, else a new m-line up to HX_SDP_MAX_MEDIA. The origin version
 * increments with every offer. *o changes only on success. local->session_* unused.
 */
int hx_sdp_offerer_build(hx_sdp_offerer *o, const hx_sdp_local *local, const hx_sdp_track *tracks,
                         size_t n_tracks, const char *data_mid, hx_sdp *offer, hx_sdp_error *err);

/** Check the client's answer against hearth's offer and fill *nego. */
int hx_sdp_answer_apply(const hx_sdp *offer, const hx_sdp *answer, hx_sdp_negotiated *nego,
                        hx_sdp_error *err);

#endif
