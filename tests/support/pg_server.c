/*
 * The throwaway PostgreSQL server of the tests (pg_server.h).
 */
#define _GNU_SOURCE /* pipe2, setgroups */

#include "pg_server.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <glob.h>
#include <grp.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define PG_PORT "5432" /* the socket's name; each server has its own dir */
#define PG_USER "hearth"

bool hx_test_in_ci(void)
{
    const char *ci = getenv("CI");
    return ci && (!strcasecmp(ci, "true") || !strcmp(ci, "1") || !strcasecmp(ci, "yes"));
}

static bool has_initdb(const char *bindir)
{
    char path[512];
    snprintf(path, sizeof path, "%s/initdb", bindir);
    return access(path, X_OK) == 0;
}

int hx_pg_find_bindir(char *out, size_t len, char *why, size_t whylen)
{
    const char *env = getenv("HX_PG_BINDIR");
    glob_t g;
    int major = -1;

    if (env && *env) {
        snprintf(out, len, "%s", env);
        if (has_initdb(out)) return 0;
        snprintf(why, whylen, "HX_PG_BINDIR=%s holds no initdb", env);
        return -1;
    }
    /* Debian keeps each major version's server binaries off PATH. */
    if (glob("/usr/lib/postgresql/*/bin/initdb", 0, NULL, &g) == 0) {
        for (size_t i = 0; i < g.gl_pathc; i++) {
            int v = atoi(g.gl_pathv[i] + strlen("/usr/lib/postgresql/"));
            if (v > major && access(g.gl_pathv[i], X_OK) == 0) {
                major = v;
                snprintf(out, len, "%.*s", (int)(strrchr(g.gl_pathv[i], '/') - g.gl_pathv[i]),
                         g.gl_pathv[i]);
            }
        }
        globfree(&g);
    }
    if (major >= 0) return 0;
    snprintf(why, whylen,
             "PostgreSQL's server binaries are not installed (no /usr/lib/postgresql/*/bin/initdb;"
             " apt-get install postgresql)");
    return -1;
}

/* Run argv (as pg's user when dropping root), output appended to log. The exit status. */
static int run(const hx_pg_server *pg, char *const argv[], const char *log)
{
    pid_t pid = fork();
    int status;

    if (pid < 0) return -1;
    if (pid == 0) {
        int fd;
        /* Drop first: the log must be the server's user's (pg_ctl -l appends to it). */
        if (pg->drop && (setgroups(0, NULL) || setgid(pg->gid) || setuid(pg->uid))) _exit(126);
        if ((fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)) >= 0) {
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
        }
        execv(argv[0], argv);
        _exit(127);
    }
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(p);
}

