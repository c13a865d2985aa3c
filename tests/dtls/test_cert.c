/*
 * Unit tests for dtls/cert: the generated certificate has the promised
 * shape (P-256 key, self-signed and verifying, CN "hearth", v3, validity
 * from a day back for 30 days, random serial); its SDP fingerprint equals
 * what the openssl command-line tool prints for the same certificate (an
 * independent oracle), for every supported algorithm; parsing accepts
 * either case and refuses every malformed shape; verification matches,
 * mismatches on a single-bit change and on another certificate.
 */
#include "dtls/cert.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

static const char *const algs[] = {"sha-1", "sha-224", "sha-256", "sha-384", "sha-512"};
static const size_t lens[] = {20, 28, 32, 48, 64};

static void test_generate_shape(void **state)
{
    (void)state;
    hx_dtls_cert a, b;
    assert_int_equal(hx_dtls_cert_generate(&a), 0);
    assert_int_equal(hx_dtls_cert_generate(&b), 0);
    assert_int_equal(EVP_PKEY_get_base_id(a.key), EVP_PKEY_EC);
    char group[32];
    size_t glen = 0;
    assert_int_equal(EVP_PKEY_get_group_name(a.key, group, sizeof group, &glen), 1);
    assert_string_equal(group, "prime256v1");
    assert_int_equal(X509_get_version(a.x509), X509_VERSION_3);
    assert_int_equal(X509_verify(a.x509, a.key), 1); /* self-signed */
    assert_int_equal(X509_check_private_key(a.x509, a.key), 1);
    assert_int_equal(X509_NAME_cmp(X509_get_subject_name(a.x509), X509_get_issuer_name(a.x509)), 0);
    char cn[64];
    assert_int_equal(
        X509_NAME_get_text_by_NID(X509_get_subject_name(a.x509), NID_commonName, cn, sizeof cn), 6);
    assert_string_equal(cn, "hearth");
    int days = 0, secs = 0;
    /* notBefore one day back, notAfter 30 days ahead (a few seconds of slack). */
    assert_int_equal(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(a.x509), NULL), 1);
    assert_int_equal(days, 1);
    assert_true(secs < 10);
    assert_int_equal(ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(a.x509)), 1);
    assert_true((days == 30 && secs < 10) || (days == 29 && secs > 86390));
    assert_int_not_equal(
        ASN1_INTEGER_cmp(X509_get0_serialNumber(a.x509), X509_get0_serialNumber(b.x509)), 0);
    assert_string_not_equal(a.fingerprint, b.fingerprint);
    assert_int_equal(strlen(a.fingerprint), 32 * 3 - 1);
    for (size_t i = 0; a.fingerprint[i]; i++) {
        char ch = a.fingerprint[i];
        if (i % 3 == 2)
            assert_int_equal(ch, ':');
        else
            assert_true((ch >= '0' && ch <= '9') || (ch >= 'A' && ch <= 'F'));
    }
    hx_dtls_cert_free(&a);
    hx_dtls_cert_free(&b);
    hx_dtls_cert_free(&a); /* twice is fine */
    hx_dtls_cert_free(NULL);
}

/* "sha256 Fingerprint=AB:CD:..." from `openssl x509 -fingerprint`. */
static void tool_fingerprint(const char *pem, const char *alg, char *out, size_t outlen)
{
    char cmd[512], line[512];
    char opt[16];
    size_t j = 0;
    for (size_t i = 0; alg[i] && j + 1 < sizeof opt; i++)
        if (alg[i] != '-') opt[j++] = alg[i];
    opt[j] = '\0';
    snprintf(cmd, sizeof cmd, "openssl x509 -noout -fingerprint -%s -in %s", opt, pem);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    assert_non_null(fgets(line, sizeof line, p));
    assert_int_equal(pclose(p), 0);
    char *eq = strchr(line, '=');
    assert_non_null(eq);
    snprintf(out, outlen, "%s", eq + 1);
    out[strcspn(out, "\r\n")] = '\0';
}

static void test_fingerprint_matches_openssl_tool(void **state)
{
    (void)state;
    hx_dtls_cert c;
    assert_int_equal(hx_dtls_cert_generate(&c), 0);
    char pem[] = "/tmp/hx_dtls_certXXXXXX";
    int fd = mkstemp(pem);
    assert_true(fd >= 0);
    FILE *fp = fdopen(fd, "w");
    assert_int_equal(PEM_write_X509(fp, c.x509), 1);
    fclose(fp);
    for (size_t i = 0; i < 5; i++) {
        char ours[HX_DTLS_FP_TEXT_MAX], theirs[HX_DTLS_FP_TEXT_MAX + 8];
        long n = hx_dtls_fingerprint(c.x509, algs[i], ours, sizeof ours);
        assert_int_equal(n, (long)(3 * lens[i] - 1));
        assert_int_equal(hx_dtls_fp_len(algs[i]), lens[i]);
        tool_fingerprint(pem, algs[i], theirs, sizeof theirs);
        assert_string_equal(ours, theirs);
        if (i == 2) assert_string_equal(ours, c.fingerprint);
        assert_int_equal(hx_dtls_fp_verify(c.x509, algs[i], theirs), 0);
        /* Too small a buffer is refused, never truncated. */
        assert_int_equal(hx_dtls_fingerprint(c.x509, algs[i], ours, (size_t)n), HX_DTLS_FP_INVALID);
    }
    unlink(pem);
    hx_dtls_cert_free(&c);
}

