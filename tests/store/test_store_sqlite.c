/*
 * Unit tests for the store ops (src/store/store_sqlite.c, and store_pg.c:
 * ctest runs this file a second time with HX_TEST_STORE=postgres).
 *
 * Each test gets a fresh store (tests/support/store_fixture.h): a mkdtemp
 * directory holding one SQLite file, or a fresh PostgreSQL database, so
 * tests are independent and can reopen "after a restart". What the store
 * promises about its data (schema versions, what a row holds) is checked
 * through a second, plain connection, the way hearthctl or an operator would
 * see it. Tests about SQLite's file itself (WAL, pragmas, plans) are
 * skipped on PostgreSQL; test_store_pg.c has its own.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "moderation/moderation.h"
#include "store/sqlite_internal.h"
#include "store/store.h"
#include "support/store_fixture.h"

/* ---- collecting callbacks --------------------------------------------- */

#define MAX_SEEN 1100

typedef struct seen_events {
    size_t n;
    int64_t id[MAX_SEEN];
    char kind[MAX_SEEN][32];
    int stop_after; /* 0 = never */
} seen_events;

static int collect_event(void *arg, const hx_event *ev)
{
    seen_events *se = arg;
    assert_true(se->n < MAX_SEEN);
    se->id[se->n] = ev->id;
    snprintf(se->kind[se->n], sizeof se->kind[0], "%s", ev->kind);
    se->n++;
    return se->stop_after && (int)se->n == se->stop_after ? 7 : 0;
}

static size_t query(hx_store *s, const hx_event_filter *f, seen_events *se)
{
    memset(se, 0, sizeof *se);
    assert_int_equal(s->ops->query_events(s, f, collect_event, se), HX_STORE_OK);
    for (size_t i = 1; i < se->n; i++)
        assert_true(se->id[i - 1] < se->id[i]); /* id order */
    return se->n;
}

typedef struct seen_revs {
    size_t n;
    char value[16][32];
    char reason[16][32];
    int64_t expires[16];
    int64_t not_before[16];
} seen_revs;

static int collect_rev(void *arg, const hx_revocation *rv)
{
    seen_revs *sr = arg;
    assert_true(sr->n < 16);
    snprintf(sr->value[sr->n], sizeof sr->value[0], "%d:%s", (int)rv->kind, rv->value);
    snprintf(sr->reason[sr->n], sizeof sr->reason[0], "%s", rv->reason ? rv->reason : "(null)");
    sr->expires[sr->n] = rv->expires_ms;
    sr->not_before[sr->n] = rv->not_before;
    sr->n++;
    return 0;
}

static size_t list_revs(hx_store *s, int64_t now, seen_revs *sr)
{
    memset(sr, 0, sizeof *sr);
    assert_int_equal(s->ops->list_revocations(s, now, collect_rev, sr), HX_STORE_OK);
    return sr->n;
}

/* ---- open, reopen, migrations ----------------------------------------- */

