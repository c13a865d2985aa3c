/*
 * Unit tests for auth/jwks: sets built from keys generated here with
 * OpenSSL (public parts exported as base64url), then every rejection the
 * loader promises: missing or duplicate kid, wrong curve, wrong-length
 * coordinates, an alg that disagrees with the kty, a point off the curve,
 * short HMAC secrets, not JSON, and the size caps.
 */
#include "auth/jwks.h"

#include "common/b64.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

/* Public parts of one key of each type, base64url. */
typedef struct fixture {
    char ed_x[64], ec_x[64], ec_y[64], hs_k[64];
} fixture;

static void b64url(const uint8_t *p, size_t n, char *out, size_t cap)
{
    assert_true(hx_b64_encode(p, n, out, cap, 1) >= 0);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    uint8_t raw[32];
    size_t n = sizeof raw;

    EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    assert_non_null(ed);
    assert_int_equal(EVP_PKEY_get_raw_public_key(ed, raw, &n), 1);
    b64url(raw, n, f->ed_x, sizeof f->ed_x);
    EVP_PKEY_free(ed);

    EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    assert_non_null(ec);
    BIGNUM *x = NULL, *y = NULL;
    assert_int_equal(EVP_PKEY_get_bn_param(ec, OSSL_PKEY_PARAM_EC_PUB_X, &x), 1);
    assert_int_equal(EVP_PKEY_get_bn_param(ec, OSSL_PKEY_PARAM_EC_PUB_Y, &y), 1);
    assert_int_equal(BN_bn2binpad(x, raw, 32), 32);
    b64url(raw, 32, f->ec_x, sizeof f->ec_x);
    assert_int_equal(BN_bn2binpad(y, raw, 32), 32);
    b64url(raw, 32, f->ec_y, sizeof f->ec_y);
    BN_free(x);
    BN_free(y);
    EVP_PKEY_free(ec);

    assert_int_equal(RAND_bytes(raw, 32), 1);
    b64url(raw, 32, f->hs_k, sizeof f->hs_k);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    free(*state);
    return 0;
}

static int parse(const char *json, hx_jwks **set, char *err, size_t errlen)
{
    return hx_jwks_parse(json, strlen(json), set, err, errlen);
}

/* Expect rejection, with a message containing `needle`. */
static void expect_reject(const char *json, const char *needle)
{
    hx_jwks *set = (hx_jwks *)1;
    char err[256] = "";
    assert_int_equal(parse(json, &set, err, sizeof err), -1);
    assert_null(set);
    if (!strstr(err, needle)) fail_msg("error \"%s\" does not mention \"%s\"", err, needle);
}

static void test_good_set(void **state)
{
    fixture *f = *state;
    char json[2048];
    snprintf(json, sizeof json,
             "{\"keys\":["
             "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"%s\",\"kid\":\"ed-1\",\"use\":\"sig\","
             "\"alg\":\"EdDSA\"},"
             "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\",\"kid\":\"ec-1\"},"
             "{\"kty\":\"oct\",\"k\":\"%s\",\"kid\":\"hs-1\",\"alg\":\"HS256\"},"
             "{\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"AQAB\",\"kid\":\"rsa-1\"},"
             "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"%s\",\"kid\":\"enc-1\",\"use\":\"enc\"}"
             "]}",
             f->ed_x, f->ec_x, f->ec_y, f->hs_k, f->ed_x);
    hx_jwks *set = NULL;
    char err[256] = "";
    assert_int_equal(parse(json, &set, err, sizeof err), 0);
    assert_non_null(set);
    assert_int_equal(hx_jwks_count(set), 3); /* RSA and use=enc skipped */

    const hx_jwk *k = hx_jwks_find(set, "ed-1");
    assert_non_null(k);
    assert_string_equal(k->kid, "ed-1");
    assert_int_equal(k->alg, HX_ALG_EDDSA);
    assert_non_null(k->pkey);
    assert_null(k->secret);
    k = hx_jwks_find(set, "ec-1");
    assert_non_null(k);
    assert_int_equal(k->alg, HX_ALG_ES256);
    assert_non_null(k->pkey);
    k = hx_jwks_find(set, "hs-1");
    assert_non_null(k);
    assert_int_equal(k->alg, HX_ALG_HS256);
    assert_null(k->pkey);
    assert_non_null(k->secret);
    assert_int_equal(k->secret_len, 32);
    assert_null(hx_jwks_find(set, "rsa-1"));
    assert_null(hx_jwks_find(set, "enc-1"));
    assert_null(hx_jwks_find(set, "nope"));
    assert_null(hx_jwks_find(set, NULL));
    hx_jwks_free(set);

    assert_string_equal(hx_jwt_alg_name(HX_ALG_EDDSA), "EdDSA");
    assert_string_equal(hx_jwt_alg_name(HX_ALG_ES256), "ES256");
    assert_string_equal(hx_jwt_alg_name(HX_ALG_HS256), "HS256");
    assert_string_equal(hx_jwt_alg_name(HX_ALG_NONE), "none");
    assert_int_equal(hx_jwks_count(NULL), 0);
    hx_jwks_free(NULL);
}

