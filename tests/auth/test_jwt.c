/*
 * Unit tests for auth/jwt. The fixture generates one key of each type
 * (Ed25519, P-256, HMAC secret), publishes them as a JWKS and signs tokens
 * with OpenSSL here, so every test controls the exact header, claims and
 * signature bytes. One test per way a token can fail, each asserting both
 * the hx_jwt_err value and its stable hx_jwt_err_code string, plus the
 * edges that must still be accepted (leeway, lifetime and size limits).
 */
#include "auth/jwt.h"

#include "common/b64.h"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define NOW 1700000000LL
#define ISS "https://id.example.com"
#define AUD "hearth-test"
#define TOKCAP (2 * HX_JWT_MAX_LEN)

typedef struct fixture {
    EVP_PKEY *ed, *ec;
    uint8_t ed_pub[32];
    uint8_t hs[32];
    hx_jwks *jwks;
    hx_jwt_policy pol;
    char tok[TOKCAP];
} fixture;

static const char *const issuers[] = {"https://other.example.com", ISS};

/* How to produce the third part of a token. */
typedef enum signer {
    SIGN_ED,       /* Ed25519 with the fixture key */
    SIGN_EC,       /* ES256, JOSE R || S */
    SIGN_EC_DER,   /* ES256, DER as OpenSSL returns it (wrong for JWS) */
    SIGN_HS,       /* HMAC-SHA256 with the fixture secret */
    SIGN_HS_EDPUB, /* HMAC-SHA256 keyed with the Ed25519 public key bytes */
    SIGN_EMPTY,    /* empty signature, as "alg":"none" tokens carry */
} signer;

static void b64url(const uint8_t *p, size_t n, char *out, size_t cap)
{
    assert_true(hx_b64_encode(p, n, out, cap, 1) >= 0);
}

static size_t sign(const fixture *f, signer how, const char *msg, size_t mlen, uint8_t *sig)
{
    size_t n = 128;
    unsigned int hn = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    switch (how) {
    case SIGN_ED:
        assert_int_equal(EVP_DigestSignInit_ex(ctx, NULL, NULL, NULL, NULL, f->ed, NULL), 1);
        assert_int_equal(EVP_DigestSign(ctx, sig, &n, (const uint8_t *)msg, mlen), 1);
        break;
    case SIGN_EC:
    case SIGN_EC_DER:
        assert_int_equal(EVP_DigestSignInit_ex(ctx, NULL, "SHA256", NULL, NULL, f->ec, NULL), 1);
        assert_int_equal(EVP_DigestSign(ctx, sig, &n, (const uint8_t *)msg, mlen), 1);
        if (how == SIGN_EC) {
            const uint8_t *p = sig;
            ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)n);
            assert_non_null(es);
            assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_r(es), sig, 32), 32);
            assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_s(es), sig + 32, 32), 32);
            ECDSA_SIG_free(es);
            n = 64;
        }
        break;
    case SIGN_HS:
    case SIGN_HS_EDPUB:
        assert_non_null(HMAC(EVP_sha256(), how == SIGN_HS ? f->hs : f->ed_pub, 32,
                             (const uint8_t *)msg, mlen, sig, &hn));
        n = hn;
        break;
    case SIGN_EMPTY:
        n = 0;
        break;
    }
    EVP_MD_CTX_free(ctx);
    return n;
}

/* Build header.payload.signature into f->tok from JSON texts. */
static const char *token(fixture *f, signer how, const char *header, const char *payload)
{
    size_t off = 0;
    b64url((const uint8_t *)header, strlen(header), f->tok, TOKCAP);
    off = strlen(f->tok);
    f->tok[off++] = '.';
    b64url((const uint8_t *)payload, strlen(payload), f->tok + off, TOKCAP - off);
    off += strlen(f->tok + off);
    uint8_t sig[128];
    size_t n = sign(f, how, f->tok, off, sig);
    f->tok[off++] = '.';
    b64url(sig, n, f->tok + off, TOKCAP - off);
    return f->tok;
}

/* Claims as JSON member texts; NULL leaves the member out. */
typedef struct spec {
    const char *iss, *aud, *sub, *exp, *iat, *jti, *extra;
} spec;

static spec base_spec(void)
{
    return (spec){.iss = "\"" ISS "\"",
                  .aud = "\"" AUD "\"",
                  .sub = "\"user-1\"",
                  .exp = "1700003600", /* NOW + 1 h */
                  .iat = "1699999990", /* NOW - 10 s */
                  .jti = "\"jti-1\"",
                  .extra = NULL};
}

