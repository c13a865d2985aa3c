/*
 * The ICE-lite agent's responder: credentials, and the answer to each
 * incoming STUN message. The checks run in the order RFC 5389 §7.3 and
 * §10.1.2 give, with the ICE rules of RFC 8445 §7.3 on top:
 *
 *   1. not a well-formed STUN message               -> drop
 *   2. not a request (indication, response)         -> ignore (a lite
 *      agent sends no requests; indications carry no consent, RFC 7675 §5)
 *   3. FINGERPRINT wrong                            -> drop (§7.3: not STUN)
 *      FINGERPRINT missing                          -> 400 (RFC 8445 §7.2.2)
 *   4. not Binding, no USERNAME or no MI            -> 400 (§10.1.2)
 *   5. USERNAME not "<local>:<remote>"              -> drop: the packet is
 *      for other credentials (an old ICE generation, another transport)
 *   6. MESSAGE-INTEGRITY wrong                      -> 401 (§10.1.2)
 *   7. unknown comprehension-required attributes    -> 420 (§7.3.1)
 *   8. ICE-CONTROLLED                               -> 487 (RFC 8445
 *      §7.3.1.1: both sides claim controlled, and a lite agent cannot take
 *      the controlling role, so the full peer must switch)
 *   9. no PRIORITY                                  -> 400 (RFC 8445 §7.2.2)
 *  10. otherwise a valid check: success with XOR-MAPPED-ADDRESS.
 * Responses to unauthenticated requests (400, 401) carry no
 * MESSAGE-INTEGRITY; the rest are signed with the local password
 * (§10.1.2); all carry FINGERPRINT.
 */
#include "ice/ice.h"
#include "ice/ice_internal.h"

#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <string.h>

static const char ice_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void hx_ice_config_default(hx_ice_config *cfg)
{
    cfg->consent_timeout_ms = HX_ICE_CONSENT_TIMEOUT_MS;
    cfg->connect_timeout_ms = 30000;
    cfg->disconnected_timeout_ms = 30000;
}

bool hx_ice_cred_valid(const char *s, size_t min, size_t max)
{
    size_t n = strnlen(s, max + 1);
    if (n < min || n > max) return false;
    for (size_t i = 0; i < n; i++)
        if (!memchr(ice_chars, s[i], sizeof ice_chars - 1)) return false;
    return true;
}

/* n random ice-chars: 64 of them, so 6 random bits each, no bias. */
static int random_chars(char *out, size_t n)
{
    uint8_t r[HX_ICE_PWD_LEN];
    if (n > sizeof r || RAND_bytes(r, (int)n) != 1) return -1;
    for (size_t i = 0; i < n; i++)
        out[i] = ice_chars[r[i] & 63];
    out[n] = '\0';
    OPENSSL_cleanse(r, sizeof r);
    return 0;
}

int hx_ice_agent_new_local_with(hx_ice_agent *a, const char *ufrag, const char *pwd)
{
    hx_stun_key key;
    if (!hx_ice_cred_valid(ufrag, 4, HX_ICE_UFRAG_LEN) ||
        !hx_ice_cred_valid(pwd, 22, HX_ICE_PWD_LEN) ||
        hx_stun_key_init(&key, (const uint8_t *)pwd, strlen(pwd)))
        return HX_ICE_EINVAL;
    hx_stun_key_clear(&a->local_key);
    a->local_key = key;
    hx_stun_key_clear(&key);
    memcpy(a->local_ufrag, ufrag, strlen(ufrag) + 1); /* lengths checked above */
    memcpy(a->local_pwd, pwd, strlen(pwd) + 1);
    return 0;
}

int hx_ice_agent_init_with(hx_ice_agent *a, const hx_ice_config *cfg, const char *ufrag,
                           const char *pwd, int64_t now_ms)
{
    memset(a, 0, sizeof *a);
    int rc = hx_ice_agent_new_local_with(a, ufrag, pwd);
    if (rc) return rc;
    if (cfg)
        a->cfg = *cfg;
    else
        hx_ice_config_default(&a->cfg);
    a->state = HX_ICE_NEW;
    a->state_since_ms = now_ms;
    a->selected = -1;
    return 0;
}

