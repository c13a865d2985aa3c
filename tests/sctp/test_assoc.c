/*
 * Unit tests for sctp/: two real usrsctp associations in one process, back
 * to back through packet queues (tests/sctp/pair.h), no DTLS in between.
 *
 * They come up by simultaneous open; channels open each way with DCEP
 * (label, protocol, type and reliability arrive intact, ids follow the DTLS
 * role's parity); string, binary, empty and exactly-max-size messages cross
 * in both directions byte for byte; a message over the peer's limit is
 * refused at send, one over our own limit is dropped on receipt and counted
 * while the channel keeps working; the inbound token bucket drops past its
 * burst and refills with (virtual) time; a full outbound buffer reports
 * back-pressure and later WRITABLE; channels close by stream reset from
 * either side and their ids are reused; malformed or misplaced DCEP and
 * refused PPIDs are counted, not delivered; SHUTDOWN takes both sides down.
 * One stack for the whole program (usrsctp_finish in the group teardown).
 *
 * Timers on demand, on stacks of their own driven as a carrier would (sleep
 * to hx_sctp_stack_next_due, then hx_sctp_stack_advance): no associations
 * -> never; connecting or a packet in the last second -> 10 ms steps; quiet
 * -> 1 s steps; two stacks advancing to the same moments count the time
 * once (an unanswered INIT comes again after exactly 3 s); input and connect
 * after usrsctp's clock stood still start their timers from now.
 */
#include "sctp/sctp.h"
#include "sctp/sctp_internal.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "pair.h"

static hx_sctp_stack *stack;

static int group_setup(void **state)
{
    (void)state;
    return hx_sctp_stack_create(NULL, &stack);
}

static int group_teardown(void **state)
{
    (void)state;
    return hx_sctp_stack_destroy(stack);
}

static void connect_pair(pair *p, const hx_sctp_config *c0, const hx_sctp_config *c1)
{
    assert_int_equal(pair_init(p, stack, c0, c1), 0);
    assert_int_equal(hx_sctp_assoc_connect(p->s[0].a), 0);
    assert_int_equal(hx_sctp_assoc_connect(p->s[1].a), 0);
    assert_true(pair_wait(p, both_up, 5000));
    assert_int_equal(log_count(&p->s[0], HX_SCTP_EV_UP, -1), 1);
    assert_int_equal(log_count(&p->s[1], HX_SCTP_EV_UP, -1), 1);
}

static unsigned want_open[2];
static int opens_done(pair *p)
{
    return log_count(&p->s[0], HX_SCTP_EV_CHANNEL_OPEN, -1) >= want_open[0] &&
           log_count(&p->s[1], HX_SCTP_EV_CHANNEL_OPEN, -1) >= want_open[1];
}

/* Open a channel from side `from`; returns its sid once both sides report it open. */
static int open_channel(pair *p, int from, const char *label, const char *proto, uint8_t type,
                        uint32_t rel)
{
    hx_sctp_channel_info info = {
        .channel_type = type,
        .priority = 256,
        .reliability = rel,
        .label = (const uint8_t *)label,
        .label_len = (uint16_t)strlen(label),
        .protocol = (const uint8_t *)proto,
        .protocol_len = (uint16_t)strlen(proto),
    };
    int sid = hx_sctp_channel_open(p->s[from].a, &info);
    assert_true(sid >= 0);
    want_open[0] = log_count(&p->s[0], HX_SCTP_EV_CHANNEL_OPEN, -1) + 1;
    want_open[1] = log_count(&p->s[1], HX_SCTP_EV_CHANNEL_OPEN, -1) + 1;
    assert_true(pair_wait(p, opens_done, 2000));
    return sid;
}

static unsigned want_msgs[2];
static int msgs_done(pair *p)
{
    return log_count(&p->s[0], HX_SCTP_EV_MESSAGE, -1) >= want_msgs[0] &&
           log_count(&p->s[1], HX_SCTP_EV_MESSAGE, -1) >= want_msgs[1];
}

static void expect_msg(const side *sd, unsigned k, uint16_t sid, uint32_t ppid, const uint8_t *data,
                       size_t len)
{
    const logged *m = log_find(sd, HX_SCTP_EV_MESSAGE, k);
    assert_non_null(m);
    assert_int_equal(m->ev.sid, sid);
    assert_int_equal(m->ev.ppid, ppid);
    assert_int_equal(m->ev.binary, ppid == HX_PPID_BINARY || ppid == HX_PPID_BINARY_EMPTY);
    assert_int_equal(m->ev.len, len);
    if (len) assert_memory_equal(m->data, data, len);
}

