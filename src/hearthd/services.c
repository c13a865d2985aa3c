/*
 * What the HTTP API and the signaling sessions share: the audit trail,
 * ticket minting, revocation (store first, then the live set, then the
 * sessions it matches), and JWKS reload.
 */
#include "hearthd/server.h"

#include "common/clock.h"
#include "signal/session.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

int hx_server_audit(hx_server *s, const char *kind, const char *room, const char *user,
                    const char *device, const char *sid, const char *code, const char *detail)
{
    hx_event ev = {.ts_ms = hx_now_ms(), .kind = kind, .room = room, .user = user, .device = device,
                   .sid = sid && *sid ? sid : NULL, .code = code, .detail = detail};
    int rc = s->store->ops->append_event(s->store, &ev);
    hx_log(&s->log, HX_LOG_INFO, kind, "room", room, "user", user, "device", device, "sid", ev.sid,
           "code", code, NULL);
    if (rc != HX_STORE_OK) {
        hx_log(&s->log, HX_LOG_ERROR, "store.error", "op", "append_event", "error", hx_store_errmsg(s->store), NULL);
        hx_metrics_inc(&s->metrics, "hearth_store_errors_total", "Store operations that failed");
    }
    return rc;
}

int hx_server_mint_ticket(hx_server *s, const hx_ticket_req *req, hx_ticket *t, char *text, size_t textlen)
{
    memset(t, 0, sizeof *t);
    if (hx_ticket_new_id(t)) return -1;
    t->expires_ms = hx_now_ms() + s->cfg.ticket_ttl_s * 1000;
    t->token_iat = req->token_iat;
    t->protocol_version = (uint8_t)req->protocol_version;
    t->grants = req->grants;
    snprintf(t->user, sizeof t->user, "%s", req->user);
    snprintf(t->device, sizeof t->device, "%s", req->device);
    snprintf(t->sid, sizeof t->sid, "%s", req->sid ? req->sid : "");
    snprintf(t->room, sizeof t->room, "%s", req->room);
    snprintf(t->jti, sizeof t->jti, "%s", req->jti ? req->jti : "");
    return hx_ticket_seal(s->ticket_key, t, text, textlen) < 0 ? -1 : 0;
}

int hx_server_revoke(hx_server *s, hx_revoke_kind kind, const char *value, int64_t not_before,
                     const char *reason, int *disconnected)
{
    int64_t now = hx_now_ms();
    /* A revoked jti need not be remembered past the longest life a token may have. */
    int64_t expires = kind == HX_REVOKE_JTI ? now + (s->cfg.max_lifetime_s + 2 * s->cfg.leeway_s) * 1000 : 0;
    hx_revocation rv = {kind, value, not_before, now, expires, reason};
    if (s->store->ops->put_revocation(s->store, &rv) != HX_STORE_OK) {
        hx_log(&s->log, HX_LOG_ERROR, "store.error", "op", "put_revocation", "error", hx_store_errmsg(s->store), NULL);
        return -1;
    }
    if (hx_revocations_add(&s->revocations, kind, value, not_before, expires)) return -1;

    json_t *d = json_pack("{s:s, s:s, s:I}", "kind", hx_revoke_kind_name(kind), "value", value, "not_before",
                          (json_int_t)not_before);
    char *detail = json_dumps(d, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(d);
    hx_server_audit(s, "revocation", NULL, kind == HX_REVOKE_USER ? value : NULL, NULL,
                    kind == HX_REVOKE_SID ? value : NULL, reason, detail);
    free(detail);

    int n = 0;
    for (struct hx_session *ss = s->sessions; ss; ss = ss->next) {
        const hx_participant *p = &ss->p;
        if (ss->state != HX_SESSION_JOINED) continue;
        if (!hx_revocation_matches(kind, value, not_before, p->jti, p->sid, p->user, p->token_iat)) continue;
        hx_session_kick(ss, "revoked", HX_CLOSE_REVOKED, reason && *reason ? reason : "revoked by the operator");
        n++;
    }
    hx_metrics_inc(&s->metrics, "hearth_revocations_total", "Revocations recorded");
    if (disconnected) *disconnected = n;
    return 0;
}

int hx_server_reload_keys(hx_server *s, char *err, size_t errlen)
{
    if (!s->cfg.jwks_file[0]) {
        snprintf(err, errlen, "no auth.jwks_file configured");
        return -1;
    }
    hx_jwks *fresh = NULL;
    if (hx_jwks_load_file(s->cfg.jwks_file, &fresh, err, errlen)) {
        hx_log(&s->log, HX_LOG_ERROR, "keys.reload_failed", "file", s->cfg.jwks_file, "error", err, NULL);
        return -1;
    }
    hx_jwks_free(s->jwks);
    s->jwks = fresh;
    char n[16];
    snprintf(n, sizeof n, "%zu", hx_jwks_count(fresh));
    hx_log(&s->log, HX_LOG_INFO, "keys.reloaded", "file", s->cfg.jwks_file, "keys", n, NULL);
    return 0;
}
