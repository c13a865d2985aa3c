/*
 * The worker demux: routing checks by ufrag, learning addresses from valid
 * checks only, routing media by address, forgetting stale addresses
 * (consent lost) and removed agents, the table bounds, and a randomized
 * run against a naive model that exercises probing and backward-shift
 * deletion in both tables.
 */
#include "ice/demux.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define PWD "demuxpassworddemuxpass"
#define T0 5000

static struct sockaddr_storage addr(unsigned host, unsigned port)
{
    struct sockaddr_storage ss = {0};
    struct sockaddr_in *s = (void *)&ss;
    s->sin_family = AF_INET;
    s->sin_port = htons((uint16_t)port);
    s->sin_addr.s_addr = htonl(0x0a000000u + host);
    return ss;
}

static size_t build(uint8_t *buf, const char *ufrag, const char *pwd, uint32_t salt)
{
    uint8_t tid[12] = {0};
    char user[64];
    hx_stun_writer w;
    hx_stun_key k;
    memcpy(tid, &salt, sizeof salt);
    snprintf(user, sizeof user, "%s:peer", ufrag);
    assert_int_equal(hx_stun_key_init(&k, (const uint8_t *)pwd, strlen(pwd)), 0);
    hx_stun_writer_init(&w, buf, 256, HX_STUN_BINDING_REQUEST, tid);
    hx_stun_put(&w, HX_STUN_ATTR_USERNAME, user, strlen(user));
    hx_stun_put_u32(&w, HX_STUN_ATTR_PRIORITY, 1);
    hx_stun_put(&w, HX_STUN_ATTR_USE_CANDIDATE, NULL, 0);
    hx_stun_put_integrity(&w, &k);
    hx_stun_put_fingerprint(&w);
    long n = hx_stun_writer_finish(&w);
    assert_true(n > 0);
    return (size_t)n;
}

static int input(hx_ice_demux *d, const uint8_t *pkt, size_t len,
                 const struct sockaddr_storage *from, int64_t now, hx_ice_agent **who)
{
    uint8_t out[256];
    size_t out_len;
    int rc = hx_ice_demux_input(d, pkt, len, from, now, out, sizeof out, &out_len, who);
    if (rc == HX_ICE_RX_VALID || rc == HX_ICE_RX_ERROR)
        assert_true(out_len > 0);
    else
        assert_int_equal(out_len, 0);
    return rc;
}

static int check(hx_ice_demux *d, const char *ufrag, const char *pwd,
                 const struct sockaddr_storage *from, int64_t now, hx_ice_agent **who)
{
    uint8_t pkt[256];
    size_t n = build(pkt, ufrag, pwd, (uint32_t)now);
    return input(d, pkt, n, from, now, who);
}

static const uint8_t rtp[12] = {0x80, 0x60, 0x00, 0x01};

static void test_routing(void **state)
{
    hx_ice_demux d;
    hx_ice_agent a, b, c, *who;
    struct sockaddr_storage p1 = addr(1, 1000), p2 = addr(2, 1000), p3 = addr(1, 1001);
    assert_int_equal(hx_ice_demux_init(&d, 2), 0);
    assert_int_equal(hx_ice_agent_init_with(&a, NULL, "aaaa", PWD, T0), 0);
    assert_int_equal(hx_ice_agent_init_with(&b, NULL, "bbbb", PWD, T0), 0);
    assert_int_equal(hx_ice_agent_init_with(&c, NULL, "aaaa", PWD, T0), 0);
    assert_int_equal(hx_ice_demux_add(&d, &a), 0);
    assert_int_equal(hx_ice_demux_add(&d, &c), HX_ICE_EEXIST);
    assert_int_equal(hx_ice_demux_add(&d, &b), 0);
    assert_int_equal(hx_ice_demux_add(&d, &c), HX_ICE_EFULL);
    assert_ptr_equal(hx_ice_demux_by_ufrag(&d, (const uint8_t *)"bbbb", 4), &b);
    assert_null(hx_ice_demux_by_ufrag(&d, (const uint8_t *)"bbb", 3));

    /* Media before any check: nowhere to go. */
    assert_int_equal(input(&d, rtp, sizeof rtp, &p1, T0, &who), HX_ICE_ENOAGENT);
    assert_null(who);
    /* A bad password is answered (401) but teaches nothing. */
    assert_int_equal(check(&d, "aaaa", "wrongpasswordwrongpass", &p1, T0, &who), HX_ICE_RX_ERROR);
    assert_ptr_equal(who, &a);
    assert_int_equal(input(&d, rtp, sizeof rtp, &p1, T0, &who), HX_ICE_ENOAGENT);
    /* Unknown ufrag: no agent. */
    assert_int_equal(check(&d, "zzzz", PWD, &p1, T0, &who), HX_ICE_ENOAGENT);
    /* Valid checks teach addresses; media follows them. */
    assert_int_equal(check(&d, "aaaa", PWD, &p1, T0, &who), HX_ICE_RX_VALID);
    assert_ptr_equal(who, &a);
    assert_int_equal(check(&d, "bbbb", PWD, &p2, T0 + 10000, &who), HX_ICE_RX_VALID);
    assert_int_equal(input(&d, rtp, sizeof rtp, &p1, T0, &who), HX_ICE_RX_MEDIA);
    assert_ptr_equal(who, &a);
    assert_int_equal(input(&d, rtp, sizeof rtp, &p2, T0, &who), HX_ICE_RX_MEDIA);
    assert_ptr_equal(who, &b);
    assert_int_equal(input(&d, rtp, sizeof rtp, &p3, T0, &who), HX_ICE_ENOAGENT);
    assert_int_equal(d.n_addrs, 2);

    /* Consent lost on a: its address entry goes stale and is dropped on lookup. */
    assert_true(hx_ice_agent_tick(&a, T0 + 30000) & HX_ICE_EV_STATE);
    assert_int_equal(input(&d, rtp, sizeof rtp, &p1, T0, &who), HX_ICE_ENOAGENT);
    assert_int_equal(d.n_addrs, 1);
    /* Removing b forgets its ufrag and addresses. */
    hx_ice_demux_remove(&d, &b);
    assert_int_equal(d.n_addrs, 0);
    assert_int_equal(d.n_agents, 1);
    assert_int_equal(input(&d, rtp, sizeof rtp, &p2, T0, &who), HX_ICE_ENOAGENT);
    assert_int_equal(check(&d, "bbbb", PWD, &p2, T0, &who), HX_ICE_ENOAGENT);
    assert_int_equal(hx_ice_demux_add(&d, &b), 0);
    assert_int_equal(check(&d, "bbbb", PWD, &p2, T0, &who), HX_ICE_RX_VALID);
    assert_int_equal(d.n_media, 2);
    assert_true(d.n_unrouted > 0);
    hx_ice_demux_free(&d);
}

