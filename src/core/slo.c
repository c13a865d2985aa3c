/*
 * The SLIs (slo.h, docs/slo.md): counting them on the server's metrics,
 * and reading them back from a scrape. The label sets are the tables
 * below; hx_slo_init registers each pair at zero, and the counting
 * functions never add a value outside them.
 */
#include "core/slo.h"

#include "common/clock.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define FUNNEL "hearth_join_funnel_total"
#define FUNNEL_FAILED "hearth_join_funnel_failures_total"
#define ATTEMPTS "hearth_join_media_attempts_total"
#define WITHIN "hearth_join_media_within_target_total"
#define OFFERS "hearth_offers_total"
#define OFFERS_FAILED "hearth_offers_failed_total"
#define RECONNECTS "hearth_reconnects_total"
#define FD_MEDIA "hearth_forced_disconnect_media_seconds"
#define FD_CLOSE "hearth_forced_disconnect_seconds"

static const char *const H_FUNNEL = "Join funnel: sessions reaching each stage";
static const char *const H_FUNNEL_FAILED =
    "Join funnel: sessions that stopped before a stage, by reason";
static const char *const H_ATTEMPTS = "Joins whose media negotiation started (join SLI denominator)";
static const char *const H_WITHIN =
    "Joins whose media connected within 5 s of their first offer (join SLI numerator)";
static const char *const H_OFFERS = "SDP offers made, by PeerConnection";
static const char *const H_OFFERS_FAILED = "SDP offers the server failed, by PeerConnection and reason";
static const char *const H_RECONNECTS = "Resume attempts, by kind (drop, restart) and outcome";

enum { ST_TICKET, ST_SIGNAL, ST_JOINED, ST_ICE, ST_DTLS, ST_MEDIA, ST_N };

static const char *const stages[ST_N] = {"ticket_minted",  "signal_connected", "joined",
                                         "ice_connected",  "dtls_connected",   "first_media"};

/* Why a session stopped before each stage; "other" for the rest. NULL-terminated. */
static const char *const joined_reasons[] = {
    "ticket_invalid", "ticket_expired", "ticket_replayed", "ticket_wrong_room",
    "ticket_wrong_version", "token_revoked", "session_revoked", "user_revoked", "room_full",
    "banned", "kicked", "timed_out", "internal_error", "join_timeout", "unsupported_version",
    "draining", "other", NULL};
static const char *const ice_reasons[] = {"connect_timeout", "no_media", "closed", "other", NULL};
static const char *const dtls_reasons[] = {"connect_timeout", "ice_failed", "dtls_failed",
                                           "srtp_failed",     "closed",     "other", NULL};
static const char *const media_reasons[] = {"ice_failed", "dtls_failed", "closed", "other", NULL};
static const char *const *const stage_reasons[ST_N] = {NULL, NULL, joined_reasons,
                                                        ice_reasons, dtls_reasons, media_reasons};

static const char *const pcs[2] = {"publisher", "subscriber"};
static const char *const offer_reasons[2][5] = {
    {"bad_sdp", "negotiation_failed", "engine_error", "engine_unavailable", NULL},
    {"offer_refused", "answer_timeout", "negotiation_failed", "engine_error", NULL},
};

static const char *const kinds[] = {"drop", "restart", NULL};
static const char *const outcomes[] = {"resumed", "expired", "replayed", "invalid",
                                       "sanctioned", "revoked", NULL};
/* A resume refusal's code (docs/protocol.md §2.4) -> its outcome. */
static const struct {
    const char *code, *outcome;
} refusals[] = {
    {"resume_expired", "expired"}, {"resume_replayed", "replayed"},
    {"resume_invalid", "invalid"}, {"banned", "sanctioned"},
    {"kicked", "sanctioned"},      {"timed_out", "sanctioned"},
    {"token_revoked", "revoked"},  {"session_revoked", "revoked"},
    {"user_revoked", "revoked"},
};

