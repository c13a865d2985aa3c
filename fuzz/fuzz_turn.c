/*
 * libFuzzer target for the TURN core (turn/core.h), stateful: one input is
 * a sequence of records [op][len hi][len lo][len bytes], all fed into one
 * core whose fake clock only moves forward. op's low 2 bits pick one of
 * four clients (UDP IPv4 twice, TCP, TLS over IPv6), the next 2 bits the
 * action:
 *   0  the bytes as they are, from that client;
 *   1  the bytes as a request the harness signs: parsed (or wrapped as the
 *      attribute region of a request of method bytes[0]), every
 *      USERNAME/REALM/NONCE/MESSAGE-INTEGRITY/FINGERPRINT dropped, and a
 *      valid set added with the nonce the client was last given and the
 *      credential op bits 4-5 choose (alice, bob, alice under the second
 *      secret, or an expired one), so mutations reach the methods;
 *   2  the bytes as a datagram from a peer (bytes[0] picks it among
 *      public, allowed, the SFU's own and a forbidden address) to a relay
 *      the core opened (bytes[1] picks which, even closed ones);
 *   3  time: bytes[0..2] milliseconds pass (up to ~18 min) and the core
 *      ticks; with bit 4 the client's stream connection closes instead.
 * After every record the harness aborts unless hx_turn_core_check holds,
 * the allocations stay within the caps, every relay the core closed was
 * open, and every message to a client is STUN with a valid FINGERPRINT
 * (answers) or a Data indication, or ChannelData whose length fits.
 *
 * Seeds (fuzz/corpus/turn): an unsigned and a signed Allocate, then
 * CreatePermission, ChannelBind, Send, ChannelData, peer datagrams and
 * time passing.
 */
#include "auth/turn_cred.h"
#include "common/bytes.h"
#include "net/addr.h"
#include "stun/stun.h"
#include "turn/core.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SECRET1 "fuzz-secret-number-one-0"
#define SECRET2 "fuzz-secret-number-two-0"
#define UNIX_S 1800000000LL
#define MAX_RELAYS 512
#define N_CLIENTS 4

typedef struct harness {
    hx_turn_core *core;
    int64_t now;
    uint8_t slot[8192];
    bool relay_open[MAX_RELAYS];
    uint64_t relay_id[MAX_RELAYS];
    size_t n_relays, open;
    hx_turn_client clients[N_CLIENTS];
    char nonce[N_CLIENTS][64];
    size_t cap;
} harness;

static void check_to_client(harness *h, const hx_turn_client *c, const uint8_t *b, size_t n)
{
    if (n > (c->proto == HX_TURN_UDP ? 1500u : 4096u)) abort();
    if ((b[0] & 0xc0) == 0x40) { /* ChannelData: header, payload, padding on streams */
        size_t len = hx_rd16(b + 2);
        size_t want = 4 + (c->proto == HX_TURN_UDP ? len : (len + 3) & ~(size_t)3);
        if (n != want) abort();
        return;
    }
    hx_stun_msg m;
    if (hx_stun_parse(&m, b, n) != HX_STUN_OK) abort();
    uint16_t cls = hx_stun_class(m.type);
    if (cls == HX_STUN_CLASS_INDICATION) {
        if (hx_stun_method(m.type) != HX_STUN_DATA) abort();
        return;
    }
    if (cls != HX_STUN_CLASS_SUCCESS && cls != HX_STUN_CLASS_ERROR) abort();
    if (hx_stun_check_fingerprint(&m) != HX_STUN_OK) abort();
    int code;
    const char *reason;
    size_t rl;
    if (cls == HX_STUN_CLASS_ERROR &&
        (hx_stun_get_error(&m, &code, &reason, &rl) != HX_STUN_OK || code < 400 || code > 599))
        abort();
    const uint8_t *v;
    size_t vl;
    for (int i = 0; i < N_CLIENTS; i++) /* keep the nonce for the client it went to */
        if (!memcmp(&h->clients[i], c, sizeof *c) &&
            hx_stun_get_bytes(&m, HX_STUN_ATTR_NONCE, &v, &vl) == 0 && vl < sizeof h->nonce[i]) {
            memcpy(h->nonce[i], v, vl);
            h->nonce[i][vl] = '\0';
        }
}

static uint8_t *client_slot(void *ctx, const hx_turn_client *c, size_t *cap)
{
    harness *h = ctx;
    *cap = h->cap = c->proto == HX_TURN_UDP ? 1500 : 4096;
    return h->slot;
}

static void client_commit(void *ctx, const hx_turn_client *c, size_t len)
{
    harness *h = ctx;
    if (len > h->cap) abort();
    if (len) check_to_client(h, c, h->slot, len);
}

