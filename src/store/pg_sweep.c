/*
 * sweep for the PostgreSQL store, with the SQLite store's semantics
 * (sqlite_sweep.c explains them): expired tickets, revocations and
 * sanctions deleted;
 * events past their class's retention redacted, expired unchained rows
 * deleted; then each touched chain's leading run of redacted records,
 * checked link by link from the anchor (hx_chain_prunable), deleted behind
 * a moved anchor, at most HX__PG_PRUNE_MAX_ROWS per sweep. One transaction.
 *
 * Classes. The class of a kind is hx_event_class(), in C: rather than
 * repeat its prefixes in SQL, the sweep reads the distinct kinds of the
 * live rows past a cutoff (few: kinds are a small fixed set), and redacts
 * each kind of the class with kind as a parameter.
 *
 * Several nodes. Every node sweeps each minute; one sweep at a time is
 * enough and two could move an anchor backwards (each prunes from the anchor
 * it read). A sweep takes the sweep lock without waiting: when another node
 * holds it, this one does nothing and returns 0. Appends go on meanwhile:
 * pruning deletes a chain's front, appends move its head.
 */
#include "store/pg_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HX__PG_PRUNE_BATCH 256
#define HX__PG_PRUNE_MAX_ROWS 20000

/* Redact one class's expired events (retention_ms <= 0 keeps them). */
static int expire_class(hx__pg_store *s, int64_t now_ms, int64_t retention_ms, hx_audit_class cls,
                        long *n)
{
    hx__pg_params p = {0};
    int64_t cutoff;
    PGresult *kinds;
    int ret = HX_STORE_OK;

    if (retention_ms <= 0 || __builtin_sub_overflow(now_ms, retention_ms, &cutoff))
        return HX_STORE_OK; /* a retention reaching past the epoch expires nothing */
    hx__pg_int(&p, cutoff);
    kinds = hx__pg_query(s, "SELECT DISTINCT kind FROM events WHERE redacted = 0 AND ts_ms < $1",
                         &p, "sweep: kinds", NULL);
    if (!kinds) return HX_STORE_ERROR;
    for (int i = 0; i < PQntuples(kinds) && ret == HX_STORE_OK; i++) {
        hx__pg_params k = p;
        if (hx_event_class(hx__pg_text_at(kinds, i, 0)) != cls) continue;
        hx__pg_text(&k, hx__pg_text_at(kinds, i, 0));
        /* Chains whose rows get redacted are noted for pruning; unchained rows go. */
        if (hx__pg_run(s,
                       "INSERT INTO chain_prune(room_key) SELECT DISTINCT " HX__PG_CHAIN_KEY
                       " FROM events WHERE redacted = 0 AND seq IS NOT NULL AND ts_ms < $1"
                       " AND kind = $2 ON CONFLICT DO NOTHING",
                       &k, "sweep: mark", NULL) ||
            hx__pg_run(s,
                       "UPDATE events SET user_id = NULL, device = NULL, sid = NULL, code = NULL,"
                       " detail = NULL, redacted = 1 WHERE redacted = 0 AND seq IS NOT NULL"
                       " AND ts_ms < $1 AND kind = $2",
                       &k, "sweep: redact", n) ||
            hx__pg_run(s, "DELETE FROM events WHERE seq IS NULL AND ts_ms < $1 AND kind = $2", &k,
                       "sweep: unchained", n))
            ret = HX_STORE_ERROR;
    }
    PQclear(kinds);
    return ret;
}

/* The front of a chain being pruned: the anchor so far. */
typedef struct front {
    int64_t seq;
    uint8_t hash[HX_CHAIN_HASH_LEN];
} front;

/* Delete the rows of ids (n of them) with one array parameter, "{1,2,...}". */
static int delete_ids(hx__pg_store *s, const int64_t *ids, long n)
{
    char list[HX__PG_PRUNE_BATCH * 21 + 3];
    size_t at = 0;
    hx__pg_params p = {0};

    list[at++] = '{';
    for (long i = 0; i < n; i++)
        at += (size_t)snprintf(list + at, sizeof list - at, "%s%lld", i ? "," : "",
                               (long long)ids[i]);
    snprintf(list + at, sizeof list - at, "}");
    hx__pg_text(&p, list);
    return hx__pg_run(s, "DELETE FROM events WHERE id = ANY($1::bigint[])", &p, "sweep: prune",
                      NULL);
}

