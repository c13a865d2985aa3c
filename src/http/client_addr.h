/*
 * Who the client is: the socket peer, unless that peer is a reverse proxy
 * the operator trusts (http.trusted_proxies), in which case the proxy's
 * forwarding header names the client. Pure functions over text: no I/O, no
 * allocation, testable and fuzzable (tests/http/test_client_addr.c,
 * fuzz/fuzz_client_addr.c).
 *
 * The rule (RFC 7239 §7.4 and the X-Forwarded-For practice): each proxy
 * appends the address it received the request from, so the list is read
 * from the right, skipping hops that are themselves trusted proxies; the
 * first address that is not wins. Everything left of it is the client's
 * own say and is never believed. A header that does not parse where it is
 * read yields the socket peer: a client cannot pick its address by sending
 * garbage, at worst it is counted under its proxy's.
 *
 * Only one header is believed (http.proxy_header): a proxy appends to one
 * and passes the other through from the client untouched, so reading both
 * would let the client forge the one its proxy does not write.
 */
#ifndef HX_HTTP_CLIENT_ADDR_H
#define HX_HTTP_CLIENT_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HX_ADDR_STRLEN 64 /* room for any address hx_ip_format writes */
#define HX_FWD_MAX_HOPS 32 /* hops read from the right of a header; beyond: the socket peer */

/** An IPv4 or IPv6 address; IPv4-mapped IPv6 (::ffff:a.b.c.d) is kept as IPv4. */
typedef struct hx_ipaddr {
    uint8_t family; /* 4 or 6 */
    uint8_t b[16];  /* network order; IPv4 in the first 4 bytes */
} hx_ipaddr;

typedef struct hx_cidr {
    hx_ipaddr net;
    uint8_t bits; /* prefix length: 0-32 (IPv4), 0-128 (IPv6) */
} hx_cidr;

/** Which forwarding header a trusted proxy writes. */
typedef enum hx_fwd_header {
    HX_FWD_XFF = 0,   /* X-Forwarded-For: a, b, c */
    HX_FWD_FORWARDED, /* Forwarded: for=a;proto=https, for="[v6]:port" (RFC 7239) */
} hx_fwd_header;

/** Parse a numeric address of len bytes ("192.0.2.1", "2001:db8::1", no brackets). 0 or -1. */
int hx_ip_parse(const char *s, size_t len, hx_ipaddr *out);
/** Canonical text (inet_ntop) into out (HX_ADDR_STRLEN bytes suffice). */
void hx_ip_format(const hx_ipaddr *a, char *out, size_t outlen);
/** Parse "addr" or "addr/bits" (host bits must be zero). 0 or -1. */
int hx_cidr_parse(const char *s, hx_cidr *out);
/** True when a lies in c (an IPv4 address never matches an IPv6 prefix, and back). */
bool hx_cidr_contains(const hx_cidr *c, const hx_ipaddr *a);
/** True when a lies in any of the n prefixes. */
bool hx_cidrs_contain(const hx_cidr *list, size_t n, const hx_ipaddr *a);

/**
 * The client's address as text into out: the socket peer (normalized when it
 * parses, verbatim when not), or, when the peer is in trusted[0..n) and the
 * chosen header (the other argument is ignored; NULL: absent) holds one, the
 * right-most address in it that is not itself a trusted proxy. Returns 1 when
 * the address came from the header, 0 when it is the socket peer.
 */
int hx_client_addr(const char *peer, const char *forwarded, const char *xff, hx_fwd_header which,
                   const hx_cidr *trusted, size_t n_trusted, char *out, size_t outlen);

/** Parse http.proxy_header's value ("x-forwarded-for" | "forwarded"). 0 or -1. */
int hx_fwd_header_parse(const char *s, hx_fwd_header *out);

#endif
