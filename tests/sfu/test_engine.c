/*
 * The media engine through its boundary only: a real engine thread (UDP
 * socket, DTLS context, SCTP stack) gets sfu.h commands and its events are
 * collected on the test's loop. Real SDP: the offers Chromium 156 and
 * aiortc 1.4.0 made (tests/sdp/fixtures). Checked: answers and the tracks
 * they publish (with simulcast layers), subscriber offers as subscriptions
 * come and go, request ids echoed, and each refusal with its code.
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

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    uv_loop_init(&f->loop);
    hx_engine_config cfg;
    hx_engine_config_default(&cfg);
    char err[256];
    if (hx_engine_start(&cfg, &f->loop, deliver, &f->r, &f->e, err, sizeof err) != 0) {
        fprintf(stderr, "engine: %s\n", err);
        return -1;
    }
    *state = f;
    return 0;
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

static void test_publish_and_subscribe(void **state)
{
    fixture *f = *state;
    open_transport(f, 2, "lobby", "p_alice", "publisher", HX_SFU_F_PUBLISH | HX_SFU_F_DATA);
    open_transport(f, 5, "lobby", "p_bob", "subscriber", HX_SFU_F_SUBSCRIBE | HX_SFU_F_DATA);
    size_t len;
    const char *offer = read_fixture("chromium_pub.sdp", &len);
    remote_sdp(f, 2, "offer", offer, len, "req-1", NULL);
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

    /* Both m-lines published, announced before the answer. */
    assert_int_equal(count(f, HX_SFU_EV_TRACK_PUBLISHED, 2), 2);
    const hx_sfu_msg *a = nth_of(f, HX_SFU_EV_TRACK_PUBLISHED, 2, 0),
                     *v = nth_of(f, HX_SFU_EV_TRACK_PUBLISHED, 2, 1);
    assert_true(hx_sfu_field_is(a, HX_SFU_T_MEDIA_KIND, "audio"));
    assert_true(hx_sfu_field_is(v, HX_SFU_T_MEDIA_KIND, "video"));
    assert_true(hx_sfu_field_is(v, HX_SFU_T_ROOM, "lobby"));
    assert_true(hx_sfu_field_is(v, HX_SFU_T_PARTICIPANT, "p_alice"));
    char audio[64], video[64];
    snprintf(audio, sizeof audio, "%s", field(a, HX_SFU_T_TRACK));
    snprintf(video, sizeof video, "%s", field(v, HX_SFU_T_TRACK));
    assert_int_equal(strncmp(audio, "TR_", 3), 0);

    /* The subscriber's first offer carries the data m-line; subscribing adds the two tracks. */
    i = wait_for(f, HX_SFU_EV_LOCAL_SDP, 5);
    assert_true(hx_sfu_field_is(&f->r.m[i], HX_SFU_T_SDP_TYPE, "offer"));
    assert_true(hx_sfu_field_is(&f->r.m[i], HX_SFU_T_REVISION, "1"));
    assert_non_null(strstr(field(&f->r.m[i], HX_SFU_T_SDP), "webrtc-datachannel"));
    track_cmd(f, HX_SFU_SUBSCRIBE, 5, audio, "s1");
    track_cmd(f, HX_SFU_SUBSCRIBE, 5, video, "s2");
    wait_for(f, HX_SFU_EV_DONE, 5);
    /* Revision 1 is still unanswered: no second offer until it is. */
    usleep(100000);
    uv_run(&f->loop, UV_RUN_NOWAIT);
    assert_int_equal(count(f, HX_SFU_EV_LOCAL_SDP, 5), 1);
    /* An answer for the wrong revision is refused with the request id. */
    const char *stale = "v=0\r\n";
    remote_sdp(f, 5, "answer", stale, strlen(stale), "a0", "7");
    i = wait_for(f, HX_SFU_EV_ERROR, 5);
    assert_true(hx_sfu_field_is(&f->r.m[i], HX_SFU_T_CODE, "bad_request"));
    assert_true(hx_sfu_field_is(&f->r.m[i], HX_SFU_T_REQUEST, "a0"));
    /* Garbage for revision 1: bad_sdp, and the offer still awaits a real answer. */
    remote_sdp(f, 5, "answer", stale, strlen(stale), "a1", "1");
    for (int spins = 0; spins < 200 && count(f, HX_SFU_EV_ERROR, 5) < 2; spins++) {
        uv_run(&f->loop, UV_RUN_NOWAIT);
        usleep(5000);
    }
    assert_true(hx_sfu_field_is(nth_of(f, HX_SFU_EV_ERROR, 5, 1), HX_SFU_T_CODE, "bad_sdp"));

    /* Closing the publisher closes its tracks. */
    uint8_t buf[128];
    hx_sfu_builder b;
    hx_sfu_build(&b, buf, sizeof buf, HX_SFU_TRANSPORT_CLOSE, 2);
    hx_sfu_put_cstr(&b, HX_SFU_T_REASON, "left");
    post(f, &b);
    for (int spins = 0; spins < 200 && count(f, HX_SFU_EV_TRACK_CLOSED, 2) < 2; spins++) {
        uv_run(&f->loop, UV_RUN_NOWAIT);
        usleep(5000);
    }
    assert_int_equal(count(f, HX_SFU_EV_TRACK_CLOSED, 2), 2);
    track_cmd(f, HX_SFU_SUBSCRIBE, 5, audio, "s3");
    i = wait_for(f, HX_SFU_EV_ERROR, 5);
    i = count(f, HX_SFU_EV_ERROR, 5);
    for (int spins = 0; spins < 200 && count(f, HX_SFU_EV_ERROR, 5) < 3; spins++) {
        uv_run(&f->loop, UV_RUN_NOWAIT);
        usleep(5000);
    }
    assert_true(hx_sfu_field_is(nth_of(f, HX_SFU_EV_ERROR, 5, 2), HX_SFU_T_CODE, "unknown_track"));
}