/* The table's own string equal to s, or NULL. */
static const char *find(const char *const *table, const char *s)
{
    for (; s && *table; table++)
        if (!strcmp(*table, s)) return *table;
    return NULL;
}

static int stage_index(const char *stage)
{
    for (int i = 0; i < ST_N; i++)
        if (stage && !strcmp(stages[i], stage)) return i;
    return -1;
}

void hx_slo_init(hx_server *srv)
{
    hx_metrics *m = &srv->metrics;
    for (int i = 0; i < ST_N; i++) {
        hx_metrics_add(m, FUNNEL, H_FUNNEL, "stage", stages[i], 0);
        for (const char *const *r = stage_reasons[i]; r && *r; r++)
            hx_metrics_add2(m, FUNNEL_FAILED, H_FUNNEL_FAILED, "stage", stages[i], "reason", *r, 0);
    }
    hx_metrics_add(m, ATTEMPTS, H_ATTEMPTS, NULL, NULL, 0);
    hx_metrics_add(m, WITHIN, H_WITHIN, NULL, NULL, 0);
    for (int pc = 0; pc < 2; pc++) {
        hx_metrics_add(m, OFFERS, H_OFFERS, "pc", pcs[pc], 0);
        for (const char *const *r = offer_reasons[pc]; *r; r++)
            hx_metrics_add2(m, OFFERS_FAILED, H_OFFERS_FAILED, "pc", pcs[pc], "reason", *r, 0);
    }
    for (const char *const *k = kinds; *k; k++)
        for (const char *const *o = outcomes; *o; o++)
            hx_metrics_add2(m, RECONNECTS, H_RECONNECTS, "kind", *k, "outcome", *o, 0);
}

void hx_slo_stage(hx_server *srv, const char *stage)
{
    int i = stage_index(stage);
    if (i >= 0) hx_metrics_add(&srv->metrics, FUNNEL, H_FUNNEL, "stage", stages[i], 1);
}

void hx_slo_stage_failed(hx_server *srv, const char *stage, const char *reason)
{
    int i = stage_index(stage);
    if (i < 0 || !stage_reasons[i]) return;
    const char *r = find(stage_reasons[i], reason);
    hx_metrics_add2(&srv->metrics, FUNNEL_FAILED, H_FUNNEL_FAILED, "stage", stages[i], "reason",
                    r ? r : "other", 1);
}

static int pc_index(const char *pc)
{
    return pc && !strcmp(pc, pcs[0]) ? 0 : pc && !strcmp(pc, pcs[1]) ? 1 : -1;
}

void hx_slo_offer(hx_server *srv, const char *pc)
{
    int i = pc_index(pc);
    if (i >= 0) hx_metrics_add(&srv->metrics, OFFERS, H_OFFERS, "pc", pcs[i], 1);
}

void hx_slo_offer_failed(hx_server *srv, const char *pc, const char *reason)
{
    int i = pc_index(pc);
    if (i < 0) return;
    const char *r = find(offer_reasons[i], reason);
    hx_metrics_add2(&srv->metrics, OFFERS_FAILED, H_OFFERS_FAILED, "pc", pcs[i], "reason",
                    r ? r : "engine_error", 1);
}

bool hx_slo_reconnect(hx_server *srv, const char *kind, const char *outcome)
{
    const char *k = find(kinds, kind), *o = find(outcomes, outcome);
    for (size_t i = 0; !o && outcome && i < sizeof refusals / sizeof refusals[0]; i++)
        if (!strcmp(refusals[i].code, outcome)) o = refusals[i].outcome;
    if (!k || !o) return false;
    hx_metrics_add2(&srv->metrics, RECONNECTS, H_RECONNECTS, "kind", k, "outcome", o, 1);
    return true;
}

/* --- one session's media stages ------------------------------------------------ */

void hx_slo_media_negotiating(hx_server *srv, hx_slo_marks *mk)
{
    if (mk->done || mk->negotiated_ms) return;
    int64_t now = hx_mono_ms();
    mk->negotiated_ms = now > 0 ? now : 1;
    hx_metrics_add(&srv->metrics, ATTEMPTS, H_ATTEMPTS, NULL, NULL, 1);
}

