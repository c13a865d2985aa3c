/*
 * Sanctions, un-revocation and moderation's other state (open votes, room
 * policies) in the PostgreSQL store: each write in one transaction with
 * its audit record (appended to the room's chain under
 * the chain's lock), so an acknowledged moderation action has both or
 * neither after a crash, as in the SQLite store.
 *
 * Locks are taken in one order: the row the statement touches, then the
 * chain's lock (pg_chain.c). Two nodes lifting the same sanction serialize
 * on its row; the second finds it gone and answers HX_STORE_NOTFOUND.
 */
#include "store/pg_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Run sql with p and the audit append in one transaction. want_change: a statement
 * that touched no row means HX_STORE_NOTFOUND (nothing written). */
static int with_event(hx__pg_store *s, const char *sql, const hx__pg_params *p, const hx_event *ev,
                      bool want_change, const char *what)
{
    long changed = 0;
    int rc;

    if (hx__pg_begin(s, what)) return HX_STORE_ERROR;
    rc = hx__pg_run(s, sql, p, what, &changed);
    if (rc == HX_STORE_OK && want_change && changed == 0) rc = HX_STORE_NOTFOUND;
    if (rc == HX_STORE_OK && ev) rc = hx__pg_append_linked(s, ev);
    if (rc == HX_STORE_OK) rc = hx__pg_commit(s, what);
    if (rc != HX_STORE_OK) hx__pg_rollback(s);
    return rc;
}