static void test_open_creates_wal_db(void **state)
{
    hx_test_store *fx = *state;
    struct stat st;
    HX_SQLITE_ONLY(fx);
    hx_store *s = hx_test_store_open(fx);

    assert_int_equal(stat(fx->path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600); /* holds the ticket MAC key */

    /* Per-connection settings, on the store's own handle. */
    hx_test_side own = {.lite = ((hx__sqlite_store *)s)->db};
    assert_int_equal(hx_test_side_int(&own, "PRAGMA synchronous"), 2); /* FULL */
    assert_int_equal(hx_test_side_int(&own, "PRAGMA foreign_keys"), 1);

    hx_test_side *db = hx_test_side_open(fx);
    sqlite3_stmt *q = NULL;
    assert_int_equal(sqlite3_prepare_v2(db->lite, "PRAGMA journal_mode", -1, &q, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(q, 0), "wal");
    sqlite3_finalize(q);

    assert_true(hx_store_sqlite_schema_version() >= 1);
    assert_int_equal(hx_test_side_int(db, "SELECT count(*) FROM schema_migrations"),
                     hx_store_sqlite_schema_version());
    assert_int_equal(hx_test_side_int(db, "SELECT max(version) FROM schema_migrations"),
                     hx_store_sqlite_schema_version());
    assert_true(hx_test_side_int(db, "SELECT min(applied_at) FROM schema_migrations") >
                1600000000000);
    assert_int_equal(hx_test_side_int(db,
                                      "SELECT count(*) FROM sqlite_master WHERE name IN"
                                      " ('events', 'revocations', 'consumed_tickets', 'secrets')"),
                     4);
    hx_test_side_close(db);
    s->ops->close(s);
}

static void test_reopen_keeps_data_without_remigrating(void **state)
{
    hx_test_store *fx = *state;
    hx_store *s = hx_test_store_open(fx);
    hx_test_append(s, 1000, "session.join", "r1", "u1");
    s->ops->close(s);

    hx_test_side *db = hx_test_side_open(fx);
    /* Backdate the record so a second application would be visible. */
    hx_test_side_exec(db, "UPDATE schema_migrations SET applied_at = 42");
    hx_test_side_close(db);

    s = hx_test_store_open(fx);
    seen_events se;
    assert_int_equal(query(s, NULL, &se), 1);
    assert_string_equal(se.kind[0], "session.join");
    hx_test_append(s, 2000, "session.leave", "r1", "u1");
    assert_int_equal(query(s, NULL, &se), 2);
    s->ops->close(s);

    db = hx_test_side_open(fx);
    assert_int_equal(hx_test_side_int(db, "SELECT count(*) FROM schema_migrations"),
                     hx_test_store_schema_version(fx));
    assert_int_equal(
        hx_test_side_int(db, "SELECT count(*) FROM schema_migrations WHERE applied_at != 42"), 0);
    hx_test_side_close(db);
}

static void test_future_schema_refused(void **state)
{
    hx_test_store *fx = *state;
    char err[256] = "", want[64];
    hx_store *s = hx_test_store_open(fx);
    s->ops->close(s);

    hx_test_side *db = hx_test_side_open(fx);
    char sql[128];
    snprintf(sql, sizeof sql, "INSERT INTO schema_migrations VALUES (%d, 0)",
             hx_test_store_schema_version(fx) + 1);
    hx_test_side_exec(db, sql);

    assert_null(hx_test_store_try_open(fx, err, sizeof err));
    snprintf(want, sizeof want, "schema version %d is newer", hx_test_store_schema_version(fx) + 1);
    assert_non_null(strstr(err, want));
    assert_non_null(strstr(err, fx->label));
    /* Refusing leaves the data as it was. */
    assert_int_equal(hx_test_side_int(db, "SELECT count(*) FROM schema_migrations"),
                     hx_test_store_schema_version(fx) + 1);
    hx_test_side_close(db);
}

static void test_not_a_database_refused(void **state)
{
    hx_test_store *fx = *state;
    char err[256] = "";
    HX_SQLITE_ONLY(fx);
    FILE *f = fopen(fx->path, "w");
    assert_non_null(f);
    for (int i = 0; i < 512; i++)
        fputs("this is not an sqlite file. ", f);
    fclose(f);
    assert_null(hx_store_sqlite_open(fx->path, err, sizeof err));
    assert_non_null(strstr(err, "not a database"));
}

static void test_unwritable_path_fails(void **state)
{
    hx_test_store *fx = *state;
    char err[256] = "", path[192];

    HX_SQLITE_ONLY(fx);
    snprintf(path, sizeof path, "%s/missing/sub/hearth.db", fx->dir);
    assert_null(hx_store_sqlite_open(path, err, sizeof err));
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, "No such file or directory"));

    /* The path is a directory. */
    err[0] = '\0';
    assert_null(hx_store_sqlite_open(fx->dir, err, sizeof err));
    assert_true(strlen(err) > strlen(fx->dir));

    /* Callers that do not want the message may pass none. */
    assert_null(hx_store_sqlite_open(path, NULL, 0));
    assert_null(hx_store_sqlite_open(NULL, err, sizeof err));
    assert_null(hx_store_sqlite_open(path, err, 1));
    assert_string_equal(err, "");
}

/* ---- events ----------------------------------------------------------- */

static void test_events_filters(void **state)
{
    hx_test_store *fx = *state;
    hx_store *s = hx_test_store_open(fx);
    seen_events se;

    hx_test_append(s, 100, "session.join", "r1", "alice");
    hx_test_append(s, 200, "session.join", "r2", "bob");
    hx_test_append(s, 300, "auth.failure", NULL, "mallory");
    hx_test_append(s, 400, "session.leave", "r1", "alice");
    hx_test_append(s, 500, "ticket.replay", "r2", "alice");

    assert_int_equal(query(s, NULL, &se), 5);
    assert_int_equal(query(s, &(hx_event_filter){0}, &se), 5);
    assert_int_equal(query(s, &(hx_event_filter){.kind = "session.join"}, &se), 2);
    /* kind matches exactly, not as a prefix */
    assert_int_equal(query(s, &(hx_event_filter){.kind = "session"}, &se), 0);
    assert_int_equal(query(s, &(hx_event_filter){.room = "r1"}, &se), 2);
    assert_string_equal(se.kind[1], "session.leave");
    assert_int_equal(query(s, &(hx_event_filter){.user = "alice"}, &se), 3);
    assert_int_equal(query(s, &(hx_event_filter){.since_ms = 300}, &se), 3);
    assert_string_equal(se.kind[0], "auth.failure");
    assert_int_equal(query(s, &(hx_event_filter){.user = "alice", .room = "r2"}, &se), 1);
    assert_string_equal(se.kind[0], "ticket.replay");
    assert_int_equal(
        query(s,
              &(hx_event_filter){
                  .kind = "session.join", .room = "r1", .user = "alice", .since_ms = 100},
              &se),
        1);
    assert_int_equal(query(s, &(hx_event_filter){.kind = "session.join", .since_ms = 101}, &se), 1);
    assert_int_equal(query(s, &(hx_event_filter){.room = "nowhere"}, &se), 0);

    s->ops->close(s);
}

