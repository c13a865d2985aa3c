/*
 * Unit tests for core/slo: every SLI series on /metrics at zero from the
 * first scrape, with closed label sets (an unknown stage, pc, kind or
 * outcome adds nothing; an unknown reason counts as "other"); the counters
 * moving; one session's media stages counted once each, with the stages they
 * imply, the join SLI's 5 s target, and one outcome when its media ends; and
 * hx_slo_evaluate reading a scrape: ratios, the latency SLIs' fraction
 * within 100 ms and p99 (as Prometheus' histogram_quantile), "no data".
 */
#include "core/slo.h"

#include "common/clock.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static hx_server srv; /* only its metrics are used; large: off the stack */
static hx_prom scrape;

static int setup(void **state)
{
    (void)state;
    memset(&srv, 0, sizeof srv);
    hx_metrics_init(&srv.metrics);
    memset(&scrape, 0, sizeof scrape);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    hx_prom_free(&scrape);
    return 0;
}

/* Render the server's metrics and read them back into `scrape`. */
static void rescrape(void)
{
    size_t len;
    char *text = hx_metrics_render(&srv.metrics, &len);
    assert_non_null(text);
    hx_prom_free(&scrape);
    char err[128];
    if (hx_prom_parse(&scrape, text, len, err, sizeof err)) fail_msg("%s", err);
    free(text);
}

/* The value of name{k1=v1[,k2=v2]}; fails when the series is absent. */
static double val2(const char *name, const char *k1, const char *v1, const char *k2, const char *v2)
{
    rescrape();
    for (size_t i = 0; i < scrape.n; i++) {
        const hx_prom_sample *s = &scrape.samples[i];
        if (strcmp(s->name, name) || s->n_labels != (size_t)(k1 != NULL) + (k2 != NULL)) continue;
        const char *a = k1 ? hx_prom_label(s, k1) : NULL, *b = k2 ? hx_prom_label(s, k2) : NULL;
        if ((k1 && (!a || strcmp(a, v1))) || (k2 && (!b || strcmp(b, v2)))) continue;
        return s->value;
    }
    fail_msg("no series %s{%s=%s,%s=%s}", name, k1 ? k1 : "", v1 ? v1 : "", k2 ? k2 : "", v2 ? v2 : "");
    return NAN;
}

static double val(const char *name, const char *k, const char *v)
{
    return val2(name, k, v, NULL, NULL);
}

static double funnel(const char *stage)
{
    return val("hearth_join_funnel_total", "stage", stage);
}

static double failed(const char *stage, const char *reason)
{
    return val2("hearth_join_funnel_failures_total", "stage", stage, "reason", reason);
}

static const char *const stages[] = {"ticket_minted", "signal_connected", "joined",
                                     "ice_connected", "dtls_connected",   "first_media"};

static void present_at_zero(void **state)
{
    (void)state;
    hx_slo_init(&srv);
    size_t n = srv.metrics.n;
    /* 6 stages, 17 + 4 + 6 + 4 failure reasons, 2 join counters, 2 + 8 offer series, 12 reconnect. */
    assert_int_equal(n, 6 + 31 + 2 + 10 + 12);
    hx_slo_init(&srv); /* idempotent */
    assert_int_equal(srv.metrics.n, n);
    for (size_t i = 0; i < srv.metrics.n; i++) assert_true(srv.metrics.series[i].value == 0);
    for (size_t i = 0; i < 6; i++) assert_true(funnel(stages[i]) == 0);
    assert_true(failed("joined", "room_full") == 0);
    assert_true(failed("joined", "join_timeout") == 0);
    assert_true(failed("joined", "other") == 0);
    assert_true(failed("ice_connected", "no_media") == 0);
    assert_true(failed("dtls_connected", "srtp_failed") == 0);
    assert_true(failed("first_media", "closed") == 0);
    assert_true(val("hearth_join_media_attempts_total", NULL, NULL) == 0);
    assert_true(val("hearth_join_media_within_target_total", NULL, NULL) == 0);
    assert_true(val("hearth_offers_total", "pc", "publisher") == 0);
    assert_true(val("hearth_offers_total", "pc", "subscriber") == 0);
    assert_true(val2("hearth_offers_failed_total", "pc", "publisher", "reason", "engine_unavailable") == 0);
    assert_true(val2("hearth_offers_failed_total", "pc", "subscriber", "reason", "answer_timeout") == 0);
    static const char *const outcomes[] = {"resumed", "expired", "replayed",
                                           "invalid", "sanctioned", "revoked"};
    for (size_t i = 0; i < 6; i++) {
        assert_true(val2("hearth_reconnects_total", "kind", "drop", "outcome", outcomes[i]) == 0);
        assert_true(val2("hearth_reconnects_total", "kind", "restart", "outcome", outcomes[i]) == 0);
    }
    /* Nothing a stage without failures could be counted under. */
    rescrape();
    assert_int_equal(hx_prom_sum(&scrape, "hearth_join_funnel_failures_total", "stage", "ticket_minted", NULL), 0);
    size_t k = 9;
    hx_prom_sum(&scrape, "hearth_join_funnel_failures_total", "stage", "signal_connected", &k);
    assert_int_equal(k, 0);
}

