/*
 * Data channels on one association: DCEP (RFC 8832), user messages
 * (RFC 8831 §6.6) and close by stream reset (§6.7).
 *
 * The table has one slot per stream id. Ids of our parity are ours to
 * open (DTLS client: even, server: odd, RFC 8832 §6); the peer opens the
 * others. A slot goes FREE -> CONNECTING (our OPEN sent) -> OPEN (ACK
 * received), or FREE -> OPEN (the peer's OPEN accepted and ACKed), then
 * CLOSING once either side resets its outgoing stream, and back to FREE
 * when both directions are reset; the peer's reset is answered with ours.
 *
 * Receiving: usrsctp hands over whole messages, or pieces under partial
 * delivery (no MSG_EOR yet); pieces are collected in the slot's buffer up
 * to the size limit, then the message is dropped and counted. Empty
 * messages travel as one byte under PPIDs 56/57 (§6.6), delivered as len 0.
 * The deprecated partial PPIDs 52/54 and unknown PPIDs are dropped.
 */
#include "sctp/sctp_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define RESET_BATCH 64

static void free_slot(hx__chan *c)
{
    uint8_t *buf = c->rx_buf;
    size_t cap = c->rx_cap;
    memset(c, 0, sizeof *c);
    c->rx_buf = buf;
    c->rx_cap = cap;
}

int hx__chan_sendv(hx_sctp_assoc *a, uint16_t sid, uint32_t ppid, const uint8_t *data, size_t len,
                   bool unordered, uint8_t channel_type, uint32_t reliability)
{
    struct sctp_sendv_spa spa = {.sendv_flags = SCTP_SEND_SNDINFO_VALID};
    spa.sendv_sndinfo.snd_sid = sid;
    spa.sendv_sndinfo.snd_ppid = htonl(ppid);
    spa.sendv_sndinfo.snd_flags = SCTP_EOR | (unordered ? SCTP_UNORDERED : 0);
    uint8_t pr = channel_type & (uint8_t)~HX_DCEP_UNORDERED;
    if (pr != HX_DCEP_RELIABLE) {
        spa.sendv_flags |= SCTP_SEND_PRINFO_VALID;
        spa.sendv_prinfo.pr_policy =
            pr == HX_DCEP_PARTIAL_RELIABLE_REXMIT ? SCTP_PR_SCTP_RTX : SCTP_PR_SCTP_TTL;
        spa.sendv_prinfo.pr_value = reliability;
    }
    if (usrsctp_sendv(a->sock, data, len, NULL, 0, &spa, sizeof spa, SCTP_SENDV_SPA, 0) >= 0)
        return HX_SCTP_OK;
    if (errno == EWOULDBLOCK || errno == EAGAIN) {
        a->blocked = true;
        a->stats.tx_blocked++;
        return HX_SCTP_EAGAIN;
    }
    return errno == EMSGSIZE ? HX_SCTP_ETOOBIG : HX_SCTP_ESTACK;
}

static int send_dcep(hx_sctp_assoc *a, uint16_t sid, const uint8_t *msg, size_t len)
{
    /* Control messages are reliable and ordered (RFC 8832 §6). */
    return hx__chan_sendv(a, sid, HX_PPID_DCEP, msg, len, false, HX_DCEP_RELIABLE, 0);
}

int hx_sctp_channel_open(hx_sctp_assoc *a, const hx_sctp_channel_info *info)
{
    if (!a->up) return HX_SCTP_ENOTUP;
    hx_dcep_open o = {
        .channel_type = info->channel_type,
        .priority = info->priority,
        .reliability = info->reliability,
        .label = info->label,
        .label_len = info->label_len,
        .protocol = info->protocol,
        .protocol_len = info->protocol_len,
    };
    size_t need = HX_DCEP_OPEN_HEADER + (size_t)o.label_len + o.protocol_len;
    if (need > a->cfg.remote_max_message_size) return HX_SCTP_ETOOBIG;
    unsigned limit = a->n_out < a->cfg.streams ? a->n_out : a->cfg.streams;
    unsigned sid = a->cfg.dtls_client ? 0 : 1;
    while (sid < limit && a->chans[sid].state != HX__CHAN_FREE)
        sid += 2;
    if (sid >= limit) return HX_SCTP_ENOSTREAM;
    uint8_t *msg = malloc(need);
    if (!msg) return HX_SCTP_ENOMEM;
    long n = hx_dcep_write_open(&o, msg, need);
    int rc = n < 0 ? HX_SCTP_EINVAL : send_dcep(a, (uint16_t)sid, msg, (size_t)n);
    free(msg);
    if (rc) return rc;
    hx__chan *c = &a->chans[sid];
    c->state = HX__CHAN_CONNECTING;
    c->channel_type = o.channel_type;
    c->reliability = o.reliability;
    return (int)sid;
}

