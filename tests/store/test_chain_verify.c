/*
 * Unit tests for the pure verifier (src/store/chain_verify.c), on chains
 * held in memory: each test builds a sound chain, damages it the way an
 * attacker editing the database would, and feeds it the way a backend does
 * (rows in (seq, id) order, id_rank from the sound rows in id order).
 * tests/store/test_audit_sqlite.c repeats the damage on a real SQLite file.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/chain.h"

#define MAX_RECS 160

typedef struct rec {
    hx_event ev;
    int64_t seq;
    bool redacted;
    uint8_t prev[HX_CHAIN_HASH_LEN], content[HX_CHAIN_HASH_LEN], hash[HX_CHAIN_HASH_LEN];
    bool gone; /* deleted */
} rec;

typedef struct chain {
    rec r[MAX_RECS];
    size_t n;
    int64_t head_seq, anchor_seq;
    uint8_t head[HX_CHAIN_HASH_LEN], anchor[HX_CHAIN_HASH_LEN];
    bool has_anchor;
} chain;

typedef struct seen {
    size_t n;
    int64_t id[MAX_RECS], seq[MAX_RECS];
    char what[MAX_RECS][20];
} seen;

static const char *const users[] = {"alice", "bob", "carol", "dave", "erin", "frank"};

/* n sound records; ids 10, 20, ... so that ids and seqs differ. */
static void build(chain *c, size_t n)
{
    memset(c, 0, sizeof *c);
    for (size_t i = 0; i < n; i++) {
        rec *r = &c->r[i];
        hx_chain_link l;
        r->ev = (hx_event){.id = (int64_t)(i + 1) * 10,
                           .ts_ms = 1000 + (int64_t)i,
                           .kind = i % 2 ? "session.leave" : "session.join",
                           .room = "lobby",
                           .user = users[i % 6],
                           .detail = "{\"n\":1}"};
        assert_int_equal(hx_chain_next((int64_t)i, i ? c->r[i - 1].hash : NULL, &r->ev, &l), 0);
        r->seq = l.seq;
        memcpy(r->prev, l.prev_hash, sizeof r->prev);
        memcpy(r->content, l.content_hash, sizeof r->content);
        memcpy(r->hash, l.hash, sizeof r->hash);
    }
    c->n = n;
    c->head_seq = (int64_t)n;
    memcpy(c->head, c->r[n - 1].hash, sizeof c->head);
}

static void collect(void *arg, const hx_chain_problem *p)
{
    seen *s = arg;
    assert_true(s->n < MAX_RECS);
    assert_string_equal(p->room, "lobby");
    s->id[s->n] = p->id;
    s->seq[s->n] = p->seq;
    snprintf(s->what[s->n], sizeof s->what[0], "%s", p->what);
    s->n++;
}

static hx_chain_row row_of(const rec *r)
{
    return (hx_chain_row){.ev = r->ev,
                          .seq = r->seq,
                          .redacted = r->redacted,
                          .prev_hash = r->prev,
                          .content_hash = r->content,
                          .hash = r->hash,
                          .prev_len = HX_CHAIN_HASH_LEN,
                          .content_len = HX_CHAIN_HASH_LEN,
                          .hash_len = HX_CHAIN_HASH_LEN};
}

static const rec *sort_base;

static int by_seq(const void *a, const void *b)
{
    const rec *x = &sort_base[*(const size_t *)a], *y = &sort_base[*(const size_t *)b];
    if (x->seq != y->seq) return x->seq < y->seq ? -1 : 1;
    return x->ev.id < y->ev.id ? -1 : x->ev.id > y->ev.id;
}

static int by_id(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Verify as a backend would; returns the problem count. */
static long run(chain *c, seen *out)
{
    static hx_chain_verifier v; /* large */
    size_t order[MAX_RECS], n = 0, n_clean = 0, k = 0;
    int64_t clean_ids[MAX_RECS];
    hx_chain_check chk[MAX_RECS];

    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < c->n; i++) {
        if (c->r[i].gone) continue;
        hx_chain_row row = row_of(&c->r[i]);
        assert_int_equal(hx_chain_check_row(&row, &chk[i]), 0);
        if (chk[i].content_ok && chk[i].link_ok) clean_ids[n_clean++] = c->r[i].ev.id;
        order[n++] = i;
    }
    sort_base = c->r;
    qsort(order, n, sizeof order[0], by_seq);
    qsort(clean_ids, n_clean, sizeof clean_ids[0], by_id);
    hx_chain_verify_begin(&v, "lobby", c->anchor_seq, c->has_anchor ? c->anchor : NULL,
                          HX_CHAIN_HASH_LEN, collect, out);
    for (size_t i = 0; i < n; i++) {
        const rec *r = &c->r[order[i]];
        hx_chain_row row = row_of(r);
        const hx_chain_check *ck = &chk[order[i]];
        hx_chain_verify_row(&v, &row, ck, ck->content_ok && ck->link_ok ? clean_ids[k++] : 0);
    }
    long problems = hx_chain_verify_end(&v, true, c->head_seq, c->head, HX_CHAIN_HASH_LEN);
    assert_int_equal(problems, (long)out->n);
    return problems;
}