static uint8_t *peer_slot(void *ctx, void *relay, size_t *cap)
{
    *cap = 1500;
    return ((harness *)ctx)->slot;
}

static void peer_commit(void *ctx, void *relay, const struct sockaddr_storage *peer, size_t len)
{
    harness *h = ctx;
    size_t i = (size_t)(uintptr_t)relay - 1;
    if (i >= h->n_relays || !h->relay_open[i] || len > 1500) abort();
    if (len && peer->ss_family != AF_INET && peer->ss_family != AF_INET6) abort();
}

static int relay_open(void *ctx, uint64_t id, int family, bool even, void **relay,
                      struct sockaddr_storage *relayed)
{
    harness *h = ctx;
    if (h->n_relays == MAX_RELAYS) return -12; /* ENOMEM: the core answers 508 */
    memset(relayed, 0, sizeof *relayed);
    if (family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)relayed;
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)(40000 + h->n_relays));
    } else {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)relayed;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)(40000 + h->n_relays));
    }
    h->relay_open[h->n_relays] = true;
    h->relay_id[h->n_relays] = id;
    *relay = (void *)(uintptr_t)(++h->n_relays);
    h->open++;
    return 0;
}

static void relay_close(void *ctx, void *relay)
{
    harness *h = ctx;
    size_t i = (size_t)(uintptr_t)relay - 1;
    if (i >= h->n_relays || !h->relay_open[i]) abort(); /* closed twice, or never opened */
    h->relay_open[i] = false;
    h->open--;
}

static struct sockaddr_storage addr(const char *ip, int port)
{
    struct sockaddr_storage ss;
    if (hx_addr_from_ip(ip, port, &ss, NULL)) abort(); /* the fuzzer's own constants */
    return ss;
}

/* Rebuild as a signed request (see the header comment); 0 bytes when it cannot be. */
static size_t sign(harness *h, int ci, int who, const uint8_t *b, size_t n, uint8_t *out,
                   size_t cap)
{
    uint8_t tmp[2048];
    hx_stun_msg m;
    if (hx_stun_parse(&m, b, n) != HX_STUN_OK) {
        if (n < 1) return 0;
        size_t body = (n - 1) & ~(size_t)3;
        if (20 + body > sizeof tmp) body = (sizeof tmp - 20) & ~(size_t)3;
        uint16_t methods[] = {HX_STUN_ALLOCATE, HX_STUN_REFRESH, HX_STUN_CREATE_PERMISSION,
                              HX_STUN_CHANNEL_BIND};
        hx_wr16(tmp, methods[b[0] & 3]);
        hx_wr16(tmp + 2, (uint16_t)body);
        hx_wr32(tmp + 4, HX_STUN_MAGIC);
        memset(tmp + 8, 0x5a, 12);
        memcpy(tmp + 20, b + 1, body);
        if (hx_stun_parse(&m, tmp, 20 + body) != HX_STUN_OK) return 0;
    }
    static const char *const users[] = {"alice", "bob", "alice", "carol"};
    char username[HX_TURN_CRED_MAX_USERNAME], password[HX_TURN_CRED_PASSWORD_LEN];
    int64_t expiry = who == 3 ? UNIX_S - 5 : UNIX_S + 3600;
    if (hx_turn_cred_mint(who == 2 ? SECRET2 : SECRET1, users[who], expiry, username,
                          sizeof username, password))
        return 0;
    hx_stun_key key;
    hx_stun_key_init_long_term(&key, username, "hearth", password);
    hx_stun_writer w;
    hx_stun_writer_init(&w, out, cap, (uint16_t)(m.type & ~HX_STUN_CLASS_MASK), m.tid);
    for (unsigned i = 0; i < m.n_attrs; i++) {
        uint16_t t = m.attrs[i].type;
        if (t == HX_STUN_ATTR_USERNAME || t == HX_STUN_ATTR_REALM || t == HX_STUN_ATTR_NONCE)
            continue;
        hx_stun_put(&w, t, m.buf + m.attrs[i].off, m.attrs[i].len);
    }
    hx_stun_put(&w, HX_STUN_ATTR_USERNAME, username, strlen(username));
    hx_stun_put(&w, HX_STUN_ATTR_REALM, "hearth", 6);
    hx_stun_put(&w, HX_STUN_ATTR_NONCE, h->nonce[ci], strlen(h->nonce[ci]));
    hx_stun_put_integrity(&w, &key);
    hx_stun_put_fingerprint(&w);
    long len = hx_stun_writer_finish(&w);
    return len > 0 ? (size_t)len : 0;
}

