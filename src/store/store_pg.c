/*
 * The PostgreSQL store (DESIGN §6): the same ops, records and audit chain
 * as the SQLite store, in a database that several hearthd nodes share.
 *
 * Connection. One libpq connection per store, opened from a conninfo string
 * or URI (store.postgres_url), client encoding UTF8. Every statement goes
 * through PQexecParams: values are always parameters (text for strings and
 * numbers, binary for BYTEA), never spliced into SQL; results come back in
 * binary format and are read by column type (hx__pg_int_at and friends).
 * The only SQL assembled at run time is query_events' WHERE clause, from
 * constant fragments chosen by which filter fields are set. A broken
 * connection is reset before the next operation that starts outside a
 * transaction; inside one the operation fails and rolls back, so a statement
 * never silently runs outside the transaction it belongs to.
 *
 * Durability. An op returns only after its COMMIT (or autocommit statement)
 * succeeded, with synchronous_commit on: the session turns it back on if the
 * server's default has it off. Multi-statement ops are explicit transactions.
 *
 * Several nodes. append_event takes the chain's advisory lock
 * (pg_advisory_xact_lock on the room's key) before it reads the head, and
 * holds it to COMMIT, so two nodes appending to one room serialize and the
 * chain never forks (pg_chain.c). Migrations (pg_migrations.c) and sweeps
 * (pg_sweep.c) take their own locks.
 *
 * Ownership. Strings handed to callbacks point into a PGresult that is
 * cleared when the walk ends: valid during the callback only. A walk
 * fetches its rows (at most 1000 for query_events; all live revocations or
 * sanctions, which expire) before the first callback, so a callback may call
 * any op but the walk it is inside (refused, as in the SQLite store).
 *
 * A store is not thread-safe (one connection): use one per thread. close()
 * tears down a half-built store, so open() has a single exit through it.
 */
#include "store/pg_internal.h"

#include "common/clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HX__PG_EVQ_DEFAULT_LIMIT 100
#define HX__PG_EVQ_MAX_LIMIT 1000
#define HX__PG_UNIQUE_VIOLATION "23505"

/* query_events filter fields, as the SQLite store's variants. */
#define EVQ_KIND 1u
#define EVQ_ROOM 2u
#define EVQ_USER 4u
#define EVQ_SINCE 8u
#define EVQ_UNTIL 16u

/* ---- parameters --------------------------------------------------------------------- */

static int next_slot(hx__pg_params *p)
{
    if (p->n == HX__PG_MAX_PARAMS) {
        p->too_big = true; /* a programming error: refused like an oversized value */
        return -1;
    }
    return p->n++;
}

void hx__pg_text(hx__pg_params *p, const char *v)
{
    int i = next_slot(p);
    if (i < 0) return;
    p->val[i] = v;
    p->len[i] = 0;
    p->fmt[i] = 0;
    if (v && strlen(v) > HX__PG_MAX_VALUE_LEN) p->too_big = true;
}

void hx__pg_int(hx__pg_params *p, int64_t v)
{
    int i = next_slot(p);
    if (i < 0) return;
    snprintf(p->num[i], sizeof p->num[i], "%lld", (long long)v);
    p->val[i] = p->num[i];
    p->len[i] = 0;
    p->fmt[i] = 0;
}

void hx__pg_bytes(hx__pg_params *p, const void *b, size_t n)
{
    int i = next_slot(p);
    if (i < 0) return;
    if (n > HX__PG_MAX_VALUE_LEN) p->too_big = true;
    p->val[i] = b ? (const char *)b : ""; /* a NULL pointer would send SQL NULL */
    p->len[i] = (int)(n > HX__PG_MAX_VALUE_LEN ? 0 : n);
    p->fmt[i] = 1;
}

/* ---- running statements ------------------------------------------------------------- */

int hx__pg_misuse(hx__pg_store *s, const char *msg)
{
    snprintf(s->base.errmsg, sizeof s->base.errmsg, "%s", msg);
    return HX_STORE_ERROR;
}

