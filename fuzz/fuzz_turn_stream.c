/*
 * libFuzzer target for TURN stream framing (turn/stream.h). The input's
 * first byte picks the reassembly cap and a chunking pattern; the rest is
 * the stream. It is framed twice: in one piece with a large cap (the
 * reference) and in chunks cut where the pattern says with the chosen
 * cap. Both must give the same frames in the same order until the first
 * error; the chunked one may only fail earlier by ETOOBIG on a frame over
 * its cap. Every frame has the length its header announces (ChannelData
 * padded to 4), and every frame is also handed to a TURN core as a TCP
 * client's message (which must not crash).
 *
 * Seeds (fuzz/corpus/turn_stream): STUN and ChannelData back to back.
 */
#include "common/bytes.h"
#include "turn/core.h"
#include "turn/stream.h"

#include <stdlib.h>
#include <string.h>

#define MAX_FRAMES 512

typedef struct frames {
    size_t n;
    size_t off[MAX_FRAMES], len[MAX_FRAMES]; /* offsets into the input stream */
    int err;
} frames;

static uint8_t slot[8192];

static uint8_t *client_slot(void *ctx, const hx_turn_client *c, size_t *cap)
{
    *cap = 4096;
    return slot;
}
static void client_commit(void *ctx, const hx_turn_client *c, size_t len) {}
static uint8_t *peer_slot(void *ctx, void *relay, size_t *cap)
{
    *cap = 1500;
    return slot;
}
static void peer_commit(void *ctx, void *relay, const struct sockaddr_storage *p, size_t len) {}
static int relay_open(void *ctx, uint64_t id, int family, bool even, void **relay,
                      struct sockaddr_storage *relayed)
{
    return -12;
}
static void relay_close(void *ctx, void *relay) {}

/* Frame s[0..n) cutting it into chunks of (pattern-driven) sizes. */
static void run(const uint8_t *s, size_t n, size_t cap, uint8_t pattern, frames *out)
{
    uint8_t *buf = malloc(cap);
    hx_turn_stream_rx rx;
    memset(out, 0, sizeof *out);
    if (!buf || hx_turn_stream_init(&rx, buf, cap)) abort();
    size_t pos = 0, k = 0;
    while (pos < n && !out->err) {
        size_t chunk = pattern ? 1 + (size_t)((pattern * (k + 1) * 7) % 61) : n - pos;
        if (chunk > n - pos) chunk = n - pos;
        k++;
        size_t used_all = 0;
        while (used_all < chunk) {
            const uint8_t *frame;
            size_t flen;
            long used =
                hx_turn_stream_feed(&rx, s + pos + used_all, chunk - used_all, &frame, &flen);
            if (used < 0) {
                out->err = (int)used;
                break;
            }
            if (used == 0) abort(); /* no progress on non-empty input */
            used_all += (size_t)used;
            if (frame) {
                if (flen < 4 || (size_t)hx_turn_stream_frame_len(frame) != flen || flen > cap)
                    abort();
                if (out->n < MAX_FRAMES) {
                    /* The frame ends where the consumed bytes end. */
                    out->off[out->n] = pos + used_all - flen;
                    out->len[out->n] = flen;
                    if (memcmp(frame, s + out->off[out->n], flen)) abort();
                }
                out->n++;
            }
        }
        pos += chunk;
    }
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    static const size_t caps[4] = {20, 64, 1500, HX_TURN_STREAM_MAX_FRAME};
    size_t cap = caps[data[0] & 3];
    uint8_t pattern = (uint8_t)(data[0] >> 2);
    const uint8_t *s = data + 1;
    size_t n = size - 1;
    static frames ref, got;
    run(s, n, 70000, 0, &ref);
    run(s, n, cap, pattern, &got);
    size_t common = got.n < ref.n ? got.n : ref.n;
    for (size_t i = 0; i < common && i < MAX_FRAMES; i++)
        if (got.off[i] != ref.off[i] || got.len[i] != ref.len[i]) abort();
    if (got.n > ref.n) abort();
    if (got.n < ref.n && got.err != HX_TURN_STREAM_ETOOBIG) abort();
    if (got.n == ref.n && got.err && got.err != ref.err && got.err != HX_TURN_STREAM_ETOOBIG)
        abort();

    /* The frames, as a TCP client's messages, into a core. */
    hx_turn_config cfg;
    hx_turn_config_default(&cfg);
    cfg.max_total_allocations = 4;
    hx_turn_io io = {NULL,        client_slot, client_commit, peer_slot,
                     peer_commit, relay_open,  relay_close};
    uint8_t key[HX_TURN_NONCE_KEY_LEN] = {1};
    hx_turn_core *core;
    char err[128];
    if (hx_turn_core_new(&cfg, key, &io, &core, err, sizeof err)) abort();
    hx_turn_client c = {.proto = HX_TURN_TCP, .conn = 1};
    c.addr.ss_family = AF_INET;
    for (size_t i = 0; i < ref.n && i < MAX_FRAMES; i++)
        hx_turn_core_client(core, &c, s + ref.off[i], ref.len[i], 1000);
    if (hx_turn_core_check(core)) abort();
    hx_turn_core_free(core);
    return 0;
}
