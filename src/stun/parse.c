/*
 * STUN parsing: the header check, the one-pass attribute walk into
 * hx_stun_msg, and typed getters over its table. See stun.h for the data
 * layout. Every rule that rejects a message cites RFC 5389 (RFC 8489 keeps
 * the same wire format); nothing here trusts a length it has not checked
 * against the buffer.
 */
#include "stun/stun.h"
#include "common/bytes.h"

#include <netinet/in.h>
#include <string.h>

bool hx_stun_is(const uint8_t *buf, size_t len)
{
    /* RFC 7983 §7: a first byte of 0-3 is STUN; RFC 5389 §6 adds the cookie. */
    return len >= HX_STUN_HEADER_LEN && buf[0] < 4 && (buf[3] & 3) == 0 &&
           hx_rd32(buf + 4) == HX_STUN_MAGIC;
}

uint16_t hx_stun_method(uint16_t type)
{
    return (uint16_t)((type & 0x000f) | (type & 0x00e0) >> 1 | (type & 0x3e00) >> 2);
}

uint16_t hx_stun_class(uint16_t type)
{
    return type & HX_STUN_CLASS_MASK;
}

/* Allowed value lengths of the attributes this codec knows; false if unknown. */
static bool known_len(uint16_t type, uint16_t *min, uint16_t *max)
{
    switch (type) {
    case HX_STUN_ATTR_USERNAME:
        *min = 0, *max = HX_STUN_MAX_USERNAME;
        return true;
    case HX_STUN_ATTR_ERROR_CODE:
        *min = 4, *max = 4 + HX_STUN_MAX_REASON;
        return true;
    case HX_STUN_ATTR_UNKNOWN_ATTRIBUTES:
    case HX_STUN_ATTR_DATA:
        *min = 0, *max = UINT16_MAX;
        return true;
    case HX_STUN_ATTR_REALM:
    case HX_STUN_ATTR_NONCE:
    case HX_STUN_ATTR_SOFTWARE:
        *min = 0, *max = HX_STUN_MAX_REASON; /* 763 bytes, RFC 5389 §15.7-15.10 */
        return true;
    case HX_STUN_ATTR_MAPPED_ADDRESS:
    case HX_STUN_ATTR_XOR_MAPPED_ADDRESS:
    case HX_STUN_ATTR_XOR_PEER_ADDRESS:
    case HX_STUN_ATTR_XOR_RELAYED_ADDRESS:
    case HX_STUN_ATTR_ALTERNATE_SERVER:
        *min = 8, *max = 20;
        return true;
    case HX_STUN_ATTR_CHANNEL_NUMBER:
    case HX_STUN_ATTR_LIFETIME:
    case HX_STUN_ATTR_REQUESTED_ADDRESS_FAMILY:
    case HX_STUN_ATTR_REQUESTED_TRANSPORT:
    case HX_STUN_ATTR_PRIORITY:
        *min = *max = 4;
        return true;
    case HX_STUN_ATTR_EVEN_PORT:
        *min = *max = 1;
        return true;
    case HX_STUN_ATTR_DONT_FRAGMENT:
    case HX_STUN_ATTR_USE_CANDIDATE:
        *min = *max = 0;
        return true;
    case HX_STUN_ATTR_RESERVATION_TOKEN:
    case HX_STUN_ATTR_ICE_CONTROLLED:
    case HX_STUN_ATTR_ICE_CONTROLLING:
        *min = *max = 8;
        return true;
    default:
        return false;
    }
}

static int add_attr(hx_stun_msg *m, uint16_t type, uint16_t alen, size_t off)
{
    uint16_t min, max;
    if (known_len(type, &min, &max)) {
        if (alen < min || alen > max) return HX_STUN_EMALFORMED;
    } else if (type < 0x8000) { /* comprehension-required, RFC 5389 §15 */
        if (m->n_unknown < HX_STUN_MAX_UNKNOWN)
            m->unknown[m->n_unknown++] = type;
        else
            m->too_many_unknown = true;
    }
    if (m->n_attrs == HX_STUN_MAX_ATTRS) return HX_STUN_EMALFORMED;
    m->attrs[m->n_attrs++] = (hx_stun_attr){type, alen, (uint16_t)(off + 4)};
    return HX_STUN_OK;
}

