/*
 * Hash chains over the audit trail (DESIGN §6): tamper evidence without
 * any database in sight, so every store backend (SQLite today, PostgreSQL
 * next) writes and checks exactly the same bytes.
 *
 * Each room has its own chain; events without a room go on the server
 * chain (room NULL, reported as "(server)"). Record n of a chain holds
 *
 *   content_hash = SHA-256(encode(ts_ms, kind, room, user, device, sid, code, detail))
 *   hash         = SHA-256(prev_hash || seq || ts_ms || kind || content_hash)
 *
 * with seq = n (the first record has seq 1 and prev_hash 32 zero bytes)
 * and prev_hash the hash of record n - 1. The content encoding is
 * unambiguous: ts_ms as 8 bytes big-endian, then each string as a presence
 * byte (0 NULL, 1 present) and, when present, an 8-byte big-endian length
 * and the bytes. So NULL differs from "", and no shift of bytes between
 * neighbouring fields keeps a hash. The link repeats ts_ms and kind
 * outside the content so that they stay covered when retention drops the
 * content (a redacted record keeps ts_ms, kind and all three hashes).
 *
 * The verifier (chain_verify.c) is a state machine fed one chain's rows in
 * (seq, id) order; it needs no I/O either.
 */
#ifndef HX_STORE_CHAIN_H
#define HX_STORE_CHAIN_H

#include "store/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HX_CHAIN_HASH_LEN 32
#define HX_CHAIN_SERVER_NAME "(server)"

/** The retention class of an event kind (see hx_retention). */
typedef enum hx_audit_class {
    HX_CLASS_SESSION = 0,
    HX_CLASS_MODERATION = 1,
} hx_audit_class;

/** HX_CLASS_MODERATION for moderation, votes, bans and revocations; HX_CLASS_SESSION otherwise. */
hx_audit_class hx_event_class(const char *kind);

/** A chain's name in reports: its room, or "(server)" for room NULL. */
const char *hx_chain_name(const char *room);

/** The canonical content of ev into buf; returns the full length (as snprintf: len 0 sizes). */
size_t hx_chain_encode(const hx_event *ev, uint8_t *buf, size_t len);

/** SHA-256 of the canonical content. 0, or -1 when OpenSSL fails. */
int hx_chain_content_hash(const hx_event *ev, uint8_t out[HX_CHAIN_HASH_LEN]);

/** SHA-256(prev || seq || ts_ms || kind || content_hash). 0 or -1. */
int hx_chain_link_hash(const uint8_t prev[HX_CHAIN_HASH_LEN], int64_t seq, int64_t ts_ms,
                       const char *kind, const uint8_t content_hash[HX_CHAIN_HASH_LEN],
                       uint8_t out[HX_CHAIN_HASH_LEN]);

/** The chain fields of a record about to be appended. */
typedef struct hx_chain_link {
    int64_t seq;
    uint8_t prev_hash[HX_CHAIN_HASH_LEN];
    uint8_t content_hash[HX_CHAIN_HASH_LEN];
    uint8_t hash[HX_CHAIN_HASH_LEN];
} hx_chain_link;

/** Link ev after a head (head_seq 0, head_hash NULL: an empty chain). 0 or -1. */
int hx_chain_next(int64_t head_seq, const uint8_t *head_hash, const hx_event *ev,
                  hx_chain_link *out);

/* ---- verification (chain_verify.c) ---------------------------------------------------- */

/** One stored record as read back: ev.room etc. may have been tampered with. */
typedef struct hx_chain_row {
    hx_event ev; /* id, ts_ms, kind and the content columns as stored */
    int64_t seq;
    bool redacted;
    const uint8_t *prev_hash, *content_hash, *hash; /* as stored, any length */
    size_t prev_len, content_len, hash_len;
} hx_chain_row;

/** What a row says about itself, before its neighbours are looked at. */
typedef struct hx_chain_check {
    bool content_ok; /* content matches content_hash (redacted: the content is all NULL) */
    bool link_ok;    /* hash recomputes from prev_hash, seq, ts_ms, kind, content_hash */
    uint8_t computed[HX_CHAIN_HASH_LEN]; /* the content's hash as it stands now */
} hx_chain_check;

