/*
 * Long-term credentials for the TURN core (RFC 8489 §9.2, RFC 8656 §5)
 * over coturn-style REST usernames (auth/turn_cred.h).
 *
 * Nonces are stateless: 8 hex digits of an expiry (monotonic seconds)
 * followed by 24 hex digits of HMAC-SHA1(per-process key, expiry ||
 * client 5-tuple), so a nonce proves it was issued by this process to this
 * client without a table of them; past its expiry it is stale (438 with a
 * new one), for another client or forged it is invalid (438 as well, the
 * client simply retries with the nonce it gets).
 *
 * A request with credentials is checked in the order of RFC 8489 §9.2.4:
 * no MESSAGE-INTEGRITY → 401 with REALM and NONCE; a missing USERNAME,
 * REALM or NONCE → 400; a bad nonce → 438; a username that does not parse
 * or whose expiry has passed → 401; then the password is recomputed from
 * the username under every configured secret (two during a rotation) and
 * the integrity checked with MD5(username:realm:password). Requests on an
 * existing allocation must use its username (441) and are checked with
 * the key cached in it.
 */
#include "turn/core_internal.h"

#include <stdio.h>
#include <string.h>

static void nonce_mac(const hx_turn_core *t, const hx_turn_client *c, uint32_t expiry,
                      uint8_t mac[HX_STUN_MI_LEN])
{
    hx__turn_addr a;
    hx__turn_addr_from(&a, &c->addr);
    uint8_t msg[32] = {(uint8_t)(expiry >> 24), (uint8_t)(expiry >> 16), (uint8_t)(expiry >> 8),
                       (uint8_t)expiry,         (uint8_t)c->proto,       a.family,
                       (uint8_t)(a.port >> 8),  (uint8_t)a.port};
    memcpy(msg + 8, a.ip, 16);
    memcpy(msg + 24, &c->conn, 8);
    const uint8_t *parts[1] = {msg};
    size_t lens[1] = {sizeof msg};
    hx_stun_hmac(&t->nonce_key, parts, lens, 1, mac);
}

void hx__turn_nonce_make(const hx_turn_core *t, const hx_turn_client *c, int64_t now_ms,
                         char out[HX__TURN_NONCE_LEN + 1])
{
    uint32_t expiry = (uint32_t)(now_ms / 1000 + t->cfg.nonce_lifetime_s);
    uint8_t mac[HX_STUN_MI_LEN];
    nonce_mac(t, c, expiry, mac);
    int n = snprintf(out, HX__TURN_NONCE_LEN + 1, "%08x", expiry);
    for (int i = 0; i < 12; i++)
        n += snprintf(out + n, HX__TURN_NONCE_LEN + 1 - (size_t)n, "%02x", mac[i]);
}

static int hexval(uint8_t ch)
{
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    return -1;
}

int hx__turn_nonce_check(const hx_turn_core *t, const hx_turn_client *c, const uint8_t *nonce,
                         size_t len, int64_t now_ms)
{
    if (len != HX__TURN_NONCE_LEN) return -1;
    uint8_t raw[16];
    for (size_t i = 0; i < 16; i++) {
        int hi = hexval(nonce[2 * i]), lo = hexval(nonce[2 * i + 1]);
        if (hi < 0 || lo < 0) return -1;
        raw[i] = (uint8_t)(hi << 4 | lo);
    }
    uint32_t expiry =
        (uint32_t)raw[0] << 24 | (uint32_t)raw[1] << 16 | (uint32_t)raw[2] << 8 | raw[3];
    uint8_t mac[HX_STUN_MI_LEN], diff = 0;
    nonce_mac(t, c, expiry, mac);
    for (int i = 0; i < 12; i++)
        diff |= (uint8_t)(mac[i] ^ raw[4 + i]);
    if (diff) return -1;
    return (int64_t)expiry > now_ms / 1000 ? 0 : -2;
}

/* USERNAME as a C string: false when too long or holding a NUL. */
static bool copy_username(hx__turn_req *r)
{
    const uint8_t *v;
    size_t n;
    if (hx_stun_get_bytes(r->m, HX_STUN_ATTR_USERNAME, &v, &n) || n == 0 ||
        n >= sizeof r->username || memchr(v, 0, n))
        return false;
    memcpy(r->username, v, n);
    r->username[n] = '\0';
    return true;
}

static int refuse(hx__turn_req *r, int code, const char *reason)
{
    if (code == HX_STUN_ERR_UNAUTHORIZED || code == HX__TURN_ERR_WRONG_CREDS)
        HX__COUNT(r->t, auth_failures, 1);
    hx__turn_answer_error(r, code, reason);
    return -1;
}

int hx__turn_authenticate(hx__turn_req *r)
{
    hx_turn_core *t = r->t;
    const hx_stun_msg *m = r->m;
    if (!m->mi_off) {
        hx__turn_answer_error(r, HX_STUN_ERR_UNAUTHORIZED, "Unauthorized");
        return -1;
    }
    const uint8_t *nonce, *realm;
    size_t nonce_len, realm_len;
    if (!hx_stun_find(m, HX_STUN_ATTR_USERNAME) ||
        hx_stun_get_bytes(m, HX_STUN_ATTR_REALM, &realm, &realm_len) ||
        hx_stun_get_bytes(m, HX_STUN_ATTR_NONCE, &nonce, &nonce_len)) {
        hx__turn_answer_error(r, HX_STUN_ERR_BAD_REQUEST, "Bad Request");
        return -1;
    }
    if (hx__turn_nonce_check(t, r->c, nonce, nonce_len, r->now) != 0) {
        hx__turn_answer_error(r, HX_STUN_ERR_STALE_NONCE, "Stale Nonce");
        return -1;
    }
    int64_t expiry;
    const char *user;
    if (!copy_username(r) || hx_turn_cred_parse(r->username, &expiry, &user) != 0)
        return refuse(r, HX_STUN_ERR_UNAUTHORIZED, "Unauthorized");
    /* The username's own expiry, against the wall clock (coturn's REST rule). */
    if (expiry < (r->now + t->wall_offset_ms) / 1000)
        return refuse(r, HX_STUN_ERR_UNAUTHORIZED, "Unauthorized");
    if (r->a) {
        if (strcmp(r->username, r->a->username))
            return refuse(r, HX__TURN_ERR_WRONG_CREDS, "Wrong Credentials");
        if (hx_stun_check_integrity(m, &r->a->key) != 0)
            return refuse(r, HX_STUN_ERR_UNAUTHORIZED, "Unauthorized");
        r->key = &r->a->key;
        r->user = user;
        return 0;
    }
    for (size_t i = 0; i < t->cfg.n_secrets; i++) {
        char password[HX_TURN_CRED_PASSWORD_LEN];
        if (hx_turn_cred_password(t->cfg.secrets[i], r->username, password) != 0) continue;
        int ok = hx_stun_key_init_long_term(&r->fresh, r->username, t->cfg.realm, password) == 0 &&
                 hx_stun_check_integrity(m, &r->fresh) == 0;
        memset(password, 0, sizeof password);
        if (ok) {
            r->key = &r->fresh;
            r->user = user;
            return 0;
        }
        hx_stun_key_clear(&r->fresh);
    }
    return refuse(r, HX_STUN_ERR_UNAUTHORIZED, "Unauthorized");
}