static void counters_move(void **state)
{
    (void)state;
    hx_slo_init(&srv);
    size_t n = srv.metrics.n;
    hx_slo_stage(&srv, "ticket_minted");
    hx_slo_stage(&srv, "ticket_minted");
    hx_slo_stage(&srv, "joined");
    hx_slo_stage(&srv, "made_up");
    hx_slo_stage(&srv, NULL);
    assert_true(funnel("ticket_minted") == 2);
    assert_true(funnel("joined") == 1);
    assert_true(funnel("signal_connected") == 0);

    hx_slo_stage_failed(&srv, "joined", "room_full");
    hx_slo_stage_failed(&srv, "joined", "ticket_replayed");
    hx_slo_stage_failed(&srv, "joined", "some_new_code");
    hx_slo_stage_failed(&srv, "joined", NULL);
    hx_slo_stage_failed(&srv, "ticket_minted", "room_full"); /* no failures there */
    hx_slo_stage_failed(&srv, "made_up", "room_full");
    assert_true(failed("joined", "room_full") == 1);
    assert_true(failed("joined", "ticket_replayed") == 1);
    assert_true(failed("joined", "other") == 2);

    hx_slo_offer(&srv, "publisher");
    hx_slo_offer(&srv, "publisher");
    hx_slo_offer(&srv, "subscriber");
    hx_slo_offer(&srv, "sideways");
    hx_slo_offer_failed(&srv, "publisher", "bad_sdp");
    hx_slo_offer_failed(&srv, "publisher", "internal_error"); /* any other engine refusal */
    hx_slo_offer_failed(&srv, "subscriber", "offer_refused");
    hx_slo_offer_failed(&srv, "subscriber", "engine_unavailable"); /* not a subscriber reason */
    hx_slo_offer_failed(&srv, NULL, "bad_sdp");
    assert_true(val("hearth_offers_total", "pc", "publisher") == 2);
    assert_true(val("hearth_offers_total", "pc", "subscriber") == 1);
    assert_true(val2("hearth_offers_failed_total", "pc", "publisher", "reason", "bad_sdp") == 1);
    assert_true(val2("hearth_offers_failed_total", "pc", "publisher", "reason", "engine_error") == 1);
    assert_true(val2("hearth_offers_failed_total", "pc", "subscriber", "reason", "offer_refused") == 1);
    assert_true(val2("hearth_offers_failed_total", "pc", "subscriber", "reason", "engine_error") == 1);

    assert_true(hx_slo_reconnect(&srv, "drop", "resumed"));
    assert_true(hx_slo_reconnect(&srv, "drop", "resume_expired"));
    assert_true(hx_slo_reconnect(&srv, "restart", "kicked"));
    assert_true(hx_slo_reconnect(&srv, "restart", "user_revoked"));
    assert_true(hx_slo_reconnect(&srv, "restart", "resume_invalid"));
    assert_false(hx_slo_reconnect(&srv, "drop", "draining"));
    assert_false(hx_slo_reconnect(&srv, "crash", "resumed"));
    assert_false(hx_slo_reconnect(&srv, "drop", NULL));
    assert_true(val2("hearth_reconnects_total", "kind", "drop", "outcome", "resumed") == 1);
    assert_true(val2("hearth_reconnects_total", "kind", "drop", "outcome", "expired") == 1);
    assert_true(val2("hearth_reconnects_total", "kind", "restart", "outcome", "sanctioned") == 1);
    assert_true(val2("hearth_reconnects_total", "kind", "restart", "outcome", "revoked") == 1);
    assert_true(val2("hearth_reconnects_total", "kind", "restart", "outcome", "invalid") == 1);
    /* The label sets stayed closed. */
    assert_int_equal(srv.metrics.n, n);
}

