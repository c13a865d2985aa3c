/*
 * Unit tests for the worker-process frames (sfu/remote.h): frames split anywhere across reads
 * come out whole and in order, empty frames included; a length over the bound breaks the
 * stream. The worker processes themselves (`hearthd --media-worker`, killed and started again)
 * are tested end to end in tests/browser/workers.test.mjs.
 */
#include "sfu/remote.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

typedef struct got {
    int n;
    uint8_t types[8];
    size_t lens[8];
    uint8_t first[8];
} got;

static void on_frame(void *arg, uint8_t type, const uint8_t *p, size_t len)
{
    got *g = arg;
    assert_true(g->n < 8);
    g->types[g->n] = type;
    g->lens[g->n] = len;
    g->first[g->n] = len ? p[0] : 0;
    g->n++;
}

static size_t frame(uint8_t *out, uint8_t type, uint8_t fill, size_t len)
{
    hx_remote_header(out, type, (uint32_t)len);
    memset(out + 5, fill, len);
    return 5 + len;
}

static void split_anywhere(void **state)
{
    (void)state;
    static uint8_t wire[3 * 5 + 3 + 70000], buf[5 + HX_REMOTE_MAX_FRAME];
    size_t n = frame(wire, 'E', 0xAA, 3);
    n += frame(wire + n, 'R', 0, 0);
    n += frame(wire + n, 'E', 0xBB, 70000);
    for (size_t chunk = 1; chunk <= 9; chunk += 4) {
        got g = {0};
        size_t len = 0;
        for (size_t off = 0; off < n; off += chunk)
            assert_int_equal(hx_remote_unframe(buf, &len, sizeof buf, wire + off,
                                               off + chunk <= n ? chunk : n - off, on_frame, &g),
                             0);
        assert_int_equal(g.n, 3);
        assert_int_equal(g.types[0], 'E');
        assert_int_equal(g.lens[0], 3);
        assert_int_equal(g.first[0], 0xAA);
        assert_int_equal(g.types[1], 'R');
        assert_int_equal(g.lens[1], 0);
        assert_int_equal(g.lens[2], 70000);
        assert_int_equal(g.first[2], 0xBB);
        assert_int_equal(len, 0);
    }
    got g = {0}; /* all at once */
    size_t len = 0;
    assert_int_equal(hx_remote_unframe(buf, &len, sizeof buf, wire, n, on_frame, &g), 0);
    assert_int_equal(g.n, 3);
}

static void too_long_breaks(void **state)
{
    (void)state;
    uint8_t hdr[5], buf[64];
    got g = {0};
    size_t len = 0;
    hx_remote_header(hdr, 'E', HX_REMOTE_MAX_FRAME + 1);
    assert_int_equal(hx_remote_unframe(buf, &len, sizeof buf, hdr, 5, on_frame, &g), -1);
    len = 0;
    hx_remote_header(hdr, 'E', 100); /* over this buffer's cap */
    assert_int_equal(hx_remote_unframe(buf, &len, sizeof buf, hdr, 5, on_frame, &g), -1);
    assert_int_equal(g.n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(split_anywhere),
        cmocka_unit_test(too_long_breaks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
