/*
 * The name and help text of every metric family hearthd reports, in one
 * place: a call site writes HX_M_JOINS_TOTAL where the name and its help
 * go (hx_metrics_add and friends take them as two arguments), and
 * core/metrics_zero.c registers them before the first event. The SLO
 * series are core/slo.c's own. docs/operations.md lists them for operators.
 */
#ifndef HX_CORE_METRIC_NAMES_H
#define HX_CORE_METRIC_NAMES_H

#define HX_M_AUTH_FAILURES_TOTAL "hearth_auth_failures_total", "Ticket requests refused, by code"
#define HX_M_BUS_DROPPED_TOTAL                                                                     \
    "hearth_bus_dropped_total", "Bus messages dropped while Redis was away (past the queue's "     \
                                "bound)"
#define HX_M_BUS_PUBLISHED_TOTAL                                                                   \
    "hearth_bus_published_total", "Bus messages this node appended to Redis"
#define HX_M_BUS_RECEIVED_TOTAL                                                                    \
    "hearth_bus_received_total", "Bus messages from other nodes delivered here"
#define HX_M_BUS_RECONNECTS_TOTAL                                                                  \
    "hearth_bus_reconnects_total", "Connection attempts to Redis after the first"
#define HX_M_BUS_REDIS_UP "hearth_bus_redis_up", "1 while both connections to Redis are up"
#define HX_M_CLUSTER_LEASES_HELD                                                                   \
    "hearth_cluster_leases_held", "Room leases Redis says this node holds"
#define HX_M_CLUSTER_LEASES_PENDING                                                                \
    "hearth_cluster_leases_pending",                                                               \
        "Room leases this node claims but does not hold (rooms with participants here "            \
        "whose lease names another node, or Redis away)"
#define HX_M_CLUSTER_REDIRECTS_TOTAL                                                               \
    "hearth_cluster_redirects_total", "Joins and resumes sent to the node hosting their room"
#define HX_M_CLUSTER_ROOMS_MOVED_TOTAL                                                             \
    "hearth_cluster_rooms_moved_total", "Rooms this node handed to the node holding their lease"
#define HX_M_ENGINE_COMMANDS_REFUSED_TOTAL                                                         \
    "hearth_engine_commands_refused_total", "Commands the engine queue refused"
#define HX_M_FORCED_DISCONNECT_MEDIA_SECONDS                                                       \
    "hearth_forced_disconnect_media_seconds",                                                      \
        "Kick, ban or revocation: the decision to the engine confirming the transports "           \
        "closed"
#define HX_M_FORCED_DISCONNECT_SECONDS                                                             \
    "hearth_forced_disconnect_seconds", "Forced disconnect latency: decision to connection closed"
#define HX_M_HTTP_RATE_LIMITED_TOTAL                                                               \
    "hearth_http_rate_limited_total", "HTTP requests refused by the rate limit"
#define HX_M_HTTP_REFUSED_TOTAL                                                                    \
    "hearth_http_refused_total",                                                                   \
        "HTTP/WebSocket connections and requests refused at the edge, by reason"
#define HX_M_HTTP_REQUESTS_TOTAL "hearth_http_requests_total", "HTTP requests, by status"
#define HX_M_JOIN_FAILURES_TOTAL "hearth_join_failures_total", "Joins refused, by code"
#define HX_M_JOIN_MEDIA_SECONDS                                                                    \
    "hearth_join_media_seconds", "Join to the first transport connected (ICE + DTLS)"
#define HX_M_JOINS_TOTAL "hearth_joins_total", "Successful joins"
#define HX_M_LAYER_CHANGES_TOTAL                                                                   \
    "hearth_layer_changes_total", "Simulcast layer sets told to publishers (track.layers)"
#define HX_M_MEDIA_BYTES_RECEIVED_TOTAL                                                            \
    "hearth_media_bytes_received_total", "RTP bytes received from publishers"
#define HX_M_MEDIA_BYTES_SENT_TOTAL                                                                \
    "hearth_media_bytes_sent_total", "RTP bytes forwarded to subscribers"
#define HX_M_MEDIA_JITTER_SECONDS                                                                  \
    "hearth_media_jitter_seconds",                                                                 \
        "Interarrival jitter of what publishers send, as hearth measures it (worst "               \
        "stream)"
#define HX_M_MEDIA_KEYFRAME_REQUESTS_TOTAL                                                         \
    "hearth_media_keyframe_requests_total", "Keyframe requests sent to publishers"
