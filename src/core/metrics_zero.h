/*
 * Every metric family hearthd reports (core/metric_names.h), present from
 * the start: counters and their known label values at zero, histograms
 * with no observation. A rate() or an alert then has a series before the
 * first event, and a dashboard finds every name on a fresh server.
 */
#ifndef HX_CORE_METRICS_ZERO_H
#define HX_CORE_METRICS_ZERO_H

typedef struct hx_server hx_server;

/** Register them (idempotent: a series that exists keeps its value). */
void hx_metrics_zero(hx_server *srv);

#endif
