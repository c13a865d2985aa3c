/*
 * The audit chain's rows in SQLite (chain.h): reading a row of
 * HX__SQ_EVENT_COLS back, a chain's ends (chain_heads, chain_anchors), and
 * appending a record as the next link of its room's chain.
 *
 * Appending happens inside the caller's write transaction (append_event's
 * own, or one that also writes what the record is about), so the record,
 * its seq and the moved head are durable together or not at all. The head
 * is what shows a missing tail, and reading it under the write lock is
 * what keeps two writers from extending the same head.
 */
#include "store/sqlite_internal.h"

#include <string.h>

static const char *col_text(sqlite3_stmt *st, int i)
{
    return (const char *)sqlite3_column_text(st, i);
}

/* A blob column: its bytes and length (NULL, 0 for NULL). */
static const uint8_t *col_blob(sqlite3_stmt *st, int i, size_t *len)
{
    const uint8_t *p = sqlite3_column_blob(st, i); /* blob before bytes, per the docs */
    *len = (size_t)sqlite3_column_bytes(st, i);
    return p;
}

void hx__sq_read_row(sqlite3_stmt *st, hx_chain_row *r)
{
    memset(r, 0, sizeof *r);
    r->ev.id = sqlite3_column_int64(st, 0);
    r->ev.ts_ms = sqlite3_column_int64(st, 1);
    r->ev.kind = col_text(st, 2);
    r->ev.room = col_text(st, 3);
    r->ev.user = col_text(st, 4);
    r->ev.device = col_text(st, 5);
    r->ev.sid = col_text(st, 6);
    r->ev.code = col_text(st, 7);
    r->ev.detail = col_text(st, 8);
    r->seq = r->ev.seq = sqlite3_column_int64(st, 9); /* NULL reads 0: unchained */
    r->redacted = r->ev.redacted = sqlite3_column_int(st, 10) != 0;
    r->prev_hash = col_blob(st, 11, &r->prev_len);
    r->content_hash = col_blob(st, 12, &r->content_len);
    r->hash = col_blob(st, 13, &r->hash_len);
    /* The public event carries only well-formed hashes. */
    r->ev.prev_hash = r->prev_len == HX_CHAIN_HASH_LEN ? r->prev_hash : NULL;
    r->ev.content_hash = r->content_len == HX_CHAIN_HASH_LEN ? r->content_hash : NULL;
    r->ev.hash = r->hash_len == HX_CHAIN_HASH_LEN ? r->hash : NULL;
}

int hx__sq_chain_end(hx__sqlite_store *s, enum hx__sq_stmt id, const char *room, int64_t *seq,
                     uint8_t hash[HX_CHAIN_HASH_LEN], size_t *hash_len)
{
    sqlite3_stmt *st = s->stmt[id];
    int rc, ret = 0;

    *seq = 0;
    *hash_len = 0;
    memset(hash, 0, HX_CHAIN_HASH_LEN);
    if (hx__sq_bind_key(st, 1, room)) return hx__sq_bind_fail(s, st, "chain end");
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const uint8_t *h = col_blob(st, 1, hash_len);
        *seq = sqlite3_column_int64(st, 0);
        if (h) memcpy(hash, h, *hash_len < HX_CHAIN_HASH_LEN ? *hash_len : HX_CHAIN_HASH_LEN);
        ret = 1;
    } else if (rc != SQLITE_DONE) {
        ret = hx__sq_fail(s, "chain end");
    }
    hx__sq_done(st);
    return ret;
}

static int bind_hash(sqlite3_stmt *st, int i, const uint8_t *h)
{
    return sqlite3_bind_blob(st, i, h, HX_CHAIN_HASH_LEN, SQLITE_STATIC);
}

int hx__sq_append_linked(hx__sqlite_store *s, const hx_event *ev)
{
    sqlite3_stmt *ins = s->stmt[HX__SQ_APPEND_EVENT], *head = s->stmt[HX__SQ_HEAD_PUT];
    uint8_t head_hash[HX_CHAIN_HASH_LEN];
    size_t head_len;
    int64_t head_seq;
    hx_chain_link l;
    int found;

    if (!ev || !ev->kind) return hx__sq_misuse(s, "append_event: an event needs a kind");
    /* "" is the server chain's key: a room is named, or NULL. */
    if (ev->room && !ev->room[0]) return hx__sq_misuse(s, "append_event: an empty room name");
    found = hx__sq_chain_end(s, HX__SQ_HEAD_GET, ev->room, &head_seq, head_hash, &head_len);
    if (found < 0) return HX_STORE_ERROR;
    if (hx_chain_next(head_seq, found ? head_hash : NULL, ev, &l))
        return hx__sq_misuse(s, "append_event: hashing failed");
    if (sqlite3_bind_int64(ins, 1, ev->ts_ms) || hx__sq_bind_text(ins, 2, ev->kind) ||
        hx__sq_bind_text(ins, 3, ev->room) || hx__sq_bind_text(ins, 4, ev->user) ||
        hx__sq_bind_text(ins, 5, ev->device) || hx__sq_bind_text(ins, 6, ev->sid) ||
        hx__sq_bind_text(ins, 7, ev->code) || hx__sq_bind_text(ins, 8, ev->detail) ||
        sqlite3_bind_int64(ins, 9, l.seq) || bind_hash(ins, 10, l.prev_hash) ||
        bind_hash(ins, 11, l.content_hash) || bind_hash(ins, 12, l.hash))
        return hx__sq_bind_fail(s, ins, "append_event");
    if (hx__sq_run(s, ins, "append_event")) return HX_STORE_ERROR;
    if (hx__sq_bind_key(head, 1, ev->room) || sqlite3_bind_int64(head, 2, l.seq) ||
        bind_hash(head, 3, l.hash))
        return hx__sq_bind_fail(s, head, "append_event: head");
    return hx__sq_run(s, head, "append_event: head");
}
