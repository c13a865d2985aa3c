/*
 * DTLS-SRTP key derivation (RFC 5764 §4.2). The exporter output with label
 * "EXTRACTOR-dtls_srtp" and no context is laid out as
 *
 *   client_write_SRTP_master_key[key_len]
 *   server_write_SRTP_master_key[key_len]
 *   client_write_SRTP_master_salt[salt_len]
 *   server_write_SRTP_master_salt[salt_len]
 *
 * and a client protects what it sends with the client keys, a server with
 * the server keys: "local" below is what we encrypt with, "remote" what we
 * decrypt with. Lengths per profile: RFC 5764 §4.1.2 (AES128_CM_HMAC_SHA1_80:
 * 128-bit key, 112-bit salt) and RFC 7714 §12 (AEAD_AES_128_GCM: 96-bit salt).
 */
#include "dtls/dtls_internal.h"

#include <string.h>

int hx__srtp_profile_lengths(unsigned long id, uint8_t *key_len, uint8_t *salt_len)
{
    switch (id) {
    case HX_DTLS_SRTP_AES128_CM_SHA1_80:
        *key_len = 16, *salt_len = 14;
        return 0;
    case HX_DTLS_SRTP_AEAD_AES_128_GCM:
        *key_len = 16, *salt_len = 12;
        return 0;
    default:
        return -1;
    }
}

void hx__srtp_keys_split(hx_dtls_role role, const uint8_t *material, uint8_t key_len,
                         uint8_t salt_len, hx_dtls_srtp_keys *keys)
{
    const uint8_t *client_key = material, *server_key = material + key_len;
    const uint8_t *client_salt = material + 2 * key_len;
    const uint8_t *server_salt = client_salt + salt_len;
    bool client = role == HX_DTLS_CLIENT;
    keys->key_len = key_len;
    keys->salt_len = salt_len;
    memcpy(keys->local_key, client ? client_key : server_key, key_len);
    memcpy(keys->remote_key, client ? server_key : client_key, key_len);
    memcpy(keys->local_salt, client ? client_salt : server_salt, salt_len);
    memcpy(keys->remote_salt, client ? server_salt : client_salt, salt_len);
}
