/*
 * The in-memory revocation set (DESIGN §2): by jti, by sid, and per-user
 * not-before. Loaded from the store at start, added to through the admin
 * API (store first, then here), checked at ticket minting and at join, and
 * used to find live sessions to disconnect.
 */
#ifndef HX_AUTH_REVOCATION_H
#define HX_AUTH_REVOCATION_H

#include "common/strmap.h"
#include "store/store.h"

#include <stdint.h>

typedef struct hx_revocations {
    hx_strmap by_kind[3]; /* jti, sid, user -> struct revoked * */
} hx_revocations;

enum {
    HX_NOT_REVOKED = 0,
    HX_REVOKED_JTI = 1,
    HX_REVOKED_SID = 2,
    HX_REVOKED_USER = 3,
};

void hx_revocations_init(hx_revocations *r);
void hx_revocations_free(hx_revocations *r);
/** Add or replace. 0 or -1 (allocation). */
int hx_revocations_add(hx_revocations *r, hx_revoke_kind kind, const char *value, int64_t not_before,
                       int64_t expires_ms);
/** Remove one (un-revoke). 0, or -1 when there was none. */
int hx_revocations_remove(hx_revocations *r, hx_revoke_kind kind, const char *value);
/** Does any revocation match these credentials? iat in unix s (0 = unknown: user revocations match). */
int hx_revocations_check(const hx_revocations *r, const char *jti, const char *sid, const char *user,
                         int64_t iat);
/** Does this one revocation match? (for disconnecting live sessions) */
int hx_revocation_matches(hx_revoke_kind kind, const char *value, int64_t not_before, const char *jti,
                          const char *sid, const char *user, int64_t iat);
/** Drop entries expired at now_ms. */
void hx_revocations_sweep(hx_revocations *r, int64_t now_ms);
/** Stable error code: "token_revoked", "session_revoked", "user_revoked". */
const char *hx_revoked_code(int which);
/** "jti", "sid", "user". */
const char *hx_revoke_kind_name(hx_revoke_kind kind);
int hx_revoke_kind_parse(const char *s, hx_revoke_kind *out);

#endif