int hx_stun_parse(hx_stun_msg *m, const uint8_t *buf, size_t len)
{
    memset(m, 0, offsetof(hx_stun_msg, attrs));
    /* §6: top two bits zero, length a multiple of 4 covering the rest exactly. */
    if (len < HX_STUN_HEADER_LEN || len > UINT16_MAX || (buf[0] & 0xc0)) return HX_STUN_EMALFORMED;
    if (hx_rd32(buf + 4) != HX_STUN_MAGIC) return HX_STUN_EMALFORMED;
    size_t mlen = hx_rd16(buf + 2);
    if ((mlen & 3) || HX_STUN_HEADER_LEN + mlen != len) return HX_STUN_EMALFORMED;
    m->buf = buf;
    m->len = len;
    m->type = hx_rd16(buf);
    m->tid = buf + 8;

    for (size_t off = HX_STUN_HEADER_LEN; off < len;) {
        if (len - off < 4) return HX_STUN_EMALFORMED;
        uint16_t type = hx_rd16(buf + off), alen = hx_rd16(buf + off + 2);
        size_t padded = ((size_t)alen + 3) & ~(size_t)3; /* §15: values padded to 4 */
        if (padded > len - off - 4) return HX_STUN_EMALFORMED;
        if (m->fp_off) return HX_STUN_EMALFORMED; /* §15.5: FINGERPRINT is last */
        if (type == HX_STUN_ATTR_FINGERPRINT) {
            if (alen != 4) return HX_STUN_EMALFORMED;
            m->fp_off = (uint16_t)off;
        } else if (m->mi_off) {
            /* §15.4: attributes after MESSAGE-INTEGRITY are ignored. */
        } else if (type == HX_STUN_ATTR_MESSAGE_INTEGRITY) {
            if (alen != HX_STUN_MI_LEN) return HX_STUN_EMALFORMED;
            m->mi_off = (uint16_t)off;
        } else if (add_attr(m, type, alen, off)) {
            return HX_STUN_EMALFORMED;
        }
        off += 4 + padded;
    }
    return HX_STUN_OK;
}

const hx_stun_attr *hx_stun_find(const hx_stun_msg *m, uint16_t type)
{
    for (unsigned i = 0; i < m->n_attrs; i++)
        if (m->attrs[i].type == type) return &m->attrs[i];
    return NULL;
}

int hx_stun_get_bytes(const hx_stun_msg *m, uint16_t type, const uint8_t **val, size_t *len)
{
    const hx_stun_attr *a = hx_stun_find(m, type);
    if (!a) return HX_STUN_EABSENT;
    *val = m->buf + a->off;
    *len = a->len;
    return HX_STUN_OK;
}

int hx_stun_get_u32(const hx_stun_msg *m, uint16_t type, uint32_t *v)
{
    const hx_stun_attr *a = hx_stun_find(m, type);
    if (!a) return HX_STUN_EABSENT;
    if (a->len != 4) return HX_STUN_EMALFORMED;
    *v = hx_rd32(m->buf + a->off);
    return HX_STUN_OK;
}

int hx_stun_get_u64(const hx_stun_msg *m, uint16_t type, uint64_t *v)
{
    const hx_stun_attr *a = hx_stun_find(m, type);
    if (!a) return HX_STUN_EABSENT;
    if (a->len != 8) return HX_STUN_EMALFORMED;
    *v = (uint64_t)hx_rd32(m->buf + a->off) << 32 | hx_rd32(m->buf + a->off + 4);
    return HX_STUN_OK;
}

int hx_stun_get_xor_addr(const hx_stun_msg *m, uint16_t type, struct sockaddr_storage *out)
{
    const hx_stun_attr *a = hx_stun_find(m, type);
    if (!a) return HX_STUN_EABSENT;
    if (a->len != 8 && a->len != 20) return HX_STUN_EMALFORMED; /* any type may be asked for */
    const uint8_t *v = m->buf + a->off;
    uint16_t port = hx_rd16(v + 2) ^ (uint16_t)(HX_STUN_MAGIC >> 16);
    memset(out, 0, sizeof *out);
    /* §15.2: the address XOR the cookie (IPv4) or the cookie and transaction id (IPv6). */
    if (v[1] == 0x01 && a->len == 8) {
        struct sockaddr_in *sin = (struct sockaddr_in *)out;
        sin->sin_family = AF_INET;
        sin->sin_port = htons(port);
        sin->sin_addr.s_addr = htonl(hx_rd32(v + 4) ^ HX_STUN_MAGIC);
        return HX_STUN_OK;
    }
    if (v[1] == 0x02 && a->len == 20) {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)out;
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(port);
        for (int i = 0; i < 16; i++)
            sin6->sin6_addr.s6_addr[i] = v[4 + i] ^ m->buf[4 + i];
        return HX_STUN_OK;
    }
    return HX_STUN_EMALFORMED;
}

int hx_stun_get_error(const hx_stun_msg *m, int *code, const char **reason, size_t *reason_len)
{
    const hx_stun_attr *a = hx_stun_find(m, HX_STUN_ATTR_ERROR_CODE);
    if (!a) return HX_STUN_EABSENT;
    const uint8_t *v = m->buf + a->off;
    int cls = v[2] & 7, number = v[3];
    /* §15.6: class 3-6, number 0-99. */
    if (cls < 3 || cls > 6 || number > 99) return HX_STUN_EMALFORMED;
    *code = cls * 100 + number;
    *reason = (const char *)v + 4;
    *reason_len = (size_t)a->len - 4;
    return HX_STUN_OK;
}