int hx_ice_agent_init(hx_ice_agent *a, const hx_ice_config *cfg, int64_t now_ms)
{
    char ufrag[HX_ICE_UFRAG_LEN + 1], pwd[HX_ICE_PWD_LEN + 1];
    int rc = HX_ICE_EINVAL;
    if (!random_chars(ufrag, HX_ICE_UFRAG_LEN) && !random_chars(pwd, HX_ICE_PWD_LEN))
        rc = hx_ice_agent_init_with(a, cfg, ufrag, pwd, now_ms);
    OPENSSL_cleanse(pwd, sizeof pwd);
    return rc;
}

int hx_ice_agent_new_local(hx_ice_agent *a)
{
    char ufrag[HX_ICE_UFRAG_LEN + 1], pwd[HX_ICE_PWD_LEN + 1];
    int rc = HX_ICE_EINVAL;
    if (!random_chars(ufrag, HX_ICE_UFRAG_LEN) && !random_chars(pwd, HX_ICE_PWD_LEN))
        rc = hx_ice_agent_new_local_with(a, ufrag, pwd);
    OPENSSL_cleanse(pwd, sizeof pwd);
    return rc;
}

void hx_ice_agent_clear(hx_ice_agent *a)
{
    OPENSSL_cleanse(a->local_pwd, sizeof a->local_pwd);
    OPENSSL_cleanse(a->remote_pwd, sizeof a->remote_pwd);
    hx_stun_key_clear(&a->local_key);
}

int hx_ice_agent_set_remote(hx_ice_agent *a, const char *ufrag, const char *pwd)
{
    if (!hx_ice_cred_valid(ufrag, 4, HX_ICE_MAX_CRED) ||
        !hx_ice_cred_valid(pwd, 22, HX_ICE_MAX_CRED))
        return HX_ICE_EINVAL;
    memcpy(a->remote_ufrag, ufrag, strlen(ufrag) + 1);
    memcpy(a->remote_pwd, pwd, strlen(pwd) + 1);
    return 0;
}

/* The address to report: an IPv4-mapped IPv6 source (dual-stack socket) as the IPv4 it is. */
static const struct sockaddr *mapped(const struct sockaddr_storage *from, struct sockaddr_in *v4)
{
    const struct sockaddr_in6 *s6 = (const void *)from;
    if (from->ss_family != AF_INET6 || !IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
        return (const struct sockaddr *)from;
    *v4 = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = s6->sin6_port};
    memcpy(&v4->sin_addr, s6->sin6_addr.s6_addr + 12, 4);
    return (const struct sockaddr *)v4;
}

/* A response to request m: success or error, signed or not, always with FINGERPRINT. */
static int respond(hx_ice_agent *a, const hx_stun_msg *m, const struct sockaddr_storage *from,
                   int code, bool sign, uint8_t *out, size_t cap, size_t *out_len)
{
    static const struct {
        int code;
        const char *reason;
    } reasons[] = {{400, "Bad Request"},
                   {401, "Unauthorized"},
                   {420, "Unknown Attribute"},
                   {487, "Role Conflict"}};
    hx_stun_writer w;
    struct sockaddr_in v4;
    hx_stun_writer_init(&w, out, cap, code ? HX_STUN_BINDING_ERROR : HX_STUN_BINDING_SUCCESS,
                        m->tid);
    if (code) {
        const char *reason = "Error";
        for (size_t i = 0; i < sizeof reasons / sizeof reasons[0]; i++)
            if (reasons[i].code == code) reason = reasons[i].reason;
        hx_stun_put_error(&w, code, reason);
        if (code == HX_STUN_ERR_UNKNOWN_ATTRIBUTE)
            hx_stun_put_unknown(&w, m->unknown, m->n_unknown);
    } else {
        hx_stun_put_xor_addr(&w, HX_STUN_ATTR_XOR_MAPPED_ADDRESS, mapped(from, &v4));
    }
    if (sign) hx_stun_put_integrity(&w, &a->local_key);
    hx_stun_put_fingerprint(&w);
    long n = hx_stun_writer_finish(&w);
    if (n < 0) return HX_ICE_ENOSPACE;
    *out_len = (size_t)n;
    if (code) a->n_error++;
    return code ? HX_ICE_RX_ERROR : HX_ICE_RX_VALID;
}

