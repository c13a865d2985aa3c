/*
 * A throwaway PostgreSQL server for tests, started by the test itself from
 * Debian's binaries (/usr/lib/postgresql/<version>/bin, not on PATH;
 * HX_PG_BINDIR overrides): initdb into a fresh temp dir, a Unix socket in
 * that dir and no TCP, fsync on, trust authentication for the role
 * "hearth". initdb and postgres refuse to run as root: when the test runs
 * as root they run as "nobody", the temp dir handed to it.
 *
 * Cleanup cannot depend on the test ending well: a forked guard process
 * holds the read end of a pipe whose write end only the test holds. When
 * the test stops the server, or dies in any way (a crash, a sanitizer
 * abort, a timeout's SIGKILL), the guard reads EOF, stops the server
 * (pg_ctl stop -m fast) and removes the dir.
 *
 * tests/integration/harness.py (PgServer) does the same for Python tests.
 */
#ifndef HX_TESTS_SUPPORT_PG_SERVER_H
#define HX_TESTS_SUPPORT_PG_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* ctest's SKIP_RETURN_CODE for tests that need PostgreSQL. */
#define HX_TEST_SKIP_CODE 77

typedef struct hx_pg_server {
    char dir[64]; /* data/, the socket and server.log */
    char bindir[256];
    char conninfo[192]; /* the "postgres" database */
    bool drop;          /* run the binaries as uid/gid (we are root) */
    uid_t uid;
    gid_t gid;
    pid_t guard;
    int guard_fd;
} hx_pg_server;

/** CI=true (or 1, yes) in the environment: a missing peer fails instead of skipping. */
bool hx_test_in_ci(void);

/** PostgreSQL's bin dir into out: $HX_PG_BINDIR, else the newest
 *  /usr/lib/postgresql/<v>/bin holding initdb. 0, or -1 with why. */
int hx_pg_find_bindir(char *out, size_t len, char *why, size_t whylen);

/** Start a server in a fresh temp dir. 0, or -1 with why (nothing left behind). */
int hx_pg_server_start(hx_pg_server *pg, char *why, size_t whylen);

/** Create database name ([a-z0-9_] only) and write its conninfo. 0, or -1 with why. */
int hx_pg_server_createdb(const hx_pg_server *pg, const char *name, char *conninfo, size_t len,
                          char *why, size_t whylen);

/** Run sql (no parameters) in database `db` of the server. 0, or -1 with why. */
int hx_pg_server_exec(const hx_pg_server *pg, const char *db, const char *sql, char *why,
                      size_t whylen);

/** Stop the server and remove its dir (through the guard). */
void hx_pg_server_stop(hx_pg_server *pg);

/**
 * The process's shared server, started on first use and stopped at exit. When
 * PostgreSQL is not installed: under CI it returns NULL with why (the caller
 * fails); otherwise it prints why and exits HX_TEST_SKIP_CODE (ctest: skipped).
 * NULL with why too when an installed server fails to start.
 */
hx_pg_server *hx_pg_server_shared(char *why, size_t whylen);

#endif