static const char *payload(const spec *s)
{
    static char buf[HX_JWT_MAX_LEN]; /* test-only scratch */
    const char *names[] = {"iss", "aud", "sub", "exp", "iat", "jti"};
    const char *vals[] = {s->iss, s->aud, s->sub, s->exp, s->iat, s->jti};
    size_t off = (size_t)snprintf(buf, sizeof buf, "{");
    for (size_t i = 0; i < 6; i++)
        if (vals[i])
            off += (size_t)snprintf(buf + off, sizeof buf - off, "%s\"%s\":%s", off > 1 ? "," : "",
                                    names[i], vals[i]);
    if (s->extra)
        off += (size_t)snprintf(buf + off, sizeof buf - off, "%s%s", off > 1 ? "," : "", s->extra);
    snprintf(buf + off, sizeof buf - off, "}");
    return buf;
}

#define HDR_ED "{\"alg\":\"EdDSA\",\"kid\":\"ed-1\",\"typ\":\"JWT\"}"
#define HDR_EC "{\"alg\":\"ES256\",\"kid\":\"ec-1\"}"
#define HDR_HS "{\"alg\":\"HS256\",\"kid\":\"hs-1\"}"

static const char *hs_token(fixture *f, const spec *s)
{
    return token(f, SIGN_HS, HDR_HS, payload(s));
}

/* Verify and assert the outcome; returns the detail string. */
static const char *expect(fixture *f, const char *tok, int want, const char *code,
                          hx_token_claims *out)
{
    hx_token_claims scratch;
    const char *detail = "unset";
    int rc = hx_jwt_verify(f->jwks, &f->pol, tok, strlen(tok), out ? out : &scratch, &detail);
    if (rc != want)
        fail_msg("got %d (%s, detail %s), want %d (%s)", rc, hx_jwt_err_code(rc),
                 detail ? detail : "-", want, code);
    assert_string_equal(hx_jwt_err_code(rc), code);
    if (rc == HX_JWT_OK)
        assert_null(detail);
    else
        assert_non_null(detail);
    return detail;
}

#define EXPECT_OK(f, tok, out) expect(f, tok, HX_JWT_OK, "ok", out)

/* --- fixture -------------------------------------------------------------- */

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    f->ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    assert_non_null(f->ed);
    assert_non_null(f->ec);
    size_t n = sizeof f->ed_pub;
    assert_int_equal(EVP_PKEY_get_raw_public_key(f->ed, f->ed_pub, &n), 1);
    assert_int_equal(RAND_bytes(f->hs, sizeof f->hs), 1);

    uint8_t raw[32];
    char ed_x[64], ec_x[64], ec_y[64], hs_k[64], json[1024];
    BIGNUM *x = NULL, *y = NULL;
    assert_int_equal(EVP_PKEY_get_bn_param(f->ec, OSSL_PKEY_PARAM_EC_PUB_X, &x), 1);
    assert_int_equal(EVP_PKEY_get_bn_param(f->ec, OSSL_PKEY_PARAM_EC_PUB_Y, &y), 1);
    BN_bn2binpad(x, raw, 32);
    b64url(raw, 32, ec_x, sizeof ec_x);
    BN_bn2binpad(y, raw, 32);
    b64url(raw, 32, ec_y, sizeof ec_y);
    BN_free(x);
    BN_free(y);
    b64url(f->ed_pub, 32, ed_x, sizeof ed_x);
    b64url(f->hs, 32, hs_k, sizeof hs_k);
    snprintf(json, sizeof json,
             "{\"keys\":["
             "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"%s\",\"kid\":\"ed-1\"},"
             "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\",\"kid\":\"ec-1\"},"
             "{\"kty\":\"oct\",\"k\":\"%s\",\"kid\":\"hs-1\"}]}",
             ed_x, ec_x, ec_y, hs_k);
    char err[256];
    assert_int_equal(hx_jwks_parse(json, strlen(json), &f->jwks, err, sizeof err), 0);

    f->pol = (hx_jwt_policy){.issuers = issuers,
                             .n_issuers = 2,
                             .audience = AUD,
                             .leeway_s = 60,
                             .max_lifetime_s = 86400,
                             .now_s = NOW};
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    hx_jwks_free(f->jwks);
    EVP_PKEY_free(f->ed);
    EVP_PKEY_free(f->ec);
    free(f);
    return 0;
}

/* --- acceptance ----------------------------------------------------------- */

