/*
 * Three string maps, one per revocation kind. Each value records the
 * not-before time (user revocations) and an expiry after which the sweeper
 * may forget the entry (a jti revocation need not outlive the token).
 */
#include "auth/revocation.h"

#include <stdlib.h>
#include <string.h>

struct revoked {
    int64_t not_before;
    int64_t expires_ms;
};

void hx_revocations_init(hx_revocations *r)
{
    for (int i = 0; i < 3; i++) hx_strmap_init(&r->by_kind[i]);
}

static int free_value(void *arg, const char *key, void *value)
{
    free(value);
    return 1;
}

void hx_revocations_free(hx_revocations *r)
{
    for (int i = 0; i < 3; i++) {
        hx_strmap_foreach(&r->by_kind[i], free_value, NULL);
        hx_strmap_free(&r->by_kind[i]);
    }
}

int hx_revocations_add(hx_revocations *r, hx_revoke_kind kind, const char *value, int64_t not_before,
                       int64_t expires_ms)
{
    if (kind < HX_REVOKE_JTI || kind > HX_REVOKE_USER || !value || !*value) return -1;
    struct revoked *v = malloc(sizeof *v), *old = NULL;
    if (!v) return -1;
    v->not_before = not_before;
    v->expires_ms = expires_ms;
    if (hx_strmap_put(&r->by_kind[kind - 1], value, v, (void **)&old)) {
        free(v);
        return -1;
    }
    free(old);
    return 0;
}

int hx_revocations_remove(hx_revocations *r, hx_revoke_kind kind, const char *value)
{
    if (kind < HX_REVOKE_JTI || kind > HX_REVOKE_USER || !value) return -1;
    struct revoked *v = hx_strmap_get(&r->by_kind[kind - 1], value);
    if (!v) return -1;
    hx_strmap_del(&r->by_kind[kind - 1], value);
    free(v);
    return 0;
}

int hx_revocation_matches(hx_revoke_kind kind, const char *value, int64_t not_before, const char *jti,
                          const char *sid, const char *user, int64_t iat)
{
    switch (kind) {
    case HX_REVOKE_JTI: return jti && *jti && strcmp(jti, value) == 0;
    case HX_REVOKE_SID: return sid && *sid && strcmp(sid, value) == 0;
    case HX_REVOKE_USER: return user && strcmp(user, value) == 0 && iat < not_before;
    }
    return 0;
}

int hx_revocations_check(const hx_revocations *r, const char *jti, const char *sid, const char *user,
                         int64_t iat)
{
    if (jti && *jti && hx_strmap_get(&r->by_kind[0], jti)) return HX_REVOKED_JTI;
    if (sid && *sid && hx_strmap_get(&r->by_kind[1], sid)) return HX_REVOKED_SID;
    const struct revoked *u = user ? hx_strmap_get(&r->by_kind[2], user) : NULL;
    if (u && iat < u->not_before) return HX_REVOKED_USER;
    return HX_NOT_REVOKED;
}

static int sweep_one(void *arg, const char *key, void *value)
{
    const struct revoked *v = value;
    if (v->expires_ms && v->expires_ms < *(const int64_t *)arg) {
        free(value);
        return 1;
    }
    return 0;
}

void hx_revocations_sweep(hx_revocations *r, int64_t now_ms)
{
    for (int i = 0; i < 3; i++) hx_strmap_foreach(&r->by_kind[i], sweep_one, &now_ms);
}

const char *hx_revoked_code(int which)
{
    switch (which) {
    case HX_REVOKED_JTI: return "token_revoked";
    case HX_REVOKED_SID: return "session_revoked";
    case HX_REVOKED_USER: return "user_revoked";
    }
    return "ok";
}

const char *hx_revoke_kind_name(hx_revoke_kind kind)
{
    switch (kind) {
    case HX_REVOKE_JTI: return "jti";
    case HX_REVOKE_SID: return "sid";
    case HX_REVOKE_USER: return "user";
    }
    return "?";
}

int hx_revoke_kind_parse(const char *s, hx_revoke_kind *out)
{
    static const char *const names[] = {"jti", "sid", "user"};
    for (int i = 0; i < 3; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = (hx_revoke_kind)(i + 1);
            return 0;
        }
    return -1;
}
