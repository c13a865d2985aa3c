/*
 * The embedded store: one SQLite file in WAL mode (DESIGN §6).
 *
 * Durability. synchronous=FULL in WAL mode syncs the log on every commit,
 * and every write op here is one autocommit statement or one explicit
 * transaction (append_event, sweep), so an op that returned HX_STORE_OK
 * survives a power cut. Except relaxed writes (store.h: consume_ticket and
 * events marked relaxed, i.e. ticket.issue), committed under
 * synchronous=NORMAL: in the log at once (kill -9 loses nothing), synced by
 * the next FULL commit, which for a ticket is the join's own. One sync per
 * join instead of three. WAL lets readers (hearthctl, exports) run while
 * hearthd writes; the busy timeout absorbs short lock waits between the two
 * processes.
 *
 * The audit chain (chain.h). append_event takes the write lock first
 * (BEGIN IMMEDIATE), then links the record after its room's head and moves
 * the head (sqlite_chain.c), and commits: two writers cannot both extend
 * the same head. Verification (sqlite_verify.c) and retention
 * (sqlite_sweep.c) live in their own files.
 *
 * Data layout. hx__sqlite_store (sqlite_internal.h) embeds the public
 * hx_store first and owns the connection and every prepared statement:
 * stmt[] for the fixed statements, evq[] for the query_events variants.
 * All are prepared once at open with SQLITE_PREPARE_PERSISTENT, then
 * bound, stepped, reset and unbound per call. Values are only ever bound;
 * the only SQL assembled at run time is the evq[] text, from constant
 * fragments chosen by which filter fields are set. One variant per
 * combination (rather than "(?1 IS NULL OR kind = ?1)") because SQLite
 * plans at prepare time: a fixed "room = ?" lets it walk (room, id) in id
 * order, an OR cannot use any index.
 *
 * Ownership. Strings passed in are bound SQLITE_STATIC: SQLite reads them
 * during the step and the bindings are cleared before returning, so no
 * copy is made and no pointer is kept. Strings handed to callbacks point
 * into SQLite's row buffer and are valid only during that callback. A
 * callback returning non-zero stops the walk and the op returns that
 * value (as nftw does). A callback may call other ops, but not the walk
 * it is inside (same statement): that returns HX_STORE_ERROR.
 *
 * The file is created 0600 before SQLite opens it (SQLite gives the -wal
 * and -shm files the same mode): it holds the ticket MAC key. Strings and
 * blobs are capped at HX__SQ_MAX_VALUE_LEN by sqlite3_limit.
 *
 * A store is not thread-safe: its statements are shared by all calls. Use
 * one per thread. close() tears down any half-built store, so open() has
 * a single exit through it.
 */
#include "store/sqlite_internal.h"

#include "common/clock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HX__SQ_BUSY_TIMEOUT_MS 5000
#define HX__SQ_MAX_VALUE_LEN (1 << 20)
#define HX__SQ_EVQ_DEFAULT_LIMIT 100
#define HX__SQ_EVQ_MAX_LIMIT 1000

