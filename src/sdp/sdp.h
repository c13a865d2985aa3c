/*
 * SDP (RFC 8866) as WebRTC uses it (JSEP, RFC 8829): the session description
 * model, its parser and its writer. Offer/answer logic lives in
 * sdp/negotiate.h on top of this header.
 *
 * The model is a plain struct of fixed-size arrays: parsing fills a
 * caller-owned hx_sdp, writing reads one, and neither allocates or does I/O.
 * Every list has a maximum (HX_SDP_MAX_*); a text that needs more is rejected
 * with HX_SDP_E_LIMIT rather than truncated, except ICE candidates, of which
 * the first HX_SDP_MAX_CANDS are kept and the rest counted (ICE works with
 * fewer candidates; a description does not work with fewer codecs). An
 * hx_sdp is large (about 1.5 MB with 64 m-lines): allocate it, do not put it
 * on a stack.
 *
 * Inheritance: ice-ufrag, ice-pwd, fingerprint and setup may appear at
 * session level. After parsing, each media section holds its effective value
 * (its own, else the session's), and the session-level copy is kept too. The
 * writer writes a media-level value only where it differs from the
 * session-level one, so parse → write → parse is stable.
 */
#ifndef HX_SDP_SDP_H
#define HX_SDP_SDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HX_SDP_MAX_LEN 65536 /* bytes of SDP text, in and out */
#define HX_SDP_MAX_MEDIA 64
#define HX_SDP_MAX_CODECS 32 /* payload types per m-line (Chromium video: 23) */
#define HX_SDP_MAX_FB 8      /* rtcp-fb values per codec */
#define HX_SDP_MAX_EXTMAPS 16
#define HX_SDP_MAX_SSRCS 16
#define HX_SDP_MAX_SSRC_GROUPS 8
#define HX_SDP_MAX_GROUP_SSRCS 4
#define HX_SDP_MAX_RIDS 8
#define HX_SDP_MAX_CANDS 16

#define HX_SDP_TOKEN_LEN 64 /* mid, rid, codec name, origin fields (with NUL) */
#define HX_SDP_ICE_LEN 257  /* ufrag, pwd: RFC 8839 allows up to 256 characters */
#define HX_SDP_FP_LEN 192   /* hex of a sha-512 digest with colons */
#define HX_SDP_FMTP_LEN 160
#define HX_SDP_FB_LEN 24
#define HX_SDP_URI_LEN 128
#define HX_SDP_MSID_LEN 132 /* "<stream id> <track id>" */
#define HX_SDP_CNAME_LEN 128
#define HX_SDP_CAND_LEN 256 /* "candidate:..." without "a=" */
#define HX_SDP_LINE_LEN 128 /* other kept values: proto, simulcast, rid params */

/** Parse and write results: 0 or one of these. */
enum {
    HX_SDP_OK = 0,
    HX_SDP_E_TOO_LARGE = -1,    /* input over HX_SDP_MAX_LEN */
    HX_SDP_E_SYNTAX = -2,       /* not "<letter>=<value>", bad characters */
    HX_SDP_E_VERSION = -3,      /* first line not v=0 */
    HX_SDP_E_ORIGIN = -4,       /* o= missing or malformed */
    HX_SDP_E_MEDIA = -5,        /* malformed m= line */
    HX_SDP_E_VALUE = -6,        /* malformed attribute value */
    HX_SDP_E_LIMIT = -7,        /* a list or a value over its maximum */
    HX_SDP_E_DUPLICATE = -8,    /* duplicate mid, payload type or extmap id */
    HX_SDP_E_NOSPACE = -9,      /* output buffer too small */
    HX_SDP_E_MISSING = -10,     /* negotiation: a required attribute is absent */
    HX_SDP_E_MISMATCH = -11,    /* negotiation: the answer does not fit the offer */
    HX_SDP_E_UNSUPPORTED = -12, /* negotiation: nothing hearth can accept */
};

typedef enum { HX_SDP_AUDIO, HX_SDP_VIDEO, HX_SDP_APPLICATION, HX_SDP_OTHER } hx_sdp_kind;

