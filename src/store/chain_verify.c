/*
 * Verifying one chain (chain.h): a state machine fed the chain's rows in
 * (seq, id) order, without I/O, so every backend reports the same problems.
 *
 * Each row is first checked on its own (hx_chain_check_row): does its
 * content still hash to content_hash, does its hash still follow from
 * prev_hash, seq, ts_ms, kind and content_hash. Then against the chain:
 * the verifier keeps a base, the last record accepted (at the start, the
 * anchor retention left, or seq 0 and 32 zero bytes), and expects the next
 * row to carry base_seq + 1 and prev_hash = base_hash.
 *
 *   changed    a row fails its own checks; or it passes them but the next
 *              row does not link to it (its hashes were recomputed)
 *   missing    seq jumps (id: the first row after the gap, seq: the first
 *              absent one), or the head is further than the last row
 *   reordered  the row's id is not where id order puts it (ids swapped),
 *              or two "changed" rows are each other's swap (content or seq
 *              exchanged), or a row repeats a position already taken
 *   head_mismatch, anchor_mismatch  the ends disagree with chain_heads /
 *              chain_anchors
 *
 * Order. The caller reads the chain's rows that pass their own checks a
 * second time in id order and hands each row the id at its position
 * (id_rank); a row whose id differs is out of place. Rows failing their
 * own checks are left out of both readings, so that a row moved in from
 * another room does not shift every position after it.
 *
 * A row that fails its content check and does not link is an intruder
 * (say, a record whose room was edited): it is reported, and the thread of
 * the chain stays with the base. Problems are held back (HX_CHAIN_PENDING)
 * until the chain ends or the buffer fills, to pair the halves of a swap.
 */
#include "store/chain.h"

#include <stdio.h>
#include <string.h>

static const char CHANGED[] = "changed", MISSING[] = "missing", REORDERED[] = "reordered",
                  HEAD_MISMATCH[] = "head_mismatch", ANCHOR_MISMATCH[] = "anchor_mismatch";

static bool is_hash(size_t len)
{
    return len == HX_CHAIN_HASH_LEN;
}

int hx_chain_check_row(const hx_chain_row *r, hx_chain_check *out)
{
    const hx_event *e = &r->ev;

    memset(out, 0, sizeof *out);
    if (r->redacted) {
        out->content_ok = !e->user && !e->device && !e->sid && !e->code && !e->detail;
    } else {
        if (hx_chain_content_hash(e, out->computed)) return -1;
        out->content_ok = is_hash(r->content_len) &&
                          memcmp(out->computed, r->content_hash, HX_CHAIN_HASH_LEN) == 0;
    }
    if (is_hash(r->prev_len) && is_hash(r->content_len) && is_hash(r->hash_len) && e->kind) {
        uint8_t h[HX_CHAIN_HASH_LEN];
        if (hx_chain_link_hash(r->prev_hash, r->seq, e->ts_ms, e->kind, r->content_hash, h))
            return -1;
        out->link_ok = memcmp(h, r->hash, HX_CHAIN_HASH_LEN) == 0;
    }
    return 0;
}

/* ---- held-back problems ------------------------------------------------------------- */

/* Would the pending row's stored link hold at another seq? */
static bool holds_at(const hx__chain_pending *e, int64_t seq)
{
    uint8_t h[HX_CHAIN_HASH_LEN];
    return hx_chain_link_hash(e->prev, seq, e->ts_ms, e->kind, e->stored_content, h) == 0 &&
           memcmp(h, e->hash, HX_CHAIN_HASH_LEN) == 0;
}

static bool swapped(const hx__chain_pending *a, const hx__chain_pending *b)
{
    if (a->content_pair && b->content_pair &&
        memcmp(a->computed, b->stored_content, HX_CHAIN_HASH_LEN) == 0 &&
        memcmp(b->computed, a->stored_content, HX_CHAIN_HASH_LEN) == 0)
        return true;
    return a->seq_pair && b->seq_pair && holds_at(a, b->p.seq) && holds_at(b, a->p.seq);
}

