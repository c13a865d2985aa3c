/*
 * A TURN core without sockets for the unit tests: fake I/O that records
 * every message the core sends (to clients and to peers) and fake relays
 * (198.51.100.1 / 2001:db8::1, ports from 50000), a clock the test moves,
 * and a small client that builds requests with the STUN writer, signs
 * them with the REST credential and follows the 401 dance.
 *
 * Header-only (static functions): each tests/turn/test_*.c includes it.
 */
#ifndef HX_TESTS_TURN_FIXTURE_H
#define HX_TESTS_TURN_FIXTURE_H

#include "auth/turn_cred.h"
#include "common/bytes.h"
#include "net/addr.h"
#include "stun/stun.h"
#include "turn/core.h"

#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define FX_SECRET "north-wind-secret-0123"
#define FX_SECRET2 "south-wind-secret-4567"
#define FX_REALM "hearth"
#define FX_UNIX_S 1800000000LL /* the fake wall clock at now_ms = 0 */
#define FX_MAX_OUT 256
#define FX_MAX_RELAYS 256

typedef struct fx_msg {
    int to_peer; /* 0: to a client, 1: to a peer */
    hx_turn_client client;
    int relay; /* relay index + 1 */
    struct sockaddr_storage peer;
    size_t len;
    uint8_t buf[4096];
} fx_msg;

typedef struct fx_relay {
    bool open;
    uint64_t id;
    int family;
    struct sockaddr_storage addr;
} fx_relay;

typedef struct fx {
    hx_turn_config cfg;
    hx_turn_core *core;
    int64_t now;
    uint8_t slot[8192];
    size_t slot_cap_udp;
    fx_msg out[FX_MAX_OUT];
    size_t n_out;
    fx_relay relays[FX_MAX_RELAYS];
    size_t n_relays;
    bool v6;        /* relays of IPv6 may be opened */
    int relay_fail; /* relay_open returns this when non-zero */
    uint32_t tid_seq;
} fx;

/* --- fake I/O ---------------------------------------------------------- */

static inline uint8_t *fx_client_slot(void *ctx, const hx_turn_client *c, size_t *cap)
{
    fx *f = ctx;
    *cap = c->proto == HX_TURN_UDP ? f->slot_cap_udp : 4096;
    return f->slot;
}

static inline void fx_client_commit(void *ctx, const hx_turn_client *c, size_t len)
{
    fx *f = ctx;
    if (!len || f->n_out == FX_MAX_OUT) return;
    fx_msg *m = &f->out[f->n_out++];
    memset(m, 0, offsetof(fx_msg, buf));
    m->client = *c;
    m->len = len;
    memcpy(m->buf, f->slot, len);
}

static inline uint8_t *fx_peer_slot(void *ctx, void *relay, size_t *cap)
{
    fx *f = ctx;
    *cap = 1500;
    return f->slot;
}

static inline void fx_peer_commit(void *ctx, void *relay, const struct sockaddr_storage *peer,
                                  size_t len)
{
    fx *f = ctx;
    if (!len || f->n_out == FX_MAX_OUT) return;
    fx_msg *m = &f->out[f->n_out++];
    memset(m, 0, offsetof(fx_msg, buf));
    m->to_peer = 1;
    m->relay = (int)(uintptr_t)relay;
    m->peer = *peer;
    m->len = len;
    memcpy(m->buf, f->slot, len);
}

static inline int fx_relay_open(void *ctx, uint64_t id, int family, bool even, void **relay,
                                struct sockaddr_storage *relayed)
{
    fx *f = ctx;
    if (f->relay_fail) return f->relay_fail;
    if (family == AF_INET6 && !f->v6) return -EAFNOSUPPORT;
    assert_true(f->n_relays < FX_MAX_RELAYS);
    fx_relay *r = &f->relays[f->n_relays];
    r->open = true;
    r->id = id;
    r->family = family;
    memset(&r->addr, 0, sizeof r->addr);
    uint16_t port = (uint16_t)(50000 + 2 * f->n_relays);
    if (family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)&r->addr;
        a->sin_family = AF_INET;
        a->sin_port = htons(port);
        inet_pton(AF_INET, "198.51.100.1", &a->sin_addr);
    } else {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&r->addr;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(port);
        inet_pton(AF_INET6, "2001:db8::1", &a->sin6_addr);
    }
    *relayed = r->addr;
    *relay = (void *)(uintptr_t)(++f->n_relays);
    return 0;
}