static void test_up_and_open_both_ways(void **state)
{
    (void)state;
    pair p;
    connect_pair(&p, NULL, NULL);
    int a = open_channel(&p, 0, "chat", "json", HX_DCEP_RELIABLE, 0);
    assert_int_equal(a, 0); /* DTLS client: even ids */
    const logged *r = log_find(&p.s[1], HX_SCTP_EV_CHANNEL_OPEN, 0);
    assert_non_null(r);
    assert_true(r->ev.remote);
    assert_int_equal(r->ev.sid, 0);
    assert_memory_equal(r->data, "chat", 4);
    assert_memory_equal(r->proto, "json", 4);
    const logged *l = log_find(&p.s[0], HX_SCTP_EV_CHANNEL_OPEN, 0);
    assert_false(l->ev.remote);
    assert_int_equal(l->ev.sid, 0);

    int b = open_channel(&p, 1, "back", "", HX_DCEP_UNORDERED | HX_DCEP_PARTIAL_RELIABLE_REXMIT, 3);
    assert_int_equal(b, 1); /* DTLS server: odd ids */
    r = log_find(&p.s[0], HX_SCTP_EV_CHANNEL_OPEN, 1);
    assert_true(r->ev.remote);
    assert_int_equal(r->ev.sid, 1);
    assert_memory_equal(r->data, "back", 4);
    assert_null(r->proto);
    assert_int_equal(open_channel(&p, 0, "second", "", HX_DCEP_PARTIAL_RELIABLE_TIMED, 500), 2);
    assert_int_equal(open_channel(&p, 1, "", "", HX_DCEP_RELIABLE, 0), 3);
    /* Partially reliable and unordered channels carry messages too. */
    assert_int_equal(hx_sctp_channel_send(p.s[0].a, 2, false, (const uint8_t *)"timed", 5), 0);
    assert_int_equal(hx_sctp_channel_send(p.s[1].a, 1, true, (const uint8_t *)"rexmit", 6), 0);
    want_msgs[0] = want_msgs[1] = 1;
    assert_true(pair_wait(&p, msgs_done, 2000));
    expect_msg(&p.s[1], 0, 2, HX_PPID_STRING, (const uint8_t *)"timed", 5);
    expect_msg(&p.s[0], 0, 1, HX_PPID_BINARY, (const uint8_t *)"rexmit", 6);
    pair_free(&p);
}

static void test_messages_both_ways(void **state)
{
    (void)state;
    pair p;
    connect_pair(&p, NULL, NULL);
    int a = open_channel(&p, 0, "a", "", HX_DCEP_RELIABLE, 0);
    int b = open_channel(&p, 1, "b", "", HX_DCEP_UNORDERED, 0);
    size_t max = HX_SCTP_DEFAULT_MAX_MESSAGE;
    uint8_t *big = malloc(max), bin[256];
    for (size_t i = 0; i < max; i++)
        big[i] = (uint8_t)(i * 31 + (i >> 9));
    for (int i = 0; i < 256; i++)
        bin[i] = (uint8_t)i;
    for (int from = 0; from < 2; from++) {
        hx_sctp_assoc *x = p.s[from].a;
        uint16_t sid = (uint16_t)(from == 0 ? a : b);
        assert_int_equal(hx_sctp_channel_send(x, sid, false, (const uint8_t *)"hello", 5), 0);
        assert_int_equal(hx_sctp_channel_send(x, sid, true, bin, sizeof bin), 0);
        assert_int_equal(hx_sctp_channel_send(x, sid, false, NULL, 0), 0);
        assert_int_equal(hx_sctp_channel_send(x, sid, true, NULL, 0), 0);
        assert_int_equal(hx_sctp_channel_send(x, sid, true, big, max), 0);
        assert_int_equal(hx_sctp_channel_send(x, sid, false, big, max - 1), 0);
    }
    want_msgs[0] = want_msgs[1] = 6;
    assert_true(pair_wait(&p, msgs_done, 5000));
    for (int to = 0; to < 2; to++) {
        const side *sd = &p.s[to];
        uint16_t sid = (uint16_t)(to == 1 ? a : b);
        assert_int_equal(log_count(sd, HX_SCTP_EV_MESSAGE, -1), 6);
        if (to == 1) { /* ordered channel: in order */
            expect_msg(sd, 0, sid, HX_PPID_STRING, (const uint8_t *)"hello", 5);
            expect_msg(sd, 1, sid, HX_PPID_BINARY, bin, sizeof bin);
            expect_msg(sd, 2, sid, HX_PPID_STRING_EMPTY, NULL, 0);
            expect_msg(sd, 3, sid, HX_PPID_BINARY_EMPTY, NULL, 0);
            expect_msg(sd, 4, sid, HX_PPID_BINARY, big, max);
            expect_msg(sd, 5, sid, HX_PPID_STRING, big, max - 1);
        }
        const hx_sctp_stats *st = hx_sctp_assoc_stats(sd->a);
        assert_int_equal(st->rx_messages, 6);
        assert_int_equal(st->rx_oversize + st->rx_bad_ppid + st->rx_no_channel, 0);
    }
    /* Unordered channel: same set, any order; find the big one by size. */
    unsigned found = 0;
    for (unsigned k = 0; k < 6; k++) {
        const logged *m = log_find(&p.s[0], HX_SCTP_EV_MESSAGE, k);
        if (m->ev.len == max && m->ev.binary) found += memcmp(m->data, big, max) == 0;
        if (m->ev.len == 5) found += memcmp(m->data, "hello", 5) == 0;
    }
    assert_int_equal(found, 2);
    free(big);
    pair_free(&p);
}

