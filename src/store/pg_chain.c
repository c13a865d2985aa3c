/*
 * The audit chain's rows in PostgreSQL (chain.h): reading a row of
 * HX__PG_EVENT_COLS back, a chain's ends (chain_heads, chain_anchors), and
 * appending a record as the next link of its room's chain.
 *
 * Appending happens inside the caller's transaction (append_event's own, or
 * one that also writes what the record is about). It first takes the
 * chain's advisory lock, held until that transaction ends, and only then
 * reads the head: under READ COMMITTED each statement sees what committed
 * before it began, so the head read after the lock is the latest one, and a
 * second node appending to the same room waits for the first to commit. The
 * lock and the read must be two statements: one statement's snapshot is
 * taken before it could wait for the lock. A row lock on the head would not
 * do for a chain's first record, which has no head row yet.
 *
 * Ids come from an identity column; a room's records get increasing ids in
 * seq order because each is drawn under the chain's lock, which the
 * verifier's id order check relies on.
 */
#include "store/pg_internal.h"

#include <string.h>

void hx__pg_read_row(const PGresult *r, int row, hx_chain_row *out)
{
    memset(out, 0, sizeof *out);
    out->ev.id = hx__pg_int_at(r, row, 0);
    out->ev.ts_ms = hx__pg_int_at(r, row, 1);
    out->ev.kind = hx__pg_text_at(r, row, 2);
    out->ev.room = hx__pg_text_at(r, row, 3);
    out->ev.user = hx__pg_text_at(r, row, 4);
    out->ev.device = hx__pg_text_at(r, row, 5);
    out->ev.sid = hx__pg_text_at(r, row, 6);
    out->ev.code = hx__pg_text_at(r, row, 7);
    out->ev.detail = hx__pg_text_at(r, row, 8);
    out->seq = out->ev.seq = hx__pg_int_at(r, row, 9); /* NULL reads 0: unchained */
    out->redacted = out->ev.redacted = hx__pg_int_at(r, row, 10) != 0;
    out->prev_hash = hx__pg_bytes_at(r, row, 11, &out->prev_len);
    out->content_hash = hx__pg_bytes_at(r, row, 12, &out->content_len);
    out->hash = hx__pg_bytes_at(r, row, 13, &out->hash_len);
    /* The public event carries only well-formed hashes. */
    out->ev.prev_hash = out->prev_len == HX_CHAIN_HASH_LEN ? out->prev_hash : NULL;
    out->ev.content_hash = out->content_len == HX_CHAIN_HASH_LEN ? out->content_hash : NULL;
    out->ev.hash = out->hash_len == HX_CHAIN_HASH_LEN ? out->hash : NULL;
}

int hx__pg_chain_end(hx__pg_store *s, const char *table, const char *room, int64_t *seq,
                     uint8_t hash[HX_CHAIN_HASH_LEN], size_t *hash_len)
{
    hx__pg_params p = {0};
    char sql[96];
    PGresult *r;
    int found;

    *seq = 0;
    *hash_len = 0;
    memset(hash, 0, HX_CHAIN_HASH_LEN);
    /* table is one of two constant names, never a value. */
    snprintf(sql, sizeof sql, "SELECT seq, hash FROM %s WHERE room_key = $1", table);
    hx__pg_text(&p, room ? room : HX__PG_SERVER_KEY);
    if (!(r = hx__pg_query(s, sql, &p, "chain end", NULL))) return HX_STORE_ERROR;
    found = PQntuples(r) > 0;
    if (found) {
        const uint8_t *h = hx__pg_bytes_at(r, 0, 1, hash_len);
        *seq = hx__pg_int_at(r, 0, 0);
        if (h) memcpy(hash, h, *hash_len < HX_CHAIN_HASH_LEN ? *hash_len : HX_CHAIN_HASH_LEN);
    }
    PQclear(r);
    return found;
}

int hx__pg_append_linked(hx__pg_store *s, const hx_event *ev)
{
    const char *key;
    uint8_t head_hash[HX_CHAIN_HASH_LEN];
    hx__pg_params lock = {0}, ins = {0}, head = {0};
    size_t head_len;
    int64_t head_seq;
    hx_chain_link l;
    int found;

    if (!ev || !ev->kind) return hx__pg_misuse(s, "append_event: an event needs a kind");
    /* "" is the server chain's key: a room is named, or NULL. */
    if (ev->room && !ev->room[0]) return hx__pg_misuse(s, "append_event: an empty room name");
    key = ev->room ? ev->room : HX__PG_SERVER_KEY;
    hx__pg_text(&lock, key);
    if (hx__pg_run(s, "SELECT pg_advisory_xact_lock(" HX__PG_LOCK_CHAIN ", hashtext($1))", &lock,
                   "append_event: lock", NULL))
        return HX_STORE_ERROR;
    found = hx__pg_chain_end(s, "chain_heads", ev->room, &head_seq, head_hash, &head_len);
    if (found < 0) return HX_STORE_ERROR;
    if (hx_chain_next(head_seq, found ? head_hash : NULL, ev, &l))
        return hx__pg_misuse(s, "append_event: hashing failed");

    hx__pg_int(&ins, ev->ts_ms);
    hx__pg_text(&ins, ev->kind);
    hx__pg_text(&ins, ev->room);
    hx__pg_text(&ins, ev->user);
    hx__pg_text(&ins, ev->device);
    hx__pg_text(&ins, ev->sid);
    hx__pg_text(&ins, ev->code);
    hx__pg_text(&ins, ev->detail);
    hx__pg_int(&ins, l.seq);
    hx__pg_bytes(&ins, l.prev_hash, HX_CHAIN_HASH_LEN);
    hx__pg_bytes(&ins, l.content_hash, HX_CHAIN_HASH_LEN);
    hx__pg_bytes(&ins, l.hash, HX_CHAIN_HASH_LEN);
    if (hx__pg_run(s,
                   "INSERT INTO events(ts_ms, kind, room, user_id, device, sid, code, detail,"
                   " seq, prev_hash, content_hash, hash)"
                   " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                   &ins, "append_event", NULL))
        return HX_STORE_ERROR;

    hx__pg_text(&head, key);
    hx__pg_int(&head, l.seq);
    hx__pg_bytes(&head, l.hash, HX_CHAIN_HASH_LEN);
    return hx__pg_run(s,
                      "INSERT INTO chain_heads(room_key, seq, hash) VALUES ($1, $2, $3)"
                      " ON CONFLICT (room_key) DO UPDATE SET seq = excluded.seq,"
                      " hash = excluded.hash",
                      &head, "append_event: head", NULL);
}
