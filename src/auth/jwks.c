/*
 * JWKS loading (RFC 7517) into verification keys for jwt.c.
 *
 * A set is one allocation: a count and a flexible array of hx_jwk. Each key
 * owns a copy of its kid, and either an EVP_PKEY (EdDSA, ES256) or a copy of
 * its HMAC secret (HS256); hx_jwks_free releases them all and wipes the
 * secrets. A set is immutable once built, so verifiers on any thread may
 * share it; reload builds a new set and swaps the pointer (jwks.h).
 *
 * The key's type fixes its algorithm (RFC 7518 §3.1 names, DESIGN §2):
 *   OKP / Ed25519 (RFC 8037 §2)  x = 32-byte public key          -> EdDSA
 *   EC  / P-256   (RFC 7518 §6.2) x, y = 32-byte coordinates     -> ES256
 *   oct           (RFC 7518 §6.4) k = secret, >= 32 bytes (§3.2) -> HS256
 * so a token can never pick how its own key is used. A key's optional `alg`
 * must name that same algorithm. Parsing is strict, because a JWKS is
 * configuration and a half-understood key is a silent outage or worse:
 *   - kid is required (1..HX_MAX_ID_LEN printable ASCII) and unique;
 *   - a known kty with a wrong crv, a badly encoded or wrong-length member,
 *     or an EC point not on the curve fails the whole set;
 *   - keys with `use` other than "sig" (RFC 7517 §4.2), and keys of a kty
 *     hearth does not verify with (RSA, ...), are skipped, so an identity
 *     provider's published set with extra keys still loads;
 *   - a set with no usable key is an error (it would reject every token);
 *   - caps: 1 MiB of JSON, HX_JWKS_MAX_KEYS keys, secrets <= 512 bytes;
 *   - duplicate JSON members are rejected by the parser.
 * Private members (`d`) are ignored: hearth only verifies.
 */
#include "auth/jwks.h"

#include "auth/grants.h"
#include "common/b64.h"

#include <errno.h>
#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HX_JWKS_MAX_BYTES (1u << 20)
#define HX_JWKS_MAX_KEYS 64
#define HX_JWKS_MIN_SECRET 32 /* RFC 7518 §3.2: at least the hash size */
#define HX_JWKS_MAX_SECRET 512

struct hx_jwks {
    size_t n;
    hx_jwk keys[];
};

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    ERR_clear_error(); /* leave no OpenSSL errors queued on this thread */
    return -1;
}

/* Optional string member: NULL when absent, *bad set when present but not a string. */
static const char *str_member(json_t *obj, const char *name, int *bad)
{
    json_t *v = json_object_get(obj, name);
    if (!v) return NULL;
    if (!json_is_string(v)) {
        *bad = 1;
        return NULL;
    }
    return json_string_value(v);
}

/* Decode base64url member `name` into buf; returns its length or -1. */
static long b64_member(json_t *jwk, const char *name, uint8_t *buf, size_t cap)
{
    json_t *v = json_object_get(jwk, name);
    if (!json_is_string(v) || json_string_length(v) > hx_b64_encoded_len(cap, 1)) return -1;
    return hx_b64_decode(json_string_value(v), json_string_length(v), buf, cap, 1);
}

static void free_key(hx_jwk *k)
{
    free((char *)k->kid);
    EVP_PKEY_free(k->pkey);
    if (k->secret) {
        OPENSSL_cleanse((uint8_t *)k->secret, k->secret_len);
        free((uint8_t *)k->secret);
    }
    memset(k, 0, sizeof *k);
}

static int okp_key(json_t *jwk, size_t i, hx_jwk *k, char *err, size_t errlen)
{
    int bad = 0;
    const char *crv = str_member(jwk, "crv", &bad);
    if (!crv || strcmp(crv, "Ed25519") != 0)
        return fail(err, errlen, "keys[%zu]: OKP key needs crv \"Ed25519\"", i);
    uint8_t x[64];
    if (b64_member(jwk, "x", x, sizeof x) != 32)
        return fail(err, errlen, "keys[%zu]: Ed25519 x must be 32 bytes of base64url", i);
    k->pkey = EVP_PKEY_new_raw_public_key_ex(NULL, "ED25519", NULL, x, 32);
    if (!k->pkey) return fail(err, errlen, "keys[%zu]: bad Ed25519 public key", i);
    return 0;
}

