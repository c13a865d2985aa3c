/*
 * The SLI counters (core/slo.h) where signaling meets the engine
 * (signal/media.c, signal/media_events.c), on a socketless server whose
 * "engine" records commands and whose events the test writes in sfu.h
 * bytes: publisher offers taken, answered, refused by the engine or not
 * taken at all; subscriber offers sent, unanswered, not built; the media
 * stages from the engine's milestones and states, once per session; and
 * each session's outcome when it leaves: a failure at the stage it missed,
 * with the transport's reason, "no_media" without an offer, nothing once
 * media flowed.
 */
#include "support/test_http.h"
#include "support/test_peer.h"

#include "core/slo.h"
#include "metrics/prom.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

typedef struct world {
    hx_test_server t;
    peer alice, bob, carol;
} world;

static bool refuse_posts; /* the engine's queue is full */
static int n_posts;

static int fake_post(void *ctx, const uint8_t *msg, size_t len)
{
    (void)ctx;
    (void)msg;
    (void)len;
    if (refuse_posts) return -1;
    n_posts++;
    return 0;
}

static hx_server *S(world *w)
{
    return &w->t.srv;
}

static int setup(void **state)
{
    world *w = calloc(1, sizeof *w);
    if (!w || hx_test_server_init(&w->t, NULL, NULL)) return -1;
    w->t.srv.sfu_post = fake_post;
    refuse_posts = false;
    peer *all[] = {&w->alice, &w->bob, &w->carol};
    const char *users[] = {"alice", "bob", "carol"};
    for (int i = 0; i < 3; i++) {
        peer_open(S(w), all[i], 2);
        join_with_grants(S(w), all[i], "r", users[i], "d", HX_GRANT_DEFAULT_FLAGS);
        assert_true(all[i]->sess->media_serial != 0);
    }
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    world *w = *state;
    peer_free(&w->alice);
    peer_free(&w->bob);
    peer_free(&w->carol);
    size_t open = hx_test_server_free(&w->t);
    free(w);
    return open == 0 ? 0 : -1;
}

/* name{k1=v1[,k2=v2]} on the server's /metrics text; fails when absent. */
static double metric(hx_server *s, const char *name, const char *k1, const char *v1, const char *k2,
                     const char *v2)
{
    size_t len;
    char *text = hx_metrics_render(&s->metrics, &len), err[128];
    assert_non_null(text);
    hx_prom p;
    if (hx_prom_parse(&p, text, len, err, sizeof err)) fail_msg("%s", err);
    free(text);
    double v = NAN;
    for (size_t i = 0; i < p.n && isnan(v); i++) {
        const hx_prom_sample *x = &p.samples[i];
        const char *a = k1 ? hx_prom_label(x, k1) : NULL, *b = k2 ? hx_prom_label(x, k2) : NULL;
        if (!strcmp(x->name, name) && (!k1 || (a && !strcmp(a, v1))) && (!k2 || (b && !strcmp(b, v2))))
            v = x->value;
    }
    hx_prom_free(&p);
    if (isnan(v)) fail_msg("no %s{%s=%s,%s=%s}", name, k1 ? k1 : "", v1 ? v1 : "", k2 ? k2 : "", v2 ? v2 : "");
    return v;
}

static double funnel(world *w, const char *stage)
{
    return metric(S(w), "hearth_join_funnel_total", "stage", stage, NULL, NULL);
}

static double funnel_failed(world *w, const char *stage, const char *reason)
{
    return metric(S(w), "hearth_join_funnel_failures_total", "stage", stage, "reason", reason);
}

static double offers(world *w, const char *pc)
{
    return metric(S(w), "hearth_offers_total", "pc", pc, NULL, NULL);
}

static double offers_failed(world *w, const char *pc, const char *reason)
{
    return metric(S(w), "hearth_offers_failed_total", "pc", pc, "reason", reason);
}

static double attempts(world *w)
{
    return metric(S(w), "hearth_join_media_attempts_total", NULL, NULL, NULL, NULL);
}

