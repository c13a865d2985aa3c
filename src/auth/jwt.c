/*
 * Bearer token verification: JWS compact serialization (RFC 7515 §7.1)
 * carrying a JWT claims set (RFC 7519), under the contract of DESIGN §2.
 *
 * hx_jwt_verify walks the token once, in the order jwt.h documents, and
 * stops at the first failure, so each rejection has one stable code and a
 * static detail string (the claim or part that failed) for the audit log:
 *
 *   split      three dot-separated parts, <= HX_JWT_MAX_LEN bytes
 *   header     base64url JSON object; alg ("none" in any case, or anything
 *              but EdDSA/ES256/HS256, is refused); crit is refused since no
 *              extension is understood (RFC 7515 §4.1.11); kid must name a
 *              key; jku/jwk/x5u are ignored -- keys come only from the JWKS
 *   alg        header alg must equal the key's algorithm; the key decides
 *              (this is what defeats "HS256 keyed with the public key")
 *   signature  over the ASCII of header.payload (RFC 7515 §5.2)
 *   claims     iss aud sub exp iat jti required, nbf sid device_id grants
 *              optional; iss trusted; aud matches; time checks with leeway
 *              (RFC 7519 §4.1.4-6); lifetime capped; grants parsed.
 *
 * Nothing here is kept between calls and nothing is global: one stack
 * buffer holds each decoded part in turn, jansson and OpenSSL objects are
 * released before return on every path, and the caller's claims struct is
 * written only on success. Both JSON parses reject duplicate members, so
 * no member can mean one thing to us and another to a different parser.
 */
#include "auth/jwt.h"

#include "auth/grants_json.h"
#include "common/b64.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>
#include <strings.h>

#define MAX_DECODED (HX_JWT_MAX_LEN / 4 * 3 + 3)
#define MAX_SIG 96 /* largest signature we accept is 64 bytes */
/* 9999-12-31T23:59:59Z: bounds every NumericDate so time arithmetic cannot overflow. */
#define MAX_NUMERIC_DATE 253402300799LL

typedef struct part {
    const char *s;
    size_t n;
} part;

static int fail(const char **detail, int err, const char *what)
{
    if (detail) *detail = what;
    return err;
}

/* --- shape and header ---------------------------------------------------- */

static int split(const char *tok, size_t len, part p[3], const char **detail)
{
    const char *d1 = memchr(tok, '.', len);
    const char *d2 = d1 ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - tok)) : NULL;
    if (!d2 || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - tok)))
        return fail(detail, HX_JWT_MALFORMED, "not three parts");
    p[0] = (part){tok, (size_t)(d1 - tok)};
    p[1] = (part){d1 + 1, (size_t)(d2 - d1 - 1)};
    p[2] = (part){d2 + 1, len - (size_t)(d2 + 1 - tok)};
    /* An empty signature is left for the alg check, so "none" tokens get
     * the specific refusal rather than a generic one. */
    if (p[0].n == 0 || p[1].n == 0) return fail(detail, HX_JWT_MALFORMED, "empty part");
    return HX_JWT_OK;
}