static void expect(const seen *s, size_t i, int64_t id, int64_t seq, const char *what)
{
    if (i >= s->n) fail_msg("problem %zu missing (%zu found)", i, s->n);
    if (s->id[i] != id || s->seq[i] != seq || strcmp(s->what[i], what) != 0)
        fail_msg("problem %zu: id %lld seq %lld %s; expected id %lld seq %lld %s", i,
                 (long long)s->id[i], (long long)s->seq[i], s->what[i], (long long)id,
                 (long long)seq, what);
}

static chain c; /* large: off the stack */
static seen s;

/* c verifies with exactly one problem, this one. */
static void expect_only(chain *ch, int64_t id, int64_t seq, const char *what)
{
    assert_int_equal(run(ch, &s), 1);
    expect(&s, 0, id, seq, what);
}

/* c verifies with exactly two problems of one kind, in this order. */
static void expect_pair(chain *ch, int64_t id1, int64_t seq1, int64_t id2, int64_t seq2,
                        const char *what)
{
    assert_int_equal(run(ch, &s), 2);
    expect(&s, 0, id1, seq1, what);
    expect(&s, 1, id2, seq2, what);
}

static void test_sound_chain(void **state)
{
    (void)state;
    build(&c, 6);
    assert_int_equal(run(&c, &s), 0);
    build(&c, 1);
    assert_int_equal(run(&c, &s), 0);
}

static void test_content_changed(void **state)
{
    (void)state;
    const char *fields[] = {"user", "detail", "ts", "kind", "null", "room"};
    for (size_t f = 0; f < sizeof fields / sizeof fields[0]; f++) {
        build(&c, 6);
        hx_event *e = &c.r[2].ev;
        switch (f) {
        case 0:
            e->user = "mallory";
            break;
        case 1:
            e->detail = "{\"n\":2}";
            break;
        case 2:
            e->ts_ms++;
            break;
        case 3:
            e->kind = "session.resume";
            break;
        case 4:
            e->user = NULL;
            break;
        case 5:
            e->room = "other";
            break;
        }
        expect_only(&c, 30, 3, "changed");
    }
}

/* Edit row i of a fresh chain and recompute its hashes, as a careful attacker would. */
static void rewrite(chain *ch, size_t i)
{
    hx_chain_link l;
    build(ch, 6);
    ch->r[i].ev.user = "mallory";
    assert_int_equal(hx_chain_next((int64_t)i, ch->r[i - 1].hash, &ch->r[i].ev, &l), 0);
    memcpy(ch->r[i].content, l.content_hash, HX_CHAIN_HASH_LEN);
    memcpy(ch->r[i].hash, l.hash, HX_CHAIN_HASH_LEN);
}

/* Recomputed hashes: the next row's link shows the edit, or the head for the last row. */
static void test_changed_with_recomputed_hashes(void **state)
{
    (void)state;
    rewrite(&c, 2);
    expect_only(&c, 30, 3, "changed");
    rewrite(&c, 5);
    expect_only(&c, 60, 6, "head_mismatch");
}

static void test_hash_columns_changed(void **state)
{
    (void)state;
    build(&c, 6);
    c.r[3].hash[0] ^= 1;
    expect_only(&c, 40, 4, "changed");
    build(&c, 6);
    c.r[3].prev[31] ^= 1;
    expect_only(&c, 40, 4, "changed");
    build(&c, 6);
    c.r[3].content[5] ^= 1;
    expect_only(&c, 40, 4, "changed");
}

static void test_deleted(void **state)
{
    (void)state;
    build(&c, 6);
    c.r[2].gone = true;
    expect_only(&c, 40, 3, "missing"); /* seq 3 is gone; event 40 follows the gap */

    build(&c, 6);
    c.r[5].gone = true;
    expect_only(&c, 0, 6, "missing"); /* the head still says 6 */

    build(&c, 6);
    c.r[0].gone = true;
    expect_only(&c, 20, 1, "missing");

    build(&c, 6);
    c.r[2].gone = c.r[3].gone = true; /* one gap, one problem */
    expect_only(&c, 50, 3, "missing");
}

