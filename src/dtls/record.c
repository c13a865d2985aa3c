/*
 * The record scanner makes two passes over a datagram: the first checks
 * every header and that the fragments tile the datagram exactly; only then
 * the second hands records to the callback, so a caller never acts on the
 * front of a datagram whose tail is malformed.
 *
 * Checks beyond the framing, each cheap and exact for DTLS 1.2 without
 * renegotiation: application data never travels in epoch 0 (RFC 6347
 * §4.1: it needs a cipher); clear records have their fixed shapes, i.e. a
 * ChangeCipherSpec is one byte (RFC 5246 §7.1), an alert two bytes (§7.2)
 * and a handshake fragment at least its 12-byte DTLS header (RFC 6347
 * §4.2.2).
 */
#include "dtls/record.h"
#include "common/bytes.h"

#define DTLS_1_0 0xFEFF
#define DTLS_1_2 0xFEFD
#define HS_HEADER_LEN 12
#define HS_CLIENT_HELLO 1

bool hx_dtls_is_dtls(const uint8_t *buf, size_t len)
{
    return len > 0 && buf[0] >= 20 && buf[0] <= 63;
}

static int parse_header(const uint8_t *p, size_t left, hx_dtls_record *r)
{
    if (left < HX_DTLS_RECORD_HEADER_LEN) return HX_DTLS_REC_TRUNCATED;
    r->type = p[0];
    r->version = hx_rd16(p + 1);
    r->epoch = hx_rd16(p + 3);
    r->seq = 0;
    for (int i = 5; i < 11; i++)
        r->seq = r->seq << 8 | p[i];
    r->len = hx_rd16(p + 11);
    r->body = p + HX_DTLS_RECORD_HEADER_LEN;
    if (r->type < HX_DTLS_CT_CHANGE_CIPHER_SPEC || r->type > HX_DTLS_CT_APPLICATION_DATA)
        return HX_DTLS_REC_BAD_TYPE;
    if (r->version != DTLS_1_2 && r->version != DTLS_1_0) return HX_DTLS_REC_BAD_VERSION;
    if (r->epoch > HX_DTLS_MAX_EPOCH) return HX_DTLS_REC_BAD_EPOCH;
    if (r->epoch == 0 && r->type == HX_DTLS_CT_APPLICATION_DATA) return HX_DTLS_REC_BAD_EPOCH;
    if (r->len > HX_DTLS_RECORD_MAX_BODY) return HX_DTLS_REC_BAD_LENGTH;
    if (r->len > left - HX_DTLS_RECORD_HEADER_LEN) return HX_DTLS_REC_TRUNCATED;
    if (r->epoch == 0) {
        if (r->type == HX_DTLS_CT_CHANGE_CIPHER_SPEC && r->len != 1) return HX_DTLS_REC_BAD_LENGTH;
        if (r->type == HX_DTLS_CT_ALERT && r->len != 2) return HX_DTLS_REC_BAD_LENGTH;
        if (r->type == HX_DTLS_CT_HANDSHAKE && r->len < HS_HEADER_LEN)
            return HX_DTLS_REC_BAD_LENGTH;
    }
    return 0;
}

int hx_dtls_record_scan(const uint8_t *buf, size_t len, hx_dtls_record_cb cb, void *user)
{
    if (!buf || len == 0) return HX_DTLS_REC_EMPTY;
    hx_dtls_record r;
    int count = 0;
    for (size_t off = 0; off < len; off += HX_DTLS_RECORD_HEADER_LEN + r.len, count++) {
        int rc = parse_header(buf + off, len - off, &r);
        if (rc) return rc;
    }
    if (!cb) return count;
    for (size_t off = 0; off < len; off += HX_DTLS_RECORD_HEADER_LEN + r.len) {
        parse_header(buf + off, len - off, &r);
        if (cb(user, &r)) break;
    }
    return count;
}

bool hx_dtls_is_client_hello(const uint8_t *buf, size_t len)
{
    hx_dtls_record r;
    return hx_dtls_record_scan(buf, len, NULL, NULL) > 0 && parse_header(buf, len, &r) == 0 &&
           r.type == HX_DTLS_CT_HANDSHAKE && r.epoch == 0 && r.body[0] == HS_CLIENT_HELLO;
}

const char *hx_dtls_record_strerror(int err)
{
    switch (err) {
    case 0:
        return "ok";
    case HX_DTLS_REC_EMPTY:
        return "empty datagram";
    case HX_DTLS_REC_TRUNCATED:
        return "truncated record";
    case HX_DTLS_REC_BAD_TYPE:
        return "bad content type";
    case HX_DTLS_REC_BAD_VERSION:
        return "bad record version";
    case HX_DTLS_REC_BAD_EPOCH:
        return "bad epoch";
    case HX_DTLS_REC_BAD_LENGTH:
        return "bad record length";
    default:
        return "unknown error";
    }
}
