/*
 * The ICE-lite agent driven by hand-built checks (the STUN writer signs
 * them the way a full agent would). Each response is parsed back and its
 * MESSAGE-INTEGRITY and FINGERPRINT verified, so an answer is only "right"
 * if a peer would accept it. Covers: valid checks over IPv4 and IPv6 (and
 * IPv4-mapped IPv6), wrong password (401), wrong ufrag (dropped), missing
 * or bad FINGERPRINT, missing USERNAME/MI/PRIORITY, unknown attributes
 * (420), role conflict (487), nomination and renomination, consent
 * timeout, the connect and disconnected timeouts, the pair bound, the
 * generated and the given (ICE restart) credentials, and
 * hx_ice_agent_next_deadline: by hand per component, and as a property of
 * seeded random scenarios (random timeouts, checks, nominations, media,
 * evictions, ticks, events left pending): a tick at any time before the
 * deadline leaves the agent byte for byte unchanged; a tick at it raises an
 * event or expires a pair, and moves the deadline later.
 */
#include "ice/ice.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#define LOCAL_UFRAG "lufr"
#define LOCAL_PWD "localpasswordlocalpass"
#define REMOTE_UFRAG "rmt1"
#define REMOTE_PWD "remotepasswordremote22"
#define T0 1000000

enum {
    NO_FP = 1,
    BAD_FP = 2,
    USE_CAND = 4,
    CONTROLLED = 8,
    NO_MI = 16,
    NO_USER = 32,
    UNKNOWN_REQ = 64,
    UNKNOWN_OPT = 128,
    NO_PRIO = 256,
    INDICATION = 512,
};

typedef struct resp {
    int rc;
    size_t len;
    uint8_t buf[512];
    hx_stun_msg m;
} resp;

static struct sockaddr_storage v4(const char *ip, int port)
{
    struct sockaddr_storage ss = {0};
    struct sockaddr_in *s = (void *)&ss;
    s->sin_family = AF_INET;
    s->sin_port = htons((uint16_t)port);
    assert_int_equal(inet_pton(AF_INET, ip, &s->sin_addr), 1);
    return ss;
}

static struct sockaddr_storage v6(const char *ip, int port)
{
    struct sockaddr_storage ss = {0};
    struct sockaddr_in6 *s = (void *)&ss;
    s->sin6_family = AF_INET6;
    s->sin6_port = htons((uint16_t)port);
    assert_int_equal(inet_pton(AF_INET6, ip, &s->sin6_addr), 1);
    return ss;
}