static void test_oversize(void **state)
{
    (void)state;
    pair p;
    size_t peer_max = HX_SCTP_DEFAULT_MAX_MESSAGE;
    hx_sctp_config c0 = {.dtls_client = true, .remote_max_message_size = peer_max};
    hx_sctp_config c1 = {.max_message_size = 16384};
    connect_pair(&p, &c0, &c1);
    int sid = open_channel(&p, 0, "x", "", HX_DCEP_RELIABLE, 0);
    uint16_t s = (uint16_t)sid;
    uint8_t *buf = calloc(1, peer_max + 1);
    for (size_t i = 0; i <= peer_max; i++)
        buf[i] = (uint8_t)(i ^ (i >> 8));
    /* Over the peer's advertised limit: refused at send. */
    assert_int_equal(hx_sctp_channel_send(p.s[0].a, s, true, buf, peer_max + 1), HX_SCTP_ETOOBIG);
    /* Within what A was told, over what B accepts: B drops and counts them, whether the
     * message arrives whole (20000) or in partial-delivery pieces (200000). */
    assert_int_equal(hx_sctp_channel_send(p.s[0].a, s, true, buf, 20000), 0);
    assert_int_equal(hx_sctp_channel_send(p.s[0].a, s, true, buf, 200000), 0);
    assert_int_equal(hx_sctp_channel_send(p.s[0].a, s, true, buf, 16384), 0);
    assert_int_equal(hx_sctp_channel_send(p.s[0].a, s, false, (const uint8_t *)"ok", 2), 0);
    want_msgs[0] = 0;
    want_msgs[1] = 2;
    assert_true(pair_wait(&p, msgs_done, 3000));
    pair_wait(&p, msgs_done, 100);
    assert_int_equal(log_count(&p.s[1], HX_SCTP_EV_MESSAGE, -1), 2);
    assert_int_equal(hx_sctp_assoc_stats(p.s[1].a)->rx_oversize, 2);
    expect_msg(&p.s[1], 0, s, HX_PPID_BINARY, buf, 16384);
    expect_msg(&p.s[1], 1, s, HX_PPID_STRING, (const uint8_t *)"ok", 2);
    free(buf);
    pair_free(&p);
}

static void test_rate_limit(void **state)
{
    (void)state;
    pair p;
    hx_sctp_config c1 = {.rx_rate = 10, .rx_burst = 5};
    connect_pair(&p, NULL, &c1);
    int sid = open_channel(&p, 0, "r", "", HX_DCEP_RELIABLE, 0);
    int64_t frozen = p.now_ms;
    for (int i = 0; i < 8; i++)
        assert_int_equal(hx_sctp_channel_send(p.s[0].a, (uint16_t)sid, true, (uint8_t *)&i, 1), 0);
    pair_pump(&p); /* no ticks: the bucket's clock stands still */
    assert_int_equal(p.now_ms, frozen);
    assert_int_equal(log_count(&p.s[1], HX_SCTP_EV_MESSAGE, -1), 5);
    assert_int_equal(hx_sctp_assoc_stats(p.s[1].a)->rx_rate_limited, 3);
    p.now_ms += 300; /* 3 tokens at 10/s */
    for (int i = 0; i < 4; i++)
        assert_int_equal(hx_sctp_channel_send(p.s[0].a, (uint16_t)sid, true, (uint8_t *)&i, 1), 0);
    pair_pump(&p);
    assert_int_equal(log_count(&p.s[1], HX_SCTP_EV_MESSAGE, -1), 8);
    assert_int_equal(hx_sctp_assoc_stats(p.s[1].a)->rx_rate_limited, 4);
    pair_free(&p);
}

