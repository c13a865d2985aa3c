/*
 * Prometheus metrics of the control plane. A fixed-capacity table of
 * series (name + at most two labels), counters and gauges, plus histograms
 * with fixed buckets; rendered as the text exposition format on /metrics.
 * Lookups are linear: this runs per request, never per packet.
 */
#ifndef HX_METRICS_METRICS_H
#define HX_METRICS_METRICS_H

#include <stddef.h>
#include <stdint.h>

#define HX_METRICS_MAX_SERIES 768
#define HX_METRICS_MAX_HIST 16
#define HX_HIST_BUCKETS 12

typedef struct hx_series {
    const char *name;  /* static string */
    const char *help;  /* static string */
    int gauge;
    char label_key[24];
    char label_val[48];
    char label_key2[24]; /* "" when the series has one label or none */
    char label_val2[48];
    double value;
} hx_series;

typedef struct hx_hist {
    const char *name, *help;
    double bounds[HX_HIST_BUCKETS]; /* upper bounds, seconds, ascending; unused are 0 */
    size_t nbounds;
    uint64_t counts[HX_HIST_BUCKETS + 1];
    double sum;
    uint64_t count;
} hx_hist;

typedef struct hx_metrics {
    hx_series series[HX_METRICS_MAX_SERIES];
    size_t n;
    hx_hist hist[HX_METRICS_MAX_HIST];
    size_t nhist;
} hx_metrics;

void hx_metrics_init(hx_metrics *m);
/** Add to a counter (created on first use). label_key may be NULL. */
void hx_metrics_add(hx_metrics *m, const char *name, const char *help, const char *label_key,
                    const char *label_val, double v);
/** Add to a counter with two labels (created on first use): name{k1="v1",k2="v2"}. */
void hx_metrics_add2(hx_metrics *m, const char *name, const char *help, const char *k1,
                     const char *v1, const char *k2, const char *v2, double v);
/** Set a gauge. */
void hx_metrics_set(hx_metrics *m, const char *name, const char *help, double v);
/** Set a gauge with one label: name{key="val"} (val copied). */
void hx_metrics_set_labeled(hx_metrics *m, const char *name, const char *help, const char *key,
                            const char *val, double v);
/** Set a gauge with two labels: name{k1="v1",k2="v2"} (values copied). */
void hx_metrics_set_labeled2(hx_metrics *m, const char *name, const char *help, const char *k1,
                             const char *v1, const char *k2, const char *v2, double v);
/** Observe a value (seconds) in a histogram with the given bucket bounds (registered on first use). */
void hx_metrics_observe(hx_metrics *m, const char *name, const char *help, const double *bounds,
                        size_t nbounds, double v);
/** A sample value as the exposition format writes it: integers without a fraction, other values
 * in the fewest digits that read back the same (131.025, never 131.02500000000001), NaN, +Inf. */
const char *hx_metrics_fmt(double v, char *buf, size_t cap);
/** Register a histogram with no observation yet (what exists is kept). */
void hx_metrics_declare_hist(hx_metrics *m, const char *name, const char *help,
                             const double *bounds, size_t nbounds);
/** Render the exposition text; returns a malloc'd string (caller frees) or NULL. */
char *hx_metrics_render(const hx_metrics *m, size_t *len);

/** Add one to an unlabeled counter. */
static inline void hx_metrics_inc(hx_metrics *m, const char *name, const char *help)
{
    hx_metrics_add(m, name, help, NULL, NULL, 1);
}

#endif