/* Step 5: USERNAME must be "<local ufrag>:<remote ufrag>" (remote may be unknown yet). */
static bool username_ours(const hx_ice_agent *a, const hx_stun_msg *m)
{
    const uint8_t *v, *remote;
    size_t n, local_len, remote_len;
    if (hx_stun_get_bytes(m, HX_STUN_ATTR_USERNAME, &v, &n)) return false;
    if (!hx__ice_username_split(v, n, &local_len, &remote, &remote_len)) return false;
    if (local_len != strlen(a->local_ufrag) || memcmp(v, a->local_ufrag, local_len)) return false;
    if (!a->remote_ufrag[0]) return remote_len > 0;
    return remote_len == strlen(a->remote_ufrag) && !memcmp(remote, a->remote_ufrag, remote_len);
}

int hx_ice_agent_on_msg(hx_ice_agent *a, const hx_stun_msg *m, const struct sockaddr_storage *from,
                        int64_t now_ms, uint8_t *out, size_t cap, size_t *out_len)
{
    uint32_t priority = 0;
    *out_len = 0;
    if (a->state == HX_ICE_FAILED) return a->n_dropped++, HX_ICE_EFAILED;
    if (!hx__ice_addr_ok(from)) return a->n_dropped++, HX_ICE_EINVAL;
    if (hx_stun_class(m->type) != HX_STUN_CLASS_REQUEST) return HX_ICE_RX_IGNORED;
    int fp = hx_stun_check_fingerprint(m);
    if (fp == HX_STUN_EMISMATCH) return a->n_dropped++, HX_ICE_EFINGERPRINT;
    if (fp == HX_STUN_EABSENT || hx_stun_method(m->type) != HX_STUN_BINDING || !m->mi_off ||
        !hx_stun_find(m, HX_STUN_ATTR_USERNAME))
        return respond(a, m, from, HX_STUN_ERR_BAD_REQUEST, false, out, cap, out_len);
    if (!username_ours(a, m)) return a->n_dropped++, HX_ICE_EUFRAG;
    if (hx_stun_check_integrity(m, &a->local_key))
        return respond(a, m, from, HX_STUN_ERR_UNAUTHORIZED, false, out, cap, out_len);
    if (m->n_unknown)
        return respond(a, m, from, HX_STUN_ERR_UNKNOWN_ATTRIBUTE, true, out, cap, out_len);
    if (hx_stun_find(m, HX_STUN_ATTR_ICE_CONTROLLED))
        return respond(a, m, from, HX_STUN_ERR_ROLE_CONFLICT, true, out, cap, out_len);
    if (hx_stun_get_u32(m, HX_STUN_ATTR_PRIORITY, &priority))
        return respond(a, m, from, HX_STUN_ERR_BAD_REQUEST, true, out, cap, out_len);

    int rc = respond(a, m, from, 0, true, out, cap, out_len);
    if (rc != HX_ICE_RX_VALID) return rc; /* no room to answer: not counted as a check */
    a->n_valid++;
    hx__ice_agent_on_valid(a, from, priority, hx_stun_find(m, HX_STUN_ATTR_USE_CANDIDATE) != NULL,
                           now_ms);
    return HX_ICE_RX_VALID;
}

int hx_ice_agent_on_stun(hx_ice_agent *a, const uint8_t *pkt, size_t len,
                         const struct sockaddr_storage *from, int64_t now_ms, uint8_t *out,
                         size_t cap, size_t *out_len)
{
    hx_stun_msg m;
    *out_len = 0;
    if (hx_stun_parse(&m, pkt, len)) return a->n_dropped++, HX_ICE_EMALFORMED;
    return hx_ice_agent_on_msg(a, &m, from, now_ms, out, cap, out_len);
}