static int a_writable(pair *p)
{
    return log_count(&p->s[0], HX_SCTP_EV_WRITABLE, -1) > 0 &&
           log_count(&p->s[1], HX_SCTP_EV_MESSAGE, -1) >= want_msgs[1];
}

static void test_backpressure(void **state)
{
    (void)state;
    pair p;
    hx_sctp_config c0 = {
        .dtls_client = true, .remote_max_message_size = 16384, .send_buffer = 65536};
    connect_pair(&p, &c0, NULL);
    int sid = open_channel(&p, 0, "bp", "", HX_DCEP_RELIABLE, 0);
    uint8_t *buf = calloc(1, 16384);
    int sent = 0, rc = 0;
    while (sent < 64 && (rc = hx_sctp_channel_send(p.s[0].a, (uint16_t)sid, true, buf, 16384)) == 0)
        sent++;
    assert_int_equal(rc, HX_SCTP_EAGAIN);
    assert_true(sent >= 2 && sent <= 5); /* about 64 KiB buffered, no more */
    assert_int_equal(hx_sctp_assoc_stats(p.s[0].a)->tx_blocked, 1);
    want_msgs[1] = (unsigned)sent;
    assert_true(pair_wait(&p, a_writable, 3000));
    assert_int_equal(log_count(&p.s[1], HX_SCTP_EV_MESSAGE, -1), sent);
    assert_int_equal(hx_sctp_channel_send(p.s[0].a, (uint16_t)sid, true, buf, 16384), 0);
    free(buf);
    pair_free(&p);
}

static unsigned want_closed_sid;
static int closed_both(pair *p)
{
    return log_count(&p->s[0], HX_SCTP_EV_CHANNEL_CLOSED, (int)want_closed_sid) == 1 &&
           log_count(&p->s[1], HX_SCTP_EV_CHANNEL_CLOSED, (int)want_closed_sid) == 1;
}

static void test_close_by_stream_reset(void **state)
{
    (void)state;
    pair p;
    connect_pair(&p, NULL, NULL);
    int a = open_channel(&p, 0, "a", "", HX_DCEP_RELIABLE, 0);
    int b = open_channel(&p, 1, "b", "", HX_DCEP_RELIABLE, 0);
    int a2 = open_channel(&p, 0, "a2", "", HX_DCEP_RELIABLE, 0);
    /* Our own channel, closed by us. */
    assert_int_equal(hx_sctp_channel_close(p.s[0].a, (uint16_t)a), 0);
    assert_int_equal(hx_sctp_channel_close(p.s[0].a, (uint16_t)a), HX_SCTP_ENOTOPEN);
    want_closed_sid = (unsigned)a;
    assert_true(pair_wait(&p, closed_both, 2000));
    assert_int_equal(hx_sctp_channel_send(p.s[0].a, (uint16_t)a, false, (const uint8_t *)"x", 1),
                     HX_SCTP_ENOTOPEN);
    /* The peer's channel, closed by us; and ours, closed by the peer. */
    assert_int_equal(hx_sctp_channel_close(p.s[0].a, (uint16_t)b), 0);
    assert_int_equal(hx_sctp_channel_close(p.s[1].a, (uint16_t)a2), 0);
    want_closed_sid = (unsigned)b;
    assert_true(pair_wait(&p, closed_both, 2000));
    want_closed_sid = (unsigned)a2;
    assert_true(pair_wait(&p, closed_both, 2000));
    /* Ids are free again and the reopened channel carries messages. */
    assert_int_equal(open_channel(&p, 0, "again", "", HX_DCEP_RELIABLE, 0), a);
    assert_int_equal(hx_sctp_channel_send(p.s[0].a, (uint16_t)a, false, (const uint8_t *)"y", 1),
                     0);
    want_msgs[0] = 0;
    want_msgs[1] = 1;
    assert_true(pair_wait(&p, msgs_done, 2000));
    expect_msg(&p.s[1], 0, (uint16_t)a, HX_PPID_STRING, (const uint8_t *)"y", 1);
    pair_free(&p);
}

