/*
 * Unit tests for metrics/metrics and its Prometheus text rendering
 * (exposition format 0.0.4). The rendered text is parsed back: every
 * family has exactly one "# HELP" and one "# TYPE" line, immediately
 * followed by all of its samples; label values are escaped (backslash,
 * quote, newline); histogram buckets are cumulative in ascending `le`,
 * end with +Inf equal to _count, and _sum adds up.
 */
#include "metrics/metrics.h"

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

static int setup(void **state)
{
    (void)state;
    hx_metrics_init(&m);
    return 0;
}

/* The rendered text, checked for the family structure. Caller frees. */
static char *render_checked(void)
{
    size_t len = 0;
    char *text = hx_metrics_render(&m, &len);
    assert_non_null(text);
    assert_int_equal(strlen(text), len);
    if (len) assert_int_equal(text[len - 1], '\n');
    char seen[64][96];
    size_t nseen = 0;
    char family[96] = "";
    int expect = 0; /* 0 any, 1 TYPE next */
    char *copy = strdup(text);
    for (char *save, *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        char name[96];
        if (strncmp(l, "# HELP ", 7) == 0) {
            assert_int_equal(expect, 0);
            assert_int_equal(sscanf(l + 7, "%95s", name), 1);
            for (size_t i = 0; i < nseen; i++)
                if (strcmp(seen[i], name) == 0) fail_msg("family %s rendered twice", name);
            assert_true(nseen < 64);
            snprintf(seen[nseen++], sizeof seen[0], "%s", name);
            snprintf(family, sizeof family, "%s", name);
            expect = 1;
        } else if (strncmp(l, "# TYPE ", 7) == 0) {
            char type[32];
            assert_int_equal(expect, 1);
            assert_int_equal(sscanf(l + 7, "%95s %31s", name, type), 2);
            assert_string_equal(name, family);
            assert_true(!strcmp(type, "counter") || !strcmp(type, "gauge") || !strcmp(type, "histogram"));
            expect = 0;
        } else {
            assert_int_equal(expect, 0);
            /* A sample belongs to the current family (histograms add suffixes). */
            size_t fl = strlen(family);
            assert_true(fl > 0);
            if (strncmp(l, family, fl) != 0) fail_msg("sample '%s' outside its family %s", l, family);
            const char *rest = l + fl;
            if (*rest == '_') rest += strcspn(rest, "{ ");
            assert_true(*rest == '{' || *rest == ' ');
            const char *sp = strrchr(l, ' ');
            if (!sp) fail_msg("sample line without a value: '%s'", l);
            char *end;
            strtod(sp + 1, &end);
            assert_true(*end == '\0' && end > sp + 1);
        }
    }
    free(copy);
    return text;
}

/* The value of the sample line that starts with `series ` (NAN if absent, fail if twice). */
static double sample(const char *text, const char *series)
{
    size_t sl = strlen(series);
    double v = NAN;
    int found = 0;
    for (const char *l = text; *l;) {
        const char *nl = strchr(l, '\n');
        if (strncmp(l, series, sl) == 0 && l[sl] == ' ') {
            if (found++) fail_msg("series %s appears twice", series);
            v = strtod(l + sl + 1, NULL);
        }
        l = nl ? nl + 1 : l + strlen(l);
    }
    return v;
}

static void test_empty(void **state)
{
    (void)state;
    size_t len = 99;
    char *text = hx_metrics_render(&m, &len);
    assert_non_null(text);
    assert_int_equal(len, 0);
    assert_string_equal(text, "");
    free(text);
}

static void test_counters_and_gauges(void **state)
{
    (void)state;
    /* Series of one family registered between other families' series. */
    hx_metrics_add(&m, "hx_requests_total", "Requests by status", "status", "200", 1);
    hx_metrics_inc(&m, "hx_plain_total", "A counter without labels");
    hx_metrics_add(&m, "hx_requests_total", "Requests by status", "status", "404", 2);
    hx_metrics_set(&m, "hx_rooms", "Open rooms", 3);
    hx_metrics_add(&m, "hx_requests_total", "Requests by status", "status", "200", 4);
    hx_metrics_inc(&m, "hx_plain_total", "A counter without labels");
    hx_metrics_set(&m, "hx_rooms", "Open rooms", 7.5);
    hx_metrics_add(&m, "hx_requests_total", "Requests by status", "status", "500", 0.25);
    char *text = render_checked();
    assert_true(sample(text, "hx_requests_total{status=\"200\"}") == 5);
    assert_true(sample(text, "hx_requests_total{status=\"404\"}") == 2);
    assert_true(sample(text, "hx_requests_total{status=\"500\"}") == 0.25);
    assert_true(sample(text, "hx_plain_total") == 2);
    assert_true(sample(text, "hx_rooms") == 7.5);
    assert_non_null(strstr(text, "# HELP hx_requests_total Requests by status\n# TYPE hx_requests_total counter\n"));
    assert_non_null(strstr(text, "# TYPE hx_plain_total counter\n"));
    assert_non_null(strstr(text, "# HELP hx_rooms Open rooms\n# TYPE hx_rooms gauge\nhx_rooms 7.5\n"));
    /* Families in order of first registration, a family's samples in theirs. */
    const char *a = strstr(text, "# HELP hx_requests_total"), *b = strstr(text, "# HELP hx_plain_total"),
               *c = strstr(text, "# HELP hx_rooms");
    assert_true(a < b && b < c);
    assert_true(strstr(text, "status=\"200\"") < strstr(text, "status=\"404\""));
    assert_true(strstr(text, "status=\"404\"") < strstr(text, "status=\"500\""));
    free(text);
    /* Large and fractional values keep full precision. */
    hx_metrics_set(&m, "hx_rooms", "Open rooms", 12345678901.125);
    text = render_checked();
    assert_true(sample(text, "hx_rooms") == 12345678901.125);
    free(text);
}

