/*
 * Unit tests for http/client_addr: address and prefix parsing (IPv4, IPv6,
 * IPv4-mapped), prefix matching at byte and bit boundaries, and the client
 * address rule: headers believed only from a trusted peer, the right-most
 * untrusted hop wins, a forged left part is ignored, garbage anywhere the
 * walk reaches gives the socket peer, only the configured header counts,
 * and RFC 7239 syntax (quotes, brackets, ports, several pairs, "unknown").
 */
#include "http/client_addr.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

static hx_cidr trusted[4];
static size_t n_trusted;

static int setup(void **state)
{
    (void)state;
    static const char *const list[] = {"127.0.0.5", "10.0.0.0/8", "fd00::/8", "192.168.1.0/25"};
    n_trusted = 0;
    for (size_t i = 0; i < 4; i++)
        if (hx_cidr_parse(list[i], &trusted[n_trusted]) == 0) n_trusted++;
    return n_trusted == 4 ? 0 : -1;
}

/* The client address for (peer, header) with X-Forwarded-For, or Forwarded when fwd. */
static const char *addr(const char *peer, const char *header, bool fwd, int *from_header)
{
    static char out[HX_ADDR_STRLEN];
    int rc = hx_client_addr(peer, fwd ? header : NULL, fwd ? NULL : header,
                            fwd ? HX_FWD_FORWARDED : HX_FWD_XFF, trusted, n_trusted, out,
                            sizeof out);
    if (from_header) *from_header = rc;
    return out;
}

