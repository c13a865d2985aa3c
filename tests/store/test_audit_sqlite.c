/*
 * The audit trail in the store: hash-chained appends, verify_chain against
 * data edited behind the store's back, the v2 migration of older rows
 * (SQLite), and retention (redaction, pruning behind an anchor, classes).
 * ctest runs this file against SQLite, and again against PostgreSQL
 * (HX_TEST_STORE=postgres, tests/support/store_fixture.h).
 *
 * Tampering is raw SQL on a side connection to the same data, what an
 * attacker with the sqlite3 shell or psql could do; the data is restored
 * from a copy between attempts. The pure verifier's finer cases are in
 * test_chain_verify.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite_internal.h"
#include "support/store_fixture.h"

#define MAX_PROBLEMS 32

typedef struct problems {
    size_t n;
    struct {
        char room[32], what[20];
        int64_t id, seq;
    } p[MAX_PROBLEMS];
} problems;

static void collect(void *arg, const hx_chain_problem *p)
{
    problems *ps = arg;
    assert_true(ps->n < MAX_PROBLEMS);
    snprintf(ps->p[ps->n].room, sizeof ps->p[0].room, "%s", hx_chain_name(p->room));
    snprintf(ps->p[ps->n].what, sizeof ps->p[0].what, "%s", p->what);
    ps->p[ps->n].id = p->id;
    ps->p[ps->n].seq = p->seq;
    ps->n++;
}

static int verify(hx_store *s, const char *room, problems *ps, hx_chain_summary *sum)
{
    memset(ps, 0, sizeof *ps);
    int n = s->ops->verify_chain(s, room, collect, ps, sum);
    if (n < 0) fail_msg("verify_chain: %s", hx_store_errmsg(s));
    assert_int_equal(n, (int)ps->n);
    return n;
}

static void expect(const problems *ps, size_t i, const char *room, int64_t id, int64_t seq,
                   const char *what)
{
    if (i >= ps->n) fail_msg("problem %zu missing (%zu found)", i, ps->n);
    if (strcmp(ps->p[i].room, room) || ps->p[i].id != id || ps->p[i].seq != seq ||
        strcmp(ps->p[i].what, what))
        fail_msg("problem %zu: %s id %lld seq %lld %s; expected %s id %lld seq %lld %s", i,
                 ps->p[i].room, (long long)ps->p[i].id, (long long)ps->p[i].seq, ps->p[i].what,
                 room, (long long)id, (long long)seq, what);
}

/*
 * Nine events on three chains (ids in order of appending):
 *   r1        1 (seq 1), 4 (2), 5 (3), 6 (4), 9 (5)
 *   r2        2 (1), 7 (2)
 *   (server)  3 (1), 8 (2)
 */
static void fill(hx_store *s)
{
    hx_test_append(s, 1000, "session.join", "r1", "alice");
    hx_test_append(s, 1001, "session.join", "r2", "bob");
    hx_test_append(s, 1002, "auth.failure", NULL, NULL);
    hx_test_append(s, 1003, "session.leave", "r1", "alice");
    hx_test_append(s, 1004, "moderation.kick", "r1", "carol");
    hx_test_append(s, 1005, "session.join", "r1", "dave");
    hx_test_append(s, 1006, "session.leave", "r2", "bob");
    hx_test_append(s, 1007, "revocation", NULL, "erin");
    hx_test_append(s, 1008, "session.leave", "r1", "dave");
}

/* ---- appending ---------------------------------------------------------------------- */

typedef struct chained {
    size_t n;
    int64_t seq[16];
    uint8_t prev[16][HX_CHAIN_HASH_LEN], hash[16][HX_CHAIN_HASH_LEN];
} chained;

static int keep_links(void *arg, const hx_event *ev)
{
    chained *c = arg;
    assert_true(c->n < 16);
    assert_non_null(ev->hash);
    assert_non_null(ev->prev_hash);
    assert_non_null(ev->content_hash);
    assert_false(ev->redacted);
    c->seq[c->n] = ev->seq;
    memcpy(c->prev[c->n], ev->prev_hash, HX_CHAIN_HASH_LEN);
    memcpy(c->hash[c->n], ev->hash, HX_CHAIN_HASH_LEN);
    c->n++;
    return 0;
}