int hx_sctp_channel_send(hx_sctp_assoc *a, uint16_t sid, bool binary, const uint8_t *data,
                         size_t len)
{
    static const uint8_t empty = 0;
    if (!a->up) return HX_SCTP_ENOTUP;
    if (sid >= a->cfg.streams) return HX_SCTP_ENOTOPEN;
    hx__chan *c = &a->chans[sid];
    if (c->state != HX__CHAN_OPEN && c->state != HX__CHAN_CONNECTING) return HX_SCTP_ENOTOPEN;
    if (len > a->cfg.remote_max_message_size) return HX_SCTP_ETOOBIG;
    uint32_t ppid = binary ? HX_PPID_BINARY : HX_PPID_STRING;
    if (len == 0) {
        ppid = binary ? HX_PPID_BINARY_EMPTY : HX_PPID_STRING_EMPTY;
        data = &empty;
        len = 1;
    }
    /* Until the ACK arrives, messages go ordered behind the OPEN (RFC 8832 §6). */
    bool unordered = (c->channel_type & HX_DCEP_UNORDERED) && c->state == HX__CHAN_OPEN;
    int rc = hx__chan_sendv(a, sid, ppid, data, len, unordered, c->channel_type, c->reliability);
    if (rc == HX_SCTP_OK) a->stats.tx_messages++;
    return rc;
}

int hx_sctp_channel_close(hx_sctp_assoc *a, uint16_t sid)
{
    if (sid >= a->cfg.streams) return HX_SCTP_ENOTOPEN;
    hx__chan *c = &a->chans[sid];
    if (c->state != HX__CHAN_OPEN && c->state != HX__CHAN_CONNECTING) return HX_SCTP_ENOTOPEN;
    c->state = HX__CHAN_CLOSING;
    c->reset_pending = true;
    a->resets_pending = true;
    hx__chan_flush_resets(a);
    return HX_SCTP_OK;
}

void hx__chan_flush_resets(hx_sctp_assoc *a)
{
    if (!a->resets_pending || !a->up) return;
    uint8_t raw[sizeof(struct sctp_reset_streams) + RESET_BATCH * sizeof(uint16_t)];
    struct sctp_reset_streams *rs = (struct sctp_reset_streams *)(void *)raw;
    memset(raw, 0, sizeof raw);
    rs->srs_assoc_id = SCTP_ALL_ASSOC;
    rs->srs_flags = SCTP_STREAM_RESET_OUTGOING;
    uint16_t n = 0;
    bool more = false;
    for (unsigned sid = 0; sid < a->cfg.streams; sid++) {
        if (!a->chans[sid].reset_pending) continue;
        if (n == RESET_BATCH) {
            more = true;
            break;
        }
        rs->srs_stream_list[n++] = (uint16_t)sid;
    }
    a->resets_pending = more;
    if (!n) return;
    rs->srs_number_streams = n;
    socklen_t len = (socklen_t)(sizeof *rs + n * sizeof(uint16_t));
    if (usrsctp_setsockopt(a->sock, IPPROTO_SCTP, SCTP_RESET_STREAMS, rs, len) != 0) {
        /* One request at a time: retried when the current one completes. */
        a->resets_pending = true;
        return;
    }
    for (uint16_t i = 0; i < n; i++)
        a->chans[rs->srs_stream_list[i]].reset_pending = false;
}

static void emit_closed(hx_sctp_assoc *a, uint16_t sid)
{
    free_slot(&a->chans[sid]);
    hx_sctp_event ev = {.type = HX_SCTP_EV_CHANNEL_CLOSED, .sid = sid};
    hx__assoc_emit(a, &ev);
}

void hx__chan_stream_reset(hx_sctp_assoc *a, const uint16_t *sids, size_t n, bool incoming)
{
    for (size_t i = 0; i < n; i++) {
        uint16_t sid = sids[i];
        if (sid >= a->cfg.streams) continue;
        hx__chan *c = &a->chans[sid];
        if (c->state == HX__CHAN_FREE) continue;
        if (incoming) {
            c->in_reset = true;
            c->rx_len = 0;
            c->rx_dropping = false;
            if (c->state != HX__CHAN_CLOSING) {
                /* The peer closed: answer with our own reset (RFC 8831 §6.7). */
                c->state = HX__CHAN_CLOSING;
                c->reset_pending = true;
                a->resets_pending = true;
            }
        } else if (c->state == HX__CHAN_CLOSING && !c->reset_pending) {
            c->out_reset = true;
        }
        if (c->in_reset && c->out_reset) emit_closed(a, sid);
    }
}

void hx__chan_close_all(hx_sctp_assoc *a)
{
    for (unsigned sid = 0; sid < a->cfg.streams; sid++)
        if (a->chans[sid].state != HX__CHAN_FREE) emit_closed(a, (uint16_t)sid);
    a->resets_pending = false;
}