/* The guard's whole life: wait for EOF, then stop the server and remove the dir. */
static void guard_main(const hx_pg_server *pg, int fd)
{
    char pg_ctl[300], data[80], log[80], c;

    char pid_file[96];

    setsid(); /* out of the test's process group: a group kill leaves it to clean up */
    for (;;) {
        ssize_t n = read(fd, &c, 1);
        if (n == 0 || (n < 0 && errno != EINTR)) break;
    }
    snprintf(pg_ctl, sizeof pg_ctl, "%s/pg_ctl", pg->bindir);
    snprintf(data, sizeof data, "%s/data", pg->dir);
    snprintf(log, sizeof log, "%s/guard.log", pg->dir);
    snprintf(pid_file, sizeof pid_file, "%s/postmaster.pid", data);
    if (access(pid_file, F_OK) == 0)
        run(pg, (char *const[]){pg_ctl, "-D", data, "-m", "fast", "-w", "-t", "60", "stop", NULL},
            log);
    nftw(pg->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    _exit(0);
}

static int start_guard(hx_pg_server *pg)
{
    int fds[2];

    if (pipe2(fds, O_CLOEXEC)) return -1;
    pg->guard = fork();
    if (pg->guard < 0) {
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pg->guard == 0) {
        close(fds[1]);
        guard_main(pg, fds[0]);
    }
    close(fds[0]);
    pg->guard_fd = fds[1];
    return 0;
}

/* As root: who runs the server, and the dir handed over to them. */
static int drop_root(hx_pg_server *pg, char *why, size_t whylen)
{
    struct passwd *pw;

    if (geteuid() != 0) return 0;
    if (!(pw = getpwnam("nobody"))) {
        snprintf(why, whylen, "running as root and there is no user \"nobody\" to run initdb as");
        return -1;
    }
    pg->drop = true;
    pg->uid = pw->pw_uid;
    pg->gid = pw->pw_gid;
    if (chown(pg->dir, pg->uid, pg->gid)) {
        snprintf(why, whylen, "chown %s: %s", pg->dir, strerror(errno));
        return -1;
    }
    return 0;
}

/* The last lines of a log into why, after a prefix. */
static void with_log(char *why, size_t whylen, const char *what, const char *log)
{
    char tail[512] = "";
    FILE *f = fopen(log, "r");

    if (f) {
        long n;
        fseek(f, 0, SEEK_END);
        n = ftell(f);
        fseek(f, n > (long)sizeof tail - 1 ? n - (long)sizeof tail + 1 : 0, SEEK_SET);
        n = (long)fread(tail, 1, sizeof tail - 1, f);
        tail[n > 0 ? n : 0] = '\0';
        fclose(f);
    }
    snprintf(why, whylen, "%s (%s):\n%s", what, log, tail);
}

int hx_pg_server_start(hx_pg_server *pg, char *why, size_t whylen)
{
    char initdb[300], pg_ctl[300], data[80], log[80], opts[200];

    memset(pg, 0, sizeof *pg);
    pg->guard_fd = -1;
    if (hx_pg_find_bindir(pg->bindir, sizeof pg->bindir, why, whylen)) return -1;
    snprintf(pg->dir, sizeof pg->dir, "/tmp/hx-pg-XXXXXX");
    if (!mkdtemp(pg->dir)) {
        snprintf(why, whylen, "mkdtemp: %s", strerror(errno));
        return -1;
    }
    /* The guard copies pg: it must know who runs the server before it is forked. */
    if (drop_root(pg, why, whylen)) {
        rmdir(pg->dir);
        return -1;
    }
    if (start_guard(pg)) {
        snprintf(why, whylen, "fork: %s", strerror(errno));
        rmdir(pg->dir);
        return -1;
    }

    snprintf(initdb, sizeof initdb, "%s/initdb", pg->bindir);
    snprintf(pg_ctl, sizeof pg_ctl, "%s/pg_ctl", pg->bindir);
    snprintf(data, sizeof data, "%s/data", pg->dir);
    snprintf(log, sizeof log, "%s/setup.log", pg->dir);
    if (run(pg,
            (char *const[]){initdb, "-D", data, "-A", "trust", "-U", PG_USER, "-E", "UTF8",
                            "--locale=C", "--no-sync", NULL},
            log)) {
        with_log(why, whylen, "initdb failed", log);
        goto fail;
    }
    /* Unix socket only, in our dir; fsync on, as durability is what the tests check. */
    snprintf(opts, sizeof opts, "-k %s -p " PG_PORT " -c listen_addresses='' -c fsync=on", pg->dir);
    snprintf(log, sizeof log, "%s/server.log", pg->dir);
    if (run(pg,
            (char *const[]){pg_ctl, "-D", data, "-l", log, "-o", opts, "-w", "-t", "60", "start",
                            NULL},
            log)) {
        with_log(why, whylen, "pg_ctl start failed", log);
        goto fail;
    }
    snprintf(pg->conninfo, sizeof pg->conninfo,
             "host=%s port=" PG_PORT " user=" PG_USER " dbname=postgres", pg->dir);
    return 0;

fail:
    hx_pg_server_stop(pg);
    return -1;
}

int hx_pg_server_exec(const hx_pg_server *pg, const char *db, const char *sql, char *why,
                      size_t whylen)
{
    char conninfo[256];
    PGconn *c;
    PGresult *r;
    int ret = 0;

    snprintf(conninfo, sizeof conninfo, "host=%s port=" PG_PORT " user=" PG_USER " dbname=%s",
             pg->dir, db);
    c = PQconnectdb(conninfo);
    if (PQstatus(c) != CONNECTION_OK) {
        snprintf(why, whylen, "connect to %s: %s", db, PQerrorMessage(c));
        PQfinish(c);
        return -1;
    }
    r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
        snprintf(why, whylen, "%.60s: %s", sql, PQerrorMessage(c));
        ret = -1;
    }
    PQclear(r);
    PQfinish(c);
    return ret;
}

int hx_pg_server_createdb(const hx_pg_server *pg, const char *name, char *conninfo, size_t len,
                          char *why, size_t whylen)
{
    char sql[128];

    if (!*name || strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_") != strlen(name)) {
        snprintf(why, whylen, "bad database name \"%s\"", name);
        return -1;
    }
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", name); /* checked above: an identifier */
    if (hx_pg_server_exec(pg, "postgres", sql, why, whylen)) return -1;
    snprintf(conninfo, len, "host=%s port=" PG_PORT " user=" PG_USER " dbname=%s", pg->dir, name);
    return 0;
}

void hx_pg_server_stop(hx_pg_server *pg)
{
    int status;

    if (pg->guard_fd >= 0) close(pg->guard_fd);
    pg->guard_fd = -1;
    if (pg->guard > 0)
        while (waitpid(pg->guard, &status, 0) < 0 && errno == EINTR)
            ;
    pg->guard = 0;
}

static hx_pg_server shared;
static bool shared_up;
static char shared_failed[512]; /* why the first start failed: not tried again */

static void stop_shared(void)
{
    hx_pg_server_stop(&shared);
}

hx_pg_server *hx_pg_server_shared(char *why, size_t whylen)
{
    char bindir[256];

    if (shared_up) return &shared;
    if (shared_failed[0]) {
        snprintf(why, whylen, "%s", shared_failed);
        return NULL;
    }
    if (hx_pg_find_bindir(bindir, sizeof bindir, why, whylen)) {
        if (hx_test_in_ci()) return NULL;
        printf("SKIP: %s\n", why);
        fflush(stdout);
        exit(HX_TEST_SKIP_CODE);
    }
    if (hx_pg_server_start(&shared, why, whylen)) {
        snprintf(shared_failed, sizeof shared_failed, "%s", why);
        return NULL;
    }
    shared_up = true;
    atexit(stop_shared);
    return &shared;
}
