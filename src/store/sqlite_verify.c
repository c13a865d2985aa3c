/*
 * verify_chain for the SQLite store: the rows of each chain, fed to the
 * pure verifier (chain_verify.c) between its anchor and its head.
 *
 * Everything is read in one read transaction, a snapshot: a writer in
 * another process carries on (WAL) without tearing a chain in two. Each
 * chain is read twice side by side: by_seq in (seq, id) order drives the
 * walk, by_id in id order supplies, for each row that passes its own
 * checks, the id that should sit at its position (the verifier's id_rank).
 * Both are index walks, events(room, seq) and events(room, id).
 *
 * Cost: every chained row is hashed twice (once per reading). Verification
 * is an operator's occasional question, not a hot path.
 */
#include "store/sqlite_internal.h"

#include <limits.h>
#include <string.h>

typedef struct walk {
    hx__sqlite_store *s;
    hx_chain_cb cb;
    void *arg;
    hx_chain_summary *sum;
    long problems;
} walk;

/* One reading of the chain (hx_chain_next_fn): the statement's next row. */
static int step_row(void *arg, hx_chain_row *r)
{
    sqlite3_stmt *st = arg;
    int rc = sqlite3_step(st);

    if (rc == SQLITE_ROW) {
        hx__sq_read_row(st, r);
        return 1;
    }
    return rc == SQLITE_DONE ? 0 : -1;
}

static int verify_one(walk *w, const char *room)
{
    hx__sqlite_store *s = w->s;
    sqlite3_stmt *by_seq = s->stmt[HX__SQ_CHAIN_BY_SEQ], *by_id = s->stmt[HX__SQ_CHAIN_BY_ID];
    uint8_t anchor[HX_CHAIN_HASH_LEN], head[HX_CHAIN_HASH_LEN];
    size_t anchor_len, head_len;
    int64_t anchor_seq, head_seq;
    hx_chain_verifier v;
    int has_anchor, has_head;
    long n;

    has_anchor = hx__sq_chain_end(s, HX__SQ_ANCHOR_GET, room, &anchor_seq, anchor, &anchor_len);
    if (has_anchor < 0) return HX_STORE_ERROR;
    has_head = hx__sq_chain_end(s, HX__SQ_HEAD_GET, room, &head_seq, head, &head_len);
    if (has_head < 0) return HX_STORE_ERROR;
    if (hx__sq_bind_text(by_seq, 1, room) || hx__sq_bind_text(by_id, 1, room)) {
        hx__sq_done(by_id);
        return hx__sq_bind_fail(s, by_seq, "verify_chain");
    }
    hx_chain_verify_begin(&v, room, anchor_seq, has_anchor ? anchor : NULL, anchor_len, w->cb,
                          w->arg);
    n = hx_chain_verify_rows(&v, step_row, by_seq, step_row, by_id, w->sum);
    if (n < 0) {
        int ret = hx__sq_fail(s, "verify_chain");
        hx__sq_done(by_seq);
        hx__sq_done(by_id);
        return ret;
    }
    hx__sq_done(by_seq);
    hx__sq_done(by_id);
    w->problems += hx_chain_verify_end(&v, has_head, head_seq, head, head_len);
    if (n || has_anchor || has_head) w->sum->chains++;
    return HX_STORE_OK;
}

static int verify_all(walk *w)
{
    sqlite3_stmt *list = w->s->stmt[HX__SQ_CHAIN_LIST];
    int rc, ret = HX_STORE_OK;

    while (ret == HX_STORE_OK && (rc = sqlite3_step(list)) == SQLITE_ROW) {
        const char *key = (const char *)sqlite3_column_text(list, 0);
        ret = verify_one(w, key && key[0] ? key : NULL); /* key lives until the next step */
    }
    if (ret == HX_STORE_OK && rc != SQLITE_DONE) ret = hx__sq_fail(w->s, "verify_chain: chains");
    hx__sq_done(list);
    return ret;
}

static int count_unchained(walk *w, const char *room, bool all)
{
    sqlite3_stmt *st = w->s->stmt[all ? HX__SQ_UNCHAINED_ALL : HX__SQ_UNCHAINED_ROOM];
    int ret = HX_STORE_OK;

    if (!all && hx__sq_bind_text(st, 1, room)) return hx__sq_bind_fail(w->s, st, "verify_chain");
    if (sqlite3_step(st) == SQLITE_ROW)
        w->sum->unchained = (long)sqlite3_column_int64(st, 0);
    else
        ret = hx__sq_fail(w->s, "verify_chain: unchained");
    hx__sq_done(st);
    return ret;
}

int hx__sqlite_verify_chain(hx_store *base, const char *room, hx_chain_cb cb, void *arg,
                            hx_chain_summary *sum)
{
    hx__sqlite_store *s = hx__sq_from(base);
    hx_chain_summary local;
    walk w = {.s = s, .cb = cb, .arg = arg, .sum = sum ? sum : &local};
    const char *chain = room && room[0] ? room : NULL; /* "" names the server chain */
    int ret;

    memset(w.sum, 0, sizeof *w.sum);
    if (sqlite3_stmt_busy(s->stmt[HX__SQ_CHAIN_BY_SEQ]))
        return hx__sq_misuse(s, "verify_chain: called from its own callback");
    if (hx__sq_run(s, s->stmt[HX__SQ_BEGIN_READ], "verify_chain: begin")) return HX_STORE_ERROR;
    ret = room ? verify_one(&w, chain) : verify_all(&w);
    if (ret == HX_STORE_OK) ret = count_unchained(&w, chain, room == NULL);
    if (ret == HX_STORE_OK) ret = hx__sq_run(s, s->stmt[HX__SQ_COMMIT], "verify_chain: commit");
    if (ret != HX_STORE_OK) {
        hx__sq_rollback(s);
        return HX_STORE_ERROR;
    }
    return w.problems > INT_MAX ? INT_MAX : (int)w.problems;
}
