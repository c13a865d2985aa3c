/*
 * TURN credentials in coturn's `use-auth-secret` (TURN REST API) form
 * (DESIGN §3): username "<expiry unix seconds>:<user id>", password
 * base64(HMAC-SHA1(secret, username)). hearthd mints them for each ticket
 * and join; the embedded TURN server (src/turn) and an external coturn
 * sharing the secret recompute the password from the username and refuse
 * it once the expiry has passed. Pure functions: no allocation, no I/O.
 */
#ifndef HX_AUTH_TURN_CRED_H
#define HX_AUTH_TURN_CRED_H

#include <stddef.h>
#include <stdint.h>

#define HX_TURN_CRED_MAX_USERNAME 288 /* 20 digits, ':', a 256-byte user id, NUL */
#define HX_TURN_CRED_PASSWORD_LEN 29  /* base64 of 20 bytes, NUL */

/** The password of a username under a secret. 0, or -1 (empty secret or username). */
int hx_turn_cred_password(const char *secret, const char *username,
                          char password[HX_TURN_CRED_PASSWORD_LEN]);

/**
 * Mint a credential for `user` lapsing at expiry_s: fills username (of
 * ulen bytes) and password. 0, or -1 when the user id is empty or too long.
 */
int hx_turn_cred_mint(const char *secret, const char *user, int64_t expiry_s, char *username,
                      size_t ulen, char password[HX_TURN_CRED_PASSWORD_LEN]);

/**
 * The expiry and user id of a username: "<digits>:<user>" (coturn also
 * takes bare "<digits>"; the user is "" then). 0, or -1 when it does not
 * start with 1-19 digits followed by ':' or the end.
 */
int hx_turn_cred_parse(const char *username, int64_t *expiry_s, const char **user);

#endif
