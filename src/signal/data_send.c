/*
 * `data.send` (docs/protocol.md §2.10): a text message from one participant to one other in its
 * room. It goes over the signaling WebSocket, not the data channel, whose messages the engine
 * relays to the whole room: the control plane knows who is in the room and holds the target's
 * connection, so nothing changes in the media plane (nor in a room spread over workers).
 *
 * The sender needs the `data` grant; the target is a participant id of the sender's room, not the
 * sender, with the `data` grant and its connection up (a participant resuming is refused rather
 * than queued for). The target gets `data` {"from", "data"} after the room events waiting for it;
 * the sender's `ack` means it was handed to the target's connection. The WebSocket's own limits
 * hold (max_message_bytes per message, the per-connection rate); the text is not stored.
 */
#include "signal/registry.h"

#include "room/room.h"

void hx_session_data_send(hx_session *s, const char *id, json_t *data)
{
    if (!(s->p.grants & HX_GRANT_DATA)) {
        hx_session_error(s, id, "not_allowed", "this session may not send data");
        return;
    }
    const char *to = json_string_value(json_object_get(data, "to"));
    json_t *payload = json_object_get(data, "data");
    if (!to || !json_is_string(payload)) {
        hx_session_error(s, id, "bad_request", "data.send needs a string `to` and a string `data`");
        return;
    }
    hx_participant *p = hx_room_find_participant(s->p.room, to);
    if (!p || p == &s->p) {
        hx_session_error(s, id, "target_not_found", "no such participant in the room");
        return;
    }
    hx_session *t = p->owner;
    if (!(p->grants & HX_GRANT_DATA)) {
        hx_session_error(s, id, "not_allowed", "that participant does not receive data");
        return;
    }
    if (!t || t->state != HX_SESSION_JOINED) {
        hx_session_error(s, id, "target_unavailable", "that participant is reconnecting");
        return;
    }
    hx_session_send(t, "data", NULL, json_pack("{s:s, s:O}", "from", s->p.id, "data", payload));
    hx_session_send(s, "ack", id, NULL);
}
