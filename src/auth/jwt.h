/*
 * Verification of the platform's bearer tokens (JWS compact serialization,
 * RFC 7515/7519) under the contract of DESIGN §2 and docs/auth.md.
 *
 * Order of checks: shape and size -> header JSON -> alg ("none" and unknown
 * algorithms rejected) -> kid present and known -> header alg equals the
 * key's algorithm (stops algorithm confusion) -> signature -> payload JSON ->
 * required claims present and typed -> iss trusted -> aud -> exp / nbf with
 * leeway -> lifetime cap -> grants.
 */
#ifndef HX_AUTH_JWT_H
#define HX_AUTH_JWT_H

#include "auth/grants.h"
#include "auth/jwks.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HX_JWT_MAX_LEN 8192 /* bytes of compact token */

typedef enum hx_jwt_err {
    HX_JWT_OK = 0,
    HX_JWT_MALFORMED = -1,         /* token_malformed: not three base64url parts / bad JSON */
    HX_JWT_ALG_NOT_ALLOWED = -2,   /* token_alg_not_allowed: "none" or an unsupported alg */
    HX_JWT_UNKNOWN_KEY = -3,       /* token_unknown_key: kid missing or not in the JWKS */
    HX_JWT_ALG_MISMATCH = -4,      /* token_alg_mismatch: header alg != key's alg */
    HX_JWT_BAD_SIGNATURE = -5,     /* token_bad_signature */
    HX_JWT_MISSING_CLAIM = -6,     /* token_missing_claim (detail names the claim) */
    HX_JWT_BAD_CLAIM = -7,         /* token_bad_claim: wrong type / invalid value */
    HX_JWT_UNTRUSTED_ISSUER = -8,  /* token_untrusted_issuer */
    HX_JWT_WRONG_AUDIENCE = -9,    /* token_wrong_audience */
    HX_JWT_EXPIRED = -10,          /* token_expired */
    HX_JWT_NOT_YET_VALID = -11,    /* token_not_yet_valid */
    HX_JWT_LIFETIME_EXCEEDED = -12,/* token_lifetime_exceeded: exp - iat > cap */
    HX_JWT_TOO_LARGE = -13,        /* token_too_large */
} hx_jwt_err;

typedef struct hx_jwt_policy {
    const char *const *issuers; /* trusted iss values */
    size_t n_issuers;
    const char *audience;       /* this deployment; aud may be a string or an array containing it */
    int64_t leeway_s;           /* default 60 */
    int64_t max_lifetime_s;     /* default 86400 */
    int64_t now_s;              /* unix seconds */
} hx_jwt_policy;

typedef struct hx_token_claims {
    char iss[256];
    char sub[HX_MAX_ID_LEN + 1];
    char jti[HX_MAX_ID_LEN + 1];
    char sid[HX_MAX_ID_LEN + 1];       /* "" when absent */
    char device_id[HX_MAX_ID_LEN + 1]; /* "" when absent */
    char kid[HX_MAX_ID_LEN + 1];
    hx_jwt_alg alg;
    int64_t exp, iat, nbf;             /* nbf 0 when absent */
    hx_grants grants;                  /* hx_grants_default() when absent */
} hx_token_claims;

/**
 * Verify a compact JWS against keys and policy. On success fills *out and
 * returns HX_JWT_OK; on failure returns a negative hx_jwt_err and points
 * *detail (if not NULL) at a static string naming what failed.
 */
int hx_jwt_verify(const hx_jwks *keys, const hx_jwt_policy *pol, const char *token, size_t len,
                  hx_token_claims *out, const char **detail);

/** Stable machine code, e.g. "token_expired". */
const char *hx_jwt_err_code(int err);

#endif
