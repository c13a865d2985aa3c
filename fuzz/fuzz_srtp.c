/*
 * libFuzzer target for srtp/: the packet functions on arbitrary bytes.
 *
 * Each input is used three ways, for both profiles:
 *   1. as an SRTP and as an SRTCP packet for unprotect on fresh receivers:
 *      nothing may crash, and the result must be one of the error codes
 *      (a fuzzer cannot forge a tag, so 0 means the contract broke);
 *   2. as the payload of an RTP packet and the body of an RTCP packet that
 *      a sender protects and a receiver with the same key unprotects: the
 *      plaintext must come back exactly;
 *   3. as a list of 16-bit sequence numbers, each protected and delivered
 *      at once: sender and receiver see the same order, so they must agree
 *      on every index; a packet is accepted (plaintext intact) or refused
 *      as a replay, never as a forgery. This drives ROC estimation and the
 *      replay window through wraps and jumps.
 * A broken contract aborts. The seed corpus (fuzz/corpus/srtp) holds a
 * short RTP packet, an RTCP receiver report, the RFC 7714 SRTP vector and
 * sequence runs that wrap.
 */
#include "srtp/srtp.h"

#include <stdlib.h>
#include <string.h>

#define BUF (HX_SRTP_MAX_PACKET + 64)
#define MAX_SEQS 512

static const uint8_t KEY[16] = {0x10, 0x21, 0x32, 0x43, 0x54, 0x65, 0x76, 0x87,
                                0x98, 0xa9, 0xba, 0xcb, 0xdc, 0xed, 0xfe, 0x0f};
static const uint8_t SALT[14] = {9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2, 3, 4};

static uint8_t buf[BUF], plain[BUF];

static hx_srtp_ctx *make(int profile)
{
    hx_srtp_ctx *c = NULL;
    if (hx_srtp_create(&c, profile, KEY, 16, SALT, hx_srtp_salt_len(profile))) abort();
    return c;
}

static void must(int cond)
{
    if (!cond) abort();
}

static void unprotect_raw(int profile, const uint8_t *data, size_t size)
{
    hx_srtp_ctx *rx = make(profile);
    size_t n = size;
    memcpy(buf, data, size);
    int rc = hx_srtp_unprotect(rx, buf, &n);
    must(rc < 0 && rc > HX_SRTP_ERR_CRYPTO);
    n = size;
    memcpy(buf, data, size);
    rc = hx_srtcp_unprotect(rx, buf, &n);
    must(rc < 0 && rc > HX_SRTP_ERR_CRYPTO);
    must(hx_srtp_stream_count(rx) == 0);
    hx_srtp_destroy(rx);
}

static void round_trip(int profile, const uint8_t *data, size_t size)
{
    hx_srtp_ctx *tx = make(profile), *rx = make(profile);
    size_t payload = size > HX_SRTP_MAX_PACKET - 12 ? HX_SRTP_MAX_PACKET - 12 : size;
    memset(plain, 0, 12);
    plain[0] = 0x80;
    plain[1] = 111;
    if (size >= 2) plain[2] = data[0], plain[3] = data[1];
    plain[8] = 0xca, plain[11] = 0xfe;
    memcpy(plain + 12, data, payload);
    size_t len = 12 + payload, n = len;
    memcpy(buf, plain, len);
    must(hx_srtp_protect(tx, buf, &n, BUF) == 0 && n == len + hx_srtp_overhead(profile));
    must(hx_srtp_unprotect(rx, buf, &n) == 0 && n == len && !memcmp(buf, plain, len));

    plain[0] = 0x81;
    plain[1] = 201;
    len = 8 + (payload > HX_SRTP_MAX_PACKET - 8 ? HX_SRTP_MAX_PACKET - 8 : payload);
    n = len;
    memcpy(buf, plain, len);
    must(hx_srtcp_protect(tx, buf, &n, BUF) == 0 && n == len + hx_srtcp_overhead(profile));
    must(hx_srtcp_unprotect(rx, buf, &n) == 0 && n == len && !memcmp(buf, plain, len));
    hx_srtp_destroy(tx);
    hx_srtp_destroy(rx);
}

static void sequence(int profile, const uint8_t *data, size_t size)
{
    hx_srtp_ctx *tx = make(profile), *rx = make(profile);
    for (size_t i = 0; i + 1 < size && i / 2 < MAX_SEQS; i += 2) {
        uint8_t pkt[64] = {0x80, 96, data[i], data[i + 1], 0, 0, 0, (uint8_t)i, 0, 0, 0, 7};
        memset(pkt + 12, (int)i, 20);
        size_t n = 32;
        int rc = hx_srtp_protect(tx, pkt, &n, sizeof pkt);
        if (rc) {
            must(rc == HX_SRTP_ERR_REPLAY); /* before index 0 */
            continue;
        }
        rc = hx_srtp_unprotect(rx, pkt, &n);
        must(rc == 0 || rc == HX_SRTP_ERR_REPLAY);
        if (!rc) must(n == 32 && pkt[2] == data[i] && pkt[12] == (uint8_t)i);
    }
    hx_srtp_destroy(tx);
    hx_srtp_destroy(rx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int profiles[] = {HX_SRTP_AES128_CM_SHA1_80, HX_SRTP_AEAD_AES_128_GCM};
    if (size > BUF - 64) return 0;
    for (int i = 0; i < 2; i++) {
        unprotect_raw(profiles[i], data, size);
        round_trip(profiles[i], data, size);
        sequence(profiles[i], data, size);
    }
    return 0;
}
