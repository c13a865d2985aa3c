/*
 * What only the PostgreSQL store has to show (src/store/store_pg.c): its
 * session settings, open errors that never echo the connection string,
 * several nodes migrating and appending to one room's chain at once, two
 * nodes' first start storing one key between them, a connection the server
 * dropped, and a sweep that yields to another node's.
 * Everything else the store promises is checked on both backends by
 * test_store_sqlite.c, test_audit_sqlite.c and test_sanctions_store.c.
 *
 * Like every test on the store fixture, ctest runs this file twice; on
 * SQLite (the plain registration) each test here is skipped.
 */
#define _GNU_SOURCE /* pipe2 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/pg_internal.h"
#include "support/pg_server.h"
#include "support/store_fixture.h"

static void test_pg_schema_and_session(void **state)
{
    hx_test_store *fx = *state;
    char sql[256], text[32];

    HX_POSTGRES_ONLY(fx);
    assert_int_equal(hx_store_pg_schema_version(), hx_store_sqlite_schema_version());
    /* A database whose default would acknowledge commits before they are durable. */
    hx_test_side *db = hx_test_side_open(fx);
    snprintf(sql, sizeof sql, "ALTER DATABASE %s SET synchronous_commit = off", fx->label);
    hx_test_side_exec(db, sql);
    hx_test_side_close(db);

    hx_store *s = hx_test_store_open(fx);
    hx_test_side own = {.pg = ((hx__pg_store *)s)->conn};
    assert_string_equal(hx_test_side_text(&own, "SHOW synchronous_commit", text, sizeof text),
                        "on");
    assert_string_equal(hx_test_side_text(&own, "SHOW client_encoding", text, sizeof text), "UTF8");

    db = hx_test_side_open(fx);
    assert_string_equal(hx_test_side_text(db, "SHOW synchronous_commit", text, sizeof text), "off");
    assert_int_equal(hx_test_side_int(db, "SELECT count(*) FROM schema_migrations"),
                     hx_store_pg_schema_version());
    assert_true(hx_test_side_int(db, "SELECT min(applied_at) FROM schema_migrations") >
                1600000000000);
    assert_int_equal(hx_test_side_int(db, "SELECT count(*) FROM pg_tables WHERE schemaname ="
                                          " 'public' AND tablename IN ('events', 'revocations',"
                                          " 'consumed_tickets', 'secrets', 'chain_heads',"
                                          " 'chain_anchors', 'chain_prune', 'sanctions',"
                                          " 'mod_state', 'schema_migrations')"),
                     10);
    hx_test_side_close(db);
    s->ops->close(s);
}

static void test_pg_open_errors(void **state)
{
    hx_test_store *fx = *state;
    char err[256] = "", ci[512];
    hx_store *s;

    HX_POSTGRES_ONLY(fx);
    /* The last of a repeated keyword wins: the same server, a database that is not there. */
    snprintf(ci, sizeof ci, "%s password=s3cret-pw dbname=hx_nope", fx->conninfo);
    assert_null(hx_store_pg_open(ci, err, sizeof err));
    assert_non_null(strstr(err, "postgres store hx_nope"));
    assert_non_null(strstr(err, "does not exist"));
    assert_null(strstr(err, "s3cret")); /* a conninfo may hold a password: never echoed */

    assert_null(hx_store_pg_open("host=/nonexistent-hx dbname=x user=hearth", err, sizeof err));
    assert_non_null(strstr(err, "No such file or directory"));
    assert_null(hx_store_pg_open("nonsense=1", err, sizeof err));
    assert_non_null(strstr(err, "nonsense"));
    assert_null(hx_store_pg_open("", err, sizeof err));
    assert_string_equal(err, "postgres store: no connection string");
    assert_null(hx_store_pg_open(NULL, NULL, 0));

    /* A URI does as well as key=value pairs. */
    const char *host = strstr(fx->conninfo, "host=") + 5;
    snprintf(ci, sizeof ci, "postgresql:///%s?host=%.*s&user=hearth", fx->label,
             (int)strcspn(host, " "), host);
    if (!(s = hx_store_pg_open(ci, err, sizeof err))) fail_msg("%s: %s", ci, err);
    hx_test_append(s, 1, "x", NULL, NULL);
    s->ops->close(s);
}

