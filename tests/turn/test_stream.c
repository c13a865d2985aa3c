/*
 * TURN stream framing (turn/stream.h): STUN messages and padded ChannelData
 * back to back, cut at every possible point and fed byte by byte, come out
 * as the same frames; whole frames come out in place; a first byte that is
 * neither, or a frame over the cap, is a sticky error.
 */
#include "turn/stream.h"

#include "common/bytes.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

/* A stream: a STUN message (28 bytes), ChannelData of 5 (padded to 12), ChannelData of 4 (8). */
static size_t sample(uint8_t *s, size_t *lens)
{
    size_t n = 0;
    uint8_t stun[28] = {0x00, 0x01, 0x00, 0x08, 0x21, 0x12, 0xa4, 0x42};
    for (int i = 8; i < 20; i++)
        stun[i] = (uint8_t)i;
    stun[20] = 0x80, stun[21] = 0x22, stun[22] = 0, stun[23] = 4;
    memcpy(stun + 24, "hrth", 4);
    memcpy(s + n, stun, sizeof stun);
    n += lens[0] = sizeof stun;
    uint8_t cd1[12] = {0x40, 0x01, 0x00, 0x05, 'a', 'b', 'c', 'd', 'e', 0, 0, 0};
    memcpy(s + n, cd1, sizeof cd1);
    n += lens[1] = sizeof cd1;
    uint8_t cd2[8] = {0x4f, 0xff, 0x00, 0x04, 'w', 'x', 'y', 'z'};
    memcpy(s + n, cd2, sizeof cd2);
    n += lens[2] = sizeof cd2;
    return n;
}

/* Feed s in chunks of `step` bytes (0: cut at `cut` only); check the frames. */
static void feed_all(const uint8_t *s, size_t n, const size_t *lens, size_t step, size_t cut)
{
    uint8_t buf[64];
    hx_turn_stream_rx rx;
    assert_int_equal(hx_turn_stream_init(&rx, buf, sizeof buf), 0);
    size_t got = 0, off = 0, expect_off = 0;
    while (off < n) {
        size_t chunk = step ? step : (off < cut ? cut - off : n - off);
        if (chunk > n - off) chunk = n - off;
        const uint8_t *p = s + off;
        size_t left = chunk;
        while (left) {
            const uint8_t *frame;
            size_t flen;
            long used = hx_turn_stream_feed(&rx, p, left, &frame, &flen);
            assert_true(used > 0);
            if (frame) {
                assert_true(got < 3);
                assert_int_equal(flen, lens[got]);
                assert_memory_equal(frame, s + expect_off, flen);
                expect_off += flen;
                got++;
            }
            p += used;
            left -= (size_t)used;
        }
        off += chunk;
    }
    assert_int_equal(got, 3);
}

static void every_split(void **state)
{
    uint8_t s[64];
    size_t lens[3];
    size_t n = sample(s, lens);
    for (size_t cut = 1; cut < n; cut++)
        feed_all(s, n, lens, 0, cut);
    for (size_t step = 1; step <= n; step++)
        feed_all(s, n, lens, step, 0);
}

static void whole_frames_in_place(void **state)
{
    uint8_t s[64], buf[64];
    size_t lens[3];
    size_t n = sample(s, lens);
    hx_turn_stream_rx rx;
    hx_turn_stream_init(&rx, buf, sizeof buf);
    const uint8_t *frame;
    size_t flen;
    assert_int_equal(hx_turn_stream_feed(&rx, s, n, &frame, &flen), 28);
    assert_ptr_equal(frame, s); /* no copy */
    assert_int_equal(hx_turn_stream_feed(&rx, s + 28, n - 28, &frame, &flen), 12);
    assert_ptr_equal(frame, s + 28);
    assert_int_equal(hx_turn_stream_frame_len((const uint8_t[]){0x40, 0, 0, 0}), 4);
    assert_int_equal(hx_turn_stream_frame_len((const uint8_t[]){0x00, 0x03, 0x01, 0x00}), 276);
    assert_int_equal(hx_turn_stream_frame_len((const uint8_t[]){0x7f, 0, 0xff, 0xfd}), 4 + 65536);
}

static void errors_are_sticky(void **state)
{
    uint8_t buf[64];
    hx_turn_stream_rx rx;
    const uint8_t *frame;
    size_t flen;
    hx_turn_stream_init(&rx, buf, sizeof buf);
    uint8_t http[8] = {'G', 'E', 'T', ' ', '/', ' ', 'H', 'T'}; /* 'G' = 0x47: ChannelData-shaped */
    uint8_t rtp[4] = {0x80, 0x60, 0x00, 0x01};
    assert_int_equal(hx_turn_stream_feed(&rx, rtp, sizeof rtp, &frame, &flen),
                     HX_TURN_STREAM_EPROTO);
    uint8_t ok[8] = {0x40, 0x00, 0x00, 0x04, 1, 2, 3, 4};
    assert_int_equal(hx_turn_stream_feed(&rx, ok, sizeof ok, &frame, &flen), HX_TURN_STREAM_EPROTO);
    assert_null(frame);
    /* Too big for the cap (64): 'GET ' announces 0x2020 bytes. */
    hx_turn_stream_init(&rx, buf, sizeof buf);
    assert_int_equal(hx_turn_stream_feed(&rx, http, 2, &frame, &flen), 2);
    assert_int_equal(hx_turn_stream_feed(&rx, http + 2, 6, &frame, &flen), HX_TURN_STREAM_ETOOBIG);
    assert_int_equal(hx_turn_stream_feed(&rx, ok, sizeof ok, &frame, &flen),
                     HX_TURN_STREAM_ETOOBIG);
    assert_int_equal(hx_turn_stream_init(&rx, buf, 8), HX_TURN_STREAM_EINVAL);
    /* A partial header then nothing: no frame, everything consumed. */
    hx_turn_stream_init(&rx, buf, sizeof buf);
    assert_int_equal(hx_turn_stream_feed(&rx, ok, 3, &frame, &flen), 3);
    assert_null(frame);
    assert_int_equal(hx_turn_stream_feed(&rx, ok + 3, 5, &frame, &flen), 5);
    assert_non_null(frame);
    assert_int_equal(flen, 8);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_split),
        cmocka_unit_test(whole_frames_in_place),
        cmocka_unit_test(errors_are_sticky),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
