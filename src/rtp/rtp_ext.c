/*
 * RTP header extensions, RFC 8285: walking, typed reads, in-place value
 * writes and id remapping.
 *
 * Two forms share the RFC 3550 extension block:
 *   one-byte (profile 0xBEDE, §4.2): per element a byte ID(4) L(4), the
 *     value is L+1 bytes; ids 1-14; id 15 stops processing of the block;
 *   two-byte (profile 0x100X, §4.3): per element ID(8) L(8), L value
 *     bytes (0 allowed); the low 4 profile bits are application bits.
 * In both, a zero byte between elements is padding. A byte whose one-byte
 * id is 0 is skipped as padding too, ignoring its length nibble (what
 * libwebrtc does), so zeroing a whole element is a safe way to blank it.
 * Any other profile carries no RFC 8285 elements and iterates as empty.
 *
 * Ids are local to a session (negotiated per m-line with extmap), so the
 * SFU rewrites them per subscriber: hx_rtp_ext_remap maps each id through
 * a 256-entry table and either blanks or removes what the subscriber did
 * not negotiate. Removal compacts the block and moves the payload down;
 * nothing is written until the whole block has been validated.
 */
#include "rtp/rtp.h"

#include "rtp/rtp_internal.h"

#include <string.h>

static int ext_form(const hx_rtp_hdr *h)
{
    if (!h->extension) return 0;
    if (h->ext_profile == HX_RTP_EXT_ONE_BYTE) return 1;
    if ((h->ext_profile & 0xfff0) == HX_RTP_EXT_TWO_BYTE) return 2;
    return 0;
}

/* Like hx_rtp_ext_next, and also reports where the element header starts. */
static int ext_next(const uint8_t *buf, const hx_rtp_hdr *h, size_t *pos, hx_rtp_ext *e,
                    size_t *start)
{
    int form = ext_form(h);
    if (!form) return 0;
    const uint8_t *d = buf + h->ext_offset;
    size_t n = h->ext_len;
    while (*pos < n) {
        uint8_t b = d[*pos];
        size_t hlen = (size_t)form;
        if (form == 1 && b >> 4 == 15) {
            *pos = n; /* RFC 8285 §4.2: stop processing at id 15 */
            return 0;
        }
        if (b == 0 || (form == 1 && b >> 4 == 0)) {
            (*pos)++;
            continue;
        }
        if (n - *pos < hlen) return HX_RTP_ETRUNC;
        e->id = form == 1 ? (uint8_t)(b >> 4) : b;
        e->len = form == 1 ? (uint8_t)((b & 0x0f) + 1) : d[*pos + 1];
        if (n - *pos - hlen < e->len) return HX_RTP_ETRUNC;
        *start = *pos;
        e->offset = h->ext_offset + *pos + hlen;
        e->val = buf + e->offset;
        *pos += hlen + e->len;
        return 1;
    }
    return 0;
}

int hx_rtp_ext_next(const uint8_t *buf, const hx_rtp_hdr *h, size_t *pos, hx_rtp_ext *e)
{
    size_t start;
    return ext_next(buf, h, pos, e, &start);
}

int hx_rtp_ext_find(const uint8_t *buf, const hx_rtp_hdr *h, uint8_t id, hx_rtp_ext *e)
{
    size_t pos = 0;
    int rc;
    if (id == 0) return HX_RTP_ENOTFOUND;
    while ((rc = hx_rtp_ext_next(buf, h, &pos, e)) == 1)
        if (e->id == id) return HX_RTP_OK;
    return rc < 0 ? rc : HX_RTP_ENOTFOUND;
}

/* Find id and require an exact value length. */
static int find_len(const uint8_t *buf, const hx_rtp_hdr *h, uint8_t id, size_t len, hx_rtp_ext *e)
{
    int rc = hx_rtp_ext_find(buf, h, id, e);
    if (rc == HX_RTP_OK && e->len != len) return HX_RTP_EINVAL;
    return rc;
}

int hx_rtp_ext_string(const uint8_t *buf, const hx_rtp_hdr *h, uint8_t id, char *out, size_t cap)
{
    hx_rtp_ext e;
    int rc = hx_rtp_ext_find(buf, h, id, &e);
    if (rc != HX_RTP_OK) return rc;
    if (cap <= e.len) return HX_RTP_ENOSPACE;
    memcpy(out, e.val, e.len);
    out[e.len] = '\0';
    /* RFC 8852 §3.1 ids are RFC 2326-style tokens: an embedded NUL is not one. */
    if (memchr(out, '\0', e.len)) return HX_RTP_EINVAL;
    return e.len;
}

int hx_rtp_ext_abs_send_time(const uint8_t *buf, const hx_rtp_hdr *h, uint8_t id, uint32_t *v)
{
    hx_rtp_ext e;
    int rc = find_len(buf, h, id, 3, &e);
    if (rc == HX_RTP_OK) *v = hx_rd24(e.val);
    return rc;
}

int hx_rtp_ext_twcc_seq(const uint8_t *buf, const hx_rtp_hdr *h, uint8_t id, uint16_t *v)
{
    hx_rtp_ext e;
    int rc = find_len(buf, h, id, 2, &e);
    if (rc == HX_RTP_OK) *v = hx_rd16(e.val);
    return rc;
}

int hx_rtp_ext_audio_level(const uint8_t *buf, const hx_rtp_hdr *h, uint8_t id, int *voice,
                           uint8_t *level)
{
    hx_rtp_ext e;
    int rc = find_len(buf, h, id, 1, &e);
    if (rc == HX_RTP_OK) {
        *voice = e.val[0] >> 7;
        *level = e.val[0] & 0x7f;
    }
    return rc;
}

