/*
 * Private to the SQLite store (store_sqlite.c: the ops and helpers;
 * sqlite_chain.c: chained rows and appends; sqlite_verify.c,
 * sqlite_sweep.c: the chain's checks and retention;
 * sqlite_migrations.c, sqlite_legacy.c: the schema) and its unit tests,
 * which reach the live connection to check per-connection pragmas.
 * Nothing outside src/store and tests/store includes this.
 */
#ifndef HX_STORE_SQLITE_INTERNAL_H
#define HX_STORE_SQLITE_INTERNAL_H

#include <sqlite3.h>
#include <stdint.h>

#include "store/chain.h"
#include "store/store.h"

/* Statements prepared once at open, indexed into hx__sqlite_store.stmt. */
enum hx__sq_stmt {
    HX__SQ_BEGIN,
    HX__SQ_BEGIN_READ,
    HX__SQ_COMMIT,
    HX__SQ_ROLLBACK,
    HX__SQ_APPEND_EVENT,
    HX__SQ_HEAD_GET,
    HX__SQ_HEAD_PUT,
    HX__SQ_ANCHOR_GET,
    HX__SQ_ANCHOR_PUT,
    HX__SQ_CHAIN_LIST,
    HX__SQ_CHAIN_BY_SEQ,
    HX__SQ_CHAIN_BY_ID,
    HX__SQ_UNCHAINED_ALL,
    HX__SQ_UNCHAINED_ROOM,
    HX__SQ_PUT_REVOCATION,
    HX__SQ_LIST_REVOCATIONS,
    HX__SQ_CONSUME_TICKET,
    HX__SQ_GET_SECRET,
    HX__SQ_PUT_SECRET,
    HX__SQ_ADD_SECRET,
    HX__SQ_SWEEP_TICKETS,
    HX__SQ_SWEEP_REVOCATIONS,
    HX__SQ_SWEEP_SANCTIONS,
    HX__SQ_SWEEP_MARK,
    HX__SQ_SWEEP_REDACT,
    HX__SQ_SWEEP_UNCHAINED,
    HX__SQ_PRUNE_NEXT,
    HX__SQ_PRUNE_ROWS,
    HX__SQ_PRUNE_DELETE,
    HX__SQ_PRUNE_DONE,
    HX__SQ_COUNT
};

/* query_events variants: one prepared statement per combination of set
 * filter fields, so each can use its index (see store_sqlite.c). */
#define HX__SQ_EVQ_KIND 1u
#define HX__SQ_EVQ_ROOM 2u
#define HX__SQ_EVQ_USER 4u
#define HX__SQ_EVQ_SINCE 8u
#define HX__SQ_EVQ_UNTIL 16u
#define HX__SQ_EVQ_VARIANTS 32

/* Every read of events selects these, in this order (hx__sq_read_row). */
#define HX__SQ_EVENT_COLS                                                                          \
    "id, ts_ms, kind, room, user_id, device, sid, code, detail, seq, redacted, prev_hash,"         \
    " content_hash, hash"

/* The chain key of chain_heads, chain_anchors and chain_prune: the room, or
 * '' for the server chain (a primary key cannot be NULL; rooms are never ""). */
#define HX__SQ_SERVER_KEY ""

typedef struct hx__sqlite_store {
    hx_store base; /* first: the public hx_store * is cast back to this */
    sqlite3 *db;
    sqlite3_stmt *stmt[HX__SQ_COUNT];
    sqlite3_stmt *evq[HX__SQ_EVQ_VARIANTS];
} hx__sqlite_store;

/** Bring db to the latest schema, one transaction per step. 0, or -1 with err filled. */
int hx__sqlite_migrate(sqlite3 *db, int64_t now_ms, char *err, size_t errlen);
/** The same, stopping at version target (tests build old databases with it). */
int hx__sqlite_migrate_to(sqlite3 *db, int64_t now_ms, int target, char *err, size_t errlen);
/** v2: chain the rows written before it, in id order, in the open transaction. 0 or -1. */
int hx__sqlite_chain_legacy(sqlite3 *db, char *err, size_t errlen);
/** Register hx_event_class(kind) as an SQL function (the sweep selects by it). */
int hx__sqlite_register_functions(sqlite3 *db);

