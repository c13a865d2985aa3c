/*
 * Private to the PostgreSQL store (store_pg.c: the connection, parameters,
 * results and the simple ops; pg_chain.c: chained rows and appends;
 * pg_verify.c, pg_sweep.c: the chain's checks and retention;
 * pg_sanctions.c: sanctions, un-revocation and moderation's state;
 * pg_migrations.c: the schema) and its unit tests. Nothing outside
 * src/store and tests/store includes this.
 */
#ifndef HX_STORE_PG_INTERNAL_H
#define HX_STORE_PG_INTERNAL_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "store/chain.h"
#include "store/store.h"

/* Every read of events selects these, in this order (hx__pg_read_row). */
#define HX__PG_EVENT_COLS                                                                          \
    "id, ts_ms, kind, room, user_id, device, sid, code, detail, seq, redacted, prev_hash,"         \
    " content_hash, hash"

/* A chain's key in chain_heads, chain_anchors, chain_prune and the events_chain
 * indexes: the room, or '' for the server chain (rooms are never ""). */
#define HX__PG_CHAIN_KEY "coalesce(room, '')"
#define HX__PG_SERVER_KEY ""

/* Advisory locks (pg_advisory_xact_lock), as SQL text. A chain's lock is the pair
 * (HX__PG_LOCK_CHAIN, hashtext(key)); migrations and sweeps take single bigint keys,
 * a key space of their own. A hash collision only makes two chains wait for each other. */
#define HX__PG_LOCK_CHAIN "1752694785" /* 0x68780001 */
#define HX__PG_LOCK_MIGRATE "6878000200"
#define HX__PG_LOCK_SWEEP "6878000300"

/* Walks in progress (hx__pg_store.walking): re-entering the one a callback runs
 * inside is refused, as the SQLite store does, so callers behave alike on both. */
#define HX__PG_WALK_EVQ(mask) (1ull << (mask)) /* query_events, per set of filter fields */
#define HX__PG_WALK_REVOCATIONS (1ull << 40)
#define HX__PG_WALK_VERIFY (1ull << 41)

typedef struct hx__pg_store {
    hx_store base; /* first: the public hx_store * is cast back to this */
    PGconn *conn;
    bool in_tx;       /* between our BEGIN and its COMMIT or ROLLBACK */
    uint64_t walking; /* HX__PG_WALK_* */
} hx__pg_store;

/* One statement's parameters: strings and numbers as text, hashes and secrets as
 * binary BYTEA. Pointers are borrowed: they must outlive the statement. */
#define HX__PG_MAX_PARAMS 12
typedef struct hx__pg_params {
    int n;
    bool too_big; /* a value over HX__PG_MAX_VALUE_LEN: refused before sending */
    const char *val[HX__PG_MAX_PARAMS];
    int len[HX__PG_MAX_PARAMS];
    int fmt[HX__PG_MAX_PARAMS];
    char num[HX__PG_MAX_PARAMS][24];
} hx__pg_params;

#define HX__PG_MAX_VALUE_LEN (1 << 20) /* as the SQLite store's limit */

static inline hx__pg_store *hx__pg_from(hx_store *base)
{
    return (hx__pg_store *)base;
}

/** Append a text parameter (NULL: SQL NULL). */
void hx__pg_text(hx__pg_params *p, const char *v);
/** Append an integer parameter. */
void hx__pg_int(hx__pg_params *p, int64_t v);
/** Append a BYTEA parameter, sent binary. */
void hx__pg_bytes(hx__pg_params *p, const void *b, size_t n);

/** Run sql with p (NULL: none), results in binary format. The result on success (PQclear
 *  it), else NULL with errmsg "what: ...". *sqlstate, when given, gets the error's code. */
PGresult *hx__pg_query(hx__pg_store *s, const char *sql, const hx__pg_params *p, const char *what,
                       char sqlstate[6]);
/** The same for a statement whose result is not needed. Rows changed into *changed
 *  when given. HX_STORE_OK or HX_STORE_ERROR. */
int hx__pg_run(hx__pg_store *s, const char *sql, const hx__pg_params *p, const char *what,
               long *changed);
/** A caller mistake: nothing reached the server. Returns HX_STORE_ERROR. */
int hx__pg_misuse(hx__pg_store *s, const char *msg);

/** BEGIN (READ COMMITTED: each statement sees what committed before it started). */
int hx__pg_begin(hx__pg_store *s, const char *what);
/** BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY: one snapshot for a whole walk. */
int hx__pg_begin_snapshot(hx__pg_store *s, const char *what);
/** COMMIT, checked to have committed (a failed transaction's COMMIT rolls back). */
int hx__pg_commit(hx__pg_store *s, const char *what);
/** Roll back an open transaction without touching errmsg (it holds the cause). */
void hx__pg_rollback(hx__pg_store *s);

/** Column readers for binary results. NULL reads 0 / NULL. */
int64_t hx__pg_int_at(const PGresult *r, int row, int col);
const char *hx__pg_text_at(const PGresult *r, int row, int col);
const uint8_t *hx__pg_bytes_at(const PGresult *r, int row, int col, size_t *len);

/** Read row `row` of a result selecting HX__PG_EVENT_COLS; pointers live as long as r. */
void hx__pg_read_row(const PGresult *r, int row, hx_chain_row *out);
/** Read (seq, hash) of chain_heads / chain_anchors (table) for room: 1 found, 0 not, <0
 *  error. hash gets up to HX_CHAIN_HASH_LEN bytes, zero-filled; *hash_len the stored length. */
int hx__pg_chain_end(hx__pg_store *s, const char *table, const char *room, int64_t *seq,
                     uint8_t hash[HX_CHAIN_HASH_LEN], size_t *hash_len);
/** Append ev as the next link of its room's chain and move the head, inside the caller's
 *  open transaction, holding the chain's lock until it ends. */
int hx__pg_append_linked(hx__pg_store *s, const hx_event *ev);

/** Bring the database to the latest schema, one transaction per step. 0, or -1 with err. */
int hx__pg_migrate(PGconn *conn, int64_t now_ms, char *err, size_t errlen);

long hx__pg_sweep(hx_store *base, int64_t now_ms, const hx_retention *r);
int hx__pg_verify_chain(hx_store *base, const char *room, hx_chain_cb cb, void *arg,
                        hx_chain_summary *sum);
int hx__pg_put_sanction(hx_store *base, const hx_sanction_rec *x, const hx_event *ev);
int hx__pg_lift_sanction(hx_store *base, const char *action_id, const hx_event *ev);
int hx__pg_list_sanctions(hx_store *base, int64_t now_ms, hx_sanction_cb cb, void *arg);
int hx__pg_delete_revocation(hx_store *base, hx_revoke_kind kind, const char *value,
                             const hx_event *ev);
int hx__pg_put_state(hx_store *base, const char *kind, const char *key, const char *value,
                     const hx_event *ev);
int hx__pg_delete_state(hx_store *base, const char *kind, const char *key, const hx_event *ev);
int hx__pg_list_state(hx_store *base, const char *kind, hx_state_cb cb, void *arg);
int hx__pg_get_state(hx_store *base, const char *kind, const char *key, char **value);

#endif
