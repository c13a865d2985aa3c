/*
 * DCEP codec (RFC 8832 §5). Parsing is strict: the message must be exactly
 * header + label + protocol bytes, the channel type one of the six §5.1
 * defines, and both strings valid UTF-8 (§5.1: "UTF-8 encoded"), because
 * the label and protocol are handed to the control plane and end up in
 * JSON. Nothing is copied; the parsed OPEN points into the input.
 */
#include "sctp/dcep.h"
#include "common/bytes.h"

static uint8_t *put_u16(uint8_t *p, uint16_t v)
{
    *p++ = (uint8_t)(v >> 8);
    *p++ = (uint8_t)v;
    return p;
}

int hx_dcep_channel_type_valid(uint8_t t)
{
    switch (t & (uint8_t)~HX_DCEP_UNORDERED) {
    case HX_DCEP_RELIABLE:
    case HX_DCEP_PARTIAL_RELIABLE_REXMIT:
    case HX_DCEP_PARTIAL_RELIABLE_TIMED:
        return 1;
    default:
        return 0;
    }
}

/* RFC 3629 §4: shortest form only, no UTF-16 surrogates, at most U+10FFFF. */
int hx_dcep_utf8_valid(const uint8_t *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        uint8_t c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t n;
        uint8_t lo = 0x80, hi = 0xbf; /* allowed range of the second byte */
        if (c >= 0xc2 && c <= 0xdf) {
            n = 1;
        } else if (c >= 0xe0 && c <= 0xef) {
            n = 2;
            if (c == 0xe0) lo = 0xa0;
            if (c == 0xed) hi = 0x9f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3;
            if (c == 0xf0) lo = 0x90;
            if (c == 0xf4) hi = 0x8f;
        } else {
            return 0;
        }
        if (len - i - 1 < n) return 0;
        if (s[i + 1] < lo || s[i + 1] > hi) return 0;
        for (size_t k = 2; k <= n; k++)
            if ((s[i + k] & 0xc0) != 0x80) return 0;
        i += n + 1;
    }
    return 1;
}

int hx_dcep_type(const uint8_t *buf, size_t len)
{
    return len < 1 ? HX_DCEP_ETRUNC : buf[0];
}

int hx_dcep_parse_open(const uint8_t *buf, size_t len, hx_dcep_open *out)
{
    if (len < 1) return HX_DCEP_ETRUNC;
    if (buf[0] != HX_DCEP_OPEN) return HX_DCEP_ETYPE;
    if (len < HX_DCEP_OPEN_HEADER) return HX_DCEP_ETRUNC;
    hx_dcep_open o = {
        .channel_type = buf[1],
        .priority = hx_rd16(buf + 2),
        .reliability = hx_rd32(buf + 4),
        .label_len = hx_rd16(buf + 8),
        .protocol_len = hx_rd16(buf + 10),
    };
    size_t need = (size_t)HX_DCEP_OPEN_HEADER + o.label_len + o.protocol_len;
    if (len < need) return HX_DCEP_ETRUNC;
    if (len > need) return HX_DCEP_ETRAIL;
    if (!hx_dcep_channel_type_valid(o.channel_type)) return HX_DCEP_ECHANNEL;
    o.label = buf + HX_DCEP_OPEN_HEADER;
    o.protocol = o.label + o.label_len;
    if (!hx_dcep_utf8_valid(o.label, o.label_len) ||
        !hx_dcep_utf8_valid(o.protocol, o.protocol_len))
        return HX_DCEP_EUTF8;
    *out = o;
    return HX_DCEP_OK;
}

long hx_dcep_write_open(const hx_dcep_open *o, uint8_t *buf, size_t cap)
{
    if (!hx_dcep_channel_type_valid(o->channel_type)) return HX_DCEP_ECHANNEL;
    if ((o->label_len && !o->label) || (o->protocol_len && !o->protocol)) return HX_DCEP_EINVAL;
    if (!hx_dcep_utf8_valid(o->label, o->label_len) ||
        !hx_dcep_utf8_valid(o->protocol, o->protocol_len))
        return HX_DCEP_EUTF8;
    size_t need = (size_t)HX_DCEP_OPEN_HEADER + o->label_len + o->protocol_len;
    if (cap < need) return HX_DCEP_ENOSPACE;
    uint8_t *p = buf;
    *p++ = HX_DCEP_OPEN;
    *p++ = o->channel_type;
    p = put_u16(p, o->priority);
    p = put_u16(p, (uint16_t)(o->reliability >> 16));
    p = put_u16(p, (uint16_t)o->reliability);
    p = put_u16(p, o->label_len);
    p = put_u16(p, o->protocol_len);
    for (uint16_t i = 0; i < o->label_len; i++)
        *p++ = o->label[i];
    for (uint16_t i = 0; i < o->protocol_len; i++)
        *p++ = o->protocol[i];
    return (long)need;
}

int hx_dcep_parse_ack(const uint8_t *buf, size_t len)
{
    if (len < 1) return HX_DCEP_ETRUNC;
    if (buf[0] != HX_DCEP_ACK) return HX_DCEP_ETYPE;
    return len == 1 ? HX_DCEP_OK : HX_DCEP_ETRAIL;
}

long hx_dcep_write_ack(uint8_t *buf, size_t cap)
{
    if (cap < 1) return HX_DCEP_ENOSPACE;
    buf[0] = HX_DCEP_ACK;
    return 1;
}

hx_ppid_class hx_dcep_ppid_class(uint32_t ppid)
{
    switch (ppid) {
    case HX_PPID_DCEP:
        return HX_PPID_CLASS_CONTROL;
    case HX_PPID_STRING:
    case HX_PPID_STRING_EMPTY:
        return HX_PPID_CLASS_STRING;
    case HX_PPID_BINARY:
    case HX_PPID_BINARY_EMPTY:
        return HX_PPID_CLASS_BINARY;
    case HX_PPID_BINARY_PARTIAL:
    case HX_PPID_STRING_PARTIAL:
        return HX_PPID_CLASS_REFUSED;
    default:
        return HX_PPID_CLASS_UNKNOWN;
    }
}

const char *hx_dcep_strerror(int err)
{
    switch (err) {
    case HX_DCEP_OK:
        return "ok";
    case HX_DCEP_ETRUNC:
        return "DCEP message truncated";
    case HX_DCEP_ETRAIL:
        return "DCEP message has trailing bytes";
    case HX_DCEP_ETYPE:
        return "unexpected DCEP message type";
    case HX_DCEP_ECHANNEL:
        return "invalid DCEP channel type";
    case HX_DCEP_EUTF8:
        return "DCEP label or protocol is not UTF-8";
    case HX_DCEP_ENOSPACE:
        return "buffer too small for DCEP message";
    case HX_DCEP_EINVAL:
        return "invalid DCEP argument";
    default:
        return "unknown DCEP error";
    }
}
