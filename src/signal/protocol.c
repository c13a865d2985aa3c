#include "signal/protocol.h"

#include <string.h>

/* The client -> server messages of every served version. */
static const hx_msg_desc client_messages[] = {
    {"join", HX_MSG_JOIN, 1, 0, 0},
    {"leave", HX_MSG_LEAVE, 1, 0, 0},
    /* Replaced by the server's WebSocket pings, which browsers answer themselves. */
    {"ping", HX_MSG_PING, 1, 1, 2},
    {"room.info", HX_MSG_ROOM_INFO, 2, 0, 0},
    /* Media (additive within version 2). */
    {"sdp.offer", HX_MSG_SDP_OFFER, 2, 0, 0},
    {"sdp.answer", HX_MSG_SDP_ANSWER, 2, 0, 0},
    {"ice.candidate", HX_MSG_ICE_CANDIDATE, 2, 0, 0},
    {"track.subscribe", HX_MSG_TRACK_SUBSCRIBE, 2, 0, 0},
    {"track.unsubscribe", HX_MSG_TRACK_UNSUBSCRIBE, 2, 0, 0},
    {"track.pause", HX_MSG_TRACK_PAUSE, 2, 0, 0},
    {"track.resume", HX_MSG_TRACK_RESUME, 2, 0, 0},
    {"track.layer", HX_MSG_TRACK_LAYER, 2, 0, 0},
    {"track.pin", HX_MSG_TRACK_PIN, 2, 0, 0}, /* additive within version 2 */
    /* Moderation (additive within version 2). */
    {"moderate", HX_MSG_MODERATE, 2, 0, 0},
    {"vote", HX_MSG_VOTE, 2, 0, 0},
    {"resume", HX_MSG_RESUME, 2, 0, 0},
    {"ice.restart", HX_MSG_ICE_RESTART, 2, 0, 0},
    {"data.send", HX_MSG_DATA_SEND, 2, 0, 0}, /* additive within version 2 */
};

int hx_protocol_served(int v)
{
    return v >= HX_PROTO_MIN && v <= HX_PROTO_MAX;
}

const hx_msg_desc *hx_protocol_lookup(int v, const char *type)
{
    for (size_t i = 0; i < sizeof client_messages / sizeof client_messages[0]; i++) {
        const hx_msg_desc *d = &client_messages[i];
        if (strcmp(d->type, type) != 0) continue;
        if (v < d->since || (d->removed_in && v >= d->removed_in)) return NULL;
        return d;
    }
    return NULL;
}

int hx_protocol_deprecated(const hx_msg_desc *d, int v)
{
    return d->deprecated_in && v >= d->deprecated_in;
}
