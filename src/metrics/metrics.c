/*
 * Metric storage and the Prometheus text exposition format (version 0.0.4):
 * "# HELP", "# TYPE" once per family, then one line per series. Series of
 * one family are kept adjacent at render time by walking names in order of
 * first registration. Label values are escaped as the format requires;
 * one longer than a series keeps is cut, and the cut value names the series.
 */
#include "metrics/metrics.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void hx_metrics_init(hx_metrics *m)
{
    memset(m, 0, sizeof *m);
}

/* Does a stored (possibly truncated to cap - 1 bytes) label equal s as it would be stored? */
static int label_eq(const char *stored, size_t cap, const char *s)
{
    return strncmp(stored, s ? s : "", cap - 1) == 0;
}

static hx_series *series(hx_metrics *m, const char *name, const char *help, int gauge,
                         const char *lk, const char *lv, const char *lk2, const char *lv2)
{
    for (size_t i = 0; i < m->n; i++) {
        hx_series *s = &m->series[i];
        if (strcmp(s->name, name) == 0 && label_eq(s->label_key, sizeof s->label_key, lk) &&
            label_eq(s->label_val, sizeof s->label_val, lv) &&
            label_eq(s->label_key2, sizeof s->label_key2, lk2) &&
            label_eq(s->label_val2, sizeof s->label_val2, lv2))
            return s;
    }
    if (m->n >= HX_METRICS_MAX_SERIES) return NULL;
    hx_series *s = &m->series[m->n++];
    s->name = name;
    s->help = help;
    s->gauge = gauge;
    snprintf(s->label_key, sizeof s->label_key, "%s", lk ? lk : "");
    snprintf(s->label_val, sizeof s->label_val, "%s", lv ? lv : "");
    snprintf(s->label_key2, sizeof s->label_key2, "%s", lk2 ? lk2 : "");
    snprintf(s->label_val2, sizeof s->label_val2, "%s", lv2 ? lv2 : "");
    s->value = 0;
    return s;
}

void hx_metrics_add(hx_metrics *m, const char *name, const char *help, const char *lk, const char *lv,
                    double v)
{
    hx_series *s = series(m, name, help, 0, lk, lv, NULL, NULL);
    if (s) s->value += v;
}

void hx_metrics_add2(hx_metrics *m, const char *name, const char *help, const char *k1,
                     const char *v1, const char *k2, const char *v2, double v)
{
    hx_series *s = series(m, name, help, 0, k1, v1, k2, v2);
    if (s) s->value += v;
}

void hx_metrics_set(hx_metrics *m, const char *name, const char *help, double v)
{
    hx_series *s = series(m, name, help, 1, NULL, NULL, NULL, NULL);
    if (s) s->value = v;
}

void hx_metrics_set_labeled(hx_metrics *m, const char *name, const char *help, const char *key,
                            const char *val, double v)
{
    hx_series *s = series(m, name, help, 1, key, val, NULL, NULL);
    if (s) s->value = v;
}

static hx_hist *hist(hx_metrics *m, const char *name, const char *help, const double *bounds,
                     size_t nbounds)
{
    for (size_t i = 0; i < m->nhist; i++)
        if (strcmp(m->hist[i].name, name) == 0) return &m->hist[i];
    if (m->nhist >= HX_METRICS_MAX_HIST) return NULL;
    hx_hist *h = &m->hist[m->nhist++];
    h->name = name;
    h->help = help;
    h->nbounds = nbounds > HX_HIST_BUCKETS ? HX_HIST_BUCKETS : nbounds;
    memcpy(h->bounds, bounds, h->nbounds * sizeof *bounds);
    return h;
}

void hx_metrics_declare_hist(hx_metrics *m, const char *name, const char *help,
                             const double *bounds, size_t nbounds)
{
    (void)hist(m, name, help, bounds, nbounds);
}

void hx_metrics_set_labeled2(hx_metrics *m, const char *name, const char *help, const char *k1,
                             const char *v1, const char *k2, const char *v2, double v)
{
    hx_series *s = series(m, name, help, 1, k1, v1, k2, v2);
    if (s) s->value = v;
}

void hx_metrics_observe(hx_metrics *m, const char *name, const char *help, const double *bounds,
                        size_t nbounds, double v)
{
    hx_hist *h = hist(m, name, help, bounds, nbounds);
    if (!h) return;
    size_t b = 0;
    while (b < h->nbounds && v > h->bounds[b]) b++;
    h->counts[b]++;
    h->sum += v;
    h->count++;
}

