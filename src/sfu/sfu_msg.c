/*
 * The engine boundary's message codec (sfu.h). Pure: builder into a caller
 * buffer, parser into a view; no allocation, every length checked against
 * what is left of the buffer before it is used.
 */
#include "sfu/sfu.h"
#include "common/bytes.h"

#include <string.h>

static int kind_known(uint16_t k)
{
    return (k >= HX_SFU_TRANSPORT_OPEN && k <= HX_SFU_RELAY_DROP) ||
           (k >= HX_SFU_EV_LOCAL_SDP && k <= HX_SFU_EV_RECEIVING);
}

void hx_sfu_build(hx_sfu_builder *b, uint8_t *buf, size_t cap, hx_sfu_kind kind, uint64_t transport)
{
    memset(b, 0, sizeof *b);
    b->buf = buf;
    b->cap = cap < HX_SFU_MSG_MAX ? cap : HX_SFU_MSG_MAX;
    if (b->cap < HX_SFU_HEADER) {
        b->err = -1;
        return;
    }
    memset(buf, 0, HX_SFU_HEADER);
    hx_wr16(buf, (uint16_t)kind);
    hx_wr64(buf + 8, transport);
    b->len = HX_SFU_HEADER;
}

static uint8_t *field(hx_sfu_builder *b, hx_sfu_tag tag, size_t len)
{
    size_t padded = (len + 3) & ~(size_t)3;
    if (b->err || tag <= 0 || tag >= HX_SFU_T_MAX_ || len > 0xffff ||
        b->nfields >= HX_SFU_MAX_FIELDS || b->cap - b->len < 4 + padded) {
        b->err = -1;
        return NULL;
    }
    uint8_t *p = b->buf + b->len;
    p[0] = (uint8_t)tag;
    p[1] = 0;
    hx_wr16(p + 2, (uint16_t)len);
    memset(p + 4 + len, 0, padded - len);
    b->len += 4 + padded;
    b->nfields++;
    return p + 4;
}

void hx_sfu_put_str(hx_sfu_builder *b, hx_sfu_tag tag, const char *s, size_t len)
{
    uint8_t *p = field(b, tag, len);
    if (p && len) memcpy(p, s, len);
}

void hx_sfu_put_cstr(hx_sfu_builder *b, hx_sfu_tag tag, const char *s)
{
    hx_sfu_put_str(b, tag, s ? s : "", s ? strlen(s) : 0);
}

void hx_sfu_put_flags(hx_sfu_builder *b, uint32_t flags)
{
    uint8_t *p = field(b, HX_SFU_T_FLAGS, 4);
    if (p) hx_wr32(p, flags);
}

void hx_sfu_put_stats(hx_sfu_builder *b, const uint64_t stats[HX_SFU_STATS_N])
{
    uint8_t *p = field(b, HX_SFU_T_STATS, 8 * HX_SFU_STATS_N);
    for (int i = 0; p && i < HX_SFU_STATS_N; i++)
        hx_wr64(p + 8 * i, stats[i]);
}

long hx_sfu_finish(hx_sfu_builder *b)
{
    if (b->err) return -1;
    hx_wr16(b->buf + 2, b->nfields);
    hx_wr32(b->buf + 4, (uint32_t)b->len);
    return (long)b->len;
}

int hx_sfu_parse(const uint8_t *buf, size_t len, hx_sfu_msg *m, const char **why)
{
    memset(m, 0, sizeof *m);
    if (len < HX_SFU_HEADER || len > HX_SFU_MSG_MAX) {
        *why = "message shorter than its header or over the maximum";
        return -1;
    }
    if (hx_rd32(buf + 4) != len) {
        *why = "length field does not match the message";
        return -2;
    }
    m->kind = hx_rd16(buf);
    if (!kind_known(m->kind)) {
        *why = "unknown message kind";
        return -3;
    }
    uint16_t n = hx_rd16(buf + 2);
    if (n > HX_SFU_MAX_FIELDS) {
        *why = "too many fields";
        return -4;
    }
    m->transport = hx_rd64(buf + 8);
    size_t off = HX_SFU_HEADER;
    for (uint16_t i = 0; i < n; i++) {
        if (len - off < 4) {
            *why = "field header past the end";
            return -5;
        }
        uint8_t tag = buf[off];
        size_t flen = hx_rd16(buf + off + 2), padded = (flen + 3) & ~(size_t)3;
        if (tag == 0 || tag >= HX_SFU_T_MAX_ || buf[off + 1] != 0) {
            *why = "unknown field tag";
            return -6;
        }
        if (len - off - 4 < padded) {
            *why = "field past the end";
            return -5;
        }
        if (hx_sfu_has(m, (hx_sfu_tag)tag)) {
            *why = "duplicate field";
            return -7;
        }
        const uint8_t *v = buf + off + 4;
        if (tag == HX_SFU_T_FLAGS) {
            if (flen != 4) {
                *why = "flags field is not 4 bytes";
                return -8;
            }
            m->flags = hx_rd32(v);
        } else if (tag == HX_SFU_T_STATS) {
            if (flen != 8 * HX_SFU_STATS_N) {
                *why = "stats field has the wrong size";
                return -8;
            }
            for (int k = 0; k < HX_SFU_STATS_N; k++)
                m->stats[k] = hx_rd64(v + 8 * k);
        }
        m->f[tag] = (hx_sfu_str){(const char *)v, flen};
        m->present |= 1u << tag;
        off += 4 + padded;
    }
    if (off != len) {
        *why = "bytes after the last field";
        return -9;
    }
    return 0;
}

const char *hx_sfu_field_copy(const hx_sfu_msg *m, hx_sfu_tag tag, char *buf, size_t cap)
{
    size_t n = m->f[tag].len < cap - 1 ? m->f[tag].len : cap - 1;
    if (n) memcpy(buf, m->f[tag].p, n);
    buf[n] = '\0';
    return buf;
}

int hx_sfu_field_is(const hx_sfu_msg *m, hx_sfu_tag tag, const char *s)
{
    size_t n = strlen(s);
    return hx_sfu_has(m, tag) && m->f[tag].len == n && memcmp(m->f[tag].p, s, n) == 0;
}

const char *hx_sfu_kind_name(uint16_t kind)
{
    static const char *const cmds[] = {
        "transport.open", "transport.close",
        "remote.sdp",     "remote.candidate",
        "subscribe",      "unsubscribe",
        "pause",          "resume",
        "set_layer",      "mute",
        "ice_restart",    "pin",
        "relay.out",      "relay.in",
        "relay.drop",
    };
    static const char *const evs[] = {
        "ev.local_sdp",    "ev.local_candidate",    "ev.state",     "ev.track_published",
        "ev.track_closed", "ev.keyframe_needed",    "ev.stats",     "ev.error",
        "ev.done",         "ev.negotiation_failed", "ev.milestone", "ev.speakers",
        "ev.layers",       "ev.receiving",
    };
    if (kind >= HX_SFU_TRANSPORT_OPEN && kind <= HX_SFU_RELAY_DROP)
        return cmds[kind - HX_SFU_TRANSPORT_OPEN];
    if (kind >= HX_SFU_EV_LOCAL_SDP && kind <= HX_SFU_EV_RECEIVING)
        return evs[kind - HX_SFU_EV_LOCAL_SDP];
    return "unknown";
}
