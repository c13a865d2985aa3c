/*
 * The signature a receiver checks (docs/webhooks.md), in Stripe's form:
 *
 *   Hearth-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>
 *
 * The timestamp is the attempt's, inside the MAC, so a receiver can refuse a
 * replayed request older than a few minutes; "v1" names the scheme, so a
 * second one can be added beside it later without breaking receivers.
 */
#include "webhook/webhook_internal.h"

#include <inttypes.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

int hx__wh_sign(const char *secret, size_t secret_len, int64_t t, const char *body, size_t body_len,
                char out[HX_WH_SIG_MAX])
{
    char ts[24];
    int tl = snprintf(ts, sizeof ts, "%" PRId64 ".", t);
    uint8_t mac[EVP_MAX_MD_SIZE];
    size_t mac_len = 0;
    int rc = -1;
    EVP_MAC *m = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *c = m ? EVP_MAC_CTX_new(m) : NULL;
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0),
                           OSSL_PARAM_construct_end()};
    if (!c || !EVP_MAC_init(c, (const unsigned char *)secret, secret_len, params) ||
        !EVP_MAC_update(c, (const unsigned char *)ts, (size_t)tl) ||
        !EVP_MAC_update(c, (const unsigned char *)body, body_len) ||
        !EVP_MAC_final(c, mac, &mac_len, sizeof mac) || mac_len != 32)
        goto done;
    int n = snprintf(out, HX_WH_SIG_MAX, "t=%" PRId64 ",v1=", t);
    for (size_t i = 0; i < mac_len; i++)
        n += snprintf(out + n, HX_WH_SIG_MAX - (size_t)n, "%02x", mac[i]);
    rc = 0;
done:
    EVP_MAC_CTX_free(c);
    EVP_MAC_free(m);
    return rc;
}