static void test_missing_kid(void **state)
{
    fixture *f = *state;
    char json[512];
    snprintf(json, sizeof json, "{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"%s\"}]}",
             f->ed_x);
    expect_reject(json, "missing kid");
    snprintf(json, sizeof json, "{\"keys\":[{\"kty\":\"oct\",\"k\":\"%s\",\"kid\":7}]}", f->hs_k);
    expect_reject(json, "strings");
    snprintf(json, sizeof json, "{\"keys\":[{\"kty\":\"oct\",\"k\":\"%s\",\"kid\":\"\"}]}",
             f->hs_k);
    expect_reject(json, "kid");
    snprintf(json, sizeof json, "{\"keys\":[{\"kty\":\"oct\",\"k\":\"%s\",\"kid\":\"a b\"}]}",
             f->hs_k);
    expect_reject(json, "kid");
}

static void test_duplicate_kid(void **state)
{
    fixture *f = *state;
    char json[1024];
    snprintf(json, sizeof json,
             "{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"%s\",\"kid\":\"k\"},"
             "{\"kty\":\"oct\",\"k\":\"%s\",\"kid\":\"k\"}]}",
             f->ed_x, f->hs_k);
    expect_reject(json, "duplicate kid");
}

static void test_bad_crv(void **state)
{
    fixture *f = *state;
    char json[512];
    snprintf(json, sizeof json,
             "{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"X25519\",\"x\":\"%s\",\"kid\":\"k\"}]}",
             f->ed_x);
    expect_reject(json, "Ed25519");
    snprintf(
        json, sizeof json,
        "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-384\",\"x\":\"%s\",\"y\":\"%s\",\"kid\":\"k\"}]}",
        f->ec_x, f->ec_y);
    expect_reject(json, "P-256");
    snprintf(json, sizeof json,
             "{\"keys\":[{\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\",\"kid\":\"k\"}]}", f->ec_x,
             f->ec_y);
    expect_reject(json, "P-256");
}

static void test_wrong_length_x(void **state)
{
    fixture *f = *state;
    char json[512], x31[64], x33[64];
    uint8_t raw[33] = {1, 2, 3};
    b64url(raw, 31, x31, sizeof x31);
    b64url(raw, 33, x33, sizeof x33);
    snprintf(json, sizeof json,
             "{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"%s\",\"kid\":\"k\"}]}", x31);
    expect_reject(json, "32 bytes");
    snprintf(json, sizeof json,
             "{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"%s\",\"kid\":\"k\"}]}", x33);
    expect_reject(json, "32 bytes");
    snprintf(json, sizeof json,
             "{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"%s=\",\"kid\":\"k\"}]}",
             f->ed_x); /* padded: not base64url as JWK uses it */
    expect_reject(json, "32 bytes");
    snprintf(
        json, sizeof json,
        "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\",\"kid\":\"k\"}]}",
        x31, f->ec_y);
    expect_reject(json, "x must be 32 bytes");
    snprintf(
        json, sizeof json,
        "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\",\"kid\":\"k\"}]}",
        f->ec_x, x33);
    expect_reject(json, "y must be 32 bytes");
    snprintf(json, sizeof json,
             "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"kid\":\"k\"}]}", f->ec_x);
    expect_reject(json, "y must be 32 bytes");
}

static void test_alg_disagrees_with_kty(void **state)
{
    fixture *f = *state;
    char json[512];
    snprintf(json, sizeof json,
             "{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"%s\",\"kid\":\"k\","
             "\"alg\":\"ES256\"}]}",
             f->ed_x);
    expect_reject(json, "does not match");
    snprintf(json, sizeof json,
             "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\",\"kid\":\"k\","
             "\"alg\":\"HS256\"}]}",
             f->ec_x, f->ec_y);
    expect_reject(json, "does not match");
    snprintf(json, sizeof json,
             "{\"keys\":[{\"kty\":\"oct\",\"k\":\"%s\",\"kid\":\"k\",\"alg\":\"EdDSA\"}]}",
             f->hs_k);
    expect_reject(json, "does not match");
    snprintf(json, sizeof json,
             "{\"keys\":[{\"kty\":\"oct\",\"k\":\"%s\",\"kid\":\"k\",\"alg\":\"none\"}]}", f->hs_k);
    expect_reject(json, "does not match");
}

static void test_point_not_on_curve(void **state)
{
    fixture *f = *state;
    char json[512], y[64];
    uint8_t raw[32];
    assert_int_equal(hx_b64_decode(f->ec_y, strlen(f->ec_y), raw, sizeof raw, 1), 32);
    raw[31] ^= 1;
    b64url(raw, 32, y, sizeof y);
    snprintf(
        json, sizeof json,
        "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\",\"kid\":\"k\"}]}",
        f->ec_x, y);
    expect_reject(json, "invalid P-256");
}