static void test_appends_are_chained_per_room(void **state)
{
    hx_test_store *fx = *state;
    hx_store *s = hx_test_store_open(fx);
    uint8_t zero[HX_CHAIN_HASH_LEN] = {0};
    hx_chain_summary sum;
    problems ps;
    chained c = {0};
    char text[128];

    fill(s);
    assert_int_equal(verify(s, NULL, &ps, &sum), 0);
    assert_int_equal(sum.chains, 3);
    assert_int_equal(sum.records, 9);
    assert_int_equal(sum.redacted, 0);
    assert_int_equal(sum.unchained, 0);

    /* Each room counts from 1, links to its own previous record. */
    assert_int_equal(s->ops->query_events(s, &(hx_event_filter){.room = "r1"}, keep_links, &c), 0);
    assert_int_equal(c.n, 5);
    assert_memory_equal(c.prev[0], zero, sizeof zero);
    for (size_t i = 0; i < c.n; i++) {
        assert_int_equal(c.seq[i], (int64_t)i + 1);
        if (i) assert_memory_equal(c.prev[i], c.hash[i - 1], HX_CHAIN_HASH_LEN);
    }

    hx_test_side *db = hx_test_side_open(fx);
    assert_string_equal(hx_test_side_text(db,
                                          "SELECT group_concat(coalesce(room, '-') || seq, ' ')"
                                          " FROM (SELECT room, seq FROM events ORDER BY id) AS e",
                                          text, sizeof text),
                        "r11 r21 -1 r12 r13 r14 r22 -2 r15");
    /* Heads: one per chain, '' for the server, each the last record's (seq, hash). */
    assert_int_equal(hx_test_side_int(db, "SELECT count(*) FROM chain_heads"), 3);
    assert_int_equal(hx_test_side_int(db, "SELECT count(*) FROM chain_heads h JOIN events e"
                                          " ON coalesce(e.room, '') = h.room_key"
                                          " AND e.seq = h.seq AND e.hash = h.hash"),
                     3);
    assert_int_equal(hx_test_side_int(db, "SELECT seq FROM chain_heads WHERE room_key = ''"), 2);
    hx_test_side_close(db);

    /* "" is the server chain's key, never a room. */
    hx_event empty = {.ts_ms = 1, .kind = "k", .room = ""};
    assert_int_equal(s->ops->append_event(s, &empty), HX_STORE_ERROR);
    assert_non_null(strstr(hx_store_errmsg(s), "empty room"));

    /* The head survives a restart: the chain goes on. */
    s->ops->close(s);
    s = hx_test_store_open(fx);
    hx_test_append(s, 1009, "session.join", "r2", "frank");
    assert_int_equal(verify(s, NULL, &ps, &sum), 0);
    assert_int_equal(sum.records, 10);
    db = hx_test_side_open(fx);
    assert_int_equal(hx_test_side_int(db, "SELECT seq FROM events WHERE id = 10"), 3);
    hx_test_side_close(db);
    s->ops->close(s);
}

/* ---- tampering ---------------------------------------------------------------------- */

typedef struct want {
    const char *room;
    int64_t id, seq;
    const char *what;
} want;

/* One edit and the problems verify must name for it, in order (what NULL ends the list). */
typedef struct tampering {
    const char *sql;
    want w[3];
} tampering;

/*
 * On a store holding fill()'s events, apply each edit through a side
 * connection, check that verify names exactly its problems, and restore the
 * events from a copy before the next.
 */
static void run_tamperings(hx_test_store *fx, const tampering *t, size_t n)
{
    hx_store *s = hx_test_store_open(fx);
    hx_test_side *db = hx_test_side_open(fx);
    problems ps;

    fill(s);
    hx_test_side_exec(db, "CREATE TABLE bak AS SELECT * FROM events;"
                          "CREATE TABLE bak_heads AS SELECT * FROM chain_heads");
    assert_int_equal(verify(s, NULL, &ps, NULL), 0);
    for (size_t i = 0; i < n; i++) {
        size_t k = 0;
        hx_test_side_exec(db, t[i].sql);
        verify(s, NULL, &ps, NULL);
        for (; k < 3 && t[i].w[k].what; k++)
            expect(&ps, k, t[i].w[k].room, t[i].w[k].id, t[i].w[k].seq, t[i].w[k].what);
        if (ps.n != k) fail_msg("%s: %zu problems, expected %zu", t[i].sql, ps.n, k);
        hx_test_side_exec(db, "DELETE FROM events; INSERT INTO events SELECT * FROM bak;"
                              "DELETE FROM chain_heads;"
                              "INSERT INTO chain_heads SELECT * FROM bak_heads");
    }
    hx_test_side_close(db);
    s->ops->close(s);
}