/* "what: message", the server's primary message when there is one, on one line. */
static void set_error(hx__pg_store *s, const char *what, const PGresult *r)
{
    const char *m = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    if (!m || !*m) m = PQerrorMessage(s->conn);
    snprintf(s->base.errmsg, sizeof s->base.errmsg, "%s: %s", what, m && *m ? m : "unknown error");
    char *nl = strchr(s->base.errmsg, '\n');
    if (nl) *nl = '\0';
}

static int session_setup(hx__pg_store *s, char *err, size_t errlen);

/* Reset a broken connection, unless a transaction was open on it (its work is lost:
 * the op must fail rather than carry on outside it). */
static int ensure_connected(hx__pg_store *s, const char *what)
{
    char msg[200];

    /* Between ops the server may have gone (restart, idle timeout, terminated backend):
     * reading what it left finds out without sending anything. A first read may only
     * take its FATAL message; EOF shows on the next. */
    if (!s->in_tx && PQstatus(s->conn) == CONNECTION_OK && PQconsumeInput(s->conn))
        PQconsumeInput(s->conn);
    if (PQstatus(s->conn) == CONNECTION_OK) return 0;
    if (!s->in_tx) {
        PQreset(s->conn);
        if (PQstatus(s->conn) == CONNECTION_OK) {
            if (session_setup(s, msg, sizeof msg) == 0) return 0;
            snprintf(s->base.errmsg, sizeof s->base.errmsg, "%s: %s", what, msg);
            return -1;
        }
    }
    set_error(s, what, NULL);
    return -1;
}

PGresult *hx__pg_query(hx__pg_store *s, const char *sql, const hx__pg_params *p, const char *what,
                       char sqlstate[6])
{
    static const hx__pg_params none = {0};
    PGresult *r;
    ExecStatusType st;

    if (sqlstate) sqlstate[0] = '\0';
    if (!p) p = &none;
    if (p->too_big) {
        snprintf(s->base.errmsg, sizeof s->base.errmsg, "%s: string or blob too big", what);
        return NULL;
    }
    if (ensure_connected(s, what)) return NULL;
    r = PQexecParams(s->conn, sql, p->n, NULL, p->val, p->len, p->fmt, 1);
    st = PQresultStatus(r);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return r;
    set_error(s, what, r);
    if (sqlstate && r && PQresultErrorField(r, PG_DIAG_SQLSTATE))
        snprintf(sqlstate, 6, "%s", PQresultErrorField(r, PG_DIAG_SQLSTATE));
    PQclear(r);
    return NULL;
}

int hx__pg_run(hx__pg_store *s, const char *sql, const hx__pg_params *p, const char *what,
               long *changed)
{
    PGresult *r = hx__pg_query(s, sql, p, what, NULL);
    if (!r) return HX_STORE_ERROR;
    if (changed) *changed += strtol(PQcmdTuples(r), NULL, 10); /* "" for other commands */
    PQclear(r);
    return HX_STORE_OK;
}

/* A BEGIN that fails on a dead connection is tried once more on a fresh one: nothing
 * had started (the check before it misses a server that is still going away). */
static int begin_with(hx__pg_store *s, const char *sql, const char *what)
{
    if (hx__pg_run(s, sql, NULL, what, NULL) &&
        (PQstatus(s->conn) == CONNECTION_OK || hx__pg_run(s, sql, NULL, what, NULL)))
        return HX_STORE_ERROR;
    s->in_tx = true;
    return HX_STORE_OK;
}

int hx__pg_begin(hx__pg_store *s, const char *what)
{
    return begin_with(s, "BEGIN", what);
}

