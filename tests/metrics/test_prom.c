/*
 * Unit tests for metrics/prom (reading the Prometheus text format back):
 * what hx_metrics_render writes reads back to the same series and values
 * (labels unescaped, histograms' le), the grammar's corners (comments,
 * CRLF, timestamps, +Inf/NaN, blanks in label sets, a trailing comma), and
 * each malformed line refused with its line number and nothing kept.
 */
#include "metrics/metrics.h"
#include "metrics/prom.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static hx_metrics m; /* large: keep it off the stack */

static int parse(hx_prom *p, const char *text, char *err, size_t errlen)
{
    return hx_prom_parse(p, text, strlen(text), err, errlen);
}

/* The one sample called name with label (k, v) (k NULL: any). */
static const hx_prom_sample *one(const hx_prom *p, const char *name, const char *k, const char *v)
{
    const hx_prom_sample *found = NULL;
    for (size_t i = 0; i < p->n; i++) {
        const char *lv = k ? hx_prom_label(&p->samples[i], k) : NULL;
        if (strcmp(p->samples[i].name, name) || (k && (!lv || strcmp(lv, v)))) continue;
        if (found) fail_msg("%s{%s=%s} twice", name, k ? k : "", v ? v : "");
        found = &p->samples[i];
    }
    if (!found) fail_msg("no %s{%s=%s}", name, k ? k : "", v ? v : "");
    return found;
}

static void test_render_round_trip(void **state)
{
    (void)state;
    static const double bounds[] = {0.01, 0.1, 1};
    hx_metrics_init(&m);
    hx_metrics_add(&m, "hx_req_total", "Requests", "status", "200", 3);
    hx_metrics_add(&m, "hx_req_total", "Requests", "status", "a\"b\\c\nd", 1);
    hx_metrics_add2(&m, "hx_fail_total", "Failures", "stage", "joined", "reason", "room_full", 2);
    hx_metrics_add2(&m, "hx_fail_total", "Failures", "stage", "joined", "reason", "banned", 0);
    hx_metrics_set(&m, "hx_rooms", "Rooms", 12345678901.125);
    hx_metrics_inc(&m, "hx_plain_total", "Plain");
    hx_metrics_observe(&m, "hx_lat_seconds", "Latency", bounds, 3, 0.05);
    hx_metrics_observe(&m, "hx_lat_seconds", "Latency", bounds, 3, 5);
    size_t len;
    char *text = hx_metrics_render(&m, &len);
    assert_non_null(text);
    hx_prom p;
    char err[128] = "";
    assert_int_equal(hx_prom_parse(&p, text, len, err, sizeof err), 0);
    free(text);
    /* 2 + 2 + 1 + 1 samples, then 4 buckets, _sum and _count. */
    assert_int_equal(p.n, 12);
    assert_true(one(&p, "hx_req_total", "status", "200")->value == 3);
    assert_true(one(&p, "hx_req_total", "status", "a\"b\\c\nd")->value == 1);
    const hx_prom_sample *s = one(&p, "hx_fail_total", "reason", "room_full");
    assert_int_equal(s->n_labels, 2);
    assert_string_equal(hx_prom_label(s, "stage"), "joined");
    assert_true(s->value == 2);
    assert_true(one(&p, "hx_fail_total", "reason", "banned")->value == 0);
    assert_true(one(&p, "hx_rooms", NULL, NULL)->value == 12345678901.125);
    assert_true(one(&p, "hx_plain_total", NULL, NULL)->value == 1);
    assert_int_equal(one(&p, "hx_plain_total", NULL, NULL)->n_labels, 0);
    assert_true(one(&p, "hx_lat_seconds_bucket", "le", "0.1")->value == 1);
    assert_true(one(&p, "hx_lat_seconds_bucket", "le", "+Inf")->value == 2);
    assert_true(one(&p, "hx_lat_seconds_count", NULL, NULL)->value == 2);
    /* Sums: by name, by one label. */
    size_t n = 0;
    assert_true(hx_prom_sum(&p, "hx_fail_total", NULL, NULL, &n) == 2);
    assert_int_equal(n, 2);
    assert_true(hx_prom_sum(&p, "hx_fail_total", "stage", "joined", &n) == 2);
    assert_int_equal(n, 2);
    assert_true(hx_prom_sum(&p, "hx_fail_total", "stage", "ice", &n) == 0);
    assert_int_equal(n, 0);
    assert_true(hx_prom_sum(&p, "hx_none", NULL, NULL, NULL) == 0);
    hx_prom_free(&p);
    assert_null(p.text);
    assert_null(p.samples);
}

