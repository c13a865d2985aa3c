/*
 * Reloading the platform's JWKS (SIGHUP, POST /v1/admin/keys/reload): the
 * new set replaces the old only when it parsed whole.
 */
#include "core/server.h"

#include <stdio.h>

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