static void media_stages_once(void **state)
{
    (void)state;
    hx_slo_init(&srv);
    size_t n = srv.metrics.n;

    /* A session that goes all the way: each stage once, whatever repeats. */
    hx_slo_marks a = {0};
    hx_slo_media_negotiating(&srv, &a);
    hx_slo_media_negotiating(&srv, &a); /* its other PeerConnection's offer */
    hx_slo_media_reached(&srv, &a, "ice_connected");
    hx_slo_media_reached(&srv, &a, "ice_connected");
    hx_slo_media_reached(&srv, &a, "dtls_connected");
    hx_slo_media_reached(&srv, &a, "dtls_connected");
    hx_slo_media_reached(&srv, &a, "joined"); /* not a media stage */
    hx_slo_media_reached(&srv, &a, "first_media");
    hx_slo_media_failed(&srv, &a, "ice: consent not regained"); /* after media: not the funnel's */
    hx_slo_media_closed(&srv, &a);
    assert_true(val("hearth_join_media_attempts_total", NULL, NULL) == 1);
    assert_true(val("hearth_join_media_within_target_total", NULL, NULL) == 1);
    assert_true(funnel("ice_connected") == 1);
    assert_true(funnel("dtls_connected") == 1);
    assert_true(funnel("first_media") == 1);
    assert_true(funnel("joined") == 0);
    rescrape();
    assert_true(hx_prom_sum(&scrape, "hearth_join_funnel_failures_total", NULL, NULL, NULL) == 0);

    /* DTLS up implies the check; first media implies both. */
    hx_slo_marks b = {0};
    hx_slo_media_negotiating(&srv, &b);
    hx_slo_media_reached(&srv, &b, "first_media");
    assert_true(funnel("ice_connected") == 2);
    assert_true(funnel("dtls_connected") == 2);
    assert_true(funnel("first_media") == 2);
    assert_true(val("hearth_join_media_within_target_total", NULL, NULL) == 2);

    /* Connected, but 6 s after the first offer: counted, not within the target. */
    hx_slo_marks c = {0};
    hx_slo_media_negotiating(&srv, &c);
    c.negotiated_ms -= HX_SLO_JOIN_TARGET_MS + 1000;
    hx_slo_media_reached(&srv, &c, "dtls_connected");
    assert_true(funnel("dtls_connected") == 3);
    assert_true(val("hearth_join_media_attempts_total", NULL, NULL) == 3);
    assert_true(val("hearth_join_media_within_target_total", NULL, NULL) == 2);
    /* ... then it ends before media flowed: one failure, at first_media. */
    hx_slo_media_closed(&srv, &c);
    hx_slo_media_closed(&srv, &c);
    assert_true(failed("first_media", "closed") == 1);

    /* Never connected: the transports' last failure names why, at the first stage missed. */
    hx_slo_marks d = {0};
    hx_slo_media_negotiating(&srv, &d);
    hx_slo_media_failed(&srv, &d, "connect_timeout: ice new, dtls none");
    hx_slo_media_closed(&srv, &d);
    assert_true(failed("ice_connected", "connect_timeout") == 1);
    assert_true(funnel("ice_connected") == 3);

    hx_slo_marks e = {0}; /* a DTLS failure: a check had passed */
    hx_slo_media_negotiating(&srv, &e);
    hx_slo_media_failed(&srv, &e, "dtls: handshake failure");
    assert_true(funnel("ice_connected") == 4);
    hx_slo_media_closed(&srv, &e);
    assert_true(failed("dtls_connected", "dtls_failed") == 1);

    hx_slo_marks f = {0}; /* no offer ever, then gone */
    hx_slo_media_closed(&srv, &f);
    assert_true(failed("ice_connected", "no_media") == 1);

    hx_slo_marks g = {0}; /* negotiated, left before any check */
    hx_slo_media_negotiating(&srv, &g);
    hx_slo_media_closed(&srv, &g);
    assert_true(failed("ice_connected", "closed") == 1);

    hx_slo_marks h = {0}; /* an engine reason the table does not know */
    hx_slo_media_negotiating(&srv, &h);
    hx_slo_media_failed(&srv, &h, "something new");
    hx_slo_media_closed(&srv, &h);
    assert_true(failed("ice_connected", "other") == 1);
    assert_true(funnel("ice_connected") == 4); /* "other" implies nothing */

    /* Exempt (restored after a restart): nothing more is counted. */
    hx_slo_marks x = {0};
    hx_slo_marks_exempt(&x);
    hx_slo_media_negotiating(&srv, &x);
    hx_slo_media_reached(&srv, &x, "first_media");
    hx_slo_media_closed(&srv, &x);
    assert_true(val("hearth_join_media_attempts_total", NULL, NULL) == 7);
    assert_true(funnel("first_media") == 2);
    assert_true(failed("first_media", "closed") == 1);
    assert_int_equal(srv.metrics.n, n);
}

