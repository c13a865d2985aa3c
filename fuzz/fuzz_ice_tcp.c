/*
 * libFuzzer target for ice/tcp_framing and ice/candidate.
 *
 * The input's first byte picks a chunk size (1-256); the rest is fed to an
 * RFC 4571 reassembler (cap 1500) in chunks of that size. The frames that
 * come out must be exactly those a one-shot reference walk over the whole
 * stream finds, in order, and an oversized header must stop both at the
 * same frame. The same bytes are also parsed as a candidate line; an
 * accepted line must format and parse back to the same fields.
 *
 * Seeds (fuzz/corpus/ice_tcp): framed STUN/RTP streams and candidate lines.
 */
#include "ice/candidate.h"
#include "ice/tcp_framing.h"

#include <stdlib.h>
#include <string.h>

#define CAP 1500

static void framing(const uint8_t *data, size_t size)
{
    static uint8_t buf[CAP];
    hx_ice_tcp_rx rx;
    if (size < 1) return;
    size_t chunk = (size_t)data[0] + 1, ref = 1;
    bool ref_dead = false;
    if (hx_ice_tcp_rx_init(&rx, buf, CAP)) abort();
    for (size_t off = 1; off < size;) {
        size_t n = size - off < chunk ? size - off : chunk;
        const uint8_t *p = data + off;
        while (n) {
            const uint8_t *f;
            size_t flen;
            long used = hx_ice_tcp_rx_feed(&rx, p, n, &f, &flen);
            if (used == HX_ICE_TCP_ETOOBIG) {
                /* The reference must find the same oversized header next. */
                while (!ref_dead && ref + 2 <= size) {
                    size_t l = (size_t)data[ref] << 8 | data[ref + 1];
                    if (l > CAP) break;
                    if (l != 0) abort(); /* a real frame was skipped */
                    ref += 2;
                }
                if (ref + 2 > size || ((size_t)data[ref] << 8 | data[ref + 1]) <= CAP) abort();
                return;
            }
            if (used <= 0 || (size_t)used > n) abort();
            if (f) {
                /* Reference: skip empty frames, then this one. */
                size_t l;
                for (;; ref += 2) {
                    if (ref + 2 > size) abort();
                    if ((l = (size_t)data[ref] << 8 | data[ref + 1]) != 0) break;
                }
                if (l != flen || ref + 2 + l > size || memcmp(data + ref + 2, f, l)) abort();
                ref += 2 + l;
            }
            p += used;
            n -= (size_t)used;
        }
        off += chunk < size - off ? chunk : size - off;
    }
}

static void candidate(const uint8_t *data, size_t size)
{
    hx_ice_candidate c, back;
    char line[HX_ICE_MAX_CANDIDATE_LINE + 1];
    if (hx_ice_candidate_parse(&c, (const char *)data, size)) return;
    long n = hx_ice_candidate_format(&c, line, sizeof line);
    if (n < 0) abort();
    if (hx_ice_candidate_parse(&back, line, (size_t)n)) abort();
    if (strcmp(back.foundation, c.foundation) || back.component != c.component ||
        back.transport != c.transport || back.priority != c.priority ||
        strcmp(back.address, c.address) || back.port != c.port || back.type != c.type ||
        back.tcptype != c.tcptype || back.has_related != c.has_related ||
        back.addr_numeric != c.addr_numeric)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    framing(data, size);
    candidate(data, size);
    return 0;
}
