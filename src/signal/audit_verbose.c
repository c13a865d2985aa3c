/*
 * Opt-in verbose audit (audit.verbose, docs/design.md §6): one `signal.message`
 * record per signaling message a joined session sends, with its type, size
 * and, for SDP, a SHA-256 of it: enough to reconstruct who negotiated what
 * and when, never the SDP itself (it holds addresses and keys). Off by
 * default: every record is a durable write.
 */
#include "signal/session.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void sha256_hex(const char *s, size_t len, char out[65])
{
    unsigned char md[32];
    unsigned int n = 0;
    if (EVP_Digest(s, len, md, &n, EVP_sha256(), NULL) != 1 || n != sizeof md) {
        out[0] = '\0';
        return;
    }
    for (size_t i = 0; i < sizeof md; i++) snprintf(out + 2 * i, 3, "%02x", md[i]);
}

void hx_session_audit_message(hx_session *s, const char *type, json_t *data, size_t bytes)
{
    if (!s->srv->cfg.audit_verbose || s->state != HX_SESSION_JOINED) return;
    json_t *d = json_pack("{s:s, s:I}", "type", type, "bytes", (json_int_t)bytes);
    json_t *sdp = json_object_get(data, "sdp");
    if (d && json_is_string(sdp)) {
        char hex[65];
        sha256_hex(json_string_value(sdp), json_string_length(sdp), hex);
        json_object_set_new(d, "sdp_sha256", json_string(hex));
    }
    char *detail = d ? json_dumps(d, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(d);
    hx_server_audit(s->srv, "signal.message", s->p.room ? s->p.room->name : NULL, s->p.user, s->p.device,
                    s->p.sid, NULL, detail);
    free(detail);
}
