/*
 * The TURN server's protocol core (RFC 8656): everything the server
 * decides, and nothing it does with sockets or threads. The carrier
 * (server.c, udp.c, stream_conn.c, tls.c) feeds it messages from clients
 * and datagrams from peers, with an explicit clock, and the core answers
 * through hx_turn_io: a slot to write a message into, then a commit. Unit
 * tests and the fuzz targets drive the same calls with fake I/O.
 *
 * Inside (core_internal.h): the allocations table (a hash by 5-tuple and
 * a slot array by id), each allocation's bounded permissions and
 * channels, one deadline per allocation in a min-heap (the earliest of
 * its lifetime, permissions and channels), per-user quotas and token
 * buckets, stateless nonces and the peer policy.
 *
 * Clocks: now_ms is monotonic milliseconds (lifetimes, nonces, buckets);
 * the credential expiry in a username is unix seconds, read as
 * (now_ms + wall_offset_ms) / 1000 (hx_turn_core_set_wall_offset).
 */
#ifndef HX_TURN_CORE_H
#define HX_TURN_CORE_H

#include "turn/turn.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define HX_TURN_NONCE_KEY_LEN 32

/** Where a client message came from: the 5-tuple, reduced to what tells clients apart. */
typedef struct hx_turn_client {
    hx_turn_proto proto;
    uint64_t conn;                /* the stream connection (0 for UDP: one listener) */
    struct sockaddr_storage addr; /* the client's address (XOR-MAPPED-ADDRESS, nonces) */
} hx_turn_client;

/**
 * The carrier's side. A message goes out as slot (a buffer of *cap bytes
 * or NULL: dropped) then commit (len 0: nothing sent). A relay is the
 * carrier's socket for one address family of one allocation.
 */
typedef struct hx_turn_io {
    void *ctx;
    uint8_t *(*client_slot)(void *ctx, const hx_turn_client *c, size_t *cap);
    void (*client_commit)(void *ctx, const hx_turn_client *c, size_t len);
    uint8_t *(*peer_slot)(void *ctx, void *relay, size_t *cap);
    void (*peer_commit)(void *ctx, void *relay, const struct sockaddr_storage *peer, size_t len);
    /**
     * Open a relay socket of `family` for allocation `id` (peer datagrams
     * come back with that id); *relayed is the address to report. 0,
     * -EAFNOSUPPORT (440), or another negative errno (508).
     */
    int (*relay_open)(void *ctx, uint64_t id, int family, bool even_port, void **relay,
                      struct sockaddr_storage *relayed);
    void (*relay_close)(void *ctx, void *relay);
} hx_turn_io;

typedef struct hx_turn_core hx_turn_core;

/**
 * A core over a copy of the configuration (realm, secrets, allow list,
 * own addresses, quotas). key: the per-process nonce key. 0 and *out, or
 * -1 with err (a CIDR that does not parse, out of memory).
 */
int hx_turn_core_new(const hx_turn_config *cfg, const uint8_t key[HX_TURN_NONCE_KEY_LEN],
                     const hx_turn_io *io, hx_turn_core **out, char *err, size_t errlen);
/** Close every allocation's relays and free (safe on NULL). */
void hx_turn_core_free(hx_turn_core *t);

/** unix ms - monotonic ms, for credential expiries. */
void hx_turn_core_set_wall_offset(hx_turn_core *t, int64_t offset_ms);
/** Replace the secrets (at most HX_TURN_MAX_SECRETS; each verifies). */
void hx_turn_core_set_secrets(hx_turn_core *t, const char secrets[][128], size_t n);

/** One message from a client: a UDP datagram or one stream frame (STUN or ChannelData). */
void hx_turn_core_client(hx_turn_core *t, const hx_turn_client *c, const uint8_t *buf, size_t len,
                         int64_t now_ms);
/** One datagram from a peer to allocation `id`'s relay. */
void hx_turn_core_peer(hx_turn_core *t, uint64_t id, const struct sockaddr_storage *peer,
                       const uint8_t *buf, size_t len, int64_t now_ms);
/** A stream connection closed: its allocation (RFC 8656 §3.1: the 5-tuple's) goes. */
void hx_turn_core_conn_closed(hx_turn_core *t, const hx_turn_client *c);

/** Expire what is due (allocations, permissions, channels). */
void hx_turn_core_tick(hx_turn_core *t, int64_t now_ms);
/** The earliest deadline (monotonic ms), or INT64_MAX when nothing is waiting. */
int64_t hx_turn_core_next_deadline(const hx_turn_core *t);

/** Live allocations. */
size_t hx_turn_core_allocations(const hx_turn_core *t);
/** Live allocations of a user id (the part after ':' of the username). */
size_t hx_turn_core_user_allocations(const hx_turn_core *t, const char *user);
/** Counters (relaxed atomics: any thread). */
void hx_turn_core_stats(const hx_turn_core *t, hx_turn_stats *out);
/** Check the table's invariants (counts, heap order, hash membership): 0 or a negative line number.
 */
int hx_turn_core_check(const hx_turn_core *t);

#endif