const char *hx_metrics_fmt(double v, char *buf, size_t cap)
{
    if (isnan(v)) {
        snprintf(buf, cap, "NaN");
    } else if (isinf(v)) {
        snprintf(buf, cap, v > 0 ? "+Inf" : "-Inf");
    } else if (v == floor(v) && fabs(v) < 9007199254740992.0) { /* 2^53: exact as an integer */
        snprintf(buf, cap, "%.0f", v == 0 ? 0.0 : v);                /* never "-0" */
    } else {
        /* The fewest digits that read back as the same double: 131.025, not 131.02500000000001 */
        for (int prec = 15; prec <= 17; prec++) {
            snprintf(buf, cap, "%.*g", prec, v);
            if (strtod(buf, NULL) == v) break;
        }
    }
    return buf;
}

typedef struct out {
    char *buf;
    size_t len, cap;
} out;

static void emit(out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#include <stdarg.h>
static void emit(out *o, const char *fmt, ...)
{
    if (!o->buf) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
        va_end(ap);
        if (n < 0) return;
        if ((size_t)n < o->cap - o->len) {
            o->len += (size_t)n;
            return;
        }
        char *nb = realloc(o->buf, o->cap * 2);
        if (!nb) {
            free(o->buf);
            o->buf = NULL;
            return;
        }
        o->buf = nb;
        o->cap *= 2;
    }
}

/* A label value as the exposition format wants it: backslash, quote and newline escaped. */
static const char *escape_label(const char *v, char *buf, size_t cap)
{
    size_t o = 0;
    for (; *v && o + 2 < cap; v++) {
        if (*v == '\\' || *v == '"' || *v == '\n') buf[o++] = '\\';
        buf[o++] = *v == '\n' ? 'n' : *v;
    }
    buf[o] = '\0';
    return buf;
}

char *hx_metrics_render(const hx_metrics *m, size_t *len)
{
    out o = {malloc(4096), 0, 4096};
    if (o.buf) o.buf[0] = '\0'; /* an empty set renders as "" */
    for (size_t i = 0; i < m->n; i++) {
        const hx_series *s = &m->series[i];
        int first = 1;
        for (size_t j = 0; j < i; j++)
            if (strcmp(m->series[j].name, s->name) == 0) first = 0;
        if (!first) continue;
        emit(&o, "# HELP %s %s\n# TYPE %s %s\n", s->name, s->help, s->name, s->gauge ? "gauge" : "counter");
        for (size_t j = i; j < m->n; j++) {
            const hx_series *t = &m->series[j];
            if (strcmp(t->name, s->name) != 0) continue;
            char esc[2 * sizeof t->label_val], esc2[2 * sizeof t->label_val2], num[32];
            hx_metrics_fmt(t->value, num, sizeof num);
            if (t->label_key[0] && t->label_key2[0])
                emit(&o, "%s{%s=\"%s\",%s=\"%s\"} %s\n", t->name, t->label_key,
                     escape_label(t->label_val, esc, sizeof esc), t->label_key2,
                     escape_label(t->label_val2, esc2, sizeof esc2), num);
            else if (t->label_key[0])
                emit(&o, "%s{%s=\"%s\"} %s\n", t->name, t->label_key,
                     escape_label(t->label_val, esc, sizeof esc), num);
            else
                emit(&o, "%s %s\n", t->name, num);
        }
    }
    for (size_t i = 0; i < m->nhist; i++) {
        const hx_hist *h = &m->hist[i];
        emit(&o, "# HELP %s %s\n# TYPE %s histogram\n", h->name, h->help, h->name);
        uint64_t cum = 0;
        char num[32];
        for (size_t b = 0; b < h->nbounds; b++) {
            cum += h->counts[b];
            emit(&o, "%s_bucket{le=\"%s\"} %llu\n", h->name,
                 hx_metrics_fmt(h->bounds[b], num, sizeof num), (unsigned long long)cum);
        }
        emit(&o, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %s\n%s_count %llu\n", h->name,
             (unsigned long long)h->count, h->name, hx_metrics_fmt(h->sum, num, sizeof num),
             h->name, (unsigned long long)h->count);
    }
    if (o.buf && len) *len = o.len;
    return o.buf;
}