static void test_bad_dcep_and_ppids(void **state)
{
    (void)state;
    pair p;
    connect_pair(&p, NULL, NULL);
    hx_sctp_assoc *srv = p.s[1].a;
    int sid = open_channel(&p, 0, "ok", "", HX_DCEP_RELIABLE, 0);
    const hx_sctp_stats *st = hx_sctp_assoc_stats(srv);
    static const uint8_t open_even[] = {0x03, 0x00, 0x00, 0x00, 0, 0, 0, 0, 0, 1, 0, 0, 'z'};
    static const uint8_t truncated[] = {0x03, 0x00, 0x00, 0x00, 0, 0, 0, 0, 0, 5, 0, 0, 'z'};
    static const uint8_t open_odd_self[] = {0x03, 0x00, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0};
    hx__chan_deliver(srv, 2, HX_PPID_DCEP, truncated, sizeof truncated); /* bad layout */
    hx__chan_deliver(srv, (uint16_t)sid, HX_PPID_DCEP, open_even, sizeof open_even); /* in use */
    hx__chan_deliver(srv, (uint16_t)sid, HX_PPID_DCEP, (const uint8_t *)"\x02", 1);  /* stray ACK */
    hx__chan_deliver(srv, 2, HX_PPID_DCEP, (const uint8_t *)"\x07", 1); /* unknown type */
    assert_int_equal(st->rx_bad_dcep, 4);
    /* An OPEN on a free stream of our own parity is accepted (aiortc 1.4.0 opens those). */
    hx__chan_deliver(srv, 1, HX_PPID_DCEP, open_odd_self, sizeof open_odd_self);
    assert_int_equal(st->rx_bad_dcep, 4);
    hx__chan_deliver(srv, (uint16_t)sid, HX_PPID_BINARY_PARTIAL, (const uint8_t *)"p", 1);
    hx__chan_deliver(srv, (uint16_t)sid, HX_PPID_STRING_PARTIAL, (const uint8_t *)"p", 1);
    hx__chan_deliver(srv, (uint16_t)sid, 99, (const uint8_t *)"p", 1);
    assert_int_equal(st->rx_bad_ppid, 3);
    hx__chan_deliver(srv, 4, HX_PPID_STRING, (const uint8_t *)"p", 1); /* no channel */
    assert_int_equal(st->rx_no_channel, 1);
    assert_int_equal(log_count(&p.s[1], HX_SCTP_EV_MESSAGE, -1), 0);
    assert_int_equal(log_count(&p.s[1], HX_SCTP_EV_CHANNEL_OPEN, -1), 2); /* "ok" and stream 1 */
    assert_int_equal(log_count(&p.s[1], HX_SCTP_EV_CHANNEL_OPEN, 1), 1);
    /* A well-formed OPEN on a free even stream is accepted and ACKed to the client. */
    hx__chan_deliver(srv, 6, HX_PPID_DCEP, open_even, sizeof open_even);
    assert_int_equal(log_count(&p.s[1], HX_SCTP_EV_CHANNEL_OPEN, 6), 1);
    pair_pump(&p);
    /* The client never sent those OPENs (streams 1 and 6): their ACKs are counted as stray there.
     */
    assert_int_equal(hx_sctp_assoc_stats(p.s[0].a)->rx_bad_dcep, 2);
    pair_free(&p);
}

static int both_down(pair *p)
{
    return log_count(&p->s[0], HX_SCTP_EV_DOWN, -1) && log_count(&p->s[1], HX_SCTP_EV_DOWN, -1);
}

static void test_shutdown(void **state)
{
    (void)state;
    pair p;
    connect_pair(&p, NULL, NULL);
    int sid = open_channel(&p, 0, "s", "", HX_DCEP_RELIABLE, 0);
    assert_int_equal(hx_sctp_assoc_shutdown(p.s[0].a), 0);
    assert_true(pair_wait(&p, both_down, 3000));
    for (int i = 0; i < 2; i++) {
        assert_false(hx_sctp_assoc_is_up(p.s[i].a));
        assert_int_equal(log_find(&p.s[i], HX_SCTP_EV_DOWN, 0)->ev.reason, 0);
        assert_int_equal(log_count(&p.s[i], HX_SCTP_EV_CHANNEL_CLOSED, sid), 1);
    }
    assert_int_equal(hx_sctp_channel_send(p.s[0].a, (uint16_t)sid, false, (const uint8_t *)"x", 1),
                     HX_SCTP_ENOTUP);
    assert_int_equal(hx_sctp_assoc_shutdown(p.s[0].a), HX_SCTP_ENOTUP);
    pair_free(&p);
}

