/*
 * Revocation: the store first (what is acknowledged survives a crash), then
 * the live set (new joins and tickets are refused at once), the audit
 * record, and the bus (live sessions it matches are disconnected by their
 * holders, signal/registry.c, on every node).
 */
#include "core/server.h"
#include "core/metric_names.h"

#include "common/clock.h"

#include <jansson.h>
#include <stdlib.h>

int hx_server_revoke(hx_server *s, hx_revoke_kind kind, const char *value, int64_t not_before,
                     const char *reason)
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

    hx_metrics_inc(&s->metrics, HX_M_REVOCATIONS_TOTAL);

    hx_bus_msg m = {.kind = HX_BUS_REVOKE, .at = not_before};
    hx_bus_set(m.action, hx_revoke_kind_name(kind));
    hx_bus_set(m.value, value);
    hx_bus_set(m.text, reason);
    if (hx_bus_publish(s->bus, &m) != HX_BUS_OK)
        hx_log(&s->log, HX_LOG_ERROR, "bus.error", "op", "publish", "kind", "revoke", NULL);
    return 0;
}
