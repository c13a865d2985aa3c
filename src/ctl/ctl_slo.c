/*
 * hearthctl slo: the service level indicators of DESIGN §8 (docs/slo.md),
 * each against its target, from one GET /metrics (no admin key needed).
 * The Prometheus text is read by metrics/prom.h and the SLIs computed by
 * core/slo.h (both pure and tested); this file only fetches and prints.
 * /metrics holds counters since hearthd started, so the figures are since
 * then; docs/slo.md has the PromQL for a window.
 *
 * Exit status 0 whatever the SLIs say ("below target" is an answer, not an
 * error); 1 when the answer is not Prometheus text, 3 when there is none.
 */
#include "core/slo.h"
#include "ctl/ctl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The value as text: a percentage, a latency's p99, or "-". */
static void value_text(const hx_sli *s, char *buf, size_t len)
{
    if (s->status == HX_SLI_NO_DATA)
        snprintf(buf, len, "-");
    else if (!isnan(s->p99_s))
        snprintf(buf, len, "p99 %.1f ms", s->p99_s * 1000);
    else
        snprintf(buf, len, "%.3f%%", s->value * 100);
}

static int print_table(const hx_sli *sli, double uptime_s)
{
    static const char *const titles[] = {"SLI", "VALUE", "TARGET", "STATUS", "EVENTS"};
    char value[48], events[160];
    ctl_table t;

    printf("since hearthd started, %.0f s ago\n", uptime_s);
    ctl_table_init(&t, 5, titles);
    for (int i = 0; i < HX_SLI_N; i++) {
        const hx_sli *s = &sli[i];
        value_text(s, value, sizeof value);
        snprintf(events, sizeof events, "%.0f of %.0f %s", s->count, s->total, s->events);
        const char *cells[] = {s->name, value, s->target, hx_sli_status_name(s->status), events};
        if (ctl_table_add(&t, cells) < 0) return ctl_table_finish(&t, 0);
    }
    return ctl_table_finish(&t, 1);
}

/* A number, or null for NaN and infinities (JSON has neither). */
static json_t *number(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static int print_json(const hx_sli *sli, double uptime_s)
{
    json_t *list = json_array();
    for (int i = 0; i < HX_SLI_N; i++) {
        const hx_sli *s = &sli[i];
        json_array_append_new(
            list, json_pack("{s:s, s:o, s:s, s:s, s:o, s:o, s:s, s:o}", "name", s->name, "value",
                            number(s->value), "target", s->target, "status",
                            hx_sli_status_name(s->status), "count", number(s->count), "total",
                            number(s->total), "events", s->events, "p99_ms",
                            number(s->p99_s * 1000)));
    }
    json_t *root = json_pack("{s:o, s:o}", "uptime_s", number(uptime_s), "slis", list);
    char *text = root ? json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(root);
    if (!text) {
        fputs("hearthctl: out of memory\n", stderr);
        return CTL_EXIT_HTTP;
    }
    puts(text);
    free(text);
    return CTL_EXIT_OK;
}

int ctl_cmd_slo(ctl_ctx *ctx, const ctl_cmd *cmd, int argc, char **argv)
{
    hx_http_response resp;
    hx_prom p;
    hx_sli sli[HX_SLI_N];
    char err[160];
    int rc;

    if ((rc = ctl_parse_plain(ctx, cmd, argc, argv, 0, NULL)) != CTL_CONTINUE) return rc;
    if ((rc = ctl_get_public(ctx, "/metrics", &resp)) != CTL_EXIT_OK) return rc;
    rc = hx_prom_parse(&p, resp.body, resp.body_len, err, sizeof err);
    hx_http_response_free(&resp);
    if (rc != 0) {
        fputs("error: /metrics is not Prometheus text: ", stderr);
        ctl_print_safe(stderr, err);
        fputc('\n', stderr);
        hx_prom_free(&p);
        return CTL_EXIT_HTTP;
    }
    hx_slo_evaluate(&p, sli);
    double uptime_s = hx_prom_sum(&p, "hearth_uptime_seconds", NULL, NULL, NULL);
    hx_prom_free(&p);
    return ctx->json ? print_json(sli, uptime_s) : print_table(sli, uptime_s);
}