static void test_hmac_secret_length(void **state)
{
    (void)state;
    uint8_t raw[600] = {0};
    char k[900], json[1200];
    hx_jwks *set = NULL;
    char err[256];

    b64url(raw, 31, k, sizeof k);
    snprintf(json, sizeof json, "{\"keys\":[{\"kty\":\"oct\",\"k\":\"%s\",\"kid\":\"k\"}]}", k);
    expect_reject(json, "oct k");
    b64url(raw, 513, k, sizeof k);
    snprintf(json, sizeof json, "{\"keys\":[{\"kty\":\"oct\",\"k\":\"%s\",\"kid\":\"k\"}]}", k);
    expect_reject(json, "oct k");
    b64url(raw, 512, k, sizeof k);
    snprintf(json, sizeof json, "{\"keys\":[{\"kty\":\"oct\",\"k\":\"%s\",\"kid\":\"k\"}]}", k);
    assert_int_equal(parse(json, &set, err, sizeof err), 0);
    assert_int_equal(hx_jwks_find(set, "k")->secret_len, 512);
    hx_jwks_free(set);
    snprintf(json, sizeof json, "{\"keys\":[{\"kty\":\"oct\",\"kid\":\"k\"}]}");
    expect_reject(json, "oct k");
}

static void test_not_a_jwks(void **state)
{
    (void)state;
    expect_reject("", "not JSON");
    expect_reject("{\"keys\":[", "not JSON");
    expect_reject("{\"keys\":[],\"keys\":[]}", "not JSON"); /* duplicate member */
    expect_reject("[]", "\"keys\" array");
    expect_reject("{\"keys\":{}}", "\"keys\" array");
    expect_reject("{\"keys\":[]}", "no usable");
    expect_reject("{\"keys\":[1]}", "not an object");
    expect_reject("{\"keys\":[{\"kid\":\"a\"}]}", "missing kty");
    expect_reject("{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"a\"}]}", "no usable");

    hx_jwks *set = (hx_jwks *)1;
    assert_int_equal(hx_jwks_parse(NULL, 0, &set, NULL, 0), -1); /* err buffer optional */
    assert_null(set);
}

static void test_oversized(void **state)
{
    fixture *f = *state;
    size_t cap = (1u << 20) + 1;
    char *json = malloc(cap + 1);
    assert_non_null(json);
    int head =
        snprintf(json, cap, "{\"keys\":[{\"kty\":\"oct\",\"k\":\"%s\",\"kid\":\"k\"}]}", f->hs_k);
    memset(json + head, ' ', cap - (size_t)head); /* valid JSON, one byte too long */
    json[cap] = '\0';
    hx_jwks *set = NULL;
    char err[256] = "";
    assert_int_equal(hx_jwks_parse(json, cap, &set, err, sizeof err), -1);
    assert_non_null(strstr(err, "larger"));
    assert_int_equal(hx_jwks_parse(json, cap - 1, &set, err, sizeof err), 0);
    hx_jwks_free(set);
    free(json);

    /* At most 64 keys. */
    size_t big = 65 * 120 + 32;
    json = malloc(big);
    size_t off = (size_t)snprintf(json, big, "{\"keys\":[");
    for (int i = 0; i < 65; i++)
        off += (size_t)snprintf(json + off, big - off,
                                "%s{\"kty\":\"oct\",\"k\":\"%s\",\"kid\":\"k%d\"}", i ? "," : "",
                                f->hs_k, i);
    snprintf(json + off, big - off, "]}");
    expect_reject(json, "at most 64");
    free(json);
}

static void test_load_file(void **state)
{
    fixture *f = *state;
    char path[] = "/tmp/hx_test_jwks_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *fp = fdopen(fd, "w");
    fprintf(fp, "{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"%s\",\"kid\":\"ed\"}]}\n",
            f->ed_x);
    fclose(fp);

    hx_jwks *set = NULL;
    char err[256] = "";
    assert_int_equal(hx_jwks_load_file(path, &set, err, sizeof err), 0);
    assert_int_equal(hx_jwks_count(set), 1);
    hx_jwks_free(set);
    unlink(path);

    assert_int_equal(hx_jwks_load_file(path, &set, err, sizeof err), -1);
    assert_null(set);
    assert_non_null(strstr(err, path));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_set),           cmocka_unit_test(test_missing_kid),
        cmocka_unit_test(test_duplicate_kid),      cmocka_unit_test(test_bad_crv),
        cmocka_unit_test(test_wrong_length_x),     cmocka_unit_test(test_alg_disagrees_with_kty),
        cmocka_unit_test(test_point_not_on_curve), cmocka_unit_test(test_hmac_secret_length),
        cmocka_unit_test(test_not_a_jwks),         cmocka_unit_test(test_oversized),
        cmocka_unit_test(test_load_file),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