static void test_label_values_escaped(void **state)
{
    (void)state;
    hx_metrics_add(&m, "hx_errors_total", "Errors", "code", "a\"b\\c\nd", 1);
    char *text = render_checked();
    assert_true(sample(text, "hx_errors_total{code=\"a\\\"b\\\\c\\nd\"}") == 1);
    free(text);
}

/* A label value longer than the series keeps is still one series. */
static void test_long_label_value(void **state)
{
    (void)state;
    char v[200];
    memset(v, 'v', sizeof v - 1);
    v[sizeof v - 1] = '\0';
    for (int i = 0; i < 10; i++) hx_metrics_add(&m, "hx_long_total", "Long labels", "code", v, 1);
    hx_metrics_add(&m, "hx_long_total", "Long labels", "code", "short", 1);
    assert_int_equal(m.n, 2);
    char *text = render_checked();
    free(text);
}

/* Two labels: each pair of values its own series, rendered k1 then k2, both escaped. */
static void test_two_labels(void **state)
{
    (void)state;
    hx_metrics_add2(&m, "hx_fail_total", "Failures", "stage", "joined", "reason", "room_full", 1);
    hx_metrics_add2(&m, "hx_fail_total", "Failures", "stage", "joined", "reason", "banned", 2);
    hx_metrics_add2(&m, "hx_fail_total", "Failures", "stage", "ice", "reason", "room_full", 4);
    hx_metrics_add2(&m, "hx_fail_total", "Failures", "stage", "joined", "reason", "room_full", 8);
    hx_metrics_add2(&m, "hx_fail_total", "Failures", "stage", "q\"", "reason", "a\nb", 0);
    /* One label of the same name is another series than any pair. */
    hx_metrics_add(&m, "hx_fail_total", "Failures", "stage", "joined", 16);
    assert_int_equal(m.n, 5);
    char *text = render_checked();
    assert_true(sample(text, "hx_fail_total{stage=\"joined\",reason=\"room_full\"}") == 9);
    assert_true(sample(text, "hx_fail_total{stage=\"joined\",reason=\"banned\"}") == 2);
    assert_true(sample(text, "hx_fail_total{stage=\"ice\",reason=\"room_full\"}") == 4);
    assert_true(sample(text, "hx_fail_total{stage=\"q\\\"\",reason=\"a\\nb\"}") == 0);
    assert_true(sample(text, "hx_fail_total{stage=\"joined\"}") == 16);
    free(text);
}

static void test_capacity(void **state)
{
    (void)state;
    char v[16];
    for (int i = 0; i < HX_METRICS_MAX_SERIES + 50; i++) {
        snprintf(v, sizeof v, "%d", i);
        hx_metrics_add(&m, "hx_many_total", "Many", "i", v, 1);
    }
    assert_int_equal(m.n, HX_METRICS_MAX_SERIES);
    /* Existing series still count when the table is full. */
    hx_metrics_add(&m, "hx_many_total", "Many", "i", "0", 1);
    char *text = render_checked(); /* > 4 KiB: exercises the buffer growth */
    assert_true(strlen(text) > 4096);
    assert_true(sample(text, "hx_many_total{i=\"0\"}") == 2);
    char last[64], over[64];
    snprintf(last, sizeof last, "hx_many_total{i=\"%d\"}", HX_METRICS_MAX_SERIES - 1);
    snprintf(over, sizeof over, "hx_many_total{i=\"%d\"}", HX_METRICS_MAX_SERIES);
    assert_true(sample(text, last) == 1);
    assert_true(isnan(sample(text, over)));
    free(text);
}