#define HX_M_MEDIA_NACKS_TOTAL "hearth_media_nacks_total", "Packets subscribers asked to be resent"
#define HX_M_MEDIA_PACKETS_DROPPED_TOTAL                                                           \
    "hearth_media_packets_dropped_total", "Inbound media packets hearth dropped, by reason"
#define HX_M_MEDIA_PACKETS_LOST_TOTAL                                                              \
    "hearth_media_packets_lost_total", "RTP packets publishers sent that never arrived"
#define HX_M_MEDIA_PACKETS_RECEIVED_TOTAL                                                          \
    "hearth_media_packets_received_total", "RTP packets received from publishers"
#define HX_M_MEDIA_PACKETS_SENT_TOTAL                                                              \
    "hearth_media_packets_sent_total", "RTP packets forwarded to subscribers"
#define HX_M_MEDIA_RTT_SECONDS                                                                     \
    "hearth_media_rtt_seconds",                                                                    \
        "Round trip to subscribers, from their RTCP receiver reports (each report every 2 "        \
        "s)"
#define HX_M_MEDIA_SESSIONS_TOTAL                                                                  \
    "hearth_media_sessions_total", "Joined sessions that opened media transports"
#define HX_M_MEDIA_SUBSCRIBER_JITTER_SECONDS                                                       \
    "hearth_media_subscriber_jitter_seconds",                                                      \
        "Interarrival jitter subscribers report for what hearth sends them (worst stream)"
#define HX_M_MODERATION_ACTIONS_TOTAL                                                              \
    "hearth_moderation_actions_total", "Moderation actions and outcomes, by action"
#define HX_M_MODERATION_MEDIA_STOP_SECONDS                                                         \
    "hearth_moderation_media_stop_seconds",                                                        \
        "Mute or timeout: the action reaching this node to the engine no longer "                  \
        "forwarding"
#define HX_M_NEGOTIATION_FAILURES_TOTAL                                                            \
    "hearth_negotiation_failures_total", "Offers/answers that failed, by code"
#define HX_M_NEGOTIATION_REJOINS_TOTAL                                                             \
    "hearth_negotiation_rejoins_total", "Sessions told to rejoin after a negotiation failed twice"
#define HX_M_PARTICIPANTS "hearth_participants", "Participants in rooms"
#define HX_M_REVOCATIONS_TOTAL "hearth_revocations_total", "Revocations recorded"
#define HX_M_ROOMS "hearth_rooms", "Open rooms"
#define HX_M_ROOMS_SPREAD                                                                          \
    "hearth_rooms_spread", "Rooms whose subscribers are spread over several media workers "        \
                           "(relays)"
#define HX_M_SIGNAL_CONNECTIONS_TOTAL                                                              \
    "hearth_signal_connections_total", "WebSocket connections accepted"
#define HX_M_SIGNAL_ERRORS_TOTAL "hearth_signal_errors_total", "Signaling errors sent, by code"
#define HX_M_SIGNAL_MESSAGES_TOTAL "hearth_signal_messages_total", "Signaling messages received"
#define HX_M_SIGNAL_RATE_LIMITED_TOTAL                                                             \
    "hearth_signal_rate_limited_total", "Signaling messages dropped by the rate limit"
#define HX_M_SIGNAL_SESSIONS "hearth_signal_sessions", "Live signaling sessions"
#define HX_M_SPEAKER_CHANGES_TOTAL                                                                 \
    "hearth_speaker_changes_total", "Changes of a room's active speakers told to its members"
#define HX_M_STORE_ERRORS_TOTAL "hearth_store_errors_total", "Store operations that failed"
#define HX_M_TICKETS_ISSUED_TOTAL "hearth_tickets_issued_total", "Join tickets issued"
#define HX_M_TLS_RELOADS_TOTAL "hearth_tls_reloads_total", "Certificate reloads (SIGHUP), by result"
#define HX_M_TRACKS_PUBLISHED_TOTAL "hearth_tracks_published_total", "Tracks published, by kind"
#define HX_M_TRANSPORT_STATES_TOTAL                                                                \
    "hearth_transport_states_total", "Transport state changes, by state"
#define HX_M_TURN_ALLOCATIONS "hearth_turn_allocations", "TURN allocations live now"
#define HX_M_TURN_ALLOCATIONS_TOTAL "hearth_turn_allocations_total", "TURN allocations created"
#define HX_M_TURN_AUTH_FAILURES_TOTAL                                                              \
    "hearth_turn_auth_failures_total", "TURN requests refused 401/441 for their credentials"
