/*
 * The core's data layout, shared by its files (core.c dispatch, alloc.c
 * table and deadlines on a common/heap.h heap, auth.c nonces and
 * credentials, policy.c peers, quota.c users, methods.c requests, answer.c
 * responses). Not for the carrier: it sees only core.h.
 *
 * Ownership: the core owns every allocation (calloc'd on Allocate, freed
 * when it expires, is refreshed to 0, its stream closes or the core is
 * freed); an allocation owns its relays (closed through hx_turn_io) and
 * holds a reference on its user's quota record, freed with the last
 * allocation. Permissions and channels are fixed arrays inside the
 * allocation. Nothing on the relay path allocates.
 */
#ifndef HX_TURN_CORE_INTERNAL_H
#define HX_TURN_CORE_INTERNAL_H

#include "turn/core.h"

#include "auth/turn_cred.h"
#include "common/heap.h"
#include "common/strmap.h"
#include "stun/stun.h"

#include <stdatomic.h>

#define HX__TURN_MAX_PERMS 32           /* peer IPs per allocation */
#define HX__TURN_MAX_CHANNELS 32        /* channels per allocation */
#define HX__TURN_PERM_MS 300000         /* RFC 8656 §9: permissions last 300 s */
#define HX__TURN_CHANNEL_MS 600000      /* §12: channel bindings last 600 s */
#define HX__TURN_DEFAULT_LIFETIME_S 600 /* §7.2 */
/*
 * Channel numbers: RFC 8656 §12 names 0x4000-0x4FFF, RFC 5766 allowed up to
 * 0x7FFF and its clients (coturn's among them) still draw from that whole
 * range. A server gains nothing by refusing them (no other protocol shares
 * its port), so ChannelBind takes RFC 5766's range and ChannelData is
 * every message whose first two bits are 01.
 */
#define HX__TURN_CHANNEL_MIN 0x4000
#define HX__TURN_CHANNEL_MAX 0x7FFF
#define HX__TURN_NONCE_LEN 32 /* 8 hex digits of expiry, 24 of MAC */
#define HX__TURN_SOFTWARE "hearth"

/* Attributes the STUN codec does not name (RFC 8656 §18, RFC 8489 §18.3). */
#define HX__TURN_ATTR_ADDITIONAL_ADDRESS_FAMILY 0x8000
#define HX__TURN_ATTR_ADDRESS_ERROR_CODE 0x8001

/* Error codes of RFC 8656 §18 the STUN header does not have. */
enum {
    HX__TURN_ERR_ADDR_FAMILY = 440, /* Address Family not Supported */
    HX__TURN_ERR_WRONG_CREDS = 441, /* Wrong Credentials */
    HX__TURN_ERR_TRANSPORT = 442,   /* Unsupported Transport Protocol */
    HX__TURN_ERR_PEER_FAMILY = 443, /* Peer Address Family Mismatch */
    HX__TURN_ERR_QUOTA = 486,       /* Allocation Quota Reached */
    HX__TURN_ERR_CAPACITY = 508,    /* Insufficient Capacity */
};

/** An address without the sockaddr padding: family AF_INET (ip[0..4)) or AF_INET6. */
typedef struct hx__turn_addr {
    uint8_t family;
    uint16_t port; /* host order */
    uint8_t ip[16];
} hx__turn_addr;

/* --- peer policy (policy.c) ---------------------------------------------- */

typedef struct hx__turn_cidr {
    hx__turn_addr net;
    uint8_t bits;
} hx__turn_cidr;

typedef struct hx__turn_policy {
    size_t n_allow;
    hx__turn_cidr allow[HX_TURN_MAX_ALLOW];
    size_t n_own;
    hx__turn_addr own[HX_TURN_MAX_OWN];
} hx__turn_policy;

typedef enum hx__turn_verdict {
    HX__PEER_REFUSED = 0, /* 403 */
    HX__PEER_ALLOWED,     /* every port */
    HX__PEER_OWN_ONLY,    /* the SFU's IP: only its own ports */
} hx__turn_verdict;

