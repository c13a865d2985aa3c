/*
 * Certificate generation and fingerprints. The certificate carries nothing
 * but a key: CN "hearth", a random 64-bit serial (so two workers never
 * present the same issuer+serial), notBefore a day back to absorb peers'
 * clock skew, signed with ECDSA-SHA256. Fingerprints are X509_digest over
 * the DER form, printed as upper-case hex pairs joined by ':' (RFC 8122 §5);
 * parsing accepts either case, since the grammar's UHEX is often violated.
 * The comparison against the remote's SDP value is constant time
 * (CRYPTO_memcmp) over the digest bytes, whose length the algorithm fixes.
 */
#include "dtls/cert.h"

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <string.h>
#include <strings.h>

static const struct {
    const char *name;
    const EVP_MD *(*md)(void);
} algs[] = {
    {"sha-1", EVP_sha1},     {"sha-224", EVP_sha224}, {"sha-256", EVP_sha256},
    {"sha-384", EVP_sha384}, {"sha-512", EVP_sha512},
};

static const EVP_MD *md_for(const char *alg)
{
    if (!alg) return NULL;
    for (size_t i = 0; i < sizeof algs / sizeof algs[0]; i++)
        if (strcasecmp(alg, algs[i].name) == 0) return algs[i].md();
    return NULL;
}

size_t hx_dtls_fp_len(const char *alg)
{
    const EVP_MD *md = md_for(alg);
    return md ? (size_t)EVP_MD_get_size(md) : 0;
}

static int set_random_serial(X509 *x)
{
    BIGNUM *bn = BN_new();
    int ok = bn && BN_rand(bn, 64, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) == 1 &&
             BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
    BN_free(bn);
    return ok ? 0 : -1;
}

int hx_dtls_cert_generate(hx_dtls_cert *c)
{
    memset(c, 0, sizeof *c);
    c->key = EVP_EC_gen("P-256");
    c->x509 = X509_new();
    if (!c->key || !c->x509) goto fail;
    X509 *x = c->x509;
    X509_NAME *name = X509_get_subject_name(x);
    if (X509_set_version(x, X509_VERSION_3) != 1 || set_random_serial(x) != 0 ||
        !X509_gmtime_adj(X509_getm_notBefore(x), -86400L) ||
        !X509_gmtime_adj(X509_getm_notAfter(x), HX_DTLS_CERT_DAYS * 86400L) ||
        X509_set_pubkey(x, c->key) != 1 ||
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)HX_DTLS_CERT_CN,
                                   -1, -1, 0) != 1 ||
        X509_set_issuer_name(x, name) != 1 || X509_sign(x, c->key, EVP_sha256()) <= 0)
        goto fail;
    if (hx_dtls_fingerprint(x, "sha-256", c->fingerprint, sizeof c->fingerprint) < 0) goto fail;
    return 0;
fail:
    hx_dtls_cert_free(c);
    return -1;
}

void hx_dtls_cert_free(hx_dtls_cert *c)
{
    if (!c) return;
    EVP_PKEY_free(c->key);
    X509_free(c->x509);
    memset(c, 0, sizeof *c);
}

static long digest(const X509 *x, const char *alg, uint8_t out[HX_DTLS_FP_MAX])
{
    const EVP_MD *md = md_for(alg);
    unsigned int n = 0;
    if (!x || !md || X509_digest(x, md, out, &n) != 1) return HX_DTLS_FP_INVALID;
    return (long)n;
}

long hx_dtls_fingerprint(const X509 *x, const char *alg, char *out, size_t outlen)
{
    static const char hex[] = "0123456789ABCDEF";
    uint8_t d[HX_DTLS_FP_MAX];
    long n = digest(x, alg, d);
    if (n <= 0 || outlen < (size_t)n * 3) return HX_DTLS_FP_INVALID;
    for (long i = 0; i < n; i++) {
        out[3 * i] = hex[d[i] >> 4];
        out[3 * i + 1] = hex[d[i] & 15];
        out[3 * i + 2] = ':';
    }
    out[3 * n - 1] = '\0';
    return 3 * n - 1;
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    return -1;
}

long hx_dtls_fp_parse(const char *alg, const char *text, uint8_t out[HX_DTLS_FP_MAX])
{
    size_t n = hx_dtls_fp_len(alg);
    if (n == 0 || !text || strlen(text) != 3 * n - 1) return HX_DTLS_FP_INVALID;
    for (size_t i = 0; i < n; i++) {
        int hi = hexval(text[3 * i]), lo = hexval(text[3 * i + 1]);
        if (hi < 0 || lo < 0 || (i + 1 < n && text[3 * i + 2] != ':')) return HX_DTLS_FP_INVALID;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return (long)n;
}

int hx_dtls_fp_verify_raw(const X509 *x, const char *alg, const uint8_t *fp, size_t fplen)
{
    uint8_t d[HX_DTLS_FP_MAX];
    long n = digest(x, alg, d);
    if (n <= 0 || !fp || fplen != (size_t)n) return HX_DTLS_FP_INVALID;
    return CRYPTO_memcmp(d, fp, fplen) == 0 ? 0 : HX_DTLS_FP_MISMATCH;
}

int hx_dtls_fp_verify(const X509 *x, const char *alg, const char *text)
{
    uint8_t fp[HX_DTLS_FP_MAX];
    long n = hx_dtls_fp_parse(alg, text, fp);
    if (n < 0) return HX_DTLS_FP_INVALID;
    return hx_dtls_fp_verify_raw(x, alg, fp, (size_t)n);
}
