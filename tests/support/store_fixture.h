/*
 * A fresh store per test for tests/store (cmocka setup/teardown), on the
 * backend the environment names: HX_TEST_STORE=postgres runs the same tests
 * on PostgreSQL (CMake registers the store tests a second time with it), in
 * a fresh database of a server the test starts itself (pg_server.h);
 * otherwise SQLite, one database file in a mkdtemp directory. Plus a side
 * connection on the same data, as another process (hearthctl, an operator,
 * an attacker with the sqlite3 shell or psql) would have. Every helper
 * fails the test on error.
 *
 * Side SQL is written once for both: PostgreSQL databases get the few
 * SQLite functions the tests use (group_concat, randomblob, zeroblob), and
 * null-safe comparison is spelt IS NOT DISTINCT FROM, which both know.
 */
#ifndef HX_TESTS_SUPPORT_STORE_FIXTURE_H
#define HX_TESTS_SUPPORT_STORE_FIXTURE_H

#include "store/store.h"

#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdint.h>

typedef enum hx_test_backend {
    HX_TEST_SQLITE = 0,
    HX_TEST_POSTGRES,
} hx_test_backend;

typedef struct hx_test_store {
    hx_test_backend backend;
    char dir[64];        /* a fresh directory, whatever the backend */
    char path[128];      /* SQLite: the database file */
    char label[128];     /* what the store's open errors name: the file, or the database */
    char conninfo[256];  /* PostgreSQL */
} hx_test_store;

/** HX_TEST_POSTGRES when HX_TEST_STORE=postgres, else HX_TEST_SQLITE. */
hx_test_backend hx_test_store_backend(void);

/** In a test about SQLite itself (its file, pragmas, plans): skipped on another backend. */
#define HX_SQLITE_ONLY(fx)                                                                         \
    do {                                                                                           \
        if ((fx)->backend != HX_TEST_SQLITE) skip();                                               \
    } while (0)
/** In a test about PostgreSQL itself (sessions, locks, several nodes): skipped on SQLite. */
#define HX_POSTGRES_ONLY(fx)                                                                       \
    do {                                                                                           \
        if ((fx)->backend != HX_TEST_POSTGRES) skip();                                             \
    } while (0)

/** cmocka setup: *state becomes an hx_test_store with a fresh, empty directory. */
int hx_test_store_setup(void **state);
/** cmocka teardown: remove the directory and everything in it. */
int hx_test_store_teardown(void **state);
/** A cmocka test entry run in its own fresh directory. */
#define HX_STORE_TEST(f)                                                                           \
    cmocka_unit_test_setup_teardown(f, hx_test_store_setup, hx_test_store_teardown)

/** Open the test's store (fails the test when it cannot). */
hx_store *hx_test_store_open(const hx_test_store *fx);
/** Try to open it: NULL with err filled on failure. */
hx_store *hx_test_store_try_open(const hx_test_store *fx, char *err, size_t errlen);
/** The backend's latest schema version. */
int hx_test_store_schema_version(const hx_test_store *fx);
/** Append one event with these fields (the rest NULL). */
void hx_test_append(hx_store *s, int64_t ts, const char *kind, const char *room, const char *user);

/** A side connection: one of the two is set. */
typedef struct hx_test_side {
    sqlite3 *lite;
    PGconn *pg;
} hx_test_side;

/** A side connection on the test's data. */
hx_test_side *hx_test_side_open(const hx_test_store *fx);
void hx_test_side_close(hx_test_side *db);
/** The first column of the first row of sql. */
int64_t hx_test_side_int(hx_test_side *db, const char *sql);
/** The same as text into buf ("(null)" for NULL); returns buf. */
const char *hx_test_side_text(hx_test_side *db, const char *sql, char *buf, size_t len);
/** Run sql (several statements allowed). */
void hx_test_side_exec(hx_test_side *db, const char *sql);

#endif