static void test_ip_parse(void **state)
{
    (void)state;
    hx_ipaddr a;
    char buf[HX_ADDR_STRLEN];
    assert_int_equal(hx_ip_parse("192.0.2.1", 9, &a), 0);
    assert_int_equal(a.family, 4);
    hx_ip_format(&a, buf, sizeof buf);
    assert_string_equal(buf, "192.0.2.1");
    assert_int_equal(hx_ip_parse("2001:DB8::1", 11, &a), 0);
    assert_int_equal(a.family, 6);
    hx_ip_format(&a, buf, sizeof buf);
    assert_string_equal(buf, "2001:db8::1"); /* canonical: one key per address */
    assert_int_equal(hx_ip_parse("::ffff:127.0.0.1", 16, &a), 0);
    assert_int_equal(a.family, 4); /* a dual-stack socket's IPv4 peer */
    hx_ip_format(&a, buf, sizeof buf);
    assert_string_equal(buf, "127.0.0.1");
    /* len bounds the text: "10.0.0.1x" read as 8 bytes is 10.0.0.1 */
    assert_int_equal(hx_ip_parse("10.0.0.1x", 8, &a), 0);
    static const char *const bad[] = {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.4 ",
                                      " 1.2.3.4", "example.com", "::g", "1.2.3.4/8", "[::1]",
                                      "unknown", "_hidden"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(hx_ip_parse(bad[i], strlen(bad[i]), &a), -1);
    assert_int_equal(hx_ip_parse("1.2\0.3.4", 8, &a), -1); /* an embedded NUL */
    char longs[100];
    memset(longs, '1', sizeof longs);
    assert_int_equal(hx_ip_parse(longs, sizeof longs, &a), -1);
}

static void test_cidr(void **state)
{
    (void)state;
    hx_cidr c;
    hx_ipaddr a;
    assert_int_equal(hx_cidr_parse("10.0.0.0/8", &c), 0);
    assert_int_equal(c.bits, 8);
    assert_int_equal(hx_ip_parse("10.255.1.2", 10, &a), 0);
    assert_true(hx_cidr_contains(&c, &a));
    assert_int_equal(hx_ip_parse("11.0.0.1", 8, &a), 0);
    assert_false(hx_cidr_contains(&c, &a));
    /* A bare address is a /32 or /128. */
    assert_int_equal(hx_cidr_parse("127.0.0.5", &c), 0);
    assert_int_equal(c.bits, 32);
    assert_int_equal(hx_ip_parse("127.0.0.6", 9, &a), 0);
    assert_false(hx_cidr_contains(&c, &a));
    assert_int_equal(hx_cidr_parse("::1", &c), 0);
    assert_int_equal(c.bits, 128);
    /* Bit boundaries inside a byte: 192.168.1.0/25 holds .127, not .128. */
    assert_int_equal(hx_cidr_parse("192.168.1.0/25", &c), 0);
    assert_int_equal(hx_ip_parse("192.168.1.127", 13, &a), 0);
    assert_true(hx_cidr_contains(&c, &a));
    assert_int_equal(hx_ip_parse("192.168.1.128", 13, &a), 0);
    assert_false(hx_cidr_contains(&c, &a));
    /* /0 holds everything of its family, nothing of the other. */
    assert_int_equal(hx_cidr_parse("0.0.0.0/0", &c), 0);
    assert_true(hx_cidr_contains(&c, &a));
    assert_int_equal(hx_ip_parse("::1", 3, &a), 0);
    assert_false(hx_cidr_contains(&c, &a));
    assert_int_equal(hx_cidr_parse("fd00::/8", &c), 0);
    assert_int_equal(hx_ip_parse("fdab::1", 7, &a), 0);
    assert_true(hx_cidr_contains(&c, &a));
    assert_int_equal(hx_ip_parse("fe80::1", 7, &a), 0);
    assert_false(hx_cidr_contains(&c, &a));
    /* An IPv4-mapped prefix counts its bits in IPv6 terms. */
    assert_int_equal(hx_cidr_parse("::ffff:10.0.0.0/104", &c), 0);
    assert_int_equal(c.net.family, 4);
    assert_int_equal(c.bits, 8);
    assert_int_equal(hx_ip_parse("10.1.1.1", 8, &a), 0);
    assert_true(hx_cidr_contains(&c, &a));
    static const char *const bad[] = {"10.0.0.0/33", "10.0.0.1/8", "10.0.0.0/", "10.0.0.0/x",
                                      "10.0.0.0/-1", "::/129", "fd00::1/8", "10.0.0.0/8/8",
                                      "::ffff:10.0.0.0/8", "", "a.b.c.d/8", "10.0.0.0/0008"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(hx_cidr_parse(bad[i], &c), -1);
}

static void test_untrusted_peer(void **state)
{
    (void)state;
    int h;
    /* Headers from a peer that is not a proxy of ours are the client's say: ignored. */
    assert_string_equal(addr("203.0.113.9", "1.2.3.4", false, &h), "203.0.113.9");
    assert_int_equal(h, 0);
    assert_string_equal(addr("203.0.113.9", "for=1.2.3.4", true, &h), "203.0.113.9");
    assert_int_equal(h, 0);
    assert_string_equal(addr("::ffff:203.0.113.9", NULL, false, &h), "203.0.113.9");
    /* A peer that is no address (a Unix socket, nothing) is passed on as it is. */
    assert_string_equal(addr("unix:", "1.2.3.4", false, &h), "unix:");
    assert_string_equal(addr("", "1.2.3.4", false, &h), "");
    char out[8];
    assert_int_equal(hx_client_addr(NULL, NULL, "1.2.3.4", HX_FWD_XFF, trusted, n_trusted, out,
                                     sizeof out),
                     0);
    assert_string_equal(out, "");
}

static void test_xff(void **state)
{
    (void)state;
    int h;
    assert_string_equal(addr("127.0.0.5", "198.51.100.7", false, &h), "198.51.100.7");
    assert_int_equal(h, 1);
    /* The proxy's peer is right-most; what the client wrote itself (left) is not believed. */
    assert_string_equal(addr("127.0.0.5", "6.6.6.6, 198.51.100.7", false, &h), "198.51.100.7");
    /* Trusted hops are skipped from the right. */
    assert_string_equal(addr("127.0.0.5", "6.6.6.6,198.51.100.7, 10.1.2.3,10.9.9.9", false, &h),
                        "198.51.100.7");
    assert_string_equal(addr("127.0.0.5", "6.6.6.6, fd00::2", false, &h), "6.6.6.6");
    /* Only trusted hops: the left-most, a client inside the trusted range. */
    assert_string_equal(addr("127.0.0.5", "10.0.0.1, 10.0.0.2", false, &h), "10.0.0.1");
    assert_int_equal(h, 1);
    /* Ports, brackets, IPv6, mapped addresses, spaces and empty elements. */
    assert_string_equal(addr("127.0.0.5", "198.51.100.7:4711", false, &h), "198.51.100.7");
    assert_string_equal(addr("127.0.0.5", "[2001:db8::7]:4711", false, &h), "2001:db8::7");
    assert_string_equal(addr("127.0.0.5", "[2001:DB8::7]", false, &h), "2001:db8::7");
    assert_string_equal(addr("127.0.0.5", "2001:db8::7", false, &h), "2001:db8::7");
    assert_string_equal(addr("127.0.0.5", "::ffff:198.51.100.7", false, &h), "198.51.100.7");
    assert_string_equal(addr("127.0.0.5", " ,\t198.51.100.7 , ", false, &h), "198.51.100.7");
    assert_string_equal(addr("::ffff:127.0.0.5", "198.51.100.7", false, &h), "198.51.100.7");
    assert_string_equal(addr("fd00::99", "198.51.100.7", false, &h), "198.51.100.7");
    /* Garbage the walk reaches gives the socket peer; garbage left of the winner does not. */
    assert_string_equal(addr("127.0.0.5", "garbage", false, &h), "127.0.0.5");
    assert_int_equal(h, 0);
    assert_string_equal(addr("127.0.0.5", "198.51.100.7, garbage", false, &h), "127.0.0.5");
    assert_string_equal(addr("127.0.0.5", "garbage, 10.0.0.1", false, &h), "127.0.0.5");
    assert_string_equal(addr("127.0.0.5", "garbage, 198.51.100.7", false, &h), "198.51.100.7");
    assert_string_equal(addr("127.0.0.5", "", false, &h), "127.0.0.5");
    assert_string_equal(addr("127.0.0.5", " , ", false, &h), "127.0.0.5");
    static const char *const bad[] = {"1.2.3.4:", "1.2.3.4:70000", "1.2.3.4:12a", "[1.2.3.4]",
                                      "[::1", "[::1]x", "[::1]:", "1.2.3.4 5.6.7.8", "unknown",
                                      "\"1.2.3.4\"", "1.2.3.4:123456"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_string_equal(addr("127.0.0.5", bad[i], false, NULL), "127.0.0.5");
    /* Only the configured header: Forwarded is the client's when the proxy writes XFF. */
    char out[HX_ADDR_STRLEN];
    assert_int_equal(hx_client_addr("127.0.0.5", "for=6.6.6.6", "198.51.100.7", HX_FWD_XFF,
                                     trusted, n_trusted, out, sizeof out),
                     1);
    assert_string_equal(out, "198.51.100.7");
    assert_int_equal(hx_client_addr("127.0.0.5", "for=198.51.100.7", "6.6.6.6", HX_FWD_FORWARDED,
                                     trusted, n_trusted, out, sizeof out),
                     1);
    assert_string_equal(out, "198.51.100.7");
    assert_int_equal(hx_client_addr("127.0.0.5", NULL, "6.6.6.6", HX_FWD_FORWARDED, trusted,
                                     n_trusted, out, sizeof out),
                     0);
    assert_string_equal(out, "127.0.0.5");
}

static void test_long_chains(void **state)
{
    (void)state;
    char hdr[4096];
    size_t n = 0;
    /* A forged client part longer than the ring: the right end still decides. */
    for (int i = 0; i < 100; i++) n += (size_t)snprintf(hdr + n, sizeof hdr - n, "6.6.6.%d, ", i);
    snprintf(hdr + n, sizeof hdr - n, "198.51.100.7, 10.0.0.1");
    assert_string_equal(addr("127.0.0.5", hdr, false, NULL), "198.51.100.7");
    /* More trusted hops than the ring holds: the walk gives up (the peer). */
    n = 0;
    hdr[0] = '\0';
    for (int i = 0; i < HX_FWD_MAX_HOPS + 2; i++)
        n += (size_t)snprintf(hdr + n, sizeof hdr - n, "%s10.0.0.%d", i ? "," : "", i);
    assert_string_equal(addr("127.0.0.5", hdr, false, NULL), "127.0.0.5");
    /* Exactly the ring's worth of trusted hops: the left-most. */
    n = 0;
    for (int i = 0; i < HX_FWD_MAX_HOPS; i++)
        n += (size_t)snprintf(hdr + n, sizeof hdr - n, "%s10.0.0.%d", i ? "," : "", i);
    assert_string_equal(addr("127.0.0.5", hdr, false, NULL), "10.0.0.0");
    /* A tiny output buffer is cut, never overrun. */
    char out[4];
    hx_client_addr("127.0.0.5", NULL, "198.51.100.7", HX_FWD_XFF, trusted, n_trusted, out,
                   sizeof out);
    assert_string_equal(out, "198");
}

static void test_forwarded(void **state)
{
    (void)state;
    int h;
    assert_string_equal(addr("127.0.0.5", "for=198.51.100.7", true, &h), "198.51.100.7");
    assert_int_equal(h, 1);
    /* RFC 7239 §4 examples. */
    assert_string_equal(addr("127.0.0.5", "for=\"_gazonk\"", true, &h), "127.0.0.5");
    assert_string_equal(addr("127.0.0.5", "For=\"[2001:db8:cafe::17]:4711\"", true, &h),
                        "2001:db8:cafe::17");
    assert_string_equal(addr("127.0.0.5", "for=192.0.2.60;proto=http;by=203.0.113.43", true, &h),
                        "192.0.2.60");
    assert_string_equal(addr("127.0.0.5", "for=192.0.2.43, for=198.51.100.17", true, &h),
                        "198.51.100.17");
    /* Pairs in any order, spaces around separators, a quoted port, a comma in quotes. */
    assert_string_equal(addr("127.0.0.5", "proto=https ; FOR = \"198.51.100.7:443\" ;by=x", true,
                             &h),
                        "198.51.100.7");
    assert_string_equal(addr("127.0.0.5", "for=6.6.6.6;host=\"a,b\", for=198.51.100.7", true, &h),
                        "198.51.100.7");
    assert_string_equal(addr("127.0.0.5", "for=198.51.100.7, for=10.0.0.3;by=10.0.0.4", true, &h),
                        "198.51.100.7");
    assert_string_equal(addr("127.0.0.5", "for=\"198.51.100.\\7\"", true, &h), "198.51.100.7");
    /* Hops that do not say who: unknown, obfuscated, no for=, two for=, bad syntax. */
    static const char *const bad[] = {
        "for=unknown",     "for=_hidden",      "by=1.2.3.4",          "for=1.2.3.4;for=5.6.7.8",
        "for",             "for=\"1.2.3.4",    "for=\"1.2.3.4\"x",    "for=\"[::1\"",
        "=1.2.3.4",        "for=1.2.3.4;junk", "for=\"[::1]:99999\"", "for=\"a\\",
        "for=\"1.2\"3.4\""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_string_equal(addr("127.0.0.5", bad[i], true, NULL), "127.0.0.5");
    /* An unknown hop left of the winner does not matter. */
    assert_string_equal(addr("127.0.0.5", "for=unknown, for=198.51.100.7", true, &h),
                        "198.51.100.7");
}

static void test_fwd_header_parse(void **state)
{
    (void)state;
    hx_fwd_header w;
    assert_int_equal(hx_fwd_header_parse("X-Forwarded-For", &w), 0);
    assert_int_equal(w, HX_FWD_XFF);
    assert_int_equal(hx_fwd_header_parse("forwarded", &w), 0);
    assert_int_equal(w, HX_FWD_FORWARDED);
    assert_int_equal(hx_fwd_header_parse("x-real-ip", &w), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ip_parse),
        cmocka_unit_test(test_cidr),
        cmocka_unit_test_setup(test_untrusted_peer, setup),
        cmocka_unit_test_setup(test_xff, setup),
        cmocka_unit_test_setup(test_long_chains, setup),
        cmocka_unit_test_setup(test_forwarded, setup),
        cmocka_unit_test(test_fwd_header_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
