/*
 * The exposition format's reader (prom.h). The input is copied once; each
 * line is cut in place: names and values are NUL-terminated where they
 * end, label values unescaped where they stand (unescaping only shortens),
 * so a sample's strings point into the copy and nothing else is allocated
 * but the sample array.
 */
#include "metrics/prom.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static char *skip_blanks(char *c)
{
    while (is_blank(*c)) c++;
    return c;
}

/* A name at c: its end, or NULL when none starts there. Metric names may hold ':'. */
static char *name_end(char *c, bool metric)
{
    if (!is_alpha(*c) && !(metric && *c == ':')) return NULL;
    while (is_alpha(*c) || is_digit(*c) || (metric && *c == ':')) c++;
    return c;
}

/* A quoted label value at c (past its opening quote), unescaped in place. After it, or NULL. */
static char *label_value(char *c, const char **why)
{
    char *out = c;
    for (; *c != '"'; c++) {
        if (!*c) {
            *why = "a label value without its closing quote";
            return NULL;
        }
        if (*c != '\\') {
            *out++ = *c;
            continue;
        }
        c++;
        if (*c == '\\' || *c == '"')
            *out++ = *c;
        else if (*c == 'n')
            *out++ = '\n';
        else {
            *why = "an escape other than \\\\, \\\" or \\n in a label value";
            return NULL;
        }
    }
    *out = '\0'; /* at or before the closing quote, which c has passed */
    return c + 1;
}

/* The label set at c (past '{'): into s, cut in place. After the '}', or NULL. */
static char *labels(char *c, hx_prom_sample *s, const char **why)
{
    for (;;) {
        c = skip_blanks(c);
        if (*c == '}') return c + 1;
        char *ln = c, *end = name_end(c, false);
        if (!end) {
            *why = "a label name expected";
            return NULL;
        }
        c = skip_blanks(end);
        if (*c != '=') {
            *why = "'=' expected after a label name";
            return NULL;
        }
        c = skip_blanks(c + 1);
        if (*c != '"') {
            *why = "a quoted label value expected";
            return NULL;
        }
        *end = '\0'; /* a blank or the '=': both read */
        const char *lv = c + 1;
        if (!(c = label_value(c + 1, why))) return NULL;
        for (size_t i = 0; i < s->n_labels; i++)
            if (!strcmp(s->label_name[i], ln)) {
                *why = "a label named twice";
                return NULL;
            }
        if (s->n_labels == HX_PROM_MAX_LABELS) {
            *why = "too many labels";
            return NULL;
        }
        s->label_name[s->n_labels] = ln;
        s->label_value[s->n_labels++] = lv;
        c = skip_blanks(c);
        if (*c == ',')
            c++;
        else if (*c != '}') {
            *why = "',' or '}' expected after a label";
            return NULL;
        }
    }
}

static bool parse_value(const char *v, double *out)
{
    if (!*v) return false;
    char *end;
    *out = strtod(v, &end);
    return *end == '\0';
}

static bool is_timestamp(const char *t)
{
    if (*t == '-') t++;
    if (!*t) return false;
    for (; *t; t++)
        if (!is_digit(*t)) return false;
    return true;
}

/* One line (NUL-terminated, no newline). 1: a sample in *s; 0: nothing; -1: *why. */
static int parse_line(char *c, hx_prom_sample *s, const char **why)
{
    memset(s, 0, sizeof *s);
    c = skip_blanks(c);
    if (!*c || *c == '#') return 0;
    char *end = name_end(c, true);
    if (!end) {
        *why = "a metric name expected";
        return -1;
    }
    s->name = c;
    c = skip_blanks(end);
    if (*c != '{')
        c = end;
    else if (!(c = labels(c + 1, s, why)))
        return -1;
    if (!is_blank(*c)) {
        *why = *c ? "a blank expected before the value" : "a sample without a value";
        return -1;
    }
    char *v = skip_blanks(c), *vend = v;
    *end = '\0'; /* a blank or the '{', both read: the name ends */
    while (*vend && !is_blank(*vend)) vend++;
    char *t = skip_blanks(vend), *tend = t;
    while (*tend && !is_blank(*tend)) tend++;
    if (*skip_blanks(tend)) {
        *why = "more than a value and a timestamp after the name";
        return -1;
    }
    *vend = '\0';
    *tend = '\0';
    if (!parse_value(v, &s->value)) {
        *why = "the value is not a number";
        return -1;
    }
    if (*t && !is_timestamp(t)) {
        *why = "the timestamp is not an integer";
        return -1;
    }
    return 1;
}

void hx_prom_free(hx_prom *p)
{
    free(p->text);
    free(p->samples);
    memset(p, 0, sizeof *p);
}

static int fail(hx_prom *p, char *err, size_t errlen, size_t line, const char *why)
{
    if (err && errlen) snprintf(err, errlen, "line %zu: %s", line, why);
    hx_prom_free(p);
    return -1;
}

int hx_prom_parse(hx_prom *p, const char *text, size_t len, char *err, size_t errlen)
{
    memset(p, 0, sizeof *p);
    if (!(p->text = malloc(len + 1))) return fail(p, err, errlen, 0, "out of memory");
    if (len) memcpy(p->text, text, len);
    p->text[len] = '\0';
    size_t line = 0;
    for (char *l = p->text; l < p->text + len;) {
        line++;
        char *nl = memchr(l, '\n', (size_t)(p->text + len - l));
        char *next = nl ? nl + 1 : p->text + len;
        char *eol = nl ? nl : p->text + len;
        if (memchr(l, '\0', (size_t)(eol - l))) return fail(p, err, errlen, line, "a NUL byte");
        *eol = '\0';
        if (eol > l && eol[-1] == '\r') eol[-1] = '\0';
        hx_prom_sample s;
        const char *why = NULL;
        int rc = parse_line(l, &s, &why);
        if (rc < 0) return fail(p, err, errlen, line, why);
        if (rc > 0) {
            if (p->n == p->cap) {
                size_t cap = p->cap ? p->cap * 2 : 64;
                if (p->n >= HX_PROM_MAX_SAMPLES)
                    return fail(p, err, errlen, line, "too many samples");
                hx_prom_sample *ns = realloc(p->samples, cap * sizeof *ns);
                if (!ns) return fail(p, err, errlen, line, "out of memory");
                p->samples = ns;
                p->cap = cap;
            }
            p->samples[p->n++] = s;
        }
        l = next;
    }
    return 0;
}

const char *hx_prom_label(const hx_prom_sample *s, const char *name)
{
    for (size_t i = 0; i < s->n_labels; i++)
        if (!strcmp(s->label_name[i], name)) return s->label_value[i];
    return NULL;
}

double hx_prom_sum(const hx_prom *p, const char *name, const char *lk, const char *lv, size_t *n)
{
    double sum = 0;
    size_t k = 0;
    for (size_t i = 0; i < p->n; i++) {
        const hx_prom_sample *s = &p->samples[i];
        if (strcmp(s->name, name)) continue;
        const char *v = lk ? hx_prom_label(s, lk) : NULL;
        if (lk && (!v || strcmp(v, lv))) continue;
        sum += s->value;
        k++;
    }
    if (n) *n = k;
    return sum;
}
