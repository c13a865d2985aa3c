/*
 * libFuzzer target for the token path: auth/jwt, auth/jwks, common/b64.
 *
 * Each input is used four ways:
 *   1. as a compact JWS for hx_jwt_verify against a fixed JWKS holding one
 *      key of each type (EdDSA, ES256, HS256), built once from the JWK text
 *      below;
 *   2. as a JWKS document for hx_jwks_parse;
 *   3. as the payload of an HS256 token that this harness signs with the
 *      fixed HMAC key, so mutations reach claim and grant parsing behind the
 *      signature check (a fuzzer cannot forge signatures, so path 1 alone
 *      stops at the signature);
 *   4. as base64url and base64 text: whatever decodes must re-encode to the
 *      same text, i.e. the decoder accepts only canonical encodings.
 * Beyond what ASan/UBSan/LSan catch, it aborts when a result breaks the
 * contract: an error outside hx_jwt_err, a failure without a detail
 * string, or an accepted token whose claims violate the policy.
 *
 * The seed corpus (fuzz/corpus/jwt) holds tokens of each algorithm signed
 * by the private halves of the keys below (generated once, then discarded),
 * so seeds pass path 1 entirely; "alg none", an algorithm-confusion token,
 * an expired token, raw claim sets for path 3, and garbage. fuzz/corpus/jwks
 * holds JWKS documents. Run with either directory as the corpus.
 */
#include "auth/jwks.h"
#include "auth/jwt.h"
#include "common/b64.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>

#define NOW 1700000000LL

static const char JWKS[] =
    "{\"keys\":["
    "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"ed-1\","
    "\"x\":\"hcQ_q_oCqzzzKzdOCs4KE8AhdhHpgJuFzKtSUPzD9fE\"},"
    "{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"ec-1\","
    "\"x\":\"8jvIQWoM7jkc78nwzaqV9ivGXLrpysmrftjZH5ne5v8\","
    "\"y\":\"u6ugm7qTZ-VIUSy1Yd6nekRFY3s7nSrt_Du4kEOe_sg\"},"
    "{\"kty\":\"oct\",\"kid\":\"hs-1\",\"k\":\"xt_xcFxoATojx47dvAQZ3Gfw6Ze_-Y6IEbfCrMAG53Q\"}"
    "]}";
static const char HS_HEADER[] = "{\"alg\":\"HS256\",\"kid\":\"hs-1\"}";

static const char *const issuers[] = {"https://id.example.com"};
static const hx_jwt_policy policy = {
    .issuers = issuers,
    .n_issuers = 1,
    .audience = "hearth",
    .leeway_s = 60,
    .max_lifetime_s = 86400,
    .now_s = NOW,
};

/* Built once by LLVMFuzzerInitialize, read-only afterwards. */
static hx_jwks *keys;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char err[256];
    if (hx_jwks_parse(JWKS, strlen(JWKS), &keys, err, sizeof err) != 0 || hx_jwks_count(keys) != 3)
        abort();
    return 0;
}

static void check_verify(const char *tok, size_t len)
{
    hx_token_claims c;
    const char *detail = NULL;
    int rc = hx_jwt_verify(keys, &policy, tok, len, &c, &detail);
    if (rc > 0 || rc < HX_JWT_TOO_LARGE || strcmp(hx_jwt_err_code(rc), "token_invalid") == 0)
        abort();
    if (rc != HX_JWT_OK) {
        if (!detail) abort();
        return;
    }
    const hx_jwk *k = hx_jwks_find(keys, c.kid);
    if (detail || !k || k->alg != c.alg || !hx_id_valid(c.sub) || !hx_id_valid(c.jti) ||
        (c.sid[0] && !hx_id_valid(c.sid)) || (c.device_id[0] && !hx_id_valid(c.device_id)) ||
        c.exp < NOW - policy.leeway_s || c.iat > NOW + policy.leeway_s ||
        c.nbf > NOW + policy.leeway_s || c.exp - c.iat > policy.max_lifetime_s ||
        strcmp(c.iss, issuers[0]) != 0 || c.grants.n_rooms > HX_MAX_GRANT_ROOMS ||
        (c.grants.all_rooms && c.grants.n_rooms))
        abort();
    for (size_t i = 0; i < c.grants.n_rooms; i++)
        if (!hx_id_valid(c.grants.rooms[i])) abort();
}

static void check_jwks(const uint8_t *data, size_t size)
{
    hx_jwks *set = NULL;
    char err[256];
    if (hx_jwks_parse((const char *)data, size, &set, err, sizeof err) == 0) {
        if (!set || hx_jwks_count(set) == 0) abort();
        hx_jwks_free(set);
    } else if (set || !memchr(err, '\0', sizeof err)) {
        abort();
    }
}

/* Path 3: sign the input as a payload with the fixed HMAC key. */
static void check_signed_payload(const uint8_t *data, size_t size)
{
    static const size_t cap = HX_JWT_MAX_LEN + 256; /* header, dots, MAC */
    if (hx_b64_encoded_len(size, 1) > HX_JWT_MAX_LEN) return;
    char *tok = malloc(cap);
    const hx_jwk *k = hx_jwks_find(keys, "hs-1");
    if (!tok || !k) abort();
    long h = hx_b64_encode((const uint8_t *)HS_HEADER, strlen(HS_HEADER), tok, cap, 1);
    if (h < 0) abort();
    tok[h++] = '.';
    long p = hx_b64_encode(data, size, tok + h, cap - (size_t)h, 1);
    if (p < 0) abort();
    size_t n = (size_t)h + (size_t)p;
    uint8_t mac[32];
    unsigned int maclen = 0;
    if (!HMAC(EVP_sha256(), k->secret, (int)k->secret_len, (const uint8_t *)tok, n, mac, &maclen))
        abort();
    tok[n++] = '.';
    long s = hx_b64_encode(mac, maclen, tok + n, cap - n, 1);
    if (s < 0) abort();
    check_verify(tok, n + (size_t)s);
    free(tok);
}

/* Path 4: decoding is canonical in both alphabets. */
static void check_b64(const uint8_t *data, size_t size)
{
    if (size > 4096) return;
    uint8_t *raw = malloc(size + 1);
    char *enc = malloc(size + 8);
    for (int url = 0; url <= 1; url++) {
        long n = hx_b64_decode((const char *)data, size, raw, size + 1, url);
        if (n < 0) continue;
        long e = hx_b64_encode(raw, (size_t)n, enc, size + 8, url);
        size_t in = size;
        if (e < 0) abort();
        while (!url && e > 0 && enc[e - 1] == '=')
            e--; /* standard mode accepts the text with or without padding */
        while (!url && in > 0 && data[in - 1] == '=')
            in--;
        if ((size_t)e != in || memcmp(enc, data, in) != 0) abort();
    }
    free(raw);
    free(enc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_verify((const char *)data, size);
    check_jwks(data, size);
    check_signed_payload(data, size);
    check_b64(data, size);
    return 0;
}