static void invariants(harness *h)
{
    if (hx_turn_core_check(h->core) != 0) abort();
    size_t n = hx_turn_core_allocations(h->core);
    if (n > 6) abort(); /* max_total_allocations */
    if (hx_turn_core_user_allocations(h->core, "alice") > 3 ||
        hx_turn_core_user_allocations(h->core, "bob") > 3)
        abort();                                 /* max_allocations */
    if (h->open < n || h->open > 2 * n) abort(); /* one or two relays per allocation */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static harness h; /* reset below: a fresh core for each input */
    memset(&h, 0, sizeof h);
    hx_turn_config cfg;
    hx_turn_config_default(&cfg);
    snprintf(cfg.secrets[0], sizeof cfg.secrets[0], SECRET1);
    snprintf(cfg.secrets[1], sizeof cfg.secrets[1], SECRET2);
    cfg.n_secrets = 2;
    snprintf(cfg.allow[0], sizeof cfg.allow[0], "192.168.7.0/24");
    snprintf(cfg.allow[1], sizeof cfg.allow[1], "fd00::/8");
    cfg.n_allow = 2;
    cfg.own[0] = addr("10.0.0.5", 40000);
    cfg.own[1] = addr("10.0.0.5", 40001);
    cfg.n_own = 2;
    cfg.max_allocations = 3;
    cfg.max_total_allocations = 6;
    cfg.max_bps = 64000;
    cfg.max_lifetime_s = 900;
    hx_turn_io io = {&h,          client_slot, client_commit, peer_slot,
                     peer_commit, relay_open,  relay_close};
    uint8_t key[HX_TURN_NONCE_KEY_LEN] = {7};
    char err[128];
    if (hx_turn_core_new(&cfg, key, &io, &h.core, err, sizeof err)) abort();
    h.now = 5000;
    hx_turn_core_set_wall_offset(h.core, UNIX_S * 1000 - h.now);
    const char *ips[N_CLIENTS] = {"198.51.100.7", "198.51.100.7", "198.51.100.8", "2001:db8::9"};
    const hx_turn_proto protos[N_CLIENTS] = {HX_TURN_UDP, HX_TURN_UDP, HX_TURN_TCP, HX_TURN_TLS};
    for (int i = 0; i < N_CLIENTS; i++) {
        h.clients[i].proto = protos[i];
        h.clients[i].conn = protos[i] == HX_TURN_UDP ? 0 : (uint64_t)i + 1;
        h.clients[i].addr = addr(ips[i], 5000 + i);
    }
    static const char *const peers[] = {"203.0.113.10",    "192.168.7.7",   "10.0.0.5",
                                        "127.0.0.1",       "2001:db8:1::1", "fd00::7",
                                        "::ffff:10.0.0.5", "8.8.8.8"};

    size_t off = 0;
    while (size - off >= 3) {
        uint8_t op = data[off];
        size_t len = hx_rd16(data + off + 1);
        off += 3;
        if (len > size - off) len = size - off;
        const uint8_t *b = data + off;
        off += len;
        int ci = op & 3, action = (op >> 2) & 3, who = (op >> 4) & 3;
        hx_turn_client *c = &h.clients[ci];
        if (action == 0) {
            hx_turn_core_client(h.core, c, b, len, h.now);
        } else if (action == 1) {
            uint8_t signed_msg[2048];
            size_t n = sign(&h, ci, who, b, len, signed_msg, sizeof signed_msg);
            if (n) hx_turn_core_client(h.core, c, signed_msg, n, h.now);
        } else if (action == 2) {
            if (len < 2 || !h.n_relays) continue;
            struct sockaddr_storage from = addr(peers[b[0] & 7], b[0] & 8 ? 40000 : 7000 + b[0]);
            size_t r = b[1] % h.n_relays;
            hx_turn_core_peer(h.core, h.relay_id[r], &from, b + 2, len - 2, h.now);
        } else if (op & 0x10) {
            hx_turn_core_conn_closed(h.core, c);
        } else {
            uint32_t ms = len >= 3 ? hx_rd24(b) & 0xfffff : len ? b[0] * 1000u : 1000u;
            h.now += ms;
            hx_turn_core_tick(h.core, h.now);
        }
        invariants(&h);
    }
    /* Lifetimes end: after max_lifetime_s everything is gone. */
    h.now += 901 * 1000;
    hx_turn_core_tick(h.core, h.now);
    if (hx_turn_core_allocations(h.core) != 0) abort();
    invariants(&h);
    hx_turn_core_free(h.core);
    if (h.open != 0) abort();
    return 0;
}