/* Decode a base64url part and parse it as a JSON object. */
static json_t *load_part(part p, uint8_t *buf)
{
    long n = hx_b64_decode(p.s, p.n, buf, MAX_DECODED, 1);
    if (n <= 0) return NULL;
    json_t *o = json_loadb((const char *)buf, (size_t)n, JSON_REJECT_DUPLICATES, NULL);
    if (o && !json_is_object(o)) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static int check_header(json_t *h, const hx_jwks *keys, const hx_jwk **key, const char **detail)
{
    /* RFC 7515 §4.1.11: a recipient must reject extensions it does not know. */
    if (json_object_get(h, "crit")) return fail(detail, HX_JWT_MALFORMED, "crit");

    /* RFC 7515 §4.1.1: alg is required; its values are case-sensitive, but
     * "none" is refused however it is spelled. */
    json_t *a = json_object_get(h, "alg");
    if (!json_is_string(a)) return fail(detail, HX_JWT_MALFORMED, "alg");
    const char *alg = json_string_value(a);
    hx_jwt_alg want;
    if (strcasecmp(alg, "none") == 0)
        return fail(detail, HX_JWT_ALG_NOT_ALLOWED, "alg none");
    else if (strcmp(alg, "EdDSA") == 0)
        want = HX_ALG_EDDSA;
    else if (strcmp(alg, "ES256") == 0)
        want = HX_ALG_ES256;
    else if (strcmp(alg, "HS256") == 0)
        want = HX_ALG_HS256;
    else
        return fail(detail, HX_JWT_ALG_NOT_ALLOWED, "alg");

    json_t *kid = json_object_get(h, "kid");
    if (!json_is_string(kid)) return fail(detail, HX_JWT_UNKNOWN_KEY, "kid");
    *key = hx_jwks_find(keys, json_string_value(kid));
    if (!*key) return fail(detail, HX_JWT_UNKNOWN_KEY, "kid not in JWKS");
    if ((*key)->alg != want) return fail(detail, HX_JWT_ALG_MISMATCH, "alg differs from the key's");
    return HX_JWT_OK;
}

/* --- signature ----------------------------------------------------------- */

/* RFC 7518 §3.4: ES256 signs as the fixed 64-byte R || S; OpenSSL wants the
 * DER ECDSA-Sig-Value. Returns the DER length, or -1. */
static int es256_to_der(const uint8_t rs[64], uint8_t *der, size_t cap)
{
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(rs, 32, NULL), *s = BN_bin2bn(rs + 32, 32, NULL);
    int n = -1;
    if (!es || !r || !s || !ECDSA_SIG_set0(es, r, s)) {
        BN_free(r);
        BN_free(s);
        goto done;
    }
    n = i2d_ECDSA_SIG(es, NULL);
    if (n <= 0 || (size_t)n > cap) {
        n = -1;
        goto done;
    }
    n = i2d_ECDSA_SIG(es, &der);
done:
    ECDSA_SIG_free(es);
    return n;
}

static bool pkey_verify(const hx_jwk *k, const char *md, const uint8_t *sig, size_t slen,
                        const uint8_t *msg, size_t mlen)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    bool ok = ctx && EVP_DigestVerifyInit_ex(ctx, NULL, md, NULL, NULL, k->pkey, NULL) == 1 &&
              EVP_DigestVerify(ctx, sig, slen, msg, mlen) == 1;
    EVP_MD_CTX_free(ctx);
    return ok;
}

static bool hs256_verify(const hx_jwk *k, const uint8_t *sig, const uint8_t *msg, size_t mlen)
{
    uint8_t mac[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    bool ok = HMAC(EVP_sha256(), k->secret, (int)k->secret_len, msg, mlen, mac, &n) && n == 32 &&
              CRYPTO_memcmp(mac, sig, 32) == 0; /* constant time: no MAC-guessing oracle */
    OPENSSL_cleanse(mac, sizeof mac);
    return ok;
}

static int check_signature(const hx_jwk *k, part sp, const char *input, size_t ilen,
                           const char **detail)
{
    uint8_t sig[MAX_SIG];
    if (sp.n > hx_b64_encoded_len(sizeof sig, 1))
        return fail(detail, HX_JWT_BAD_SIGNATURE, "signature length");
    long n = hx_b64_decode(sp.s, sp.n, sig, sizeof sig, 1);
    if (n < 0) return fail(detail, HX_JWT_MALFORMED, "signature encoding");

    /* RFC 8037 §3.1 Ed25519 and RFC 7518 §3.4 ES256: 64 bytes; §3.2 HS256: 32. */
    size_t want = k->alg == HX_ALG_HS256 ? 32 : 64;
    if ((size_t)n != want) return fail(detail, HX_JWT_BAD_SIGNATURE, "signature length");

    const uint8_t *msg = (const uint8_t *)input;
    bool ok = false;
    if (k->alg == HX_ALG_EDDSA) {
        ok = pkey_verify(k, NULL, sig, 64, msg, ilen); /* pure Ed25519: no digest */
    } else if (k->alg == HX_ALG_ES256) {
        uint8_t der[80];
        int dlen = es256_to_der(sig, der, sizeof der);
        ok = dlen > 0 && pkey_verify(k, "SHA256", der, (size_t)dlen, msg, ilen);
    } else if (k->alg == HX_ALG_HS256) {
        ok = hs256_verify(k, sig, msg, ilen);
    }
    ERR_clear_error(); /* failed verifies queue errors; keep the thread's queue clean */
    return ok ? HX_JWT_OK : fail(detail, HX_JWT_BAD_SIGNATURE, "signature");
}

/* --- claims -------------------------------------------------------------- */

/* String claim into dst. id: must pass hx_id_valid. Absent: *dst = "" and
 * HX_JWT_MISSING_CLAIM if required, else OK. */
static int str_claim(json_t *c, const char *name, char *dst, size_t cap, bool id, bool required,
                     const char **detail)
{
    json_t *v = json_object_get(c, name);
    dst[0] = '\0';
    if (!v) return required ? fail(detail, HX_JWT_MISSING_CLAIM, name) : HX_JWT_OK;
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) >= cap)
        return fail(detail, HX_JWT_BAD_CLAIM, name);
    memcpy(dst, json_string_value(v), json_string_length(v) + 1);
    if (id && !hx_id_valid(dst)) return fail(detail, HX_JWT_BAD_CLAIM, name);
    return HX_JWT_OK;
}