int hx_rtp_ext_set(uint8_t *buf, const hx_rtp_hdr *h, uint8_t id, const uint8_t *val, size_t len)
{
    hx_rtp_ext e;
    int rc = find_len(buf, h, id, len, &e);
    if (rc == HX_RTP_OK && len) memcpy(buf + e.offset, val, len);
    return rc;
}

int hx_rtp_ext_set_abs_send_time(uint8_t *buf, const hx_rtp_hdr *h, uint8_t id, uint32_t v)
{
    uint8_t b[3];
    hx_wr24(b, v & 0xffffff);
    return hx_rtp_ext_set(buf, h, id, b, sizeof b);
}

int hx_rtp_ext_set_twcc_seq(uint8_t *buf, const hx_rtp_hdr *h, uint8_t id, uint16_t v)
{
    uint8_t b[2];
    hx_wr16(b, v);
    return hx_rtp_ext_set(buf, h, id, b, sizeof b);
}

/* Drop the emptied extension block (4-byte header included) and clear X. */
static size_t drop_block(uint8_t *buf, size_t len, hx_rtp_hdr *h)
{
    size_t hdr = h->ext_offset - 4, cut = 4 + h->ext_len;
    memmove(buf + hdr, buf + hdr + cut, len - hdr - cut);
    buf[0] &= (uint8_t)~0x10;
    return len - cut;
}

static void write_elem_header(uint8_t *p, int form, uint8_t id, uint8_t len)
{
    if (form == 1) {
        p[0] = (uint8_t)(id << 4 | (len - 1));
    } else {
        p[0] = id;
        p[1] = len;
    }
}

int hx_rtp_ext_remap(uint8_t *buf, size_t *len, hx_rtp_hdr *h, const uint8_t map[256],
                     hx_ext_unknown unknown)
{
    int form = ext_form(h);
    if (!form) return HX_RTP_OK;
    size_t pos = 0, start;
    hx_rtp_ext e;
    int rc;
    while ((rc = ext_next(buf, h, &pos, &e, &start)) == 1)
        if (form == 1 && map[e.id] > 14) return HX_RTP_EINVAL;
    if (rc < 0) return rc;

    uint8_t *d = buf + h->ext_offset;
    size_t w = 0;
    pos = 0;
    while (ext_next(buf, h, &pos, &e, &start) == 1) {
        size_t elen = (size_t)form + e.len;
        uint8_t to = map[e.id];
        if (unknown == HX_EXT_UNKNOWN_PAD) {
            if (to)
                write_elem_header(d + start, form, to, e.len);
            else
                memset(d + start, 0, elen);
        } else if (to) {
            memmove(d + w, d + start, elen);
            write_elem_header(d + w, form, to, e.len);
            w += elen;
        }
    }
    if (unknown == HX_EXT_UNKNOWN_PAD) return HX_RTP_OK;

    if (w == 0) {
        *len = drop_block(buf, *len, h);
    } else {
        size_t words = (w + 3) / 4, cut = h->ext_len - 4 * words;
        memset(d + w, 0, 4 * words - w);
        hx_wr16(d - 2, (uint16_t)words);
        size_t tail = h->ext_offset + h->ext_len;
        memmove(buf + tail - cut, buf + tail, *len - tail);
        *len -= cut;
    }
    return hx_rtp_parse(buf, *len, h);
}

int hx_rtp_ext_put(uint8_t *buf, size_t *len, size_t cap, hx_rtp_hdr *h, uint8_t id,
                   const uint8_t *val, size_t vlen)
{
    hx_rtp_ext e;
    int rc = hx_rtp_ext_find(buf, h, id, &e);
    if (rc == HX_RTP_OK) {
        if (e.len != vlen) return HX_RTP_EINVAL;
        memcpy(buf + e.offset, val, vlen);
        return HX_RTP_OK;
    }
    if (rc != HX_RTP_ENOTFOUND) return rc;
    int form = h->extension ? ext_form(h) : 1;
    if (!form) return HX_RTP_EINVAL; /* a block of another profile: no room for elements */
    if (form == 1 && (id < 1 || id > 14 || vlen < 1 || vlen > 16)) return HX_RTP_EINVAL;
    if (form == 2 && (id < 1 || vlen > 255)) return HX_RTP_EINVAL;
    size_t elen = (size_t)form + vlen;
    /* The block's used bytes (trailing padding is reused). */
    size_t used = 0;
    if (h->extension) {
        size_t pos = 0, start;
        while ((rc = ext_next(buf, h, &pos, &e, &start)) == 1)
            used = e.offset + e.len - h->ext_offset;
        if (rc < 0) return rc;
    }
    size_t head = h->extension ? 0 : 4; /* a new block's profile and length */
    size_t words = (used + elen + 3) / 4;
    if (4 * words < h->ext_len) words = h->ext_len / 4;
    size_t grow = head + 4 * words - h->ext_len;
    if (*len + grow > cap) return HX_RTP_ENOSPACE;
    size_t block = h->extension ? h->ext_offset - 4 : HX_RTP_HEADER_LEN + 4u * h->csrc_count;
    size_t tail = block + 4 + h->ext_len; /* first byte after the block (payload) */
    if (!h->extension) tail = block;
    memmove(buf + tail + grow, buf + tail, *len - tail);
    *len += grow;
    uint8_t *d = buf + block + 4;
    if (!h->extension) {
        hx_wr16(buf + block, HX_RTP_EXT_ONE_BYTE);
        buf[0] |= 0x10;
    }
    hx_wr16(buf + block + 2, (uint16_t)words);
    write_elem_header(d + used, form, id, (uint8_t)vlen);
    memcpy(d + used + form, val, vlen);
    memset(d + used + elen, 0, 4 * words - used - elen);
    return hx_rtp_parse(buf, *len, h);
}