/* Event 4 is r1's seq 2, in the middle of its chain; 9 is r1's last; 3 the server's first. */
static void test_verify_names_a_changed_record(void **state)
{
    static const tampering t[] = {
        {"UPDATE events SET kind = 'session.resume' WHERE id = 4", {{"r1", 4, 2, "changed"}}},
        {"UPDATE events SET user_id = 'mallory' WHERE id = 4", {{"r1", 4, 2, "changed"}}},
        {"UPDATE events SET user_id = NULL WHERE id = 4", {{"r1", 4, 2, "changed"}}},
        {"UPDATE events SET detail = '{}' WHERE id = 4", {{"r1", 4, 2, "changed"}}},
        {"UPDATE events SET ts_ms = ts_ms + 1 WHERE id = 4", {{"r1", 4, 2, "changed"}}},
        {"UPDATE events SET device = 'x' WHERE id = 4", {{"r1", 4, 2, "changed"}}},
        {"UPDATE events SET code = '' WHERE id = 4", {{"r1", 4, 2, "changed"}}}, /* was NULL */
        {"UPDATE events SET sid = 's' WHERE id = 4", {{"r1", 4, 2, "changed"}}},
        {"UPDATE events SET hash = randomblob(32) WHERE id = 4", {{"r1", 4, 2, "changed"}}},
        {"UPDATE events SET content_hash = randomblob(32) WHERE id = 4", {{"r1", 4, 2, "changed"}}},
        {"UPDATE events SET prev_hash = zeroblob(32) WHERE id = 4", {{"r1", 4, 2, "changed"}}},
        {"UPDATE events SET hash = zeroblob(1) WHERE id = 4", {{"r1", 4, 2, "changed"}}},
        /* A redacted record holds no content. */
        {"UPDATE events SET redacted = 1 WHERE id = 4", {{"r1", 4, 2, "changed"}}},
        {"UPDATE events SET user_id = 'mallory' WHERE id = 9", {{"r1", 9, 5, "changed"}}},
        {"UPDATE events SET code = 'x' WHERE id = 3", {{"(server)", 3, 1, "changed"}}},
        /* Moved to another chain: a gap where it was, an intruder where it went. */
        {"UPDATE events SET room = 'r2' WHERE id = 4",
         {{"r1", 5, 2, "missing"}, {"r2", 4, 2, "changed"}}},
        {"UPDATE events SET room = NULL WHERE id = 4",
         {{"(server)", 4, 2, "changed"}, {"r1", 5, 2, "missing"}}},
    };
    run_tamperings(*state, t, sizeof t / sizeof t[0]);
}

static void test_verify_names_a_deleted_record(void **state)
{
    static const tampering t[] = {
        {"DELETE FROM events WHERE id = 5", {{"r1", 6, 3, "missing"}}}, /* r1's seq 3 */
        /* r1's last: the head tells (the record's id is gone with it). */
        {"DELETE FROM events WHERE id = 9", {{"r1", 0, 5, "missing"}}},
        {"DELETE FROM events WHERE id IN (2, 7)", {{"r2", 0, 1, "missing"}}}, /* all of r2 */
        {"DELETE FROM chain_heads WHERE room_key = 'r2'", {{"r2", 7, 2, "head_mismatch"}}},
        {"UPDATE chain_heads SET seq = 4 WHERE room_key = 'r1'", {{"r1", 9, 5, "head_mismatch"}}},
    };
    run_tamperings(*state, t, sizeof t / sizeof t[0]);
}