/* RFC 7519 §2 NumericDate: seconds, JSON number. We take integers, and
 * reals only when integral, within [0, year 9999]. Absent: *out = 0. */
static int time_claim(json_t *c, const char *name, int64_t *out, bool required, const char **detail)
{
    json_t *v = json_object_get(c, name);
    *out = 0;
    if (!v) return required ? fail(detail, HX_JWT_MISSING_CLAIM, name) : HX_JWT_OK;
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        if (i < 0 || i > MAX_NUMERIC_DATE) return fail(detail, HX_JWT_BAD_CLAIM, name);
        *out = (int64_t)i;
        return HX_JWT_OK;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        /* The range test also rejects NaN; inside it the cast is defined. */
        if (!(d >= 0 && d <= (double)MAX_NUMERIC_DATE) || d != (double)(int64_t)d)
            return fail(detail, HX_JWT_BAD_CLAIM, name);
        *out = (int64_t)d;
        return HX_JWT_OK;
    }
    return fail(detail, HX_JWT_BAD_CLAIM, name);
}

/* RFC 7519 §4.1.3: aud is a string or an array of strings; ours must be in it. */
static int check_aud(json_t *aud, const char *mine, const char **detail)
{
    if (json_is_string(aud))
        return mine && strcmp(json_string_value(aud), mine) == 0
                   ? HX_JWT_OK
                   : fail(detail, HX_JWT_WRONG_AUDIENCE, "aud");
    if (!json_is_array(aud)) return fail(detail, HX_JWT_BAD_CLAIM, "aud");
    bool found = false;
    size_t i;
    json_t *v;
    json_array_foreach(aud, i, v)
    {
        if (!json_is_string(v)) return fail(detail, HX_JWT_BAD_CLAIM, "aud");
        if (mine && strcmp(json_string_value(v), mine) == 0) found = true;
    }
    return found ? HX_JWT_OK : fail(detail, HX_JWT_WRONG_AUDIENCE, "aud");
}

static int grant_flag(json_t *g, const char *name, const char *what, uint32_t bit, uint32_t *flags,
                      const char **detail)
{
    json_t *v = json_object_get(g, name);
    if (!v) return HX_JWT_OK; /* keep the default already in *flags */
    if (!json_is_boolean(v)) return fail(detail, HX_JWT_BAD_CLAIM, what);
    *flags = json_is_true(v) ? (*flags | bit) : (*flags & ~bit);
    return HX_JWT_OK;
}

/* grants: {"rooms": "*" | [ids, or "*"], "publish", "subscribe", "data", "moderate": bool}.
 * Absent members keep hx_grants_default; unknown members are ignored. */
static int parse_grants(json_t *g, hx_grants *out, const char **detail)
{
    hx_grants_default(out);
    if (!g) return HX_JWT_OK;
    if (!json_is_object(g)) return fail(detail, HX_JWT_BAD_CLAIM, "grants");
    if (hx_grant_rooms_from_json(json_object_get(g, "rooms"), out))
        return fail(detail, HX_JWT_BAD_CLAIM, "grants.rooms");

    int rc;
    if ((rc = grant_flag(g, "publish", "grants.publish", HX_GRANT_PUBLISH, &out->flags, detail)) ||
        (rc = grant_flag(g, "subscribe", "grants.subscribe", HX_GRANT_SUBSCRIBE, &out->flags,
                         detail)) ||
        (rc = grant_flag(g, "data", "grants.data", HX_GRANT_DATA, &out->flags, detail)) ||
        (rc = grant_flag(g, "moderate", "grants.moderate", HX_GRANT_MODERATE, &out->flags, detail)))
        return rc;
    return HX_JWT_OK;
}

