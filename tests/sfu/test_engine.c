/*
 * The media engine through its boundary only: a real engine thread (UDP
 * socket, DTLS context, SCTP stack) gets sfu.h commands and its events are
 * collected on the test's loop. Real SDP: the offers Chromium 156 and
 * aiortc 1.4.0 made (tests/sdp/fixtures). Checked: answers, tracks held
 * back until their transport connects (none does here: no peer speaks ICE
 * or DTLS to it, so the browser tests check the announcement), subscriber
 * offers one at a time, request ids echoed, each refusal with its code, and
 * the negotiation failure path: a refused or unanswered offer is rolled
 * back and offered once more, the second failure is final; a transport that
 * never connects fails with connect_timeout.
 */
#include "sdp/sdp.h"
#include "sfu/engine.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#define MAX_EVENTS 64

typedef struct rec {
    int n;
    uint8_t *msg[MAX_EVENTS];
    size_t len[MAX_EVENTS];
    hx_sfu_msg m[MAX_EVENTS];
} rec;

typedef struct fixture {
    uv_loop_t loop;
    hx_engine *e;
    rec r;
} fixture;

static void deliver(void *ctx, const uint8_t *msg, size_t len)
{
    rec *r = ctx;
    if (r->n == MAX_EVENTS) return;
    const char *why;
    r->msg[r->n] = malloc(len);
    memcpy(r->msg[r->n], msg, len);
    r->len[r->n] = len;
    assert_int_equal(hx_sfu_parse(r->msg[r->n], len, &r->m[r->n], &why), 0);
    r->n++;
}

static void rec_clear(rec *r)
{
    for (int i = 0; i < r->n; i++)
        free(r->msg[i]);
    r->n = 0;
}

static int setup_with(void **state, int64_t offer_timeout_ms, int64_t connect_timeout_ms)
{
    fixture *f = calloc(1, sizeof *f);
    uv_loop_init(&f->loop);
    hx_engine_config cfg;
    hx_engine_config_default(&cfg);
    if (offer_timeout_ms) cfg.offer_timeout_ms = offer_timeout_ms;
    if (connect_timeout_ms) cfg.connect_timeout_ms = connect_timeout_ms;
    char err[256];
    if (hx_engine_start(&cfg, &f->loop, deliver, &f->r, &f->e, err, sizeof err) != 0) {
        fprintf(stderr, "engine: %s\n", err);
        return -1;
    }
    *state = f;
    return 0;
}

static int setup(void **state)
{
    return setup_with(state, 0, 0);
}

static int setup_short(void **state)
{
    return setup_with(state, 300, 400);
}

static int teardown(void **state)
{
    fixture *f = *state;
    hx_engine_stop(f->e);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    rec_clear(&f->r);
    free(f);
    return 0;
}

/* Run the test loop until an event of `kind` for `transport` arrived (2 s at most); its index. */
static int wait_for(fixture *f, uint16_t kind, uint64_t transport)
{
    for (int spins = 0; spins < 400; spins++) {
        for (int i = 0; i < f->r.n; i++)
            if (f->r.m[i].kind == kind && f->r.m[i].transport == transport) return i;
        uv_run(&f->loop, UV_RUN_NOWAIT);
        usleep(5000);
    }
    fail_msg("no %s for transport %llu", hx_sfu_kind_name(kind), (unsigned long long)transport);
    return -1;
}

static int count(const fixture *f, uint16_t kind, uint64_t transport)
{
    int n = 0;
    for (int i = 0; i < f->r.n; i++)
        n += f->r.m[i].kind == kind && f->r.m[i].transport == transport;
    return n;
}

/* Run the test loop until `n` events of `kind` for `transport` arrived (2 s at most). */
static void wait_count(fixture *f, uint16_t kind, uint64_t transport, int n)
{
    for (int spins = 0; spins < 400 && count(f, kind, transport) < n; spins++) {
        uv_run(&f->loop, UV_RUN_NOWAIT);
        usleep(5000);
    }
}