static const hx_sli *sli_named(const hx_sli *s, const char *name)
{
    for (int i = 0; i < HX_SLI_N; i++)
        if (!strcmp(s[i].name, name)) return &s[i];
    fail_msg("no SLI %s", name);
    return NULL;
}

static void evaluate_scrape(void **state)
{
    (void)state;
    hx_sli s[HX_SLI_N];
    /* Nothing counted yet: every SLI has no data. */
    hx_slo_init(&srv);
    rescrape();
    hx_slo_evaluate(&scrape, s);
    for (int i = 0; i < HX_SLI_N; i++) {
        assert_int_equal(s[i].status, HX_SLI_NO_DATA);
        assert_true(isnan(s[i].value));
        assert_string_equal(hx_sli_status_name(s[i].status), "no data");
    }

    /* Join: 2 of 2 within 5 s. */
    hx_slo_marks a = {0}, b = {0};
    hx_slo_media_negotiating(&srv, &a);
    hx_slo_media_reached(&srv, &a, "dtls_connected");
    hx_slo_media_negotiating(&srv, &b);
    hx_slo_media_reached(&srv, &b, "dtls_connected");
    /* Offers: 1 failed of 4, far over 0.1 %. */
    for (int i = 0; i < 3; i++) hx_slo_offer(&srv, "publisher");
    hx_slo_offer(&srv, "subscriber");
    hx_slo_offer_failed(&srv, "subscriber", "answer_timeout");
    /* Reconnects: 199 resumed, 1 expired, and refusals by policy that do not count. */
    for (int i = 0; i < 199; i++) hx_slo_reconnect(&srv, i % 2 ? "drop" : "restart", "resumed");
    hx_slo_reconnect(&srv, "drop", "expired");
    for (int i = 0; i < 5; i++) hx_slo_reconnect(&srv, "drop", "banned");
    hx_slo_reconnect(&srv, "restart", "session_revoked");
    /* Forced disconnects (media): 99 fast, 1 slow: exactly 99 % within 100 ms. */
    static const double bounds[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5};
    for (int i = 0; i < 99; i++)
        hx_metrics_observe(&srv.metrics, "hearth_forced_disconnect_media_seconds", "x", bounds, 11, 0.004);
    hx_metrics_observe(&srv.metrics, "hearth_forced_disconnect_media_seconds", "x", bounds, 11, 0.4);
    rescrape();
    hx_slo_evaluate(&scrape, s);

    const hx_sli *j = sli_named(s, "join_success");
    assert_true(j->count == 2 && j->total == 2 && j->value == 1);
    assert_int_equal(j->status, HX_SLI_OK);
    assert_true(isnan(j->p99_s));
    const hx_sli *r = sli_named(s, "reconnect_success");
    assert_true(r->count == 199 && r->total == 200);
    assert_int_equal(r->status, HX_SLI_OK); /* 99.5 % exactly */
    const hx_sli *fm = sli_named(s, "forced_disconnect_media");
    assert_true(fm->count == 99 && fm->total == 100);
    assert_int_equal(fm->status, HX_SLI_OK);
    /* rank 99 falls in (0.0025, 0.005], which holds all 99: 0.0025 + 0.0025 * 99/99. */
    assert_true(fabs(fm->p99_s - 0.005) < 1e-9);
    assert_int_equal(sli_named(s, "forced_disconnect_close")->status, HX_SLI_NO_DATA);
    const hx_sli *ng = sli_named(s, "negotiation_errors");
    assert_true(ng->count == 1 && ng->total == 4 && ng->value == 0.25);
    assert_int_equal(ng->status, HX_SLI_BELOW);
    assert_string_equal(hx_sli_status_name(ng->status), "below target");
    assert_string_equal(hx_sli_status_name(j->status), "ok");

    /* One more slow one: 99 of 101, p99 now past 100 ms; one more expiry: under 99.5 %. */
    hx_metrics_observe(&srv.metrics, "hearth_forced_disconnect_media_seconds", "x", bounds, 11, 0.4);
    hx_slo_reconnect(&srv, "restart", "resume_replayed");
    /* A join connected late. */
    hx_slo_marks c = {0};
    hx_slo_media_negotiating(&srv, &c);
    c.negotiated_ms -= 10000;
    hx_slo_media_reached(&srv, &c, "dtls_connected");
    rescrape();
    hx_slo_evaluate(&scrape, s);
    assert_int_equal(sli_named(s, "forced_disconnect_media")->status, HX_SLI_BELOW);
    assert_true(sli_named(s, "forced_disconnect_media")->p99_s > 0.1);
    assert_int_equal(sli_named(s, "reconnect_success")->status, HX_SLI_BELOW);
    assert_true(sli_named(s, "join_success")->count == 2 && sli_named(s, "join_success")->total == 3);
    assert_int_equal(sli_named(s, "join_success")->status, HX_SLI_BELOW);
}