/* An engine event for p's transport of `role`: fields as tag/value pairs, 0-terminated. */
static void engine_event(world *w, peer *p, int role, hx_sfu_kind kind, uint32_t flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    engine_event_v(S(w), peer_transport(p, role), kind, flags, ap);
    va_end(ap);
}

static void publisher_offer(peer *p, const char *id)
{
    send_json(p, json_pack("{s:s, s:s, s:{s:s, s:s}}", "type", "sdp.offer", "id", id, "data", "pc",
                           "publisher", "sdp", "v=0\r\n"));
}

/* `leave`, then the connection closes: out of the room, its media closed. */
static void leave(peer *p)
{
    send_json(p, json_pack("{s:s, s:s, s:{}}", "type", "leave", "id", "bye", "data"));
    assert_int_equal(p->c.close_code, 1000);
    peer_gone(p);
}

static void counted_where_they_happen(void **state)
{
    world *w = *state;
    assert_true(funnel(w, "ticket_minted") == 3); /* join_with_grants minted three */
    hx_slo_init(S(w)); /* as the first /metrics does: the series not counted yet, at zero */
    assert_true(funnel(w, "ticket_minted") == 3);

    /* alice's offer: taken by the engine, answered. */
    publisher_offer(&w->alice, "o1");
    assert_true(offers(w, "publisher") == 1);
    assert_true(attempts(w) == 1);
    engine_event(w, &w->alice, 0, HX_SFU_EV_LOCAL_SDP, 0, HX_SFU_T_SDP_TYPE, "answer", HX_SFU_T_SDP,
                 "v=0\r\n", HX_SFU_T_REQUEST, "o1", 0);
    assert_string_equal(hx_test_msg_type(hx_test_client_last(&w->alice.c, NULL)), "ack");
    /* Her second offer: the engine cannot parse it. */
    publisher_offer(&w->alice, "o2");
    engine_event(w, &w->alice, 0, HX_SFU_EV_ERROR, 0, HX_SFU_T_CODE, "bad_sdp", HX_SFU_T_REASON,
                 "offer line 1: ...", HX_SFU_T_REQUEST, "o2", 0);
    assert_string_equal(hx_test_client_last_error(&w->alice.c), "bad_sdp");
    assert_true(offers(w, "publisher") == 2);
    assert_true(offers_failed(w, "publisher", "bad_sdp") == 1);
    assert_true(attempts(w) == 1); /* one per session */

    /* Our subscriber offer to alice, unanswered; then one the engine could not build. */
    engine_event(w, &w->alice, 1, HX_SFU_EV_LOCAL_SDP, 0, HX_SFU_T_SDP_TYPE, "offer", HX_SFU_T_SDP,
                 "v=0\r\n", HX_SFU_T_REVISION, "1", 0);
    assert_int_equal(hx_test_client_count(&w->alice.c, "sdp.offer"), 1);
    assert_true(offers(w, "subscriber") == 1);
    engine_event(w, &w->alice, 1, HX_SFU_EV_NEGOTIATION_FAILED, 0, HX_SFU_T_CODE, "answer_timeout",
                 HX_SFU_T_REASON, "offer 1 not answered", HX_SFU_T_REVISION, "1", 0);
    assert_true(offers_failed(w, "subscriber", "answer_timeout") == 1);
    engine_event(w, &w->alice, 1, HX_SFU_EV_ERROR, 0, HX_SFU_T_CODE, "negotiation_failed",
                 HX_SFU_T_REASON, "cannot build the subscriber offer", 0);
    assert_true(offers(w, "subscriber") == 2);
    assert_true(offers_failed(w, "subscriber", "negotiation_failed") == 1);

    /* alice's media comes up: each stage once, though both transports report it. */
    engine_event(w, &w->alice, 0, HX_SFU_EV_MILESTONE, 0, HX_SFU_T_STATE, "ice_connected", 0);
    engine_event(w, &w->alice, 1, HX_SFU_EV_MILESTONE, 0, HX_SFU_T_STATE, "ice_connected", 0);
    assert_true(funnel(w, "ice_connected") == 1);
    engine_event(w, &w->alice, 0, HX_SFU_EV_STATE, 0, HX_SFU_T_STATE, "connected", 0);
    engine_event(w, &w->alice, 1, HX_SFU_EV_STATE, 0, HX_SFU_T_STATE, "connected", 0);
    assert_true(funnel(w, "dtls_connected") == 1);
    assert_true(metric(S(w), "hearth_join_media_within_target_total", NULL, NULL, NULL, NULL) == 1);
    assert_true(funnel(w, "first_media") == 0);
    size_t told = hx_test_client_count(&w->alice.c, NULL);
    engine_event(w, &w->alice, 1, HX_SFU_EV_MILESTONE, 0, HX_SFU_T_STATE, "first_media", 0);
    engine_event(w, &w->alice, 0, HX_SFU_EV_MILESTONE, 0, HX_SFU_T_STATE, "first_media", 0);
    engine_event(w, &w->alice, 0, HX_SFU_EV_MILESTONE, 0, HX_SFU_T_STATE, "made_up", 0);
    assert_true(funnel(w, "first_media") == 1);
    assert_int_equal(hx_test_client_count(&w->alice.c, NULL), told); /* clients never see them */

    /* bob's offer finds the engine's queue full. */
    refuse_posts = true;
    publisher_offer(&w->bob, "b1");
    refuse_posts = false;
    assert_string_equal(hx_test_client_last_error(&w->bob.c), "media_unavailable");
    assert_true(offers(w, "publisher") == 3);
    assert_true(offers_failed(w, "publisher", "engine_unavailable") == 1);
    assert_true(attempts(w) == 1);

    /* carol offers, her transport never connects. */
    publisher_offer(&w->carol, "c1");
    assert_true(attempts(w) == 2);
    engine_event(w, &w->carol, 0, HX_SFU_EV_STATE, 0, HX_SFU_T_STATE, "failed", HX_SFU_T_REASON,
                 "connect_timeout: ice checking, dtls none", 0);

    /* They leave: one outcome each, where they stopped. */
    leave(&w->alice);
    leave(&w->bob);
    leave(&w->carol);
    assert_true(funnel_failed(w, "ice_connected", "connect_timeout") == 1); /* carol */
    assert_true(funnel_failed(w, "ice_connected", "no_media") == 1);        /* bob */
    size_t len;
    char *text = hx_metrics_render(&S(w)->metrics, &len), err[128];
    hx_prom p;
    assert_int_equal(hx_prom_parse(&p, text, len, err, sizeof err), 0);
    free(text);
    assert_true(hx_prom_sum(&p, "hearth_join_funnel_failures_total", NULL, NULL, NULL) == 2);
    hx_prom_free(&p);
}

/* The first /metrics shows every SLI series, at zero. */
static void metrics_endpoint_shows_them(void **state)
{
    world *w = *state;
    assert_false(metrics_have(S(w), "hearth_reconnects_total")); /* nothing counted them yet */
    answer a = get(S(w), "/metrics", NULL);
    assert_int_equal(a.status, 200);
    assert_non_null(strstr(a.text, "hearth_reconnects_total{kind=\"restart\",outcome=\"revoked\"} 0\n"));
    assert_non_null(strstr(a.text, "hearth_join_funnel_failures_total{stage=\"joined\",reason=\"room_full\"} 0\n"));
    assert_non_null(strstr(a.text, "hearth_offers_failed_total{pc=\"subscriber\",reason=\"offer_refused\"} 0\n"));
    assert_non_null(strstr(a.text, "hearth_join_media_within_target_total 0\n"));
    answer_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(counted_where_they_happen, setup, teardown),
        cmocka_unit_test_setup_teardown(metrics_endpoint_shows_them, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