/* ---- several nodes ------------------------------------------------------------------- */

#define NODES 4
#define SHARED_PER_NODE 40
#define OWN_PER_NODE 10

/* One node: wait for the start (EOF on gate), open (migrating), append. Exit status 0 ok. */
static void node(const hx_test_store *fx, int gate, int i)
{
    char err[256], own[16];
    char c;
    hx_store *s;

    while (read(gate, &c, 1) > 0)
        ;
    if (!(s = hx_store_pg_open(fx->conninfo, err, sizeof err))) {
        fprintf(stderr, "node %d: %s\n", i, err);
        _exit(1);
    }
    snprintf(own, sizeof own, "own%d", i);
    for (int k = 0; k < SHARED_PER_NODE; k++) {
        hx_event ev = {.ts_ms = k, .kind = "moderation.ban", .room = "shared", .user = own};
        hx_event mine = {.ts_ms = k, .kind = "session.join", .room = own};
        if (s->ops->append_event(s, &ev) ||
            (k % (SHARED_PER_NODE / OWN_PER_NODE) == 0 && s->ops->append_event(s, &mine))) {
            fprintf(stderr, "node %d: %s\n", i, hx_store_errmsg(s));
            _exit(1);
        }
    }
    s->ops->close(s);
    _exit(0);
}

/* Nodes migrating a new database and appending to one room's chain, all at once: one
 * schema, one unforked chain. */
static void test_pg_nodes_share_one_chain(void **state)
{
    hx_test_store *fx = *state;
    hx_chain_summary sum;
    pid_t pids[NODES];
    int gate[2], status;

    HX_POSTGRES_ONLY(fx);
    assert_int_equal(pipe2(gate, O_CLOEXEC), 0);
    for (int i = 0; i < NODES; i++) {
        pids[i] = fork();
        assert_true(pids[i] >= 0);
        if (pids[i] == 0) {
            close(gate[1]);
            node(fx, gate[0], i);
        }
    }
    close(gate[0]);
    close(gate[1]); /* go */
    for (int i = 0; i < NODES; i++) {
        assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
        if (!WIFEXITED(status) || WEXITSTATUS(status)) fail_msg("node %d failed", i);
    }

    hx_store *s = hx_test_store_open(fx);
    assert_int_equal(s->ops->verify_chain(s, NULL, NULL, NULL, &sum), 0);
    assert_int_equal(sum.records, NODES * (SHARED_PER_NODE + OWN_PER_NODE));
    assert_int_equal(sum.chains, NODES + 1);
    hx_test_side *db = hx_test_side_open(fx);
    assert_int_equal(hx_test_side_int(db, "SELECT count(*) FROM schema_migrations"),
                     hx_store_pg_schema_version());
    /* Every position taken once, in id order, and the head at the last. */
    assert_int_equal(hx_test_side_int(db, "SELECT count(DISTINCT seq) FROM events"
                                          " WHERE room = 'shared'"),
                     NODES * SHARED_PER_NODE);
    assert_int_equal(hx_test_side_int(db, "SELECT count(*) FROM events a JOIN events b"
                                          " ON a.room = b.room AND a.seq < b.seq AND a.id > b.id"
                                          " WHERE a.room = 'shared'"),
                     0);
    assert_int_equal(hx_test_side_int(db, "SELECT seq FROM chain_heads WHERE room_key = 'shared'"),
                     NODES * SHARED_PER_NODE);
    hx_test_side_close(db);
    s->ops->close(s);
}

