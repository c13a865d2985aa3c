/*
 * Join tickets (DESIGN §2): what a client trades its platform token for,
 * then presents in the first WebSocket message. Opaque to clients: a binary
 * record, MAC'd with HMAC-SHA256 under a server key, base64url-encoded.
 * Single use is enforced by the caller through the store (consume_ticket),
 * expiry by the caller too, so that each failure gets its own error code.
 */
#ifndef HX_AUTH_TICKET_H
#define HX_AUTH_TICKET_H

#include "auth/grants.h"

#include <stddef.h>
#include <stdint.h>

#define HX_TICKET_KEY_LEN 32
#define HX_TICKET_ID_LEN 16
#define HX_TICKET_MAX_TEXT 1200 /* base64url text, bytes */

typedef struct hx_ticket {
    uint8_t id[HX_TICKET_ID_LEN];
    int64_t expires_ms;    /* unix ms */
    int64_t token_iat;     /* the token's iat (unix s), 0 in dev; for per-user not-before */
    uint8_t protocol_version;
    uint32_t grants;       /* HX_GRANT_* */
    char user[HX_MAX_ID_LEN + 1];
    char device[HX_MAX_ID_LEN + 1];
    char sid[HX_MAX_ID_LEN + 1];  /* "" when the token had none */
    char room[HX_MAX_ID_LEN + 1];
    char jti[HX_MAX_ID_LEN + 1];  /* "" in dev */
} hx_ticket;

enum {
    HX_TICKET_OK = 0,
    HX_TICKET_INVALID = -1, /* wrong format, wrong key, tampered */
    HX_TICKET_NOSPACE = -2,
};

/** Fill id with random bytes (OpenSSL RAND). 0 or -1. */
int hx_ticket_new_id(hx_ticket *t);
/** Encode and MAC into out (NUL-terminated). Returns text length or a negative error. */
long hx_ticket_seal(const uint8_t key[HX_TICKET_KEY_LEN], const hx_ticket *t, char *out, size_t outlen);
/** Verify the MAC and decode. Does not check expiry. */
int hx_ticket_open(const uint8_t key[HX_TICKET_KEY_LEN], const char *text, size_t len, hx_ticket *t);
/** Lower-case hex of the id (33 bytes with NUL). */
void hx_ticket_id_hex(const hx_ticket *t, char out[2 * HX_TICKET_ID_LEN + 1]);

#endif
