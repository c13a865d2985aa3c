/*
 * Resume tokens (DESIGN §9, docs/protocol.md §2.4): what a client presents
 * instead of a ticket to come back to its session after a dropped connection
 * or a restart. Opaque to clients: a binary record MAC'd with HMAC-SHA256
 * under a key kept in the store (so tokens outlive the process),
 * base64url-encoded. Bound to the participant (the session), user, device
 * and room, and carrying the platform session, token id and token issue time
 * so that a revocation refuses it even once the session itself is gone. `gen` counts the tokens issued to the session: the server keeps
 * the range still valid, so a spent or superseded token is refused even
 * after a restart. Expiry (the grace window) is the caller's, as for tickets.
 */
#ifndef HX_AUTH_RESUME_TOKEN_H
#define HX_AUTH_RESUME_TOKEN_H

#include "auth/grants.h"

#include <stddef.h>
#include <stdint.h>

#define HX_RESUME_KEY_LEN 32
#define HX_RESUME_MAX_TEXT 1200 /* base64url text, bytes */
#define HX_RESUME_PID_LEN 32   /* participant id, with NUL */

typedef struct hx_resume_token {
    char participant[HX_RESUME_PID_LEN];
    uint32_t gen;       /* 1 for the token handed out at join, +1 per rotation or resume */
    int64_t issued_ms;  /* unix ms */
    char user[HX_MAX_ID_LEN + 1];
    char device[HX_MAX_ID_LEN + 1];
    char room[HX_MAX_ID_LEN + 1];
    char sid[HX_MAX_ID_LEN + 1]; /* "" when the token had none */
    char jti[HX_MAX_ID_LEN + 1]; /* "" in dev */
    int64_t token_iat;           /* the platform token's iat (unix s), 0 in dev */
} hx_resume_token;

enum {
    HX_RESUME_OK = 0,
    HX_RESUME_INVALID = -1, /* wrong format, wrong key, tampered */
    HX_RESUME_NOSPACE = -2,
};

/** Encode and MAC into out (NUL-terminated). Returns text length or a negative error. */
long hx_resume_seal(const uint8_t key[HX_RESUME_KEY_LEN], const hx_resume_token *t, char *out,
                    size_t outlen);
/** Verify the MAC and decode. Checks neither the window nor the generation. */
int hx_resume_open(const uint8_t key[HX_RESUME_KEY_LEN], const char *text, size_t len,
                   hx_resume_token *t);

#endif
