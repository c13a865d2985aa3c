/*
 * verify_chain for the PostgreSQL store: each chain's rows, between its
 * anchor and its head, fed to the pure verifier (hx_chain_verify_rows).
 *
 * Everything is read in one REPEATABLE READ, READ ONLY transaction: one
 * snapshot, while other nodes go on appending. A chain is read twice side
 * by side, in (seq, id) order and in id order (the verifier's id_rank), each
 * a page of HX__PG_VERIFY_PAGE rows at a time by keyset ("after the last row
 * read"), along events_chain and events_chain_id: memory stays bounded
 * whatever the chain's length, and no cursor is needed.
 */
#include "store/pg_internal.h"

#include <limits.h>
#include <string.h>

#define HX__PG_VERIFY_PAGE 500

/* One reading of one chain, page by page. */
typedef struct reading {
    hx__pg_store *s;
    const char *key;
    bool by_id; /* id order; else (seq, id) */
    PGresult *page;
    int at;
    bool last_page;
    int64_t last_seq, last_id; /* the last row read */
} reading;

static int fetch(reading *rd)
{
    hx__pg_params p = {0};

    PQclear(rd->page);
    rd->at = 0;
    hx__pg_text(&p, rd->key);
    if (!rd->by_id) hx__pg_int(&p, rd->last_seq);
    hx__pg_int(&p, rd->last_id);
    hx__pg_int(&p, HX__PG_VERIFY_PAGE);
    rd->page = hx__pg_query(
        rd->s,
        rd->by_id ? "SELECT " HX__PG_EVENT_COLS " FROM events WHERE " HX__PG_CHAIN_KEY " = $1"
                    " AND seq IS NOT NULL AND id > $2 ORDER BY id LIMIT $3"
                  : "SELECT " HX__PG_EVENT_COLS " FROM events WHERE " HX__PG_CHAIN_KEY " = $1"
                    " AND seq IS NOT NULL AND (seq, id) > ($2, $3) ORDER BY seq, id LIMIT $4",
        &p, "verify_chain", NULL);
    if (!rd->page) return -1;
    rd->last_page = PQntuples(rd->page) < HX__PG_VERIFY_PAGE;
    return 0;
}

/* hx_chain_next_fn: the reading's next row. */
static int next_row(void *arg, hx_chain_row *r)
{
    reading *rd = arg;

    if (!rd->page || rd->at == PQntuples(rd->page)) {
        if (rd->page && rd->last_page) return 0;
        if (fetch(rd)) return -1;
        if (PQntuples(rd->page) == 0) return 0;
    }
    hx__pg_read_row(rd->page, rd->at++, r);
    rd->last_seq = r->seq;
    rd->last_id = r->ev.id;
    return 1;
}

typedef struct walk {
    hx__pg_store *s;
    hx_chain_cb cb;
    void *arg;
    hx_chain_summary *sum;
    long problems;
} walk;

static int verify_one(walk *w, const char *room)
{
    hx__pg_store *s = w->s;
    uint8_t anchor[HX_CHAIN_HASH_LEN], head[HX_CHAIN_HASH_LEN];
    size_t anchor_len, head_len;
    int64_t anchor_seq, head_seq;
    hx_chain_verifier v;
    int has_anchor, has_head;
    reading by_seq = {.s = s,
                      .key = room ? room : HX__PG_SERVER_KEY,
                      .last_seq = INT64_MIN,
                      .last_id = INT64_MIN};
    reading by_id = by_seq;
    long n;

    by_id.by_id = true;
    has_anchor = hx__pg_chain_end(s, "chain_anchors", room, &anchor_seq, anchor, &anchor_len);
    if (has_anchor < 0) return HX_STORE_ERROR;
    has_head = hx__pg_chain_end(s, "chain_heads", room, &head_seq, head, &head_len);
    if (has_head < 0) return HX_STORE_ERROR;
    hx_chain_verify_begin(&v, room, anchor_seq, has_anchor ? anchor : NULL, anchor_len, w->cb,
                          w->arg);
    s->base.errmsg[0] = '\0';
    n = hx_chain_verify_rows(&v, next_row, &by_seq, next_row, &by_id, w->sum);
    PQclear(by_seq.page);
    PQclear(by_id.page);
    if (n < 0) {
        /* A failed query set errmsg; OpenSSL failing did not. */
        if (!s->base.errmsg[0]) hx__pg_misuse(s, "verify_chain: hashing failed");
        return HX_STORE_ERROR;
    }
    w->problems += hx_chain_verify_end(&v, has_head, head_seq, head, head_len);
    if (n || has_anchor || has_head) w->sum->chains++;
    return HX_STORE_OK;
}

/* Every chain anything knows of: a head, an anchor, or chained rows (rows without a
 * head are a problem to report, not to skip). In byte order, as SQLite lists them. */
static int verify_all(walk *w)
{
    PGresult *r = hx__pg_query(w->s,
                               "SELECT k FROM (SELECT room_key FROM chain_heads"
                               " UNION SELECT room_key FROM chain_anchors"
                               " UNION SELECT " HX__PG_CHAIN_KEY " FROM events"
                               " WHERE seq IS NOT NULL) AS c(k) ORDER BY k COLLATE \"C\"",
                               NULL, "verify_chain: chains", NULL);
    int ret = HX_STORE_OK;

    if (!r) return HX_STORE_ERROR;
    for (int i = 0; i < PQntuples(r) && ret == HX_STORE_OK; i++) {
        const char *key = hx__pg_text_at(r, i, 0);
        ret = verify_one(w, key && key[0] ? key : NULL);
    }
    PQclear(r);
    return ret;
}

static int count_unchained(walk *w, const char *room, bool all)
{
    hx__pg_params p = {0};
    PGresult *r;

    hx__pg_text(&p, room ? room : HX__PG_SERVER_KEY);
    r = hx__pg_query(w->s,
                     all ? "SELECT count(*) FROM events WHERE seq IS NULL"
                         : "SELECT count(*) FROM events WHERE " HX__PG_CHAIN_KEY " = $1"
                           " AND seq IS NULL",
                     all ? NULL : &p, "verify_chain: unchained", NULL);
    if (!r) return HX_STORE_ERROR;
    w->sum->unchained = (long)hx__pg_int_at(r, 0, 0);
    PQclear(r);
    return HX_STORE_OK;
}

int hx__pg_verify_chain(hx_store *base, const char *room, hx_chain_cb cb, void *arg,
                        hx_chain_summary *sum)
{
    hx__pg_store *s = hx__pg_from(base);
    hx_chain_summary local;
    walk w = {.s = s, .cb = cb, .arg = arg, .sum = sum ? sum : &local};
    const char *chain = room && room[0] ? room : NULL; /* "" names the server chain */
    int ret;

    memset(w.sum, 0, sizeof *w.sum);
    if (s->walking & HX__PG_WALK_VERIFY)
        return hx__pg_misuse(s, "verify_chain: called from its own callback");
    if (hx__pg_begin_snapshot(s, "verify_chain: begin")) return HX_STORE_ERROR;
    s->walking |= HX__PG_WALK_VERIFY;
    ret = room ? verify_one(&w, chain) : verify_all(&w);
    if (ret == HX_STORE_OK) ret = count_unchained(&w, chain, room == NULL);
    if (ret == HX_STORE_OK) ret = hx__pg_commit(s, "verify_chain: commit");
    s->walking &= ~HX__PG_WALK_VERIFY;
    if (ret != HX_STORE_OK) {
        hx__pg_rollback(s);
        return HX_STORE_ERROR;
    }
    return w.problems > INT_MAX ? INT_MAX : (int)w.problems;
}
