/*
 * Reading the Prometheus text exposition format (0.0.4) back: what
 * hearthctl does with /metrics (`hearthctl slo`). Pure: no I/O; fuzzed by
 * fuzz/fuzz_prom.c.
 *
 * A line is blank, a comment ('#': HELP, TYPE and any other, skipped), or
 * a sample:
 *
 *   name[{label="value",...}] value [timestamp]
 *
 * Names are [a-zA-Z_:][a-zA-Z0-9_:]*, label names [a-zA-Z_][a-zA-Z0-9_]*;
 * blanks (space, tab) may stand between the tokens of a label set, which
 * may end with a comma. A label value is quoted with \\, \" and \n as its
 * escapes (any other escape is an error) and may not hold a raw newline.
 * The value is a float, "+Inf", "-Inf" or "NaN"; the timestamp an integer,
 * read and dropped. Lines end with \n or \r\n. The first line that breaks
 * these rules fails the whole parse, so a truncated or foreign answer is
 * never read as numbers.
 */
#ifndef HX_METRICS_PROM_H
#define HX_METRICS_PROM_H

#include <stddef.h>

#define HX_PROM_MAX_LABELS 8
#define HX_PROM_MAX_SAMPLES 100000

typedef struct hx_prom_sample {
    const char *name;
    const char *label_name[HX_PROM_MAX_LABELS];
    const char *label_value[HX_PROM_MAX_LABELS]; /* unescaped */
    size_t n_labels;
    double value;
} hx_prom_sample;

/** Parsed samples; their strings point into `text`, a copy of the input the parse owns. */
typedef struct hx_prom {
    char *text;
    hx_prom_sample *samples;
    size_t n, cap;
} hx_prom;

/**
 * Parse len bytes of exposition text into *p (which the caller frees with
 * hx_prom_free, whatever the result). 0, or -1 with err set to "line N: why"
 * and no samples kept.
 */
int hx_prom_parse(hx_prom *p, const char *text, size_t len, char *err, size_t errlen);
void hx_prom_free(hx_prom *p);

/** The value of label `name` on s, or NULL. */
const char *hx_prom_label(const hx_prom_sample *s, const char *name);

/**
 * The sum of the samples called `name` that carry label lk with value lv
 * (lk NULL: every sample of that name). *n (may be NULL) counts them; the
 * sum is 0 when there are none.
 */
double hx_prom_sum(const hx_prom *p, const char *name, const char *lk, const char *lv, size_t *n);

#endif