static char *field(const hx_sfu_msg *m, hx_sfu_tag tag)
{
    static char buf[4][70000];
    static int k;
    char *b = buf[k++ & 3];
    memcpy(b, m->f[tag].p ? m->f[tag].p : "", m->f[tag].len);
    b[m->f[tag].len] = '\0';
    return b;
}

static void post(fixture *f, hx_sfu_builder *b)
{
    long n = hx_sfu_finish(b);
    assert_true(n > 0);
    assert_int_equal(hx_engine_post(f->e, b->buf, (size_t)n), 0);
}

static void open_transport(fixture *f, uint64_t id, const char *room, const char *who,
                           const char *role, uint32_t flags)
{
    uint8_t buf[512];
    hx_sfu_builder b;
    hx_sfu_build(&b, buf, sizeof buf, HX_SFU_TRANSPORT_OPEN, id);
    hx_sfu_put_cstr(&b, HX_SFU_T_ROOM, room);
    hx_sfu_put_cstr(&b, HX_SFU_T_PARTICIPANT, who);
    hx_sfu_put_cstr(&b, HX_SFU_T_ROLE, role);
    hx_sfu_put_flags(&b, flags);
    post(f, &b);
}

static char *read_fixture(const char *name, size_t *len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/tests/sdp/fixtures/%s", HX_SOURCE_DIR, name);
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    static char text[70000];
    *len = fread(text, 1, sizeof text - 1, fp);
    fclose(fp);
    text[*len] = '\0';
    return text;
}

static void remote_sdp(fixture *f, uint64_t id, const char *type, const char *sdp, size_t len,
                       const char *req, const char *revision)
{
    static uint8_t buf[HX_SFU_MSG_MAX];
    hx_sfu_builder b;
    hx_sfu_build(&b, buf, sizeof buf, HX_SFU_REMOTE_SDP, id);
    hx_sfu_put_cstr(&b, HX_SFU_T_SDP_TYPE, type);
    hx_sfu_put_str(&b, HX_SFU_T_SDP, sdp, len);
    if (req) hx_sfu_put_cstr(&b, HX_SFU_T_REQUEST, req);
    if (revision) hx_sfu_put_cstr(&b, HX_SFU_T_REVISION, revision);
    post(f, &b);
}

static void refuse(fixture *f, uint64_t id, const char *revision, const char *req)
{
    uint8_t buf[512];
    hx_sfu_builder b;
    hx_sfu_build(&b, buf, sizeof buf, HX_SFU_REMOTE_SDP, id);
    hx_sfu_put_cstr(&b, HX_SFU_T_SDP_TYPE, "refusal");
    hx_sfu_put_cstr(&b, HX_SFU_T_REASON, "cannot apply a port-0 m-line");
    hx_sfu_put_cstr(&b, HX_SFU_T_REVISION, revision);
    hx_sfu_put_cstr(&b, HX_SFU_T_REQUEST, req);
    post(f, &b);
}

static void track_cmd(fixture *f, hx_sfu_kind kind, uint64_t id, const char *track, const char *req)
{
    uint8_t buf[256];
    hx_sfu_builder b;
    hx_sfu_build(&b, buf, sizeof buf, kind, id);
    hx_sfu_put_cstr(&b, HX_SFU_T_TRACK, track);
    if (req) hx_sfu_put_cstr(&b, HX_SFU_T_REQUEST, req);
    post(f, &b);
}

static const hx_sfu_msg *nth_of(const fixture *f, uint16_t kind, uint64_t transport, int nth)
{
    for (int i = 0; i < f->r.n; i++)
        if (f->r.m[i].kind == kind && f->r.m[i].transport == transport && nth-- == 0)
            return &f->r.m[i];
    return NULL;
}

