/*
 * Schema migrations for the SQLite store.
 *
 * The schema is an ordered list of steps; step i (0-based) takes the
 * database from version i to version i + 1. The table
 * schema_migrations(version, applied_at) holds one row per applied step,
 * so its max(version) is the database's version (0 for a new file).
 *
 * Each step runs in its own BEGIN IMMEDIATE transaction together with the
 * row that records it: a crash leaves the database at the previous
 * version, never half-migrated. The version is re-read inside every
 * transaction, so two processes opening the same new file at once (hearthd
 * and hearthctl) serialize on the write lock and the second applies nothing.
 * A database already at the latest version commits an empty transaction,
 * and one newer than this build knows is refused: running old code against
 * a newer schema could silently drop what the new code relies on.
 *
 * Steps are append-only. Never edit a released step; add a new one. The
 * SQL is constant text run with sqlite3_exec; no values are ever spliced in.
 * A step may add a C function, run after its SQL in the same transaction,
 * for what SQL cannot compute (v2 hashes the rows already there).
 * applied_at is unix milliseconds, like every other time in the store.
 */
#include "store/sqlite_internal.h"

#include <assert.h>
#include <stdio.h>

typedef struct migration {
    int version;
    const char *sql;
} migration;

/*
 * v1. Notes on the choices:
 *  - events.id is AUTOINCREMENT so ids are never reused after the sweeper
 *    deletes the newest rows: after_id paging and exports stay monotonic.
 *  - the (x, id) indexes serve "filter by x, in id order, after id N"
 *    without a sort; ts_ms serves since_ms and retention sweeps.
 *  - TEXT PRIMARY KEY columns are declared NOT NULL: SQLite otherwise
 *    allows NULL keys for historical reasons.
 *  - consumed_tickets(expires_ms) is indexed because there is one row per
 *    join and the sweeper deletes by expiry.
 */
static const migration migrations[] = {
    {1, "CREATE TABLE events ("
        "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
        "  ts_ms INTEGER NOT NULL,"
        "  kind TEXT NOT NULL,"
        "  room TEXT,"
        "  user_id TEXT,"
        "  device TEXT,"
        "  sid TEXT,"
        "  code TEXT,"
        "  detail TEXT"
        ");"
        "CREATE INDEX events_room_id ON events(room, id);"
        "CREATE INDEX events_user_id ON events(user_id, id);"
        "CREATE INDEX events_kind_id ON events(kind, id);"
        "CREATE INDEX events_ts ON events(ts_ms);"
        "CREATE TABLE revocations ("
        "  kind INTEGER NOT NULL,"
        "  value TEXT NOT NULL,"
        "  not_before INTEGER NOT NULL DEFAULT 0,"
        "  created_ms INTEGER NOT NULL,"
        "  expires_ms INTEGER NOT NULL DEFAULT 0,"
        "  reason TEXT,"
        "  PRIMARY KEY (kind, value)"
        ");"
        "CREATE TABLE consumed_tickets ("
        "  id TEXT NOT NULL PRIMARY KEY,"
        "  expires_ms INTEGER NOT NULL DEFAULT 0"
        ");"
        "CREATE INDEX consumed_tickets_expires ON consumed_tickets(expires_ms);"
        "CREATE TABLE secrets ("
        "  name TEXT NOT NULL PRIMARY KEY,"
        "  value BLOB NOT NULL"
        ");"},
    /*
     * v2: the audit trail becomes hash-chained per room (chain.h).
     *  - seq and the three hashes stay NULL only for rows written outside
     *    the store; the rows v1 wrote are chained here, in id order
     *    (hx__sqlite_chain_legacy), so nothing is left unverifiable.
     *  - a v1 room of "" becomes NULL first: "" is the server chain's key,
     *    and no hearthd ever wrote an empty room name.
     *  - events(room, seq) serves a chain's walk in seq order; the partial
     *    index on ts_ms lets retention find live rows past their time
     *    without rescanning those already redacted.
     *  - chain_heads holds each chain's last (seq, hash): the evidence for a
     *    missing tail. chain_anchors holds the last (seq, hash) retention
     *    pruned, where verification starts. chain_prune lists the chains
     *    with newly redacted rows whose front the sweeper still has to prune.
     *    Their room_key is the room, '' for the server chain.
     */
    {2, "UPDATE events SET room = NULL WHERE room = '';"
        "ALTER TABLE events ADD COLUMN seq INTEGER;"
        "ALTER TABLE events ADD COLUMN prev_hash BLOB;"
        "ALTER TABLE events ADD COLUMN content_hash BLOB;"
        "ALTER TABLE events ADD COLUMN hash BLOB;"
        "ALTER TABLE events ADD COLUMN redacted INTEGER NOT NULL DEFAULT 0;"
        "CREATE INDEX events_chain ON events(room, seq);"
        "CREATE INDEX events_live_ts ON events(ts_ms) WHERE redacted = 0;"
        "CREATE TABLE chain_heads ("
        "  room_key TEXT NOT NULL PRIMARY KEY,"
        "  seq INTEGER NOT NULL,"
        "  hash BLOB NOT NULL"
        ");"
        "CREATE TABLE chain_anchors ("
        "  room_key TEXT NOT NULL PRIMARY KEY,"
        "  seq INTEGER NOT NULL,"
        "  hash BLOB NOT NULL"
        ");"
        "CREATE TABLE chain_prune ("
        "  room_key TEXT NOT NULL PRIMARY KEY"
        ");"},
    /*
     * v3. Moderation's sanctions (bans, timeouts, kick cooldowns), one row
     * per action that imposed one; lifting deletes the row (the audit trail
     * keeps the history). room/user_id/device '' mean "any". Loaded whole
     * at start, so no index beyond the key but expiry for the sweeper.
     */
    {3, "CREATE TABLE sanctions ("
        "  action_id TEXT NOT NULL PRIMARY KEY,"
        "  kind INTEGER NOT NULL,"
        "  room TEXT NOT NULL DEFAULT '',"
        "  user_id TEXT NOT NULL DEFAULT '',"
        "  device TEXT NOT NULL DEFAULT '',"
        "  policy INTEGER NOT NULL DEFAULT 0,"
        "  created_ms INTEGER NOT NULL,"
        "  expires_ms INTEGER NOT NULL DEFAULT 0,"
        "  actor TEXT,"
        "  reason TEXT"
        ");"
        "CREATE INDEX sanctions_expires ON sanctions(expires_ms);"},
    /*
     * v4. Moderation's other durable state as JSON by (kind, key): open votes
     * (so a restart neither loses a ballot nor leaves a kick un-ratified) and
     * per-room policies. Small and read whole at start.
     */
    {4, "CREATE TABLE mod_state ("
        "  kind TEXT NOT NULL,"
        "  key TEXT NOT NULL,"
        "  value TEXT NOT NULL,"
        "  PRIMARY KEY (kind, key)"
        ");"},
};

