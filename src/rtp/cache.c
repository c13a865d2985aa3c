/*
 * Packet cache and RTX (RFC 4588 §4).
 *
 * Slot i holds the packet whose seq is i modulo capacity; since capacity
 * divides 65536 a seq always lands in the same slot, and the slot keeps
 * the extended seq so an entry from a previous lap (or an empty slot) is
 * never mistaken for the one asked for. "Extended" comes from one
 * unwrapper fed by put(): a lookup extends the asked seq relative to the
 * newest packet stored, and anything more than capacity behind it is
 * gone. Time bounds the cache too: an entry older than max_age_us is as
 * good as absent (a retransmission that late only hurts).
 *
 * The NACK rate limit lives in the entry (resent_us), so a seq asked for
 * by several NACKs, or by several subscribers sharing the publisher's
 * cache, goes out at most once per interval.
 *
 * RTX payload (RFC 4588 §4): the original sequence number (2 bytes),
 * then the original payload. The RTX packet keeps the original timestamp,
 * marker, CSRCs and extensions; it has its own SSRC, PT and seq space.
 */
#include "rtp/cache.h"

#include "rtp/rtp_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int hx_rtp_cache_init(hx_rtp_cache *c, size_t capacity, uint64_t max_age_us)
{
    memset(c, 0, sizeof *c);
    if (capacity < 16 || capacity > HX_RTP_CACHE_MAX || (capacity & (capacity - 1))) return -EINVAL;
    c->slots = calloc(capacity, sizeof *c->slots);
    if (!c->slots) return -ENOMEM;
    c->capacity = capacity;
    c->max_age_us = max_age_us;
    hx_seq_unwrap_init(&c->seq);
    return 0;
}

void hx_rtp_cache_destroy(hx_rtp_cache *c)
{
    free(c->slots);
    c->slots = NULL;
    c->capacity = 0;
}

int hx_rtp_cache_put(hx_rtp_cache *c, const uint8_t *pkt, size_t len, uint64_t now_us)
{
    hx_rtp_hdr h;
    uint64_t ext;
    if (!c->slots) return HX_RTP_EINVAL;
    if (len > HX_RTP_MAX_PACKET) return HX_RTP_ENOSPACE;
    int rc = hx_rtp_parse(pkt, len, &h);
    if (rc != HX_RTP_OK) return rc;
    if (hx_seq_unwrap_push(&c->seq, h.seq, &ext) == HX_SEQ_BAD) return HX_RTP_EINVAL;
    hx_rtp_cache_entry *e = &c->slots[h.seq & (c->capacity - 1)];
    if (e->ext_seq > ext) return HX_RTP_OK; /* a newer packet already owns the slot */
    e->ext_seq = ext;
    e->arrival_us = now_us;
    e->resent_us = 0;
    e->len = (uint16_t)len;
    memcpy(e->data, pkt, len);
    return HX_RTP_OK;
}

static hx_rtp_cache_entry *lookup(const hx_rtp_cache *c, uint16_t seq, uint64_t now_us)
{
    if (!c->slots || !c->seq.started) return NULL;
    uint64_t ext = hx_seq_unwrap_peek(&c->seq, seq);
    hx_rtp_cache_entry *e = &c->slots[seq & (c->capacity - 1)];
    if (e->ext_seq != ext || c->seq.max - ext >= c->capacity) return NULL;
    if (now_us > e->arrival_us && now_us - e->arrival_us > c->max_age_us) return NULL;
    return e;
}

const hx_rtp_cache_entry *hx_rtp_cache_get(const hx_rtp_cache *c, uint16_t seq, uint64_t now_us)
{
    return lookup(c, seq, now_us);
}

const hx_rtp_cache_entry *hx_rtp_cache_resend(hx_rtp_cache *c, uint16_t seq, uint64_t now_us,
                                              uint64_t min_interval_us)
{
    hx_rtp_cache_entry *e = lookup(c, seq, now_us);
    if (!e) return NULL;
    if (e->resent_us && now_us - e->resent_us < min_interval_us) return NULL;
    e->resent_us = now_us ? now_us : 1;
    return e;
}

long hx_rtx_wrap(uint8_t *out, size_t cap, const uint8_t *pkt, size_t len, uint32_t rtx_ssrc,
                 uint8_t rtx_pt, uint16_t rtx_seq)
{
    hx_rtp_hdr h;
    int rc = hx_rtp_parse(pkt, len, &h);
    if (rc != HX_RTP_OK) return rc;
    if (rtx_pt > 127) return HX_RTP_EINVAL;
    size_t total = h.payload_offset + 2 + h.payload_len;
    if (!out || total > cap || total > HX_RTP_MAX_PACKET) return HX_RTP_ENOSPACE;
    memcpy(out, pkt, h.payload_offset);
    out[0] &= (uint8_t)~0x20; /* the original's padding is not carried */
    hx_rtp_set_pt(out, rtx_pt);
    hx_rtp_set_seq(out, rtx_seq);
    hx_rtp_set_ssrc(out, rtx_ssrc);
    hx_wr16(out + h.payload_offset, h.seq);
    memcpy(out + h.payload_offset + 2, pkt + h.payload_offset, h.payload_len);
    return (long)total;
}

long hx_rtx_unwrap(uint8_t *buf, size_t len, uint32_t ssrc, uint8_t pt)
{
    hx_rtp_hdr h;
    int rc = hx_rtp_parse(buf, len, &h);
    if (rc != HX_RTP_OK) return rc;
    if (h.payload_len < 2 || pt > 127) return HX_RTP_EINVAL;
    uint16_t osn = hx_rd16(buf + h.payload_offset);
    /* payload and any padding move down over the OSN */
    memmove(buf + h.payload_offset, buf + h.payload_offset + 2, len - h.payload_offset - 2);
    hx_rtp_set_seq(buf, osn);
    hx_rtp_set_ssrc(buf, ssrc);
    hx_rtp_set_pt(buf, pt);
    return (long)(len - 2);
}