static inline void fx_relay_close(void *ctx, void *relay)
{
    fx *f = ctx;
    size_t i = (size_t)(uintptr_t)relay - 1;
    assert_true(i < f->n_relays);
    assert_true(f->relays[i].open); /* closed once */
    f->relays[i].open = false;
}

static inline size_t fx_open_relays(const fx *f)
{
    size_t n = 0;
    for (size_t i = 0; i < f->n_relays; i++)
        n += f->relays[i].open;
    return n;
}

/* --- set-up ------------------------------------------------------------ */

static inline void fx_config(hx_turn_config *cfg)
{
    hx_turn_config_default(cfg);
    snprintf(cfg->realm, sizeof cfg->realm, FX_REALM);
    snprintf(cfg->secrets[0], sizeof cfg->secrets[0], FX_SECRET);
    cfg->n_secrets = 1;
    cfg->max_allocations = 3;
    cfg->max_total_allocations = 8;
    cfg->max_lifetime_s = 3600;
    cfg->max_bps = 0; /* no bandwidth limit unless a test sets one */
}

static inline fx *fx_new_with(const hx_turn_config *cfg)
{
    fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->cfg = *cfg;
    f->slot_cap_udp = 1500;
    f->now = 1000000;
    hx_turn_io io = {f,
                     fx_client_slot,
                     fx_client_commit,
                     fx_peer_slot,
                     fx_peer_commit,
                     fx_relay_open,
                     fx_relay_close};
    uint8_t key[HX_TURN_NONCE_KEY_LEN];
    for (size_t i = 0; i < sizeof key; i++)
        key[i] = (uint8_t)(i * 7 + 1);
    char err[256];
    assert_int_equal(hx_turn_core_new(cfg, key, &io, &f->core, err, sizeof err), 0);
    hx_turn_core_set_wall_offset(f->core, FX_UNIX_S * 1000 - f->now);
    return f;
}

static inline fx *fx_new(void)
{
    hx_turn_config cfg;
    fx_config(&cfg);
    return fx_new_with(&cfg);
}

static inline void fx_free(fx *f)
{
    assert_int_equal(hx_turn_core_check(f->core), 0);
    hx_turn_core_free(f->core);
    assert_int_equal(fx_open_relays(f), 0); /* freeing closes every relay */
    free(f);
}

/* Move the clock, run the deadlines, and keep the table's invariants checked. */
static inline void fx_advance(fx *f, int64_t ms)
{
    f->now += ms;
    hx_turn_core_tick(f->core, f->now);
    assert_int_equal(hx_turn_core_check(f->core), 0);
}

static inline void fx_clear(fx *f)
{
    f->n_out = 0;
}

/* --- addresses --------------------------------------------------------- */

static inline hx_turn_client fx_client(hx_turn_proto proto, uint64_t conn, const char *ip, int port)
{
    hx_turn_client c;
    memset(&c, 0, sizeof c);
    c.proto = proto;
    c.conn = conn;
    assert_int_equal(hx_addr_from_ip(ip, port, &c.addr, NULL), 0);
    return c;
}

static inline struct sockaddr_storage fx_addr(const char *ip, int port)
{
    return fx_client(HX_TURN_UDP, 0, ip, port).addr;
}

static inline int fx_port(const struct sockaddr_storage *ss)
{
    return ntohs(ss->ss_family == AF_INET ? ((const struct sockaddr_in *)ss)->sin_port
                                          : ((const struct sockaddr_in6 *)ss)->sin6_port);
}

static inline bool fx_same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family || fx_port(a) != fx_port(b)) return false;
    if (a->ss_family == AF_INET)
        return !memcmp(&((const struct sockaddr_in *)a)->sin_addr,
                       &((const struct sockaddr_in *)b)->sin_addr, 4);
    return !memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
                   &((const struct sockaddr_in6 *)b)->sin6_addr, 16);
}

/* --- a client ---------------------------------------------------------- */

/** A TURN client's state: its 5-tuple, credential and the nonce it holds. */
typedef struct fx_peer {
    hx_turn_client c;
    char username[HX_TURN_CRED_MAX_USERNAME];
    char password[HX_TURN_CRED_PASSWORD_LEN];
    char nonce[128];
    hx_stun_key key;
} fx_peer;

static inline void fx_cred(fx_peer *p, const char *secret, const char *user, int64_t expiry_s)
{
    assert_int_equal(
        hx_turn_cred_mint(secret, user, expiry_s, p->username, sizeof p->username, p->password), 0);
    assert_int_equal(hx_stun_key_init_long_term(&p->key, p->username, FX_REALM, p->password), 0);
}