void hx_slo_media_reached(hx_server *srv, hx_slo_marks *mk, const char *stage)
{
    int top = stage_index(stage);
    if (mk->done || top < ST_ICE) return;
    for (int i = ST_ICE; i <= top; i++) {
        if (mk->reached & (1u << i)) continue;
        mk->reached |= (uint8_t)(1u << i);
        hx_slo_stage(srv, stages[i]);
        if (i != ST_DTLS) continue;
        hx_slo_media_negotiating(srv, mk); /* always before: a connection needs an offer */
        if (hx_mono_ms() - mk->negotiated_ms <= HX_SLO_JOIN_TARGET_MS)
            hx_metrics_add(&srv->metrics, WITHIN, H_WITHIN, NULL, NULL, 1);
    }
    if (top == ST_MEDIA) mk->done = true;
}

void hx_slo_media_failed(hx_server *srv, hx_slo_marks *mk, const char *engine_reason)
{
    static const struct {
        const char *prefix, *reason;
    } map[] = {{"connect_timeout", "connect_timeout"},
               {"dtls", "dtls_failed"},
               {"srtp", "srtp_failed"},
               {"ice", "ice_failed"}};
    if (mk->done) return;
    mk->fail_reason = "other";
    for (size_t i = 0; engine_reason && i < sizeof map / sizeof map[0]; i++)
        if (!strncmp(engine_reason, map[i].prefix, strlen(map[i].prefix)))
            mk->fail_reason = map[i].reason;
    /* DTLS and SRTP run only over a checked path, and consent is lost only once it was won. */
    if (strcmp(mk->fail_reason, "connect_timeout") && strcmp(mk->fail_reason, "other"))
        hx_slo_media_reached(srv, mk, stages[ST_ICE]);
}

void hx_slo_media_closed(hx_server *srv, hx_slo_marks *mk)
{
    if (mk->done) return;
    mk->done = true;
    int missed = ST_ICE;
    while (missed < ST_MEDIA && (mk->reached & (1u << missed))) missed++;
    const char *why = !mk->negotiated_ms ? "no_media" : mk->fail_reason ? mk->fail_reason : "closed";
    hx_slo_stage_failed(srv, stages[missed], why);
}

void hx_slo_marks_exempt(hx_slo_marks *mk)
{
    mk->done = true;
}

/* --- reading a scrape ------------------------------------------------------------ */

const char *hx_sli_status_name(hx_sli_status s)
{
    return s == HX_SLI_OK ? "ok" : s == HX_SLI_BELOW ? "below target" : "no data";
}

#define MAX_BUCKETS 64

typedef struct bucket {
    double le, cum;
} bucket;

static int by_le(const void *a, const void *b)
{
    double x = ((const bucket *)a)->le, y = ((const bucket *)b)->le;
    return x < y ? -1 : x > y ? 1 : 0;
}

/* A histogram's buckets, ascending (NaN bounds left out); their count. */
static size_t buckets(const hx_prom *p, const char *family, bucket out[MAX_BUCKETS])
{
    char name[128];
    snprintf(name, sizeof name, "%s_bucket", family);
    size_t n = 0;
    for (size_t i = 0; i < p->n && n < MAX_BUCKETS; i++) {
        const char *le = hx_prom_label(&p->samples[i], "le");
        if (!le || strcmp(p->samples[i].name, name)) continue;
        char *end;
        double b = strtod(le, &end);
        if (*end || end == le || isnan(b)) continue;
        out[n++] = (bucket){b, p->samples[i].value};
    }
    qsort(out, n, sizeof out[0], by_le);
    return n;
}

