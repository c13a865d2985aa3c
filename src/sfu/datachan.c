/*
 * Data channels: one SCTP association per transport, over its DTLS, once
 * DTLS is up and the SDP carried an application m-line. On the publisher
 * PC the client opens a channel labelled "hearth"; on the subscriber PC
 * hearth opens one. Every message a participant sends on its channel is
 * relayed to the subscriber channels of everyone else in the room as
 * "<participant id>\n<payload>", text as text and binary as binary. In a
 * room spread over workers, the home also sends each message to the other
 * workers for their subscribers (relay.c: in datagram-sized fragments).
 *
 * A client that accepts the application m-line but never answers SCTP's
 * INIT (hearth-load, a broken stack) does not keep an association
 * retransmitting: not up HX__SCTP_UP_MS after it started, it is dropped for
 * good (the transport's media is unaffected).
 *
 * Limits: the SCTP layer refuses messages over data_max_message and drops
 * those over the per-participant rate (sctp/sctp.h counts both); a relay
 * that would exceed a receiver's max-message-size, or meets its back
 * pressure, is dropped for that receiver only.
 */
#include "sfu/engine_internal.h"

#include <string.h>

#define LABEL "hearth"

static int sctp_send(void *ud, const uint8_t *buf, size_t len)
{
    hx__transport *t = ud;
    return t->dtls ? hx_dtls_send(t->dtls, buf, len) : -1;
}

void hx__data_deliver(hx__room *r, const char *from, size_t plen, const uint8_t *buf, size_t len,
                      bool binary)
{
    for (hx__transport *t = r->head; t; t = t->room_next) {
        if (t->role != HX__SUBSCRIBER || !t->sctp || t->data_sid < 0 ||
            (strlen(t->participant) == plen && !memcmp(t->participant, from, plen)))
            continue;
        if (!(t->flags & HX_SFU_F_DATA) || len > t->remote_max_message) continue;
        hx_sctp_channel_send(t->sctp, (uint16_t)t->data_sid, binary, buf, len);
    }
}

static void relay(hx__transport *from, const hx_sctp_event *ev)
{
    hx__room *r = from->room_of;
    if (!r || !(from->flags & HX_SFU_F_DATA)) return;
    size_t plen = strlen(from->participant);
    uint8_t *buf = from->e->relay;
    if (ev->len + plen + 1 > HX__RELAY_MAX) return;
    memcpy(buf, from->participant, plen);
    buf[plen] = '\n';
    if (ev->len) memcpy(buf + plen + 1, ev->data, ev->len);
    hx__data_deliver(r, from->participant, plen, buf, ev->len + plen + 1, ev->binary);
    hx__relay_data(r, buf, ev->len + plen + 1, ev->binary); /* the room's other workers */
}

static void on_event(void *ud, hx_sctp_assoc *a, const hx_sctp_event *ev)
{
    hx__transport *t = ud;
    (void)a;
    switch (ev->type) {
    case HX_SCTP_EV_UP:
        if (t->role == HX__SUBSCRIBER) {
            hx_sctp_channel_info info = {.channel_type = HX_DCEP_RELIABLE,
                                         .label = (const uint8_t *)LABEL,
                                         .label_len = sizeof LABEL - 1};
            int sid = hx_sctp_channel_open(t->sctp, &info);
            if (sid >= 0) t->data_sid = sid;
        }
        break;
    case HX_SCTP_EV_CHANNEL_OPEN:
        if (ev->remote && t->role == HX__PUBLISHER && ev->info &&
            ev->info->label_len == sizeof LABEL - 1 &&
            !memcmp(ev->info->label, LABEL, sizeof LABEL - 1))
            t->data_sid = ev->sid;
        break;
    case HX_SCTP_EV_MESSAGE:
        if (t->role == HX__PUBLISHER && (int)ev->sid == t->data_sid) relay(t, ev);
        break;
    case HX_SCTP_EV_CHANNEL_CLOSED:
        if ((int)ev->sid == t->data_sid) t->data_sid = -1;
        break;
    default:
        break;
    }
}

int hx__data_start(hx__transport *t)
{
    if (t->sctp || !(t->flags & HX_SFU_F_DATA) || t->data_started_ms < 0) return 0;
    hx_sctp_config cfg = {
        .remote_port = t->sctp_remote_port,
        .dtls_client = !t->dtls_server,
        .max_message_size = t->e->cfg.data_max_message,
        .remote_max_message_size = t->remote_max_message,
        .rx_rate = t->e->cfg.data_rate,
        .rx_burst = t->e->cfg.data_burst,
        /* usrsctp keeps per-stream state for every stream: 64 each way (32 channels a side)
         * instead of the 1024 default saves ~200 KiB per association. */
        .streams = 64,
        .send = sctp_send,
        .on_event = on_event,
        .ud = t,
    };
    if (hx_sctp_assoc_create(t->e->sctp, &cfg, &t->sctp) != 0) return -1;
    t->data_started_ms = t->e->now_ms;
    return hx_sctp_assoc_connect(t->sctp);
}

void hx__data_input(hx__transport *t, const uint8_t *buf, size_t len)
{
    if (t->sctp) hx_sctp_assoc_input(t->sctp, buf, len);
}

bool hx__data_waiting(const hx__transport *t)
{
    return t->sctp && t->data_started_ms > 0 && !hx_sctp_assoc_is_up(t->sctp);
}

void hx__data_tick(hx__transport *t)
{
    if (!hx__data_waiting(t) || t->e->now_ms - t->data_started_ms < HX__SCTP_UP_MS) return;
    hx__data_stop(t);
    t->data_started_ms = -1; /* not again on this transport */
}

void hx__data_stop(hx__transport *t)
{
    hx_sctp_assoc_destroy(t->sctp);
    t->sctp = NULL;
    t->data_sid = -1;
}