/* Prune up to max rows after f, moving f. *n: rows pruned; *more: maybe more to prune. */
static int prune_batch(hx__pg_store *s, const char *key, front *f, long max, long *n, bool *more)
{
    int64_t ids[HX__PG_PRUNE_BATCH];
    hx__pg_params p = {0}, a = {0};
    bool stopped = false;
    PGresult *r;

    *n = 0;
    hx__pg_text(&p, key);
    hx__pg_int(&p, f->seq);
    hx__pg_int(&p, max);
    r = hx__pg_query(s,
                     "SELECT " HX__PG_EVENT_COLS " FROM events WHERE " HX__PG_CHAIN_KEY " = $1"
                     " AND seq > $2 ORDER BY seq, id LIMIT $3",
                     &p, "sweep: prune", NULL);
    if (!r) return HX_STORE_ERROR;
    for (int i = 0; i < PQntuples(r) && !stopped; i++) {
        hx_chain_row row;
        hx__pg_read_row(r, i, &row);
        if (!(stopped = !hx_chain_prunable(f->seq, f->hash, &row))) {
            ids[(*n)++] = row.ev.id;
            f->seq = row.seq;
            memcpy(f->hash, row.hash, HX_CHAIN_HASH_LEN);
        }
    }
    *more = !stopped && PQntuples(r) == max;
    PQclear(r);
    if (*n == 0) return HX_STORE_OK;
    hx__pg_text(&a, key);
    hx__pg_int(&a, f->seq);
    hx__pg_bytes(&a, f->hash, HX_CHAIN_HASH_LEN);
    if (delete_ids(s, ids, *n) ||
        hx__pg_run(s,
                   "INSERT INTO chain_anchors(room_key, seq, hash) VALUES ($1, $2, $3)"
                   " ON CONFLICT (room_key) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
                   &a, "sweep: anchor", NULL))
        return HX_STORE_ERROR;
    return HX_STORE_OK;
}

/* Prune a chain's leading redacted run within *budget rows. 1 done, 0 out of budget, <0 error. */
static int prune_chain(hx__pg_store *s, const char *key, long *budget)
{
    size_t hash_len;
    front f;
    bool more = true;

    if (hx__pg_chain_end(s, "chain_anchors", key[0] ? key : NULL, &f.seq, f.hash, &hash_len) < 0)
        return HX_STORE_ERROR;
    while (more && *budget > 0) {
        long n, max = *budget < HX__PG_PRUNE_BATCH ? *budget : HX__PG_PRUNE_BATCH;
        if (prune_batch(s, key, &f, max, &n, &more)) return HX_STORE_ERROR;
        *budget -= n;
    }
    return more ? 0 : 1;
}

/* Work through chain_prune until it is empty or the budget is spent. */
static int prune_pending(hx__pg_store *s)
{
    long budget = HX__PG_PRUNE_MAX_ROWS;
    int rc = HX_STORE_OK;

    while (budget > 0 && rc == HX_STORE_OK) {
        hx__pg_params p = {0};
        PGresult *r =
            hx__pg_query(s, "SELECT room_key FROM chain_prune LIMIT 1", NULL, "sweep: prune", NULL);
        if (!r) return HX_STORE_ERROR;
        if (PQntuples(r) == 0) {
            PQclear(r);
            break;
        }
        rc = prune_chain(s, hx__pg_text_at(r, 0, 0), &budget);
        hx__pg_text(&p, hx__pg_text_at(r, 0, 0));
        if (rc == 1)
            rc = hx__pg_run(s, "DELETE FROM chain_prune WHERE room_key = $1", &p, "sweep: prune",
                            NULL);
        PQclear(r);
    }
    return rc;
}

/* Take the sweep lock if it is free: 1 taken, 0 another node sweeps, <0 error. */
static int try_sweep_lock(hx__pg_store *s)
{
    PGresult *r = hx__pg_query(s, "SELECT pg_try_advisory_xact_lock(" HX__PG_LOCK_SWEEP ")", NULL,
                               "sweep: lock", NULL);
    int taken;

    if (!r) return HX_STORE_ERROR;
    taken = PQgetlength(r, 0, 0) == 1 && PQgetvalue(r, 0, 0)[0] != 0; /* binary bool */
    PQclear(r);
    return taken;
}

long hx__pg_sweep(hx_store *base, int64_t now_ms, const hx_retention *r)
{
    hx__pg_store *s = hx__pg_from(base);
    static const hx_retention keep = {0};
    hx__pg_params now = {0};
    long removed = 0;
    int locked;

    if (!r) r = &keep;
    hx__pg_int(&now, now_ms);
    if (hx__pg_begin(s, "sweep: begin")) return HX_STORE_ERROR;
    if ((locked = try_sweep_lock(s)) < 0) goto fail;
    if (locked &&
        (hx__pg_run(s, "DELETE FROM consumed_tickets WHERE expires_ms != 0 AND expires_ms < $1",
                    &now, "sweep", &removed) ||
         hx__pg_run(s, "DELETE FROM revocations WHERE expires_ms != 0 AND expires_ms < $1", &now,
                    "sweep", &removed) ||
         hx__pg_run(s, "DELETE FROM sanctions WHERE expires_ms != 0 AND expires_ms < $1", &now,
                    "sweep", &removed) ||
         expire_class(s, now_ms, r->session_ms, HX_CLASS_SESSION, &removed) ||
         expire_class(s, now_ms, r->moderation_ms, HX_CLASS_MODERATION, &removed) ||
         prune_pending(s)))
        goto fail;
    if (hx__pg_commit(s, "sweep: commit")) goto fail;
    return removed;

fail:
    hx__pg_rollback(s);
    return HX_STORE_ERROR;
}