static int ec_key(json_t *jwk, size_t i, hx_jwk *k, char *err, size_t errlen)
{
    int bad = 0;
    const char *crv = str_member(jwk, "crv", &bad);
    if (!crv || strcmp(crv, "P-256") != 0)
        return fail(err, errlen, "keys[%zu]: EC key needs crv \"P-256\"", i);

    /* RFC 7518 §6.2.1.2-3: coordinates are full-length, 32 bytes for P-256.
     * SEC 1 §2.3.3 uncompressed point: 0x04 || x || y. */
    uint8_t pt[1 + 64], tmp[64];
    pt[0] = 0x04;
    if (b64_member(jwk, "x", tmp, sizeof tmp) != 32)
        return fail(err, errlen, "keys[%zu]: P-256 x must be 32 bytes of base64url", i);
    memcpy(pt + 1, tmp, 32);
    if (b64_member(jwk, "y", tmp, sizeof tmp) != 32)
        return fail(err, errlen, "keys[%zu]: P-256 y must be 32 bytes of base64url", i);
    memcpy(pt + 33, tmp, 32);

    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0),
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof pt),
        OSSL_PARAM_construct_end(),
    };
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    EVP_PKEY_CTX *chk = NULL;
    EVP_PKEY *pkey = NULL;
    int rc = -1;
    if (!ctx || EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
        goto done;
    k->pkey = pkey; /* owned by k from here; free_key releases it on failure */
    /* A point off the curve is an invalid-curve attack waiting to happen. */
    chk = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    if (chk && EVP_PKEY_public_check(chk) == 1) rc = 0;
done:
    EVP_PKEY_CTX_free(chk);
    EVP_PKEY_CTX_free(ctx);
    if (rc < 0) return fail(err, errlen, "keys[%zu]: invalid P-256 public key", i);
    return 0;
}

static int oct_key(json_t *jwk, size_t i, hx_jwk *k, char *err, size_t errlen)
{
    uint8_t buf[HX_JWKS_MAX_SECRET];
    long n = b64_member(jwk, "k", buf, sizeof buf);
    if (n < HX_JWKS_MIN_SECRET) {
        OPENSSL_cleanse(buf, sizeof buf);
        return fail(err, errlen, "keys[%zu]: oct k must be %d..%d bytes of base64url", i,
                    HX_JWKS_MIN_SECRET, HX_JWKS_MAX_SECRET);
    }
    uint8_t *s = malloc((size_t)n);
    if (s) memcpy(s, buf, (size_t)n);
    OPENSSL_cleanse(buf, sizeof buf);
    if (!s) return fail(err, errlen, "out of memory");
    k->secret = s;
    k->secret_len = (size_t)n;
    return 0;
}

static bool kid_valid(const char *kid)
{
    size_t n = strlen(kid);
    if (n == 0 || n > HX_MAX_ID_LEN) return false;
    for (size_t j = 0; j < n; j++)
        if ((unsigned char)kid[j] <= 0x20 || (unsigned char)kid[j] >= 0x7f) return false;
    return true;
}

/* One JWK: 1 kept (k filled), 0 skipped, -1 error. */
static int parse_key(json_t *jwk, size_t i, hx_jwk *k, char *err, size_t errlen)
{
    if (!json_is_object(jwk)) return fail(err, errlen, "keys[%zu]: not an object", i);
    int bad = 0;
    const char *use = str_member(jwk, "use", &bad);
    const char *kty = str_member(jwk, "kty", &bad);
    const char *alg = str_member(jwk, "alg", &bad);
    const char *kid = str_member(jwk, "kid", &bad);
    if (bad) return fail(err, errlen, "keys[%zu]: use/kty/alg/kid must be strings", i);
    if (use && strcmp(use, "sig") != 0) return 0;
    if (!kty) return fail(err, errlen, "keys[%zu]: missing kty", i);

    if (strcmp(kty, "OKP") == 0)
        k->alg = HX_ALG_EDDSA;
    else if (strcmp(kty, "EC") == 0)
        k->alg = HX_ALG_ES256;
    else if (strcmp(kty, "oct") == 0)
        k->alg = HX_ALG_HS256;
    else
        return 0; /* RSA and others: not ours to verify with */

    if (!kid) return fail(err, errlen, "keys[%zu]: missing kid", i);
    if (!kid_valid(kid))
        return fail(err, errlen, "keys[%zu]: kid must be 1..%d printable characters", i,
                    HX_MAX_ID_LEN);
    if (alg && strcmp(alg, hx_jwt_alg_name(k->alg)) != 0)
        return fail(err, errlen, "keys[%zu]: alg \"%.32s\" does not match kty %s", i, alg, kty);

    int rc = k->alg == HX_ALG_EDDSA   ? okp_key(jwk, i, k, err, errlen)
             : k->alg == HX_ALG_ES256 ? ec_key(jwk, i, k, err, errlen)
                                      : oct_key(jwk, i, k, err, errlen);
    if (rc == 0 && !(k->kid = strdup(kid))) rc = fail(err, errlen, "out of memory");
    if (rc < 0) {
        free_key(k);
        return -1;
    }
    return 1;
}