static void check_base_claims(const hx_token_claims *c)
{
    assert_string_equal(c->iss, ISS);
    assert_string_equal(c->sub, "user-1");
    assert_string_equal(c->jti, "jti-1");
    assert_string_equal(c->sid, "");
    assert_string_equal(c->device_id, "");
    assert_int_equal(c->exp, NOW + 3600);
    assert_int_equal(c->iat, NOW - 10);
    assert_int_equal(c->nbf, 0);
    assert_true(c->grants.all_rooms);
    assert_int_equal(c->grants.flags, HX_GRANT_DEFAULT_FLAGS);
}

static void test_accept_eddsa(void **state)
{
    fixture *f = *state;
    spec s = base_spec();
    hx_token_claims c;
    EXPECT_OK(f, token(f, SIGN_ED, HDR_ED, payload(&s)), &c);
    check_base_claims(&c);
    assert_string_equal(c.kid, "ed-1");
    assert_int_equal(c.alg, HX_ALG_EDDSA);
}

static void test_accept_es256(void **state)
{
    fixture *f = *state;
    spec s = base_spec();
    hx_token_claims c;
    EXPECT_OK(f, token(f, SIGN_EC, HDR_EC, payload(&s)), &c);
    check_base_claims(&c);
    assert_string_equal(c.kid, "ec-1");
    assert_int_equal(c.alg, HX_ALG_ES256);
}

static void test_accept_hs256(void **state)
{
    fixture *f = *state;
    spec s = base_spec();
    hx_token_claims c;
    EXPECT_OK(f, hs_token(f, &s), &c);
    check_base_claims(&c);
    assert_string_equal(c.kid, "hs-1");
    assert_int_equal(c.alg, HX_ALG_HS256);
}

static void test_accept_optional_claims(void **state)
{
    fixture *f = *state;
    spec s = base_spec();
    s.aud = "[\"other\",\"" AUD "\"]";
    s.exp = "1700003600.0"; /* integral real */
    s.extra = "\"nbf\":1699999000,\"sid\":\"sess-9\",\"device_id\":\"dev-7\",\"extra\":{\"x\":1}";
    hx_token_claims c;
    EXPECT_OK(f, hs_token(f, &s), &c);
    assert_int_equal(c.exp, NOW + 3600);
    assert_int_equal(c.nbf, 1699999000);
    assert_string_equal(c.sid, "sess-9");
    assert_string_equal(c.device_id, "dev-7");
}

/* --- time ----------------------------------------------------------------- */

static void test_expired(void **state)
{
    fixture *f = *state;
    spec s = base_spec();
    s.iat = "1699990000";
    s.exp = "1699999939"; /* NOW - 61 */
    assert_string_equal(expect(f, hs_token(f, &s), HX_JWT_EXPIRED, "token_expired", NULL), "exp");
    s.exp = "1699999940"; /* NOW - 60: exactly at the leeway edge */
    EXPECT_OK(f, hs_token(f, &s), NULL);
}

static void test_nbf_not_yet_valid(void **state)
{
    fixture *f = *state;
    spec s = base_spec();
    s.extra = "\"nbf\":1700000061";
    assert_string_equal(
        expect(f, hs_token(f, &s), HX_JWT_NOT_YET_VALID, "token_not_yet_valid", NULL), "nbf");
    s.extra = "\"nbf\":1700000060"; /* NOW + 60 */
    EXPECT_OK(f, hs_token(f, &s), NULL);
}

static void test_iat_in_future(void **state)
{
    fixture *f = *state;
    spec s = base_spec();
    s.iat = "1700000061";
    assert_string_equal(
        expect(f, hs_token(f, &s), HX_JWT_NOT_YET_VALID, "token_not_yet_valid", NULL), "iat");
    s.iat = "1700000060";
    EXPECT_OK(f, hs_token(f, &s), NULL);
}

static void test_lifetime(void **state)
{
    fixture *f = *state;
    spec s = base_spec();
    s.iat = "1699990000";
    s.exp = "1700076401"; /* iat + 86401 */
    expect(f, hs_token(f, &s), HX_JWT_LIFETIME_EXCEEDED, "token_lifetime_exceeded", NULL);
    s.exp = "1700076400"; /* iat + 86400: the cap itself is allowed */
    EXPECT_OK(f, hs_token(f, &s), NULL);
    s.iat = "1700000050";
    s.exp = "1700000040"; /* unexpired, but before iat */
    expect(f, hs_token(f, &s), HX_JWT_BAD_CLAIM, "token_bad_claim", NULL);
}

/* --- issuer and audience -------------------------------------------------- */