/* ---- helpers shared by the store's files (store_sqlite.c, sqlite_chain.c) ---- */

static inline hx__sqlite_store *hx__sq_from(hx_store *base)
{
    return (hx__sqlite_store *)base;
}
/** A database failure: errmsg from SQLite. Returns HX_STORE_ERROR. */
int hx__sq_fail(hx__sqlite_store *s, const char *what);
/** A caller mistake: nothing reached SQLite. Returns HX_STORE_ERROR. */
int hx__sq_misuse(hx__sqlite_store *s, const char *msg);
/** Reset a statement and drop its bindings (pointers to caller data). */
void hx__sq_done(sqlite3_stmt *st);
/** Step a statement that returns no rows; always leaves it reset. */
int hx__sq_run(hx__sqlite_store *s, sqlite3_stmt *st, const char *what);
/** A bind failed: report and reset. */
int hx__sq_bind_fail(hx__sqlite_store *s, sqlite3_stmt *st, const char *what);
/** Bind text, SQLITE_STATIC; NULL binds NULL. */
int hx__sq_bind_text(sqlite3_stmt *st, int i, const char *v);
/** Bind a room's chain key. */
int hx__sq_bind_key(sqlite3_stmt *st, int i, const char *room);
/** Roll back an open transaction without touching errmsg (it holds the cause). */
void hx__sq_rollback(hx__sqlite_store *s);
/** Append ev as the next link of its room's chain and move the head, inside the
 *  caller's open write transaction (append_event wraps it in its own). */
int hx__sq_append_linked(hx__sqlite_store *s, const hx_event *ev);
/** Read a row of HX__SQ_EVENT_COLS; pointers are valid until the next step. */
void hx__sq_read_row(sqlite3_stmt *st, hx_chain_row *r);
/** Read (seq, hash) of chain_heads / chain_anchors for room: 1 found, 0 not, <0 error.
 *  hash gets up to HX_CHAIN_HASH_LEN bytes, zero-filled; *hash_len the stored length. */
int hx__sq_chain_end(hx__sqlite_store *s, enum hx__sq_stmt id, const char *room, int64_t *seq,
                     uint8_t hash[HX_CHAIN_HASH_LEN], size_t *hash_len);

/* sqlite_sanctions.c: moderation's sanctions and un-revocation, each with its audit record. */
int hx__sqlite_put_sanction(hx_store *base, const hx_sanction_rec *x, const hx_event *ev);
int hx__sqlite_lift_sanction(hx_store *base, const char *action_id, const hx_event *ev);
int hx__sqlite_list_sanctions(hx_store *base, int64_t now_ms, hx_sanction_cb cb, void *arg);
int hx__sqlite_delete_revocation(hx_store *base, hx_revoke_kind kind, const char *value, const hx_event *ev);
int hx__sqlite_put_state(hx_store *base, const char *kind, const char *key, const char *value, const hx_event *ev);
int hx__sqlite_delete_state(hx_store *base, const char *kind, const char *key, const hx_event *ev);
int hx__sqlite_list_state(hx_store *base, const char *kind, hx_state_cb cb, void *arg);
int hx__sqlite_get_state(hx_store *base, const char *kind, const char *key, char **value);

long hx__sqlite_sweep(hx_store *base, int64_t now_ms, const hx_retention *r);
int hx__sqlite_verify_chain(hx_store *base, const char *room, hx_chain_cb cb, void *arg,
                            hx_chain_summary *sum);

/** The query_events SQL for a variant mask (constant fragments only). Length, as snprintf. */
int hx__sqlite_evq_sql(unsigned mask, char *buf, size_t len);

#endif