static void test_abort_on_destroy(void **state)
{
    (void)state;
    pair p;
    connect_pair(&p, NULL, NULL);
    hx_sctp_assoc_destroy(p.s[0].a);
    p.s[0].a = NULL;
    pair_pump(&p); /* the ABORT reaches side 1 */
    const logged *d = log_find(&p.s[1], HX_SCTP_EV_DOWN, 0);
    assert_non_null(d);
    assert_int_equal(d->ev.reason, HX_SCTP_ESTACK);
    assert_int_equal(hx_sctp_stack_destroy(stack), HX_SCTP_EBUSY); /* side 1 still alive */
    pair_free(&p);
}

/* Bitwise CRC32c (RFC 4960 Appendix B), independent of usrsctp's table-driven one. */
static uint32_t crc32c(const uint8_t *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = c >> 1 ^ (0x82f63b78u & (0u - (c & 1)));
    }
    return ~c;
}

static void test_checksums_computed(void **state)
{
    (void)state;
    pair p;
    assert_int_equal(pair_init(&p, stack, NULL, NULL), 0);
    assert_int_equal(hx_sctp_assoc_connect(p.s[0].a), 0);
    pq *q = &p.s[0].out;
    assert_int_equal(q->tail - q->head, 1); /* the INIT */
    uint8_t pkt[PQ_MTU];
    size_t n = q->len[q->head % PQ_SLOTS];
    memcpy(pkt, q->pkt[q->head % PQ_SLOTS], n);
    assert_true(n >= 12 + 20);
    assert_int_equal(pkt[0] << 8 | pkt[1], HX_SCTP_PORT); /* source port */
    assert_int_equal(pkt[12], 1);                         /* chunk type INIT */
    uint32_t stored = (uint32_t)pkt[8] | (uint32_t)pkt[9] << 8 | (uint32_t)pkt[10] << 16 |
                      (uint32_t)pkt[11] << 24;
    memset(pkt + 8, 0, 4);
    assert_int_equal(stored, crc32c(pkt, n));
    /* B, in COOKIE-WAIT itself, answers the INIT with an INIT-ACK, but not a corrupted one. */
    assert_int_equal(hx_sctp_assoc_connect(p.s[1].a), 0);
    assert_int_equal(p.s[1].out.tail, 1); /* B's own INIT */
    memcpy(pkt, q->pkt[q->head % PQ_SLOTS], n);
    pkt[n - 1] ^= 0x01;
    assert_int_equal(hx_sctp_assoc_input(p.s[1].a, pkt, n), 0);
    assert_int_equal(p.s[1].out.tail, 1);
    pkt[n - 1] ^= 0x01;
    assert_int_equal(hx_sctp_assoc_input(p.s[1].a, pkt, n), 0);
    assert_int_equal(p.s[1].out.tail, 2);
    assert_int_equal(p.s[1].out.pkt[1][12], 2); /* INIT-ACK */
    pair_free(&p);
}

static void test_config_errors(void **state)
{
    (void)state;
    hx_sctp_assoc *a = NULL;
    hx_sctp_config no_send = {0};
    assert_int_equal(hx_sctp_assoc_create(stack, &no_send, &a), HX_SCTP_EINVAL);
    assert_null(a);
    hx_sctp_config small_buf = {
        .send = side_send, .remote_max_message_size = 65536, .send_buffer = 1000};
    assert_int_equal(hx_sctp_assoc_create(stack, &small_buf, &a), HX_SCTP_EINVAL);
    hx_sctp_config ok = {.send = side_send};
    assert_int_equal(hx_sctp_assoc_create(stack, &ok, &a), 0);
    hx_sctp_channel_info info = {0};
    assert_int_equal(hx_sctp_channel_open(a, &info), HX_SCTP_ENOTUP);
    assert_int_equal(hx_sctp_channel_send(a, 0, false, (const uint8_t *)"x", 1), HX_SCTP_ENOTUP);
    assert_int_equal(hx_sctp_assoc_input(a, (const uint8_t *)"", 0), HX_SCTP_EINVAL);
    hx_sctp_assoc_destroy(a);
    hx_sctp_assoc_destroy(NULL);
}

/* --- timers on demand: hx_sctp_stack_advance and _next_due ---------------- */

/* A virtual clock past every earlier test's: advance counts time process-wide, from the last
 * call by any stack, and a clock that went back would move nothing. */
static int64_t fresh_clock(void)
{
    static int64_t base = (int64_t)1 << 40;
    base += (int64_t)1 << 24;
    return base;
}

