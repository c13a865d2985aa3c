/*
 * The persistence boundary (DESIGN §6). hearthd talks to a store only
 * through this interface; the embedded default is SQLite in WAL mode in the
 * data dir (store_sqlite.c); PostgreSQL (store_pg.c) implements the same ops
 * and schema for several nodes sharing one database. Every call is
 * synchronous and returns only after the write is durable: what was
 * acknowledged is never lost.
 *
 * Records kept:
 *   events       the audit trail: session join/leave with reason, auth
 *                failures, ticket replays, revocations, ...; hash-chained
 *                per room (chain.h), so edits, deletions and reordering
 *                show, and retained per class (hx_retention)
 *   revocations  by jti, by sid, and per-user not-before times
 *   tickets      consumed join-ticket ids (single use across restarts)
 *   secrets      named server secrets (ticket MAC key, later resume key)
 */
#ifndef HX_STORE_STORE_H
#define HX_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HX_DAY_MS (86400LL * 1000)

typedef enum hx_store_err {
    HX_STORE_OK = 0,
    HX_STORE_ERROR = -1,  /* I/O or database error; message via hx_store_errmsg */
    HX_STORE_EXISTS = -2, /* unique record already present (e.g. ticket already consumed) */
    HX_STORE_NOTFOUND = -3,
} hx_store_err;

typedef struct hx_store hx_store;

/** One audit record. Strings may be NULL. detail is a JSON object text or NULL. */
typedef struct hx_event {
    int64_t id;       /* set by the store on read */
    int64_t ts_ms;    /* unix ms */
    const char *kind; /* "session.join", "session.leave", "auth.failure", "ticket.replay",
                         "revocation", ... */
    const char *room;
    const char *user;
    const char *device;
    const char *sid;
    const char *code;   /* reason / error code */
    const char *detail; /* JSON object text */
    /* Relaxed durability: the record is written, but may become durable only with the store's
     * next synced write rather than before append_event returns (SQLite: its log is synced
     * with the next commit; PostgreSQL ignores it). For records no acknowledgement waits on
     * (ticket.issue): a power cut may lose one that nothing durable followed; kill -9 cannot. */
    bool relaxed;
    /* Set by the store on read, ignored by append_event: */
    int64_t seq;   /* position in its room's chain from 1; 0 = unchained (written before v2) */
    bool redacted; /* retention dropped user..detail; ts_ms, kind, room and the hashes stay */
    const uint8_t *prev_hash, *content_hash, *hash; /* HX_CHAIN_HASH_LEN bytes each, or NULL */
} hx_event;

typedef enum hx_revoke_kind {
    HX_REVOKE_JTI = 1,
    HX_REVOKE_SID = 2,
    HX_REVOKE_USER = 3, /* not_before applies: tokens with iat < not_before are revoked */
} hx_revoke_kind;

typedef struct hx_revocation {
    hx_revoke_kind kind;
    const char *value;  /* jti, sid or user id */
    int64_t not_before; /* unix seconds, HX_REVOKE_USER only */
    int64_t created_ms;
    int64_t expires_ms; /* 0 = never; the sweeper may drop it afterwards */
    const char *reason; /* may be NULL */
} hx_revocation;

typedef struct hx_event_filter {
    const char *kind; /* NULL = any */
    const char *room; /* NULL = any */
    const char *user; /* NULL = any */
    int64_t since_ms; /* 0 = any; else ts_ms >= since_ms */
    int64_t until_ms; /* 0 = any; else ts_ms <= until_ms */
    int64_t after_id; /* 0 = from the start */
    size_t limit;     /* 0 = 100; capped at 1000 */
} hx_event_filter;

/** How long events are kept, per class (chain.h: hx_event_class); <= 0 keeps for ever. */
typedef struct hx_retention {
    int64_t session_ms;    /* everything that is not moderation */
    int64_t moderation_ms; /* moderation, votes, bans, revocations */
} hx_retention;

/** One thing wrong with a chain, as verify_chain finds it. */
typedef struct hx_chain_problem {
    const char *room; /* NULL: the server chain, "(server)" in reports */
    int64_t id;       /* the event named; 0 when it is gone (a missing tail) */
    int64_t seq;      /* its position in the chain (missing: the first absent one) */
    /* "changed" | "missing" | "reordered" | "head_mismatch" | "anchor_mismatch" */
    const char *what;
} hx_chain_problem;

typedef struct hx_chain_summary {
    long chains;    /* chains walked */
    long records;   /* chained records read */
    long redacted;  /* of which retention redacted */
    long unchained; /* records without a chain position (written before v2): not checked */
} hx_chain_summary;

typedef int (*hx_event_cb)(void *arg, const hx_event *ev);
typedef int (*hx_revocation_cb)(void *arg, const hx_revocation *rv);
/** A problem found by verify_chain; strings are valid during the call only. */
typedef void (*hx_chain_cb)(void *arg, const hx_chain_problem *p);

/** A sanction a moderation action left (moderation/moderation.h gives the kinds). */
typedef struct hx_sanction_rec {
    const char *action_id;            /* unique */
    int kind;                         /* hx_sanction_kind */
    const char *room, *user, *device; /* "" = any */
    int policy;                       /* hx_timeout_policy (timeouts) */
    int64_t created_ms, expires_ms;   /* unix ms; expires 0 = never */
    const char *actor, *reason;
} hx_sanction_rec;

