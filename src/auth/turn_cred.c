/*
 * TURN REST credentials (turn_cred.h): HMAC-SHA1 with OpenSSL's one-shot
 * HMAC(), base64 with the project's codec.
 */
#include "auth/turn_cred.h"

#include "common/b64.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>

int hx_turn_cred_password(const char *secret, const char *username,
                          char password[HX_TURN_CRED_PASSWORD_LEN])
{
    size_t slen = strlen(secret), ulen = strlen(username);
    if (!slen || !ulen) return -1;
    uint8_t mac[EVP_MAX_MD_SIZE];
    unsigned maclen = 0;
    if (!HMAC(EVP_sha1(), secret, (int)slen, (const uint8_t *)username, ulen, mac, &maclen) ||
        maclen != 20)
        return -1;
    return hx_b64_encode(mac, maclen, password, HX_TURN_CRED_PASSWORD_LEN, 0) == 28 ? 0 : -1;
}

int hx_turn_cred_mint(const char *secret, const char *user, int64_t expiry_s, char *username,
                      size_t ulen, char password[HX_TURN_CRED_PASSWORD_LEN])
{
    if (!user[0] || expiry_s < 0) return -1;
    int n = snprintf(username, ulen, "%lld:%s", (long long)expiry_s, user);
    if (n < 0 || (size_t)n >= ulen) return -1;
    return hx_turn_cred_password(secret, username, password);
}

int hx_turn_cred_parse(const char *username, int64_t *expiry_s, const char **user)
{
    int64_t v = 0;
    size_t i = 0;
    for (; username[i] >= '0' && username[i] <= '9'; i++) {
        if (i >= 19) return -1;
        v = v * 10 + (username[i] - '0');
    }
    if (i == 0 || (username[i] != ':' && username[i] != '\0')) return -1;
    *expiry_s = v;
    *user = username[i] ? username + i + 1 : username + i;
    return 0;
}
