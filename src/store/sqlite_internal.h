/*
 * Private to the SQLite store (store_sqlite.c, sqlite_migrations.c) and its
 * unit tests, which reach the live connection to check per-connection
 * pragmas. Nothing outside src/store and tests/store includes this.
 */
#ifndef HX_STORE_SQLITE_INTERNAL_H
#define HX_STORE_SQLITE_INTERNAL_H

#include <sqlite3.h>
#include <stdint.h>

#include "store/store.h"

/* Statements prepared once at open, indexed into hx__sqlite_store.stmt. */
enum hx__sq_stmt {
    HX__SQ_BEGIN,
    HX__SQ_COMMIT,
    HX__SQ_ROLLBACK,
    HX__SQ_APPEND_EVENT,
    HX__SQ_PUT_REVOCATION,
    HX__SQ_LIST_REVOCATIONS,
    HX__SQ_CONSUME_TICKET,
    HX__SQ_GET_SECRET,
    HX__SQ_PUT_SECRET,
    HX__SQ_SWEEP_TICKETS,
    HX__SQ_SWEEP_REVOCATIONS,
    HX__SQ_SWEEP_SESSIONS,
    HX__SQ_COUNT
};

/* query_events variants: one prepared statement per combination of set
 * filter fields, so each can use its index (see store_sqlite.c). */
#define HX__SQ_EVQ_KIND 1u
#define HX__SQ_EVQ_ROOM 2u
#define HX__SQ_EVQ_USER 4u
#define HX__SQ_EVQ_SINCE 8u
#define HX__SQ_EVQ_VARIANTS 16

typedef struct hx__sqlite_store {
    hx_store base; /* first: the public hx_store * is cast back to this */
    sqlite3 *db;
    sqlite3_stmt *stmt[HX__SQ_COUNT];
    sqlite3_stmt *evq[HX__SQ_EVQ_VARIANTS];
} hx__sqlite_store;

/** Bring db to the latest schema, one transaction per step. 0, or -1 with err filled. */
int hx__sqlite_migrate(sqlite3 *db, int64_t now_ms, char *err, size_t errlen);

/** The query_events SQL for a variant mask (constant fragments only). Length, as snprintf. */
int hx__sqlite_evq_sql(unsigned mask, char *buf, size_t len);

#endif