typedef struct one_event {
    int n;
    int64_t id, ts;
    char *f[7]; /* kind room user device sid code detail, strdup'd or NULL */
} one_event;

static int keep_one(void *arg, const hx_event *ev)
{
    one_event *o = arg;
    const char *in[7] = {ev->kind, ev->room, ev->user, ev->device, ev->sid, ev->code, ev->detail};
    o->n++;
    o->id = ev->id;
    o->ts = ev->ts_ms;
    for (int i = 0; i < 7; i++)
        o->f[i] = in[i] ? strdup(in[i]) : NULL;
    return 0;
}

static void test_events_strings_round_trip(void **state)
{
    hx_test_store *fx = *state;
    hx_store *s = hx_test_store_open(fx);
    const char *v[7] = {
        "moderation.kick",
        "room 'O''Brien'; DROP TABLE events;--",
        "\xc3\xa9l\xc3\xa8ve \xe6\x97\xa5\xe6\x9c\xac \xd8\xb9\xd8\xb1\xd8\xa8\xd9\x8a "
        "\xf0\x9f\x8e\xa4",
        "dev\\ice \"quoted\" %s %n",
        NULL,
        "",
        "{\"reason\":\"said \\\"hi\\\"\",\"emoji\":\"\xf0\x9f\x94\xa5\",\"q\":\"'\"}",
    };
    hx_event ev = {.ts_ms = -5,
                   .kind = v[0],
                   .room = v[1],
                   .user = v[2],
                   .device = v[3],
                   .sid = v[4],
                   .code = v[5],
                   .detail = v[6]};
    one_event o = {0};

    assert_int_equal(s->ops->append_event(s, &ev), HX_STORE_OK);
    assert_int_equal(s->ops->query_events(s, &(hx_event_filter){.room = v[1]}, keep_one, &o),
                     HX_STORE_OK);
    assert_int_equal(o.n, 1);
    assert_true(o.id > 0);
    assert_int_equal(o.ts, -5);
    for (int i = 0; i < 7; i++) {
        if (v[i])
            assert_string_equal(o.f[i], v[i]);
        else
            assert_null(o.f[i]);
        free(o.f[i]);
    }
    /* Filtering on a unicode user matches byte-exactly. */
    seen_events se;
    assert_int_equal(query(s, &(hx_event_filter){.user = v[2]}, &se), 1);
    /* The table survived the would-be injection. */
    assert_int_equal(query(s, NULL, &se), 1);
    s->ops->close(s);
}

static void test_events_limit_and_paging(void **state)
{
    hx_test_store *fx = *state;
    hx_store *s = hx_test_store_open(fx);
    static seen_events se, page; /* large: keep off the stack */

    /* 1050 rows through a side connection in one transaction: 1050 durable
     * appends would be 1050 fsyncs. (Both SQLite and PostgreSQL take this SQL.) */
    hx_test_side *db = hx_test_side_open(fx);
    hx_test_side_exec(
        db, "BEGIN;"
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1050)"
            " INSERT INTO events(ts_ms, kind, room) SELECT i, 'bulk',"
            "  CASE i % 3 WHEN 0 THEN 'a' ELSE 'b' END FROM n;"
            "COMMIT");
    hx_test_side_close(db);

    assert_int_equal(query(s, NULL, &se), 100);                               /* default */
    assert_int_equal(query(s, &(hx_event_filter){.limit = 5000}, &se), 1000); /* cap */
    assert_int_equal(query(s, &(hx_event_filter){.limit = 1}, &se), 1);

    /* Page through room 'a' (350 rows) seven at a time with after_id. */
    size_t total = 0;
    int64_t after = 0;
    for (;;) {
        size_t n = query(s, &(hx_event_filter){.room = "a", .after_id = after, .limit = 7}, &page);
        if (n == 0) break;
        assert_true(n <= 7);
        assert_true(page.id[0] > after);
        for (size_t i = 0; i < n; i++)
            assert_int_equal(page.id[i] % 3, 0); /* ids follow i: room 'a' is every third */
        after = page.id[n - 1];
        total += n;
    }
    assert_int_equal(total, 350);
    assert_int_equal(query(s, &(hx_event_filter){.after_id = 1040}, &se), 10);
    assert_int_equal(se.id[0], 1041);
    assert_int_equal(query(s, &(hx_event_filter){.since_ms = 1001, .limit = 1000}, &se), 50);
    s->ops->close(s);
}