/* Two nodes' first start on one fresh database, as threads of this process: each opens
 * (migrating), finds no key, and only then (both have looked) generates and adds its own,
 * reading the stored one back when it lost, as hearthd's store_key does. */
#define FIRST_START_ROUNDS 4
#define FIRST_START_KEY 32

typedef struct first_start {
    const char *conninfo;
    pthread_barrier_t *opened; /* both have looked for the key */
    uint8_t mine, key[FIRST_START_KEY];
    int open_ok, looked, added; /* looked: HX_STORE_* of the first read; added: of the add */
    char err[256];
} first_start;

static void *first_start_main(void *arg)
{
    first_start *n = arg;
    hx_store *s = hx_store_pg_open(n->conninfo, n->err, sizeof n->err);
    int rc = HX_STORE_ERROR;

    n->open_ok = s != NULL;
    if (s) n->looked = s->ops->get_secret(s, "ticket_key", n->key, sizeof n->key);
    pthread_barrier_wait(n->opened); /* always: the other thread waits here too */
    if (s && n->looked == HX_STORE_NOTFOUND) {
        memset(n->key, n->mine, sizeof n->key);
        rc = n->added = s->ops->add_secret(s, "ticket_key", n->key, sizeof n->key);
        if (rc == HX_STORE_EXISTS) rc = s->ops->get_secret(s, "ticket_key", n->key, sizeof n->key);
    }
    if (s && rc != HX_STORE_OK) snprintf(n->err, sizeof n->err, "%s", hx_store_errmsg(s));
    if (s) s->ops->close(s);
    return NULL;
}

/* Both opens succeed (the migrations serialize on their lock: an unserialized concurrent
 * CREATE TABLE fails on pg_type's unique index), exactly one add wins, and both nodes end
 * with the stored key. Several fresh databases: the opens' race is a matter of timing. */
static void test_pg_first_start_of_two_nodes(void **state)
{
    hx_test_store *fx = *state;
    char why[512], name[64], conninfo[256];
    uint8_t stored[FIRST_START_KEY];

    HX_POSTGRES_ONLY(fx);
    hx_pg_server *pg = hx_pg_server_shared(why, sizeof why);
    assert_non_null(pg);
    for (int round = 0; round < FIRST_START_ROUNDS; round++) {
        pthread_barrier_t opened;
        pthread_t th[2];
        first_start n[2] = {{.mine = 0xa1}, {.mine = 0xb2}};

        snprintf(conninfo, sizeof conninfo, "%s", fx->conninfo);
        if (round > 0) {
            snprintf(name, sizeof name, "%.40s_first_%d", fx->label, round);
            if (hx_pg_server_createdb(pg, name, conninfo, sizeof conninfo, why, sizeof why))
                fail_msg("%s", why);
        }
        assert_int_equal(pthread_barrier_init(&opened, NULL, 2), 0);
        for (int i = 0; i < 2; i++) {
            n[i].conninfo = conninfo;
            n[i].opened = &opened;
            assert_int_equal(pthread_create(&th[i], NULL, first_start_main, &n[i]), 0);
        }
        for (int i = 0; i < 2; i++)
            assert_int_equal(pthread_join(th[i], NULL), 0);
        pthread_barrier_destroy(&opened);
        for (int i = 0; i < 2; i++) {
            if (!n[i].open_ok || n[i].err[0]) fail_msg("round %d node %d: %s", round, i, n[i].err);
            assert_int_equal(n[i].looked, HX_STORE_NOTFOUND);
        }
        /* One add won; the loser kept no key of its own. */
        assert_true((n[0].added == HX_STORE_OK && n[1].added == HX_STORE_EXISTS) ||
                    (n[0].added == HX_STORE_EXISTS && n[1].added == HX_STORE_OK));
        assert_memory_equal(n[0].key, n[1].key, FIRST_START_KEY);
        assert_int_equal(n[0].key[0], n[0].added == HX_STORE_OK ? n[0].mine : n[1].mine);

        hx_store *s = hx_store_pg_open(conninfo, why, sizeof why);
        if (!s) fail_msg("%s", why);
        assert_int_equal(s->ops->get_secret(s, "ticket_key", stored, sizeof stored), HX_STORE_OK);
        assert_memory_equal(stored, n[0].key, FIRST_START_KEY);
        s->ops->close(s);
    }
}