/** Check one row on its own. 0, or -1 when OpenSSL fails. */
int hx_chain_check_row(const hx_chain_row *r, hx_chain_check *out);

/* Problems are held back this many at a time, so that the two halves of a
 * swap can be recognised and named "reordered" rather than "changed". */
#define HX_CHAIN_PENDING 64
#define HX__CHAIN_KIND_MAX 48

/* A held-back problem, with what pairing it with another one needs. */
typedef struct hx__chain_pending {
    hx_chain_problem p;
    bool content_pair; /* content changed: computed vs stored content hash */
    bool seq_pair;     /* link broken: would it hold under another row's seq? */
    int64_t ts_ms;
    char kind[HX__CHAIN_KIND_MAX];
    uint8_t stored_content[HX_CHAIN_HASH_LEN], computed[HX_CHAIN_HASH_LEN];
    uint8_t prev[HX_CHAIN_HASH_LEN], hash[HX_CHAIN_HASH_LEN];
} hx__chain_pending;

/** One chain's verification in progress (large: problems are held back in it). */
typedef struct hx_chain_verifier {
    const char *room; /* the chain's room (NULL: server), for the problems */
    hx_chain_cb cb;
    void *arg;
    long problems;
    /* The last record accepted as part of the chain, or the anchor or the start. */
    int64_t base_seq, base_id; /* base_id 0: the anchor or the start */
    uint8_t base_hash[HX_CHAIN_HASH_LEN];
    bool base_reported; /* a problem already names the base row */
    bool base_clean;    /* the base row passed both of its own checks */
    bool has_anchor;
    size_t n_pending;
    hx__chain_pending pending[HX_CHAIN_PENDING];
} hx_chain_verifier;

/**
 * Start verifying one chain. anchor_hash NULL: the chain starts at seq 1
 * from 32 zero bytes; else right after (anchor_seq, anchor_hash), where
 * retention pruned it. room must stay valid until hx_chain_verify_end.
 */
void hx_chain_verify_begin(hx_chain_verifier *v, const char *room, int64_t anchor_seq,
                           const uint8_t *anchor_hash, size_t anchor_len, hx_chain_cb cb,
                           void *arg);

/**
 * The next row in (seq, id) order, with its own checks. id_rank is the id
 * found at the same position when the chain's rows that pass both their own
 * checks are read in id order, or 0 when this row does not pass them.
 */
void hx_chain_verify_row(hx_chain_verifier *v, const hx_chain_row *r, const hx_chain_check *c,
                         int64_t id_rank);

/** Compare the end of the chain with its head (has_head false: none stored). Returns the
 * number of problems found in the chain. */
long hx_chain_verify_end(hx_chain_verifier *v, bool has_head, int64_t head_seq,
                         const uint8_t *head_hash, size_t head_len);

/** A backend's reading of one chain: 1 with *r filled (valid until the next call on the
 *  same reading), 0 at the end, <0 on error. */
typedef int (*hx_chain_next_fn)(void *arg, hx_chain_row *r);

/**
 * Feed one chain to v, between begin and end: the rows of by_seq ((seq, id) order), each
 * with its id_rank taken from by_id (the same rows in id order). Counts records and
 * redacted ones into sum. Returns the rows read, or -1 when a reading or OpenSSL failed.
 */
long hx_chain_verify_rows(hx_chain_verifier *v, hx_chain_next_fn by_seq, void *seq_arg,
                          hx_chain_next_fn by_id, void *id_arg, hx_chain_summary *sum);

/** Retention's pruning: may r be pruned right after (seq, hash), the front so far? It must
 *  be redacted, the next seq, link to hash, and pass its own checks. */
bool hx_chain_prunable(int64_t seq, const uint8_t hash[HX_CHAIN_HASH_LEN], const hx_chain_row *r);

#endif