static int reenter(void *arg, const hx_event *ev)
{
    hx_store *s = arg;
    seen_events *se = calloc(1, sizeof *se);
    (void)ev;
    /* The same variant is mid-walk: refused. Another variant is fine. */
    assert_int_equal(s->ops->query_events(s, NULL, collect_event, se), HX_STORE_ERROR);
    assert_non_null(strstr(hx_store_errmsg(s), "own callback"));
    assert_int_equal(s->ops->query_events(s, &(hx_event_filter){.kind = "x"}, collect_event, se),
                     HX_STORE_OK);
    free(se);
    return 0;
}

static void test_events_callback_stop_and_reentry(void **state)
{
    hx_test_store *fx = *state;
    hx_store *s = hx_test_store_open(fx);
    seen_events se = {.stop_after = 2};

    for (int i = 0; i < 5; i++)
        hx_test_append(s, i, "x", NULL, NULL);
    assert_int_equal(s->ops->query_events(s, NULL, collect_event, &se), 7); /* cb's value */
    assert_int_equal(se.n, 2);
    assert_int_equal(query(s, NULL, &se), 5); /* statement was reset */
    assert_int_equal(s->ops->query_events(s, &(hx_event_filter){.limit = 1}, reenter, s),
                     HX_STORE_OK);
    assert_int_equal(s->ops->query_events(s, NULL, NULL, NULL), HX_STORE_ERROR);
    s->ops->close(s);
}

static void test_events_rejects_bad_input(void **state)
{
    hx_test_store *fx = *state;
    hx_store *s = hx_test_store_open(fx);
    seen_events se;

    assert_int_equal(s->ops->append_event(s, &(hx_event){.ts_ms = 1}), HX_STORE_ERROR);
    assert_non_null(strstr(hx_store_errmsg(s), "kind"));
    assert_int_equal(s->ops->append_event(s, NULL), HX_STORE_ERROR);

    size_t big = (1u << 20) + 1;
    char *detail = malloc(big + 1);
    assert_non_null(detail);
    memset(detail, 'x', big);
    detail[big] = '\0';
    hx_event ev = {.ts_ms = 1, .kind = "k", .detail = detail};
    assert_int_equal(s->ops->append_event(s, &ev), HX_STORE_ERROR);
    assert_non_null(strstr(hx_store_errmsg(s), "too big"));
    free(detail);

    hx_test_append(s, 2, "k", NULL, NULL); /* still usable */
    assert_int_equal(query(s, NULL, &se), 1);
    s->ops->close(s);
}

/* The variants exist to use the indexes: check that SQLite agrees. */
static void test_events_query_plans_use_indexes(void **state)
{
    hx_test_store *fx = *state;
    HX_SQLITE_ONLY(fx);
    hx_store *s = hx_test_store_open(fx);
    sqlite3 *db = ((hx__sqlite_store *)s)->db;
    char sql[600], explain[640];

    for (unsigned m = 0; m < HX__SQ_EVQ_VARIANTS; m++) {
        sqlite3_stmt *st = NULL;
        char plan[512] = "";
        hx__sqlite_evq_sql(m, sql, sizeof sql);
        snprintf(explain, sizeof explain, "EXPLAIN QUERY PLAN %s", sql);
        assert_int_equal(sqlite3_prepare_v2(db, explain, -1, &st, NULL), SQLITE_OK);
        while (sqlite3_step(st) == SQLITE_ROW)
            strncat(plan, (const char *)sqlite3_column_text(st, 3), sizeof plan - strlen(plan) - 1);
        sqlite3_finalize(st);
        if (strstr(plan, "TEMP B-TREE") || (m & 7u && !strstr(plan, "INDEX events_")) ||
            (!(m & 7u) && !strstr(plan, "INTEGER PRIMARY KEY")))
            fail_msg("variant %u: %s", m, plan);
    }
    s->ops->close(s);
}

/* ---- revocations ------------------------------------------------------ */