/** "a.b.c.d", "a.b.c.d/n", "v6", "v6/n". 0 or -1. */
int hx__turn_cidr_parse(const char *s, hx__turn_cidr *out);
bool hx__turn_cidr_match(const hx__turn_cidr *c, const hx__turn_addr *a);
/** Build from the configuration: 0, or -1 with err naming the CIDR that does not parse. */
int hx__turn_policy_init(hx__turn_policy *p, const hx_turn_config *cfg, char *err, size_t errlen);
/** A peer IP's verdict (the port is not looked at). */
hx__turn_verdict hx__turn_policy_ip(const hx__turn_policy *p, const hx__turn_addr *a);
/** Is a.ip:a.port one of the SFU's own addresses? */
bool hx__turn_policy_own_port(const hx__turn_policy *p, const hx__turn_addr *a);
/** Loopback, private, link-local, unspecified, multicast, broadcast or reserved. */
bool hx__turn_addr_forbidden(const hx__turn_addr *a);

/* --- addresses (alloc.c) ------------------------------------------------- */

/** From a sockaddr_in/sockaddr_in6: 0, or -1 for another family. */
int hx__turn_addr_from(hx__turn_addr *a, const struct sockaddr_storage *ss);
void hx__turn_addr_to(const hx__turn_addr *a, struct sockaddr_storage *ss);
bool hx__turn_addr_ip_eq(const hx__turn_addr *a, const hx__turn_addr *b);
bool hx__turn_addr_eq(const hx__turn_addr *a, const hx__turn_addr *b);

/* --- users and quotas (quota.c) ------------------------------------------ */

enum { HX__TURN_TO_PEER = 0, HX__TURN_TO_CLIENT = 1 };

typedef struct hx__turn_user {
    uint32_t allocations;
    uint64_t bits[2]; /* token buckets, one per direction */
    int64_t last_ms[2];
    char id[]; /* the key in hx_turn_core.users */
} hx__turn_user;

/** The user's record, created on first use; NULL when out of memory. */
hx__turn_user *hx__turn_user_get(hx_turn_core *t, const char *id, int64_t now_ms);
/** Drop one allocation's reference (frees the record with the last). */
void hx__turn_user_put(hx_turn_core *t, hx__turn_user *u);
/** Take len bytes from a direction's bucket: true if they fit (else the packet is dropped). */
bool hx__turn_user_spend(hx_turn_core *t, hx__turn_user *u, int dir, size_t len, int64_t now_ms);

/* --- allocations (alloc.c) ----------------------------------------------- */

typedef struct hx__turn_perm {
    hx__turn_addr ip; /* port unused */
    int64_t expires;
    bool own_only;
} hx__turn_perm;

typedef struct hx__turn_channel {
    uint16_t number;
    hx__turn_addr peer;
    int64_t expires;
} hx__turn_channel;

typedef struct hx__turn_alloc {
    uint64_t id; /* generation << 32 | slot */
    hx_turn_client client;
    uint32_t hash;
    struct hx__turn_alloc *next; /* hash chain */
    hx_heap_node timer;          /* earliest of expires, perms, channels */
    int64_t expires;
    uint8_t tid[HX_STUN_TID_LEN]; /* of the Allocate: a retransmission is answered again */
    char username[HX_TURN_CRED_MAX_USERNAME];
    hx_stun_key key; /* long-term key of username (RFC 8489 §9.2.2) */
    hx__turn_user *user;
    void *relay[2]; /* [0] IPv4, [1] IPv6; NULL when that family is not relayed */
    struct sockaddr_storage relayed[2];
    struct sockaddr_storage relayed_reported[2];
    size_t n_perms, n_channels;
    hx__turn_perm perms[HX__TURN_MAX_PERMS];
    hx__turn_channel channels[HX__TURN_MAX_CHANNELS];
} hx__turn_alloc;

/** A new, empty allocation for a client in the table (no relays yet); NULL when full or OOM. */
hx__turn_alloc *hx__turn_alloc_new(hx_turn_core *t, const hx_turn_client *c);
/** Unlink, close its relays, drop its user reference and free. */
void hx__turn_alloc_free(hx_turn_core *t, hx__turn_alloc *a);
hx__turn_alloc *hx__turn_alloc_find(const hx_turn_core *t, const hx_turn_client *c);
hx__turn_alloc *hx__turn_alloc_by_id(const hx_turn_core *t, uint64_t id);
/** Recompute the allocation's deadline after a change. */
void hx__turn_alloc_reschedule(hx_turn_core *t, hx__turn_alloc *a);
/** Drop expired permissions and channels; true when the allocation itself is due. */
bool hx__turn_alloc_sweep(hx__turn_alloc *a, int64_t now_ms);
/** The live permission for a peer IP, or NULL. */
hx__turn_perm *hx__turn_perm_find(hx__turn_alloc *a, const hx__turn_addr *ip, int64_t now_ms);
/** Install or refresh a permission: 0, or -1 when the table is full. */
int hx__turn_perm_set(hx__turn_alloc *a, const hx__turn_addr *ip, bool own_only, int64_t now_ms);
hx__turn_channel *hx__turn_channel_by_number(hx__turn_alloc *a, uint16_t n, int64_t now_ms);
hx__turn_channel *hx__turn_channel_by_peer(hx__turn_alloc *a, const hx__turn_addr *p,
                                           int64_t now_ms);