typedef enum {
    HX_SDP_PROTO_OTHER,
    HX_SDP_PROTO_RTP,        /* UDP/TLS/RTP/SAVPF (or any .../RTP/SAVPF) */
    HX_SDP_PROTO_SCTP,       /* UDP/DTLS/SCTP webrtc-datachannel (RFC 8841) */
    HX_SDP_PROTO_SCTP_LEGACY /* DTLS/SCTP 5000 + a=sctpmap (aiortc, old drafts) */
} hx_sdp_proto;

/* Direction of an m-line or extmap. NONE: not given (sendrecv by default). */
typedef enum {
    HX_SDP_DIR_NONE,
    HX_SDP_SENDRECV,
    HX_SDP_SENDONLY,
    HX_SDP_RECVONLY,
    HX_SDP_INACTIVE
} hx_sdp_dir;

typedef enum {
    HX_SDP_SETUP_NONE,
    HX_SDP_SETUP_ACTPASS,
    HX_SDP_SETUP_ACTIVE,
    HX_SDP_SETUP_PASSIVE,
    HX_SDP_SETUP_HOLDCONN
} hx_sdp_setup;

typedef struct hx_sdp_fingerprint {
    char alg[16];            /* lower case, e.g. "sha-256"; "" when absent */
    char hex[HX_SDP_FP_LEN]; /* as written: "2D:D9:..." */
} hx_sdp_fingerprint;

/* One payload type: from the m= format list, completed by rtpmap, fmtp and rtcp-fb. */
typedef struct hx_sdp_codec {
    uint8_t pt;
    char name[HX_SDP_TOKEN_LEN]; /* as written ("opus", "VP8", "rtx"); "" without rtpmap */
    uint32_t clock;
    uint8_t channels; /* 0 when not written */
    char fmtp[HX_SDP_FMTP_LEN];
    uint8_t n_fb;
    char fb[HX_SDP_MAX_FB][HX_SDP_FB_LEN]; /* "nack", "nack pli", "ccm fir", ... */
} hx_sdp_codec;

typedef struct hx_sdp_extmap {
    uint8_t id; /* 1..255 (RFC 8285) */
    hx_sdp_dir dir;
    char uri[HX_SDP_URI_LEN];
} hx_sdp_extmap;

typedef struct hx_sdp_ssrc {
    uint32_t ssrc;
    char cname[HX_SDP_CNAME_LEN];
    char msid[HX_SDP_MSID_LEN];
} hx_sdp_ssrc;

typedef struct hx_sdp_ssrc_group {
    char semantics[8]; /* "FID", "SIM", "FEC-FR" */
    uint8_t n;
    uint32_t ssrcs[HX_SDP_MAX_GROUP_SSRCS];
} hx_sdp_ssrc_group;

typedef struct hx_sdp_rid {
    char id[HX_SDP_TOKEN_LEN];
    hx_sdp_dir dir;               /* SENDONLY ("send") or RECVONLY ("recv") */
    char params[HX_SDP_LINE_LEN]; /* restrictions after the direction, "" if none */
} hx_sdp_rid;

/* a=simulcast (RFC 8853), first alternative of each stream. */
typedef struct hx_sdp_simulcast {
    uint8_t n_send, n_recv;
    char send[HX_SDP_MAX_RIDS][HX_SDP_TOKEN_LEN];
    char recv[HX_SDP_MAX_RIDS][HX_SDP_TOKEN_LEN];
    uint8_t send_paused, recv_paused; /* bit i: stream i starts with '~' */
} hx_sdp_simulcast;