static int count_event(void *arg, const hx_event *ev)
{
    (void)ev;
    (*(int *)arg)++;
    return 0;
}

/* End the store's session from the server's side; wait_gone: until its socket hangs up. */
static void drop_store_session(hx_test_side *db, hx_store *s, bool wait_gone)
{
    struct pollfd p = {.fd = PQsocket(((hx__pg_store *)s)->conn), .events = POLLIN};

    assert_int_equal(hx_test_side_int(db, "SELECT count(pg_terminate_backend(pid))"
                                          " FROM pg_stat_activity WHERE datname ="
                                          " current_database() AND pid <> pg_backend_pid()"),
                     1);
    while (wait_gone && poll(&p, 1, 5000) == 1 && !(p.revents & POLLHUP))
        usleep(1000); /* readable with the FATAL before the hang-up */
}

/* The server drops the store's connection between two ops: the next op reconnects. */
static void test_pg_reconnects_between_ops(void **state)
{
    hx_test_store *fx = *state;
    int n = 0;

    HX_POSTGRES_ONLY(fx);
    hx_store *s = hx_test_store_open(fx);
    hx_test_side *db = hx_test_side_open(fx);
    hx_test_append(s, 1, "session.join", "r", "u");
    drop_store_session(db, s, true); /* seen before anything is sent */
    hx_test_append(s, 2, "session.leave", "r", "u");
    drop_store_session(db, s, false); /* maybe only when BEGIN fails */
    hx_test_append(s, 3, "session.join", "r", "u");
    drop_store_session(db, s, true);
    assert_int_equal(s->ops->query_events(s, NULL, count_event, &n), HX_STORE_OK);
    assert_int_equal(n, 3);
    assert_int_equal(s->ops->verify_chain(s, "r", NULL, NULL, NULL), 0);
    hx_test_side_close(db);
    s->ops->close(s);
}

/* Another node sweeping: this one does nothing rather than wait or prune twice. */
static void test_pg_sweep_yields_to_another_node(void **state)
{
    hx_test_store *fx = *state;
    const hx_retention r = {.session_ms = HX_DAY_MS};

    HX_POSTGRES_ONLY(fx);
    hx_store *s = hx_test_store_open(fx);
    hx_test_append(s, 1, "session.join", "r", "u");
    hx_test_side *db = hx_test_side_open(fx);
    hx_test_side_exec(db, "SELECT pg_advisory_lock(" HX__PG_LOCK_SWEEP ")");
    assert_int_equal(s->ops->sweep(s, 2 * HX_DAY_MS, &r), 0);
    assert_int_equal(hx_test_side_int(db, "SELECT count(*) FROM events WHERE redacted = 0"), 1);
    hx_test_side_exec(db, "SELECT pg_advisory_unlock(" HX__PG_LOCK_SWEEP ")");
    assert_int_equal(s->ops->sweep(s, 2 * HX_DAY_MS, &r), 1);
    assert_int_equal(hx_test_side_int(db, "SELECT count(*) FROM events"), 0); /* pruned */
    hx_test_side_close(db);
    s->ops->close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        HX_STORE_TEST(test_pg_schema_and_session),
        HX_STORE_TEST(test_pg_open_errors),
        HX_STORE_TEST(test_pg_nodes_share_one_chain),
        HX_STORE_TEST(test_pg_first_start_of_two_nodes),
        HX_STORE_TEST(test_pg_reconnects_between_ops),
        HX_STORE_TEST(test_pg_sweep_yields_to_another_node),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