static const char *const stmt_sql[HX__SQ_COUNT] = {
    [HX__SQ_BEGIN] = "BEGIN IMMEDIATE",
    [HX__SQ_BEGIN_READ] = "BEGIN", /* deferred: one snapshot, writers go on (WAL) */
    [HX__SQ_COMMIT] = "COMMIT",
    [HX__SQ_ROLLBACK] = "ROLLBACK",
    [HX__SQ_APPEND_EVENT] =
        "INSERT INTO events(ts_ms, kind, room, user_id, device, sid, code, detail,"
        " seq, prev_hash, content_hash, hash)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    [HX__SQ_HEAD_GET] = "SELECT seq, hash FROM chain_heads WHERE room_key = ?1",
    [HX__SQ_HEAD_PUT] =
        "INSERT INTO chain_heads(room_key, seq, hash) VALUES (?1, ?2, ?3)"
        " ON CONFLICT(room_key) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
    [HX__SQ_ANCHOR_GET] = "SELECT seq, hash FROM chain_anchors WHERE room_key = ?1",
    [HX__SQ_ANCHOR_PUT] =
        "INSERT INTO chain_anchors(room_key, seq, hash) VALUES (?1, ?2, ?3)"
        " ON CONFLICT(room_key) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
    /* Every chain anything knows of: a head, an anchor, or chained rows
     * (rows without a head are a problem to report, not to skip). */
    [HX__SQ_CHAIN_LIST] =
        "SELECT room_key FROM chain_heads UNION SELECT room_key FROM chain_anchors"
        " UNION SELECT coalesce(room, '') FROM events WHERE seq IS NOT NULL"
        " ORDER BY 1",
    [HX__SQ_CHAIN_BY_SEQ] = "SELECT " HX__SQ_EVENT_COLS " FROM events"
                            " WHERE room IS ?1 AND seq IS NOT NULL ORDER BY seq, id",
    [HX__SQ_CHAIN_BY_ID] = "SELECT " HX__SQ_EVENT_COLS " FROM events"
                           " WHERE room IS ?1 AND seq IS NOT NULL ORDER BY id",
    [HX__SQ_UNCHAINED_ALL] = "SELECT count(*) FROM events WHERE seq IS NULL",
    [HX__SQ_UNCHAINED_ROOM] = "SELECT count(*) FROM events WHERE room IS ?1 AND seq IS NULL",
    [HX__SQ_PUT_REVOCATION] =
        "INSERT INTO revocations(kind, value, not_before, created_ms, expires_ms, reason)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
        " ON CONFLICT(kind, value) DO UPDATE SET not_before = excluded.not_before,"
        " created_ms = excluded.created_ms, expires_ms = excluded.expires_ms,"
        " reason = excluded.reason",
    [HX__SQ_LIST_REVOCATIONS] = "SELECT kind, value, not_before, created_ms, expires_ms, reason"
                                " FROM revocations WHERE expires_ms = 0 OR expires_ms > ?1"
                                " ORDER BY kind, value",
    [HX__SQ_CONSUME_TICKET] = "INSERT INTO consumed_tickets(id, expires_ms) VALUES (?1, ?2)",
    [HX__SQ_GET_SECRET] = "SELECT value FROM secrets WHERE name = ?1",
    [HX__SQ_PUT_SECRET] = "INSERT INTO secrets(name, value) VALUES (?1, ?2)"
                          " ON CONFLICT(name) DO UPDATE SET value = excluded.value",
    /* DO NOTHING on the name alone rather than INSERT OR IGNORE, which would also
     * swallow any other constraint's failure as "exists". */
    [HX__SQ_ADD_SECRET] = "INSERT INTO secrets(name, value) VALUES (?1, ?2)"
                          " ON CONFLICT(name) DO NOTHING",
    [HX__SQ_SWEEP_TICKETS] =
        "DELETE FROM consumed_tickets WHERE expires_ms != 0 AND expires_ms < ?1",
    [HX__SQ_SWEEP_REVOCATIONS] =
        "DELETE FROM revocations WHERE expires_ms != 0 AND expires_ms < ?1",
    /* Sanctions past their end (the audit trail keeps the history). */
    [HX__SQ_SWEEP_SANCTIONS] = "DELETE FROM sanctions WHERE expires_ms != 0 AND expires_ms < ?1",
    /* Retention, per class (?2, hx_event_class as an SQL function). Chains
     * whose rows get redacted are noted in chain_prune, then pruned from the
     * front; unchained rows have no chain to keep and are simply deleted. */
    [HX__SQ_SWEEP_MARK] = "INSERT OR IGNORE INTO chain_prune(room_key)"
                          " SELECT DISTINCT coalesce(room, '') FROM events WHERE redacted = 0"
                          " AND seq IS NOT NULL AND ts_ms < ?1 AND hx_event_class(kind) = ?2",
    [HX__SQ_SWEEP_REDACT] = "UPDATE events SET user_id = NULL, device = NULL, sid = NULL,"
                            " code = NULL, detail = NULL, redacted = 1 WHERE redacted = 0"
                            " AND seq IS NOT NULL AND ts_ms < ?1 AND hx_event_class(kind) = ?2",
    [HX__SQ_SWEEP_UNCHAINED] = "DELETE FROM events WHERE seq IS NULL AND ts_ms < ?1"
                               " AND hx_event_class(kind) = ?2",
    [HX__SQ_PRUNE_NEXT] = "SELECT room_key FROM chain_prune LIMIT 1",
    [HX__SQ_PRUNE_ROWS] = "SELECT " HX__SQ_EVENT_COLS " FROM events"
                          " WHERE room IS ?1 AND seq > ?2 ORDER BY seq, id LIMIT ?3",
    [HX__SQ_PRUNE_DELETE] = "DELETE FROM events WHERE id = ?1",
    [HX__SQ_PRUNE_DONE] = "DELETE FROM chain_prune WHERE room_key = ?1",
};