/* A new stack (no associations yet: next_due never) with usrsctp's clock advanced to a fresh
 * virtual time, and p's two associations on it, not connected, on that time. */
static hx_sctp_stack *advanced_pair(pair *p)
{
    hx_sctp_stack *s;
    assert_int_equal(hx_sctp_stack_create(NULL, &s), 0);
    int64_t t0 = fresh_clock();
    assert_int_equal(hx_sctp_stack_next_due(s, t0), INT64_MAX);
    hx_sctp_stack_advance(s, t0);
    assert_int_equal(pair_init(p, s, NULL, NULL), 0);
    p->now_ms = t0;
    return s;
}

static void advanced_free(pair *p, hx_sctp_stack *s)
{
    pair_free(p);
    assert_int_equal(hx_sctp_stack_next_due(s, p->now_ms), INT64_MAX);
    assert_int_equal(hx_sctp_stack_destroy(s), 0);
}

static int never(pair *p)
{
    (void)p;
    return 0;
}

/* Drive p on stack s as a carrier would: pump, then sleep to next_due and advance, until cond
 * holds or the clock would pass `until`. Returns cond; *wakeups (if given) counts the advances. */
static int drive(pair *p, hx_sctp_stack *s, int (*cond)(pair *), int64_t until, int *wakeups)
{
    for (;;) {
        pair_pump(p);
        if (cond(p)) return 1;
        int64_t due = hx_sctp_stack_next_due(s, p->now_ms);
        assert_true(due > p->now_ms);
        if (due > until) return 0;
        p->now_ms = due;
        hx_sctp_stack_advance(s, p->now_ms);
        if (wakeups) ++*wakeups;
    }
}

/* Side 0 has connected: connect side 1, come up and open one channel, all driven. Returns the
 * channel's sid. */
static int drive_up(pair *p, hx_sctp_stack *s)
{
    assert_int_equal(hx_sctp_assoc_connect(p->s[1].a), 0);
    assert_true(drive(p, s, both_up, p->now_ms + 5000, NULL));
    hx_sctp_channel_info info = {.channel_type = HX_DCEP_RELIABLE};
    int sid = hx_sctp_channel_open(p->s[0].a, &info);
    assert_true(sid >= 0);
    want_open[0] = want_open[1] = 1;
    assert_true(drive(p, s, opens_done, p->now_ms + 1000, NULL));
    return sid;
}

static void test_next_due(void **state)
{
    (void)state;
    pair p;
    int n = 0;
    hx_sctp_stack *s = advanced_pair(&p);
    int64_t t0 = p.now_ms;
    assert_int_equal(hx_sctp_stack_next_due(s, t0), t0 + 1000); /* created, nothing sent */

    /* Connecting: retransmission steps (RTO.Initial is 3 s), even once the INIT is old. */
    assert_int_equal(hx_sctp_assoc_connect(p.s[0].a), 0);
    assert_int_equal(hx_sctp_stack_next_due(s, t0), t0 + 100);
    assert_int_equal(hx_sctp_stack_next_due(s, t0 + 5000), t0 + 5100);
    int sid = drive_up(&p, s);

    /* Up and quiet: fine for a second after the last packet, then coarse. */
    assert_false(drive(&p, s, never, p.now_ms + 10000, &n));
    assert_int_equal(hx_sctp_stack_next_due(s, p.now_ms), p.now_ms + 1000);
    assert_true(n <= 100 + 10 + 2); /* about 100 fine steps (a SACK may extend them), 9 coarse */
    assert_int_equal(p.s[0].out.dropped + p.s[1].out.dropped, 0);

    /* Data: retransmission steps once it is sent, fine once something comes back, delivered,
     * then coarse again. */
    assert_int_equal(hx_sctp_channel_send(p.s[0].a, (uint16_t)sid, false, (const uint8_t *)"x", 1),
                     0);
    assert_int_equal(hx_sctp_stack_next_due(s, p.now_ms), p.now_ms + 100);
    want_msgs[0] = 0;
    want_msgs[1] = 1;
    assert_true(drive(&p, s, msgs_done, p.now_ms + 1000, NULL));
    assert_int_equal(hx_sctp_stack_next_due(s, p.now_ms), p.now_ms + 10);
    assert_false(drive(&p, s, never, p.now_ms + 3000, NULL));
    assert_int_equal(hx_sctp_stack_next_due(s, p.now_ms), p.now_ms + 1000);
    advanced_free(&p, s);
}