/* r1's seq 2 (event 4) and seq 4 (event 6) swapped three ways. */
static void test_verify_names_reordered_records(void **state)
{
    static const tampering t[] = {
        {"UPDATE events SET id = -4 WHERE id = 4; UPDATE events SET id = 4 WHERE id = 6;"
         "UPDATE events SET id = 6 WHERE id = -4",
         {{"r1", 6, 2, "reordered"}, {"r1", 4, 4, "reordered"}}},
        {"UPDATE events SET seq = CASE id WHEN 4 THEN 4 ELSE 2 END WHERE id IN (4, 6)",
         {{"r1", 6, 2, "reordered"}, {"r1", 4, 4, "reordered"}}},
        {"UPDATE events SET (ts_ms, kind, user_id, device, sid, code, detail) ="
         " (SELECT ts_ms, kind, user_id, device, sid, code, detail FROM bak"
         "  WHERE bak.id = CASE events.id WHEN 4 THEN 6 ELSE 4 END) WHERE id IN (4, 6)",
         {{"r1", 4, 2, "reordered"}, {"r1", 6, 4, "reordered"}}},
    };
    run_tamperings(*state, t, sizeof t / sizeof t[0]);
}

static void test_verify_chain_selection(void **state)
{
    hx_test_store *fx = *state;
    hx_store *s = hx_test_store_open(fx);
    hx_chain_summary sum;
    problems ps;

    fill(s);
    assert_int_equal(verify(s, "r1", &ps, &sum), 0);
    assert_int_equal(sum.chains, 1);
    assert_int_equal(sum.records, 5);
    assert_int_equal(verify(s, "", &ps, &sum), 0); /* the server chain */
    assert_int_equal(sum.chains, 1);
    assert_int_equal(sum.records, 2);
    assert_int_equal(verify(s, "nowhere", &ps, &sum), 0);
    assert_int_equal(sum.chains, 0);
    assert_int_equal(s->ops->verify_chain(s, NULL, NULL, NULL, NULL), 0);

    /* A problem in r2 is not r1's. */
    hx_test_side *db = hx_test_side_open(fx);
    hx_test_side_exec(db, "UPDATE events SET user_id = 'mallory' WHERE id = 7");
    assert_int_equal(verify(s, "r1", &ps, NULL), 0);
    assert_int_equal(verify(s, "r2", &ps, NULL), 1);
    expect(&ps, 0, "r2", 7, 2, "changed");
    hx_test_side_exec(db, "UPDATE events SET user_id = 'bob' WHERE id = 7");

    /* Rows written around the store have no chain position: counted, not checked. */
    hx_test_side_exec(db, "INSERT INTO events(ts_ms, kind, room) VALUES (5, 'x', 'r1')");
    hx_test_side_close(db);
    assert_int_equal(verify(s, NULL, &ps, &sum), 0);
    assert_int_equal(sum.unchained, 1);
    assert_int_equal(sum.records, 9);
    assert_int_equal(verify(s, "r2", &ps, &sum), 0);
    assert_int_equal(sum.unchained, 0);
    s->ops->close(s);
}

/* The schema's statements walk indexes (see also test_events_query_plans_use_indexes). */
static void test_chain_statements_use_indexes(void **state)
{
    hx_test_store *fx = *state;
    HX_SQLITE_ONLY(fx);
    hx_store *s = hx_test_store_open(fx);
    hx__sqlite_store *q = (hx__sqlite_store *)s;
    /* sort: the statement may sort (MARK's DISTINCT over the expired rows' rooms). */
    static const struct {
        enum hx__sq_stmt id;
        const char *index;
        bool sort;
    } plans[] = {
        {HX__SQ_CHAIN_BY_SEQ, "events_chain", false},
        {HX__SQ_CHAIN_BY_ID, "events_room_id", false},
        {HX__SQ_SWEEP_REDACT, "events_live_ts", false},
        {HX__SQ_SWEEP_MARK, "events_live_ts", true},
        {HX__SQ_PRUNE_ROWS, "events_chain", false},
        {HX__SQ_SWEEP_UNCHAINED, "events_", false},
    };

    for (size_t i = 0; i < sizeof plans / sizeof plans[0]; i++) {
        char sql[1024], plan[512] = "";
        sqlite3_stmt *st = NULL;
        snprintf(sql, sizeof sql, "EXPLAIN QUERY PLAN %s", sqlite3_sql(q->stmt[plans[i].id]));
        assert_int_equal(sqlite3_prepare_v2(q->db, sql, -1, &st, NULL), SQLITE_OK);
        while (sqlite3_step(st) == SQLITE_ROW)
            strncat(plan, (const char *)sqlite3_column_text(st, 3), sizeof plan - strlen(plan) - 1);
        sqlite3_finalize(st);
        if (!strstr(plan, plans[i].index) || (!plans[i].sort && strstr(plan, "TEMP B-TREE")))
            fail_msg("statement %d: %s", (int)plans[i].id, plan);
    }
    s->ops->close(s);
}

