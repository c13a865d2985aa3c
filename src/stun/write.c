/*
 * STUN writing into a caller buffer. The header length field is kept up to
 * date after every attribute, so MESSAGE-INTEGRITY and FINGERPRINT (which
 * cover the header) are computed over exactly what goes on the wire:
 * RFC 5389 §15.4 wants the length to include MESSAGE-INTEGRITY itself,
 * §15.5 to include FINGERPRINT, so each bumps the length before hashing.
 */
#include "stun/stun.h"
#include "common/bytes.h"

#include <netinet/in.h>
#include <string.h>

static void set_length(hx_stun_writer *w, size_t total)
{
    hx_wr16(w->buf + 2, (uint16_t)(total - HX_STUN_HEADER_LEN));
}

void hx_stun_writer_init(hx_stun_writer *w, uint8_t *buf, size_t cap, uint16_t type,
                         const uint8_t tid[HX_STUN_TID_LEN])
{
    *w = (hx_stun_writer){.buf = buf, .cap = cap > UINT16_MAX ? UINT16_MAX : cap};
    if (w->cap < HX_STUN_HEADER_LEN || (type & 0xc000)) {
        w->err = w->cap < HX_STUN_HEADER_LEN ? HX_STUN_ENOSPACE : HX_STUN_EINVAL;
        return;
    }
    hx_wr16(buf, type);
    hx_wr16(buf + 2, 0);
    hx_wr32(buf + 4, HX_STUN_MAGIC);
    memcpy(buf + 8, tid, HX_STUN_TID_LEN);
    w->len = HX_STUN_HEADER_LEN;
}

/* Reserve an attribute of len value bytes; returns its value pointer or NULL. */
static uint8_t *reserve(hx_stun_writer *w, uint16_t type, size_t len)
{
    if (w->err) return NULL;
    size_t padded = (len + 3) & ~(size_t)3;
    if (len > UINT16_MAX || 4 + padded > w->cap - w->len) {
        w->err = HX_STUN_ENOSPACE;
        return NULL;
    }
    uint8_t *p = w->buf + w->len;
    hx_wr16(p, type);
    hx_wr16(p + 2, (uint16_t)len);
    memset(p + 4 + len, w->pad, padded - len);
    w->len += 4 + padded;
    set_length(w, w->len);
    return p + 4;
}

void hx_stun_put(hx_stun_writer *w, uint16_t type, const void *val, size_t len)
{
    uint8_t *p = reserve(w, type, len);
    if (p && len) memcpy(p, val, len);
}

void hx_stun_put_u32(hx_stun_writer *w, uint16_t type, uint32_t v)
{
    uint8_t *p = reserve(w, type, 4);
    if (p) hx_wr32(p, v);
}

void hx_stun_put_u64(hx_stun_writer *w, uint16_t type, uint64_t v)
{
    uint8_t *p = reserve(w, type, 8);
    if (!p) return;
    hx_wr32(p, (uint32_t)(v >> 32));
    hx_wr32(p + 4, (uint32_t)v);
}

void hx_stun_put_xor_addr(hx_stun_writer *w, uint16_t type, const struct sockaddr *sa)
{
    uint8_t *p;
    if (w->err) return;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
        if (!(p = reserve(w, type, 8))) return;
        p[0] = 0;
        p[1] = 0x01;
        hx_wr16(p + 2, ntohs(sin->sin_port) ^ (uint16_t)(HX_STUN_MAGIC >> 16));
        hx_wr32(p + 4, ntohl(sin->sin_addr.s_addr) ^ HX_STUN_MAGIC);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
        if (!(p = reserve(w, type, 20))) return;
        p[0] = 0;
        p[1] = 0x02;
        hx_wr16(p + 2, ntohs(sin6->sin6_port) ^ (uint16_t)(HX_STUN_MAGIC >> 16));
        /* §15.2: XOR with the cookie and the transaction id, bytes 4..19 of the header. */
        for (int i = 0; i < 16; i++)
            p[4 + i] = sin6->sin6_addr.s6_addr[i] ^ w->buf[4 + i];
    } else {
        w->err = HX_STUN_EINVAL;
    }
}

void hx_stun_put_error(hx_stun_writer *w, int code, const char *reason)
{
    size_t rlen = strlen(reason);
    if (!w->err && (code < 300 || code > 699 || rlen > HX_STUN_MAX_REASON)) w->err = HX_STUN_EINVAL;
    uint8_t *p = reserve(w, HX_STUN_ATTR_ERROR_CODE, 4 + rlen);
    if (!p) return;
    p[0] = p[1] = 0;
    p[2] = (uint8_t)(code / 100);
    p[3] = (uint8_t)(code % 100);
    memcpy(p + 4, reason, rlen);
}

void hx_stun_put_unknown(hx_stun_writer *w, const uint16_t *types, size_t n)
{
    uint8_t *p = reserve(w, HX_STUN_ATTR_UNKNOWN_ATTRIBUTES, 2 * n);
    if (!p) return;
    for (size_t i = 0; i < n; i++)
        hx_wr16(p + 2 * i, types[i]);
}

void hx_stun_put_integrity(hx_stun_writer *w, const hx_stun_key *k)
{
    if (!w->err && !k->set) w->err = HX_STUN_EINVAL;
    size_t covered = w->len;
    uint8_t *p = reserve(w, HX_STUN_ATTR_MESSAGE_INTEGRITY, HX_STUN_MI_LEN);
    if (!p) return;
    const uint8_t *parts[1] = {w->buf};
    size_t lens[1] = {covered};
    hx_stun_hmac(k, parts, lens, 1, p); /* the length field already counts this attribute */
}

void hx_stun_put_fingerprint(hx_stun_writer *w)
{
    size_t covered = w->len;
    uint8_t *p = reserve(w, HX_STUN_ATTR_FINGERPRINT, 4);
    if (p) hx_wr32(p, hx_stun_crc32(0, w->buf, covered) ^ HX_STUN_FINGERPRINT_XOR);
}

long hx_stun_writer_finish(const hx_stun_writer *w)
{
    return w->err ? w->err : (long)w->len;
}