static void flush(hx_chain_verifier *v)
{
    for (size_t i = 0; i < v->n_pending; i++)
        for (size_t j = i + 1; j < v->n_pending; j++) {
            hx__chain_pending *a = &v->pending[i], *b = &v->pending[j];
            if (a->p.what == CHANGED && b->p.what == CHANGED && swapped(a, b))
                a->p.what = b->p.what = REORDERED;
        }
    for (size_t i = 0; i < v->n_pending; i++)
        if (v->cb) v->cb(v->arg, &v->pending[i].p);
    v->n_pending = 0;
}

static hx__chain_pending *hold(hx_chain_verifier *v, int64_t id, int64_t seq, const char *what)
{
    if (v->n_pending == HX_CHAIN_PENDING) flush(v);
    hx__chain_pending *e = &v->pending[v->n_pending++];
    memset(e, 0, sizeof *e);
    e->p = (hx_chain_problem){.room = v->room, .id = id, .seq = seq, .what = what};
    v->problems++;
    return e;
}

/* A row that fails its own checks: "changed", with what pairing it needs. */
static void hold_changed(hx_chain_verifier *v, const hx_chain_row *r, const hx_chain_check *c)
{
    hx__chain_pending *e = hold(v, r->ev.id, r->seq, CHANGED);
    bool hashes = is_hash(r->prev_len) && is_hash(r->content_len) && is_hash(r->hash_len);

    if (!is_hash(r->content_len)) return;
    memcpy(e->stored_content, r->content_hash, HX_CHAIN_HASH_LEN);
    memcpy(e->computed, c->computed, HX_CHAIN_HASH_LEN);
    e->content_pair = !c->content_ok && !r->redacted;
    if (c->link_ok || !hashes || !r->ev.kind || strlen(r->ev.kind) >= sizeof e->kind) return;
    memcpy(e->prev, r->prev_hash, HX_CHAIN_HASH_LEN);
    memcpy(e->hash, r->hash, HX_CHAIN_HASH_LEN);
    e->ts_ms = r->ev.ts_ms;
    snprintf(e->kind, sizeof e->kind, "%s", r->ev.kind);
    e->seq_pair = c->content_ok;
}

/* ---- the walk ----------------------------------------------------------------------- */

void hx_chain_verify_begin(hx_chain_verifier *v, const char *room, int64_t anchor_seq,
                           const uint8_t *anchor_hash, size_t anchor_len, hx_chain_cb cb, void *arg)
{
    memset(v, 0, offsetof(hx_chain_verifier, pending)); /* the buffer is written as used */
    v->room = room;
    v->cb = cb;
    v->arg = arg;
    v->base_clean = true;
    if (anchor_hash) {
        v->has_anchor = true;
        v->base_seq = anchor_seq;
        /* A damaged anchor matches nothing: the first row reports it. */
        if (is_hash(anchor_len))
            memcpy(v->base_hash, anchor_hash, HX_CHAIN_HASH_LEN);
        else
            memset(v->base_hash, 0xff, HX_CHAIN_HASH_LEN);
    }
}

static void advance(hx_chain_verifier *v, const hx_chain_row *r, bool reported, bool clean)
{
    v->base_seq = r->seq;
    v->base_id = r->ev.id;
    if (is_hash(r->hash_len))
        memcpy(v->base_hash, r->hash, HX_CHAIN_HASH_LEN);
    else
        memset(v->base_hash, 0, HX_CHAIN_HASH_LEN);
    v->base_reported = reported;
    v->base_clean = clean;
}

/* r passes its own checks yet does not link to the base: the base is not what r followed. */
static void blame_base(hx_chain_verifier *v, const hx_chain_row *r)
{
    if (v->base_id != 0) {
        if (!v->base_reported) hold(v, v->base_id, v->base_seq, CHANGED);
    } else if (v->has_anchor) {
        hold(v, r->ev.id, r->seq, ANCHOR_MISMATCH);
    } else {
        hold(v, r->ev.id, r->seq, CHANGED); /* a first record links to zeros */
    }
}