/** 0 for IPv4, 1 for IPv6. */
int hx__turn_family_index(int family);

/* --- the core ------------------------------------------------------------ */

typedef struct hx__turn_counters {
    _Atomic uint64_t allocations_total, auth_failures, refused_peers, quota_refusals;
    _Atomic uint64_t relayed_packets, relayed_bytes, dropped_packets;
    _Atomic uint64_t allocations;
} hx__turn_counters;

#define HX__COUNT(t, field, n)                                                                     \
    atomic_fetch_add_explicit(&(t)->counters.field, (n), memory_order_relaxed)

struct hx_turn_core {
    hx_turn_config cfg;
    hx_turn_io io;
    hx__turn_policy policy;
    hx_stun_key nonce_key;
    uint32_t hash_seed;
    int64_t wall_offset_ms;
    hx__turn_alloc **slots; /* by id's low 32 bits; cfg.max_total_allocations of them */
    uint32_t next_gen;
    hx__turn_alloc **buckets; /* by 5-tuple */
    size_t nbuckets;
    size_t n_allocs;
    hx_heap heap;    /* one timer per allocation, cap max_total_allocations */
    hx_strmap users; /* user id -> hx__turn_user */
    hx__turn_counters counters;
};

/** One request or indication being handled. */
typedef struct hx__turn_req {
    hx_turn_core *t;
    const hx_turn_client *c;
    const hx_stun_msg *m;
    int64_t now;
    hx__turn_alloc *a;      /* the 5-tuple's allocation, NULL if none */
    const hx_stun_key *key; /* set once authenticated: answers carry MESSAGE-INTEGRITY */
    hx_stun_key fresh;      /* the key computed for a request without an allocation */
    char username[HX_TURN_CRED_MAX_USERNAME];
    const char *user; /* the user id within username */
} hx__turn_req;

/* auth.c */
/** The nonce for a client, valid for cfg.nonce_lifetime_s from now. */
void hx__turn_nonce_make(const hx_turn_core *t, const hx_turn_client *c, int64_t now_ms,
                         char out[HX__TURN_NONCE_LEN + 1]);
/** 0 valid, -1 forged or for another client, -2 stale. */
int hx__turn_nonce_check(const hx_turn_core *t, const hx_turn_client *c, const uint8_t *nonce,
                         size_t len, int64_t now_ms);
/** Long-term authentication of RFC 8489 §9.2.4: 0 with r->key set, or -1 with the error answered.
 */
int hx__turn_authenticate(hx__turn_req *r);

/* answer.c */
/** Begin an answer of `type` to the request's client; false when there is no slot. */
bool hx__turn_answer_begin(hx__turn_req *r, hx_stun_writer *w, uint16_t type);
/** SOFTWARE, MESSAGE-INTEGRITY (when authenticated), FINGERPRINT; then send. */
void hx__turn_answer_end(hx__turn_req *r, hx_stun_writer *w);
/** An error answer (401 and 438 carry REALM and a fresh NONCE). */
void hx__turn_answer_error(hx__turn_req *r, int code, const char *reason);
/** 420 with UNKNOWN-ATTRIBUTES. */
void hx__turn_answer_unknown(hx__turn_req *r, const uint16_t *types, size_t n);

/* methods.c */
void hx__turn_allocate(hx__turn_req *r);
void hx__turn_refresh(hx__turn_req *r);
void hx__turn_create_permission(hx__turn_req *r);
void hx__turn_channel_bind(hx__turn_req *r);
void hx__turn_send(hx__turn_req *r);
/** Relay a payload from a client to a peer through the allocation (Send, ChannelData). */
void hx__turn_to_peer(hx_turn_core *t, hx__turn_alloc *a, const hx__turn_addr *peer,
                      const uint8_t *data, size_t len, int64_t now_ms);

#endif
