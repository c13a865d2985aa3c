/*
 * Unit tests for http/first_bytes: STUN requests (with the cookie, and
 * shorter than a header) are TURN; a wrong cookie, ChannelData, a TLS
 * record and HTTP are not; an HTTP request line is HTTP only in plaintext
 * on a TLS listener; garbage is OTHER.
 */
#include "http/first_bytes.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

static hx_first_kind k(const char *b, size_t n, bool plain_tls)
{
    return hx_first_bytes((const uint8_t *)b, n, plain_tls);
}

static void turn(void **state)
{
    (void)state;
    static const char alloc[] = "\x00\x03\x00\x08\x21\x12\xa4\x42" "abcdefghijkl";
    static const char binding[] = "\x00\x01\x00\x00\x21\x12\xa4\x42" "abcdefghijkl";
    assert_int_equal(k(alloc, 20, false), HX_FIRST_TURN);
    assert_int_equal(k(alloc, 20, true), HX_FIRST_TURN);
    assert_int_equal(k(binding, 20, false), HX_FIRST_TURN);
    assert_int_equal(k(alloc, 3, false), HX_FIRST_TURN); /* part of a header: TURN checks it */
    static const char bad_cookie[] = "\x00\x03\x00\x08\x21\x12\xa4\x43" "abcdefghijkl";
    assert_int_equal(k(bad_cookie, 20, false), HX_FIRST_OTHER);
    static const char channel[] = "\x40\x00\x00\x04" "abcd";
    assert_int_equal(k(channel, 8, false), HX_FIRST_OTHER); /* no channel can exist yet */
    static const char tls[] = "\x16\x03\x01\x00\x05hello";
    assert_int_equal(k(tls, 10, true), HX_FIRST_OTHER);
    assert_int_equal(k("", 0, true), HX_FIRST_OTHER);
}

static void http(void **state)
{
    (void)state;
    const char *get = "GET /healthz HTTP/1.1\r\n";
    assert_int_equal(k(get, strlen(get), true), HX_FIRST_HTTP);
    assert_int_equal(k(get, strlen(get), false), HX_FIRST_OTHER); /* lws takes plaintext HTTP */
    assert_int_equal(k("OPTIONS * HTTP/1.1", 18, true), HX_FIRST_HTTP);
    assert_int_equal(k("GE", 2, true), HX_FIRST_HTTP); /* the start of one */
    assert_int_equal(k("get / HTTP/1.1", 14, true), HX_FIRST_OTHER);
    assert_int_equal(k("GET/", 4, true), HX_FIRST_OTHER);
    assert_int_equal(k("ABCDEFGHIJKLMNOPQ x", 19, true), HX_FIRST_OTHER); /* 17 letters */
    assert_int_equal(k("\xff\xfe", 2, true), HX_FIRST_OTHER);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(turn), cmocka_unit_test(http)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