static int check_claims(json_t *c, const hx_jwt_policy *pol, hx_token_claims *t,
                        const char **detail)
{
    /* Presence first, in a fixed order, so "missing" always names the same claim. */
    static const char *const required[] = {"iss", "aud", "sub", "exp", "iat", "jti"};
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
        if (!json_object_get(c, required[i]))
            return fail(detail, HX_JWT_MISSING_CLAIM, required[i]);

    int rc;
    if ((rc = str_claim(c, "iss", t->iss, sizeof t->iss, false, true, detail)) ||
        (rc = str_claim(c, "sub", t->sub, sizeof t->sub, true, true, detail)) ||
        (rc = str_claim(c, "jti", t->jti, sizeof t->jti, true, true, detail)) ||
        (rc = str_claim(c, "sid", t->sid, sizeof t->sid, true, false, detail)) ||
        (rc = str_claim(c, "device_id", t->device_id, sizeof t->device_id, true, false, detail)) ||
        (rc = time_claim(c, "exp", &t->exp, true, detail)) ||
        (rc = time_claim(c, "iat", &t->iat, true, detail)) ||
        (rc = time_claim(c, "nbf", &t->nbf, false, detail)))
        return rc;
    json_t *aud = json_object_get(c, "aud");
    if (!json_is_string(aud) && !json_is_array(aud)) return fail(detail, HX_JWT_BAD_CLAIM, "aud");

    bool trusted = false;
    for (size_t i = 0; i < pol->n_issuers && !trusted; i++)
        trusted = pol->issuers[i] && strcmp(pol->issuers[i], t->iss) == 0;
    if (!trusted) return fail(detail, HX_JWT_UNTRUSTED_ISSUER, "iss");
    if ((rc = check_aud(aud, pol->audience, detail))) return rc;

    /* RFC 7519 §4.1.4-5 with leeway; an edge value itself is accepted.
     * iat in the future means a skewed or forged issuer clock. */
    int64_t leeway = pol->leeway_s > 0 ? pol->leeway_s : 0;
    if (t->exp < pol->now_s - leeway) return fail(detail, HX_JWT_EXPIRED, "exp");
    if (json_object_get(c, "nbf") && t->nbf > pol->now_s + leeway)
        return fail(detail, HX_JWT_NOT_YET_VALID, "nbf");
    if (t->iat > pol->now_s + leeway) return fail(detail, HX_JWT_NOT_YET_VALID, "iat");
    if (t->exp < t->iat) return fail(detail, HX_JWT_BAD_CLAIM, "exp before iat");
    if (t->exp - t->iat > pol->max_lifetime_s)
        return fail(detail, HX_JWT_LIFETIME_EXCEEDED, "exp - iat");

    return parse_grants(json_object_get(c, "grants"), &t->grants, detail);
}

/* --- entry points -------------------------------------------------------- */

int hx_jwt_verify(const hx_jwks *keys, const hx_jwt_policy *pol, const char *token, size_t len,
                  hx_token_claims *out, const char **detail)
{
    if (detail) *detail = NULL;
    if (!pol || !out || !token) return fail(detail, HX_JWT_MALFORMED, "no token");
    if (len > HX_JWT_MAX_LEN) return fail(detail, HX_JWT_TOO_LARGE, "token");

    part p[3];
    int rc = split(token, len, p, detail);
    if (rc) return rc;

    uint8_t buf[MAX_DECODED];
    hx_token_claims t;
    memset(&t, 0, sizeof t);
    const hx_jwk *key = NULL;
    json_t *j = load_part(p[0], buf);
    if (!j) return fail(detail, HX_JWT_MALFORMED, "header");
    rc = check_header(j, keys, &key, detail);
    json_decref(j);
    if (rc) return rc;

    /* RFC 7515 §5.2 step 8: the signing input is the encoded header and
     * payload exactly as received, dot included. */
    rc = check_signature(key, p[2], token, (size_t)(p[2].s - 1 - token), detail);
    if (rc) return rc;

    j = load_part(p[1], buf);
    if (!j) return fail(detail, HX_JWT_MALFORMED, "payload");
    rc = check_claims(j, pol, &t, detail);
    json_decref(j);
    if (rc) return rc;

    memcpy(t.kid, key->kid, strlen(key->kid) + 1); /* jwks caps kid at HX_MAX_ID_LEN */
    t.alg = key->alg;
    *out = t;
    return HX_JWT_OK;
}

const char *hx_jwt_err_code(int err)
{
    switch (err) {
    case HX_JWT_OK:
        return "ok";
    case HX_JWT_MALFORMED:
        return "token_malformed";
    case HX_JWT_ALG_NOT_ALLOWED:
        return "token_alg_not_allowed";
    case HX_JWT_UNKNOWN_KEY:
        return "token_unknown_key";
    case HX_JWT_ALG_MISMATCH:
        return "token_alg_mismatch";
    case HX_JWT_BAD_SIGNATURE:
        return "token_bad_signature";
    case HX_JWT_MISSING_CLAIM:
        return "token_missing_claim";
    case HX_JWT_BAD_CLAIM:
        return "token_bad_claim";
    case HX_JWT_UNTRUSTED_ISSUER:
        return "token_untrusted_issuer";
    case HX_JWT_WRONG_AUDIENCE:
        return "token_wrong_audience";
    case HX_JWT_EXPIRED:
        return "token_expired";
    case HX_JWT_NOT_YET_VALID:
        return "token_not_yet_valid";
    case HX_JWT_LIFETIME_EXCEEDED:
        return "token_lifetime_exceeded";
    case HX_JWT_TOO_LARGE:
        return "token_too_large";
    default:
        return "token_invalid";
    }
}