/* ---- the v2 migration ------------------------------------------------------------------ */

static void test_migration_chains_older_rows(void **state)
{
    hx_test_store *fx = *state;
    char err[256] = "";
    hx_test_side v1 = {0}, *db;
    hx_chain_summary sum;
    problems ps;

    HX_SQLITE_ONLY(fx); /* PostgreSQL stores start at v3 (src/store/pg_migrations.c) */
    /* A v1 store with rows, as an older hearthd left it. */
    assert_int_equal(
        sqlite3_open_v2(fx->path, &v1.lite, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL),
        SQLITE_OK);
    if (hx__sqlite_migrate_to(v1.lite, 1, 1, err, sizeof err)) fail_msg("v1: %s", err);
    hx_test_side_exec(&v1, "INSERT INTO events(ts_ms, kind, room, user_id) VALUES"
                           " (10, 'session.join', 'a', 'u'), (11, 'auth.failure', NULL, NULL),"
                           " (12, 'session.join', '', 'v'), (13, 'session.leave', 'a', 'u')");
    assert_int_equal(hx_test_side_int(&v1, "SELECT max(version) FROM schema_migrations"), 1);
    sqlite3_close(v1.lite);

    hx_store *s = hx_test_store_open(fx);
    assert_int_equal(verify(s, NULL, &ps, &sum), 0);
    assert_int_equal(sum.chains, 2);
    assert_int_equal(sum.records, 4);
    assert_int_equal(sum.unchained, 0);
    hx_test_append(s, 14, "session.leave", NULL, "v");
    assert_int_equal(verify(s, NULL, &ps, &sum), 0);

    db = hx_test_side_open(fx);
    assert_true(hx_test_side_int(db, "SELECT max(version) FROM schema_migrations") >= 2);
    assert_int_equal(hx_test_side_int(db, "SELECT count(*) FROM events WHERE room = ''"), 0);
    assert_int_equal(hx_test_side_int(db, "SELECT seq FROM events WHERE id = 3"), 2);
    assert_int_equal(hx_test_side_int(db, "SELECT seq FROM events WHERE id = 4"), 2);
    assert_int_equal(hx_test_side_int(db, "SELECT seq FROM events WHERE id = 5"), 3);
    hx_test_side_close(db);
    s->ops->close(s);
}

/* ---- retention ------------------------------------------------------------------------- */

#define NOW (1000 * HX_DAY_MS)

static const hx_retention defaults = {.session_ms = 30 * HX_DAY_MS,
                                      .moderation_ms = 365 * HX_DAY_MS};