void hx_chain_verify_row(hx_chain_verifier *v, const hx_chain_row *r, const hx_chain_check *c,
                         int64_t id_rank)
{
    bool clean = c->content_ok && c->link_ok, reported = true;

    if (id_rank && id_rank != r->ev.id)
        hold(v, r->ev.id, r->seq, REORDERED);
    else if (!clean)
        hold_changed(v, r, c);
    else
        reported = false;

    if (r->seq == v->base_seq + 1 && is_hash(r->prev_len) &&
        memcmp(r->prev_hash, v->base_hash, HX_CHAIN_HASH_LEN) == 0) {
        advance(v, r, reported, clean);
    } else if (r->seq <= v->base_seq) {
        /* A position already taken: the taker was an intruder if r is sound. */
        if (r->seq == v->base_seq && clean && !reported && !v->base_clean)
            advance(v, r, false, true);
        else if (!reported)
            hold(v, r->ev.id, r->seq, REORDERED);
    } else if (c->content_ok) {
        if (r->seq > v->base_seq + 1)
            hold(v, r->ev.id, v->base_seq + 1, MISSING);
        else if (c->link_ok && !reported)
            blame_base(v, r);
        advance(v, r, reported, clean);
    }
}

long hx_chain_verify_end(hx_chain_verifier *v, bool has_head, int64_t head_seq,
                         const uint8_t *head_hash, size_t head_len)
{
    if (!has_head) {
        if (v->base_seq > 0) hold(v, v->base_id, v->base_seq, HEAD_MISMATCH);
    } else if (head_seq > v->base_seq) {
        hold(v, 0, v->base_seq + 1, MISSING); /* the tail is gone */
    } else if (head_seq < v->base_seq) {
        hold(v, v->base_id, v->base_seq, HEAD_MISMATCH); /* records past the head */
    } else if (!is_hash(head_len) || memcmp(head_hash, v->base_hash, HX_CHAIN_HASH_LEN) != 0) {
        if (!v->base_reported) hold(v, v->base_id, v->base_seq, HEAD_MISMATCH);
    }
    flush(v);
    return v->problems;
}

/* ---- a whole chain, from a backend's two readings ----------------------------------- */

/* The id of by_id's next row that passes its own checks; 0 at the end, -1 on error. */
static int64_t next_clean_id(hx_chain_next_fn by_id, void *arg)
{
    hx_chain_row r;
    hx_chain_check c;
    int rc;

    while ((rc = by_id(arg, &r)) > 0) {
        if (hx_chain_check_row(&r, &c)) return -1;
        if (c.content_ok && c.link_ok) return r.ev.id;
    }
    return rc == 0 ? 0 : -1;
}

long hx_chain_verify_rows(hx_chain_verifier *v, hx_chain_next_fn by_seq, void *seq_arg,
                          hx_chain_next_fn by_id, void *id_arg, hx_chain_summary *sum)
{
    hx_chain_row r;
    hx_chain_check c;
    long n = 0;
    int rc;

    while ((rc = by_seq(seq_arg, &r)) > 0) {
        int64_t rank = 0;
        if (hx_chain_check_row(&r, &c)) return -1;
        if (c.content_ok && c.link_ok && (rank = next_clean_id(by_id, id_arg)) < 0) return -1;
        hx_chain_verify_row(v, &r, &c, rank);
        n++;
        sum->records++;
        if (r.redacted) sum->redacted++;
    }
    return rc == 0 ? n : -1;
}

bool hx_chain_prunable(int64_t seq, const uint8_t hash[HX_CHAIN_HASH_LEN], const hx_chain_row *r)
{
    hx_chain_check c;
    return r->redacted && r->seq == seq + 1 && is_hash(r->prev_len) &&
           memcmp(r->prev_hash, hash, HX_CHAIN_HASH_LEN) == 0 && hx_chain_check_row(r, &c) == 0 &&
           c.content_ok && c.link_ok;
}
