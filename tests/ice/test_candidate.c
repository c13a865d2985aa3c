/*
 * Candidate lines: our host candidates (UDP, passive TCP, IPv4, IPv6)
 * format as RFC 8839 text with RFC 8445 §5.1.2.1 priorities (recomputed
 * here from the formula) that rank UDP above TCP; they parse back to the
 * same fields; real browser lines (Chrome srflx with extensions, Firefox
 * upper-case UDP, an mDNS host, active TCP) parse; malformed lines fail.
 */
#include "ice/candidate.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

static struct sockaddr_storage sa(const char *ip, int port)
{
    struct sockaddr_storage ss = {0};
    if (strchr(ip, ':')) {
        struct sockaddr_in6 *s = (void *)&ss;
        s->sin6_family = AF_INET6;
        s->sin6_port = htons((uint16_t)port);
        assert_int_equal(inet_pton(AF_INET6, ip, &s->sin6_addr), 1);
    } else {
        struct sockaddr_in *s = (void *)&ss;
        s->sin_family = AF_INET;
        s->sin_port = htons((uint16_t)port);
        assert_int_equal(inet_pton(AF_INET, ip, &s->sin_addr), 1);
    }
    return ss;
}

static int parse(hx_ice_candidate *c, const char *line)
{
    return hx_ice_candidate_parse(c, line, strlen(line));
}

static void test_priority(void **state)
{
    /* 2^24 * type pref + 2^8 * local pref + (256 - component) */
    assert_int_equal(hx_ice_priority(126, 65535, 1), 16777216u * 126 + 256u * 65535 + 255);
    assert_int_equal(hx_ice_priority(0, 0, 256), 0);
    uint32_t udp_low = hx_ice_host_priority(HX_ICE_UDP, 0, 1);
    uint32_t tcp_high = hx_ice_host_priority(HX_ICE_TCP, 8191, 1);
    assert_int_equal(udp_low, 16777216u * 126 + 256u * (7 << 13) + 255);
    assert_int_equal(tcp_high, 16777216u * 126 + 256u * ((4 << 13) + 8191) + 255);
    assert_true(udp_low > tcp_high);
    assert_true(hx_ice_host_priority(HX_ICE_UDP, 100, 1) > udp_low);
    assert_int_equal(hx_ice_host_priority(HX_ICE_UDP, 9999, 1),
                     hx_ice_host_priority(HX_ICE_UDP, 8191, 1));
}

static void roundtrip(const hx_ice_candidate *c, const char *want)
{
    char line[HX_ICE_MAX_CANDIDATE_LINE];
    hx_ice_candidate back;
    long n = hx_ice_candidate_format(c, line, sizeof line);
    assert_int_equal(n, (long)strlen(want));
    assert_string_equal(line, want);
    char small[HX_ICE_MAX_CANDIDATE_LINE];
    assert_int_equal(hx_ice_candidate_format(c, small, (size_t)n), HX_ICE_CAND_ENOSPACE);
    assert_int_equal(parse(&back, line), 0);
    assert_string_equal(back.foundation, c->foundation);
    assert_int_equal(back.component, c->component);
    assert_int_equal(back.transport, c->transport);
    assert_int_equal(back.priority, c->priority);
    assert_string_equal(back.address, c->address);
    assert_int_equal(back.port, c->port);
    assert_int_equal(back.type, c->type);
    assert_int_equal(back.tcptype, c->tcptype);
    assert_true(back.addr_numeric);
    assert_memory_equal(&back.addr, &c->addr, sizeof back.addr);
}

static void test_host_candidates(void **state)
{
    hx_ice_candidate c;
    struct sockaddr_storage a4 = sa("192.0.2.10", 40000), a6 = sa("2001:db8::10", 40001);
    assert_int_equal(hx_ice_candidate_host(&c, "u4", HX_ICE_UDP, &a4, 0), 0);
    roundtrip(&c, "candidate:u4 1 udp 2128609535 192.0.2.10 40000 typ host");
    assert_int_equal(hx_ice_candidate_host(&c, "t6", HX_ICE_TCP, &a6, 1), 0);
    roundtrip(&c, "candidate:t6 1 tcp 2122318335 2001:db8::10 40001 typ host tcptype passive");
    assert_int_equal(c.priority, hx_ice_host_priority(HX_ICE_TCP, 1, 1));
    assert_int_equal(hx_ice_candidate_host(&c, "bad foundation", HX_ICE_UDP, &a4, 0),
                     HX_ICE_CAND_EINVAL);
    struct sockaddr_storage un = {.ss_family = AF_UNIX};
    assert_int_equal(hx_ice_candidate_host(&c, "x", HX_ICE_UDP, &un, 0), HX_ICE_CAND_EINVAL);
}