static void test_wrong_audience(void **state)
{
    fixture *f = *state;
    spec s = base_spec();
    s.aud = "\"other\"";
    expect(f, hs_token(f, &s), HX_JWT_WRONG_AUDIENCE, "token_wrong_audience", NULL);
    s.aud = "\"HEARTH-TEST\""; /* case-sensitive, RFC 7519 §4.1.3 */
    expect(f, hs_token(f, &s), HX_JWT_WRONG_AUDIENCE, "token_wrong_audience", NULL);
    s.aud = "[\"other\",\"more\"]";
    expect(f, hs_token(f, &s), HX_JWT_WRONG_AUDIENCE, "token_wrong_audience", NULL);
    s.aud = "[]";
    expect(f, hs_token(f, &s), HX_JWT_WRONG_AUDIENCE, "token_wrong_audience", NULL);
    s.aud = "[\"" AUD "\",5]";
    expect(f, hs_token(f, &s), HX_JWT_BAD_CLAIM, "token_bad_claim", NULL);
    s.aud = "5";
    expect(f, hs_token(f, &s), HX_JWT_BAD_CLAIM, "token_bad_claim", NULL);
}

static void test_untrusted_issuer(void **state)
{
    fixture *f = *state;
    spec s = base_spec();
    s.iss = "\"https://evil.example.com\"";
    expect(f, hs_token(f, &s), HX_JWT_UNTRUSTED_ISSUER, "token_untrusted_issuer", NULL);
    s.iss = "\"https://other.example.com\""; /* the second trusted issuer */
    EXPECT_OK(f, hs_token(f, &s), NULL);
}

/* --- keys and algorithms -------------------------------------------------- */

static void test_unknown_kid(void **state)
{
    fixture *f = *state;
    spec s = base_spec();
    const char *p = payload(&s);
    assert_string_equal(expect(f, token(f, SIGN_HS, "{\"alg\":\"HS256\",\"kid\":\"hs-2\"}", p),
                               HX_JWT_UNKNOWN_KEY, "token_unknown_key", NULL),
                        "kid not in JWKS");
}

static void test_missing_kid(void **state)
{
    fixture *f = *state;
    spec s = base_spec();
    const char *p = payload(&s);
    assert_string_equal(expect(f, token(f, SIGN_HS, "{\"alg\":\"HS256\"}", p), HX_JWT_UNKNOWN_KEY,
                               "token_unknown_key", NULL),
                        "kid");
    expect(f, token(f, SIGN_HS, "{\"alg\":\"HS256\",\"kid\":1}", p), HX_JWT_UNKNOWN_KEY,
           "token_unknown_key", NULL);
}

static void test_alg_none(void **state)
{
    fixture *f = *state;
    spec s = base_spec();
    const char *p = payload(&s);
    static const char *const hdrs[] = {
        "{\"alg\":\"none\",\"kid\":\"hs-1\"}",
        "{\"alg\":\"NONE\",\"kid\":\"ed-1\"}",
        "{\"alg\":\"nOnE\"}",
    };
    for (size_t i = 0; i < 3; i++) {
        expect(f, token(f, SIGN_EMPTY, hdrs[i], p), HX_JWT_ALG_NOT_ALLOWED, "token_alg_not_allowed",
               NULL);
        expect(f, token(f, SIGN_HS, hdrs[i], p), HX_JWT_ALG_NOT_ALLOWED, "token_alg_not_allowed",
               NULL);
    }
    /* Algorithms we do not implement, and case variants of ours (§4.1.1: case-sensitive). */
    expect(f, token(f, SIGN_HS, "{\"alg\":\"RS256\",\"kid\":\"hs-1\"}", p), HX_JWT_ALG_NOT_ALLOWED,
           "token_alg_not_allowed", NULL);
    expect(f, token(f, SIGN_HS, "{\"alg\":\"hs256\",\"kid\":\"hs-1\"}", p), HX_JWT_ALG_NOT_ALLOWED,
           "token_alg_not_allowed", NULL);
    expect(f, token(f, SIGN_HS, "{\"kid\":\"hs-1\"}", p), HX_JWT_MALFORMED, "token_malformed",
           NULL);
}

static void test_alg_confusion(void **state)
{
    fixture *f = *state;
    spec s = base_spec();
    const char *p = payload(&s);
    /* The classic attack: HMAC keyed with the public key, pointed at that key's kid. */
    expect(f, token(f, SIGN_HS_EDPUB, "{\"alg\":\"HS256\",\"kid\":\"ed-1\"}", p),
           HX_JWT_ALG_MISMATCH, "token_alg_mismatch", NULL);
    expect(f, token(f, SIGN_EC, "{\"alg\":\"ES256\",\"kid\":\"ed-1\"}", p), HX_JWT_ALG_MISMATCH,
           "token_alg_mismatch", NULL);
    expect(f, token(f, SIGN_ED, "{\"alg\":\"EdDSA\",\"kid\":\"hs-1\"}", p), HX_JWT_ALG_MISMATCH,
           "token_alg_mismatch", NULL);
}