static void test_grammar(void **state)
{
    (void)state;
    const char *text = "# HELP a_total A thing\r\n"
                       "# TYPE a_total counter\r\n"
                       "\n"
                       "   \t\n"
                       "# any other comment { \"\n"
                       "a_total 1 1700000000000\r\n"
                       "ns:sub:rate_total{ k = \"v\" , k2=\"\", } +Inf\n"
                       "b {x=\"1\"} -Inf\n"
                       "c\tNaN -5\n"
                       "d{} 2.5e-3\n"
                       "  e 7"; /* no newline at the end */
    hx_prom p;
    char err[128] = "";
    assert_int_equal(parse(&p, text, err, sizeof err), 0);
    assert_int_equal(p.n, 6);
    assert_true(one(&p, "a_total", NULL, NULL)->value == 1);
    const hx_prom_sample *s = one(&p, "ns:sub:rate_total", "k", "v");
    assert_int_equal(s->n_labels, 2);
    assert_string_equal(hx_prom_label(s, "k2"), "");
    assert_true(isinf(s->value) && s->value > 0);
    s = one(&p, "b", "x", "1");
    assert_true(isinf(s->value) && s->value < 0);
    assert_true(isnan(one(&p, "c", NULL, NULL)->value));
    assert_true(one(&p, "d", NULL, NULL)->value == 2.5e-3);
    assert_int_equal(one(&p, "d", NULL, NULL)->n_labels, 0);
    assert_true(one(&p, "e", NULL, NULL)->value == 7);
    assert_null(hx_prom_label(one(&p, "e", NULL, NULL), "x"));
    hx_prom_free(&p);

    assert_int_equal(parse(&p, "", err, sizeof err), 0);
    assert_int_equal(p.n, 0);
    hx_prom_free(&p);
}

static void test_refusals(void **state)
{
    (void)state;
    static const struct {
        const char *text, *err;
    } bad[] = {
        {"a 1\nb\n", "line 2: a sample without a value"},
        {"a 1\n\n9a 1\n", "line 3: a metric name expected"},
        {"a{b=\"c} 1\n", "line 1: a label value without its closing quote"},
        {"a{b=\"c\nd\"} 1\n", "line 1: a label value without its closing quote"},
        {"a{b=\"\\t\"} 1\n", "line 1: an escape other than \\\\, \\\" or \\n in a label value"},
        {"a{b=\"1\",b=\"2\"} 1\n", "line 1: a label named twice"},
        {"a{1=\"2\"} 1\n", "line 1: a label name expected"},
        {"a{b:c=\"2\"} 1\n", "line 1: '=' expected after a label name"},
        {"a{b=c} 1\n", "line 1: a quoted label value expected"},
        {"a{b=\"c\" d=\"e\"} 1\n", "line 1: ',' or '}' expected after a label"},
        {"a{b=\"c\"}1\n", "line 1: a blank expected before the value"},
        {"a=1\n", "line 1: a blank expected before the value"},
        {"a one\n", "line 1: the value is not a number"},
        {"a 1x\n", "line 1: the value is not a number"},
        {"a \n", "line 1: the value is not a number"},
        {"a 1 2.5\n", "line 1: the timestamp is not an integer"},
        {"a 1 2 3\n", "line 1: more than a value and a timestamp after the name"},
        {"a{l0=\"\",l1=\"\",l2=\"\",l3=\"\",l4=\"\",l5=\"\",l6=\"\",l7=\"\",l8=\"\"} 1\n",
         "line 1: too many labels"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        hx_prom p;
        char err[128] = "";
        if (parse(&p, bad[i].text, err, sizeof err) != -1) fail_msg("parsed: %s", bad[i].text);
        if (strcmp(err, bad[i].err)) fail_msg("%s: got '%s', want '%s'", bad[i].text, err, bad[i].err);
        assert_int_equal(p.n, 0); /* nothing kept */
        assert_null(p.samples);
        assert_null(p.text);
        hx_prom_free(&p);
    }
    /* A NUL byte is refused too (by length, not at the NUL). */
    hx_prom p;
    char err[128] = "";
    assert_int_equal(hx_prom_parse(&p, "a 1\nb\0 2\n", 9, err, sizeof err), -1);
    assert_string_equal(err, "line 2: a NUL byte");
    hx_prom_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_render_round_trip),
        cmocka_unit_test(test_grammar),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
