/*
 * The engine boundary (DESIGN §1): the only way the control plane and the
 * media engine talk. The control plane (signaling, auth, rooms, moderation)
 * posts commands; the engine (ICE, DTLS, SRTP, RTP forwarding, data
 * channels) answers with events. Both are self-contained byte messages, never
 * pointers into the other side's memory, so the engine runs in-process today
 * and behind a pipe in a worker process later with no change on either side:
 * only the function that carries the bytes changes.
 *
 * A message is a fixed 16-byte header followed by fields:
 *
 *   u16 kind | u16 nfields | u32 length of the whole message | u64 transport
 *   then per field: u8 tag | u8 0 | u16 length | bytes (padded to 4)
 *
 * all big-endian. The transport id is chosen by the control plane
 * (participant and PeerConnection role); rooms and participants travel as
 * their text ids, tracks as engine-chosen text ids. The control plane never
 * sees RTP; the engine never sees tokens or JSON. SDP is the one text both
 * touch: the control plane relays it, the engine negotiates it.
 *
 * hx_sfu_msg_* below are a pure codec (fuzzed by fuzz/fuzz_sfu_msg.c): a
 * builder writing into a caller buffer and a parser returning a view whose
 * strings point into the message.
 */
#ifndef HX_SFU_SFU_H
#define HX_SFU_SFU_H

#include <stddef.h>
#include <stdint.h>

#define HX_SFU_MSG_MAX (128 * 1024) /* an SDP of 64 KiB plus the rest */
#define HX_SFU_MAX_FIELDS 16
#define HX_SFU_HEADER 16

/** Commands (control plane → engine) and events (engine → control plane). */
typedef enum hx_sfu_kind {
    /* commands */
    HX_SFU_TRANSPORT_OPEN = 1, /* room, participant, role, flags */
    HX_SFU_TRANSPORT_CLOSE,    /* reason */
    HX_SFU_REMOTE_SDP,         /* sdp_type, sdp; sdp_type "refusal": reason, no sdp */
    HX_SFU_REMOTE_CANDIDATE,   /* candidate (empty = end of candidates) */
    HX_SFU_SUBSCRIBE,          /* track: a subscriber transport starts forwarding it */
    HX_SFU_UNSUBSCRIBE,        /* track */
    HX_SFU_PAUSE,              /* track */
    HX_SFU_RESUME,             /* track */
    HX_SFU_SET_LAYER,          /* track, layer (a rid; q/h/f for SVC), or size "WxH": the
                                * smallest layer at least that large */
    HX_SFU_MUTE,               /* track, flags & HX_SFU_F_ON: stop forwarding a published track */
    HX_SFU_ICE_RESTART,        /* a subscriber transport: new ICE credentials, a new offer */
    HX_SFU_PIN,                /* track, flags & HX_SFU_F_ON: pinned by its subscriber, served
                                * first by its downlink (sfu/downlink.c); without: unpinned */
    /* Relays between workers (sfu/relay.c, docs/scaling.md): a room spread over several. */
    HX_SFU_RELAY_OUT,  /* room, addr; flags & HX_SFU_F_ON: the worker hosting the room's
                        * publishers sends one copy of each of its streams (and its data
                        * messages) to the worker at addr; without: stops. Transport 0 */
    HX_SFU_RELAY_IN,   /* room, participant, track, desc, addr: a mirror of the track published
                        * on the worker at addr, for this worker's subscribers. The transport is
                        * the publisher's own id (the mirror stands for it here) */
    HX_SFU_RELAY_DROP, /* track: the mirror goes (its consumers with it); the publisher's
                        * stand-in with its last one */
    /* events */
    HX_SFU_EV_LOCAL_SDP = 64,     /* sdp_type, sdp: an answer to REMOTE_SDP or a new offer */
    HX_SFU_EV_LOCAL_CANDIDATE,    /* candidate */
    HX_SFU_EV_STATE,              /* state, reason */
    HX_SFU_EV_TRACK_PUBLISHED,    /* room, participant, track, media_kind, mid, msid, layers */
    HX_SFU_EV_TRACK_CLOSED,       /* room, participant, track */
    HX_SFU_EV_KEYFRAME_NEEDED,    /* track: a subscriber asked, a PLI/FIR went to the publisher */
    HX_SFU_EV_STATS,              /* cumulative transport counters, every 2 s while they move */
    HX_SFU_EV_ERROR,              /* code, reason: a command was refused */
    HX_SFU_EV_DONE,               /* a command with a request field completed */
    HX_SFU_EV_NEGOTIATION_FAILED, /* code, reason, revision; flags & HX_SFU_F_FINAL: gave up */
    HX_SFU_EV_MILESTONE, /* state "ice_connected" | "first_media": once per transport (below) */
    HX_SFU_EV_SPEAKERS,  /* room, speakers: who speaks in the room now (below); the transport is
                          * one of the room's publishers */
    HX_SFU_EV_LAYERS,    /* track, mid, layers: the simulcast rids its publisher should send
                          * (the others nobody watches: pause them); see sfu/dynacast.c */
    HX_SFU_EV_RECEIVING, /* track, layer ("" none), size ("WxH", "" unknown); flags &
                          * HX_SFU_F_LIMITED: on a subscriber transport, the layer it receives
                          * of a track changed (sfu/receiving.c) */
} hx_sfu_kind;