static void test_revocations_upsert(void **state)
{
    hx_test_store *fx = *state;
    hx_store *s = hx_test_store_open(fx);
    seen_revs sr;

    hx_revocation rv = {.kind = HX_REVOKE_JTI,
                        .value = "j1",
                        .created_ms = 10,
                        .expires_ms = 5000,
                        .reason = "leaked"};
    assert_int_equal(s->ops->put_revocation(s, &rv), HX_STORE_OK);
    rv.reason = "replaced";
    rv.expires_ms = 0;
    assert_int_equal(s->ops->put_revocation(s, &rv), HX_STORE_OK);
    /* Same value, other kind: a separate record. */
    assert_int_equal(
        s->ops->put_revocation(
            s, &(hx_revocation){.kind = HX_REVOKE_SID, .value = "j1", .created_ms = 1}),
        HX_STORE_OK);
    hx_revocation user = {
        .kind = HX_REVOKE_USER, .value = "alice", .not_before = 1600000000, .created_ms = 11};
    assert_int_equal(s->ops->put_revocation(s, &user), HX_STORE_OK);
    user.not_before = 1700000000; /* a later logout-everywhere moves it forward */
    assert_int_equal(s->ops->put_revocation(s, &user), HX_STORE_OK);

    assert_int_equal(list_revs(s, 100, &sr), 3);
    assert_string_equal(sr.value[0], "1:j1");
    assert_string_equal(sr.reason[0], "replaced");
    assert_int_equal(sr.expires[0], 0);
    assert_string_equal(sr.value[1], "2:j1");
    assert_string_equal(sr.reason[1], "(null)");
    assert_string_equal(sr.value[2], "3:alice");
    assert_int_equal(sr.not_before[2], 1700000000);

    assert_int_equal(s->ops->put_revocation(s, &(hx_revocation){.kind = 9, .value = "x"}),
                     HX_STORE_ERROR);
    assert_int_equal(s->ops->put_revocation(s, &(hx_revocation){.kind = HX_REVOKE_JTI}),
                     HX_STORE_ERROR);
    s->ops->close(s);

    /* not_before survives a restart. */
    s = hx_test_store_open(fx);
    hx_test_side *db = hx_test_side_open(fx);
    assert_int_equal(hx_test_side_int(db, "SELECT not_before FROM revocations WHERE kind = 3"),
                     1700000000);
    hx_test_side_close(db);
    s->ops->close(s);
}

static int stop_first(void *arg, const hx_revocation *rv)
{
    (*(int *)arg)++;
    (void)rv;
    return 3;
}

static void test_revocations_list_skips_expired(void **state)
{
    hx_test_store *fx = *state;
    hx_store *s = hx_test_store_open(fx);
    seen_revs sr;
    const struct {
        const char *v;
        int64_t exp;
    } rows[] = {{"never", 0}, {"future", 2001}, {"now", 2000}, {"past", 1999}};

    for (size_t i = 0; i < 4; i++)
        assert_int_equal(s->ops->put_revocation(s, &(hx_revocation){.kind = HX_REVOKE_JTI,
                                                                    .value = rows[i].v,
                                                                    .expires_ms = rows[i].exp}),
                         HX_STORE_OK);
    /* Expired at now means expires_ms <= now. */
    assert_int_equal(list_revs(s, 2000, &sr), 2);
    assert_string_equal(sr.value[0], "1:future");
    assert_string_equal(sr.value[1], "1:never");
    assert_int_equal(list_revs(s, 0, &sr), 4);

    int calls = 0;
    assert_int_equal(s->ops->list_revocations(s, 0, stop_first, &calls), 3);
    assert_int_equal(calls, 1);
    assert_int_equal(list_revs(s, 0, &sr), 4);
    s->ops->close(s);
}

/* ---- tickets ---------------------------------------------------------- */

static void test_ticket_single_use_across_restarts(void **state)
{
    hx_test_store *fx = *state;
    hx_store *s = hx_test_store_open(fx);

    assert_int_equal(s->ops->consume_ticket(s, "t-1", 9000), HX_STORE_OK);
    assert_int_equal(s->ops->consume_ticket(s, "t-1", 9000), HX_STORE_EXISTS);
    assert_int_equal(s->ops->consume_ticket(s, "t-2", 0), HX_STORE_OK);
    assert_int_equal(s->ops->consume_ticket(s, NULL, 0), HX_STORE_ERROR);
    s->ops->close(s);

    s = hx_test_store_open(fx);
    assert_int_equal(s->ops->consume_ticket(s, "t-1", 9000), HX_STORE_EXISTS);
    assert_int_equal(s->ops->consume_ticket(s, "t-2", 0), HX_STORE_EXISTS);

    /* Two handles on one file (hearthd and hearthctl) share the guarantee. */
    hx_store *other = hx_test_store_open(fx);
    assert_int_equal(other->ops->consume_ticket(other, "t-3", 9000), HX_STORE_OK);
    assert_int_equal(s->ops->consume_ticket(s, "t-3", 9000), HX_STORE_EXISTS);
    other->ops->close(other);
    s->ops->close(s);
}

/* Relaxed writes (store.h: ticket.issue, consume_ticket) are written at once and leave the
 * connection synchronous=FULL for every other write, whether they succeed or not. */