static void test_parse_and_verify(void **state)
{
    (void)state;
    hx_dtls_cert c, other;
    assert_int_equal(hx_dtls_cert_generate(&c), 0);
    assert_int_equal(hx_dtls_cert_generate(&other), 0);
    char fp[HX_DTLS_FP_TEXT_MAX];
    snprintf(fp, sizeof fp, "%s", c.fingerprint);
    assert_int_equal(hx_dtls_fp_verify(c.x509, "sha-256", fp), 0);
    assert_int_equal(hx_dtls_fp_verify(c.x509, "SHA-256", fp), 0);
    assert_int_equal(hx_dtls_fp_verify(other.x509, "sha-256", fp), HX_DTLS_FP_MISMATCH);
    for (size_t i = 0; fp[i]; i++) /* lower case is accepted */
        if (fp[i] >= 'A' && fp[i] <= 'F') fp[i] = (char)(fp[i] - 'A' + 'a');
    assert_int_equal(hx_dtls_fp_verify(c.x509, "sha-256", fp), 0);
    uint8_t raw[HX_DTLS_FP_MAX];
    assert_int_equal(hx_dtls_fp_parse("sha-256", fp, raw), 32);
    for (int bit = 0; bit < 32 * 8; bit++) { /* every single-bit change is a mismatch */
        raw[bit / 8] ^= (uint8_t)(1 << (bit % 8));
        assert_int_equal(hx_dtls_fp_verify_raw(c.x509, "sha-256", raw, 32), HX_DTLS_FP_MISMATCH);
        raw[bit / 8] ^= (uint8_t)(1 << (bit % 8));
    }
    assert_int_equal(hx_dtls_fp_verify_raw(c.x509, "sha-256", raw, 32), 0);
    assert_int_equal(hx_dtls_fp_verify_raw(c.x509, "sha-256", raw, 31), HX_DTLS_FP_INVALID);
    assert_int_equal(hx_dtls_fp_verify_raw(NULL, "sha-256", raw, 32), HX_DTLS_FP_INVALID);

    /* Malformed: wrong length, separator, digit, algorithm. */
    char bad[HX_DTLS_FP_TEXT_MAX + 4];
    snprintf(bad, sizeof bad, "%s", c.fingerprint);
    bad[strlen(bad) - 1] = '\0';
    assert_int_equal(hx_dtls_fp_parse("sha-256", bad, raw), HX_DTLS_FP_INVALID);
    snprintf(bad, sizeof bad, "%s:", c.fingerprint);
    assert_int_equal(hx_dtls_fp_parse("sha-256", bad, raw), HX_DTLS_FP_INVALID);
    snprintf(bad, sizeof bad, "%s", c.fingerprint);
    bad[2] = '-';
    assert_int_equal(hx_dtls_fp_parse("sha-256", bad, raw), HX_DTLS_FP_INVALID);
    snprintf(bad, sizeof bad, "%s", c.fingerprint);
    bad[4] = 'G';
    assert_int_equal(hx_dtls_fp_parse("sha-256", bad, raw), HX_DTLS_FP_INVALID);
    assert_int_equal(hx_dtls_fp_parse("sha-1", c.fingerprint, raw), HX_DTLS_FP_INVALID);
    assert_int_equal(hx_dtls_fp_parse("md5", c.fingerprint, raw), HX_DTLS_FP_INVALID);
    assert_int_equal(hx_dtls_fp_parse(NULL, c.fingerprint, raw), HX_DTLS_FP_INVALID);
    assert_int_equal(hx_dtls_fp_parse("sha-256", NULL, raw), HX_DTLS_FP_INVALID);
    assert_int_equal(hx_dtls_fp_verify(c.x509, "sha-256", ""), HX_DTLS_FP_INVALID);
    assert_int_equal(hx_dtls_fp_len("sha-3"), 0);
    hx_dtls_cert_free(&c);
    hx_dtls_cert_free(&other);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generate_shape),
        cmocka_unit_test(test_fingerprint_matches_openssl_tool),
        cmocka_unit_test(test_parse_and_verify),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