static void test_browser_lines(void **state)
{
    hx_ice_candidate c;
    assert_int_equal(parse(&c, "candidate:842163049 1 udp 1677729535 192.0.2.3 54400 typ srflx "
                               "raddr 10.0.0.5 rport 54401 generation 0 ufrag EEtu network-id 3 "
                               "network-cost 10"),
                     0);
    assert_string_equal(c.foundation, "842163049");
    assert_int_equal(c.priority, 1677729535u);
    assert_int_equal(c.type, HX_ICE_SRFLX);
    assert_true(c.has_related);
    assert_string_equal(c.raddr, "10.0.0.5");
    assert_int_equal(c.rport, 54401);
    struct sockaddr_storage want = sa("192.0.2.3", 54400);
    assert_memory_equal(&c.addr, &want, sizeof want);

    assert_int_equal(parse(&c, "a=candidate:0 1 UDP 2122252543 2001:db8::5 61745 typ host\r\n"), 0);
    assert_int_equal(c.transport, HX_ICE_UDP);
    assert_int_equal(c.addr.ss_family, AF_INET6);

    assert_int_equal(parse(&c, "candidate:1 1 udp 2113937151 3b7c2d6e-1f0e-4c1b.local 56000 typ "
                               "host generation 0"),
                     0);
    assert_false(c.addr_numeric);
    assert_string_equal(c.address, "3b7c2d6e-1f0e-4c1b.local");

    assert_int_equal(parse(&c, "candidate:3 1 TCP 1518280447 192.168.1.5 9 typ host tcptype "
                               "active generation 0"),
                     0);
    assert_int_equal(c.transport, HX_ICE_TCP);
    assert_int_equal(c.tcptype, HX_ICE_TCP_ACTIVE);
    assert_int_equal(parse(&c, "candidate:4 2 udp 41885439 203.0.113.9 3478 typ relay raddr "
                               "0.0.0.0 rport 0"),
                     0);
    assert_int_equal(c.type, HX_ICE_RELAY);
    assert_int_equal(c.component, 2);
}

static void test_malformed(void **state)
{
    static const char *const bad[] = {
        "",
        "candidate:",
        "candidate:1 1 udp 100 192.0.2.1 9",           /* no typ */
        "candidate:1 1 udp 100 192.0.2.1 9 type host", /* not "typ" */
        "candidate:1 1 udp 100 192.0.2.1 9 typ nat",   /* unknown type */
        "candidate:1 1 udp 0 192.0.2.1 9 typ host",    /* priority 0 */
        "candidate:1 1 udp 2147483648 192.0.2.1 9 typ host",
        "candidate:1 0 udp 100 192.0.2.1 9 typ host", /* component 0 */
        "candidate:1 257 udp 100 192.0.2.1 9 typ host",
        "candidate:1 1 sctp 100 192.0.2.1 9 typ host",
        "candidate:1 1 udp 100 192.0.2.1 65536 typ host",
        "candidate:1 1 udp 100 192.0.2.1 -1 typ host",
        "candidate:1 1 udp 100 192.0.2.1 9x typ host",
        "candidate:1 1 udp 100 192.0.2.1; 9 typ host",           /* bad address char */
        "candidate:1 1 udp 100 192.0.2.1 9 typ host generation", /* odd extension */
        "candidate:1 1 udp 100 192.0.2.1 9 typ srflx raddr 10.0.0.1",
        "candidate:1 1 tcp 100 192.0.2.1 9 typ host", /* TCP without tcptype */
        "candidate:1 1 tcp 100 192.0.2.1 9 typ host tcptype sideways",
        "candidate:1 1 udp 100 192.0.2.1 9 typ host tcptype active",
        "candidate:123456789012345678901234567890123 1 udp 100 192.0.2.1 9 typ host",
        "candidate:a-b 1 udp 100 192.0.2.1 9 typ host", /* '-' not an ice-char */
        "a=foo:1 1 udp 100 192.0.2.1 9 typ host",
    };
    hx_ice_candidate c;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (parse(&c, bad[i]) != HX_ICE_CAND_EPARSE) fail_msg("accepted: %s", bad[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_priority),
        cmocka_unit_test(test_host_candidates),
        cmocka_unit_test(test_browser_lines),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