/* The C half of a step, by version: run after its SQL, in the same transaction. */
static int (*const step_fn[])(sqlite3 *db, char *err, size_t errlen) = {
    [2] = hx__sqlite_chain_legacy,
};

int hx_store_sqlite_schema_version(void)
{
    return (int)(sizeof migrations / sizeof migrations[0]);
}

static int fail(sqlite3 *db, const char *what, char *err, size_t errlen)
{
    snprintf(err, errlen, "%s: %s", what, sqlite3_errmsg(db));
    return -1;
}

/* The database's version inside the current transaction, or -1. */
static int64_t current_version(sqlite3 *db, sqlite3_stmt *get, char *err, size_t errlen)
{
    int64_t v = -1;
    if (sqlite3_step(get) == SQLITE_ROW)
        v = sqlite3_column_int64(get, 0);
    else
        fail(db, "read schema version", err, errlen);
    sqlite3_reset(get);
    return v;
}

/* Record step `version` as applied, in the open transaction. */
static int mark_applied(sqlite3 *db, sqlite3_stmt *mark, int version, int64_t now_ms, char *err,
                        size_t errlen)
{
    int rc = sqlite3_bind_int(mark, 1, version);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(mark, 2, now_ms);
    if (rc == SQLITE_OK) rc = sqlite3_step(mark) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
    if (rc != SQLITE_OK) fail(db, "record schema version", err, errlen);
    sqlite3_reset(mark);
    sqlite3_clear_bindings(mark);
    return rc == SQLITE_OK ? 0 : -1;
}

int hx__sqlite_migrate(sqlite3 *db, int64_t now_ms, char *err, size_t errlen)
{
    return hx__sqlite_migrate_to(db, now_ms, hx_store_sqlite_schema_version(), err, errlen);
}

int hx__sqlite_migrate_to(sqlite3 *db, int64_t now_ms, int target, char *err, size_t errlen)
{
    const int latest = hx_store_sqlite_schema_version();
    sqlite3_stmt *get = NULL, *mark = NULL;
    int ret = -1;

    /* schema_migrations must exist before its statements can be prepared;
     * creating it is idempotent and harmless on any version. */
    if (sqlite3_exec(db,
                     "CREATE TABLE IF NOT EXISTS schema_migrations ("
                     "  version INTEGER PRIMARY KEY,"
                     "  applied_at INTEGER NOT NULL)",
                     NULL, NULL, NULL) != SQLITE_OK) {
        fail(db, "create schema_migrations", err, errlen);
        goto out;
    }
    if (sqlite3_prepare_v2(db, "SELECT coalesce(max(version), 0) FROM schema_migrations", -1, &get,
                           NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "INSERT INTO schema_migrations(version, applied_at) VALUES (?1, ?2)",
                           -1, &mark, NULL) != SQLITE_OK) {
        fail(db, "prepare schema_migrations", err, errlen);
        goto out;
    }

    for (;;) {
        if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
            fail(db, "begin migration", err, errlen);
            goto out;
        }
        int64_t v = current_version(db, get, err, errlen);
        if (v < 0) goto rollback;
        if (v > latest) {
            snprintf(err, errlen,
                     "database schema version %lld is newer than this build supports (%d); "
                     "refusing to open it (upgrade hearthd or restore a backup)",
                     (long long)v, latest);
            goto rollback;
        }
        if (v >= target) break;

        const migration *m = &migrations[v];
        assert(m->version == v + 1); /* the table above is ordered and gap-free */
        if (sqlite3_exec(db, m->sql, NULL, NULL, NULL) != SQLITE_OK) {
            char what[48];
            snprintf(what, sizeof what, "schema migration %d", m->version);
            fail(db, what, err, errlen);
            goto rollback;
        }
        if ((size_t)m->version < sizeof step_fn / sizeof step_fn[0] && step_fn[m->version] &&
            step_fn[m->version](db, err, errlen))
            goto rollback;
        if (mark_applied(db, mark, m->version, now_ms, err, errlen)) goto rollback;
        if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
            fail(db, "commit migration", err, errlen);
            goto rollback;
        }
    }
    /* Up to date: end the (empty) read transaction of the last check. */
    if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        fail(db, "commit migration", err, errlen);
        goto rollback;
    }
    ret = 0;
    goto out;

rollback:
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL); /* err already holds the cause */
out:
    sqlite3_finalize(get);
    sqlite3_finalize(mark);
    return ret;
}