int hx__pg_put_sanction(hx_store *base, const hx_sanction_rec *x, const hx_event *ev)
{
    hx__pg_store *s = hx__pg_from(base);
    hx__pg_params p = {0};

    if (!x || !x->action_id || !x->action_id[0])
        return hx__pg_misuse(s, "put_sanction: no action id");
    hx__pg_text(&p, x->action_id);
    hx__pg_int(&p, x->kind);
    hx__pg_text(&p, x->room ? x->room : "");
    hx__pg_text(&p, x->user ? x->user : "");
    hx__pg_text(&p, x->device ? x->device : "");
    hx__pg_int(&p, x->policy);
    hx__pg_int(&p, x->created_ms);
    hx__pg_int(&p, x->expires_ms);
    hx__pg_text(&p, x->actor);
    hx__pg_text(&p, x->reason);
    return with_event(s,
                      "INSERT INTO sanctions(action_id, kind, room, user_id, device, policy,"
                      " created_ms, expires_ms, actor, reason)"
                      " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                      &p, ev, false, "put_sanction");
}

int hx__pg_lift_sanction(hx_store *base, const char *action_id, const hx_event *ev)
{
    hx__pg_params p = {0};

    hx__pg_text(&p, action_id);
    return with_event(hx__pg_from(base), "DELETE FROM sanctions WHERE action_id = $1", &p, ev, true,
                      "lift_sanction");
}

int hx__pg_list_sanctions(hx_store *base, int64_t now_ms, hx_sanction_cb cb, void *arg)
{
    hx__pg_store *s = hx__pg_from(base);
    hx__pg_params p = {0};
    PGresult *r;
    int ret = HX_STORE_OK;

    if (!cb) return hx__pg_misuse(s, "list_sanctions: no callback");
    hx__pg_int(&p, now_ms);
    r = hx__pg_query(s,
                     "SELECT action_id, kind, room, user_id, device, policy, created_ms,"
                     " expires_ms, actor, reason FROM sanctions"
                     " WHERE expires_ms = 0 OR expires_ms > $1 ORDER BY created_ms",
                     &p, "list_sanctions", NULL);
    if (!r) return HX_STORE_ERROR;
    for (int i = 0; i < PQntuples(r) && ret == HX_STORE_OK; i++) {
        hx_sanction_rec x = {
            .action_id = hx__pg_text_at(r, i, 0),
            .kind = (int)hx__pg_int_at(r, i, 1),
            .room = hx__pg_text_at(r, i, 2),
            .user = hx__pg_text_at(r, i, 3),
            .device = hx__pg_text_at(r, i, 4),
            .policy = (int)hx__pg_int_at(r, i, 5),
            .created_ms = hx__pg_int_at(r, i, 6),
            .expires_ms = hx__pg_int_at(r, i, 7),
            .actor = hx__pg_text_at(r, i, 8),
            .reason = hx__pg_text_at(r, i, 9),
        };
        ret = cb(arg, &x);
    }
    PQclear(r);
    return ret;
}

int hx__pg_delete_revocation(hx_store *base, hx_revoke_kind kind, const char *value,
                             const hx_event *ev)
{
    hx__pg_params p = {0};

    hx__pg_int(&p, (int64_t)kind);
    hx__pg_text(&p, value);
    return with_event(hx__pg_from(base), "DELETE FROM revocations WHERE kind = $1 AND value = $2",
                      &p, ev, true, "delete_revocation");
}

int hx__pg_put_state(hx_store *base, const char *kind, const char *key, const char *value,
                     const hx_event *ev)
{
    hx__pg_store *s = hx__pg_from(base);
    hx__pg_params p = {0};

    if (!kind || !key || !value) return hx__pg_misuse(s, "put_state: kind, key and value needed");
    hx__pg_text(&p, kind);
    hx__pg_text(&p, key);
    hx__pg_text(&p, value);
    return with_event(s,
                      "INSERT INTO mod_state(kind, key, value) VALUES ($1, $2, $3)"
                      " ON CONFLICT (kind, key) DO UPDATE SET value = excluded.value",
                      &p, ev, false, "put_state");
}

int hx__pg_delete_state(hx_store *base, const char *kind, const char *key, const hx_event *ev)
{
    hx__pg_params p = {0};

    hx__pg_text(&p, kind);
    hx__pg_text(&p, key);
    return with_event(hx__pg_from(base), "DELETE FROM mod_state WHERE kind = $1 AND key = $2", &p,
                      ev, true, "delete_state");
}

int hx__pg_list_state(hx_store *base, const char *kind, hx_state_cb cb, void *arg)
{
    hx__pg_store *s = hx__pg_from(base);
    hx__pg_params p = {0};
    PGresult *r;
    int ret = HX_STORE_OK;

    if (!cb) return hx__pg_misuse(s, "list_state: no callback");
    hx__pg_text(&p, kind);
    /* COLLATE "C": byte order, as SQLite sorts. */
    r = hx__pg_query(s,
                     "SELECT key, value FROM mod_state WHERE kind = $1 ORDER BY key COLLATE \"C\"",
                     &p, "list_state", NULL);
    if (!r) return HX_STORE_ERROR;
    for (int i = 0; i < PQntuples(r) && ret == HX_STORE_OK; i++)
        ret = cb(arg, hx__pg_text_at(r, i, 0), hx__pg_text_at(r, i, 1));
    PQclear(r);
    return ret;
}

int hx__pg_get_state(hx_store *base, const char *kind, const char *key, char **value)
{
    hx__pg_store *s = hx__pg_from(base);
    hx__pg_params p = {0};
    PGresult *r;
    int ret;

    if (value) *value = NULL;
    if (!kind || !key || !value) return hx__pg_misuse(s, "get_state: kind, key and value needed");
    hx__pg_text(&p, kind);
    hx__pg_text(&p, key);
    r = hx__pg_query(s, "SELECT value FROM mod_state WHERE kind = $1 AND key = $2", &p, "get_state",
                     NULL);
    if (!r) return HX_STORE_ERROR;
    if (PQntuples(r) == 0) {
        snprintf(s->base.errmsg, sizeof s->base.errmsg, "get_state: no %.32s \"%.64s\"", kind, key);
        ret = HX_STORE_NOTFOUND;
    } else if (!(*value = strdup(hx__pg_text_at(r, 0, 0)))) { /* NOT NULL: never a NULL text */
        ret = hx__pg_misuse(s, "get_state: out of memory");
    } else {
        ret = HX_STORE_OK;
    }
    PQclear(r);
    return ret;
}