static void test_relaxed_writes(void **state)
{
    hx_test_store *fx = *state;
    HX_SQLITE_ONLY(fx);
    hx_store *s = hx_test_store_open(fx);
    hx_test_side own = {.lite = ((hx__sqlite_store *)s)->db};
    hx_event ev = {.ts_ms = 1000, .kind = "ticket.issue", .room = "r", .relaxed = true};
    assert_int_equal(s->ops->append_event(s, &ev), HX_STORE_OK);
    assert_int_equal(hx_test_side_int(&own, "PRAGMA synchronous"), 2);
    assert_int_equal(s->ops->consume_ticket(s, "t-r", 9000), HX_STORE_OK);
    assert_int_equal(hx_test_side_int(&own, "PRAGMA synchronous"), 2);
    assert_int_equal(s->ops->consume_ticket(s, "t-r", 9000), HX_STORE_EXISTS);
    assert_int_equal(hx_test_side_int(&own, "PRAGMA synchronous"), 2);
    hx_event sync = {.ts_ms = 1001, .kind = "session.join", .room = "r"};
    assert_int_equal(s->ops->append_event(s, &sync), HX_STORE_OK);

    hx_test_side *db = hx_test_side_open(fx); /* another connection sees all of it */
    assert_int_equal(hx_test_side_int(db, "SELECT count(*) FROM events WHERE room = 'r'"), 2);
    assert_int_equal(hx_test_side_int(db, "SELECT count(*) FROM consumed_tickets"), 1);
    hx_test_side_close(db);
    s->ops->close(s);
}

/* ---- secrets ---------------------------------------------------------- */

static void test_secrets(void **state)
{
    hx_test_store *fx = *state;
    hx_store *s = hx_test_store_open(fx);
    uint8_t key[32], key2[32], out[32];

    for (size_t i = 0; i < sizeof key; i++) {
        key[i] = (uint8_t)(i * 37); /* includes 0x00 bytes */
        key2[i] = (uint8_t)(255 - i);
    }
    assert_int_equal(s->ops->get_secret(s, "ticket_mac", out, sizeof out), HX_STORE_NOTFOUND);
    assert_int_equal(s->ops->put_secret(s, "ticket_mac", key, sizeof key), HX_STORE_OK);
    assert_int_equal(s->ops->get_secret(s, "ticket_mac", out, sizeof out), HX_STORE_OK);
    assert_memory_equal(out, key, sizeof key);
    assert_int_equal(s->ops->put_secret(s, "ticket_mac", key2, sizeof key2), HX_STORE_OK);
    s->ops->close(s);

    s = hx_test_store_open(fx);
    assert_int_equal(s->ops->get_secret(s, "ticket_mac", out, sizeof out), HX_STORE_OK);
    assert_memory_equal(out, key2, sizeof key2);
    assert_int_equal(s->ops->get_secret(s, "resume", out, sizeof out), HX_STORE_NOTFOUND);
    /* A size mismatch is an error, never a truncated key. */
    assert_int_equal(s->ops->get_secret(s, "ticket_mac", out, 16), HX_STORE_ERROR);
    assert_non_null(strstr(hx_store_errmsg(s), "32 bytes"));
    /* Empty is a value, not NULL. */
    assert_int_equal(s->ops->put_secret(s, "empty", NULL, 0), HX_STORE_OK);
    assert_int_equal(s->ops->get_secret(s, "empty", out, 0), HX_STORE_OK);
    assert_int_equal(s->ops->put_secret(s, NULL, key, sizeof key), HX_STORE_ERROR);
    s->ops->close(s);
}

/* Insert only: the first value stays, whoever comes second learns it lost and reads it. */
static void test_add_secret_keeps_the_first(void **state)
{
    hx_test_store *fx = *state;
    hx_store *s = hx_test_store_open(fx);
    uint8_t first[32], second[32], out[32];

    for (size_t i = 0; i < sizeof first; i++) {
        first[i] = (uint8_t)(i * 37);
        second[i] = (uint8_t)(255 - i);
    }
    assert_int_equal(s->ops->add_secret(s, "ticket_key", first, sizeof first), HX_STORE_OK);
    assert_int_equal(s->ops->add_secret(s, "ticket_key", second, sizeof second), HX_STORE_EXISTS);
    assert_non_null(strstr(hx_store_errmsg(s), "ticket_key"));
    assert_int_equal(s->ops->get_secret(s, "ticket_key", out, sizeof out), HX_STORE_OK);
    assert_memory_equal(out, first, sizeof first);
    s->ops->close(s);

    /* Another connection (another node, or after a restart) neither replaces it. */
    s = hx_test_store_open(fx);
    assert_int_equal(s->ops->add_secret(s, "ticket_key", second, sizeof second), HX_STORE_EXISTS);
    assert_int_equal(s->ops->get_secret(s, "ticket_key", out, sizeof out), HX_STORE_OK);
    assert_memory_equal(out, first, sizeof first);
    /* A different size changes nothing either: it is the same name. */
    assert_int_equal(s->ops->add_secret(s, "ticket_key", second, 16), HX_STORE_EXISTS);
    assert_int_equal(s->ops->get_secret(s, "ticket_key", out, sizeof out), HX_STORE_OK);
    assert_memory_equal(out, first, sizeof first);
    /* Other names are their own; put_secret still replaces (key rotation). */
    assert_int_equal(s->ops->add_secret(s, "resume_key", second, sizeof second), HX_STORE_OK);
    assert_int_equal(s->ops->get_secret(s, "resume_key", out, sizeof out), HX_STORE_OK);
    assert_memory_equal(out, second, sizeof second);
    assert_int_equal(s->ops->put_secret(s, "ticket_key", second, sizeof second), HX_STORE_OK);
    assert_int_equal(s->ops->get_secret(s, "ticket_key", out, sizeof out), HX_STORE_OK);
    assert_memory_equal(out, second, sizeof second);
    /* Empty is a value; NULL name or buffer a caller mistake. */
    assert_int_equal(s->ops->add_secret(s, "empty", NULL, 0), HX_STORE_OK);
    assert_int_equal(s->ops->add_secret(s, "empty", first, sizeof first), HX_STORE_EXISTS);
    assert_int_equal(s->ops->get_secret(s, "empty", out, 0), HX_STORE_OK);
    assert_int_equal(s->ops->add_secret(s, NULL, first, sizeof first), HX_STORE_ERROR);
    assert_non_null(strstr(hx_store_errmsg(s), "add_secret"));
    assert_int_equal(s->ops->add_secret(s, "other", NULL, 8), HX_STORE_ERROR);
    assert_int_equal(s->ops->get_secret(s, "other", out, 8), HX_STORE_NOTFOUND);
    s->ops->close(s);
}

