/*
 * libFuzzer target for the Prometheus text reader (metrics/prom.c) and the
 * SLIs read from it (core/slo.c): `hearthctl slo` parses whatever answers
 * at the URL it is given. A refusal keeps nothing and names its line. What
 * parses is written back canonically (one line per sample, labels escaped,
 * values as %.17g) and must read back to the same samples, labels and
 * values. The SLIs of any parse are consistent: "no data" exactly when
 * nothing was counted, "ok" only with a value.
 */
#include "core/slo.h"
#include "metrics/prom.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void write_escaped(FILE *f, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\' || *v == '"')
            fputc('\\', f);
        else if (*v == '\n') {
            fputs("\\n", f);
            continue;
        }
        fputc(*v, f);
    }
}

static int same_value(double a, double b)
{
    return (isnan(a) && isnan(b)) || a == b;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hx_prom p, q;
    char err[128] = "";
    if (hx_prom_parse(&p, (const char *)data, size, err, sizeof err) != 0) {
        if (p.n || p.samples || p.text || strncmp(err, "line ", 5)) abort();
        hx_prom_free(&p);
        return 0;
    }
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) abort();
    for (size_t i = 0; i < p.n; i++) {
        const hx_prom_sample *s = &p.samples[i];
        fputs(s->name, f);
        for (size_t k = 0; k < s->n_labels; k++) {
            fprintf(f, "%c%s=\"", k ? ',' : '{', s->label_name[k]);
            write_escaped(f, s->label_value[k]);
            fputc('"', f);
        }
        fprintf(f, "%s %.17g\n", s->n_labels ? "}" : "", s->value);
    }
    if (fclose(f)) abort();
    if (hx_prom_parse(&q, text, len, err, sizeof err) != 0 || q.n != p.n) abort();
    for (size_t i = 0; i < p.n; i++) {
        const hx_prom_sample *a = &p.samples[i], *b = &q.samples[i];
        if (strcmp(a->name, b->name) || a->n_labels != b->n_labels || !same_value(a->value, b->value))
            abort();
        for (size_t k = 0; k < a->n_labels; k++)
            if (strcmp(a->label_name[k], b->label_name[k]) || strcmp(a->label_value[k], b->label_value[k]))
                abort();
    }
    free(text);
    hx_prom_free(&q);

    hx_sli sli[HX_SLI_N];
    hx_slo_evaluate(&p, sli);
    for (int i = 0; i < HX_SLI_N; i++) {
        const hx_sli *s = &sli[i];
        if ((s->status == HX_SLI_NO_DATA) != !(s->total > 0)) abort();
        if (s->status == HX_SLI_OK && isnan(s->value)) abort();
        if (s->status != HX_SLI_NO_DATA && s->status != HX_SLI_OK && s->status != HX_SLI_BELOW) abort();
    }
    hx_prom_free(&p);
    return 0;
}
