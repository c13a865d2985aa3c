/*
 * sweep for the SQLite store: expired tickets, revocations and sanctions are deleted;
 * events past their class's retention (DESIGN §6) are redacted, then each
 * chain's leading run of redacted records is pruned behind an anchor. All
 * in one transaction: a crash leaves the store as before the sweep.
 *
 * Why redact rather than delete. A record's hash is the next record's
 * prev_hash: deleting one from the middle of a chain would be
 * indistinguishable from tampering. Redaction sets the content columns
 * (user_id, device, sid, code, detail) to NULL and redacted = 1 and keeps
 * what the chain needs: seq, ts_ms, kind, room (the chain key) and the three
 * hashes, so verification still checks every link from the kept
 * content_hash. Only a chain's front can go: once its first records are
 * all redacted they are deleted and chain_anchors remembers the last one's
 * (seq, hash), where verification then starts.
 *
 * Pruning walks the front link by link from the anchor and stops at the
 * first record that is not redacted or does not link (seq, prev_hash, its
 * own hash): a broken link stays in place for verify_chain to report
 * rather than being swept away under a fresh anchor.
 *
 * Work is bounded: expired rows are redacted in one statement each class,
 * and at most HX__SQ_PRUNE_MAX_ROWS rows are pruned per sweep; chains
 * waiting for it stay in chain_prune for the next sweep (hearthd sweeps
 * every minute), so a first sweep over a large old store does not stall
 * the daemon.
 */
#include "store/sqlite_internal.h"

#include <stdlib.h>
#include <string.h>

#define HX__SQ_PRUNE_BATCH 256
#define HX__SQ_PRUNE_MAX_ROWS 20000

static void class_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    sqlite3_result_int(ctx, (int)hx_event_class((const char *)sqlite3_value_text(argv[0])));
}

int hx__sqlite_register_functions(sqlite3 *db)
{
    return sqlite3_create_function_v2(db, "hx_event_class", 1,
                                      SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, NULL,
                                      class_fn, NULL, NULL, NULL) == SQLITE_OK
               ? 0
               : -1;
}

/* Run a sweep statement bound to (cutoff[, class]); add the rows it changed to *n. */
static int run_cutoff(hx__sqlite_store *s, enum hx__sq_stmt id, int64_t cutoff, int cls, long *n)
{
    sqlite3_stmt *st = s->stmt[id];
    if (sqlite3_bind_int64(st, 1, cutoff) ||
        (sqlite3_bind_parameter_count(st) > 1 && sqlite3_bind_int(st, 2, cls)))
        return hx__sq_bind_fail(s, st, "sweep");
    if (hx__sq_run(s, st, "sweep")) return HX_STORE_ERROR;
    if (n) *n += (long)sqlite3_changes64(s->db);
    return HX_STORE_OK;
}

/* Redact one class's expired events (retention_ms <= 0 keeps them). */
static int expire_class(hx__sqlite_store *s, int64_t now_ms, int64_t retention_ms,
                        hx_audit_class cls, long *n)
{
    int64_t cutoff;

    if (retention_ms <= 0 || __builtin_sub_overflow(now_ms, retention_ms, &cutoff))
        return HX_STORE_OK; /* a retention reaching past the epoch expires nothing */
    if (run_cutoff(s, HX__SQ_SWEEP_MARK, cutoff, (int)cls, NULL) ||
        run_cutoff(s, HX__SQ_SWEEP_REDACT, cutoff, (int)cls, n) ||
        run_cutoff(s, HX__SQ_SWEEP_UNCHAINED, cutoff, (int)cls, n))
        return HX_STORE_ERROR;
    return HX_STORE_OK;
}

/* The front of a chain being pruned: the anchor so far. */
typedef struct front {
    int64_t seq;
    uint8_t hash[HX_CHAIN_HASH_LEN];
} front;

/* Read up to max prunable rows after f into ids, moving f. *more: the batch was full. */
static int read_batch(hx__sqlite_store *s, const char *room, front *f, int64_t *ids, long max,
                      long *n, bool *more)
{
    sqlite3_stmt *st = s->stmt[HX__SQ_PRUNE_ROWS];
    hx_chain_row r;
    long fetched = 0;
    int rc;

    *n = 0;
    *more = false;
    if (hx__sq_bind_text(st, 1, room) || sqlite3_bind_int64(st, 2, f->seq) ||
        sqlite3_bind_int64(st, 3, max))
        return hx__sq_bind_fail(s, st, "sweep: prune");
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        fetched++;
        hx__sq_read_row(st, &r);
        if (!hx_chain_prunable(f->seq, f->hash, &r)) break;
        ids[(*n)++] = r.ev.id;
        f->seq = r.seq;
        memcpy(f->hash, r.hash, HX_CHAIN_HASH_LEN);
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        int ret = hx__sq_fail(s, "sweep: prune");
        hx__sq_done(st);
        return ret;
    }
    *more = rc == SQLITE_ROW ? false : fetched == max; /* stopped early, or maybe more */
    hx__sq_done(st);
    return HX_STORE_OK;
}

