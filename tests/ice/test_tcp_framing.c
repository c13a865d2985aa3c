/*
 * RFC 4571 reassembly: a stream of frames cut at every possible point
 * (one byte at a time, and every two-way split) comes back as the same
 * frames in order; several frames in one chunk come out one per call;
 * the in-place path and the buffered path give the same bytes; the cap
 * rejects an oversized header (and stays failed); empty frames are
 * skipped; encode round-trips.
 */
#include "ice/tcp_framing.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#define N_FRAMES 5
static const size_t sizes[N_FRAMES] = {1, 20, 0, 300, 1200};

/* The stream of N_FRAMES frames; frame i filled with bytes i*31+j. */
static size_t make_stream(uint8_t *out, size_t cap)
{
    size_t n = 0;
    for (int i = 0; i < N_FRAMES; i++) {
        uint8_t payload[1500];
        for (size_t j = 0; j < sizes[i]; j++)
            payload[j] = (uint8_t)(i * 31 + j);
        long w = hx_ice_tcp_encode(out + n, cap - n, payload, sizes[i]);
        assert_int_equal(w, (long)sizes[i] + 2);
        n += (size_t)w;
    }
    return n;
}

/* Feed a chunk completely, checking frames against the expected sequence. */
static void feed_all(hx_ice_tcp_rx *rx, const uint8_t *p, size_t n, int *next)
{
    while (n) {
        const uint8_t *f;
        size_t flen;
        long used = hx_ice_tcp_rx_feed(rx, p, n, &f, &flen);
        assert_true(used > 0);
        assert_true((size_t)used <= n);
        if (f) {
            while (sizes[*next] == 0)
                (*next)++; /* empty frames are skipped */
            assert_int_equal(flen, sizes[*next]);
            for (size_t j = 0; j < flen; j++)
                assert_int_equal(f[j], (uint8_t)(*next * 31 + j));
            (*next)++;
        }
        p += used;
        n -= (size_t)used;
    }
}

static void test_every_split(void **state)
{
    uint8_t stream[4096], buf[1500];
    size_t n = make_stream(stream, sizeof stream);
    hx_ice_tcp_rx rx;
    for (size_t cut = 0; cut <= n; cut++) {
        int next = 0;
        assert_int_equal(hx_ice_tcp_rx_init(&rx, buf, sizeof buf), 0);
        feed_all(&rx, stream, cut, &next);
        feed_all(&rx, stream + cut, n - cut, &next);
        assert_int_equal(next, N_FRAMES);
    }
    int next = 0;
    assert_int_equal(hx_ice_tcp_rx_init(&rx, buf, sizeof buf), 0);
    for (size_t i = 0; i < n; i++)
        feed_all(&rx, stream + i, 1, &next);
    assert_int_equal(next, N_FRAMES);
}

static void test_merged_in_place(void **state)
{
    uint8_t stream[4096], buf[1500];
    size_t n = make_stream(stream, sizeof stream);
    hx_ice_tcp_rx rx;
    const uint8_t *f;
    size_t flen;
    assert_int_equal(hx_ice_tcp_rx_init(&rx, buf, sizeof buf), 0);
    /* All frames in one chunk: each returned in place, one per call. */
    long used = hx_ice_tcp_rx_feed(&rx, stream, n, &f, &flen);
    assert_int_equal(used, 3);
    assert_ptr_equal(f, stream + 2);
    assert_int_equal(flen, 1);
    used = hx_ice_tcp_rx_feed(&rx, stream + 3, n - 3, &f, &flen);
    assert_int_equal(used, 22);
    assert_ptr_equal(f, stream + 5);
    /* Next call: the empty frame is skipped, the 300-byte one returned. */
    used = hx_ice_tcp_rx_feed(&rx, stream + 25, n - 25, &f, &flen);
    assert_int_equal(used, 2 + 302);
    assert_int_equal(flen, 300);
    assert_ptr_equal(f, stream + 29);
}

static void test_cap(void **state)
{
    uint8_t buf[100], out[8];
    hx_ice_tcp_rx rx;
    const uint8_t *f;
    size_t flen;
    uint8_t ok_hdr[2] = {0, 100}, big_hdr[2] = {0, 101};
    uint8_t body[100] = {0};
    assert_int_equal(hx_ice_tcp_rx_init(&rx, buf, sizeof buf), 0);
    assert_int_equal(hx_ice_tcp_rx_feed(&rx, ok_hdr, 2, &f, &flen), 2);
    assert_null(f);
    assert_int_equal(hx_ice_tcp_rx_feed(&rx, body, 100, &f, &flen), 100);
    assert_int_equal(flen, 100);
    assert_int_equal(hx_ice_tcp_rx_feed(&rx, big_hdr, 1, &f, &flen), 1);
    assert_int_equal(hx_ice_tcp_rx_feed(&rx, big_hdr + 1, 1, &f, &flen), HX_ICE_TCP_ETOOBIG);
    assert_int_equal(hx_ice_tcp_rx_feed(&rx, ok_hdr, 2, &f, &flen), HX_ICE_TCP_ETOOBIG);
    assert_null(f);
    assert_int_equal(hx_ice_tcp_rx_init(&rx, NULL, 10), HX_ICE_TCP_EINVAL);
    assert_int_equal(hx_ice_tcp_encode(out, sizeof out, body, 7), HX_ICE_TCP_ENOSPACE);
    assert_int_equal(hx_ice_tcp_encode(out, sizeof out, body, 6), 8);
    assert_int_equal(hx_ice_tcp_encode(out, sizeof out, body, 70000), HX_ICE_TCP_ETOOBIG);
    /* The largest frame RFC 4571 can carry. */
    static uint8_t big[HX_ICE_TCP_MAX_FRAME], stream[HX_ICE_TCP_MAX_FRAME + 2];
    assert_int_equal(hx_ice_tcp_rx_init(&rx, big, sizeof big), 0);
    memset(stream, 0xab, sizeof stream);
    stream[0] = stream[1] = 0xff;
    assert_int_equal(hx_ice_tcp_rx_feed(&rx, stream, 1000, &f, &flen), 1000);
    assert_int_equal(hx_ice_tcp_rx_feed(&rx, stream + 1000, sizeof stream - 1000, &f, &flen),
                     (long)sizeof stream - 1000);
    assert_int_equal(flen, HX_ICE_TCP_MAX_FRAME);
    assert_ptr_equal(f, big);
    assert_int_equal(big[HX_ICE_TCP_MAX_FRAME - 1], 0xab);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_split),
        cmocka_unit_test(test_merged_in_place),
        cmocka_unit_test(test_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