/* --- signatures ------------------------------------------------------------ */

static void test_tampered_payload(void **state)
{
    fixture *f = *state;
    spec s = base_spec();
    char evil[512];
    s.sub = "\"admin\"";
    b64url((const uint8_t *)payload(&s), strlen(payload(&s)), evil, sizeof evil);

    s = base_spec();
    static const struct {
        signer how;
        const char *hdr;
    } algs[] = {{SIGN_ED, HDR_ED}, {SIGN_EC, HDR_EC}, {SIGN_HS, HDR_HS}};
    for (size_t i = 0; i < 3; i++) {
        const char *tok = token(f, algs[i].how, algs[i].hdr, payload(&s));
        const char *d1 = strchr(tok, '.'), *d2 = strrchr(tok, '.');
        char forged[TOKCAP];
        snprintf(forged, sizeof forged, "%.*s.%s%s", (int)(d1 - tok), tok, evil, d2);
        expect(f, forged, HX_JWT_BAD_SIGNATURE, "token_bad_signature", NULL);

        /* Flip one bit of the signature itself (an early character, so the
         * base64 stays canonical). */
        char *sig = f->tok + (d2 - tok) + 1;
        sig[2] = sig[2] == 'A' ? 'B' : 'A';
        expect(f, f->tok, HX_JWT_BAD_SIGNATURE, "token_bad_signature", NULL);
    }
}

static void test_signature_length(void **state)
{
    fixture *f = *state;
    spec s = base_spec();
    const char *p = payload(&s);
    /* ES256 carries R || S (RFC 7518 §3.4); the DER form must be refused. */
    assert_string_equal(expect(f, token(f, SIGN_EC_DER, HDR_EC, p), HX_JWT_BAD_SIGNATURE,
                               "token_bad_signature", NULL),
                        "signature length");
    /* 63 bytes: drop the last encoded characters of a good signature. */
    token(f, SIGN_EC, HDR_EC, p);
    f->tok[strlen(f->tok) - 2] = '\0'; /* 86 -> 84 chars = 63 bytes */
    expect(f, f->tok, HX_JWT_BAD_SIGNATURE, "token_bad_signature", NULL);
    token(f, SIGN_ED, HDR_ED, p);
    strcat(f->tok, "AA"); /* 86 -> 88 chars = 66 bytes */
    expect(f, f->tok, HX_JWT_BAD_SIGNATURE, "token_bad_signature", NULL);
    token(f, SIGN_ED, HDR_ED, p);
    strcat(f->tok, "AAA"); /* 89 chars: no byte count encodes to that */
    assert_string_equal(expect(f, f->tok, HX_JWT_MALFORMED, "token_malformed", NULL),
                        "signature encoding");
    token(f, SIGN_ED, HDR_ED, p);
    size_t n = strlen(f->tok);
    memset(f->tok + n, 'A', 200); /* far beyond any signature we accept */
    f->tok[n + 200] = '\0';
    assert_string_equal(expect(f, f->tok, HX_JWT_BAD_SIGNATURE, "token_bad_signature", NULL),
                        "signature length");
    expect(f, token(f, SIGN_EMPTY, HDR_HS, p), HX_JWT_BAD_SIGNATURE, "token_bad_signature", NULL);
}

/* --- claims ----------------------------------------------------------------- */

static void test_missing_claims(void **state)
{
    fixture *f = *state;
    static const char *const names[] = {"iss", "aud", "sub", "exp", "iat", "jti"};
    for (size_t i = 0; i < 6; i++) {
        spec s = base_spec();
        const char **slot[] = {&s.iss, &s.aud, &s.sub, &s.exp, &s.iat, &s.jti};
        *slot[i] = NULL;
        const char *detail =
            expect(f, hs_token(f, &s), HX_JWT_MISSING_CLAIM, "token_missing_claim", NULL);
        assert_string_equal(detail, names[i]);
    }
}

