/*
 * The worker-wide demux for one UDP port (or one ICE-TCP listener): which
 * transport's agent a packet belongs to.
 *
 * Two maps, both open-addressed hash tables sized once at init (no
 * allocation afterwards, none per packet), with a random hash seed:
 *   - local ufrag -> agent, registered when a transport is created, so a
 *     connectivity check finds its agent by the first half of USERNAME;
 *   - remote transport address -> agent, learned from the first valid
 *     check from that address, so everything else (DTLS, SRTP, and STUN
 *     without a usable USERNAME) is routed by 5-tuple (RFC 8445 §2.5: a
 *     lite agent learns its peer's addresses from the checks it answers).
 * An address entry is trusted only while the agent still holds a pair for
 * that address: a lookup that finds a stale entry (pair evicted, consent
 * lost, ICE failed) deletes it; learning sweeps stale entries when the
 * table is half full.
 *
 * Agents are the caller's; hx_ice_demux_remove must be called before one
 * is cleared or freed.
 */
#ifndef HX_ICE_DEMUX_H
#define HX_ICE_DEMUX_H

#include "ice/ice.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Extra results of hx_ice_demux_input (the others are the agent's). */
enum {
    HX_ICE_RX_MEDIA = 3,  /* not STUN, from a known address: hand to *agent's transport */
    HX_ICE_ENOAGENT = -7, /* no agent for this ufrag or address: drop */
    HX_ICE_EEXIST = -8,   /* hx_ice_demux_add: the ufrag is taken */
    HX_ICE_EFULL = -9,    /* a table is full */
};

typedef struct hx_ice_demux_addr {
    uint8_t key[20];     /* family, 0, port (network order), address (4 or 16 bytes) */
    hx_ice_agent *agent; /* NULL: empty slot */
} hx_ice_demux_addr;

typedef struct hx_ice_demux {
    uint64_t seed;
    size_t max_agents, n_agents, n_addrs;
    size_t ufrag_mask, addr_mask; /* table sizes - 1 (powers of two) */
    hx_ice_agent **ufrags;
    hx_ice_demux_addr *addrs;
    uint64_t n_media, n_stun, n_unrouted; /* counters for metrics */
} hx_ice_demux;

/** Allocate tables for up to max_agents agents (and HX_ICE_MAX_PAIRS addresses each). */
int hx_ice_demux_init(hx_ice_demux *d, size_t max_agents);
/** Free the tables (the agents are the caller's). */
void hx_ice_demux_free(hx_ice_demux *d);
/** Register an agent under its local ufrag. */
int hx_ice_demux_add(hx_ice_demux *d, hx_ice_agent *a);
/** Forget an agent: its ufrag and every address learned for it. */
void hx_ice_demux_remove(hx_ice_demux *d, hx_ice_agent *a);
/** Only its ufrag entry (an ICE restart changes it; its learned addresses stay). */
void hx_ice_demux_remove_ufrag(hx_ice_demux *d, hx_ice_agent *a);
/** The agent registered under a local ufrag, or NULL. */
hx_ice_agent *hx_ice_demux_by_ufrag(const hx_ice_demux *d, const uint8_t *ufrag, size_t len);
/** The agent that learned an address and still holds a pair for it, or NULL. */
hx_ice_agent *hx_ice_demux_by_addr(hx_ice_demux *d, const struct sockaddr_storage *from);
/** Map an address to an agent (replacing an older mapping). 0 or HX_ICE_EFULL/EINVAL. */
int hx_ice_demux_learn(hx_ice_demux *d, const struct sockaddr_storage *from, hx_ice_agent *a);

/**
 * Route one datagram. STUN goes to the agent named by USERNAME (else the one
 * that owns the address), which answers into out as hx_ice_agent_on_stun
 * does; a valid check teaches the demux its address. Anything else is
 * HX_ICE_RX_MEDIA for the agent that owns the address. *agent is set
 * whenever an agent was found, NULL otherwise.
 */
int hx_ice_demux_input(hx_ice_demux *d, const uint8_t *pkt, size_t len,
                       const struct sockaddr_storage *from, int64_t now_ms, uint8_t *out,
                       size_t cap, size_t *out_len, hx_ice_agent **agent);

#endif
