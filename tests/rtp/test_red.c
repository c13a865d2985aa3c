/*
 * RED (RFC 2198): the primary block found behind redundant ones, the
 * RFC's own example layout, and every truncation refused.
 */
#include "rtp/red.h"
#include "rtp/rtp.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

static void test_primary(void **state)
{
    (void)state;
    /* Two redundant blocks (PT 111, 3 and 2 bytes), then primary PT 111 with 4 bytes. */
    static const uint8_t p[] = {0x80 | 111, 0x00, 0x3c << 2, 3,   0x80 | 111, 0x00,
                                0x1e << 2,  2,    111,       'a', 'b',        'c',
                                'd',        'e',  '1',       '2', '3',        '4'};
    uint8_t pt = 0;
    size_t off = 0, len = 0;
    assert_int_equal(hx_red_primary(p, sizeof p, &pt, &off, &len), 0);
    assert_int_equal(pt, 111);
    assert_int_equal(off, 9 + 5);
    assert_int_equal(len, 4);
    assert_memory_equal(p + off, "1234", 4);
    /* Only a primary (what a sender emits when it has nothing redundant yet). */
    static const uint8_t q[] = {111, 0xfc, 0x01};
    assert_int_equal(hx_red_primary(q, sizeof q, &pt, &off, &len), 0);
    assert_int_equal(off, 1);
    assert_int_equal(len, 2);
    /* The RFC 2198 §3 example: one redundant block of 5 bytes (PT 5), primary PT 0. */
    static const uint8_t rfc[] = {0x80 | 5, 0x03, 0x20, 5, 0, 1, 2, 3, 4, 5, 9, 9};
    assert_int_equal(hx_red_primary(rfc, sizeof rfc, &pt, &off, &len), 0);
    assert_int_equal(pt, 0);
    assert_int_equal(off, 10);
    assert_int_equal(len, 2);
    /* Every truncation of the first packet that cuts into headers or blocks is refused. */
    for (size_t n = 0; n < 14; n++)
        assert_int_equal(hx_red_primary(p, n, &pt, &off, &len), HX_RTP_ETRUNC);
    assert_int_equal(hx_red_primary(p, 14, &pt, &off, &len), 0); /* an empty primary */
    assert_int_equal(len, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_primary)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