int hx__sqlite_evq_sql(unsigned mask, char *buf, size_t len)
{
    return snprintf(buf, len,
                    "SELECT " HX__SQ_EVENT_COLS " FROM events"
                    " WHERE id > ?5%s%s%s%s%s ORDER BY id LIMIT ?6",
                    mask & HX__SQ_EVQ_KIND ? " AND kind = ?1" : "",
                    mask & HX__SQ_EVQ_ROOM ? " AND room = ?2" : "",
                    mask & HX__SQ_EVQ_USER ? " AND user_id = ?3" : "",
                    mask & HX__SQ_EVQ_SINCE ? " AND ts_ms >= ?4" : "",
                    mask & HX__SQ_EVQ_UNTIL ? " AND ts_ms <= ?7" : "");
}

/* ---- helpers ---------------------------------------------------------- */

int hx__sq_fail(hx__sqlite_store *s, const char *what)
{
    snprintf(s->base.errmsg, sizeof s->base.errmsg, "%s: %s", what, sqlite3_errmsg(s->db));
    return HX_STORE_ERROR;
}

int hx__sq_misuse(hx__sqlite_store *s, const char *msg)
{
    snprintf(s->base.errmsg, sizeof s->base.errmsg, "%s", msg);
    return HX_STORE_ERROR;
}

void hx__sq_done(sqlite3_stmt *st)
{
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

int hx__sq_run(hx__sqlite_store *s, sqlite3_stmt *st, const char *what)
{
    int ret = sqlite3_step(st) == SQLITE_DONE ? HX_STORE_OK : hx__sq_fail(s, what);
    hx__sq_done(st);
    return ret;
}

int hx__sq_bind_fail(hx__sqlite_store *s, sqlite3_stmt *st, const char *what)
{
    int ret = hx__sq_fail(s, what);
    hx__sq_done(st);
    return ret;
}

int hx__sq_bind_text(sqlite3_stmt *st, int i, const char *v)
{
    return sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC); /* NULL binds NULL */
}

int hx__sq_bind_key(sqlite3_stmt *st, int i, const char *room)
{
    return hx__sq_bind_text(st, i, room ? room : HX__SQ_SERVER_KEY);
}

void hx__sq_rollback(hx__sqlite_store *s)
{
    sqlite3_step(s->stmt[HX__SQ_ROLLBACK]);
    sqlite3_reset(s->stmt[HX__SQ_ROLLBACK]);
}

static const char *col_text(sqlite3_stmt *st, int i)
{
    return (const char *)sqlite3_column_text(st, i);
}

/* ---- events ----------------------------------------------------------- */

/* Relaxed durability (store.h): synchronous=NORMAL for one write. In WAL mode its commit
 * appends its frames to the log without syncing it; the next commit under FULL syncs the log,
 * and these frames with it. A pragma is a flag on the connection: no I/O. */
