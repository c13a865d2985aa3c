/*
 * Figures: latency histograms (HX_LOAD_LAT_BUCKETS buckets of 0.1 ms, the
 * last one open-ended, so quantiles are exact to 0.1 ms below 1 s), and the
 * end-of-run summary: the workers' figures merged, printed as a table or as
 * one JSON object (--json), and the exit code (1 when a participant failed
 * -- not with --churn -- or the loss exceeds --max-loss, or the join or
 * reconnect success is below --min-join-success / --min-reconnect-success).
 * Join success is DESIGN §8's: of the joins with a valid ticket, those whose
 * first PeerConnection connected within 5 s of the ticket request;
 * reconnect success: of the reconnects that ended, those resumed. Video
 * received per layer: the bitrate per receiving stream (RTP bytes over the
 * summed first-to-last arrival spans), next to what the publisher sends on
 * that layer (its share of --video-kbps, payload only, keyframes not
 * counted); the same and the loss by receiver group (open, constrained:
 * --constrained), in JSON always, in the table with --constrained.
 */
#include "load/load.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void hx_load_hist_add(hx_load_hist *h, int64_t us)
{
    int64_t b = us < 0 ? 0 : us / HX_LOAD_LAT_BUCKET_US;
    if (b >= HX_LOAD_LAT_BUCKETS) b = HX_LOAD_LAT_BUCKETS - 1;
    h->b[b]++;
    h->n++;
}

void hx_load_hist_merge(hx_load_hist *a, const hx_load_hist *b)
{
    for (int i = 0; i < HX_LOAD_LAT_BUCKETS; i++)
        a->b[i] += b->b[i];
    a->n += b->n;
}

