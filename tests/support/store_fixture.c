/*
 * The per-test store of tests/store (store_fixture.h).
 */
#define _XOPEN_SOURCE 700 /* nftw, mkdtemp */

#include "store_fixture.h"

#include "pg_server.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(p);
}

hx_test_backend hx_test_store_backend(void)
{
    const char *b = getenv("HX_TEST_STORE");
    return b && strcmp(b, "postgres") == 0 ? HX_TEST_POSTGRES : HX_TEST_SQLITE;
}

/* What the tests' side SQL takes from SQLite, for PostgreSQL: put in template1 once,
 * so that every database created afterwards has it. */
static const char pg_sqlite_compat[] =
    "CREATE FUNCTION randomblob(n integer) RETURNS bytea LANGUAGE sql VOLATILE AS"
    " $$ SELECT substring(decode(md5(random()::text) || md5(random()::text), 'hex')"
    " FROM 1 FOR n) $$;"
    "CREATE FUNCTION zeroblob(n integer) RETURNS bytea LANGUAGE sql IMMUTABLE AS"
    " $$ SELECT decode(repeat('00', n), 'hex') $$;"
    "CREATE FUNCTION hx_concat_step(acc text, v anyelement, sep text) RETURNS text"
    " LANGUAGE sql IMMUTABLE AS $$ SELECT CASE WHEN v IS NULL THEN acc"
    " WHEN acc IS NULL THEN v::text ELSE acc || sep || v::text END $$;"
    "CREATE AGGREGATE group_concat(anyelement, text) (SFUNC = hx_concat_step, STYPE = text);";

/* A fresh database on the process's server. -1 (reason printed) when there is none. */
static int pg_setup(hx_test_store *fx)
{
    static int n_dbs;
    char why[1024], name[32];
    hx_pg_server *pg = hx_pg_server_shared(why, sizeof why);

    if (!pg || (n_dbs == 0 && hx_pg_server_exec(pg, "template1", pg_sqlite_compat, why,
                                                 sizeof why))) {
        print_error("PostgreSQL: %s\n", why);
        return -1;
    }
    snprintf(name, sizeof name, "hx_t_%d", ++n_dbs);
    if (hx_pg_server_createdb(pg, name, fx->conninfo, sizeof fx->conninfo, why, sizeof why)) {
        print_error("PostgreSQL: %s\n", why);
        return -1;
    }
    snprintf(fx->label, sizeof fx->label, "%s", name);
    return 0;
}

int hx_test_store_setup(void **state)
{
    hx_test_store *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    fx->backend = hx_test_store_backend();
    /* First: it may exit (skipped), and cmocka runs no teardown after a failed setup. */
    if (fx->backend == HX_TEST_POSTGRES && pg_setup(fx)) {
        free(fx);
        return -1;
    }
    snprintf(fx->dir, sizeof fx->dir, "/tmp/hx-store-XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    snprintf(fx->path, sizeof fx->path, "%s/hearth.db", fx->dir);
    if (fx->backend == HX_TEST_SQLITE) snprintf(fx->label, sizeof fx->label, "%s", fx->path);
    *state = fx;
    return 0;
}

int hx_test_store_teardown(void **state)
{
    hx_test_store *fx = *state;
    nftw(fx->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    free(fx);
    return 0;
}

hx_store *hx_test_store_try_open(const hx_test_store *fx, char *err, size_t errlen)
{
    return fx->backend == HX_TEST_POSTGRES ? hx_store_pg_open(fx->conninfo, err, errlen)
                                           : hx_store_sqlite_open(fx->path, err, errlen);
}

hx_store *hx_test_store_open(const hx_test_store *fx)
{
    char err[256] = "";
    hx_store *s = hx_test_store_try_open(fx, err, sizeof err);
    if (!s) fail_msg("open: %s", err);
    assert_string_equal(s->ops->name, fx->backend == HX_TEST_POSTGRES ? "postgres" : "sqlite");
    return s;
}

int hx_test_store_schema_version(const hx_test_store *fx)
{
    return fx->backend == HX_TEST_POSTGRES ? hx_store_pg_schema_version()
                                           : hx_store_sqlite_schema_version();
}

void hx_test_append(hx_store *s, int64_t ts, const char *kind, const char *room, const char *user)
{
    hx_event ev = {.ts_ms = ts, .kind = kind, .room = room, .user = user};
    if (s->ops->append_event(s, &ev) != HX_STORE_OK) fail_msg("append: %s", hx_store_errmsg(s));
}

hx_test_side *hx_test_side_open(const hx_test_store *fx)
{
    hx_test_side *db = calloc(1, sizeof *db);
    assert_non_null(db);
    if (fx->backend == HX_TEST_POSTGRES) {
        db->pg = PQconnectdb(fx->conninfo);
        if (PQstatus(db->pg) != CONNECTION_OK) fail_msg("side: %s", PQerrorMessage(db->pg));
        PQclear(PQexec(db->pg, "SET client_min_messages = warning"));
        return db;
    }
    assert_int_equal(sqlite3_open_v2(fx->path, &db->lite, SQLITE_OPEN_READWRITE, NULL),
                     SQLITE_OK);
    sqlite3_busy_timeout(db->lite, 5000);
    return db;
}

void hx_test_side_close(hx_test_side *db)
{
    sqlite3_close(db->lite);
    PQfinish(db->pg);
    free(db);
}

/* PostgreSQL: sql's result (text format), which must have a row; PQclear it. */
static PGresult *pg_row(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) fail_msg("%s: %s", sql, PQerrorMessage(c));
    if (PQntuples(r) < 1) fail_msg("%s: no row", sql);
    return r;
}

/* SQLite: sql's single row, stepped; finalize it after reading. */
static sqlite3_stmt *side_row(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(db));
    if (sqlite3_step(st) != SQLITE_ROW) fail_msg("%s: no row", sql);
    return st;
}

const char *hx_test_side_text(hx_test_side *db, const char *sql, char *buf, size_t len)
{
    if (db->pg) {
        PGresult *r = pg_row(db->pg, sql);
        snprintf(buf, len, "%s", PQgetisnull(r, 0, 0) ? "(null)" : PQgetvalue(r, 0, 0));
        PQclear(r);
        return buf;
    }
    sqlite3_stmt *st = side_row(db->lite, sql);
    const char *v = (const char *)sqlite3_column_text(st, 0);
    snprintf(buf, len, "%s", v ? v : "(null)");
    sqlite3_finalize(st);
    return buf;
}

int64_t hx_test_side_int(hx_test_side *db, const char *sql)
{
    char buf[32];
    return strtoll(hx_test_side_text(db, sql, buf, sizeof buf), NULL, 10); /* "(null)" reads 0 */
}

void hx_test_side_exec(hx_test_side *db, const char *sql)
{
    if (db->pg) {
        PGresult *r = PQexec(db->pg, sql);
        if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
            fail_msg("%s: %s", sql, PQerrorMessage(db->pg));
        PQclear(r);
        return;
    }
    if (sqlite3_exec(db->lite, sql, NULL, NULL, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(db->lite));
}