static void relax(hx__sqlite_store *s)
{
    sqlite3_exec(s->db, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL); /* worst case: synced */
}

/* Back to FULL after a relaxed write, once its outcome is taken (the pragma resets the
 * connection's error message). A connection left relaxed would not sync what must be durable:
 * that fails the write it follows. */
static int unrelax(hx__sqlite_store *s, int ret)
{
    if (sqlite3_exec(s->db, "PRAGMA synchronous=FULL", NULL, NULL, NULL) == SQLITE_OK) return ret;
    return hx__sq_fail(s, "synchronous=FULL");
}

static int sq_append_event(hx_store *base, const hx_event *ev)
{
    hx__sqlite_store *s = hx__sq_from(base);
    bool relaxed = ev && ev->relaxed;
    int ret = HX_STORE_OK;

    if (relaxed) relax(s);
    if (hx__sq_run(s, s->stmt[HX__SQ_BEGIN], "append_event: begin")) {
        ret = HX_STORE_ERROR;
    } else if (hx__sq_append_linked(s, ev) ||
               hx__sq_run(s, s->stmt[HX__SQ_COMMIT], "append_event: commit")) {
        hx__sq_rollback(s);
        ret = HX_STORE_ERROR;
    }
    return relaxed ? unrelax(s, ret) : ret;
}

static int sq_query_events(hx_store *base, const hx_event_filter *f, hx_event_cb cb, void *arg)
{
    hx__sqlite_store *s = hx__sq_from(base);
    static const hx_event_filter all = {0};
    unsigned mask;
    sqlite3_stmt *st;
    size_t limit;
    int rc, ret = HX_STORE_OK;

    if (!cb) return hx__sq_misuse(s, "query_events: no callback");
    if (!f) f = &all;
    mask = (f->kind ? HX__SQ_EVQ_KIND : 0) | (f->room ? HX__SQ_EVQ_ROOM : 0) |
           (f->user ? HX__SQ_EVQ_USER : 0) | (f->since_ms ? HX__SQ_EVQ_SINCE : 0) |
           (f->until_ms ? HX__SQ_EVQ_UNTIL : 0);
    st = s->evq[mask];
    if (sqlite3_stmt_busy(st))
        return hx__sq_misuse(s, "query_events: called from its own callback with the same filter");

    limit = f->limit == 0 ? HX__SQ_EVQ_DEFAULT_LIMIT : f->limit;
    if (limit > HX__SQ_EVQ_MAX_LIMIT) limit = HX__SQ_EVQ_MAX_LIMIT;
    if (((mask & HX__SQ_EVQ_KIND) && hx__sq_bind_text(st, 1, f->kind)) ||
        ((mask & HX__SQ_EVQ_ROOM) && hx__sq_bind_text(st, 2, f->room)) ||
        ((mask & HX__SQ_EVQ_USER) && hx__sq_bind_text(st, 3, f->user)) ||
        ((mask & HX__SQ_EVQ_SINCE) && sqlite3_bind_int64(st, 4, f->since_ms)) ||
        ((mask & HX__SQ_EVQ_UNTIL) && sqlite3_bind_int64(st, 7, f->until_ms)) ||
        sqlite3_bind_int64(st, 5, f->after_id) || sqlite3_bind_int64(st, 6, (sqlite3_int64)limit))
        return hx__sq_bind_fail(s, st, "query_events");

    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        hx_chain_row r;
        hx__sq_read_row(st, &r);
        if ((ret = cb(arg, &r.ev)) != 0) break;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) ret = hx__sq_fail(s, "query_events");
    hx__sq_done(st);
    return ret;
}

/* ---- revocations ------------------------------------------------------ */