/* The quantile as Prometheus computes it, from text another exporter could have written. */
static void evaluate_text(void **state)
{
    (void)state;
    const char *text = "hearth_forced_disconnect_seconds_bucket{le=\"0.2\"} 100\n"
                       "hearth_forced_disconnect_seconds_bucket{le=\"+Inf\"} 100\n"
                       "hearth_forced_disconnect_seconds_bucket{le=\"0.1\"} 50\n"
                       "hearth_forced_disconnect_seconds_count 100\n"
                       "hearth_offers_total{pc=\"publisher\"} 2000\n"
                       "hearth_offers_failed_total{pc=\"publisher\",reason=\"bad_sdp\"} 2\n";
    char err[128];
    assert_int_equal(hx_prom_parse(&scrape, text, strlen(text), err, sizeof err), 0);
    hx_sli s[HX_SLI_N];
    hx_slo_evaluate(&scrape, s);
    const hx_sli *fc = sli_named(s, "forced_disconnect_close");
    /* Buckets sorted by le; rank 99 in (0.1, 0.2]: 0.1 + 0.1 * (99 - 50) / 50. */
    assert_true(fabs(fc->p99_s - 0.198) < 1e-9);
    assert_true(fc->count == 50 && fc->total == 100);
    assert_int_equal(fc->status, HX_SLI_BELOW);
    const hx_sli *ng = sli_named(s, "negotiation_errors");
    assert_true(ng->value == 0.001);
    assert_int_equal(ng->status, HX_SLI_OK); /* 0.1 % is within "<= 0.1 %" */
    assert_int_equal(sli_named(s, "join_success")->status, HX_SLI_NO_DATA);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(present_at_zero, setup, teardown),
        cmocka_unit_test_setup_teardown(counters_move, setup, teardown),
        cmocka_unit_test_setup_teardown(media_stages_once, setup, teardown),
        cmocka_unit_test_setup_teardown(evaluate_scrape, setup, teardown),
        cmocka_unit_test_setup_teardown(evaluate_text, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
