/*
 * The service level indicators of DESIGN §8, counted on /metrics and read
 * back from it (docs/slo.md defines each; `hearthctl slo` prints them).
 *
 * Counting (on hx_server's metrics, main loop only). Every series below is
 * registered with all its label values at zero by hx_slo_init, so a
 * scrape shows it before the first event; the label sets are closed: an
 * unknown stage, pc, kind or outcome is not counted, an unknown failure
 * reason counts as "other".
 *
 *   hearth_join_funnel_total{stage}             sessions (tickets, connections) reaching a stage
 *   hearth_join_funnel_failures_total{stage, reason}
 *                                               the ones that stopped before it, by why
 *   hearth_join_media_attempts_total            joins whose media negotiation started
 *   hearth_join_media_within_target_total       ... and reached media connected within 5 s
 *   hearth_offers_total{pc}                     offers made on each PeerConnection
 *   hearth_offers_failed_total{pc, reason}      offers the server failed
 *   hearth_reconnects_total{kind, outcome}      resumes after a drop or a restart
 *
 * Stages, in order: ticket_minted, signal_connected, joined, ice_connected,
 * dtls_connected, first_media. The first three are counted by whoever sees
 * them (hx_slo_stage); the media stages once per session, through the
 * session's hx_slo_marks (room/room.h), from the engine's events.
 *
 * Reading (pure, for hearthctl): hx_slo_evaluate turns one scrape into the
 * SLIs against their targets.
 */
#ifndef HX_CORE_SLO_H
#define HX_CORE_SLO_H

#include "core/server.h"
#include "metrics/prom.h"

#include <stdbool.h>

#define HX_SLO_JOIN_TARGET_MS 5000 /* join success: media connected within 5 s */

/** Register every series at zero. Idempotent (called again on each /metrics). */
void hx_slo_init(hx_server *srv);

/** A stage reached: "ticket_minted", "signal_connected", "joined" (the media stages go below). */
void hx_slo_stage(hx_server *srv, const char *stage);
/**
 * A session stopped before `stage`. For "joined", reason is the join's error
 * code (docs/protocol.md §3: ticket_invalid, ..., room_full, join_timeout,
 * unsupported_version, draining).
 */
void hx_slo_stage_failed(hx_server *srv, const char *stage, const char *reason);

/** An offer made on pc ("publisher": the client's, taken by the engine; "subscriber": ours). */
void hx_slo_offer(hx_server *srv, const char *pc);
/**
 * An offer made on pc failed, by reason: publisher bad_sdp, negotiation_failed, engine_error,
 * engine_unavailable; subscriber offer_refused, answer_timeout, negotiation_failed, engine_error.
 */
void hx_slo_offer_failed(hx_server *srv, const char *pc, const char *reason);

/**
 * A resume attempt: kind "drop" | "restart"; outcome "resumed", "expired",
 * "replayed", "invalid", "sanctioned", "revoked", or the refusal's code
 * (resume_expired, resume_replayed, resume_invalid, banned, kicked,
 * timed_out, token_revoked, session_revoked, user_revoked), mapped to its
 * outcome. False (nothing counted) for anything else, `draining` included:
 * that resume is tried again.
 */
bool hx_slo_reconnect(hx_server *srv, const char *kind, const char *outcome);

/* The media stages of one session, counted once each through its marks. */
/** Its first offer (either PeerConnection): the join success SLI's denominator. */
void hx_slo_media_negotiating(hx_server *srv, hx_slo_marks *mk);
/**
 * A media stage reached ("ice_connected", "dtls_connected", "first_media"):
 * counted once, with the earlier media stages it implies. dtls_connected
 * within HX_SLO_JOIN_TARGET_MS of the first offer counts for the join SLI.
 */
void hx_slo_media_reached(hx_server *srv, hx_slo_marks *mk, const char *stage);
/**
 * A transport failed with the engine's reason ("connect_timeout: ...", "dtls: ...", "srtp",
 * "ice: ..."): kept for hx_slo_media_closed. Any but a timeout implies a check had passed.
 */
void hx_slo_media_failed(hx_server *srv, hx_slo_marks *mk, const char *engine_reason);
/**
 * The session's media ends (transports closed, or it had none): unless media
 * flowed, one failure at the first stage it missed, for the last transport
 * failure, or "no_media" (never negotiated), or "closed".
 */
void hx_slo_media_closed(hx_server *srv, hx_slo_marks *mk);
/** Count nothing more for this session (one restored after a restart is not a new join). */
void hx_slo_marks_exempt(hx_slo_marks *mk);

/* Reading a scrape. */
typedef enum hx_sli_status { HX_SLI_NO_DATA = 0, HX_SLI_OK, HX_SLI_BELOW } hx_sli_status;

typedef struct hx_sli {
    const char *name;   /* "join_success", ... */
    const char *target; /* as text: ">= 99.9%", "p99 <= 100 ms", "<= 0.1%" */
    const char *events; /* "<total's events>: <what count counts>", e.g. "reconnects: resumed" */
    double count, total; /* events since the server started: the ones value counts (good ones;
                            negotiation_errors: failed offers), of all */
    double value;        /* count / total; NAN: no data */
    double p99_s;       /* latency SLIs: p99 estimate in seconds (NAN otherwise or no data) */
    hx_sli_status status;
} hx_sli;

#define HX_SLI_N 5

/** The SLIs of one /metrics scrape (counters since the server started), in a fixed order. */
void hx_slo_evaluate(const hx_prom *p, hx_sli out[HX_SLI_N]);
/** "ok", "below target", "no data". */
const char *hx_sli_status_name(hx_sli_status s);

#endif