/* Publisher 2 (p_alice) offers Chromium's audio, video and data; subscriber 5 (p_bob) opens. */
static void alice_publishes_bob_subscribes(fixture *f)
{
    open_transport(f, 2, "lobby", "p_alice", "publisher", HX_SFU_F_PUBLISH | HX_SFU_F_DATA);
    open_transport(f, 5, "lobby", "p_bob", "subscriber", HX_SFU_F_SUBSCRIBE | HX_SFU_F_DATA);
    size_t len;
    const char *offer = read_fixture("chromium_pub.sdp", &len);
    remote_sdp(f, 2, "offer", offer, len, "req-1", NULL);
}

static void test_publish_and_subscribe(void **state)
{
    fixture *f = *state;
    alice_publishes_bob_subscribes(f);
    int i = wait_for(f, HX_SFU_EV_LOCAL_SDP, 2);
    const hx_sfu_msg *ans = &f->r.m[i];
    assert_true(hx_sfu_field_is(ans, HX_SFU_T_SDP_TYPE, "answer"));
    assert_true(hx_sfu_field_is(ans, HX_SFU_T_REQUEST, "req-1"));
    /* A real answer: parses, ICE-lite, our candidates, audio and video received, data accepted. */
    hx_sdp *sdp = malloc(sizeof *sdp);
    assert_int_equal(hx_sdp_parse(ans->f[HX_SFU_T_SDP].p, ans->f[HX_SFU_T_SDP].len, sdp, NULL), 0);
    assert_true(sdp->ice_lite);
    assert_int_equal(sdp->n_media, 3);
    assert_true(sdp->media[0].n_cands >= 2); /* UDP and passive TCP on 127.0.0.1 */
    assert_non_null(strstr(sdp->media[0].cands[0], "127.0.0.1"));
    assert_non_null(strstr(field(ans, HX_SFU_T_SDP), "tcptype passive"));
    int recv = 0;
    for (int m = 0; m < sdp->n_media; m++)
        recv += sdp->media[m].dir == HX_SDP_RECVONLY;
    assert_int_equal(recv, 2);
    free(sdp);

    /* Tracks wait for their transport: nothing is announced before media can flow. */
    assert_int_equal(count(f, HX_SFU_EV_TRACK_PUBLISHED, 2), 0);

    /* The subscriber's first offer carries the data m-line. */
    i = wait_for(f, HX_SFU_EV_LOCAL_SDP, 5);
    assert_true(hx_sfu_field_is(&f->r.m[i], HX_SFU_T_SDP_TYPE, "offer"));
    assert_true(hx_sfu_field_is(&f->r.m[i], HX_SFU_T_REVISION, "1"));
    assert_non_null(strstr(field(&f->r.m[i], HX_SFU_T_SDP), "webrtc-datachannel"));
    /* A track not announced yet cannot be subscribed to. */
    track_cmd(f, HX_SFU_SUBSCRIBE, 5, "TR_none", "s1");
    i = wait_for(f, HX_SFU_EV_ERROR, 5);
    assert_true(hx_sfu_field_is(&f->r.m[i], HX_SFU_T_CODE, "unknown_track"));
    rec_clear(&f->r);
    /* An answer for the wrong revision is refused with the request id. */
    const char *stale = "v=0\r\n";
    remote_sdp(f, 5, "answer", stale, strlen(stale), "a0", "7");
    i = wait_for(f, HX_SFU_EV_ERROR, 5);
    assert_true(hx_sfu_field_is(&f->r.m[i], HX_SFU_T_CODE, "bad_request"));
    assert_true(hx_sfu_field_is(&f->r.m[i], HX_SFU_T_REQUEST, "a0"));
    /* Garbage for revision 1: bad_sdp, and the offer still awaits a real answer. */
    remote_sdp(f, 5, "answer", stale, strlen(stale), "a1", "1");
    wait_count(f, HX_SFU_EV_ERROR, 5, 2);
    assert_true(hx_sfu_field_is(nth_of(f, HX_SFU_EV_ERROR, 5, 1), HX_SFU_T_CODE, "bad_sdp"));

    /* The client refuses revision 1: acknowledged, rolled back, offered once more. */
    refuse(f, 5, "1", "r1");
    i = wait_for(f, HX_SFU_EV_NEGOTIATION_FAILED, 5);
    assert_true(hx_sfu_field_is(&f->r.m[i], HX_SFU_T_CODE, "offer_refused"));
    assert_true(hx_sfu_field_is(&f->r.m[i], HX_SFU_T_REVISION, "1"));
    assert_non_null(strstr(field(&f->r.m[i], HX_SFU_T_REASON), "cannot apply"));
    assert_int_equal(f->r.m[i].flags & HX_SFU_F_FINAL, 0);
    assert_true(hx_sfu_field_is(nth_of(f, HX_SFU_EV_DONE, 5, 0), HX_SFU_T_REQUEST, "r1"));
    i = wait_for(f, HX_SFU_EV_LOCAL_SDP, 5);
    assert_true(hx_sfu_field_is(&f->r.m[i], HX_SFU_T_REVISION, "2"));
    /* The version in o= still goes up after the rollback. */
    hx_sdp *again = malloc(sizeof *again);
    assert_int_equal(hx_sdp_parse(f->r.m[i].f[HX_SFU_T_SDP].p, f->r.m[i].f[HX_SFU_T_SDP].len,
                                  again, NULL),
                     0);
    assert_int_equal(again->sess_version, 2);
    free(again);
    /* A second refusal is final: no more offers. */
    refuse(f, 5, "2", "r2");
    wait_count(f, HX_SFU_EV_NEGOTIATION_FAILED, 5, 2);
    const hx_sfu_msg *fin = nth_of(f, HX_SFU_EV_NEGOTIATION_FAILED, 5, 1);
    assert_non_null(fin);
    assert_int_equal(fin->flags & HX_SFU_F_FINAL, HX_SFU_F_FINAL);
    usleep(100000);
    uv_run(&f->loop, UV_RUN_NOWAIT);
    assert_int_equal(count(f, HX_SFU_EV_LOCAL_SDP, 5), 1);

    /* Closing the publisher: its tracks were never announced, so none is closed either. */
    uint8_t buf[128];
    hx_sfu_builder b;
    hx_sfu_build(&b, buf, sizeof buf, HX_SFU_TRANSPORT_CLOSE, 2);
    hx_sfu_put_cstr(&b, HX_SFU_T_REASON, "left");
    post(f, &b);
    usleep(100000);
    uv_run(&f->loop, UV_RUN_NOWAIT);
    assert_int_equal(count(f, HX_SFU_EV_TRACK_CLOSED, 2), 0);
    assert_int_equal(count(f, HX_SFU_EV_TRACK_PUBLISHED, 2), 0);
}