#define N_AGENTS 48

/* Each agent's demux_refs counts the address entries that name it (removal relies on it). */
static void assert_refs(const hx_ice_demux *d, const hx_ice_agent *agents, int n)
{
    for (int a = 0; a < n; a++) {
        unsigned named = 0;
        for (size_t i = 0; i <= d->addr_mask; i++)
            named += d->addrs[i].agent == &agents[a];
        assert_int_equal(agents[a].demux_refs, named);
    }
}

/* Random adds, removals, checks and media against a model of who owns what. */
static void test_randomized(void **state)
{
    static hx_ice_agent agents[N_AGENTS];
    bool added[N_AGENTS] = {false};
    int owner[N_AGENTS * 4]; /* address index -> agent index, -1 none */
    hx_ice_demux d;
    hx_ice_config cfg = {0}; /* no timeouts: pairs live until evicted */
    unsigned seed = 12345;
    assert_int_equal(hx_ice_demux_init(&d, N_AGENTS), 0);
    for (int i = 0; i < N_AGENTS; i++) {
        char ufrag[16];
        snprintf(ufrag, sizeof ufrag, "u%03d", i);
        assert_int_equal(hx_ice_agent_init_with(&agents[i], &cfg, ufrag, PWD, 0), 0);
    }
    for (size_t i = 0; i < sizeof owner / sizeof owner[0]; i++)
        owner[i] = -1;
    for (int step = 0; step < 4000; step++) {
        seed = seed * 1103515245u + 12345u;
        int ag = (int)((seed >> 8) % N_AGENTS), ad = (int)((seed >> 16) % (N_AGENTS * 4));
        int op = (int)((seed >> 28) & 3);
        struct sockaddr_storage from = addr((unsigned)ad, 4000);
        hx_ice_agent *who;
        char ufrag[16];
        snprintf(ufrag, sizeof ufrag, "u%03d", ag);
        if (op == 0) {
            if (added[ag]) {
                hx_ice_demux_remove(&d, &agents[ag]);
                for (size_t i = 0; i < sizeof owner / sizeof owner[0]; i++)
                    if (owner[i] == ag) owner[i] = -1;
                /* A new transport: fresh agent state, same ufrag. */
                assert_int_equal(hx_ice_agent_init_with(&agents[ag], &cfg, ufrag, PWD, 0), 0);
            } else {
                assert_int_equal(hx_ice_demux_add(&d, &agents[ag]), 0);
            }
            added[ag] = !added[ag];
        } else if (op == 1) {
            int rc = check(&d, ufrag, PWD, &from, step, &who);
            assert_int_equal(rc, added[ag] ? HX_ICE_RX_VALID : HX_ICE_ENOAGENT);
            if (added[ag]) owner[ad] = ag;
        } else {
            int rc = input(&d, rtp, sizeof rtp, &from, step, &who);
            int want = owner[ad];
            /* The owner may have evicted the pair (more than 16 addresses). */
            if (want >= 0 && !hx_ice_agent_find_pair(&agents[want], &from)) want = owner[ad] = -1;
            if (want < 0) {
                assert_int_equal(rc, HX_ICE_ENOAGENT);
            } else {
                assert_int_equal(rc, HX_ICE_RX_MEDIA);
                assert_ptr_equal(who, &agents[want]);
            }
        }
        assert_true(d.n_addrs <= (d.addr_mask + 1) / 2);
        if (step % 16 == 0 || op == 0) assert_refs(&d, agents, N_AGENTS);
    }
    hx_ice_demux_free(&d);
}

static void test_bad_args(void **state)
{
    hx_ice_demux d;
    hx_ice_agent a;
    struct sockaddr_storage unix_addr = {.ss_family = AF_UNIX};
    assert_int_equal(hx_ice_demux_init(&d, 0), HX_ICE_EINVAL);
    assert_int_equal(hx_ice_demux_init(&d, 1), 0);
    assert_int_equal(hx_ice_agent_init_with(&a, NULL, "aaaa", PWD, T0), 0);
    assert_int_equal(hx_ice_demux_learn(&d, &unix_addr, &a), HX_ICE_EINVAL);
    assert_null(hx_ice_demux_by_addr(&d, &unix_addr));
    hx_ice_demux_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_routing),
        cmocka_unit_test(test_randomized),
        cmocka_unit_test(test_bad_args),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