static void test_retention_redacts_then_prunes(void **state)
{
    hx_test_store *fx = *state;
    hx_store *s = hx_test_store_open(fx);
    hx_chain_summary sum;
    problems ps;
    char text[256];

    hx_test_append(s, NOW - 40 * HX_DAY_MS, "session.join", "r", "u1");   /* r 1: pruned */
    hx_test_append(s, NOW - 39 * HX_DAY_MS, "session.leave", "r", "u1");  /* r 2: pruned */
    hx_test_append(s, NOW - 38 * HX_DAY_MS, "moderation.kick", "r", "m"); /* r 3: kept */
    hx_test_append(s, NOW - 37 * HX_DAY_MS, "session.join", "r", "u2");   /* r 4: redacted */
    hx_test_append(s, NOW - 1 * HX_DAY_MS, "session.leave", "r", "u2");   /* r 5: kept */
    hx_test_append(s, NOW - 50 * HX_DAY_MS, "session.join", "q", "u3");   /* q 1: pruned */
    hx_test_append(s, NOW - 49 * HX_DAY_MS, "session.leave", "q", "u3");  /* q 2: pruned */
    hx_test_append(s, NOW - 45 * HX_DAY_MS, "auth.failure", NULL, "x");   /* - 1: pruned */
    hx_test_append(s, NOW - 45 * HX_DAY_MS, "revocation", NULL, "u1");    /* - 2: kept */
    hx_test_append(s, NOW - 2 * HX_DAY_MS, "ticket.replay", NULL, "u4");  /* - 3: kept */

    hx_test_side *db = hx_test_side_open(fx);
    hx_test_side_exec(db, "CREATE TABLE bak AS SELECT * FROM events");
    assert_int_equal(s->ops->sweep(s, NOW, &defaults), 6);
    assert_string_equal(hx_test_side_text(db,
                                          "SELECT group_concat(id, ' ')"
                                          " FROM (SELECT id FROM events ORDER BY id) AS e",
                                          text, sizeof text),
                        "3 4 5 9 10");
    /* The redacted record keeps what the chain needs, and nothing else. */
    assert_int_equal(hx_test_side_int(db, "SELECT count(*) FROM events e JOIN bak b USING (id)"
                                          " WHERE id = 4 AND e.redacted = 1"
                                          " AND e.user_id IS NULL AND e.device IS NULL"
                                          " AND e.sid IS NULL AND e.code IS NULL"
                                          " AND e.detail IS NULL AND e.room = 'r'"
                                          " AND e.kind = b.kind AND e.ts_ms = b.ts_ms"
                                          " AND e.seq = b.seq AND e.prev_hash = b.prev_hash"
                                          " AND e.content_hash = b.content_hash"
                                          " AND e.hash = b.hash"),
                     1);
    /* The others are as they were. */
    assert_int_equal(hx_test_side_int(db, "SELECT count(*) FROM events e JOIN bak b USING (id)"
                                          " WHERE e.user_id IS NOT DISTINCT FROM b.user_id"
                                          " AND e.redacted = 0"
                                          " AND e.hash = b.hash"),
                     4);
    /* Anchors: the last pruned record of each chain. */
    assert_string_equal(hx_test_side_text(db,
                                          "SELECT group_concat(x, ' ') FROM"
                                          " (SELECT a.room_key || ':' || a.seq AS x"
                                          "  FROM chain_anchors a JOIN bak b"
                                          "  ON coalesce(b.room, '') = a.room_key"
                                          "  AND b.seq = a.seq AND b.hash = a.hash"
                                          "  ORDER BY a.room_key) AS k",
                                          text, sizeof text),
                        ":1 q:2 r:2");
    assert_int_equal(hx_test_side_int(db, "SELECT count(*) FROM chain_prune"), 0);

    assert_int_equal(verify(s, NULL, &ps, &sum), 0);
    assert_int_equal(sum.chains, 3); /* q has no rows left, only its anchor and head */
    assert_int_equal(sum.records, 5);
    assert_int_equal(sum.redacted, 1);

    /* A pruned chain goes on from its anchor. */
    hx_test_append(s, NOW, "session.join", "q", "u5");
    assert_int_equal(hx_test_side_int(db, "SELECT seq FROM events WHERE room = 'q'"), 3);
    assert_int_equal(verify(s, NULL, &ps, NULL), 0);
    assert_int_equal(s->ops->sweep(s, NOW, &defaults), 0); /* idempotent */

    /* Tampering with what is left still shows, anchors included. */
    hx_test_side_exec(db, "UPDATE events SET ts_ms = ts_ms - 1 WHERE id = 4");
    assert_int_equal(verify(s, NULL, &ps, NULL), 1);
    expect(&ps, 0, "r", 4, 4, "changed");
    hx_test_side_exec(db, "UPDATE events SET ts_ms = ts_ms + 1 WHERE id = 4");
    hx_test_side_exec(db, "UPDATE chain_anchors SET hash = zeroblob(32) WHERE room_key = 'r'");
    assert_int_equal(verify(s, NULL, &ps, NULL), 1);
    expect(&ps, 0, "r", 3, 3, "anchor_mismatch");
    hx_test_side_exec(db, "UPDATE chain_anchors SET hash = (SELECT hash FROM bak WHERE id = 2)"
                          " WHERE room_key = 'r'");

    /* A year on, everything has expired: every chain is pruned to its head. */
    assert_int_equal(s->ops->sweep(s, NOW + 400 * HX_DAY_MS, &defaults), 5);
    assert_int_equal(hx_test_side_int(db, "SELECT count(*) FROM events"), 0);
    assert_int_equal(hx_test_side_int(db, "SELECT count(*) FROM chain_anchors a JOIN chain_heads"
                                          " h USING (room_key, seq, hash)"),
                     3);
    assert_int_equal(verify(s, NULL, &ps, &sum), 0);
    assert_int_equal(sum.chains, 3);
    assert_int_equal(sum.records, 0);
    hx_test_append(s, NOW + 400 * HX_DAY_MS, "session.join", "r", "u6");
    assert_int_equal(hx_test_side_int(db, "SELECT seq FROM events WHERE room = 'r'"), 6);
    assert_int_equal(verify(s, NULL, &ps, NULL), 0);
    hx_test_side_close(db);
    s->ops->close(s);
}