static void on_open(hx_sctp_assoc *a, uint16_t sid, const uint8_t *data, size_t len)
{
    hx_dcep_open o;
    hx__chan *c = &a->chans[sid];
    /* RFC 8832 §6 gives each side its own parity, but aiortc 1.4.0 picks by ICE role and
     * so opens odd ids as a DTLS client; like libwebrtc, accept any free stream. */
    if (hx_dcep_parse_open(data, len, &o) != HX_DCEP_OK || c->state != HX__CHAN_FREE) {
        a->stats.rx_bad_dcep++;
        return;
    }
    uint8_t ack[1];
    if (hx_dcep_write_ack(ack, sizeof ack) != 1 || send_dcep(a, sid, ack, sizeof ack) != 0) {
        a->stats.rx_bad_dcep++;
        return;
    }
    c->state = HX__CHAN_OPEN;
    c->channel_type = o.channel_type;
    c->reliability = o.reliability;
    hx_sctp_channel_info info = {
        .channel_type = o.channel_type,
        .priority = o.priority,
        .reliability = o.reliability,
        .label = o.label,
        .label_len = o.label_len,
        .protocol = o.protocol,
        .protocol_len = o.protocol_len,
    };
    hx_sctp_event ev = {.type = HX_SCTP_EV_CHANNEL_OPEN, .sid = sid, .remote = true, .info = &info};
    hx__assoc_emit(a, &ev);
}

static void on_ack(hx_sctp_assoc *a, uint16_t sid, const uint8_t *data, size_t len)
{
    hx__chan *c = &a->chans[sid];
    if (hx_dcep_parse_ack(data, len) != HX_DCEP_OK || c->state != HX__CHAN_CONNECTING) {
        a->stats.rx_bad_dcep++;
        return;
    }
    c->state = HX__CHAN_OPEN;
    hx_sctp_channel_info info = {.channel_type = c->channel_type, .reliability = c->reliability};
    hx_sctp_event ev = {.type = HX_SCTP_EV_CHANNEL_OPEN, .sid = sid, .info = &info};
    hx__assoc_emit(a, &ev);
}

void hx__chan_deliver(hx_sctp_assoc *a, uint16_t sid, uint32_t ppid, const uint8_t *data,
                      size_t len)
{
    hx__chan *c = &a->chans[sid];
    hx_ppid_class k = hx_dcep_ppid_class(ppid);
    if (k == HX_PPID_CLASS_CONTROL) {
        int t = hx_dcep_type(data, len);
        if (t == HX_DCEP_OPEN)
            on_open(a, sid, data, len);
        else if (t == HX_DCEP_ACK)
            on_ack(a, sid, data, len);
        else
            a->stats.rx_bad_dcep++;
        return;
    }
    if (k < 0) {
        a->stats.rx_bad_ppid++;
        return;
    }
    if (c->state == HX__CHAN_FREE || c->in_reset) {
        a->stats.rx_no_channel++;
        return;
    }
    if (a->cfg.rx_rate > 0 && !hx_bucket_take(&a->bucket, hx__assoc_now(a))) {
        a->stats.rx_rate_limited++;
        return;
    }
    if (ppid == HX_PPID_STRING_EMPTY || ppid == HX_PPID_BINARY_EMPTY) len = 0;
    a->stats.rx_messages++;
    hx_sctp_event ev = {.type = HX_SCTP_EV_MESSAGE,
                        .sid = sid,
                        .ppid = ppid,
                        .binary = k == HX_PPID_CLASS_BINARY,
                        .data = len ? data : NULL,
                        .len = len};
    hx__assoc_emit(a, &ev);
}

static bool grow(hx__chan *c, size_t need, size_t limit)
{
    if (need <= c->rx_cap) return true;
    size_t cap = c->rx_cap ? c->rx_cap : 16384;
    while (cap < need)
        cap *= 2;
    if (cap > limit) cap = limit;
    uint8_t *p = realloc(c->rx_buf, cap);
    if (!p) return false;
    c->rx_buf = p;
    c->rx_cap = cap;
    return true;
}

void hx__chan_receive(hx_sctp_assoc *a, uint16_t sid, uint32_t ppid, const uint8_t *data,
                      size_t len, bool eor)
{
    if (sid >= a->cfg.streams) {
        a->stats.rx_no_channel++;
        return;
    }
    hx__chan *c = &a->chans[sid];
    size_t limit = ppid == HX_PPID_DCEP ? HX_DCEP_OPEN_MAX : a->cfg.max_message_size;
    if (c->rx_dropping) {
        c->rx_dropping = !eor;
        return;
    }
    if (eor && c->rx_len == 0) {
        if (len > limit) {
            a->stats.rx_oversize++;
            return;
        }
        hx__chan_deliver(a, sid, ppid, data, len);
        return;
    }
    if (c->rx_len + len > limit || !grow(c, c->rx_len + len, limit)) {
        a->stats.rx_oversize++;
        c->rx_len = 0;
        c->rx_dropping = !eor;
        return;
    }
    memcpy(c->rx_buf + c->rx_len, data, len);
    c->rx_len += len;
    if (!eor) return;
    size_t n = c->rx_len;
    c->rx_len = 0;
    hx__chan_deliver(a, sid, ppid, c->rx_buf, n);
}