static void test_bad_claims(void **state)
{
    fixture *f = *state;
    /* "aaa...a": HX_MAX_ID_LEN + 1 letters, one too many. */
    char long_id[HX_MAX_ID_LEN + 4];
    long_id[0] = '"';
    memset(long_id + 1, 'a', HX_MAX_ID_LEN + 1);
    long_id[HX_MAX_ID_LEN + 2] = '"';
    long_id[HX_MAX_ID_LEN + 3] = '\0';
    static const struct {
        int field; /* index into the spec slots, 6 = extra */
        const char *val;
        const char *detail;
    } cases[] = {
        {0, "5", "iss"},
        {0, "\"\"", "iss"},
        {2, "\"a b\"", "sub"},
        {2, "\"a/b\"", "sub"},
        {2, "7", "sub"},
        {2, "null", "sub"},
        {3, "\"1700003600\"", "exp"},
        {3, "1700003600.5", "exp"},
        {3, "-1", "exp"},
        {3, "1e300", "exp"},
        {4, "true", "iat"},
        {5, "\"\"", "jti"},
        {6, "\"sid\":\"\"", "sid"},
        {6, "\"device_id\":\"d\\\\e\"", "device_id"},
        {6, "\"nbf\":\"0\"", "nbf"},
        {6, "\"sid\":null", "sid"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        spec s = base_spec();
        const char **slot[] = {&s.iss, &s.aud, &s.sub, &s.exp, &s.iat, &s.jti, &s.extra};
        *slot[cases[i].field] = cases[i].val;
        const char *detail = expect(f, hs_token(f, &s), HX_JWT_BAD_CLAIM, "token_bad_claim", NULL);
        assert_string_equal(detail, cases[i].detail);
    }
    spec s = base_spec();
    s.jti = long_id; /* HX_MAX_ID_LEN + 1 bytes */
    assert_string_equal(expect(f, hs_token(f, &s), HX_JWT_BAD_CLAIM, "token_bad_claim", NULL),
                        "jti");
    long_id[HX_MAX_ID_LEN + 1] = '"'; /* exactly HX_MAX_ID_LEN */
    long_id[HX_MAX_ID_LEN + 2] = '\0';
    hx_token_claims c;
    EXPECT_OK(f, hs_token(f, &s), &c);
    assert_int_equal(strlen(c.jti), HX_MAX_ID_LEN);
}

/* --- grants ------------------------------------------------------------------ */

static void test_grants_default_and_partial(void **state)
{
    fixture *f = *state;
    spec s = base_spec();
    hx_token_claims c;
    s.extra = "\"grants\":{}";
    EXPECT_OK(f, hs_token(f, &s), &c);
    assert_true(c.grants.all_rooms);
    assert_int_equal(c.grants.flags, HX_GRANT_DEFAULT_FLAGS);
    assert_true(hx_grants_allow_room(&c.grants, "anything"));

    s.extra = "\"grants\":{\"moderate\":true,\"publish\":false,\"future\":1}";
    EXPECT_OK(f, hs_token(f, &s), &c);
    assert_true(c.grants.all_rooms);
    assert_int_equal(c.grants.flags, HX_GRANT_SUBSCRIBE | HX_GRANT_DATA | HX_GRANT_MODERATE);
}

static void test_grants_rooms(void **state)
{
    fixture *f = *state;
    spec s = base_spec();
    hx_token_claims c;
    s.extra = "\"grants\":{\"rooms\":[\"lobby\",\"room-2\"],\"data\":false}";
    EXPECT_OK(f, hs_token(f, &s), &c);
    assert_false(c.grants.all_rooms);
    assert_int_equal(c.grants.n_rooms, 2);
    assert_string_equal(c.grants.rooms[0], "lobby");
    assert_string_equal(c.grants.rooms[1], "room-2");
    assert_int_equal(c.grants.flags, HX_GRANT_PUBLISH | HX_GRANT_SUBSCRIBE);
    assert_true(hx_grants_allow_room(&c.grants, "lobby"));
    assert_false(hx_grants_allow_room(&c.grants, "lobby2"));
    assert_false(hx_grants_allow_room(&c.grants, ""));

    s.extra = "\"grants\":{\"rooms\":\"*\",\"subscribe\":false}";
    EXPECT_OK(f, hs_token(f, &s), &c);
    assert_true(c.grants.all_rooms);
    assert_int_equal(c.grants.flags, HX_GRANT_PUBLISH | HX_GRANT_DATA);

    s.extra = "\"grants\":{\"rooms\":[]}";
    EXPECT_OK(f, hs_token(f, &s), &c);
    assert_false(c.grants.all_rooms);
    assert_false(hx_grants_allow_room(&c.grants, "lobby"));

    /* "*" in the list is every room, as the bare string is. */
    s.extra = "\"grants\":{\"rooms\":[\"*\"],\"moderate\":true}";
    EXPECT_OK(f, hs_token(f, &s), &c);
    assert_true(c.grants.all_rooms);
    assert_true(hx_grants_allow_room(&c.grants, "lobby"));
    assert_int_equal(c.grants.flags, HX_GRANT_DEFAULT_FLAGS | HX_GRANT_MODERATE);
}

static void test_grants_bad_type(void **state)
{
    fixture *f = *state;
    static const struct {
        const char *extra, *detail;
    } cases[] = {
        {"\"grants\":[]", "grants"},
        {"\"grants\":\"all\"", "grants"},
        {"\"grants\":{\"rooms\":5}", "grants.rooms"},
        {"\"grants\":{\"rooms\":\"lobby\"}", "grants.rooms"},
        {"\"grants\":{\"rooms\":[\"lobby\",3]}", "grants.rooms"},
        {"\"grants\":{\"rooms\":[\"bad room\"]}", "grants.rooms"},
        {"\"grants\":{\"rooms\":[\"*\",\"bad room\"]}", "grants.rooms"},
        {"\"grants\":{\"publish\":\"yes\"}", "grants.publish"},
        {"\"grants\":{\"subscribe\":1}", "grants.subscribe"},
        {"\"grants\":{\"data\":null}", "grants.data"},
        {"\"grants\":{\"moderate\":\"true\"}", "grants.moderate"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        spec s = base_spec();
        s.extra = cases[i].extra;
        const char *detail = expect(f, hs_token(f, &s), HX_JWT_BAD_CLAIM, "token_bad_claim", NULL);
        assert_string_equal(detail, cases[i].detail);
    }
}

static void test_grants_too_many(void **state)
{
    fixture *f = *state;
    char extra[1024];
    size_t off = (size_t)snprintf(extra, sizeof extra, "\"grants\":{\"rooms\":[");
    for (int i = 0; i < HX_MAX_GRANT_ROOMS; i++)
        off += (size_t)snprintf(extra + off, sizeof extra - off, "%s\"r%d\"", i ? "," : "", i);
    snprintf(extra + off, sizeof extra - off, "]}");
    spec s = base_spec();
    s.extra = extra;
    hx_token_claims c;
    EXPECT_OK(f, hs_token(f, &s), &c); /* exactly the cap */
    assert_int_equal(c.grants.n_rooms, HX_MAX_GRANT_ROOMS);
    assert_true(hx_grants_allow_room(&c.grants, "r31"));

    snprintf(extra + off, sizeof extra - off, ",\"r%d\"]}", HX_MAX_GRANT_ROOMS);
    assert_string_equal(expect(f, hs_token(f, &s), HX_JWT_BAD_CLAIM, "token_bad_claim", NULL),
                        "grants.rooms");
}

/* --- shape and size ---------------------------------------------------------- */

static void test_too_large(void **state)
{
    fixture *f = *state;
    /* Pad a claim until the token is exactly HX_JWT_MAX_LEN (accepted),
     * then one byte more (refused before anything is decoded). */
    static char pad[HX_JWT_MAX_LEN];
    static const char *const hdrs[] = {HDR_HS, "{\"alg\":\"HS256\", \"kid\":\"hs-1\"}",
                                       "{\"alg\":\"HS256\",  \"kid\":\"hs-1\"}"};
    bool hit = false;
    for (size_t h = 0; h < 3 && !hit; h++) {
        for (size_t n = 5900; n < 6100 && !hit; n++) {
            spec s = base_spec();
            snprintf(pad, sizeof pad, "\"pad\":\"%0*d\"", (int)n, 0);
            s.extra = pad;
            const char *tok = token(f, SIGN_HS, hdrs[h], payload(&s));
            if (strlen(tok) == HX_JWT_MAX_LEN) {
                EXPECT_OK(f, tok, NULL);
                hit = true;
            }
        }
    }
    assert_true(hit);

    memset(f->tok, 'A', HX_JWT_MAX_LEN + 1);
    f->tok[HX_JWT_MAX_LEN + 1] = '\0';
    expect(f, f->tok, HX_JWT_TOO_LARGE, "token_too_large", NULL);
    f->tok[HX_JWT_MAX_LEN] = '\0';
    expect(f, f->tok, HX_JWT_MALFORMED, "token_malformed", NULL);
}

static void test_malformed(void **state)
{
    fixture *f = *state;
    static const char *const bad[] = {
        "",
        "abc",
        "a.b",
        "a.b.c.d",
        ".eyJ9.",
        "e30..",
        "!!!.e30.AAAA",
        "e30=.e30.AAAA",
        "bm90IGpzb24.e30.AAAA", /* header "not json" */
        "W10.e30.AAAA",         /* header [] */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect(f, bad[i], HX_JWT_MALFORMED, "token_malformed", NULL);

    spec s = base_spec();
    const char *p = payload(&s);
    /* Duplicate members could mean one thing to us and another elsewhere. */
    expect(f, token(f, SIGN_HS, "{\"alg\":\"HS256\",\"kid\":\"hs-1\",\"alg\":\"none\"}", p),
           HX_JWT_MALFORMED, "token_malformed", NULL);
    assert_string_equal(expect(f,
                               token(f, SIGN_HS,
                                     "{\"alg\":\"HS256\",\"kid\":\"hs-1\","
                                     "\"crit\":[\"exp\"],\"exp\":1}",
                                     p),
                               HX_JWT_MALFORMED, "token_malformed", NULL),
                        "crit");
    /* A properly signed token whose payload is not a JSON object. */
    assert_string_equal(
        expect(f, token(f, SIGN_HS, HDR_HS, "[1,2]"), HX_JWT_MALFORMED, "token_malformed", NULL),
        "payload");
    expect(f, token(f, SIGN_HS, HDR_HS, "{\"sub\":\"a\",\"sub\":\"b\"}"), HX_JWT_MALFORMED,
           "token_malformed", NULL);

    /* Embedded NUL inside the stated length. */
    token(f, SIGN_HS, HDR_HS, p);
    size_t n = strlen(f->tok);
    f->tok[5] = '\0';
    hx_token_claims c;
    const char *detail;
    assert_int_equal(hx_jwt_verify(f->jwks, &f->pol, f->tok, n, &c, &detail), HX_JWT_MALFORMED);
}

static void test_out_untouched_on_failure(void **state)
{
    fixture *f = *state;
    spec s = base_spec();
    s.aud = "\"other\"";
    hx_token_claims c, before;
    memset(&c, 0xab, sizeof c);
    before = c;
    expect(f, hs_token(f, &s), HX_JWT_WRONG_AUDIENCE, "token_wrong_audience", &c);
    assert_memory_equal(&c, &before, sizeof c);
    /* detail may be NULL */
    assert_int_equal(hx_jwt_verify(f->jwks, &f->pol, "x", 1, &c, NULL), HX_JWT_MALFORMED);
}

static void test_err_codes(void **state)
{
    (void)state;
    static const struct {
        int err;
        const char *code;
    } codes[] = {
        {HX_JWT_OK, "ok"},
        {HX_JWT_MALFORMED, "token_malformed"},
        {HX_JWT_ALG_NOT_ALLOWED, "token_alg_not_allowed"},
        {HX_JWT_UNKNOWN_KEY, "token_unknown_key"},
        {HX_JWT_ALG_MISMATCH, "token_alg_mismatch"},
        {HX_JWT_BAD_SIGNATURE, "token_bad_signature"},
        {HX_JWT_MISSING_CLAIM, "token_missing_claim"},
        {HX_JWT_BAD_CLAIM, "token_bad_claim"},
        {HX_JWT_UNTRUSTED_ISSUER, "token_untrusted_issuer"},
        {HX_JWT_WRONG_AUDIENCE, "token_wrong_audience"},
        {HX_JWT_EXPIRED, "token_expired"},
        {HX_JWT_NOT_YET_VALID, "token_not_yet_valid"},
        {HX_JWT_LIFETIME_EXCEEDED, "token_lifetime_exceeded"},
        {HX_JWT_TOO_LARGE, "token_too_large"},
        {-14, "token_invalid"},
        {1, "token_invalid"},
    };
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        assert_string_equal(hx_jwt_err_code(codes[i].err), codes[i].code);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accept_eddsa),
        cmocka_unit_test(test_accept_es256),
        cmocka_unit_test(test_accept_hs256),
        cmocka_unit_test(test_accept_optional_claims),
        cmocka_unit_test(test_expired),
        cmocka_unit_test(test_nbf_not_yet_valid),
        cmocka_unit_test(test_iat_in_future),
        cmocka_unit_test(test_lifetime),
        cmocka_unit_test(test_wrong_audience),
        cmocka_unit_test(test_untrusted_issuer),
        cmocka_unit_test(test_unknown_kid),
        cmocka_unit_test(test_missing_kid),
        cmocka_unit_test(test_alg_none),
        cmocka_unit_test(test_alg_confusion),
        cmocka_unit_test(test_tampered_payload),
        cmocka_unit_test(test_signature_length),
        cmocka_unit_test(test_missing_claims),
        cmocka_unit_test(test_bad_claims),
        cmocka_unit_test(test_grants_default_and_partial),
        cmocka_unit_test(test_grants_rooms),
        cmocka_unit_test(test_grants_bad_type),
        cmocka_unit_test(test_grants_too_many),
        cmocka_unit_test(test_too_large),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_out_untouched_on_failure),
        cmocka_unit_test(test_err_codes),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
