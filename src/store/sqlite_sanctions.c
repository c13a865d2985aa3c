/*
 * Sanctions, un-revocation and moderation's other state (open votes, room
 * policies) in the SQLite store: each write goes into one transaction with
 * its audit record (appended to the room's chain), so an acknowledged
 * moderation action has both or neither after a crash.
 *
 * These run on moderator and operator actions, and get_state on a client
 * resuming after its node died, not per message: their statements are
 * prepared per call rather than held open.
 */
#include "store/sqlite_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int prepare(hx__sqlite_store *s, const char *sql, sqlite3_stmt **st, const char *what)
{
    return sqlite3_prepare_v2(s->db, sql, -1, st, NULL) == SQLITE_OK ? 0 : hx__sq_fail(s, what);
}

/* Run `st` (already bound) and the audit append in one transaction. want_change: a
 * statement that touched no row means HX_STORE_NOTFOUND (nothing written). */
static int with_event(hx__sqlite_store *s, sqlite3_stmt *st, const hx_event *ev, int want_change, const char *what)
{
    if (hx__sq_run(s, s->stmt[HX__SQ_BEGIN], what)) return HX_STORE_ERROR;
    int rc = sqlite3_step(st) == SQLITE_DONE ? HX_STORE_OK : hx__sq_fail(s, what);
    if (rc == HX_STORE_OK && want_change && sqlite3_changes(s->db) == 0) rc = HX_STORE_NOTFOUND;
    if (rc == HX_STORE_OK && ev) rc = hx__sq_append_linked(s, ev);
    if (rc == HX_STORE_OK) rc = hx__sq_run(s, s->stmt[HX__SQ_COMMIT], what);
    if (rc != HX_STORE_OK) hx__sq_rollback(s);
    return rc;
}