int hx__pg_begin_snapshot(hx__pg_store *s, const char *what)
{
    return begin_with(s, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", what);
}

int hx__pg_commit(hx__pg_store *s, const char *what)
{
    PGresult *r = hx__pg_query(s, "COMMIT", NULL, what, NULL);
    bool ok = r && strcmp(PQcmdStatus(r), "COMMIT") == 0;

    if (r && !ok) snprintf(s->base.errmsg, sizeof s->base.errmsg, "%s: rolled back", what);
    PQclear(r);
    if (ok) s->in_tx = false;
    return ok ? HX_STORE_OK : HX_STORE_ERROR;
}

void hx__pg_rollback(hx__pg_store *s)
{
    if (PQstatus(s->conn) == CONNECTION_OK) PQclear(PQexec(s->conn, "ROLLBACK"));
    s->in_tx = false;
}

/* ---- reading binary results --------------------------------------------------------- */

int64_t hx__pg_int_at(const PGresult *r, int row, int col)
{
    const uint8_t *p = (const uint8_t *)PQgetvalue(r, row, col);
    int n = PQgetlength(r, row, col);
    uint64_t v = 0;

    if (PQgetisnull(r, row, col) || (n != 2 && n != 4 && n != 8)) return 0;
    for (int i = 0; i < n; i++)
        v = v << 8 | p[i];
    if (n < 8 && (p[0] & 0x80)) v |= ~0ull << (8 * n); /* sign-extend int2 / int4 */
    return (int64_t)v;
}

const char *hx__pg_text_at(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col); /* NUL-terminated */
}

const uint8_t *hx__pg_bytes_at(const PGresult *r, int row, int col, size_t *len)
{
    *len = PQgetisnull(r, row, col) ? 0 : (size_t)PQgetlength(r, row, col);
    return PQgetisnull(r, row, col) ? NULL : (const uint8_t *)PQgetvalue(r, row, col);
}

/* ---- events ------------------------------------------------------------------------- */

static int pg_append_event(hx_store *base, const hx_event *ev)
{
    hx__pg_store *s = hx__pg_from(base);

    if (!ev || !ev->kind) return hx__pg_misuse(s, "append_event: an event needs a kind");
    if (hx__pg_begin(s, "append_event: begin")) return HX_STORE_ERROR;
    if (hx__pg_append_linked(s, ev) || hx__pg_commit(s, "append_event: commit")) {
        hx__pg_rollback(s);
        return HX_STORE_ERROR;
    }
    return HX_STORE_OK;
}

/* The WHERE clause of the set fields, in a fixed order, numbering parameters from $1. */
static void evq_sql(const hx_event_filter *f, unsigned mask, char *sql, size_t len,
                    hx__pg_params *p)
{
    static const struct {
        unsigned bit;
        const char *cond;
    } conds[] = {{EVQ_KIND, "kind ="},
                 {EVQ_ROOM, "room ="},
                 {EVQ_USER, "user_id ="},
                 {EVQ_SINCE, "ts_ms >="},
                 {EVQ_UNTIL, "ts_ms <="}};
    size_t at =
        (size_t)snprintf(sql, len, "SELECT " HX__PG_EVENT_COLS " FROM events WHERE id > $1");

    hx__pg_int(p, f->after_id);
    for (size_t i = 0; i < sizeof conds / sizeof conds[0]; i++) {
        if (!(mask & conds[i].bit)) continue;
        at += (size_t)snprintf(sql + at, len - at, " AND %s $%d", conds[i].cond, p->n + 1);
        if (conds[i].bit == EVQ_KIND) hx__pg_text(p, f->kind);
        if (conds[i].bit == EVQ_ROOM) hx__pg_text(p, f->room);
        if (conds[i].bit == EVQ_USER) hx__pg_text(p, f->user);
        if (conds[i].bit == EVQ_SINCE) hx__pg_int(p, f->since_ms);
        if (conds[i].bit == EVQ_UNTIL) hx__pg_int(p, f->until_ms);
    }
    snprintf(sql + at, len - at, " ORDER BY id LIMIT $%d", p->n + 1);
}

