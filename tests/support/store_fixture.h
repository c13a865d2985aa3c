/*
 * A fresh SQLite store per test for tests/store: a mkdtemp directory holding
 * one database file (cmocka setup/teardown), and a side connection on the
 * same file, as another process (hearthctl, an operator, an attacker with
 * the sqlite3 shell) would have. Every helper fails the test on error.
 */
#ifndef HX_TESTS_SUPPORT_STORE_FIXTURE_H
#define HX_TESTS_SUPPORT_STORE_FIXTURE_H

#include "store/store.h"

#include <sqlite3.h>
#include <stdint.h>

typedef struct hx_test_store {
    char dir[64];
    char path[128];
} hx_test_store;

/** cmocka setup: *state becomes an hx_test_store with a fresh, empty directory. */
int hx_test_store_setup(void **state);
/** cmocka teardown: remove the directory and everything in it. */
int hx_test_store_teardown(void **state);
/** A cmocka test entry run in its own fresh directory. */
#define HX_STORE_TEST(f)                                                                           \
    cmocka_unit_test_setup_teardown(f, hx_test_store_setup, hx_test_store_teardown)

/** Open the store at fx->path. */
hx_store *hx_test_store_open(const hx_test_store *fx);
/** Append one event with these fields (the rest NULL). */
void hx_test_append(hx_store *s, int64_t ts, const char *kind, const char *room, const char *user);

/** A side connection on fx->path. */
sqlite3 *hx_test_side_open(const hx_test_store *fx);
/** The first column of the first row of sql. */
int64_t hx_test_side_int(sqlite3 *db, const char *sql);
/** The same as text into buf ("(null)" for NULL); returns buf. */
const char *hx_test_side_text(sqlite3 *db, const char *sql, char *buf, size_t len);
void hx_test_side_exec(sqlite3 *db, const char *sql);

#endif