int hx__sqlite_put_sanction(hx_store *base, const hx_sanction_rec *x, const hx_event *ev)
{
    hx__sqlite_store *s = hx__sq_from(base);
    if (!x || !x->action_id || !x->action_id[0]) return hx__sq_misuse(s, "put_sanction: no action id");
    sqlite3_stmt *st;
    if (prepare(s,
                "INSERT INTO sanctions(action_id, kind, room, user_id, device, policy, created_ms, expires_ms,"
                " actor, reason) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                &st, "put_sanction"))
        return HX_STORE_ERROR;
    int rc;
    if (hx__sq_bind_text(st, 1, x->action_id) || sqlite3_bind_int(st, 2, x->kind) ||
        hx__sq_bind_text(st, 3, x->room ? x->room : "") || hx__sq_bind_text(st, 4, x->user ? x->user : "") ||
        hx__sq_bind_text(st, 5, x->device ? x->device : "") || sqlite3_bind_int(st, 6, x->policy) ||
        sqlite3_bind_int64(st, 7, x->created_ms) || sqlite3_bind_int64(st, 8, x->expires_ms) ||
        hx__sq_bind_text(st, 9, x->actor) || hx__sq_bind_text(st, 10, x->reason))
        rc = hx__sq_fail(s, "put_sanction: bind");
    else
        rc = with_event(s, st, ev, 0, "put_sanction");
    sqlite3_finalize(st);
    return rc;
}

int hx__sqlite_lift_sanction(hx_store *base, const char *action_id, const hx_event *ev)
{
    hx__sqlite_store *s = hx__sq_from(base);
    sqlite3_stmt *st;
    if (prepare(s, "DELETE FROM sanctions WHERE action_id = ?1", &st, "lift_sanction")) return HX_STORE_ERROR;
    int rc = hx__sq_bind_text(st, 1, action_id) ? hx__sq_fail(s, "lift_sanction: bind")
                                                 : with_event(s, st, ev, 1, "lift_sanction");
    sqlite3_finalize(st);
    return rc;
}

int hx__sqlite_list_sanctions(hx_store *base, int64_t now_ms, hx_sanction_cb cb, void *arg)
{
    hx__sqlite_store *s = hx__sq_from(base);
    sqlite3_stmt *st;
    if (prepare(s,
                "SELECT action_id, kind, room, user_id, device, policy, created_ms, expires_ms, actor, reason"
                " FROM sanctions WHERE expires_ms = 0 OR expires_ms > ?1 ORDER BY created_ms",
                &st, "list_sanctions"))
        return HX_STORE_ERROR;
    int rc, ret = HX_STORE_OK;
    sqlite3_bind_int64(st, 1, now_ms);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        hx_sanction_rec x = {
            .action_id = (const char *)sqlite3_column_text(st, 0),
            .kind = sqlite3_column_int(st, 1),
            .room = (const char *)sqlite3_column_text(st, 2),
            .user = (const char *)sqlite3_column_text(st, 3),
            .device = (const char *)sqlite3_column_text(st, 4),
            .policy = sqlite3_column_int(st, 5),
            .created_ms = sqlite3_column_int64(st, 6),
            .expires_ms = sqlite3_column_int64(st, 7),
            .actor = (const char *)sqlite3_column_text(st, 8),
            .reason = (const char *)sqlite3_column_text(st, 9),
        };
        if ((ret = cb(arg, &x)) != 0) break;
    }
    if (ret == HX_STORE_OK && rc != SQLITE_DONE) ret = hx__sq_fail(s, "list_sanctions");
    sqlite3_finalize(st);
    return ret;
}

int hx__sqlite_delete_revocation(hx_store *base, hx_revoke_kind kind, const char *value, const hx_event *ev)
{
    hx__sqlite_store *s = hx__sq_from(base);
    sqlite3_stmt *st;
    if (prepare(s, "DELETE FROM revocations WHERE kind = ?1 AND value = ?2", &st, "delete_revocation"))
        return HX_STORE_ERROR;
    int rc = sqlite3_bind_int(st, 1, (int)kind) || hx__sq_bind_text(st, 2, value)
                 ? hx__sq_fail(s, "delete_revocation: bind")
                 : with_event(s, st, ev, 1, "delete_revocation");
    sqlite3_finalize(st);
    return rc;
}

int hx__sqlite_put_state(hx_store *base, const char *kind, const char *key, const char *value, const hx_event *ev)
{
    hx__sqlite_store *s = hx__sq_from(base);
    sqlite3_stmt *st;
    if (!kind || !key || !value) return hx__sq_misuse(s, "put_state: kind, key and value needed");
    if (prepare(s,
                "INSERT INTO mod_state(kind, key, value) VALUES (?1, ?2, ?3)"
                " ON CONFLICT(kind, key) DO UPDATE SET value = excluded.value",
                &st, "put_state"))
        return HX_STORE_ERROR;
    int rc = hx__sq_bind_text(st, 1, kind) || hx__sq_bind_text(st, 2, key) || hx__sq_bind_text(st, 3, value)
                 ? hx__sq_fail(s, "put_state: bind")
                 : with_event(s, st, ev, 0, "put_state");
    sqlite3_finalize(st);
    return rc;
}

int hx__sqlite_delete_state(hx_store *base, const char *kind, const char *key, const hx_event *ev)
{
    hx__sqlite_store *s = hx__sq_from(base);
    sqlite3_stmt *st;
    if (prepare(s, "DELETE FROM mod_state WHERE kind = ?1 AND key = ?2", &st, "delete_state"))
        return HX_STORE_ERROR;
    int rc = hx__sq_bind_text(st, 1, kind) || hx__sq_bind_text(st, 2, key) ? hx__sq_fail(s, "delete_state: bind")
                                                                            : with_event(s, st, ev, 1, "delete_state");
    sqlite3_finalize(st);
    return rc;
}

int hx__sqlite_list_state(hx_store *base, const char *kind, hx_state_cb cb, void *arg)
{
    hx__sqlite_store *s = hx__sq_from(base);
    sqlite3_stmt *st;
    if (prepare(s, "SELECT key, value FROM mod_state WHERE kind = ?1 ORDER BY key", &st, "list_state"))
        return HX_STORE_ERROR;
    int rc, ret = HX_STORE_OK;
    if (hx__sq_bind_text(st, 1, kind)) ret = hx__sq_fail(s, "list_state: bind");
    while (ret == HX_STORE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW)
        ret = cb(arg, (const char *)sqlite3_column_text(st, 0), (const char *)sqlite3_column_text(st, 1));
    if (ret == HX_STORE_OK && rc != SQLITE_DONE) ret = hx__sq_fail(s, "list_state");
    sqlite3_finalize(st);
    return ret;
}

int hx__sqlite_get_state(hx_store *base, const char *kind, const char *key, char **value)
{
    hx__sqlite_store *s = hx__sq_from(base);
    sqlite3_stmt *st;
    if (value) *value = NULL;
    if (!kind || !key || !value) return hx__sq_misuse(s, "get_state: kind, key and value needed");
    if (prepare(s, "SELECT value FROM mod_state WHERE kind = ?1 AND key = ?2", &st, "get_state"))
        return HX_STORE_ERROR;
    int rc, ret;
    if (hx__sq_bind_text(st, 1, kind) || hx__sq_bind_text(st, 2, key)) {
        ret = hx__sq_fail(s, "get_state: bind");
    } else if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        /* Text before bytes, per the docs: the length of the UTF-8 form. value is NOT NULL. */
        const unsigned char *v = sqlite3_column_text(st, 0);
        size_t n = (size_t)sqlite3_column_bytes(st, 0);
        if (!v || !(*value = malloc(n + 1))) {
            ret = hx__sq_misuse(s, "get_state: out of memory");
        } else {
            memcpy(*value, v, n + 1);
            ret = HX_STORE_OK;
        }
    } else if (rc == SQLITE_DONE) {
        snprintf(s->base.errmsg, sizeof s->base.errmsg, "get_state: no %.32s \"%.64s\"", kind, key);
        ret = HX_STORE_NOTFOUND;
    } else {
        ret = hx__sq_fail(s, "get_state");
    }
    sqlite3_finalize(st);
    return ret;
}
