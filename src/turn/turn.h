/*
 * The embedded TURN server (RFC 8656; DESIGN §3, docs/connectivity.md).
 * It runs on its own thread with its own libuv loop, like a media worker:
 * UDP, TCP and TLS listeners, one relay socket per allocation, long-term
 * credentials with nonces over coturn-style REST usernames
 * (auth/turn_cred.h), permissions, channels, lifetimes, per-user quotas,
 * and a peer policy that refuses private, loopback and link-local peers
 * unless allowed (the SFU's own addresses always are).
 *
 * Ownership: hx_turn_start allocates everything and starts the thread;
 * hx_turn_stop closes every allocation, joins the thread and frees it.
 * Nothing here touches the control plane's memory: the configuration is
 * copied at start, counters are read with hx_turn_stats from any thread.
 */
#ifndef HX_TURN_TURN_H
#define HX_TURN_TURN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define HX_TURN_MAX_SECRETS 2
#define HX_TURN_MAX_ALLOW 16
#define HX_TURN_MAX_OWN 8

typedef enum hx_turn_proto { HX_TURN_UDP = 0, HX_TURN_TCP, HX_TURN_TLS } hx_turn_proto;

typedef struct hx_turn_config {
    char host[64];                 /* listen address (numeric) */
    int udp_port, tcp_port, tls_port; /* 0: the kernel picks; -1: off (TLS also off without cert) */
    char relay_host[64];           /* relay sockets bind here; empty: host */
    int min_port, max_port;        /* relay port range; 0, 0: the kernel picks */
    char announce[64];             /* XOR-RELAYED-ADDRESS host (NAT); empty: the bound address */
    char realm[128];
    size_t n_secrets;              /* the first signs (not used here), every one verifies */
    char secrets[HX_TURN_MAX_SECRETS][128];
    size_t n_allow;                /* CIDRs ("127.0.0.1", "10.0.0.0/8", "::1/128") allowed as peers */
    char allow[HX_TURN_MAX_ALLOW][64];
    size_t n_own;                  /* the SFU's own addresses: always allowed as peers */
    struct sockaddr_storage own[HX_TURN_MAX_OWN];
    uint32_t max_allocations;      /* per user id (the part after ':' in the username) */
    uint64_t max_bps;              /* relayed bits per second per user id, both directions */
    uint32_t max_lifetime_s;       /* LIFETIME cap (RFC 8656 default 600 s asked) */
    uint32_t max_total_allocations; /* all users together (508 Insufficient Capacity past it) */
    uint32_t max_conns_per_addr;   /* open TCP/TLS/adopted connections per client IP */
    uint32_t max_conns;            /* open TCP/TLS/adopted connections in all */
    uint32_t nonce_lifetime_s;     /* a NONCE goes stale (438) after this */
    char tls_cert[512], tls_key[512]; /* PEM files; empty: no TLS listener */
} hx_turn_config;

/** Counters, cumulative since start (read from any thread). */
typedef struct hx_turn_stats {
    uint64_t allocations;          /* live now */
    uint64_t allocations_total;    /* created */
    uint64_t auth_failures;        /* 401 answers to requests with credentials (bad or expired) */
    uint64_t refused_peers;        /* 403: CreatePermission/ChannelBind toward a forbidden peer */
    uint64_t quota_refusals;       /* 486: allocation quota; and packets dropped over max_bps */
    uint64_t relayed_packets, relayed_bytes; /* client -> peer and peer -> client */
    uint64_t dropped_packets;      /* relay traffic without a permission or channel, or too big */
    uint64_t connections;          /* stream connections open now (TCP, TLS, adopted) */
    uint64_t refused_connections;  /* over a connection cap, or a failed TLS handshake */
} hx_turn_stats;

typedef struct hx_turn hx_turn;

/** Defaults: loopback, ephemeral ports, realm "hearth", RFC 8656 limits. */
void hx_turn_config_default(hx_turn_config *cfg);

/** Bind the listeners and start the thread. 0 and *out, or -1 with err. */
int hx_turn_start(const hx_turn_config *cfg, hx_turn **out, char *err, size_t errlen);

/** A listener's bound port, -1 when that listener is off. */
int hx_turn_port(const hx_turn *t, hx_turn_proto p);

/**
 * Hand over a stream connection whose first bytes are TURN (STUN or
 * ChannelData) rather than HTTP, from the HTTP listener's port (the
 * 443-only case). fd carries the plaintext (TLS already ended by the
 * caller, or a socketpair end); head holds bytes already read from it;
 * peer is the client's real address, used in XOR-MAPPED-ADDRESS and the
 * quotas. Takes fd in every case (closed on failure). 0 or -1; any thread.
 */
int hx_turn_adopt_stream(hx_turn *t, int fd, const struct sockaddr *peer, const uint8_t *head,
                         size_t len);

/** Reload the TLS certificate and key (SIGHUP); the old ones stay on failure. 0 or -1 with err. */
int hx_turn_reload_tls(hx_turn *t, char *err, size_t errlen);

/** Replace the secrets (rotation without restart). Any thread. */
void hx_turn_set_secrets(hx_turn *t, const char secrets[][128], size_t n);

/** Counters; any thread while the server runs. */
void hx_turn_stats_get(const hx_turn *t, hx_turn_stats *out);

/** An opaque pointer of the owner's, kept with the server (the daemon's metrics timer). */
void hx_turn_set_owner_data(hx_turn *t, void *data);
void *hx_turn_owner_data(const hx_turn *t);

/** Close everything, join the thread, free (safe on NULL). */
void hx_turn_stop(hx_turn *t);

#endif