static int delete_ids(hx__sqlite_store *s, const int64_t *ids, long n)
{
    sqlite3_stmt *st = s->stmt[HX__SQ_PRUNE_DELETE];
    for (long i = 0; i < n; i++) {
        if (sqlite3_bind_int64(st, 1, ids[i])) return hx__sq_bind_fail(s, st, "sweep: prune");
        if (hx__sq_run(s, st, "sweep: prune")) return HX_STORE_ERROR;
    }
    return HX_STORE_OK;
}

static int put_anchor(hx__sqlite_store *s, const char *room, const front *f)
{
    sqlite3_stmt *st = s->stmt[HX__SQ_ANCHOR_PUT];
    if (hx__sq_bind_key(st, 1, room) || sqlite3_bind_int64(st, 2, f->seq) ||
        sqlite3_bind_blob(st, 3, f->hash, HX_CHAIN_HASH_LEN, SQLITE_STATIC))
        return hx__sq_bind_fail(s, st, "sweep: anchor");
    return hx__sq_run(s, st, "sweep: anchor");
}

/* Prune room's leading redacted run within *budget rows. 1 done, 0 out of budget, <0 error. */
static int prune_chain(hx__sqlite_store *s, const char *room, long *budget)
{
    int64_t ids[HX__SQ_PRUNE_BATCH];
    size_t hash_len;
    front f;
    bool more = true;
    int found = hx__sq_chain_end(s, HX__SQ_ANCHOR_GET, room, &f.seq, f.hash, &hash_len);

    if (found < 0) return HX_STORE_ERROR;
    while (more && *budget > 0) {
        long n, max = *budget < HX__SQ_PRUNE_BATCH ? *budget : HX__SQ_PRUNE_BATCH;
        if (read_batch(s, room, &f, ids, max, &n, &more) || delete_ids(s, ids, n) ||
            (n && put_anchor(s, room, &f)))
            return HX_STORE_ERROR;
        *budget -= n;
    }
    return more ? 0 : 1;
}

/* Work through chain_prune until it is empty or the budget is spent. */
static int prune_pending(hx__sqlite_store *s)
{
    sqlite3_stmt *next = s->stmt[HX__SQ_PRUNE_NEXT], *done = s->stmt[HX__SQ_PRUNE_DONE];
    long budget = HX__SQ_PRUNE_MAX_ROWS;
    int rc = HX_STORE_OK;

    while (budget > 0 && rc == HX_STORE_OK) {
        int step = sqlite3_step(next);
        char *key;
        if (step != SQLITE_ROW) {
            rc = step == SQLITE_DONE ? HX_STORE_OK : hx__sq_fail(s, "sweep: prune");
            hx__sq_done(next);
            break;
        }
        key = strdup((const char *)sqlite3_column_text(next, 0)); /* the walk below resets next */
        hx__sq_done(next);
        if (!key) return hx__sq_misuse(s, "sweep: out of memory");
        rc = prune_chain(s, key[0] ? key : NULL, &budget);
        if (rc == 1) {
            rc = hx__sq_bind_text(done, 1, key) ? hx__sq_bind_fail(s, done, "sweep: prune")
                                                : hx__sq_run(s, done, "sweep: prune");
        }
        free(key);
    }
    return rc;
}

long hx__sqlite_sweep(hx_store *base, int64_t now_ms, const hx_retention *r)
{
    hx__sqlite_store *s = hx__sq_from(base);
    static const hx_retention keep = {0};
    long removed = 0;

    if (!r) r = &keep;
    if (hx__sq_run(s, s->stmt[HX__SQ_BEGIN], "sweep: begin")) return HX_STORE_ERROR;
    if (run_cutoff(s, HX__SQ_SWEEP_TICKETS, now_ms, 0, &removed) ||
        run_cutoff(s, HX__SQ_SWEEP_REVOCATIONS, now_ms, 0, &removed) ||
        run_cutoff(s, HX__SQ_SWEEP_SANCTIONS, now_ms, 0, &removed) ||
        expire_class(s, now_ms, r->session_ms, HX_CLASS_SESSION, &removed) ||
        expire_class(s, now_ms, r->moderation_ms, HX_CLASS_MODERATION, &removed) ||
        prune_pending(s) || hx__sq_run(s, s->stmt[HX__SQ_COMMIT], "sweep: commit")) {
        hx__sq_rollback(s);
        return HX_STORE_ERROR;
    }
    return removed;
}