int hx_jwks_parse(const char *json, size_t len, hx_jwks **out, char *err, size_t errlen)
{
    *out = NULL;
    if (!json) return fail(err, errlen, "no JWKS");
    if (len > HX_JWKS_MAX_BYTES)
        return fail(err, errlen, "JWKS larger than %u bytes", HX_JWKS_MAX_BYTES);

    json_error_t jerr;
    json_t *doc = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc) return fail(err, errlen, "JWKS is not JSON: %s (line %d)", jerr.text, jerr.line);

    hx_jwks *set = NULL;
    json_t *keys = json_object_get(doc, "keys");
    if (!json_is_array(keys)) {
        fail(err, errlen, "JWKS needs a \"keys\" array");
        goto fail;
    }
    size_t n = json_array_size(keys);
    if (n > HX_JWKS_MAX_KEYS) {
        fail(err, errlen, "JWKS has %zu keys, at most %d allowed", n, HX_JWKS_MAX_KEYS);
        goto fail;
    }
    set = calloc(1, sizeof *set + n * sizeof set->keys[0]);
    if (!set) {
        fail(err, errlen, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        hx_jwk *k = &set->keys[set->n];
        int rc = parse_key(json_array_get(keys, i), i, k, err, errlen);
        if (rc < 0) goto fail;
        if (rc == 0) continue;
        if (hx_jwks_find(set, k->kid)) {
            fail(err, errlen, "keys[%zu]: duplicate kid \"%s\"", i, k->kid);
            free_key(k);
            goto fail;
        }
        set->n++;
    }
    if (set->n == 0) {
        fail(err, errlen, "JWKS has no usable signing key");
        goto fail;
    }
    json_decref(doc);
    *out = set;
    return 0;
fail:
    hx_jwks_free(set);
    json_decref(doc);
    return -1;
}

int hx_jwks_load_file(const char *path, hx_jwks **out, char *err, size_t errlen)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return fail(err, errlen, "%s: %s", path, strerror(errno));
    /* Read one byte past the cap to tell "exactly 1 MiB" from "more". */
    char *buf = malloc(HX_JWKS_MAX_BYTES + 1);
    size_t n = buf ? fread(buf, 1, HX_JWKS_MAX_BYTES + 1, f) : 0;
    int rc;
    if (!buf)
        rc = fail(err, errlen, "out of memory");
    else if (ferror(f))
        rc = fail(err, errlen, "%s: read error", path);
    else if (n > HX_JWKS_MAX_BYTES)
        rc = fail(err, errlen, "%s: larger than %u bytes", path, HX_JWKS_MAX_BYTES);
    else
        rc = hx_jwks_parse(buf, n, out, err, errlen);
    free(buf);
    fclose(f);
    return rc;
}

void hx_jwks_free(hx_jwks *set)
{
    if (!set) return;
    for (size_t i = 0; i < set->n; i++)
        free_key(&set->keys[i]);
    free(set);
}

size_t hx_jwks_count(const hx_jwks *set)
{
    return set ? set->n : 0;
}

const hx_jwk *hx_jwks_find(const hx_jwks *set, const char *kid)
{
    if (!set || !kid) return NULL;
    for (size_t i = 0; i < set->n; i++)
        if (strcmp(set->keys[i].kid, kid) == 0) return &set->keys[i];
    return NULL;
}

const char *hx_jwt_alg_name(hx_jwt_alg alg)
{
    switch (alg) {
    case HX_ALG_EDDSA:
        return "EdDSA";
    case HX_ALG_ES256:
        return "ES256";
    case HX_ALG_HS256:
        return "HS256";
    default:
        return "none";
    }
}