/* Same content, same hash, not redacted: the row is untouched. */
static int64_t untouched(hx_test_side *db, const char *where)
{
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM bak b JOIN events e USING (id) WHERE (%s)"
             " AND e.ts_ms = b.ts_ms AND e.kind = b.kind"
             " AND e.user_id IS NOT DISTINCT FROM b.user_id"
             " AND e.redacted = 0 AND e.seq = b.seq AND e.hash = b.hash",
             where);
    return hx_test_side_int(db, sql);
}

static void test_sweep_touches_only_expired_classes(void **state)
{
    hx_test_store *fx = *state;
    hx_store *s = hx_test_store_open(fx);
    problems ps;

    hx_test_append(s, NOW - 40 * HX_DAY_MS, "session.join", "a", "u1");   /* 1 */
    hx_test_append(s, NOW - 40 * HX_DAY_MS, "moderation.kick", "a", "m"); /* 2 */
    hx_test_append(s, NOW - 1 * HX_DAY_MS, "vote.cast", "a", "m");        /* 3 */
    hx_test_append(s, NOW - 1 * HX_DAY_MS, "session.leave", "a", "u1");   /* 4 */
    hx_test_append(s, NOW - 400 * HX_DAY_MS, "ban", "b", "m");            /* 5 */
    hx_test_append(s, NOW - 400 * HX_DAY_MS, "session.join", "b", "u2");  /* 6 */
    hx_test_append(s, NOW - 400 * HX_DAY_MS, "unrevoke", NULL, "u2");     /* 7 */
    hx_test_side *db = hx_test_side_open(fx);
    hx_test_side_exec(db, "CREATE TABLE bak AS SELECT * FROM events");

    /* Sessions only: 1 (pruned, it leads a) and 6 (redacted behind the ban). */
    assert_int_equal(s->ops->sweep(s, NOW, &(hx_retention){.session_ms = 30 * HX_DAY_MS}), 2);
    assert_int_equal(untouched(db, "id IN (2, 3, 4, 5, 7)"), 5);
    assert_int_equal(hx_test_side_int(db, "SELECT count(*) FROM events WHERE id = 1"), 0);
    assert_int_equal(hx_test_side_int(db, "SELECT redacted FROM events WHERE id = 6"), 1);
    assert_int_equal(verify(s, NULL, &ps, NULL), 0);

    /* Moderation only: the ban and the unrevoke go; the kick (40 days) stays. */
    assert_int_equal(s->ops->sweep(s, NOW, &(hx_retention){.moderation_ms = 365 * HX_DAY_MS}), 2);
    assert_int_equal(untouched(db, "id IN (2, 3, 4)"), 3);
    assert_int_equal(hx_test_side_int(db, "SELECT count(*) FROM events WHERE id IN (5, 6, 7)"),
                     0); /* b's and the server's fronts, all redacted: pruned */
    assert_int_equal(verify(s, NULL, &ps, NULL), 0);
    hx_test_side_close(db);
    s->ops->close(s);
}