typedef int (*hx_sanction_cb)(void *arg, const hx_sanction_rec *x);
typedef int (*hx_state_cb)(void *arg, const char *key, const char *value);

typedef struct hx_store_ops {
    const char *name;
    int (*append_event)(hx_store *s, const hx_event *ev);
    /** Upsert: the same (kind, value) replaces the earlier record. */
    int (*put_revocation)(hx_store *s, const hx_revocation *rv);
    /** All revocations not expired at now_ms; cb returning non-zero stops the walk. */
    int (*list_revocations)(hx_store *s, int64_t now_ms, hx_revocation_cb cb, void *arg);
    /** Mark a ticket id used. HX_STORE_EXISTS when it was used before (a replay). Relaxed
     *  durability (hx_event.relaxed) in SQLite: the join's answer waits on a synced write (its
     *  session record, or the refusal's audit record), which makes the mark durable first. */
    int (*consume_ticket)(hx_store *s, const char *ticket_id, int64_t expires_ms);
    /** Read a named secret into buf (len bytes). HX_STORE_NOTFOUND if absent. */
    int (*get_secret)(hx_store *s, const char *name, uint8_t *buf, size_t len);
    /** Upsert: the same name replaces the earlier secret (key rotation). */
    int (*put_secret)(hx_store *s, const char *name, const uint8_t *buf, size_t len);
    /** Insert only: HX_STORE_EXISTS, the stored secret kept, when name has one already.
     *  For a key generated on first start: nodes starting at once on a fresh shared
     *  database each generate one; the first stored wins and the others read it back
     *  (with put_secret the last would win, and the nodes before it keep keys the store
     *  no longer has). */
    int (*add_secret)(hx_store *s, const char *name, const uint8_t *buf, size_t len);
    /** Events matching the filter, in id order. */
    int (*query_events)(hx_store *s, const hx_event_filter *f, hx_event_cb cb, void *arg);
    /** Drop consumed tickets and revocations past expiry; redact events older than
     *  their class's retention and prune each chain's leading run of redacted
     *  records behind an anchor. Returns records dropped or redacted, or <0. */
    long (*sweep)(hx_store *s, int64_t now_ms, const hx_retention *r);
    /** Check the hash chain of room ("" the server chain; NULL every chain): cb (may be
     *  NULL) hears each problem. Returns the number of problems or HX_STORE_ERROR;
     *  sum (may be NULL) is filled either way. */
    int (*verify_chain)(hx_store *s, const char *room, hx_chain_cb cb, void *arg,
                        hx_chain_summary *sum);
    /** Write a sanction and its audit record in one transaction (both or neither). */
    int (*put_sanction)(hx_store *s, const hx_sanction_rec *x, const hx_event *ev);
    /** Remove the sanction of action_id and append ev, in one transaction.
     *  HX_STORE_NOTFOUND (and ev not written) when there is none. */
    int (*lift_sanction)(hx_store *s, const char *action_id, const hx_event *ev);
    /** Sanctions not expired at now_ms; cb returning non-zero stops the walk. */
    int (*list_sanctions)(hx_store *s, int64_t now_ms, hx_sanction_cb cb, void *arg);
    /** Un-revoke: remove the revocation and append ev, in one transaction.
     *  HX_STORE_NOTFOUND (and ev not written) when there is none. */
    int (*delete_revocation)(hx_store *s, hx_revoke_kind kind, const char *value,
                             const hx_event *ev);
    /** Moderation's other durable state, JSON values by (kind, key): open votes ("vote",
     *  action id), room policies ("policy", room). Upsert, with ev (may be NULL) appended
     *  in the same transaction. */
    int (*put_state)(hx_store *s, const char *kind, const char *key, const char *value,
                     const hx_event *ev);
    /** Remove (kind, key) and append ev (may be NULL) in one transaction; HX_STORE_NOTFOUND
     *  (nothing written) when absent. */
    int (*delete_state)(hx_store *s, const char *kind, const char *key, const hx_event *ev);
    /** Every (key, value) of a kind, in key order; cb returning non-zero stops the walk. */
    int (*list_state)(hx_store *s, const char *kind, hx_state_cb cb, void *arg);
    /** The value of (kind, key) into *value, a malloc'd copy the caller frees;
     *  HX_STORE_NOTFOUND (and *value NULL) when absent, *value NULL on any error. For
     *  one record of a kind where list_state would read them all: a node reads one
     *  resumable session's ("session", participant id) when its client resumes there
     *  after the node that held it died. */
    int (*get_state)(hx_store *s, const char *kind, const char *key, char **value);
    void (*close)(hx_store *s);
} hx_store_ops;

struct hx_store {
    const hx_store_ops *ops;
    char errmsg[256];
};

/** Open (creating and migrating) the SQLite store at path. NULL on failure, err filled. */
hx_store *hx_store_sqlite_open(const char *path, char *err, size_t errlen);

/** Latest schema version this build migrates to. */
int hx_store_sqlite_schema_version(void);

/** Open (migrating) the PostgreSQL store at conninfo, a libpq connection string or URI.
 *  NULL on failure, err filled (naming the database, never the conninfo: it may hold a
 *  password). */
hx_store *hx_store_pg_open(const char *conninfo, char *err, size_t errlen);

/** Latest PostgreSQL schema version this build migrates to (the same as SQLite's). */
int hx_store_pg_schema_version(void);

static inline const char *hx_store_errmsg(const hx_store *s)
{
    return s->errmsg;
}

#endif