/** Field tags. */
typedef enum hx_sfu_tag {
    HX_SFU_T_ROOM = 1,
    HX_SFU_T_PARTICIPANT,
    HX_SFU_T_ROLE,     /* "publisher" | "subscriber" */
    HX_SFU_T_FLAGS,    /* u32 */
    HX_SFU_T_SDP_TYPE, /* "offer" | "answer" */
    HX_SFU_T_SDP,
    HX_SFU_T_CANDIDATE,
    HX_SFU_T_TRACK,
    HX_SFU_T_LAYER,
    HX_SFU_T_STATE, /* "connected" | "disconnected" | "failed" | "closed"; milestones (below) */
    HX_SFU_T_REASON,
    HX_SFU_T_CODE,
    HX_SFU_T_MEDIA_KIND, /* "audio" | "video" | "data" */
    HX_SFU_T_MID,
    HX_SFU_T_MSID,
    HX_SFU_T_LAYERS,   /* rids, comma separated */
    HX_SFU_T_STATS,    /* u64 x HX_SFU_STATS_N (below) */
    HX_SFU_T_REQUEST,  /* opaque: echoed in the DONE, answer or ERROR the command causes */
    HX_SFU_T_REVISION, /* decimal: a subscriber offer's revision, echoed with its answer */
    HX_SFU_T_SPEAKERS, /* "track:level,track:level": loudest first, level 0-100; "" nobody */
    HX_SFU_T_SIZE,     /* "WxH" in pixels */
    HX_SFU_T_DESC,     /* bytes: a published track's description (sfu/relay.h), with
                        * EV_TRACK_PUBLISHED and RELAY_IN */
    HX_SFU_T_ADDR,     /* "ip:port": a worker's media socket, for relays */
    HX_SFU_T_MAX_,
} hx_sfu_tag;

/** TRANSPORT_OPEN / MUTE flags. */
enum {
    HX_SFU_F_PUBLISH = 1u << 0,
    HX_SFU_F_SUBSCRIBE = 1u << 1,
    HX_SFU_F_DATA = 1u << 2,
    HX_SFU_F_ON = 1u << 3,
    HX_SFU_F_FINAL = 1u << 4,   /* EV_NEGOTIATION_FAILED: no retry left, the client must rejoin */
    HX_SFU_F_LIMITED = 1u << 5, /* EV_RECEIVING: the downlink holds it below what was asked */
};

/* EV_STATS' counters, cumulative per transport, and its last measurements (HX_SFU_UNKNOWN when
 * there is none yet). */