#define HX_M_TURN_HTTP_PORT_CONNECTIONS_TOTAL                                                      \
    "hearth_turn_http_port_connections_total",                                                     \
        "TURN connections on the HTTP listener's port (handed to the TURN server)"
#define HX_M_TURN_QUOTA_REFUSALS_TOTAL                                                             \
    "hearth_turn_quota_refusals_total",                                                            \
        "TURN allocations refused by a quota, and packets dropped over turn.max_bps"
#define HX_M_TURN_REFUSED_PEERS_TOTAL                                                              \
    "hearth_turn_refused_peers_total",                                                             \
        "TURN permissions and channels refused 403 by the peer policy"
#define HX_M_TURN_RELAYED_BYTES_TOTAL                                                              \
    "hearth_turn_relayed_bytes_total", "Payload bytes relayed by TURN, both ways"
#define HX_M_TURN_RELAYED_PACKETS_TOTAL                                                            \
    "hearth_turn_relayed_packets_total", "Packets relayed by TURN, both ways"
#define HX_M_UPTIME_SECONDS "hearth_uptime_seconds", "Seconds since start"
#define HX_M_WEBHOOK_DEAD_LETTERS_TOTAL                                                            \
    "hearth_webhook_dead_letters_total",                                                           \
        "Events given up on (refused too often, or too old) and written to the "                   \
        "dead-letter log"
#define HX_M_WEBHOOK_DELIVERED_TOTAL                                                               \
    "hearth_webhook_delivered_total", "Events the receiver acknowledged (2xx)"
#define HX_M_WEBHOOK_FAILED_ATTEMPTS_TOTAL                                                         \
    "hearth_webhook_failed_attempts_total", "Webhook POSTs that failed"
#define HX_M_WEBHOOK_LAG_SECONDS                                                                   \
    "hearth_webhook_lag_seconds", "Age of the oldest event not yet delivered (0: none waits)"
#define HX_M_WEBHOOK_QUEUE_DEPTH                                                                   \
    "hearth_webhook_queue_depth", "Events read from the audit trail and not yet delivered"
#define HX_M_WEBHOOK_REQUEST_SECONDS                                                               \
    "hearth_webhook_request_seconds", "Webhook POSTs, from sent to answered or failed"
#define HX_M_WORKER_PACKETS_SENT_TOTAL                                                             \
    "hearth_worker_packets_sent_total", "RTP packets forwarded to subscribers, by media worker"
#define HX_M_WORKER_RELAYS_STARTED_TOTAL                                                           \
    "hearth_worker_relays_started_total",                                                          \
        "Times a media worker joined a spread room (one relayed copy of its streams)"
#define HX_M_WORKER_RESTARTS_TOTAL                                                                 \
    "hearth_worker_restarts_total", "Media worker processes that died and were started again"
#define HX_M_WORKER_TRANSPORTS                                                                     \
    "hearth_worker_transports", "Media transports open on each media worker"
#define HX_M_WORKER_CPU_SECONDS_TOTAL                                                              \
    "hearth_worker_cpu_seconds_total", "User and system CPU time of each media worker process"
#define HX_M_WORKER_RESIDENT_MEMORY_BYTES                                                          \
    "hearth_worker_resident_memory_bytes", "Resident memory of each media worker process"
#define HX_M_WORKER_OPEN_FDS                                                                       \
    "hearth_worker_open_fds", "Open descriptors of each media worker process"
#define HX_M_BUILD_INFO                                                                            \
    "hearth_build_info",                                                                           \
        "Always 1: the version running and the signaling protocol versions it speaks"

/* Histogram bounds, in seconds, shared by the observing call and the registration. */
#define HX_M_JOIN_MEDIA_BOUNDS                                                                     \
    {                                                                                              \
        0.1, 0.25, 0.5, 1, 2, 5, 10, 30                                                            \
    }
#define HX_M_MEDIA_MEASURE_BOUNDS                                                                  \
    {                                                                                              \
        0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1                                           \
    }
#define HX_M_MODERATION_BOUNDS                                                                     \
    {                                                                                              \
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5                            \
    }
#define HX_M_KICK_BOUNDS                                                                           \
    {                                                                                              \
        0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5                                 \
    }
#define HX_M_WEBHOOK_BOUNDS                                                                        \
    {                                                                                              \
        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10                                    \
    }

#endif