static int sq_put_revocation(hx_store *base, const hx_revocation *rv)
{
    hx__sqlite_store *s = hx__sq_from(base);
    sqlite3_stmt *st = s->stmt[HX__SQ_PUT_REVOCATION];

    if (!rv || !rv->value) return hx__sq_misuse(s, "put_revocation: a revocation needs a value");
    if (rv->kind != HX_REVOKE_JTI && rv->kind != HX_REVOKE_SID && rv->kind != HX_REVOKE_USER)
        return hx__sq_misuse(s, "put_revocation: unknown revocation kind");
    if (sqlite3_bind_int(st, 1, (int)rv->kind) || hx__sq_bind_text(st, 2, rv->value) ||
        sqlite3_bind_int64(st, 3, rv->not_before) || sqlite3_bind_int64(st, 4, rv->created_ms) ||
        sqlite3_bind_int64(st, 5, rv->expires_ms) || hx__sq_bind_text(st, 6, rv->reason))
        return hx__sq_bind_fail(s, st, "put_revocation");
    return hx__sq_run(s, st, "put_revocation");
}

static int sq_list_revocations(hx_store *base, int64_t now_ms, hx_revocation_cb cb, void *arg)
{
    hx__sqlite_store *s = hx__sq_from(base);
    sqlite3_stmt *st = s->stmt[HX__SQ_LIST_REVOCATIONS];
    int rc, ret = HX_STORE_OK;

    if (!cb) return hx__sq_misuse(s, "list_revocations: no callback");
    if (sqlite3_stmt_busy(st))
        return hx__sq_misuse(s, "list_revocations: called from its own callback");
    if (sqlite3_bind_int64(st, 1, now_ms)) return hx__sq_bind_fail(s, st, "list_revocations");

    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        hx_revocation rv = {
            .kind = (hx_revoke_kind)sqlite3_column_int(st, 0),
            .value = col_text(st, 1),
            .not_before = sqlite3_column_int64(st, 2),
            .created_ms = sqlite3_column_int64(st, 3),
            .expires_ms = sqlite3_column_int64(st, 4),
            .reason = col_text(st, 5),
        };
        if ((ret = cb(arg, &rv)) != 0) break;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) ret = hx__sq_fail(s, "list_revocations");
    hx__sq_done(st);
    return ret;
}

/* ---- tickets and secrets ---------------------------------------------- */

static int sq_consume_ticket(hx_store *base, const char *ticket_id, int64_t expires_ms)
{
    hx__sqlite_store *s = hx__sq_from(base);
    sqlite3_stmt *st = s->stmt[HX__SQ_CONSUME_TICKET];
    int rc, ret;

    if (!ticket_id) return hx__sq_misuse(s, "consume_ticket: no ticket id");
    if (hx__sq_bind_text(st, 1, ticket_id) || sqlite3_bind_int64(st, 2, expires_ms))
        return hx__sq_bind_fail(s, st, "consume_ticket");
    relax(s); /* relaxed (store.h) */
    rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        ret = HX_STORE_OK;
    else if (rc == SQLITE_CONSTRAINT_PRIMARYKEY) /* extended codes are on: see open */
        ret = HX_STORE_EXISTS;
    else
        ret = hx__sq_fail(s, "consume_ticket");
    hx__sq_done(st);
    return unrelax(s, ret);
}

static int sq_get_secret(hx_store *base, const char *name, uint8_t *buf, size_t len)
{
    hx__sqlite_store *s = hx__sq_from(base);
    sqlite3_stmt *st = s->stmt[HX__SQ_GET_SECRET];
    int rc, ret;

    if (!name || (!buf && len)) return hx__sq_misuse(s, "get_secret: no name or buffer");
    if (hx__sq_bind_text(st, 1, name)) return hx__sq_bind_fail(s, st, "get_secret");
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const void *v = sqlite3_column_blob(st, 0); /* blob before bytes, per the docs */
        size_t n = (size_t)sqlite3_column_bytes(st, 0);
        if (n == len) {
            if (len) memcpy(buf, v, len);
            ret = HX_STORE_OK;
        } else {
            /* Secrets are fixed-size keys: a size mismatch is a bug or a
             * damaged file, never something to truncate or pad. */
            snprintf(s->base.errmsg, sizeof s->base.errmsg,
                     "get_secret: secret \"%.64s\" is %zu bytes, caller expects %zu", name, n, len);
            ret = HX_STORE_ERROR;
        }
    } else if (rc == SQLITE_DONE) {
        snprintf(s->base.errmsg, sizeof s->base.errmsg, "get_secret: no secret \"%.64s\"", name);
        ret = HX_STORE_NOTFOUND;
    } else {
        ret = hx__sq_fail(s, "get_secret");
    }
    hx__sq_done(st);
    return ret;
}