static void test_ids_swapped(void **state)
{
    (void)state;
    build(&c, 6);
    c.r[1].ev.id = 50;
    c.r[4].ev.id = 20;
    expect_pair(&c, 50, 2, 20, 5, "reordered");

    build(&c, 6); /* neighbours */
    c.r[2].ev.id = 40;
    c.r[3].ev.id = 30;
    expect_pair(&c, 40, 3, 30, 4, "reordered");
}

static void test_seqs_swapped(void **state)
{
    (void)state;
    build(&c, 6);
    c.r[1].seq = 5;
    c.r[4].seq = 2;
    expect_pair(&c, 50, 2, 20, 5, "reordered");
}

static void test_contents_swapped(void **state)
{
    (void)state;
    build(&c, 6);
    hx_event t = c.r[1].ev;
    int64_t id1 = c.r[1].ev.id, id4 = c.r[4].ev.id;
    c.r[1].ev = c.r[4].ev;
    c.r[4].ev = t;
    c.r[1].ev.id = id1;
    c.r[4].ev.id = id4;
    expect_pair(&c, 20, 2, 50, 5, "reordered");
}

/* A row moved in from another chain: named once, the rest of the chain untouched. */
static void test_intruder(void **state)
{
    (void)state;
    build(&c, 6);
    rec *in = &c.r[c.n++];
    *in = c.r[2];
    in->ev.id = 35;
    in->ev.room = "lobby"; /* was "other" when it was hashed */
    in->prev[0] ^= 1;      /* it linked into its own chain */
    in->content[0] ^= 1;
    expect_only(&c, 35, 3, "changed");

    /* Two intruders at seq 1: the chain's own first row still wins. */
    build(&c, 6);
    in = &c.r[c.n++];
    *in = c.r[0];
    in->ev.id = 5;
    in->ev.user = "mallory";
    expect_only(&c, 5, 1, "changed");
}

/* A fresh chain of 6 pruned up to seq `pruned`, as retention leaves it. */
static void build_pruned(chain *ch, int pruned)
{
    build(ch, 6);
    for (int i = 0; i < pruned; i++)
        ch->r[i].gone = true;
    ch->has_anchor = true;
    ch->anchor_seq = pruned;
    memcpy(ch->anchor, ch->r[pruned - 1].hash, HX_CHAIN_HASH_LEN);
}

static void test_anchor(void **state)
{
    (void)state;
    build_pruned(&c, 3);
    assert_int_equal(run(&c, &s), 0);
    c.anchor[0] ^= 1;
    expect_only(&c, 40, 4, "anchor_mismatch");
    build_pruned(&c, 6); /* everything pruned: the anchor is the head */
    assert_int_equal(run(&c, &s), 0);
}

static void test_head(void **state)
{
    (void)state;
    build(&c, 6);
    c.head_seq = 5;
    memcpy(c.head, c.r[4].hash, HX_CHAIN_HASH_LEN);
    expect_only(&c, 60, 6, "head_mismatch"); /* a record past the head */

    build(&c, 6);
    c.head[0] ^= 1;
    expect_only(&c, 60, 6, "head_mismatch");
}

static void test_redacted_rows_verify(void **state)
{
    (void)state;
    build(&c, 6);
    for (int i = 1; i < 4; i++) {
        hx_event *e = &c.r[i].ev;
        e->user = e->device = e->sid = e->code = e->detail = NULL;
        c.r[i].redacted = true;
    }
    assert_int_equal(run(&c, &s), 0);
    c.r[2].ev.ts_ms++; /* ts and kind stay covered by the link */
    expect_only(&c, 30, 3, "changed");
    c.r[2].ev.ts_ms--;
    c.r[3].ev.user = "back"; /* a redacted row has no content */
    expect_only(&c, 40, 4, "changed");
}

/* More problems than are held back at once: every one reported, in order. */
static void test_many_problems(void **state)
{
    (void)state;
    build(&c, 150);
    for (size_t i = 0; i < 150; i += 2)
        c.r[i].ev.detail = "{\"n\":9}";
    assert_int_equal(run(&c, &s), 75);
    for (size_t i = 0; i < 75; i++)
        expect(&s, i, (int64_t)(2 * i + 1) * 10, (int64_t)(2 * i + 1), "changed");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sound_chain),
        cmocka_unit_test(test_content_changed),
        cmocka_unit_test(test_changed_with_recomputed_hashes),
        cmocka_unit_test(test_hash_columns_changed),
        cmocka_unit_test(test_deleted),
        cmocka_unit_test(test_ids_swapped),
        cmocka_unit_test(test_seqs_swapped),
        cmocka_unit_test(test_contents_swapped),
        cmocka_unit_test(test_intruder),
        cmocka_unit_test(test_anchor),
        cmocka_unit_test(test_head),
        cmocka_unit_test(test_redacted_rows_verify),
        cmocka_unit_test(test_many_problems),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