/* Pruning never sweeps a broken link away under a fresh anchor. */
static void test_prune_stops_at_a_broken_link(void **state)
{
    hx_test_store *fx = *state;
    hx_store *s = hx_test_store_open(fx);
    problems ps;

    for (int i = 0; i < 4; i++)
        hx_test_append(s, NOW - (50 - i) * HX_DAY_MS, "session.join", "r", "u");
    hx_test_append(s, NOW, "session.leave", "r", "u");
    hx_test_side *db = hx_test_side_open(fx);
    hx_test_side_exec(db, "UPDATE events SET hash = randomblob(32) WHERE id = 2");

    assert_int_equal(s->ops->sweep(s, NOW, &defaults), 4);
    assert_int_equal(hx_test_side_int(db, "SELECT min(id) FROM events"), 2);
    assert_int_equal(hx_test_side_int(db, "SELECT seq FROM chain_anchors"), 1);
    assert_int_equal(verify(s, NULL, &ps, NULL), 1);
    expect(&ps, 0, "r", 2, 2, "changed");
    hx_test_side_close(db);
    s->ops->close(s);
}

/* Expired rows outside any chain are simply deleted. */
static void test_sweep_deletes_unchained(void **state)
{
    hx_test_store *fx = *state;
    hx_store *s = hx_test_store_open(fx);
    hx_test_side *db = hx_test_side_open(fx);
    char sql[256];

    snprintf(sql, sizeof sql,
             "INSERT INTO events(ts_ms, kind, room) VALUES (%lld, 'session.join', 'r'),"
             " (%lld, 'ban', 'r'), (%lld, 'session.join', 'r')",
             (long long)(NOW - 40 * HX_DAY_MS), (long long)(NOW - 40 * HX_DAY_MS), (long long)NOW);
    hx_test_side_exec(db, sql);
    assert_int_equal(s->ops->sweep(s, NOW, &defaults), 1);
    assert_int_equal(hx_test_side_int(db, "SELECT count(*) FROM events"), 2);
    hx_test_side_close(db);
    s->ops->close(s);
}

/* ---- time window ------------------------------------------------------------------------- */

static int count_cb(void *arg, const hx_event *ev)
{
    (void)ev;
    (*(int *)arg)++;
    return 0;
}

static int count(hx_store *s, int64_t since, int64_t until, const char *room)
{
    int n = 0;
    hx_event_filter f = {.since_ms = since, .until_ms = until, .room = room};
    assert_int_equal(s->ops->query_events(s, &f, count_cb, &n), HX_STORE_OK);
    return n;
}

static void test_query_time_window(void **state)
{
    hx_test_store *fx = *state;
    hx_store *s = hx_test_store_open(fx);

    for (int i = 1; i <= 5; i++)
        hx_test_append(s, i * 100, "session.join", i % 2 ? "odd" : "even", "u");
    assert_int_equal(count(s, 0, 0, NULL), 5);
    assert_int_equal(count(s, 0, 300, NULL), 3); /* until is inclusive, like since */
    assert_int_equal(count(s, 200, 400, NULL), 3);
    assert_int_equal(count(s, 300, 0, NULL), 3);
    assert_int_equal(count(s, 200, 400, "odd"), 1);
    assert_int_equal(count(s, 301, 399, NULL), 0);
    s->ops->close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        HX_STORE_TEST(test_appends_are_chained_per_room),
        HX_STORE_TEST(test_verify_names_a_changed_record),
        HX_STORE_TEST(test_verify_names_a_deleted_record),
        HX_STORE_TEST(test_verify_names_reordered_records),
        HX_STORE_TEST(test_verify_chain_selection),
        HX_STORE_TEST(test_chain_statements_use_indexes),
        HX_STORE_TEST(test_migration_chains_older_rows),
        HX_STORE_TEST(test_retention_redacts_then_prunes),
        HX_STORE_TEST(test_sweep_touches_only_expired_classes),
        HX_STORE_TEST(test_prune_stops_at_a_broken_link),
        HX_STORE_TEST(test_sweep_deletes_unchained),
        HX_STORE_TEST(test_query_time_window),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