/* put_secret and add_secret: one statement, named what. */
static int write_secret(hx__sqlite_store *s, enum hx__sq_stmt id, const char *name,
                        const uint8_t *buf, size_t len, const char *what)
{
    sqlite3_stmt *st = s->stmt[id];

    if (!name || (!buf && len)) {
        snprintf(s->base.errmsg, sizeof s->base.errmsg, "%s: no name or value", what);
        return HX_STORE_ERROR;
    }
    /* A non-NULL pointer even when len is 0: a NULL blob would bind NULL. */
    if (hx__sq_bind_text(st, 1, name) ||
        sqlite3_bind_blob64(st, 2, buf ? (const void *)buf : "", len, SQLITE_STATIC))
        return hx__sq_bind_fail(s, st, what);
    return hx__sq_run(s, st, what);
}

static int sq_put_secret(hx_store *base, const char *name, const uint8_t *buf, size_t len)
{
    return write_secret(hx__sq_from(base), HX__SQ_PUT_SECRET, name, buf, len, "put_secret");
}

static int sq_add_secret(hx_store *base, const char *name, const uint8_t *buf, size_t len)
{
    hx__sqlite_store *s = hx__sq_from(base);
    int ret = write_secret(s, HX__SQ_ADD_SECRET, name, buf, len, "add_secret");

    /* The rows this connection's last statement wrote (the reset keeps the count; other
     * connections' writes do not count): none when the name was taken. */
    if (ret == HX_STORE_OK && sqlite3_changes(s->db) == 0) {
        snprintf(s->base.errmsg, sizeof s->base.errmsg, "add_secret: secret \"%.64s\" exists",
                 name);
        ret = HX_STORE_EXISTS;
    }
    return ret;
}

/* ---- open / close ----------------------------------------------------- */

static void sq_destroy(hx__sqlite_store *s)
{
    if (!s) return;
    for (size_t i = 0; i < HX__SQ_COUNT; i++)
        sqlite3_finalize(s->stmt[i]); /* NULL is a no-op */
    for (size_t i = 0; i < HX__SQ_EVQ_VARIANTS; i++)
        sqlite3_finalize(s->evq[i]);
    sqlite3_close(s->db); /* NULL is a no-op; every statement is finalized */
    free(s);
}

static void sq_close(hx_store *base)
{
    sq_destroy(hx__sq_from(base));
}

static const hx_store_ops sq_ops = {
    .name = "sqlite",
    .append_event = sq_append_event,
    .put_revocation = sq_put_revocation,
    .list_revocations = sq_list_revocations,
    .consume_ticket = sq_consume_ticket,
    .get_secret = sq_get_secret,
    .put_secret = sq_put_secret,
    .add_secret = sq_add_secret,
    .query_events = sq_query_events,
    .sweep = hx__sqlite_sweep,
    .verify_chain = hx__sqlite_verify_chain,
    .put_sanction = hx__sqlite_put_sanction,
    .lift_sanction = hx__sqlite_lift_sanction,
    .list_sanctions = hx__sqlite_list_sanctions,
    .delete_revocation = hx__sqlite_delete_revocation,
    .put_state = hx__sqlite_put_state,
    .delete_state = hx__sqlite_delete_state,
    .list_state = hx__sqlite_list_state,
    .get_state = hx__sqlite_get_state,
    .close = sq_close,
};

