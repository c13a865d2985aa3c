/*
 * The families and label values registered at zero (metrics_zero.h). Label
 * values are the ones the code can give; a value outside them (a worker
 * index, an HTTP status seldom seen) still appears when first counted.
 * Families only one setup has (the Redis bus, TURN, webhooks, several
 * media workers) are registered where that setup starts or reports.
 */
#include "core/metrics_zero.h"
#include "core/metric_names.h"

#include "core/server.h"
#include "core/slo.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void counter(hx_metrics *m, const char *name, const char *help)
{
    hx_metrics_add(m, name, help, NULL, NULL, 0);
}

static void labeled(hx_metrics *m, const char *name, const char *help, const char *key,
                    const char *const *values, size_t n)
{
    for (size_t i = 0; i < n; i++)
        hx_metrics_add(m, name, help, key, values[i], 0);
}

void hx_metrics_zero(hx_server *srv)
{
    hx_metrics *m = &srv->metrics;
    hx_slo_init(srv);
    static const char *const kinds[] = {"audio", "video"};
    static const char *const states[] = {"connected", "disconnected", "failed", "closed"};
    static const char *const join_codes[] = {
        "ticket_invalid",  "ticket_expired", "ticket_wrong_room", "ticket_wrong_version",
        "ticket_replayed", "token_revoked",  "session_revoked",   "user_revoked",
        "banned",          "kicked",         "timed_out",         "room_full",
        "internal_error"};
    static const char *const auth_codes[] = {"auth_required",
                                             "room_not_granted",
                                             "token_too_large",
                                             "token_unknown_key",
                                             "token_malformed",
                                             "token_alg_not_allowed",
                                             "token_alg_mismatch",
                                             "token_bad_signature",
                                             "token_missing_claim",
                                             "token_bad_claim",
                                             "token_untrusted_issuer",
                                             "token_wrong_audience",
                                             "token_expired",
                                             "token_not_yet_valid",
                                             "token_lifetime_exceeded",
                                             "token_revoked",
                                             "session_revoked",
                                             "user_revoked",
                                             "banned",
                                             "kicked",
                                             "timed_out"};
    static const char *const statuses[] = {"200", "201", "204", "400", "401", "403", "404",
                                           "405", "409", "413", "429", "500", "503"};
    static const char *const refused[] = {"too_many_connections", "binary_frame"};
    static const char *const actions[] = {"mute",        "unmute",    "timeout",    "untimeout",
                                          "kick",        "ban",       "unban",      "overturn",
                                          "vote.opened", "vote.cast", "vote.closed"};
    static const char *const dropped[] = {"srtp_auth", "rate_limit"};
    labeled(m, HX_M_TRACKS_PUBLISHED_TOTAL, "kind", kinds, N(kinds));
    labeled(m, HX_M_TRANSPORT_STATES_TOTAL, "state", states, N(states));
    labeled(m, HX_M_JOIN_FAILURES_TOTAL, "code", join_codes, N(join_codes));
    labeled(m, HX_M_AUTH_FAILURES_TOTAL, "code", auth_codes, N(auth_codes));
    labeled(m, HX_M_HTTP_REQUESTS_TOTAL, "status", statuses, N(statuses));
    labeled(m, HX_M_HTTP_REFUSED_TOTAL, "reason", refused, N(refused));
    labeled(m, HX_M_MODERATION_ACTIONS_TOTAL, "action", actions, N(actions));
    labeled(m, HX_M_MEDIA_PACKETS_DROPPED_TOTAL, "reason", dropped, N(dropped));
    labeled(m, HX_M_SIGNAL_ERRORS_TOTAL, "code", join_codes, N(join_codes));
    if (srv->cfg.tls_cert[0]) {
        static const char *const results[] = {"ok", "failed"};
        labeled(m, HX_M_TLS_RELOADS_TOTAL, "result", results, N(results));
    }
    counter(m, HX_M_TICKETS_ISSUED_TOTAL);
    counter(m, HX_M_JOINS_TOTAL);
    counter(m, HX_M_SIGNAL_CONNECTIONS_TOTAL);
    counter(m, HX_M_SIGNAL_MESSAGES_TOTAL);
    counter(m, HX_M_SIGNAL_RATE_LIMITED_TOTAL);
    counter(m, HX_M_HTTP_RATE_LIMITED_TOTAL);
    counter(m, HX_M_MEDIA_SESSIONS_TOTAL);
    counter(m, HX_M_MEDIA_PACKETS_RECEIVED_TOTAL);
    counter(m, HX_M_MEDIA_BYTES_RECEIVED_TOTAL);
    counter(m, HX_M_MEDIA_PACKETS_SENT_TOTAL);
    counter(m, HX_M_MEDIA_BYTES_SENT_TOTAL);
    counter(m, HX_M_MEDIA_PACKETS_LOST_TOTAL);
    counter(m, HX_M_MEDIA_NACKS_TOTAL);
    counter(m, HX_M_MEDIA_KEYFRAME_REQUESTS_TOTAL);
    counter(m, HX_M_ENGINE_COMMANDS_REFUSED_TOTAL);
    counter(m, HX_M_NEGOTIATION_REJOINS_TOTAL);
    counter(m, HX_M_LAYER_CHANGES_TOTAL);
    counter(m, HX_M_SPEAKER_CHANGES_TOTAL);
    counter(m, HX_M_REVOCATIONS_TOTAL);
    counter(m, HX_M_STORE_ERRORS_TOTAL);
    static const double join[] = HX_M_JOIN_MEDIA_BOUNDS, measure[] = HX_M_MEDIA_MEASURE_BOUNDS,
                        mod[] = HX_M_MODERATION_BOUNDS, kick[] = HX_M_KICK_BOUNDS;
    hx_metrics_declare_hist(m, HX_M_JOIN_MEDIA_SECONDS, join, N(join));
    hx_metrics_declare_hist(m, HX_M_MEDIA_RTT_SECONDS, measure, N(measure));
    hx_metrics_declare_hist(m, HX_M_MEDIA_JITTER_SECONDS, measure, N(measure));
    hx_metrics_declare_hist(m, HX_M_MEDIA_SUBSCRIBER_JITTER_SECONDS, measure, N(measure));
    hx_metrics_declare_hist(m, HX_M_MODERATION_MEDIA_STOP_SECONDS, mod, N(mod));
    hx_metrics_declare_hist(m, HX_M_FORCED_DISCONNECT_MEDIA_SECONDS, mod, N(mod));
    hx_metrics_declare_hist(m, HX_M_FORCED_DISCONNECT_SECONDS, kick, N(kick));
}