static int pg_query_events(hx_store *base, const hx_event_filter *f, hx_event_cb cb, void *arg)
{
    hx__pg_store *s = hx__pg_from(base);
    static const hx_event_filter all = {0};
    hx__pg_params p = {0};
    char sql[512];
    unsigned mask;
    size_t limit;
    PGresult *r;
    int ret = HX_STORE_OK;

    if (!cb) return hx__pg_misuse(s, "query_events: no callback");
    if (!f) f = &all;
    mask = (f->kind ? EVQ_KIND : 0) | (f->room ? EVQ_ROOM : 0) | (f->user ? EVQ_USER : 0) |
           (f->since_ms ? EVQ_SINCE : 0) | (f->until_ms ? EVQ_UNTIL : 0);
    if (s->walking & HX__PG_WALK_EVQ(mask))
        return hx__pg_misuse(s, "query_events: called from its own callback with the same filter");
    limit = f->limit == 0 ? HX__PG_EVQ_DEFAULT_LIMIT : f->limit;
    if (limit > HX__PG_EVQ_MAX_LIMIT) limit = HX__PG_EVQ_MAX_LIMIT;
    evq_sql(f, mask, sql, sizeof sql, &p);
    hx__pg_int(&p, (int64_t)limit);
    if (!(r = hx__pg_query(s, sql, &p, "query_events", NULL))) return HX_STORE_ERROR;

    s->walking |= HX__PG_WALK_EVQ(mask);
    for (int i = 0; i < PQntuples(r) && ret == 0; i++) {
        hx_chain_row row;
        hx__pg_read_row(r, i, &row);
        ret = cb(arg, &row.ev);
    }
    s->walking &= ~HX__PG_WALK_EVQ(mask);
    PQclear(r);
    return ret;
}

/* ---- revocations -------------------------------------------------------------------- */

static int pg_put_revocation(hx_store *base, const hx_revocation *rv)
{
    hx__pg_store *s = hx__pg_from(base);
    hx__pg_params p = {0};

    if (!rv || !rv->value) return hx__pg_misuse(s, "put_revocation: a revocation needs a value");
    if (rv->kind != HX_REVOKE_JTI && rv->kind != HX_REVOKE_SID && rv->kind != HX_REVOKE_USER)
        return hx__pg_misuse(s, "put_revocation: unknown revocation kind");
    hx__pg_int(&p, rv->kind);
    hx__pg_text(&p, rv->value);
    hx__pg_int(&p, rv->not_before);
    hx__pg_int(&p, rv->created_ms);
    hx__pg_int(&p, rv->expires_ms);
    hx__pg_text(&p, rv->reason);
    return hx__pg_run(s,
                      "INSERT INTO revocations(kind, value, not_before, created_ms, expires_ms,"
                      " reason) VALUES ($1, $2, $3, $4, $5, $6)"
                      " ON CONFLICT (kind, value) DO UPDATE SET not_before = excluded.not_before,"
                      " created_ms = excluded.created_ms, expires_ms = excluded.expires_ms,"
                      " reason = excluded.reason",
                      &p, "put_revocation", NULL);
}

static int pg_list_revocations(hx_store *base, int64_t now_ms, hx_revocation_cb cb, void *arg)
{
    hx__pg_store *s = hx__pg_from(base);
    hx__pg_params p = {0};
    PGresult *r;
    int ret = HX_STORE_OK;

    if (!cb) return hx__pg_misuse(s, "list_revocations: no callback");
    if (s->walking & HX__PG_WALK_REVOCATIONS)
        return hx__pg_misuse(s, "list_revocations: called from its own callback");
    hx__pg_int(&p, now_ms);
    /* COLLATE "C": byte order, as SQLite sorts, whatever the database's locale. */
    r = hx__pg_query(s,
                     "SELECT kind, value, not_before, created_ms, expires_ms, reason"
                     " FROM revocations WHERE expires_ms = 0 OR expires_ms > $1"
                     " ORDER BY kind, value COLLATE \"C\"",
                     &p, "list_revocations", NULL);
    if (!r) return HX_STORE_ERROR;
    s->walking |= HX__PG_WALK_REVOCATIONS;
    for (int i = 0; i < PQntuples(r) && ret == 0; i++) {
        hx_revocation rv = {
            .kind = (hx_revoke_kind)hx__pg_int_at(r, i, 0),
            .value = hx__pg_text_at(r, i, 1),
            .not_before = hx__pg_int_at(r, i, 2),
            .created_ms = hx__pg_int_at(r, i, 3),
            .expires_ms = hx__pg_int_at(r, i, 4),
            .reason = hx__pg_text_at(r, i, 5),
        };
        ret = cb(arg, &rv);
    }
    s->walking &= ~HX__PG_WALK_REVOCATIONS;
    PQclear(r);
    return ret;
}