enum {
    HX_SFU_S_PACKETS_IN,
    HX_SFU_S_BYTES_IN,
    HX_SFU_S_PACKETS_OUT,
    HX_SFU_S_BYTES_OUT,
    HX_SFU_S_LOST,           /* publishers' packets that never arrived */
    HX_SFU_S_NACKS,          /* packets subscribers asked again */
    HX_SFU_S_PLIS,           /* keyframe requests sent to the publisher */
    HX_SFU_S_RTT_US,         /* subscribers: round trip from their receiver reports (RFC 3550
                              * LSR/DLSR against hearth's sender reports) */
    HX_SFU_S_JITTER_IN_US,   /* publishers: interarrival jitter hearth measures, the worst stream */
    HX_SFU_S_JITTER_OUT_US,  /* subscribers: the jitter they report, the worst stream */
    HX_SFU_S_DROPPED_SRTP,   /* inbound packets that failed SRTP/SRTCP authentication */
    HX_SFU_S_DROPPED_LIMIT,  /* inbound datagrams over media.max_packet_rate */
    HX_SFU_STATS_N
};
#define HX_SFU_UNKNOWN UINT64_MAX

/*
 * EV_MILESTONE, for the join funnel (core/slo.h): each at most once per
 * transport, reported as it happens. Not told to
 * clients: EV_STATE is what they see.
 *   "ice_connected"  a connectivity check passed (a path to the peer exists)
 *   "first_media"    the first RTP packet: received and unprotected on a
 *                    publisher, forwarded on a subscriber
 *
 * EV_SPEAKERS: the room's active speakers (adapt/speaker.h over the RFC 6464
 * levels its audio tracks carry) whenever the set or its order changes; an
 * empty list when nobody speaks any more.
 */

/** A parsed message: strings point into the message and are not NUL-terminated. */
typedef struct hx_sfu_str {
    const char *p;
    size_t len;
} hx_sfu_str;

typedef struct hx_sfu_msg {
    uint16_t kind;
    uint64_t transport;
    uint32_t flags;
    uint64_t stats[HX_SFU_STATS_N];
    hx_sfu_str f[HX_SFU_T_MAX_]; /* by tag; len 0 and p NULL when absent */
    uint32_t present;            /* bit (1 << tag) per field present */
} hx_sfu_msg;

/** Builder state over a caller buffer. */
typedef struct hx_sfu_builder {
    uint8_t *buf;
    size_t cap, len;
    uint16_t nfields;
    int err; /* sticky: -1 once something did not fit */
} hx_sfu_builder;

/** Start a message of `kind` for `transport` in buf[cap]. */
void hx_sfu_build(hx_sfu_builder *b, uint8_t *buf, size_t cap, hx_sfu_kind kind,
                  uint64_t transport);
/** Append a text field (at most 65535 bytes). */
void hx_sfu_put_str(hx_sfu_builder *b, hx_sfu_tag tag, const char *s, size_t len);
/** Append a NUL-terminated text field. */
void hx_sfu_put_cstr(hx_sfu_builder *b, hx_sfu_tag tag, const char *s);
/** Append the flags field. */
void hx_sfu_put_flags(hx_sfu_builder *b, uint32_t flags);
/** Append the stats field (HX_SFU_STATS_N values). */
void hx_sfu_put_stats(hx_sfu_builder *b, const uint64_t stats[HX_SFU_STATS_N]);
/** Finish: the message length, or -1 when it did not fit. */
long hx_sfu_finish(hx_sfu_builder *b);

/**
 * Parse one message. 0 on success; a negative code with *why set to a static
 * description for a malformed one (short, bad length, unknown kind, field
 * past the end, duplicate or unknown tag, bad flags/stats size).
 */
int hx_sfu_parse(const uint8_t *buf, size_t len, hx_sfu_msg *m, const char **why);
/** True when the parsed message has the field. */
static inline int hx_sfu_has(const hx_sfu_msg *m, hx_sfu_tag tag)
{
    return (m->present >> tag) & 1u;
}
/** A field as a NUL-terminated string in buf (truncated to cap - 1; "" when absent); returns buf.
 */
const char *hx_sfu_field_copy(const hx_sfu_msg *m, hx_sfu_tag tag, char *buf, size_t cap);
/** Compare a field to a NUL-terminated string. */
int hx_sfu_field_is(const hx_sfu_msg *m, hx_sfu_tag tag, const char *s);
/** Name of a kind, for logs ("transport.open", "ev.local_sdp", ...); "unknown" otherwise. */
const char *hx_sfu_kind_name(uint16_t kind);

/** Where a side delivers messages: the carrier between control plane and engine. */
typedef void (*hx_sfu_deliver_fn)(void *ctx, const uint8_t *msg, size_t len);

#endif