/* ---- sweep ------------------------------------------------------------ */

static void test_sweep_removes_exactly_the_expired(void **state)
{
    hx_test_store *fx = *state;
    hx_store *s = hx_test_store_open(fx);
    const int64_t now = 1000000, day = 86400000;
    seen_events se;
    seen_revs sr;

    /* Tickets: 1 expired, 1 live, 1 that never expires, 1 expiring exactly now. */
    assert_int_equal(s->ops->consume_ticket(s, "old", now - 1), HX_STORE_OK);
    assert_int_equal(s->ops->consume_ticket(s, "live", now + 1), HX_STORE_OK);
    assert_int_equal(s->ops->consume_ticket(s, "forever", 0), HX_STORE_OK);
    assert_int_equal(s->ops->consume_ticket(s, "edge", now), HX_STORE_OK);
    /* Revocations: 1 expired. */
    const char *rv[] = {"old", "live", "forever"};
    const int64_t rexp[] = {now - 1, now + 1, 0};
    for (int i = 0; i < 3; i++)
        assert_int_equal(
            s->ops->put_revocation(
                s, &(hx_revocation){.kind = HX_REVOKE_SID, .value = rv[i], .expires_ms = rexp[i]}),
            HX_STORE_OK);
    /* Events with a 30 day session retention and moderation kept: cutoff =
     * now - 30 days. Expired rows are redacted; the chain's leading run of
     * redacted rows is then pruned (test_audit_sqlite.c has the details). */
    const int64_t ret = 30 * day, cut = now - ret;
    const hx_retention keep = {0}, sessions = {.session_ms = ret};
    hx_test_append(s, cut - 1, "session.join", "r", "old");    /* pruned */
    hx_test_append(s, cut - 5, "session.leave", "r", "old");   /* pruned */
    hx_test_append(s, cut, "session.resume", "r", "edge");     /* kept: not older */
    hx_test_append(s, cut + 1, "session.join", "r", "new");    /* kept */
    hx_test_append(s, cut - 1, "auth.failure", "r", "old");    /* redacted: session class */
    hx_test_append(s, cut - 1, "revocation", "r", "old");      /* kept: moderation class */
    hx_test_append(s, cut - 1, "moderation.kick", "r", "old"); /* kept */
    hx_test_append(s, cut - 1, "Session.join", "r", "old");    /* redacted: not a moderation kind */

    /* Retention 0 keeps every event. */
    assert_int_equal(s->ops->sweep(s, now, &keep), 2); /* 1 ticket + 1 revocation */
    assert_int_equal(s->ops->sweep(s, now, NULL), 0);
    assert_int_equal(query(s, NULL, &se), 8);
    assert_int_equal(s->ops->sweep(s, now, &sessions), 4); /* the four old session-class events */
    assert_int_equal(query(s, NULL, &se), 6);
    assert_string_equal(se.kind[0], "session.resume");
    assert_int_equal(query(s, &(hx_event_filter){.user = "old"}, &se), 2);
    assert_string_equal(se.kind[0], "revocation");
    assert_string_equal(se.kind[1], "moderation.kick");
    assert_int_equal(s->ops->sweep(s, now, &sessions), 0); /* idempotent */
    assert_int_equal(s->ops->verify_chain(s, NULL, NULL, NULL, NULL), 0);

    assert_int_equal(s->ops->consume_ticket(s, "live", 0), HX_STORE_EXISTS);
    assert_int_equal(s->ops->consume_ticket(s, "forever", 0), HX_STORE_EXISTS);
    assert_int_equal(s->ops->consume_ticket(s, "edge", 0), HX_STORE_EXISTS);
    assert_int_equal(list_revs(s, 0, &sr), 2);

    /* A retention longer than the epoch must not overflow into a purge. */
    assert_int_equal(
        s->ops->sweep(s, INT64_MIN + 5,
                      &(hx_retention){.session_ms = INT64_MAX, .moderation_ms = INT64_MAX}),
        0);
    assert_int_equal(query(s, NULL, &se), 6);

    /* Deleted ids are not reused: paging stays monotonic. */
    int64_t last = se.id[se.n - 1];
    hx_test_side *db = hx_test_side_open(fx);
    hx_test_side_exec(db, "DELETE FROM events");
    hx_test_side_close(db);
    hx_test_append(s, now, "x", NULL, NULL);
    assert_int_equal(query(s, NULL, &se), 1);
    assert_true(se.id[0] > last);
    s->ops->close(s);
}