/* Prometheus' histogram_quantile over ascending buckets whose last is +Inf; NAN without one. */
static double quantile(const bucket *b, size_t n, double q)
{
    if (n < 2 || !isinf(b[n - 1].le) || !(b[n - 1].cum > 0)) return NAN;
    double rank = q * b[n - 1].cum;
    for (size_t i = 0; i < n; i++) {
        if (!(b[i].cum >= rank)) continue;
        if (isinf(b[i].le)) return b[n - 2].le;
        double lower = i ? b[i - 1].le : 0, prev = i ? b[i - 1].cum : 0;
        if (!i && b[i].le <= 0) return b[i].le;
        return lower + (b[i].le - lower) * (rank - prev) / (b[i].cum - prev);
    }
    return NAN;
}

/* A latency SLI: p99 <= 100 ms, i.e. at least 99 % of observations in buckets up to 0.1 s. */
static void latency(const hx_prom *p, const char *family, hx_sli *s)
{
    bucket b[MAX_BUCKETS];
    size_t n = buckets(p, family, b);
    s->total = n && isinf(b[n - 1].le) ? b[n - 1].cum : 0;
    s->count = 0;
    for (size_t i = 0; i < n && b[i].le <= 0.1; i++) s->count = b[i].cum;
    s->p99_s = quantile(b, n, 0.99);
    s->value = s->total > 0 ? s->count / s->total : NAN;
    s->status = !(s->total > 0) ? HX_SLI_NO_DATA : s->value >= 0.99 ? HX_SLI_OK : HX_SLI_BELOW;
}

static void ratio(hx_sli *s, double at_least)
{
    s->value = s->total > 0 ? s->count / s->total : NAN;
    s->status = !(s->total > 0) ? HX_SLI_NO_DATA : s->value >= at_least ? HX_SLI_OK : HX_SLI_BELOW;
}

void hx_slo_evaluate(const hx_prom *p, hx_sli out[HX_SLI_N])
{
    for (int i = 0; i < HX_SLI_N; i++) out[i] = (hx_sli){.value = NAN, .p99_s = NAN};

    hx_sli *s = &out[0];
    *s = (hx_sli){"join_success", ">= 99.9%", "joins: media connected within 5 s",
                  hx_prom_sum(p, WITHIN, NULL, NULL, NULL), hx_prom_sum(p, ATTEMPTS, NULL, NULL, NULL),
                  NAN, NAN, HX_SLI_NO_DATA};
    ratio(s, 0.999);

    s = &out[1];
    double resumed = hx_prom_sum(p, RECONNECTS, "outcome", "resumed", NULL);
    double failed = hx_prom_sum(p, RECONNECTS, "outcome", "expired", NULL) +
                    hx_prom_sum(p, RECONNECTS, "outcome", "replayed", NULL) +
                    hx_prom_sum(p, RECONNECTS, "outcome", "invalid", NULL);
    *s = (hx_sli){"reconnect_success", ">= 99.5%", "reconnects: resumed", resumed,
                  resumed + failed, NAN, NAN, HX_SLI_NO_DATA};
    ratio(s, 0.995);

    out[2] = (hx_sli){"forced_disconnect_media", "p99 <= 100 ms",
                      "forced disconnects: media stopped within 100 ms", 0, 0, NAN, NAN,
                      HX_SLI_NO_DATA};
    latency(p, FD_MEDIA, &out[2]);
    out[3] = (hx_sli){"forced_disconnect_close", "p99 <= 100 ms",
                      "forced disconnects: connection closed within 100 ms", 0, 0, NAN,
                      NAN, HX_SLI_NO_DATA};
    latency(p, FD_CLOSE, &out[3]);

    s = &out[4];
    *s = (hx_sli){"negotiation_errors", "<= 0.1%", "offers: failed by the server",
                  hx_prom_sum(p, OFFERS_FAILED, NULL, NULL, NULL),
                  hx_prom_sum(p, OFFERS, NULL, NULL, NULL), NAN, NAN, HX_SLI_NO_DATA};
    s->value = s->total > 0 ? s->count / s->total : NAN;
    s->status = !(s->total > 0) ? HX_SLI_NO_DATA : s->value <= 0.001 ? HX_SLI_OK : HX_SLI_BELOW;
}