static inline fx_peer fx_peer_new(const hx_turn_client *c, const char *user)
{
    fx_peer p;
    memset(&p, 0, sizeof p);
    p.c = *c;
    fx_cred(&p, FX_SECRET, user, FX_UNIX_S + 3600);
    return p;
}

/** Attributes of a request under construction (a writer the test fills in). */
typedef struct fx_req {
    hx_stun_writer w;
    uint8_t buf[2048];
} fx_req;

static inline void fx_begin(fx *f, fx_req *r, uint16_t type)
{
    uint8_t tid[HX_STUN_TID_LEN] = {0x74, 0x65, 0x73, 0x74};
    f->tid_seq++;
    hx_wr32(tid + 8, f->tid_seq);
    hx_stun_writer_init(&r->w, r->buf, sizeof r->buf, type, tid);
}

/* Sign (USERNAME, REALM, NONCE, MESSAGE-INTEGRITY) when p has a nonce, add FINGERPRINT, send. */
static inline void fx_send(fx *f, fx_peer *p, fx_req *r, bool sign)
{
    if (sign && p->nonce[0]) {
        hx_stun_put(&r->w, HX_STUN_ATTR_USERNAME, p->username, strlen(p->username));
        hx_stun_put(&r->w, HX_STUN_ATTR_REALM, FX_REALM, strlen(FX_REALM));
        hx_stun_put(&r->w, HX_STUN_ATTR_NONCE, p->nonce, strlen(p->nonce));
        hx_stun_put_integrity(&r->w, &p->key);
    }
    hx_stun_put_fingerprint(&r->w);
    long n = hx_stun_writer_finish(&r->w);
    assert_true(n > 0);
    hx_turn_core_client(f->core, &p->c, r->buf, (size_t)n, f->now);
    assert_int_equal(hx_turn_core_check(f->core), 0);
}

/** The last message to this client, parsed; fails the test when there is none. */
static const fx_msg *fx_last_to(const fx *f, const hx_turn_client *c, hx_stun_msg *m)
{
    for (size_t i = f->n_out; i-- > 0;) {
        const fx_msg *o = &f->out[i];
        if (o->to_peer || o->client.proto != c->proto || o->client.conn != c->conn ||
            !fx_same_addr(&o->client.addr, &c->addr))
            continue;
        if (m) assert_int_equal(hx_stun_parse(m, o->buf, o->len), HX_STUN_OK);
        return o;
    }
    fail_msg("no message to the client");
    return NULL;
}

/** The error code of an answer, 0 for a success. */
static inline int fx_code(const hx_stun_msg *m)
{
    if (hx_stun_class(m->type) == HX_STUN_CLASS_SUCCESS) return 0;
    int code;
    const char *reason;
    size_t rl;
    assert_int_equal(hx_stun_class(m->type), HX_STUN_CLASS_ERROR);
    assert_int_equal(hx_stun_get_error(m, &code, &reason, &rl), HX_STUN_OK);
    return code;
}

/* Every answer carries SOFTWARE and a valid FINGERPRINT; signed ones verify under p's key. */
static inline void fx_check_answer(const hx_stun_msg *m, const fx_peer *p, bool signed_answer)
{
    assert_int_equal(hx_stun_check_fingerprint(m), HX_STUN_OK);
    const uint8_t *v;
    size_t n;
    assert_int_equal(hx_stun_get_bytes(m, HX_STUN_ATTR_SOFTWARE, &v, &n), HX_STUN_OK);
    assert_memory_equal(v, "hearth", 6);
    if (signed_answer)
        assert_int_equal(hx_stun_check_integrity(m, &p->key), HX_STUN_OK);
    else
        assert_int_equal(m->mi_off, 0);
}

/** Send a request (signed when p holds a nonce); return the answer's code. */
static inline int fx_request(fx *f, fx_peer *p, fx_req *r, hx_stun_msg *answer)
{
    fx_clear(f);
    fx_send(f, p, r, true);
    fx_last_to(f, &p->c, answer);
    int code = fx_code(answer);
    bool challenge = code == 401 || code == 438;
    fx_check_answer(answer, p, p->nonce[0] && !challenge);
    if (challenge) { /* take the nonce it offers */
        const uint8_t *v;
        size_t n;
        assert_int_equal(hx_stun_get_bytes(answer, HX_STUN_ATTR_NONCE, &v, &n), HX_STUN_OK);
        assert_true(n < sizeof p->nonce);
        memcpy(p->nonce, v, n);
        p->nonce[n] = '\0';
        assert_int_equal(hx_stun_get_bytes(answer, HX_STUN_ATTR_REALM, &v, &n), HX_STUN_OK);
        assert_int_equal(n, strlen(FX_REALM));
    }
    return code;
}