/* Advance to next_due until q's packet count passes n or limit_ms pass; returns the count. */
static unsigned wait_packet(pair *p, hx_sctp_stack *s, const pq *q, unsigned n, int64_t limit_ms)
{
    int64_t until = p->now_ms + limit_ms;
    while (q->tail == n && p->now_ms < until) {
        p->now_ms = hx_sctp_stack_next_due(s, p->now_ms);
        hx_sctp_stack_advance(s, p->now_ms);
    }
    return q->tail;
}

/* An INIT nobody answers is sent again after RTO.Initial (RFC 4960 §6.3.1: 3 s), however many
 * stacks advance to the same moments: time is not counted once per stack. */
static void test_advance_counts_once(void **state)
{
    (void)state;
    pair p;
    hx_sctp_stack *s1 = advanced_pair(&p), *s2;
    assert_int_equal(hx_sctp_stack_create(NULL, &s2), 0);
    int64_t t0 = p.now_ms;
    assert_int_equal(hx_sctp_assoc_connect(p.s[0].a), 0);
    pq *q = &p.s[0].out;
    assert_int_equal(q->tail, 1);
    int64_t t = t0;
    while (q->tail == 1 && t < t0 + 10000) {
        t += 10;
        hx_sctp_stack_advance(s1, t);
        hx_sctp_stack_advance(s2, t);
        hx_sctp_stack_advance(s2, t - 5); /* late: moves nothing */
    }
    assert_int_equal(q->tail, 2);
    assert_int_equal(q->pkt[1][12], 1); /* INIT again */
    assert_int_equal(t, t0 + 3000);
    advanced_free(&p, s1);
    assert_int_equal(hx_sctp_stack_destroy(s2), 0);
}

/* Nothing advances usrsctp's clock while no association needs it (next_due INT64_MAX). A
 * connect after such a gap still waits RTO.Initial from its INIT, not from the last advance. */
static void test_connect_after_idle(void **state)
{
    (void)state;
    pair p;
    hx_sctp_stack *s = advanced_pair(&p);
    p.now_ms += 600000; /* ten minutes without a call into usrsctp's timers */
    int64_t sent = p.now_ms;
    assert_int_equal(hx_sctp_assoc_connect(p.s[0].a), 0);
    assert_int_equal(p.s[0].out.tail, 1);
    assert_int_equal(wait_packet(&p, s, &p.s[0].out, 1, 10000), 2);
    assert_int_equal(p.now_ms, sent + 3000);
    advanced_free(&p, s);
}

/* Input after usrsctp's clock stood still (a coarse step, a late wakeup) first brings it up to
 * date: the delayed SACK for that input goes out 20 ms after it, not at the next advance. */
static void test_input_catches_up(void **state)
{
    (void)state;
    pair p;
    hx_sctp_stack *s = advanced_pair(&p);
    assert_int_equal(hx_sctp_assoc_connect(p.s[0].a), 0);
    int sid = drive_up(&p, s);
    assert_false(drive(&p, s, never, p.now_ms + 3000, NULL));
    assert_int_equal(hx_sctp_channel_send(p.s[0].a, (uint16_t)sid, false, (const uint8_t *)"x", 1),
                     0);
    p.now_ms += 500; /* delivered half a second later, no advance in between */
    pq *q = &p.s[1].out;
    unsigned before = q->tail;
    int64_t input = p.now_ms;
    pair_pump(&p);
    assert_int_equal(log_count(&p.s[1], HX_SCTP_EV_MESSAGE, -1), 1);
    assert_int_equal(q->tail, before); /* the SACK is delayed */
    assert_int_equal(wait_packet(&p, s, q, before, 1000), before + 1);
    assert_int_equal(q->pkt[before % PQ_SLOTS][12], 3); /* SACK */
    assert_int_equal(p.now_ms, input + 20);
    advanced_free(&p, s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_up_and_open_both_ways),
        cmocka_unit_test(test_messages_both_ways),
        cmocka_unit_test(test_oversize),
        cmocka_unit_test(test_rate_limit),
        cmocka_unit_test(test_backpressure),
        cmocka_unit_test(test_close_by_stream_reset),
        cmocka_unit_test(test_bad_dcep_and_ppids),
        cmocka_unit_test(test_shutdown),
        cmocka_unit_test(test_abort_on_destroy),
        cmocka_unit_test(test_checksums_computed),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_next_due),
        cmocka_unit_test(test_advance_counts_once),
        cmocka_unit_test(test_connect_after_idle),
        cmocka_unit_test(test_input_catches_up),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