double hx_load_hist_quantile_ms(const hx_load_hist *h, double q)
{
    if (!h->n) return -1;
    uint64_t want = (uint64_t)(q * (double)(h->n - 1)) + 1, seen = 0;
    for (int i = 0; i < HX_LOAD_LAT_BUCKETS; i++) {
        seen += h->b[i];
        if (seen >= want) return (i + 0.5) * HX_LOAD_LAT_BUCKET_US / 1000.0;
    }
    return HX_LOAD_LAT_BUCKETS * HX_LOAD_LAT_BUCKET_US / 1000.0;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static double pick(const uint32_t *v, int n, double q)
{
    return n ? (double)v[(int)(q * (n - 1) + 0.5)] : -1.0;
}

static const char *const group_names[HX_LOAD_GROUPS] = {"open", "constrained"};

static double group_kbps(const hx_load_stats *all, int g, int l)
{
    return all->g_layer_span_us[g][l]
               ? (double)all->g_layer_bytes[g][l] * 8e3 / (double)all->g_layer_span_us[g][l]
               : 0;
}

static double group_loss(const hx_load_stats *all, int g, uint64_t *lost)
{
    uint64_t e = all->g_expected[g], r = all->g_received[g];
    *lost = e > r ? e - r : 0;
    return e ? 100.0 * (double)*lost / (double)e : 0;
}

/* One receiver group's figures: receivers, loss, and per layer the video received (kbps per
 * receiving stream, bytes, stream-seconds) and how many received SSRCs ended the run on it. */
static json_t *group_json(const hx_load_cfg *cfg, const hx_load_stats *all, int g)
{
    uint64_t lost;
    double loss = group_loss(all, g, &lost);
    json_t *layers = json_array();
    for (int l = 0; l < cfg->simulcast; l++)
        json_array_append_new(layers, json_pack("{s:s,s:I,s:f,s:I,s:f,s:I}", "rid",
                                                cfg->simulcast > 1 ? hx_load_layer_rid(l) : "",
                                                "streams", (json_int_t)all->g_layer_streams[g][l],
                                                "kbps", group_kbps(all, g, l), "bytes",
                                                (json_int_t)all->g_layer_bytes[g][l], "seconds",
                                                (double)all->g_layer_span_us[g][l] / 1e6, "final",
                                                (json_int_t)all->g_layer_final[g][l]));
    return json_pack("{s:I,s:I,s:I,s:f,s:o}", "receivers", (json_int_t)all->g_receivers[g],
                     "expected", (json_int_t)all->g_expected[g], "lost", (json_int_t)lost,
                     "loss_pct", loss, "video_layers", layers);
}

static void group_text(const hx_load_cfg *cfg, const hx_load_stats *all, int g)
{
    uint64_t lost;
    double loss = group_loss(all, g, &lost);
    char name[32];
    snprintf(name, sizeof name, "%s receivers", group_names[g]);
    printf("  %-22s %llu, loss %.3f %% |", name, (unsigned long long)all->g_receivers[g], loss);
    for (int l = 0; l < cfg->simulcast; l++)
        printf(
            " %s%s %.0f kbps (%llu streams, %.1f s, %llu ended on it)",
            cfg->simulcast > 1 ? "layer " : "", cfg->simulcast > 1 ? hx_load_layer_rid(l) : "video",
            group_kbps(all, g, l), (unsigned long long)all->g_layer_streams[g][l],
            (double)all->g_layer_span_us[g][l] / 1e6, (unsigned long long)all->g_layer_final[g][l]);
    printf("\n");
}

int hx_load_report(const hx_load_cfg *cfg, hx_load_stats *const *st, int n, double elapsed_s)
{
    hx_load_stats *all = calloc(1, sizeof *all);
    if (!all) return 2;
    uint64_t tx = 0, rx = 0, rxb = 0, joined = 0, failed = 0, plis = 0;
    for (int i = 0; i < n; i++) {
        tx += st[i]->tx_packets;
        rx += st[i]->rx_packets;
        rxb += st[i]->rx_bytes;
        joined += st[i]->joined;
        failed += st[i]->failed;
        plis += st[i]->plis;
        all->expected += st[i]->expected;
        all->received += st[i]->received;
        all->dup_or_late += st[i]->dup_or_late;
        all->rx_bad += st[i]->rx_bad;
        all->unprotect_fail += st[i]->unprotect_fail;
        all->jitter_sum_us += st[i]->jitter_sum_us;
        all->jitter_streams += st[i]->jitter_streams;
        for (int l = 0; l < HX_LOAD_MAX_LAYERS; l++) {
            all->layer_bytes[l] += st[i]->layer_bytes[l];
            all->layer_span_us[l] += st[i]->layer_span_us[l];
            all->layer_streams[l] += st[i]->layer_streams[l];
            for (int g = 0; g < HX_LOAD_GROUPS; g++) {
                all->g_layer_bytes[g][l] += st[i]->g_layer_bytes[g][l];
                all->g_layer_span_us[g][l] += st[i]->g_layer_span_us[g][l];
                all->g_layer_streams[g][l] += st[i]->g_layer_streams[g][l];
                all->g_layer_final[g][l] += st[i]->g_layer_final[g][l];
            }
        }
        for (int g = 0; g < HX_LOAD_GROUPS; g++) {
            all->g_expected[g] += st[i]->g_expected[g];
            all->g_received[g] += st[i]->g_received[g];
            all->g_receivers[g] += st[i]->g_receivers[g];
        }
        all->fb_sent += st[i]->fb_sent;
        hx_load_hist_merge(&all->lat_audio, &st[i]->lat_audio);
        hx_load_hist_merge(&all->lat_video, &st[i]->lat_video);
        for (int j = 0; j < st[i]->n_join && all->n_join < HX_LOAD_MAX_PARTICIPANTS; j++)
            all->join_ms[all->n_join++] = st[i]->join_ms[j];
        for (int j = 0; j < st[i]->n_connect && all->n_connect < HX_LOAD_MAX_PARTICIPANTS; j++)
            all->connect_ms[all->n_connect++] = st[i]->connect_ms[j];
        all->joins_started += st[i]->joins_started;
        all->joins_no_ticket += st[i]->joins_no_ticket;
        all->joins_succeeded += st[i]->joins_succeeded;
        all->joins_failed += st[i]->joins_failed;
        all->joins_late += st[i]->joins_late;
        all->joins_retried += st[i]->joins_retried;
        for (int k = 0; k < HX_LOAD_RC_KINDS; k++) {
            all->rc_resumed[k] += st[i]->rc_resumed[k];
            all->rc_failed[k] += st[i]->rc_failed[k];
            all->rc_in_progress[k] += st[i]->rc_in_progress[k];
        }
        all->rc_tries += st[i]->rc_tries;
        all->rc_renewed += st[i]->rc_renewed;
        all->rc_renew_failed += st[i]->rc_renew_failed;
        all->neg_failures += st[i]->neg_failures;
        all->dropped += st[i]->dropped;
        all->left += st[i]->left;
    }
    qsort(all->join_ms, (size_t)all->n_join, sizeof all->join_ms[0], cmp_u32);
    qsort(all->connect_ms, (size_t)all->n_connect, sizeof all->connect_ms[0], cmp_u32);
    /* DESIGN §8: joins with a valid ticket; reconnects that ended (resumed or failed). */
    uint64_t valid = all->joins_started - all->joins_no_ticket;
    double join_pct = valid ? 100.0 * (double)all->joins_succeeded / (double)valid : -1;
    uint64_t rc_resumed = 0, rc_failed = 0, rc_going = 0;
    for (int k = 0; k < HX_LOAD_RC_KINDS; k++) {
        rc_resumed += all->rc_resumed[k];
        rc_failed += all->rc_failed[k];
        rc_going += all->rc_in_progress[k];
    }
    uint64_t rc_ended = rc_resumed + rc_failed;
    double rc_pct = rc_ended ? 100.0 * (double)rc_resumed / (double)rc_ended : -1;
    static const char *const kind_names[HX_LOAD_RC_KINDS] = {"drop", "restart"};
    hx_load_hist lat = all->lat_audio;
    hx_load_hist_merge(&lat, &all->lat_video);
    uint64_t lost = all->expected > all->received ? all->expected - all->received : 0;
    double loss = all->expected ? 100.0 * (double)lost / (double)all->expected : 0;
    double jitter = all->jitter_streams ? all->jitter_sum_us / 1000.0 / all->jitter_streams : 0;
    int total = cfg->publishers + cfg->subscribers + cfg->churn;
    const char *target = cfg->target == HX_LOAD_JANUS ? "janus" : "hearth";
    double kbps[HX_LOAD_MAX_LAYERS];
    for (int l = 0; l < HX_LOAD_MAX_LAYERS; l++)
        kbps[l] = all->layer_span_us[l]
                      ? (double)all->layer_bytes[l] * 8e3 / (double)all->layer_span_us[l]
                      : 0;
    if (cfg->json) {
        json_t *layers = json_array();
        for (int l = 0; l < cfg->simulcast; l++)
            json_array_append_new(
                layers, json_pack("{s:s,s:I,s:f,s:f}", "rid",
                                  cfg->simulcast > 1 ? hx_load_layer_rid(l) : "", "streams",
                                  (json_int_t)all->layer_streams[l], "kbps", kbps[l], "sent_kbps",
                                  cfg->video_kbps * hx_load_layer_share(l, cfg->simulcast)));
        json_t *j = json_pack(
            "{s:s,s:s,s:s,s:i,s:i,s:b,s:b,s:i,s:f,s:I,s:I,"
            "s:{s:i,s:f,s:f,s:f},s:I,s:I,s:I,s:I,s:f,s:I,s:I,s:I,"
            "s:{s:f,s:f},s:{s:f,s:f},s:{s:f,s:f},s:f,s:I,s:I,s:i,s:s,s:o}",
            "target", target, "url", cfg->url, "room", cfg->room, "publishers", cfg->publishers,
            "subscribers", cfg->subscribers, "audio", cfg->audio, "video", cfg->video, "video_kbps",
            cfg->video_kbps, "elapsed_s", elapsed_s, "joined", (json_int_t)joined, "failed",
            (json_int_t)failed, "join_ms", "n", all->n_join, "p50",
            pick(all->join_ms, all->n_join, 0.5), "p99", pick(all->join_ms, all->n_join, 0.99),
            "max", pick(all->join_ms, all->n_join, 1.0), "tx_packets", (json_int_t)tx, "rx_packets",
            (json_int_t)rx, "expected", (json_int_t)all->expected, "lost", (json_int_t)lost,
            "loss_pct", loss, "rx_bytes", (json_int_t)rxb, "late_or_dup",
            (json_int_t)all->dup_or_late, "plis", (json_int_t)plis, "latency_ms", "p50",
            hx_load_hist_quantile_ms(&lat, 0.5), "p99", hx_load_hist_quantile_ms(&lat, 0.99),
            "audio_latency_ms", "p50", hx_load_hist_quantile_ms(&all->lat_audio, 0.5), "p99",
            hx_load_hist_quantile_ms(&all->lat_audio, 0.99), "video_latency_ms", "p50",
            hx_load_hist_quantile_ms(&all->lat_video, 0.5), "p99",
            hx_load_hist_quantile_ms(&all->lat_video, 0.99), "jitter_ms", jitter, "rx_bad",
            (json_int_t)all->rx_bad, "unprotect_fail", (json_int_t)all->unprotect_fail, "simulcast",
            cfg->simulcast, "layer_asked", cfg->layer >= 0 ? hx_load_layer_rid(cfg->layer) : "",
            "video_layers", layers);
        json_t *joins = json_pack(
            "{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:i,s:{s:i,s:f,s:f,s:f}}", "started",
            (json_int_t)all->joins_started, "valid_ticket", (json_int_t)valid, "succeeded",
            (json_int_t)all->joins_succeeded, "failed", (json_int_t)all->joins_failed, "late",
            (json_int_t)all->joins_late, "no_ticket", (json_int_t)all->joins_no_ticket, "retried",
            (json_int_t)all->joins_retried, "target_ms", HX_LOAD_JOIN_TARGET_MS, "connect_ms", "n",
            all->n_connect, "p50", pick(all->connect_ms, all->n_connect, 0.5), "p99",
            pick(all->connect_ms, all->n_connect, 0.99), "max",
            pick(all->connect_ms, all->n_connect, 1.0));
        if (joins)
            json_object_set_new(joins, "success_pct",
                                join_pct >= 0 ? json_real(join_pct) : json_null());
        json_t *rc = json_pack(
            "{s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "attempted", (json_int_t)(rc_ended + rc_going),
            "resumed", (json_int_t)rc_resumed, "failed", (json_int_t)rc_failed, "in_progress",
            (json_int_t)rc_going, "tries", (json_int_t)all->rc_tries, "media_renewed",
            (json_int_t)all->rc_renewed, "media_renew_failed", (json_int_t)all->rc_renew_failed);
        for (int k = 0; rc && k < HX_LOAD_RC_KINDS; k++)
            json_object_set_new(rc, kind_names[k],
                                json_pack("{s:I,s:I,s:I,s:I}", "attempted",
                                          (json_int_t)(all->rc_resumed[k] + all->rc_failed[k] +
                                                       all->rc_in_progress[k]),
                                          "resumed", (json_int_t)all->rc_resumed[k], "failed",
                                          (json_int_t)all->rc_failed[k], "in_progress",
                                          (json_int_t)all->rc_in_progress[k]));
        if (rc)
            json_object_set_new(rc, "success_pct", rc_pct >= 0 ? json_real(rc_pct) : json_null());
        if (j) {
            json_object_set_new(j, "joins", joins);
            json_object_set_new(j, "reconnects", rc);
            json_object_set_new(j, "negotiation_failures",
                                json_integer((json_int_t)all->neg_failures));
            json_object_set_new(j, "groups",
                                json_pack("{s:o,s:o}", group_names[HX_LOAD_OPEN],
                                          group_json(cfg, all, HX_LOAD_OPEN),
                                          group_names[HX_LOAD_CONSTRAINED],
                                          group_json(cfg, all, HX_LOAD_CONSTRAINED)));
            json_object_set_new(j, "constrained",
                                json_pack("{s:i,s:i,s:I}", "receivers", cfg->constrained,
                                          "remb_kbps", cfg->remb_kbps, "reports_sent",
                                          (json_int_t)all->fb_sent));
            if (cfg->churn)
                json_object_set_new(
                    j, "churn",
                    json_pack("{s:i,s:i,s:[f,f],s:i,s:I,s:I}", "participants", cfg->churn,
                              "drop_pct", cfg->drop_pct, "lifetime_s", cfg->life_min_s,
                              cfg->life_max_s, "publish_pct", cfg->churn_pub_pct, "dropped",
                              (json_int_t)all->dropped, "left", (json_int_t)all->left));
        } else {
            json_decref(joins);
            json_decref(rc);
        }
        char *txt = j ? json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(6)) : NULL;
        if (txt) printf("%s\n", txt);
        free(txt);
        json_decref(j);
    } else {
        printf("\nhearth-load summary: %s %s room %s, %d publishers x %d subscribers, %s%s%s, "
               "%.1f s\n",
               target, cfg->url, cfg->room, cfg->publishers, cfg->subscribers,
               cfg->audio ? "audio" : "", cfg->audio && cfg->video ? "+" : "",
               cfg->video ? "video" : "", elapsed_s);
        printf("  %-22s %llu of %d joined, %llu failed\n", "participants",
               (unsigned long long)joined, total, (unsigned long long)failed);
        printf("  %-22s p50 %.0f  p99 %.0f  max %.0f  (%d measured)\n", "join ms (to media)",
               pick(all->join_ms, all->n_join, 0.5), pick(all->join_ms, all->n_join, 0.99),
               pick(all->join_ms, all->n_join, 1.0), all->n_join);
        printf("  %-22s sent %llu, received %llu (%.0f/s), expected %llu, lost %llu (%.3f %%)\n",
               "packets", (unsigned long long)tx, (unsigned long long)rx, rx / elapsed_s,
               (unsigned long long)all->expected, (unsigned long long)lost, loss);
        printf("  %-22s all p50 %.2f p99 %.2f | audio p50 %.2f p99 %.2f | video p50 %.2f p99 "
               "%.2f\n",
               "latency ms", hx_load_hist_quantile_ms(&lat, 0.5),
               hx_load_hist_quantile_ms(&lat, 0.99), hx_load_hist_quantile_ms(&all->lat_audio, 0.5),
               hx_load_hist_quantile_ms(&all->lat_audio, 0.99),
               hx_load_hist_quantile_ms(&all->lat_video, 0.5),
               hx_load_hist_quantile_ms(&all->lat_video, 0.99));
        printf("  %-22s %.3f ms (mean of %llu streams)\n", "jitter", jitter,
               (unsigned long long)all->jitter_streams);
        printf("  %-22s %llu late/dup, %llu bad, %llu unprotect failures, %llu PLI/FIR\n", "other",
               (unsigned long long)all->dup_or_late, (unsigned long long)all->rx_bad,
               (unsigned long long)all->unprotect_fail, (unsigned long long)plis);
        if (cfg->video) {
            printf("  %-22s", "video kbps received");
            for (int l = 0; l < cfg->simulcast; l++)
                printf("%s%s%s %.0f per stream (%llu streams; sent %.0f)", l ? " | " : " ",
                       cfg->simulcast > 1 ? "layer " : "",
                       cfg->simulcast > 1 ? hx_load_layer_rid(l) : "", kbps[l],
                       (unsigned long long)all->layer_streams[l],
                       cfg->video_kbps * hx_load_layer_share(l, cfg->simulcast));
            printf("%s%s\n", cfg->layer >= 0 ? "  asked " : "",
                   cfg->layer >= 0 ? hx_load_layer_rid(cfg->layer) : "");
        }
        if (cfg->constrained) {
            printf("  %-22s %d receivers report REMB %d kbps (%llu RR + REMB sent)\n",
                   "constrained", cfg->constrained, cfg->remb_kbps,
                   (unsigned long long)all->fb_sent);
            for (int g = 0; g < HX_LOAD_GROUPS; g++)
                group_text(cfg, all, g);
        }
        char pct[32];
        if (join_pct >= 0)
            snprintf(pct, sizeof pct, "%.3f %%", join_pct);
        else
            snprintf(pct, sizeof pct, "no data");
        printf("  %-22s %llu of %llu with a valid ticket succeeded (%s; media connected within "
               "%d s), %llu failed (%llu late), %llu without a ticket, %llu begun again after a "
               "restart\n",
               "joins", (unsigned long long)all->joins_succeeded, (unsigned long long)valid, pct,
               HX_LOAD_JOIN_TARGET_MS / 1000, (unsigned long long)all->joins_failed,
               (unsigned long long)all->joins_late, (unsigned long long)all->joins_no_ticket,
               (unsigned long long)all->joins_retried);
        printf("  %-22s p50 %.0f  p99 %.0f  max %.0f  (%d measured)\n", "media connected ms",
               pick(all->connect_ms, all->n_connect, 0.5),
               pick(all->connect_ms, all->n_connect, 0.99),
               pick(all->connect_ms, all->n_connect, 1.0), all->n_connect);
        if (rc_pct >= 0)
            snprintf(pct, sizeof pct, "%.3f %%", rc_pct);
        else
            snprintf(pct, sizeof pct, "no data");
        printf("  %-22s %llu of %llu resumed (%s), %llu failed, %llu in progress", "reconnects",
               (unsigned long long)rc_resumed, (unsigned long long)rc_ended, pct,
               (unsigned long long)rc_failed, (unsigned long long)rc_going);
        for (int k = 0; k < HX_LOAD_RC_KINDS; k++)
            printf(" | %s %llu/%llu", kind_names[k], (unsigned long long)all->rc_resumed[k],
                   (unsigned long long)(all->rc_resumed[k] + all->rc_failed[k] +
                                        all->rc_in_progress[k]));
        printf(" | %llu connections tried, media renewed %llu, not %llu\n",
               (unsigned long long)all->rc_tries, (unsigned long long)all->rc_renewed,
               (unsigned long long)all->rc_renew_failed);
        printf("  %-22s %llu\n", "negotiation failures", (unsigned long long)all->neg_failures);
        if (cfg->churn)
            printf("  %-22s %d churners (%d %% publish, lifetime %.1f-%.1f s), %llu cut once, "
                   "%llu left\n",
                   "churn", cfg->churn, cfg->churn_pub_pct, cfg->life_min_s, cfg->life_max_s,
                   (unsigned long long)all->dropped, (unsigned long long)all->left);
    }
    /* Exit status: a failed participant (not with --churn, where coming and going is the
     * point and the SLIs judge), too much loss, an SLI below its floor (no joins at all is
     * below any floor; no reconnects has nothing to judge). */
    bool bad =
        (!cfg->churn && failed > 0) || (cfg->max_loss >= 0 && loss > cfg->max_loss) ||
        (cfg->min_join_success >= 0 && join_pct < cfg->min_join_success) ||
        (cfg->min_reconnect_success >= 0 && rc_pct >= 0 && rc_pct < cfg->min_reconnect_success);
    int rc = bad ? 1 : 0;
    free(all);
    return rc;
}
