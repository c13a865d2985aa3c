/*
 * The audit trail's front door: every record goes to the store (durable
 * when this returns HX_STORE_OK, unless relaxed: store.h) and to the log. A caller that acknowledges
 * an action on the strength of its record must check the result.
 */
#include "core/server.h"
#include "core/metric_names.h"

#include "common/clock.h"

static int audit(hx_server *s, bool relaxed, const char *kind, const char *room, const char *user,
                 const char *device, const char *sid, const char *code, const char *detail)
{
    hx_event ev = {.ts_ms = hx_now_ms(),
                   .kind = kind,
                   .room = room,
                   .user = user,
                   .device = device,
                   .sid = sid && *sid ? sid : NULL,
                   .code = code,
                   .detail = detail,
                   .relaxed = relaxed};
    int rc = s->store->ops->append_event(s->store, &ev);
    hx_log(&s->log, HX_LOG_INFO, kind, "room", room, "user", user, "device", device, "sid", ev.sid,
           "code", code, NULL);
    if (rc != HX_STORE_OK) {
        hx_log(&s->log, HX_LOG_ERROR, "store.error", "op", "append_event", "error",
               hx_store_errmsg(s->store), NULL);
        hx_metrics_inc(&s->metrics, HX_M_STORE_ERRORS_TOTAL);
    }
    return rc;
}

int hx_server_audit(hx_server *s, const char *kind, const char *room, const char *user,
                    const char *device, const char *sid, const char *code, const char *detail)
{
    return audit(s, false, kind, room, user, device, sid, code, detail);
}

int hx_server_audit_relaxed(hx_server *s, const char *kind, const char *room, const char *user,
                            const char *device, const char *sid, const char *code,
                            const char *detail)
{
    return audit(s, true, kind, room, user, device, sid, code, detail);
}