/* ---- tickets and secrets ------------------------------------------------------------ */

static int pg_consume_ticket(hx_store *base, const char *ticket_id, int64_t expires_ms)
{
    hx__pg_store *s = hx__pg_from(base);
    hx__pg_params p = {0};
    char state[6];
    PGresult *r;

    if (!ticket_id) return hx__pg_misuse(s, "consume_ticket: no ticket id");
    hx__pg_text(&p, ticket_id);
    hx__pg_int(&p, expires_ms);
    r = hx__pg_query(s, "INSERT INTO consumed_tickets(id, expires_ms) VALUES ($1, $2)", &p,
                     "consume_ticket", state);
    if (r) {
        PQclear(r);
        return HX_STORE_OK;
    }
    return strcmp(state, HX__PG_UNIQUE_VIOLATION) == 0 ? HX_STORE_EXISTS : HX_STORE_ERROR;
}

static int pg_get_secret(hx_store *base, const char *name, uint8_t *buf, size_t len)
{
    hx__pg_store *s = hx__pg_from(base);
    hx__pg_params p = {0};
    PGresult *r;
    int ret;

    if (!name || (!buf && len)) return hx__pg_misuse(s, "get_secret: no name or buffer");
    hx__pg_text(&p, name);
    if (!(r = hx__pg_query(s, "SELECT value FROM secrets WHERE name = $1", &p, "get_secret", NULL)))
        return HX_STORE_ERROR;
    if (PQntuples(r) == 0) {
        snprintf(s->base.errmsg, sizeof s->base.errmsg, "get_secret: no secret \"%.64s\"", name);
        ret = HX_STORE_NOTFOUND;
    } else {
        size_t n;
        const uint8_t *v = hx__pg_bytes_at(r, 0, 0, &n);
        if (n == len) {
            if (len) memcpy(buf, v, len);
            ret = HX_STORE_OK;
        } else {
            /* Fixed-size keys: a mismatch is a bug or damage, never to truncate or pad. */
            snprintf(s->base.errmsg, sizeof s->base.errmsg,
                     "get_secret: secret \"%.64s\" is %zu bytes, caller expects %zu", name, n, len);
            ret = HX_STORE_ERROR;
        }
    }
    PQclear(r);
    return ret;
}

