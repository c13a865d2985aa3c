/*
 * ICE candidates as SDP attribute text (RFC 8839 §5.1) for offers/answers
 * and trickle (RFC 8840): "candidate:<foundation> <component> <transport>
 * <priority> <address> <port> typ <type> [raddr <a> rport <p>]
 * [tcptype <t>] [<name> <value>]...".
 *
 * hearthd offers host candidates only: UDP, and passive TCP (RFC 6544).
 * Priority follows RFC 8445 §5.1.2.1 with type preference 126 for host;
 * the local preference is (direction preference << 13) | address
 * preference, RFC 6544 §4.2's layout: TCP passive uses direction 4 and UDP
 * the top value 7, so every UDP candidate ranks above every TCP one, and
 * the caller's 13-bit address preference orders interfaces (e.g. IPv6
 * above IPv4) within a transport.
 *
 * Parsing remote candidates (trickle) accepts what browsers send: an
 * optional "a=", any case for transport and keywords, mDNS or other
 * hostnames as the address (kept as text; addr_numeric tells whether
 * addr holds it), and unknown extension pairs (generation, ufrag,
 * network-id, ...) skipped.
 */
#ifndef HX_ICE_CANDIDATE_H
#define HX_ICE_CANDIDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define HX_ICE_MAX_FOUNDATION 32
#define HX_ICE_MAX_ADDRESS 255
#define HX_ICE_MAX_CANDIDATE_LINE 1024
#define HX_ICE_TYPE_PREF_HOST 126

typedef enum hx_ice_transport { HX_ICE_UDP, HX_ICE_TCP } hx_ice_transport;
typedef enum hx_ice_cand_type {
    HX_ICE_HOST,
    HX_ICE_SRFLX,
    HX_ICE_PRFLX,
    HX_ICE_RELAY
} hx_ice_cand_type;
typedef enum hx_ice_tcptype {
    HX_ICE_TCP_NONE,
    HX_ICE_TCP_ACTIVE,
    HX_ICE_TCP_PASSIVE,
    HX_ICE_TCP_SO,
} hx_ice_tcptype;

typedef struct hx_ice_candidate {
    char foundation[HX_ICE_MAX_FOUNDATION + 1];
    uint16_t component; /* 1 = RTP (rtcp-mux: the only one) */
    hx_ice_transport transport;
    uint32_t priority;
    char address[HX_ICE_MAX_ADDRESS + 1];
    uint16_t port;
    hx_ice_cand_type type;
    hx_ice_tcptype tcptype;
    bool has_related;
    char raddr[HX_ICE_MAX_ADDRESS + 1];
    uint16_t rport;
    bool addr_numeric;            /* address is an IP literal ... */
    struct sockaddr_storage addr; /* ... and this is it, with port */
} hx_ice_candidate;

enum {
    HX_ICE_CAND_EPARSE = -1,
    HX_ICE_CAND_ENOSPACE = -2,
    HX_ICE_CAND_EINVAL = -3,
};

/** RFC 8445 §5.1.2.1: 2^24 type pref + 2^8 local pref + (256 - component). */
uint32_t hx_ice_priority(unsigned type_pref, unsigned local_pref, unsigned component);
/** Priority of one of our host candidates (addr_pref 0-8191, higher is preferred). */
uint32_t hx_ice_host_priority(hx_ice_transport t, unsigned addr_pref, unsigned component);
/** Fill a host candidate for a local address (TCP ones are tcptype passive). */
int hx_ice_candidate_host(hx_ice_candidate *c, const char *foundation, hx_ice_transport t,
                          const struct sockaddr_storage *addr, unsigned addr_pref);
/** Write "candidate:..." (no "a=", no CRLF), NUL-terminated. Length or negative. */
long hx_ice_candidate_format(const hx_ice_candidate *c, char *out, size_t cap);
/** Parse a candidate attribute ("a=" and trailing CR/LF optional). 0 or HX_ICE_CAND_EPARSE. */
int hx_ice_candidate_parse(hx_ice_candidate *c, const char *line, size_t len);

#endif
