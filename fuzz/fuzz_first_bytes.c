/*
 * libFuzzer target for http/first_bytes, the one-port demultiplexer's
 * decision. Input: byte 0 bit 0 = plaintext on a TLS listener, the rest the
 * connection's first bytes. Beyond ASan/UBSan it aborts when a decision
 * breaks the contract: TURN without a STUN request's first byte (or, with 8
 * bytes, its magic cookie); HTTP without plaintext-on-TLS or without an
 * upper-case method; a TURN decision (8 bytes or more) that more bytes
 * would change; an HTTP request line with a method taken for TURN.
 */
#include "http/first_bytes.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2 || size > 4096) return 0;
    bool plain_tls = data[0] & 1;
    const uint8_t *b = data + 1;
    size_t len = size - 1;
    hx_first_kind k = hx_first_bytes(b, len, plain_tls);
    if (k == HX_FIRST_TURN) {
        if (b[0] > 1) abort();
        if (len >= 8 && memcmp(b + 4, "\x21\x12\xA4\x42", 4)) abort();
        for (size_t n = 8; n < len; n++) /* a prefix with the cookie is already TURN */
            if (hx_first_bytes(b, n, plain_tls) != HX_FIRST_TURN) abort();
    }
    if (k == HX_FIRST_HTTP && (!plain_tls || b[0] < 'A' || b[0] > 'Z')) abort();
    if (b[0] >= 'A' && b[0] <= 'Z' && k == HX_FIRST_TURN) abort();
    static const char *const methods[] = {"GET ", "POST ", "HEAD ", "OPTIONS ", "PUT "};
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
        size_t m = strlen(methods[i]);
        if (len >= m && !memcmp(b, methods[i], m) && k != (plain_tls ? HX_FIRST_HTTP : HX_FIRST_OTHER))
            abort();
    }
    return 0;
}
