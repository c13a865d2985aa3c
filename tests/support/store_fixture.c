/*
 * The per-test SQLite store of tests/store (store_fixture.h).
 */
#define _XOPEN_SOURCE 700 /* nftw, mkdtemp */

#include "store_fixture.h"

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

int hx_test_store_setup(void **state)
{
    hx_test_store *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    snprintf(fx->dir, sizeof fx->dir, "/tmp/hx-store-XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    snprintf(fx->path, sizeof fx->path, "%s/hearth.db", fx->dir);
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

hx_store *hx_test_store_open(const hx_test_store *fx)
{
    char err[256] = "";
    hx_store *s = hx_store_sqlite_open(fx->path, err, sizeof err);
    if (!s) fail_msg("open: %s", err);
    assert_string_equal(s->ops->name, "sqlite");
    return s;
}

void hx_test_append(hx_store *s, int64_t ts, const char *kind, const char *room, const char *user)
{
    hx_event ev = {.ts_ms = ts, .kind = kind, .room = room, .user = user};
    if (s->ops->append_event(s, &ev) != HX_STORE_OK) fail_msg("append: %s", hx_store_errmsg(s));
}

sqlite3 *hx_test_side_open(const hx_test_store *fx)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(fx->path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    return db;
}

/* sql's single row, stepped; finalize it after reading. */
static sqlite3_stmt *side_row(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(db));
    if (sqlite3_step(st) != SQLITE_ROW) fail_msg("%s: no row", sql);
    return st;
}

int64_t hx_test_side_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = side_row(db, sql);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

const char *hx_test_side_text(sqlite3 *db, const char *sql, char *buf, size_t len)
{
    sqlite3_stmt *st = side_row(db, sql);
    const char *v = (const char *)sqlite3_column_text(st, 0);
    snprintf(buf, len, "%s", v ? v : "(null)");
    sqlite3_finalize(st);
    return buf;
}

void hx_test_side_exec(sqlite3 *db, const char *sql)
{
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(db));
}
