/*
 * libFuzzer target for stun/ and the ICE-lite agent's handler.
 *
 * Each input is used three ways:
 *   1. as a whole datagram: hx_stun_is, hx_stun_parse, every typed getter
 *      on every attribute, the MESSAGE-INTEGRITY check under a fixed key
 *      and the FINGERPRINT check; a parsed message is then rebuilt with the
 *      writer from its attribute table and must parse back to the same
 *      table (so parser and writer agree on layout and padding);
 *   2. as a datagram to an agent (from an IPv4 and an IPv6 address);
 *   3. as the attribute region of a Binding request that the harness
 *      signs with the agent's password and USERNAME, so mutations reach
 *      the checks behind MESSAGE-INTEGRITY (420, 487, nomination, ...).
 * Every answer the agent writes must itself parse, carry a valid
 * FINGERPRINT and, when signed, a valid MESSAGE-INTEGRITY; the harness
 * aborts otherwise, and when a result code is outside the documented set.
 *
 * Seeds (fuzz/corpus/stun): the four RFC 5769 vectors and a signed check
 * for the agent below.
 */
#include "ice/ice.h"
#include "stun/stun.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#define UFRAG "fuzz"
#define PWD "fuzzpasswordfuzzpasswd"

static void getters(const hx_stun_msg *m)
{
    for (unsigned i = 0; i < m->n_attrs; i++) {
        uint16_t t = m->attrs[i].type;
        uint32_t u32;
        uint64_t u64;
        struct sockaddr_storage ss;
        int code;
        const char *reason;
        size_t n;
        const uint8_t *v;
        if (hx_stun_get_bytes(m, t, &v, &n) || v + n > m->buf + m->len) abort();
        (void)hx_stun_get_u32(m, t, &u32);
        (void)hx_stun_get_u64(m, t, &u64);
        if (!hx_stun_get_xor_addr(m, t, &ss) && ss.ss_family != AF_INET && ss.ss_family != AF_INET6)
            abort();
        if (!hx_stun_get_error(m, &code, &reason, &n) && (code < 300 || code > 699)) abort();
    }
}

static void rebuild(const hx_stun_msg *m)
{
    static uint8_t out[65536];
    hx_stun_writer w;
    hx_stun_msg back;
    hx_stun_writer_init(&w, out, sizeof out, m->type, m->tid);
    for (unsigned i = 0; i < m->n_attrs; i++)
        hx_stun_put(&w, m->attrs[i].type, m->buf + m->attrs[i].off, m->attrs[i].len);
    long n = hx_stun_writer_finish(&w);
    if (n < 0 || hx_stun_parse(&back, out, (size_t)n)) abort();
    if (back.n_attrs != m->n_attrs || back.n_unknown != m->n_unknown) abort();
    for (unsigned i = 0; i < m->n_attrs; i++)
        if (back.attrs[i].type != m->attrs[i].type || back.attrs[i].len != m->attrs[i].len ||
            memcmp(out + back.attrs[i].off, m->buf + m->attrs[i].off, m->attrs[i].len))
            abort();
}

static void check_answer(int rc, const uint8_t *out, size_t len, const hx_stun_key *k)
{
    hx_stun_msg m;
    if (rc < HX_ICE_EINVAL || rc > HX_ICE_RX_IGNORED) abort();
    if ((rc == HX_ICE_RX_VALID || rc == HX_ICE_RX_ERROR) != (len > 0)) abort();
    if (!len) return;
    if (hx_stun_parse(&m, out, len) || hx_stun_check_fingerprint(&m)) abort();
    if (m.mi_off && hx_stun_check_integrity(&m, k)) abort();
    if (rc == HX_ICE_RX_VALID && (m.type != HX_STUN_BINDING_SUCCESS || !m.mi_off)) abort();
    if (rc == HX_ICE_RX_ERROR && m.type != HX_STUN_BINDING_ERROR) abort();
}

static void to_agent(hx_ice_agent *a, const uint8_t *pkt, size_t len, int64_t now)
{
    static uint8_t out[1024];
    struct sockaddr_storage v4 = {0}, v6 = {0};
    struct sockaddr_in *s4 = (void *)&v4;
    struct sockaddr_in6 *s6 = (void *)&v6;
    s4->sin_family = AF_INET;
    s4->sin_port = htons(5000);
    s4->sin_addr.s_addr = htonl(0xc0000201);
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(6000);
    s6->sin6_addr.s6_addr[0] = 0x20;
    size_t out_len;
    int rc = hx_ice_agent_on_stun(a, pkt, len, &v4, now, out, sizeof out, &out_len);
    check_answer(rc, out, out_len, &a->local_key);
    rc = hx_ice_agent_on_stun(a, pkt, len, &v6, now + 1, out, sizeof out, &out_len);
    check_answer(rc, out, out_len, &a->local_key);
    hx_ice_agent_tick(a, now + 40000);
}

/* Path 3: data as attributes of a request signed like a real check. */
static void signed_check(hx_ice_agent *a, const uint8_t *data, size_t size)
{
    static uint8_t pkt[2048];
    static const uint8_t tid[12] = {7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7};
    hx_stun_writer w;
    size_t body = size & ~(size_t)3;
    if (body > 1500) body = 1500;
    hx_stun_writer_init(&w, pkt, sizeof pkt, HX_STUN_BINDING_REQUEST, tid);
    hx_stun_put(&w, HX_STUN_ATTR_USERNAME, UFRAG ":peer", 9);
    memcpy(pkt + w.len, data, body);
    w.len += body;
    pkt[2] = (uint8_t)((w.len - 20) >> 8);
    pkt[3] = (uint8_t)(w.len - 20);
    hx_stun_put_integrity(&w, &a->local_key);
    hx_stun_put_fingerprint(&w);
    long n = hx_stun_writer_finish(&w);
    if (n < 0) abort();
    to_agent(a, pkt, (size_t)n, 1000);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hx_stun_msg m;
    hx_stun_key k;
    hx_ice_agent a;
    if (hx_stun_key_init(&k, (const uint8_t *)"VOkJxbRl1RmTxUk/WvJxBt", 22)) abort();
    bool is = hx_stun_is(data, size);
    if (!hx_stun_parse(&m, data, size)) {
        if (!is && data[0] < 4) abort(); /* a parsed message passes the classifier */
        getters(&m);
        int mi = hx_stun_check_integrity(&m, &k), fp = hx_stun_check_fingerprint(&m);
        if (mi != 0 && mi != HX_STUN_EABSENT && mi != HX_STUN_EMISMATCH) abort();
        if (fp != 0 && fp != HX_STUN_EABSENT && fp != HX_STUN_EMISMATCH) abort();
        rebuild(&m);
    }
    if (hx_ice_agent_init_with(&a, NULL, UFRAG, PWD, 0)) abort();
    to_agent(&a, data, size, 0);
    if (hx_ice_agent_init_with(&a, NULL, UFRAG, PWD, 0)) abort();
    signed_check(&a, data, size);
    return 0;
}
