/*
 * libFuzzer target for the frames between hearthd and a media worker process (sfu/remote.h):
 * what a worker (or a broken one) writes. The input is fed whole and again in chunks whose
 * sizes come from its first byte; both must give the same frames in the same order and the
 * same verdict, and every frame must fit the bound.
 */
#include "sfu/remote.h"

#include <stdlib.h>
#include <string.h>

typedef struct seen {
    size_t n;
    uint64_t sum; /* types, lengths and bytes, position-weighted */
} seen;

static void on_frame(void *arg, uint8_t type, const uint8_t *p, size_t len)
{
    seen *s = arg;
    if (len > HX_REMOTE_MAX_FRAME) abort();
    s->sum = s->sum * 31 + type + len * 7;
    for (size_t i = 0; i < len; i++)
        s->sum = s->sum * 131 + p[i];
    s->n++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t buf[5 + HX_REMOTE_MAX_FRAME];
    if (!size) return 0;
    size_t step = 1 + data[0] % 17;
    data++, size--;
    seen a = {0}, b = {0};
    size_t len = 0;
    int ra = hx_remote_unframe(buf, &len, sizeof buf, data, size, on_frame, &a);
    len = 0;
    int rb = 0;
    for (size_t off = 0; off < size && !rb; off += step)
        rb = hx_remote_unframe(buf, &len, sizeof buf, data + off,
                               off + step <= size ? step : size - off, on_frame, &b);
    if (ra != rb || a.n != b.n || a.sum != b.sum) abort();
    return 0;
}
