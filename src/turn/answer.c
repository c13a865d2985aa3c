/*
 * Answers of the TURN core: success and error responses written straight
 * into the carrier's slot for the client (hx_turn_io.client_slot), with
 * SOFTWARE "hearth", MESSAGE-INTEGRITY under the request's long-term key
 * once it authenticated (RFC 8489 §9.2.4: not on 401 and 438, which carry
 * REALM and a fresh NONCE instead), and FINGERPRINT last on every one.
 */
#include "turn/core_internal.h"

#include <string.h>

bool hx__turn_answer_begin(hx__turn_req *r, hx_stun_writer *w, uint16_t type)
{
    hx_turn_core *t = r->t;
    size_t cap = 0;
    uint8_t *buf = t->io.client_slot(t->io.ctx, r->c, &cap);
    if (!buf) return false;
    hx_stun_writer_init(w, buf, cap, type, r->m->tid);
    return true;
}

void hx__turn_answer_end(hx__turn_req *r, hx_stun_writer *w)
{
    hx_turn_core *t = r->t;
    hx_stun_put(w, HX_STUN_ATTR_SOFTWARE, HX__TURN_SOFTWARE, sizeof HX__TURN_SOFTWARE - 1);
    if (r->key) hx_stun_put_integrity(w, r->key);
    hx_stun_put_fingerprint(w);
    long n = hx_stun_writer_finish(w);
    t->io.client_commit(t->io.ctx, r->c, n > 0 ? (size_t)n : 0);
}

static uint16_t error_type(const hx__turn_req *r)
{
    return (uint16_t)((r->m->type & ~HX_STUN_CLASS_MASK) | HX_STUN_CLASS_ERROR);
}

void hx__turn_answer_error(hx__turn_req *r, int code, const char *reason)
{
    hx_stun_writer w;
    if (!hx__turn_answer_begin(r, &w, error_type(r))) return;
    hx_stun_put_error(&w, code, reason);
    if (code == HX_STUN_ERR_UNAUTHORIZED || code == HX_STUN_ERR_STALE_NONCE) {
        char nonce[HX__TURN_NONCE_LEN + 1];
        hx__turn_nonce_make(r->t, r->c, r->now, nonce);
        hx_stun_put(&w, HX_STUN_ATTR_REALM, r->t->cfg.realm, strlen(r->t->cfg.realm));
        hx_stun_put(&w, HX_STUN_ATTR_NONCE, nonce, HX__TURN_NONCE_LEN);
        r->key = NULL; /* §9.2.4: these two go without MESSAGE-INTEGRITY */
    }
    hx__turn_answer_end(r, &w);
}

void hx__turn_answer_unknown(hx__turn_req *r, const uint16_t *types, size_t n)
{
    hx_stun_writer w;
    if (!hx__turn_answer_begin(r, &w, error_type(r))) return;
    hx_stun_put_error(&w, HX_STUN_ERR_UNKNOWN_ATTRIBUTE, "Unknown Attribute");
    hx_stun_put_unknown(&w, types, n);
    hx__turn_answer_end(r, &w);
}