static inline void fx_put_transport(fx_req *r, uint8_t proto)
{
    hx_stun_put_u32(&r->w, HX_STUN_ATTR_REQUESTED_TRANSPORT, (uint32_t)proto << 24);
}

/** Allocate with the 401 dance; returns the final code, *answer the final answer. */
static inline int fx_allocate(fx *f, fx_peer *p, hx_stun_msg *answer, uint32_t lifetime)
{
    fx_req r;
    int code = 401;
    for (int tries = 0; tries < 3 && (code == 401 || code == 438); tries++) {
        fx_begin(f, &r, HX_STUN_ALLOCATE);
        fx_put_transport(&r, 17);
        if (lifetime) hx_stun_put_u32(&r.w, HX_STUN_ATTR_LIFETIME, lifetime);
        bool had_nonce = p->nonce[0] != 0;
        code = fx_request(f, p, &r, answer);
        if (had_nonce && code == 401) break; /* credentials refused: not a challenge */
    }
    return code;
}

static inline uint32_t fx_u32(const hx_stun_msg *m, uint16_t type)
{
    uint32_t v = 0;
    assert_int_equal(hx_stun_get_u32(m, type, &v), HX_STUN_OK);
    return v;
}

/** A permission toward ip (port ignored by TURN). */
/* (A stale nonce, after the clock moved past it, is retried once with the new one.) */
static inline int fx_permission(fx *f, fx_peer *p, const char *ip, hx_stun_msg *answer)
{
    int code = 438;
    for (int i = 0; i < 2 && code == 438; i++) {
        fx_req r;
        fx_begin(f, &r, HX_STUN_CREATE_PERMISSION);
        struct sockaddr_storage a = fx_addr(ip, 9);
        hx_stun_put_xor_addr(&r.w, HX_STUN_ATTR_XOR_PEER_ADDRESS, (struct sockaddr *)&a);
        code = fx_request(f, p, &r, answer);
    }
    return code;
}

static inline int fx_channel(fx *f, fx_peer *p, uint16_t number, const char *ip, int port,
                             hx_stun_msg *answer)
{
    int code = 438;
    for (int i = 0; i < 2 && code == 438; i++) {
        fx_req r;
        fx_begin(f, &r, HX_STUN_CHANNEL_BIND);
        hx_stun_put_u32(&r.w, HX_STUN_ATTR_CHANNEL_NUMBER, (uint32_t)number << 16);
        struct sockaddr_storage a = fx_addr(ip, port);
        hx_stun_put_xor_addr(&r.w, HX_STUN_ATTR_XOR_PEER_ADDRESS, (struct sockaddr *)&a);
        code = fx_request(f, p, &r, answer);
    }
    return code;
}

/** A Send indication (never answered). */
static inline void fx_send_indication(fx *f, fx_peer *p, const char *ip, int port, const void *data,
                                      size_t len)
{
    fx_req r;
    fx_begin(f, &r, HX_STUN_SEND | HX_STUN_CLASS_INDICATION);
    struct sockaddr_storage a = fx_addr(ip, port);
    hx_stun_put_xor_addr(&r.w, HX_STUN_ATTR_XOR_PEER_ADDRESS, (struct sockaddr *)&a);
    hx_stun_put(&r.w, HX_STUN_ATTR_DATA, data, len);
    fx_send(f, p, &r, false);
}

static inline void fx_channel_data(fx *f, fx_peer *p, uint16_t number, const void *data, size_t len)
{
    uint8_t buf[2048];
    hx_wr16(buf, number);
    hx_wr16(buf + 2, (uint16_t)len);
    memcpy(buf + 4, data, len);
    size_t total = 4 + len;
    if (p->c.proto != HX_TURN_UDP)
        while (total & 3)
            buf[total++] = 0;
    hx_turn_core_client(f->core, &p->c, buf, total, f->now);
}

/** How many datagrams went to peers since the last clear; *last the last one. */
static inline size_t fx_to_peers(const fx *f, const fx_msg **last)
{
    size_t n = 0;
    for (size_t i = 0; i < f->n_out; i++)
        if (f->out[i].to_peer) {
            n++;
            if (last) *last = &f->out[i];
        }
    return n;
}

/** The relay the core opened for allocation number i (in opening order). */
static inline const fx_relay *fx_relay_at(const fx *f, size_t i)
{
    assert_true(i < f->n_relays);
    return &f->relays[i];
}

#endif