typedef struct hx_sdp_media {
    hx_sdp_kind kind;
    char kind_name[16]; /* as written */
    uint16_t port;      /* 0: rejected / stopped */
    hx_sdp_proto proto;
    char proto_name[HX_SDP_LINE_LEN];
    char fmt[HX_SDP_TOKEN_LEN];  /* the format token of a non-RTP m-line */
    char conn[HX_SDP_TOKEN_LEN]; /* c= address, "" when absent */
    char mid[HX_SDP_TOKEN_LEN];
    hx_sdp_dir dir;
    bool bundle_only;
    char ice_ufrag[HX_SDP_ICE_LEN];
    char ice_pwd[HX_SDP_ICE_LEN];
    bool ice_trickle;
    hx_sdp_fingerprint fingerprint;
    hx_sdp_setup setup;
    uint8_t n_cands;
    uint16_t cands_dropped; /* candidates past HX_SDP_MAX_CANDS */
    bool end_of_candidates;
    char cands[HX_SDP_MAX_CANDS][HX_SDP_CAND_LEN];
    bool rtcp_mux, rtcp_rsize;
    uint8_t n_codecs; /* in m= line order */
    hx_sdp_codec codecs[HX_SDP_MAX_CODECS];
    uint8_t n_extmaps;
    hx_sdp_extmap extmaps[HX_SDP_MAX_EXTMAPS];
    char msid[HX_SDP_MSID_LEN]; /* a=msid value */
    uint8_t n_ssrcs, n_ssrc_groups;
    hx_sdp_ssrc ssrcs[HX_SDP_MAX_SSRCS];
    hx_sdp_ssrc_group ssrc_groups[HX_SDP_MAX_SSRC_GROUPS];
    uint8_t n_rids;
    hx_sdp_rid rids[HX_SDP_MAX_RIDS];
    bool has_simulcast;
    hx_sdp_simulcast simulcast;
    uint16_t sctp_port;        /* a=sctp-port, or the sctpmap number */
    uint32_t max_message_size; /* 0 when absent */
} hx_sdp_media;

typedef struct hx_sdp {
    char origin_user[HX_SDP_TOKEN_LEN];
    uint64_t sess_id, sess_version;
    char origin_addr[HX_SDP_TOKEN_LEN];
    uint8_t n_bundle; /* first a=group:BUNDLE only */
    char bundle[HX_SDP_MAX_MEDIA][HX_SDP_TOKEN_LEN];
    bool ice_lite, ice_trickle, extmap_allow_mixed;
    char msid_semantic[HX_SDP_LINE_LEN]; /* "WMS ..." as written, "" when absent */
    /* Session-level values, "" / NONE when absent (media hold effective values). */
    char ice_ufrag[HX_SDP_ICE_LEN];
    char ice_pwd[HX_SDP_ICE_LEN];
    hx_sdp_fingerprint fingerprint;
    hx_sdp_setup setup;
    uint8_t n_media;
    hx_sdp_media media[HX_SDP_MAX_MEDIA];
} hx_sdp;

/** Where parsing failed: the 1-based line number (0 if not line-bound) and a static detail. */
typedef struct hx_sdp_error {
    int line;
    const char *what;
} hx_sdp_error;

/** Static description of an HX_SDP_E_* code. */
const char *hx_sdp_strerror(int code);

/**
 * Parse SDP text (CRLF or LF line ends) into *out, which is overwritten. Returns 0 or an
 * HX_SDP_E_* code with *err (may be NULL) filled.
 */
int hx_sdp_parse(const char *text, size_t len, hx_sdp *out, hx_sdp_error *err);

/**
 * Write *sdp as text with CRLF line ends, NUL-terminated. Returns the length or
 * HX_SDP_E_NOSPACE (also when the text would exceed HX_SDP_MAX_LEN).
 */
long hx_sdp_write(const hx_sdp *sdp, char *out, size_t cap);

/** The media section with this mid, or NULL. */
const hx_sdp_media *hx_sdp_find_mid(const hx_sdp *sdp, const char *mid);
/** The codec with this payload type in m, or NULL. */
const hx_sdp_codec *hx_sdp_find_pt(const hx_sdp_media *m, unsigned pt);
/** The extmap id of uri in m, or 0. */
unsigned hx_sdp_extmap_id(const hx_sdp_media *m, const char *uri);
/** The value of key in an fmtp string ("a=1;b=2"), copied to out; 0, or -1 if absent. */
int hx_sdp_fmtp_get(const char *fmtp, const char *key, char *out, size_t cap);

#endif