/* ---- sanctions and un-revocation ---------------------------------------------------- */

typedef struct seen_sanctions {
    size_t n;
    char line[8][96];
} seen_sanctions;

static int collect_sanction(void *arg, const hx_sanction_rec *x)
{
    seen_sanctions *ss = arg;
    assert_true(ss->n < 8);
    snprintf(ss->line[ss->n++], sizeof ss->line[0], "%s %d %s/%s/%s %d %lld-%lld %s %s",
             x->action_id, x->kind, x->room, x->user, x->device, x->policy,
             (long long)x->created_ms, (long long)x->expires_ms, x->actor ? x->actor : "-",
             x->reason ? x->reason : "-");
    return 0;
}

static size_t list_sanctions(hx_store *s, int64_t now, seen_sanctions *ss)
{
    memset(ss, 0, sizeof *ss);
    assert_int_equal(s->ops->list_sanctions(s, now, collect_sanction, ss), HX_STORE_OK);
    return ss->n;
}

/* Every field as written (test_sanctions_store.c has the transactions around them). */
static void test_sanctions_read_back_whole(void **state)
{
    hx_test_store *fx = *state;
    hx_store *s = hx_test_store_open(fx);
    seen_sanctions ss;
    hx_sanction_rec ban = {.action_id = "m_1",
                           .kind = HX_SANCTION_BAN,
                           .room = "r",
                           .user = "bob",
                           .created_ms = 10,
                           .actor = "mod",
                           .reason = "spam"};
    hx_sanction_rec timeout = {.action_id = "m_2",
                               .kind = HX_SANCTION_TIMEOUT,
                               .user = "carol",
                               .device = "d1",
                               .policy = HX_TIMEOUT_DENY_JOIN,
                               .created_ms = 11,
                               .expires_ms = 100};
    hx_event ev = {.ts_ms = 10, .kind = "moderation.ban", .room = "r", .user = "bob"};

    assert_int_equal(s->ops->put_sanction(s, &ban, &ev), HX_STORE_OK);
    ev.kind = "moderation.timeout";
    assert_int_equal(s->ops->put_sanction(s, &timeout, NULL), HX_STORE_OK); /* no record */
    /* NULL scope fields read back as "" (any); in created_ms order. */
    assert_int_equal(list_sanctions(s, 50, &ss), 2);
    assert_string_equal(ss.line[0], "m_1 1 r/bob/ 0 10-0 mod spam");
    assert_string_equal(ss.line[1], "m_2 2 /carol/d1 1 11-100 - -");
    s->ops->close(s);

    s = hx_test_store_open(fx);
    assert_int_equal(list_sanctions(s, 100, &ss), 1); /* ended at 100 */
    assert_string_equal(ss.line[0], "m_1 1 r/bob/ 0 10-0 mod spam");
    s->ops->close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        HX_STORE_TEST(test_open_creates_wal_db),
        HX_STORE_TEST(test_reopen_keeps_data_without_remigrating),
        HX_STORE_TEST(test_future_schema_refused),
        HX_STORE_TEST(test_not_a_database_refused),
        HX_STORE_TEST(test_unwritable_path_fails),
        HX_STORE_TEST(test_events_filters),
        HX_STORE_TEST(test_events_strings_round_trip),
        HX_STORE_TEST(test_events_limit_and_paging),
        HX_STORE_TEST(test_events_callback_stop_and_reentry),
        HX_STORE_TEST(test_events_rejects_bad_input),
        HX_STORE_TEST(test_events_query_plans_use_indexes),
        HX_STORE_TEST(test_revocations_upsert),
        HX_STORE_TEST(test_revocations_list_skips_expired),
        HX_STORE_TEST(test_ticket_single_use_across_restarts),
        HX_STORE_TEST(test_relaxed_writes),
        HX_STORE_TEST(test_secrets),
        HX_STORE_TEST(test_add_secret_keeps_the_first),
        HX_STORE_TEST(test_sweep_removes_exactly_the_expired),
        HX_STORE_TEST(test_sanctions_read_back_whole),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