/* Offers nobody answers, and a publisher whose transport never connects. */
static void test_timeouts(void **state)
{
    fixture *f = *state;
    alice_publishes_bob_subscribes(f);
    wait_for(f, HX_SFU_EV_LOCAL_SDP, 2);
    /* Revision 1 unanswered for 300 ms: failed, offered again; revision 2 too: final. */
    int i = wait_for(f, HX_SFU_EV_NEGOTIATION_FAILED, 5);
    assert_true(hx_sfu_field_is(&f->r.m[i], HX_SFU_T_CODE, "answer_timeout"));
    assert_int_equal(f->r.m[i].flags & HX_SFU_F_FINAL, 0);
    wait_count(f, HX_SFU_EV_NEGOTIATION_FAILED, 5, 2);
    assert_int_equal(count(f, HX_SFU_EV_LOCAL_SDP, 5), 2);
    const hx_sfu_msg *fin = nth_of(f, HX_SFU_EV_NEGOTIATION_FAILED, 5, 1);
    assert_non_null(fin);
    assert_true(hx_sfu_field_is(fin, HX_SFU_T_REVISION, "2"));
    assert_int_equal(fin->flags & HX_SFU_F_FINAL, HX_SFU_F_FINAL);
    /* The publisher got its answer but nobody connects: failed after 400 ms, nothing announced. */
    i = wait_for(f, HX_SFU_EV_STATE, 2);
    assert_true(hx_sfu_field_is(&f->r.m[i], HX_SFU_T_STATE, "failed"));
    assert_non_null(strstr(field(&f->r.m[i], HX_SFU_T_REASON), "connect_timeout: ice new"));
    assert_int_equal(count(f, HX_SFU_EV_TRACK_PUBLISHED, 2), 0);
    assert_int_equal(count(f, HX_SFU_EV_TRACK_CLOSED, 2), 0);
    /* The idle subscriber transport (its answer never came) does not fail: no deadline yet. */
    assert_int_equal(count(f, HX_SFU_EV_STATE, 5), 0);
}

