/*
 * The persistence boundary (DESIGN §6). hearthd talks to a store only
 * through this interface; the embedded default is SQLite in WAL mode in the
 * data dir (store_sqlite.c), a PostgreSQL backend implements the same ops
 * later for multi-node deployments. Every call is synchronous and returns
 * only after the write is durable: what was acknowledged is never lost.
 *
 * Records kept:
 *   events       the audit trail: session join/leave with reason, auth
 *                failures, ticket replays, revocations, ...
 *   revocations  by jti, by sid, and per-user not-before times
 *   tickets      consumed join-ticket ids (single use across restarts)
 *   secrets      named server secrets (ticket MAC key, later resume key)
 */
#ifndef HX_STORE_STORE_H
#define HX_STORE_STORE_H

#include <stddef.h>
#include <stdint.h>

typedef enum hx_store_err {
    HX_STORE_OK = 0,
    HX_STORE_ERROR = -1,    /* I/O or database error; message via hx_store_errmsg */
    HX_STORE_EXISTS = -2,   /* unique record already present (e.g. ticket already consumed) */
    HX_STORE_NOTFOUND = -3,
} hx_store_err;

typedef struct hx_store hx_store;

/** One audit record. Strings may be NULL. detail is a JSON object text or NULL. */
typedef struct hx_event {
    int64_t id;      /* set by the store on read */
    int64_t ts_ms;   /* unix ms */
    const char *kind;   /* "session.join", "session.leave", "auth.failure", "ticket.replay", "revocation", ... */
    const char *room;
    const char *user;
    const char *device;
    const char *sid;
    const char *code;   /* reason / error code */
    const char *detail; /* JSON object text */
} hx_event;

typedef enum hx_revoke_kind {
    HX_REVOKE_JTI = 1,
    HX_REVOKE_SID = 2,
    HX_REVOKE_USER = 3, /* not_before applies: tokens with iat < not_before are revoked */
} hx_revoke_kind;

typedef struct hx_revocation {
    hx_revoke_kind kind;
    const char *value;      /* jti, sid or user id */
    int64_t not_before;     /* unix seconds, HX_REVOKE_USER only */
    int64_t created_ms;
    int64_t expires_ms;     /* 0 = never; the sweeper may drop it afterwards */
    const char *reason;     /* may be NULL */
} hx_revocation;

typedef struct hx_event_filter {
    const char *kind;  /* NULL = any */
    const char *room;  /* NULL = any */
    const char *user;  /* NULL = any */
    int64_t since_ms;  /* 0 = any */
    int64_t after_id;  /* 0 = from the start */
    size_t limit;      /* 0 = 100; capped at 1000 */
} hx_event_filter;

typedef int (*hx_event_cb)(void *arg, const hx_event *ev);
typedef int (*hx_revocation_cb)(void *arg, const hx_revocation *rv);

typedef struct hx_store_ops {
    const char *name;
    int (*append_event)(hx_store *s, const hx_event *ev);
    /** Upsert: the same (kind, value) replaces the earlier record. */
    int (*put_revocation)(hx_store *s, const hx_revocation *rv);
    /** All revocations not expired at now_ms; cb returning non-zero stops the walk. */
    int (*list_revocations)(hx_store *s, int64_t now_ms, hx_revocation_cb cb, void *arg);
    /** Mark a ticket id used. HX_STORE_EXISTS when it was used before (a replay). */
    int (*consume_ticket)(hx_store *s, const char *ticket_id, int64_t expires_ms);
    /** Read a named secret into buf (len bytes). HX_STORE_NOTFOUND if absent. */
    int (*get_secret)(hx_store *s, const char *name, uint8_t *buf, size_t len);
    int (*put_secret)(hx_store *s, const char *name, const uint8_t *buf, size_t len);
    /** Events matching the filter, in id order. */
    int (*query_events)(hx_store *s, const hx_event_filter *f, hx_event_cb cb, void *arg);
    /** Drop consumed tickets and revocations past expiry, and events older than
     *  their class's retention (retention_ms <= 0 keeps). Returns rows removed or <0. */
    long (*sweep)(hx_store *s, int64_t now_ms, int64_t session_retention_ms);
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

static inline const char *hx_store_errmsg(const hx_store *s)
{
    return s->errmsg;
}

#endif
