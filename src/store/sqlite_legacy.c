/*
 * Migration v2's C half: chain the events a v1 store wrote (chain.h), so
 * that an upgraded store verifies whole instead of carrying an unverifiable
 * past. It runs inside the migration's transaction on the bare connection,
 * before the store's statements exist, and visits rows in id order, the
 * order they were written in: each one is linked after its room's head in
 * chain_heads, which it then moves.
 *
 * One row per query (id > the last one) rather than one long SELECT: the
 * loop updates the table it walks, and a fresh query each time keeps that
 * well defined. Legacy stores are small; this runs once.
 */
#include "store/sqlite_internal.h"

#include <stdio.h>
#include <string.h>

enum { NEXT, HEAD_GET, HEAD_PUT, LINK, N_STMT };

static const char *const sql[N_STMT] = {
    [NEXT] = "SELECT " HX__SQ_EVENT_COLS " FROM events WHERE id > ?1 ORDER BY id LIMIT 1",
    [HEAD_GET] = "SELECT seq, hash FROM chain_heads WHERE room_key = ?1",
    [HEAD_PUT] = "INSERT INTO chain_heads(room_key, seq, hash) VALUES (?1, ?2, ?3)"
                 " ON CONFLICT(room_key) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
    [LINK] = "UPDATE events SET seq = ?2, prev_hash = ?3, content_hash = ?4, hash = ?5"
             " WHERE id = ?1",
};

/* The room's head into *seq/hash (seq 0: none yet). */
static int read_head(sqlite3_stmt *get, const char *key, int64_t *seq,
                     uint8_t hash[HX_CHAIN_HASH_LEN])
{
    int rc;

    *seq = 0;
    if (hx__sq_bind_text(get, 1, key)) return -1;
    rc = sqlite3_step(get);
    if (rc == SQLITE_ROW && sqlite3_column_bytes(get, 1) == HX_CHAIN_HASH_LEN) {
        *seq = sqlite3_column_int64(get, 0);
        memcpy(hash, sqlite3_column_blob(get, 1), HX_CHAIN_HASH_LEN);
    }
    hx__sq_done(get);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

/* Link one row after its room's head and move the head. */
static int link_row(sqlite3_stmt *st[N_STMT], const hx_chain_row *r)
{
    const char *key = r->ev.room ? r->ev.room : HX__SQ_SERVER_KEY;
    uint8_t head[HX_CHAIN_HASH_LEN];
    int64_t head_seq;
    hx_chain_link l;
    int ok;

    if (read_head(st[HEAD_GET], key, &head_seq, head) ||
        hx_chain_next(head_seq, head_seq ? head : NULL, &r->ev, &l))
        return -1;
    ok = sqlite3_bind_int64(st[LINK], 1, r->ev.id) == SQLITE_OK &&
         sqlite3_bind_int64(st[LINK], 2, l.seq) == SQLITE_OK &&
         sqlite3_bind_blob(st[LINK], 3, l.prev_hash, HX_CHAIN_HASH_LEN, SQLITE_STATIC) == 0 &&
         sqlite3_bind_blob(st[LINK], 4, l.content_hash, HX_CHAIN_HASH_LEN, SQLITE_STATIC) == 0 &&
         sqlite3_bind_blob(st[LINK], 5, l.hash, HX_CHAIN_HASH_LEN, SQLITE_STATIC) == 0 &&
         sqlite3_step(st[LINK]) == SQLITE_DONE;
    hx__sq_done(st[LINK]);
    if (!ok) return -1;
    ok = hx__sq_bind_text(st[HEAD_PUT], 1, key) == SQLITE_OK &&
         sqlite3_bind_int64(st[HEAD_PUT], 2, l.seq) == SQLITE_OK &&
         sqlite3_bind_blob(st[HEAD_PUT], 3, l.hash, HX_CHAIN_HASH_LEN, SQLITE_STATIC) == 0 &&
         sqlite3_step(st[HEAD_PUT]) == SQLITE_DONE;
    hx__sq_done(st[HEAD_PUT]);
    return ok ? 0 : -1;
}

int hx__sqlite_chain_legacy(sqlite3 *db, char *err, size_t errlen)
{
    sqlite3_stmt *st[N_STMT] = {0};
    int64_t last = 0;
    int rc = SQLITE_DONE, ret = -1;

    for (int i = 0; i < N_STMT; i++)
        if (sqlite3_prepare_v2(db, sql[i], -1, &st[i], NULL) != SQLITE_OK) goto out;
    for (;;) {
        hx_chain_row r;
        if (sqlite3_bind_int64(st[NEXT], 1, last) != SQLITE_OK) goto out;
        if ((rc = sqlite3_step(st[NEXT])) != SQLITE_ROW) break;
        hx__sq_read_row(st[NEXT], &r);
        last = r.ev.id;
        /* The row's strings live in st[NEXT] until its reset: link first. */
        rc = link_row(st, &r);
        hx__sq_done(st[NEXT]);
        if (rc) goto out;
    }
    hx__sq_done(st[NEXT]);
    ret = rc == SQLITE_DONE ? 0 : -1;
out:
    if (ret) snprintf(err, errlen, "chain the existing events: %s", sqlite3_errmsg(db));
    for (int i = 0; i < N_STMT; i++)
        sqlite3_finalize(st[i]);
    return ret;
}