static void test_simulcast_and_aiortc(void **state)
{
    fixture *f = *state;
    open_transport(f, 10, "r", "p_sim", "publisher", HX_SFU_F_PUBLISH);
    size_t len;
    const char *offer = read_fixture("chromium_pub_simulcast.sdp", &len);
    remote_sdp(f, 10, "offer", offer, len, NULL, NULL);
    int i = wait_for(f, HX_SFU_EV_LOCAL_SDP, 10);
    /* The answer receives the three layers (their tracks wait for the transport to connect). */
    assert_non_null(strstr(field(&f->r.m[i], HX_SFU_T_SDP), "a=simulcast:recv q;h;f"));

    /* aiortc: AES-CM only, colliding extmap ids; answered, both tracks published. */
    open_transport(f, 12, "r", "p_aio", "publisher", HX_SFU_F_PUBLISH | HX_SFU_F_DATA);
    offer = read_fixture("aiortc_pub.sdp", &len);
    remote_sdp(f, 12, "offer", offer, len, "x", NULL);
    i = wait_for(f, HX_SFU_EV_LOCAL_SDP, 12);
    assert_true(hx_sfu_field_is(&f->r.m[i], HX_SFU_T_REQUEST, "x"));
    const char *aio = field(&f->r.m[i], HX_SFU_T_SDP);
    assert_non_null(strstr(aio, "m=audio 9"));
    assert_non_null(strstr(aio, "m=video 9"));
    assert_int_equal(count(f, HX_SFU_EV_TRACK_PUBLISHED, 12), 0);

    /* Refusals: another room's track, unknown transport, a subscriber offering, a bad offer. */
    open_transport(f, 13, "other", "p_x", "subscriber", HX_SFU_F_SUBSCRIBE);
    track_cmd(f, HX_SFU_SUBSCRIBE, 13, "TR_x", "t1");
    i = wait_for(f, HX_SFU_EV_ERROR, 13);
    assert_true(hx_sfu_field_is(&f->r.m[i], HX_SFU_T_CODE, "unknown_track"));
    track_cmd(f, HX_SFU_PAUSE, 99, "TR_x", "t2");
    i = wait_for(f, HX_SFU_EV_ERROR, 99);
    assert_true(hx_sfu_field_is(&f->r.m[i], HX_SFU_T_CODE, "not_found"));
    remote_sdp(f, 13, "offer", offer, len, "t3", NULL);
    wait_count(f, HX_SFU_EV_ERROR, 13, 2);
    assert_true(hx_sfu_field_is(nth_of(f, HX_SFU_EV_ERROR, 13, 1), HX_SFU_T_CODE, "bad_request"));
    const char *junk = "v=0\r\no=broken\r\n";
    remote_sdp(f, 10, "offer", junk, strlen(junk), "t4", NULL);
    i = wait_for(f, HX_SFU_EV_ERROR, 10);
    assert_true(hx_sfu_field_is(&f->r.m[i], HX_SFU_T_CODE, "bad_sdp"));
    assert_non_null(strstr(field(&f->r.m[i], HX_SFU_T_REASON), "line 2"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_publish_and_subscribe, setup, teardown),
        cmocka_unit_test_setup_teardown(test_simulcast_and_aiortc, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeouts, setup_short, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
