/*
 * The signaling protocol's versions, described as data (docs/protocol.md §5).
 * Each client message names the version that introduced it, the one that
 * deprecated it and the one that removed it; the dispatcher asks this table
 * whether a type exists in the session's version and whether to send a
 * `deprecated` notice. The conformance suite runs once per served version.
 */
#ifndef HX_SIGNAL_PROTOCOL_H
#define HX_SIGNAL_PROTOCOL_H

#define HX_PROTO_MIN 1
#define HX_PROTO_MAX 2

typedef enum hx_msg_kind {
    HX_MSG_JOIN = 1,
    HX_MSG_LEAVE,
    HX_MSG_PING,
    HX_MSG_ROOM_INFO,
    HX_MSG_SDP_OFFER,
    HX_MSG_SDP_ANSWER,
    HX_MSG_ICE_CANDIDATE,
    HX_MSG_TRACK_SUBSCRIBE,
    HX_MSG_TRACK_UNSUBSCRIBE,
    HX_MSG_TRACK_PAUSE,
    HX_MSG_TRACK_RESUME,
    HX_MSG_TRACK_LAYER,
    HX_MSG_MODERATE,
    HX_MSG_VOTE,
    HX_MSG_RESUME,
    HX_MSG_ICE_RESTART,
    HX_MSG_TRACK_PIN,
    HX_MSG_DATA_SEND,
} hx_msg_kind;

typedef struct hx_msg_desc {
    const char *type;
    hx_msg_kind kind;
    int since;         /* first version with the message */
    int deprecated_in; /* 0 = not deprecated */
    int removed_in;    /* 0 = not removed; absent from this version on */
} hx_msg_desc;

/** The description of `type` if version `v` has it, else NULL. */
const hx_msg_desc *hx_protocol_lookup(int v, const char *type);
/** True when version v is served. */
int hx_protocol_served(int v);
/** True when the message is deprecated in version v. */
int hx_protocol_deprecated(const hx_msg_desc *d, int v);

#endif