/* Create the file owner-only if it does not exist; an existing file keeps its mode. */
static int create_private(const char *path, char *err, size_t errlen)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "%s", strerror(errno));
        return -1;
    }
    close(fd);
    return 0;
}

/* Per-connection settings, and WAL, which is stored in the file. */
static int configure(sqlite3 *db, char *err, size_t errlen)
{
    sqlite3_stmt *st = NULL;
    int wal;

    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, HX__SQ_BUSY_TIMEOUT_MS);
    sqlite3_limit(db, SQLITE_LIMIT_LENGTH, HX__SQ_MAX_VALUE_LEN);
    /* The pragma answers with the mode in force: a file system without
     * shared memory support silently keeps the old one. */
    if (sqlite3_prepare_v2(db, "PRAGMA journal_mode=WAL", -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW) {
        snprintf(err, errlen, "journal_mode: %s", sqlite3_errmsg(db));
        sqlite3_finalize(st);
        return -1;
    }
    wal = col_text(st, 0) && strcmp(col_text(st, 0), "wal") == 0;
    if (!wal)
        snprintf(err, errlen, "cannot enable WAL (journal_mode is %s)",
                 col_text(st, 0) ? col_text(st, 0) : "unknown");
    sqlite3_finalize(st);
    if (!wal) return -1;
    if (sqlite3_exec(db, "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON", NULL, NULL, NULL)) {
        snprintf(err, errlen, "pragmas: %s", sqlite3_errmsg(db));
        return -1;
    }
    if (hx__sqlite_register_functions(db)) {
        snprintf(err, errlen, "functions: %s", sqlite3_errmsg(db));
        return -1;
    }
    return 0;
}

static int prepare_all(hx__sqlite_store *s, char *err, size_t errlen)
{
    char sql[768];

    for (size_t i = 0; i < HX__SQ_COUNT; i++) {
        if (sqlite3_prepare_v3(s->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->stmt[i],
                               NULL) != SQLITE_OK) {
            snprintf(err, errlen, "prepare \"%.40s\": %s", stmt_sql[i], sqlite3_errmsg(s->db));
            return -1;
        }
    }
    for (unsigned m = 0; m < HX__SQ_EVQ_VARIANTS; m++) {
        hx__sqlite_evq_sql(m, sql, sizeof sql); /* fits: at most ~370 bytes */
        if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s->evq[m], NULL) !=
            SQLITE_OK) {
            snprintf(err, errlen, "prepare query_events variant %u: %s", m, sqlite3_errmsg(s->db));
            return -1;
        }
    }
    return 0;
}

hx_store *hx_store_sqlite_open(const char *path, char *err, size_t errlen)
{
    char scratch[1], msg[256];
    hx__sqlite_store *s = NULL;

    if (!err || !errlen) {
        err = scratch;
        errlen = sizeof scratch;
    }
    err[0] = '\0';
    msg[0] = '\0';
    if (!path || !*path) {
        snprintf(err, errlen, "sqlite store: no path");
        return NULL;
    }
    if (!(s = calloc(1, sizeof *s))) {
        snprintf(msg, sizeof msg, "out of memory");
        goto fail;
    }
    s->base.ops = &sq_ops;
    if (create_private(path, msg, sizeof msg)) goto fail;
    /* The handle is allocated even when opening fails; close frees it. */
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK) {
        snprintf(msg, sizeof msg, "%s", s->db ? sqlite3_errmsg(s->db) : "out of memory");
        goto fail;
    }
    if (configure(s->db, msg, sizeof msg) ||
        hx__sqlite_migrate(s->db, hx_now_ms(), msg, sizeof msg) || prepare_all(s, msg, sizeof msg))
        goto fail;
    return &s->base;

fail:
    snprintf(err, errlen, "sqlite store %s: %s", path, msg);
    sq_destroy(s);
    return NULL;
}