static void test_histogram(void **state)
{
    (void)state;
    static const double bounds[] = {0.1, 0.5, 1};
    static const double obs[] = {0.05, 0.1, 0.3, 2, 0.5, 1e-9, 100};
    double sum = 0;
    for (size_t i = 0; i < sizeof obs / sizeof obs[0]; i++) {
        hx_metrics_observe(&m, "hx_latency_seconds", "Latency", bounds, 3, obs[i]);
        sum += obs[i];
    }
    hx_metrics_inc(&m, "hx_after_total", "A counter after the histogram");
    char *text = render_checked();
    assert_non_null(strstr(text, "# HELP hx_latency_seconds Latency\n# TYPE hx_latency_seconds histogram\n"));
    /* le is "less or equal": 0.1 goes in the 0.1 bucket, 0.5 in the 0.5 bucket. */
    assert_true(sample(text, "hx_latency_seconds_bucket{le=\"0.1\"}") == 3);
    assert_true(sample(text, "hx_latency_seconds_bucket{le=\"0.5\"}") == 5);
    assert_true(sample(text, "hx_latency_seconds_bucket{le=\"1\"}") == 5);
    assert_true(sample(text, "hx_latency_seconds_bucket{le=\"+Inf\"}") == 7);
    assert_true(sample(text, "hx_latency_seconds_count") == 7);
    assert_true(fabs(sample(text, "hx_latency_seconds_sum") - sum) < 1e-9);
    /* Buckets in ascending order, +Inf last, then sum and count. */
    const char *b1 = strstr(text, "le=\"0.1\""), *b2 = strstr(text, "le=\"0.5\""), *b3 = strstr(text, "le=\"1\""),
               *inf = strstr(text, "le=\"+Inf\""), *s = strstr(text, "hx_latency_seconds_sum"),
               *c = strstr(text, "hx_latency_seconds_count");
    assert_true(b1 < b2 && b2 < b3 && b3 < inf && inf < s && s < c);
    free(text);
}

static void test_histogram_many_bounds(void **state)
{
    (void)state;
    double bounds[HX_HIST_BUCKETS + 4];
    for (int i = 0; i < HX_HIST_BUCKETS + 4; i++) bounds[i] = (i + 1) * 0.5;
    for (int i = 0; i < 20; i++)
        hx_metrics_observe(&m, "hx_h_seconds", "H", bounds, HX_HIST_BUCKETS + 4, i * 0.5);
    /* Registered once: later calls with other bounds do not change it. */
    hx_metrics_observe(&m, "hx_h_seconds", "H", bounds + 1, 2, 0.1);
    assert_int_equal(m.nhist, 1);
    char *text = render_checked();
    double prev = 0;
    int nb = 0;
    for (const char *l = text; (l = strstr(l, "hx_h_seconds_bucket{")); l++) {
        double v = strtod(strchr(l, ' ') + 1, NULL);
        assert_true(v >= prev); /* cumulative */
        prev = v;
        nb++;
    }
    assert_int_equal(nb, HX_HIST_BUCKETS + 1);
    assert_true(sample(text, "hx_h_seconds_bucket{le=\"+Inf\"}") == 21);
    assert_true(sample(text, "hx_h_seconds_bucket{le=\"0.5\"}") == 3); /* 0, 0.5, and 0.1 */
    free(text);
}

/* Values as people read them: 131.025 (not 131.02500000000001), integers without ".0", and each
 * reads back as the very double it was. */
static void test_number_format(void **state)
{
    (void)state;
    char b[32];
    assert_string_equal(hx_metrics_fmt(131.025, b, sizeof b), "131.025");
    assert_string_equal(hx_metrics_fmt(0.1 + 0.2, b, sizeof b), "0.30000000000000004");
    assert_string_equal(hx_metrics_fmt(3, b, sizeof b), "3");
    assert_string_equal(hx_metrics_fmt(-0.0, b, sizeof b), "0");
    assert_string_equal(hx_metrics_fmt(1e20, b, sizeof b), "1e+20");
    assert_string_equal(hx_metrics_fmt(18446744073709551615.0, b, sizeof b), "1.8446744073709552e+19");
    assert_string_equal(hx_metrics_fmt(NAN, b, sizeof b), "NaN");
    assert_string_equal(hx_metrics_fmt(-INFINITY, b, sizeof b), "-Inf");
    static const double vals[] = {1.0 / 3, 2.5e-7, 123456789.125, 0.001, 1e-300, 4503599627370497.0};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++)
        assert_true(strtod(hx_metrics_fmt(vals[i], b, sizeof b), NULL) == vals[i]);
    hx_metrics_set(&m, "hx_uptime_seconds", "U", 131.025);
    hx_metrics_observe(&m, "hx_t_seconds", "T", (const double[]){0.25}, 1, 0.1);
    hx_metrics_observe(&m, "hx_t_seconds", "T", (const double[]){0.25}, 1, 0.2);
    char *text = render_checked();
    assert_non_null(strstr(text, "\nhx_uptime_seconds 131.025\n"));
    assert_non_null(strstr(text, "\nhx_t_seconds_sum 0.30000000000000004\n"));
    assert_non_null(strstr(text, "hx_t_seconds_bucket{le=\"0.25\"} 2\n"));
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_empty, setup),
        cmocka_unit_test_setup(test_counters_and_gauges, setup),
        cmocka_unit_test_setup(test_label_values_escaped, setup),
        cmocka_unit_test_setup(test_long_label_value, setup),
        cmocka_unit_test_setup(test_two_labels, setup),
        cmocka_unit_test_setup(test_capacity, setup),
        cmocka_unit_test_setup(test_histogram, setup),
        cmocka_unit_test_setup(test_histogram_many_bounds, setup),
        cmocka_unit_test_setup(test_number_format, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