static size_t build(uint8_t *buf, size_t cap, const char *user, const char *pwd, unsigned flags)
{
    static const uint8_t tid[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    hx_stun_writer w;
    hx_stun_key k;
    assert_int_equal(hx_stun_key_init(&k, (const uint8_t *)pwd, strlen(pwd)), 0);
    hx_stun_writer_init(&w, buf, cap,
                        flags & INDICATION ? HX_STUN_BINDING_INDICATION : HX_STUN_BINDING_REQUEST,
                        tid);
    if (!(flags & NO_USER)) hx_stun_put(&w, HX_STUN_ATTR_USERNAME, user, strlen(user));
    if (!(flags & NO_PRIO)) hx_stun_put_u32(&w, HX_STUN_ATTR_PRIORITY, 0x6e7f1eff);
    hx_stun_put_u64(&w,
                    flags & CONTROLLED ? HX_STUN_ATTR_ICE_CONTROLLED : HX_STUN_ATTR_ICE_CONTROLLING,
                    0x1122334455667788ull);
    if (flags & USE_CAND) hx_stun_put(&w, HX_STUN_ATTR_USE_CANDIDATE, NULL, 0);
    if (flags & UNKNOWN_REQ) hx_stun_put_u32(&w, 0x7777, 1);
    if (flags & UNKNOWN_OPT) hx_stun_put_u32(&w, 0xc001, 1);
    if (!(flags & NO_MI)) hx_stun_put_integrity(&w, &k);
    if (!(flags & NO_FP)) hx_stun_put_fingerprint(&w);
    long n = hx_stun_writer_finish(&w);
    assert_true(n > 0);
    if (flags & BAD_FP) buf[n - 1] ^= 1;
    return (size_t)n;
}

static void send_check(hx_ice_agent *a, const struct sockaddr_storage *from, int64_t now,
                       const char *user, const char *pwd, unsigned flags, resp *r)
{
    uint8_t req[512];
    size_t n = build(req, sizeof req, user, pwd, flags);
    r->rc = hx_ice_agent_on_stun(a, req, n, from, now, r->buf, sizeof r->buf, &r->len);
    if (r->len) {
        hx_stun_key k;
        assert_int_equal(hx_stun_parse(&r->m, r->buf, r->len), 0);
        assert_memory_equal(r->m.tid, req + 8, 12);
        assert_int_equal(hx_stun_check_fingerprint(&r->m), 0);
        assert_int_equal(hx_stun_key_init(&k, (const uint8_t *)LOCAL_PWD, 22), 0);
        if (r->m.mi_off) assert_int_equal(hx_stun_check_integrity(&r->m, &k), 0);
    }
}

static void check(hx_ice_agent *a, const struct sockaddr_storage *from, int64_t now, unsigned flags,
                  resp *r)
{
    send_check(a, from, now, LOCAL_UFRAG ":" REMOTE_UFRAG, LOCAL_PWD, flags, r);
}

static int error_code(const resp *r)
{
    int code;
    const char *reason;
    size_t n;
    assert_int_equal(r->m.type, HX_STUN_BINDING_ERROR);
    assert_int_equal(hx_stun_get_error(&r->m, &code, &reason, &n), 0);
    assert_true(n > 0);
    return code;
}

static void agent(hx_ice_agent *a)
{
    assert_int_equal(hx_ice_agent_init_with(a, NULL, LOCAL_UFRAG, LOCAL_PWD, T0), 0);
    assert_int_equal(a->state, HX_ICE_NEW);
}

static void assert_mapped(const resp *r, const struct sockaddr_storage *want)
{
    struct sockaddr_storage got;
    assert_int_equal(r->m.type, HX_STUN_BINDING_SUCCESS);
    assert_true(r->m.mi_off > 0);
    assert_int_equal(hx_stun_get_xor_addr(&r->m, HX_STUN_ATTR_XOR_MAPPED_ADDRESS, &got), 0);
    assert_memory_equal(&got, want,
                        want->ss_family == AF_INET ? sizeof(struct sockaddr_in)
                                                   : sizeof(struct sockaddr_in6));
}

static void test_valid_check_v4(void **state)
{
    hx_ice_agent a;
    resp r;
    struct sockaddr_storage from = v4("192.0.2.7", 50000);
    agent(&a);
    check(&a, &from, T0 + 5, 0, &r);
    assert_int_equal(r.rc, HX_ICE_RX_VALID);
    assert_mapped(&r, &from);
    assert_int_equal(a.state, HX_ICE_CHECKING);
    assert_int_equal(hx_ice_agent_take_events(&a), HX_ICE_EV_STATE);
    assert_null(hx_ice_agent_selected(&a));
    const hx_ice_pair *p = hx_ice_agent_find_pair(&a, &from);
    assert_non_null(p);
    assert_int_equal(p->priority, 0x6e7f1eff);
    assert_int_equal(p->last_check_ms, T0 + 5);
    assert_int_equal(a.n_valid, 1);
    /* An unknown comprehension-optional attribute is fine. */
    check(&a, &from, T0 + 6, UNKNOWN_OPT, &r);
    assert_int_equal(r.rc, HX_ICE_RX_VALID);
}

static void test_valid_check_v6(void **state)
{
    hx_ice_agent a;
    resp r;
    struct sockaddr_storage from = v6("2001:db8::1234", 40000);
    struct sockaddr_storage mapped6 = v6("::ffff:198.51.100.9", 40001);
    struct sockaddr_storage mapped4 = v4("198.51.100.9", 40001);
    agent(&a);
    check(&a, &from, T0, USE_CAND, &r);
    assert_int_equal(r.rc, HX_ICE_RX_VALID);
    assert_mapped(&r, &from);
    assert_int_equal(a.state, HX_ICE_CONNECTED);
    assert_non_null(hx_ice_agent_selected(&a));
    assert_int_equal(hx_ice_agent_selected(&a)->sa.sa_family, AF_INET6);
    /* A dual-stack socket's IPv4-mapped source is reported as IPv4. */
    check(&a, &mapped6, T0, 0, &r);
    assert_int_equal(r.rc, HX_ICE_RX_VALID);
    assert_mapped(&r, &mapped4);
}

static void test_wrong_password(void **state)
{
    hx_ice_agent a;
    resp r;
    struct sockaddr_storage from = v4("192.0.2.7", 50000);
    agent(&a);
    send_check(&a, &from, T0, LOCAL_UFRAG ":" REMOTE_UFRAG, "wrongpasswordwrongpass", USE_CAND, &r);
    assert_int_equal(r.rc, HX_ICE_RX_ERROR);
    assert_int_equal(error_code(&r), 401);
    assert_int_equal(r.m.mi_off, 0); /* unauthenticated: not signed */
    assert_int_equal(a.state, HX_ICE_NEW);
    assert_null(hx_ice_agent_find_pair(&a, &from));
    assert_int_equal(hx_ice_agent_take_events(&a), 0);
}

static void test_wrong_ufrag(void **state)
{
    hx_ice_agent a;
    resp r;
    struct sockaddr_storage from = v4("192.0.2.7", 50000);
    agent(&a);
    const char *bad[] = {"lufX:" REMOTE_UFRAG, "lufrr:" REMOTE_UFRAG, "luf:" REMOTE_UFRAG,
                         LOCAL_UFRAG,          LOCAL_UFRAG ":",       ":" LOCAL_UFRAG};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        send_check(&a, &from, T0, bad[i], LOCAL_PWD, 0, &r);
        assert_int_equal(r.rc, HX_ICE_EUFRAG);
        assert_int_equal(r.len, 0);
    }
    /* Remote ufrag unknown: any remote part; once known: only it. */
    send_check(&a, &from, T0, LOCAL_UFRAG ":other", LOCAL_PWD, 0, &r);
    assert_int_equal(r.rc, HX_ICE_RX_VALID);
    assert_int_equal(hx_ice_agent_set_remote(&a, REMOTE_UFRAG, REMOTE_PWD), 0);
    send_check(&a, &from, T0, LOCAL_UFRAG ":other", LOCAL_PWD, 0, &r);
    assert_int_equal(r.rc, HX_ICE_EUFRAG);
    check(&a, &from, T0, 0, &r);
    assert_int_equal(r.rc, HX_ICE_RX_VALID);
}