static int pg_put_secret(hx_store *base, const char *name, const uint8_t *buf, size_t len)
{
    hx__pg_store *s = hx__pg_from(base);
    hx__pg_params p = {0};

    if (!name || (!buf && len)) return hx__pg_misuse(s, "put_secret: no name or value");
    hx__pg_text(&p, name);
    hx__pg_bytes(&p, buf, len);
    return hx__pg_run(s,
                      "INSERT INTO secrets(name, value) VALUES ($1, $2)"
                      " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                      &p, "put_secret", NULL);
}

static int pg_add_secret(hx_store *base, const char *name, const uint8_t *buf, size_t len)
{
    hx__pg_store *s = hx__pg_from(base);
    hx__pg_params p = {0};
    long added = 0;

    if (!name || (!buf && len)) return hx__pg_misuse(s, "add_secret: no name or value");
    hx__pg_text(&p, name);
    hx__pg_bytes(&p, buf, len);
    /* A node inserting the same name at once waits for this one's commit, then inserts
     * nothing: one row, the first writer's, and every other writer learns it lost. */
    if (hx__pg_run(s,
                   "INSERT INTO secrets(name, value) VALUES ($1, $2)"
                   " ON CONFLICT (name) DO NOTHING",
                   &p, "add_secret", &added))
        return HX_STORE_ERROR;
    if (added) return HX_STORE_OK;
    snprintf(s->base.errmsg, sizeof s->base.errmsg, "add_secret: secret \"%.64s\" exists", name);
    return HX_STORE_EXISTS;
}

/* ---- open / close ------------------------------------------------------------------- */

static void pg_destroy(hx__pg_store *s)
{
    if (!s) return;
    PQfinish(s->conn); /* NULL is a no-op */
    free(s);
}

static void pg_close(hx_store *base)
{
    pg_destroy(hx__pg_from(base));
}

static const hx_store_ops pg_ops = {
    .name = "postgres",
    .append_event = pg_append_event,
    .put_revocation = pg_put_revocation,
    .list_revocations = pg_list_revocations,
    .consume_ticket = pg_consume_ticket,
    .get_secret = pg_get_secret,
    .put_secret = pg_put_secret,
    .add_secret = pg_add_secret,
    .query_events = pg_query_events,
    .sweep = hx__pg_sweep,
    .verify_chain = hx__pg_verify_chain,
    .put_sanction = hx__pg_put_sanction,
    .lift_sanction = hx__pg_lift_sanction,
    .list_sanctions = hx__pg_list_sanctions,
    .delete_revocation = hx__pg_delete_revocation,
    .put_state = hx__pg_put_state,
    .delete_state = hx__pg_delete_state,
    .list_state = hx__pg_list_state,
    .get_state = hx__pg_get_state,
    .close = pg_close,
};

/* NOTICEs ("relation already exists, skipping") would go to stderr by default. */
static void ignore_notice(void *arg, const char *message)
{
    (void)arg, (void)message;
}

/* Commits that wait for the WAL flush (UTF8 on the wire is a connection option). Run
 * again after a reset: a new session has the server's defaults. */
static int session_setup(hx__pg_store *s, char *err, size_t errlen)
{
    /* PQexec, not hx__pg_query: this runs inside its reconnecting. */
    PGresult *r = PQexec(s->conn, "SHOW synchronous_commit");
    bool ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
    bool off = ok && strcmp(PQgetvalue(r, 0, 0), "off") == 0;

    PQclear(r);
    if (ok && off) {
        r = PQexec(s->conn, "SET synchronous_commit = on");
        ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        PQclear(r);
    }
    if (!ok) {
        snprintf(err, errlen, "synchronous_commit: %s", PQerrorMessage(s->conn));
        err[strcspn(err, "\n")] = '\0';
    }
    return ok ? 0 : -1;
}

hx_store *hx_store_pg_open(const char *conninfo, char *err, size_t errlen)
{
    /* client_encoding after dbname overrides what the string says. */
    const char *const keys[] = {"dbname", "client_encoding", NULL};
    const char *const values[] = {conninfo, "UTF8", NULL};
    char scratch[1], msg[256], where[128];
    hx__pg_store *s = NULL;

    if (!err || !errlen) {
        err = scratch;
        errlen = sizeof scratch;
    }
    err[0] = msg[0] = '\0';
    snprintf(where, sizeof where, "(unknown database)");
    if (!conninfo || !*conninfo) {
        snprintf(err, errlen, "postgres store: no connection string");
        return NULL;
    }
    if (!(s = calloc(1, sizeof *s))) {
        snprintf(msg, sizeof msg, "out of memory");
        goto fail;
    }
    s->base.ops = &pg_ops;
    /* Never name the store by its conninfo in messages: it may hold a password. */
    s->conn = PQconnectdbParams(keys, values, 1); /* expand dbname: a conninfo or URI */
    if (s->conn && PQdb(s->conn))
        snprintf(where, sizeof where, "%s on %s", PQdb(s->conn),
                 PQhost(s->conn) && *PQhost(s->conn) ? PQhost(s->conn) : "the default host");
    if (PQstatus(s->conn) != CONNECTION_OK) {
        snprintf(msg, sizeof msg, "%s", s->conn ? PQerrorMessage(s->conn) : "out of memory");
        msg[strcspn(msg, "\n")] = '\0';
        goto fail;
    }
    PQsetNoticeProcessor(s->conn, ignore_notice, NULL);
    if (session_setup(s, msg, sizeof msg) || hx__pg_migrate(s->conn, hx_now_ms(), msg, sizeof msg))
        goto fail;
    return &s->base;

fail:
    snprintf(err, errlen, "postgres store %s: %s", where, msg);
    pg_destroy(s);
    return NULL;
}
