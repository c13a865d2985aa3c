/*
 * A set of verification keys loaded from a JWKS file (RFC 7517). The key
 * decides the algorithm (DESIGN §2), never the token header alone:
 *   kty=OKP crv=Ed25519  -> EdDSA
 *   kty=EC  crv=P-256    -> ES256
 *   kty=oct              -> HS256
 * Every key needs a `kid`. A key's optional `alg` must agree with its type.
 * Keys with "use" other than "sig" are skipped. Private members (d) are ignored.
 * Reload = load a new set, swap the pointer, free the old one.
 */
#ifndef HX_AUTH_JWKS_H
#define HX_AUTH_JWKS_H

#include <stddef.h>
#include <stdint.h>

typedef enum hx_jwt_alg {
    HX_ALG_NONE = 0,
    HX_ALG_EDDSA,
    HX_ALG_ES256,
    HX_ALG_HS256,
} hx_jwt_alg;

typedef struct hx_jwks hx_jwks;

/** Opaque view of one key; valid while its set lives. */
typedef struct hx_jwk {
    const char *kid;
    hx_jwt_alg alg;
    void *pkey;          /* EVP_PKEY * for EdDSA / ES256, NULL for HS256 */
    const uint8_t *secret; /* HS256 secret */
    size_t secret_len;
} hx_jwk;

/** Parse a JWKS document ({"keys":[...]}). err gets a human message on failure. 0 or -1. */
int hx_jwks_parse(const char *json, size_t len, hx_jwks **out, char *err, size_t errlen);
/** Read and parse a file (at most 1 MiB). */
int hx_jwks_load_file(const char *path, hx_jwks **out, char *err, size_t errlen);
void hx_jwks_free(hx_jwks *set);
size_t hx_jwks_count(const hx_jwks *set);
/** Key by kid, or NULL. */
const hx_jwk *hx_jwks_find(const hx_jwks *set, const char *kid);
/** "EdDSA", "ES256", "HS256", "none". */
const char *hx_jwt_alg_name(hx_jwt_alg alg);

#endif