static void test_fingerprint(void **state)
{
    hx_ice_agent a;
    resp r;
    struct sockaddr_storage from = v4("192.0.2.7", 50000);
    agent(&a);
    check(&a, &from, T0, NO_FP | USE_CAND, &r);
    assert_int_equal(r.rc, HX_ICE_RX_ERROR);
    assert_int_equal(error_code(&r), 400);
    assert_int_equal(r.m.mi_off, 0);
    check(&a, &from, T0, BAD_FP | USE_CAND, &r);
    assert_int_equal(r.rc, HX_ICE_EFINGERPRINT);
    assert_int_equal(r.len, 0);
    assert_int_equal(a.state, HX_ICE_NEW);
}

static void test_bad_requests(void **state)
{
    hx_ice_agent a;
    resp r;
    struct sockaddr_storage from = v4("192.0.2.7", 50000);
    agent(&a);
    check(&a, &from, T0, NO_MI, &r);
    assert_int_equal(error_code(&r), 400);
    check(&a, &from, T0, NO_USER, &r);
    assert_int_equal(error_code(&r), 400);
    check(&a, &from, T0, NO_PRIO, &r);
    assert_int_equal(error_code(&r), 400);
    assert_true(r.m.mi_off > 0); /* authenticated, so signed */
    check(&a, &from, T0, UNKNOWN_REQ, &r);
    assert_int_equal(error_code(&r), 420);
    const uint8_t *v;
    size_t n;
    assert_int_equal(hx_stun_get_bytes(&r.m, HX_STUN_ATTR_UNKNOWN_ATTRIBUTES, &v, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(v[0] << 8 | v[1], 0x7777);
    assert_int_equal(a.state, HX_ICE_NEW);
    assert_null(hx_ice_agent_find_pair(&a, &from));
    /* Indications and garbage get no answer. */
    check(&a, &from, T0, INDICATION, &r);
    assert_int_equal(r.rc, HX_ICE_RX_IGNORED);
    assert_int_equal(r.len, 0);
    uint8_t junk[40] = {0x00, 0x01, 0x00, 0x18, 0x21, 0x12, 0xa4, 0x42}; /* length != 20 */
    assert_int_equal(
        hx_ice_agent_on_stun(&a, junk, sizeof junk, &from, T0, r.buf, sizeof r.buf, &r.len),
        HX_ICE_EMALFORMED);
    /* No room for the answer. */
    uint8_t req[256], out[40];
    size_t len = build(req, sizeof req, LOCAL_UFRAG ":x", LOCAL_PWD, 0);
    assert_int_equal(hx_ice_agent_on_stun(&a, req, len, &from, T0, out, sizeof out, &r.len),
                     HX_ICE_ENOSPACE);
    assert_int_equal(a.state, HX_ICE_NEW);
}

static void test_role_conflict(void **state)
{
    hx_ice_agent a;
    resp r;
    struct sockaddr_storage from = v4("192.0.2.7", 50000);
    agent(&a);
    check(&a, &from, T0, CONTROLLED | USE_CAND, &r);
    assert_int_equal(r.rc, HX_ICE_RX_ERROR);
    assert_int_equal(error_code(&r), 487);
    assert_true(r.m.mi_off > 0);
    assert_int_equal(a.state, HX_ICE_NEW);
    check(&a, &from, T0, USE_CAND, &r); /* the peer switched to controlling */
    assert_int_equal(r.rc, HX_ICE_RX_VALID);
    assert_int_equal(a.state, HX_ICE_CONNECTED);
}

static void test_nomination(void **state)
{
    hx_ice_agent a;
    resp r;
    struct sockaddr_storage p1 = v4("192.0.2.7", 50000), p2 = v6("2001:db8::2", 50002);
    agent(&a);
    check(&a, &p1, T0, 0, &r);
    check(&a, &p2, T0, 0, &r);
    assert_int_equal(a.n_pairs, 2);
    assert_null(hx_ice_agent_selected(&a));
    hx_ice_agent_take_events(&a);
    check(&a, &p1, T0 + 10, USE_CAND, &r);
    assert_int_equal(hx_ice_agent_take_events(&a), HX_ICE_EV_STATE | HX_ICE_EV_SELECTED);
    assert_int_equal(a.state, HX_ICE_CONNECTED);
    assert_true(hx_ice_agent_find_pair(&a, &p1)->nominated);
    assert_memory_equal(hx_ice_agent_selected(&a), &p1, sizeof(struct sockaddr_in));
    check(&a, &p1, T0 + 20, USE_CAND, &r); /* again: nothing changes */
    assert_int_equal(hx_ice_agent_take_events(&a), 0);
    check(&a, &p2, T0 + 30, USE_CAND, &r); /* renomination moves the transport */
    assert_int_equal(hx_ice_agent_take_events(&a), HX_ICE_EV_SELECTED);
    assert_memory_equal(hx_ice_agent_selected(&a), &p2, sizeof(struct sockaddr_in6));
    assert_false(hx_ice_agent_find_pair(&a, &p1)->nominated);
}

static void test_consent_timeout(void **state)
{
    hx_ice_agent a;
    resp r;
    struct sockaddr_storage p1 = v4("192.0.2.7", 50000), p2 = v4("192.0.2.8", 50000);
    agent(&a);
    check(&a, &p1, T0, USE_CAND, &r);
    check(&a, &p2, T0, 0, &r);
    hx_ice_agent_take_events(&a);
    assert_int_equal(hx_ice_agent_tick(&a, T0 + 29999), 0);
    check(&a, &p1, T0 + 20000, 0, &r); /* consent refreshed without USE-CANDIDATE */
    assert_int_equal(hx_ice_agent_tick(&a, T0 + 30000), 0);
    assert_int_equal(a.state, HX_ICE_CONNECTED);
    assert_null(hx_ice_agent_find_pair(&a, &p2)); /* unselected pair expired */
    assert_int_equal(hx_ice_agent_tick(&a, T0 + 49999), 0);
    assert_int_equal(hx_ice_agent_tick(&a, T0 + 50000), HX_ICE_EV_STATE | HX_ICE_EV_SELECTED);
    assert_int_equal(a.state, HX_ICE_DISCONNECTED);
    assert_null(hx_ice_agent_selected(&a));
    /* A check without nomination does not reconnect; a nomination does. */
    check(&a, &p1, T0 + 51000, 0, &r);
    assert_int_equal(a.state, HX_ICE_DISCONNECTED);
    check(&a, &p1, T0 + 52000, USE_CAND, &r);
    assert_int_equal(a.state, HX_ICE_CONNECTED);
    assert_non_null(hx_ice_agent_selected(&a));
    /* Lost again, and never back: failed after the disconnected timeout. */
    assert_int_equal(hx_ice_agent_tick(&a, T0 + 82000), HX_ICE_EV_STATE | HX_ICE_EV_SELECTED);
    assert_int_equal(hx_ice_agent_tick(&a, T0 + 111999), 0);
    assert_int_equal(hx_ice_agent_tick(&a, T0 + 112000), HX_ICE_EV_STATE);
    assert_int_equal(a.state, HX_ICE_FAILED);
    check(&a, &p1, T0 + 113000, USE_CAND, &r);
    assert_int_equal(r.rc, HX_ICE_EFAILED);
}

/* Authenticated media from the selected pair is consent too (libnice sends only indications). */
static void test_consent_by_media(void **state)
{
    (void)state;
    hx_ice_agent a;
    resp r;
    struct sockaddr_storage p1 = v4("192.0.2.7", 50000), other = v4("192.0.2.9", 50000);
    agent(&a);
    check(&a, &p1, T0, USE_CAND, &r);
    hx_ice_agent_take_events(&a);
    hx_ice_agent_media_seen(&a, &p1, T0 + 25000);
    hx_ice_agent_media_seen(&a, &other, T0 + 50000); /* another address refreshes nothing */
    assert_int_equal(hx_ice_agent_tick(&a, T0 + 54999), 0);
    assert_int_equal(a.state, HX_ICE_CONNECTED);
    assert_int_equal(hx_ice_agent_tick(&a, T0 + 55000), HX_ICE_EV_STATE | HX_ICE_EV_SELECTED);
    assert_int_equal(a.state, HX_ICE_DISCONNECTED);
    /* Media after consent is lost does not bring the pair back: only a nomination does. */
    hx_ice_agent_media_seen(&a, &p1, T0 + 56000);
    assert_int_equal(a.state, HX_ICE_DISCONNECTED);
    assert_null(hx_ice_agent_selected(&a));
}

static void test_configured_timeouts(void **state)
{
    hx_ice_agent a;
    resp r;
    hx_ice_config cfg = {.consent_timeout_ms = 5000, .connect_timeout_ms = 2000};
    struct sockaddr_storage p1 = v4("192.0.2.7", 50000);
    assert_int_equal(hx_ice_agent_init_with(&a, &cfg, LOCAL_UFRAG, LOCAL_PWD, T0), 0);
    assert_int_equal(hx_ice_agent_tick(&a, T0 + 1999), 0);
    assert_int_equal(hx_ice_agent_tick(&a, T0 + 2000), HX_ICE_EV_STATE);
    assert_int_equal(a.state, HX_ICE_FAILED);

    assert_int_equal(hx_ice_agent_init_with(&a, &cfg, LOCAL_UFRAG, LOCAL_PWD, T0), 0);
    check(&a, &p1, T0 + 1000, USE_CAND, &r);
    assert_int_equal(hx_ice_agent_take_events(&a), HX_ICE_EV_STATE | HX_ICE_EV_SELECTED);
    assert_int_equal(hx_ice_agent_tick(&a, T0 + 5999), 0);
    assert_int_equal(hx_ice_agent_tick(&a, T0 + 6000), HX_ICE_EV_STATE | HX_ICE_EV_SELECTED);
    assert_int_equal(a.state, HX_ICE_DISCONNECTED);
    /* disconnected_timeout_ms 0: stays disconnected. */
    assert_int_equal(hx_ice_agent_tick(&a, T0 + 10000000), 0);
    assert_int_equal(a.state, HX_ICE_DISCONNECTED);
}

static void test_pair_bound(void **state)
{
    hx_ice_agent a;
    resp r;
    agent(&a);
    struct sockaddr_storage first = v4("10.0.0.1", 1000);
    check(&a, &first, T0, USE_CAND, &r);
    for (int i = 0; i < 3 * HX_ICE_MAX_PAIRS; i++) {
        struct sockaddr_storage p = v4("10.0.0.2", 2000 + i);
        check(&a, &p, T0 + 1 + i, 0, &r);
        assert_int_equal(r.rc, HX_ICE_RX_VALID);
        assert_true(a.n_pairs <= HX_ICE_MAX_PAIRS);
        assert_non_null(hx_ice_agent_find_pair(&a, &p));
    }
    assert_int_equal(a.n_pairs, HX_ICE_MAX_PAIRS);
    assert_memory_equal(hx_ice_agent_selected(&a), &first, sizeof(struct sockaddr_in));
    /* The newest 15 unselected pairs survive. */
    struct sockaddr_storage old = v4("10.0.0.2", 2000 + 3 * HX_ICE_MAX_PAIRS - 16);
    struct sockaddr_storage kept = v4("10.0.0.2", 2000 + 3 * HX_ICE_MAX_PAIRS - 15);
    assert_null(hx_ice_agent_find_pair(&a, &old));
    assert_non_null(hx_ice_agent_find_pair(&a, &kept));
}

static void test_credentials(void **state)
{
    hx_ice_agent a, b;
    assert_int_equal(hx_ice_agent_init(&a, NULL, 0), 0);
    assert_int_equal(hx_ice_agent_init(&b, NULL, 0), 0);
    assert_int_equal(strlen(a.local_ufrag), HX_ICE_UFRAG_LEN);
    assert_int_equal(strlen(a.local_pwd), HX_ICE_PWD_LEN);
    assert_true(hx_ice_cred_valid(a.local_ufrag, 4, 256));
    assert_true(hx_ice_cred_valid(a.local_pwd, 22, 256));
    assert_string_not_equal(a.local_ufrag, b.local_ufrag);
    assert_string_not_equal(a.local_pwd, b.local_pwd);
    assert_false(hx_ice_cred_valid("ab:c", 1, 10));
    assert_false(hx_ice_cred_valid("abc", 4, 10));
    assert_true(hx_ice_cred_valid("aZ9+/", 4, 10));
    assert_int_equal(hx_ice_agent_set_remote(&a, "abc", REMOTE_PWD), HX_ICE_EINVAL);
    assert_int_equal(hx_ice_agent_set_remote(&a, REMOTE_UFRAG, "short"), HX_ICE_EINVAL);
    assert_int_equal(hx_ice_agent_set_remote(&a, "a b c", REMOTE_PWD), HX_ICE_EINVAL);
    assert_int_equal(hx_ice_agent_init_with(&a, NULL, "x", LOCAL_PWD, 0), HX_ICE_EINVAL);
    assert_string_equal(hx_ice_state_name(HX_ICE_CONNECTED), "connected");
    hx_ice_agent_clear(&a);
    assert_int_equal(a.local_pwd[0], 0);
}

/* ICE restart with given credentials: the old ufrag is refused, the new one answered. */
static void test_new_local_with(void **state)
{
    (void)state;
    hx_ice_agent a;
    resp r;
    struct sockaddr_storage from = v4("192.0.2.7", 50000);
    agent(&a);
    check(&a, &from, T0, USE_CAND, &r);
    assert_int_equal(hx_ice_agent_new_local_with(&a, "x", "newpasswordnewpassword"), HX_ICE_EINVAL);
    assert_int_equal(hx_ice_agent_new_local_with(&a, "nwuf", "short"), HX_ICE_EINVAL);
    assert_string_equal(a.local_ufrag, LOCAL_UFRAG); /* a refusal changes nothing */
    check(&a, &from, T0 + 1, 0, &r);
    assert_int_equal(r.rc, HX_ICE_RX_VALID);
    assert_int_equal(hx_ice_agent_new_local_with(&a, "nwuf", "newpasswordnewpassword"), 0);
    check(&a, &from, T0 + 2, 0, &r);
    assert_int_equal(r.rc, HX_ICE_EUFRAG);
    uint8_t req[512];
    size_t n = build(req, sizeof req, "nwuf:" REMOTE_UFRAG, "newpasswordnewpassword", 0);
    assert_int_equal(hx_ice_agent_on_stun(&a, req, n, &from, T0 + 3, r.buf, sizeof r.buf, &r.len),
                     HX_ICE_RX_VALID);
    assert_int_equal(a.state, HX_ICE_CONNECTED); /* the pairs stayed */
}

/* Each component of the deadline, by hand (the property test below covers the mixtures). */
static void test_next_deadline_components(void **state)
{
    (void)state;
    hx_ice_agent a;
    resp r;
    hx_ice_config cfg = {
        .consent_timeout_ms = 5000, .connect_timeout_ms = 2000, .disconnected_timeout_ms = 7000};
    struct sockaddr_storage p1 = v4("192.0.2.7", 50000), p2 = v4("192.0.2.8", 50000);
    assert_int_equal(hx_ice_agent_init_with(&a, &cfg, LOCAL_UFRAG, LOCAL_PWD, T0), 0);
    assert_int_equal(hx_ice_agent_next_deadline(&a), T0 + 2000); /* connect */
    check(&a, &p2, T0 + 100, 0, &r);
    assert_int_equal(hx_ice_agent_next_deadline(&a), INT64_MIN); /* checking, not taken yet */
    hx_ice_agent_take_events(&a);
    assert_int_equal(hx_ice_agent_next_deadline(&a), T0 + 100 + 2000); /* since checking */
    check(&a, &p1, T0 + 300, USE_CAND, &r);
    hx_ice_agent_take_events(&a);
    assert_int_equal(hx_ice_agent_next_deadline(&a), T0 + 100 + 5000); /* p2's consent */
    hx_ice_agent_media_seen(&a, &p1, T0 + 4000);
    assert_int_equal(hx_ice_agent_tick(&a, T0 + 5100), 0); /* p2 expires, no event */
    assert_null(hx_ice_agent_find_pair(&a, &p2));
    assert_int_equal(hx_ice_agent_next_deadline(&a), T0 + 4000 + 5000); /* p1's consent */
    assert_int_equal(hx_ice_agent_tick(&a, T0 + 9000), HX_ICE_EV_STATE | HX_ICE_EV_SELECTED);
    assert_int_equal(hx_ice_agent_next_deadline(&a), T0 + 9000 + 7000); /* disconnected */
    assert_int_equal(hx_ice_agent_tick(&a, T0 + 16000), HX_ICE_EV_STATE);
    assert_int_equal(a.state, HX_ICE_FAILED);
    assert_int_equal(hx_ice_agent_next_deadline(&a), INT64_MAX);
    /* A timeout of 0 is never due. */
    cfg = (hx_ice_config){0};
    assert_int_equal(hx_ice_agent_init_with(&a, &cfg, LOCAL_UFRAG, LOCAL_PWD, T0), 0);
    assert_int_equal(hx_ice_agent_next_deadline(&a), INT64_MAX);
    check(&a, &p1, T0, USE_CAND, &r);
    hx_ice_agent_take_events(&a);
    assert_int_equal(hx_ice_agent_next_deadline(&a), INT64_MAX);
    assert_int_equal(hx_ice_agent_tick(&a, INT64_MAX), 0);
}

/* --- next_deadline as a property of random scenarios --------------------- */

#define N_ADDRS (HX_ICE_MAX_PAIRS + 4) /* enough to evict */

static uint64_t rng = 0x243f6a8885a308d3ull;

static uint64_t rnd(uint64_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return n ? rng % n : rng;
}

static int64_t rnd_timeout(void)
{
    static const int64_t t[] = {0, 1, 10, 700, 2000, 5000, HX_ICE_CONSENT_TIMEOUT_MS};
    return rnd(4) ? t[rnd(sizeof t / sizeof t[0])] : (int64_t)rnd(40000);
}

/* A tick at t on a copy of a: what it returns, the copy after it. */
static uint32_t tick_copy(const hx_ice_agent *a, int64_t t, hx_ice_agent *out)
{
    memcpy(out, a, sizeof *out);
    return hx_ice_agent_tick(out, t);
}

/* Before the deadline a tick changes nothing; at it, it raises an event or expires a pair, and
 * the next deadline is later. */
static void assert_deadline_exact(const hx_ice_agent *a, int64_t now)
{
    hx_ice_agent b;
    int64_t d = hx_ice_agent_next_deadline(a);
    if (d == INT64_MIN) {
        assert_int_not_equal(tick_copy(a, now, &b), 0);
        return;
    }
    int64_t probes[] = {d - 1, d - 1 - (int64_t)rnd(60000), now, INT64_MIN};
    for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++) {
        if (probes[i] >= d) continue;
        assert_int_equal(tick_copy(a, probes[i], &b), 0);
        assert_memory_equal(&b, a, sizeof b);
    }
    if (d == INT64_MAX) {
        assert_int_equal(tick_copy(a, INT64_MAX, &b), 0);
        assert_memory_equal(&b, a, sizeof b);
        return;
    }
    uint32_t ev = tick_copy(a, d, &b);
    assert_true(ev != 0 || b.n_pairs < a->n_pairs);
    assert_true(hx_ice_agent_next_deadline(&b) > d);
}

static void scenario(const struct sockaddr_storage *addrs)
{
    hx_ice_agent a;
    resp r;
    hx_ice_config cfg = {.consent_timeout_ms = rnd_timeout(),
                         .connect_timeout_ms = rnd_timeout(),
                         .disconnected_timeout_ms = rnd_timeout()};
    int64_t now = T0 + (int64_t)rnd(1000);
    assert_int_equal(hx_ice_agent_init_with(&a, &cfg, LOCAL_UFRAG, LOCAL_PWD, now), 0);
    for (int op = 0; op < 80; op++) {
        assert_deadline_exact(&a, now);
        int64_t d = hx_ice_agent_next_deadline(&a);
        switch (rnd(8)) {
        case 0: /* jump to the deadline itself */
            if (d > now && d != INT64_MAX) now = d;
            break;
        case 1:
            now += (int64_t)rnd(3000);
            break;
        default:
            now += (int64_t)rnd(300);
            break;
        }
        const struct sockaddr_storage *from = &addrs[rnd(rnd(3) ? N_ADDRS : 3)];
        switch (rnd(7)) {
        case 0:
        case 1:
            check(&a, from, now, rnd(3) ? 0 : USE_CAND, &r);
            break;
        case 2:
            hx_ice_agent_media_seen(&a, from, now);
            break;
        case 3:
            hx_ice_agent_take_events(&a);
            break;
        case 4: /* more addresses than pairs: the stalest unselected pairs are evicted */
            for (int i = 0; i < N_ADDRS; i++)
                check(&a, &addrs[i], now += (int64_t)rnd(2), 0, &r);
            break;
        default:
            hx_ice_agent_tick(&a, now);
            break;
        }
    }
}

static void test_next_deadline_property(void **state)
{
    (void)state;
    struct sockaddr_storage addrs[N_ADDRS];
    for (int i = 0; i < N_ADDRS; i++)
        addrs[i] = i % 2 ? v4("198.51.100.1", 1000 + i) : v6("2001:db8::1", 1000 + i);
    for (int i = 0; i < 2000; i++)
        scenario(addrs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_check_v4),  cmocka_unit_test(test_valid_check_v6),
        cmocka_unit_test(test_wrong_password),  cmocka_unit_test(test_wrong_ufrag),
        cmocka_unit_test(test_fingerprint),     cmocka_unit_test(test_bad_requests),
        cmocka_unit_test(test_role_conflict),   cmocka_unit_test(test_nomination),
        cmocka_unit_test(test_consent_timeout), cmocka_unit_test(test_consent_by_media),
        cmocka_unit_test(test_configured_timeouts),
        cmocka_unit_test(test_pair_bound),      cmocka_unit_test(test_credentials),
        cmocka_unit_test(test_new_local_with),
        cmocka_unit_test(test_next_deadline_components),
        cmocka_unit_test(test_next_deadline_property),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