static void test_simulcast_and_aiortc(void **state)
{
    fixture *f = *state;
    open_transport(f, 10, "r", "p_sim", "publisher", HX_SFU_F_PUBLISH);
    size_t len;
    const char *offer = read_fixture("chromium_pub_simulcast.sdp", &len);
    remote_sdp(f, 10, "offer", offer, len, NULL, NULL);
    wait_for(f, HX_SFU_EV_LOCAL_SDP, 10);
    const hx_sfu_msg *v = NULL;
    for (int k = 0; (v = nth_of(f, HX_SFU_EV_TRACK_PUBLISHED, 10, k)); k++)
        if (hx_sfu_field_is(v, HX_SFU_T_MEDIA_KIND, "video")) break;
    assert_non_null(v);
    assert_true(hx_sfu_field_is(v, HX_SFU_T_LAYERS, "q,h,f"));

    /* aiortc: AES-CM only, colliding extmap ids; answered, both tracks published. */
    open_transport(f, 12, "r", "p_aio", "publisher", HX_SFU_F_PUBLISH | HX_SFU_F_DATA);
    offer = read_fixture("aiortc_pub.sdp", &len);
    remote_sdp(f, 12, "offer", offer, len, "x", NULL);
    int i = wait_for(f, HX_SFU_EV_LOCAL_SDP, 12);
    assert_true(hx_sfu_field_is(&f->r.m[i], HX_SFU_T_REQUEST, "x"));
    assert_int_equal(count(f, HX_SFU_EV_TRACK_PUBLISHED, 12), 2);

    /* Refusals: another room's track, unknown transport, a subscriber offering, a bad offer. */
    open_transport(f, 13, "other", "p_x", "subscriber", HX_SFU_F_SUBSCRIBE);
    track_cmd(f, HX_SFU_SUBSCRIBE, 13, field(v, HX_SFU_T_TRACK), "t1");
    i = wait_for(f, HX_SFU_EV_ERROR, 13);
    assert_true(hx_sfu_field_is(&f->r.m[i], HX_SFU_T_CODE, "unknown_track"));
    track_cmd(f, HX_SFU_PAUSE, 99, "TR_x", "t2");
    i = wait_for(f, HX_SFU_EV_ERROR, 99);
    assert_true(hx_sfu_field_is(&f->r.m[i], HX_SFU_T_CODE, "not_found"));
    remote_sdp(f, 13, "offer", offer, len, "t3", NULL);
    for (int spins = 0; spins < 200 && count(f, HX_SFU_EV_ERROR, 13) < 2; spins++) {
        uv_run(&f->loop, UV_RUN_NOWAIT);
        usleep(5000);
    }
    assert_true(hx_sfu_field_is(nth_of(f, HX_SFU_EV_ERROR, 13, 1), HX_SFU_T_CODE, "bad_request"));
    const char *junk = "v=0\r\no=broken\r\n";
    remote_sdp(f, 10, "offer", junk, strlen(junk), "t4", NULL);
    i = wait_for(f, HX_SFU_EV_ERROR, 10);
    assert_true(hx_sfu_field_is(&f->r.m[i], HX_SFU_T_CODE, "bad_sdp"));
    assert_non_null(strstr(field(&f->r.m[i], HX_SFU_T_REASON), "line 2"));
    /* The bad offer left the published tracks alone. */
    assert_int_equal(count(f, HX_SFU_EV_TRACK_CLOSED, 10), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_publish_and_subscribe, setup, teardown),
        cmocka_unit_test_setup_teardown(test_simulcast_and_aiortc, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
