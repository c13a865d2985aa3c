/*
 * The core: the context every part of one hearthd process shares, and the
 * services they share on it. Passed to every handler (no globals): the main
 * loop, the store, the bus, the keys, the revocation set, the rooms, the
 * metrics, and opaque handles of the layers above (the HTTP server, the
 * signaling sessions, the media engine). Built by hx_server_start
 * (hearthd/daemon.h), torn down by hx_server_destroy in reverse order.
 *
 * Layering (docs/architecture.md): core sits under signal and api and
 * calls neither. What must reach live sessions (a revocation, a moderation
 * action) goes out on the bus; signal subscribes and enforces it on the
 * sessions it holds, on this node or, with a networked bus, on any node.
 */
#ifndef HX_CORE_SERVER_H
#define HX_CORE_SERVER_H

#include "auth/jwks.h"
#include "auth/resume_token.h"
#include "auth/revocation.h"
#include "auth/ticket.h"
#include "bus/bus.h"
#include "bus/bus_redis.h"
#include "common/log.h"
#include "common/strmap.h"
#include "config/config.h"
#include "metrics/metrics.h"
#include "moderation/moderation.h"
#include "room/room.h"
#include "store/store.h"

#include <stdbool.h>
#include <uv.h>

struct lws_context;
struct lws_vhost;
struct hx_sessions;
struct hx_engine;
struct hx_turn;
struct hx_cluster;
struct hx_webhook;

typedef struct hx_server {
    hx_config cfg;
    hx_logger log;
    uv_loop_t *loop;
    struct lws_context *lws;
    struct lws_vhost *vhost;
    int port; /* bound */
    hx_store *store;
    hx_jwks *jwks;
    uint8_t ticket_key[HX_TICKET_KEY_LEN];
    uint8_t resume_key[HX_RESUME_KEY_LEN];
    char admin_key[HX_CFG_STR];
    hx_revocations revocations;
    hx_rooms rooms;
    hx_sanctions sanctions;   /* bans, timeouts, kick cooldowns in force (core/moderate.h) */
    hx_mod_policy mod_policy; /* the server's, from moderation.* */
    hx_strmap room_policies;  /* room -> hx_mod_policy *: rooms with their own */
    struct hx_vote *votes[HX_MOD_MAX_VOTES]; /* open votes; NULL slots free */
    hx_metrics metrics;
    hx_bus *bus;                  /* live fan-out (bus.h) */
    hx_bus_redis_stats bus_seen;  /* the Redis bus's counters at the last /metrics (deltas) */
    char node[128];               /* this node's id on the Redis bus ("": one node) */
    char beacon[640];             /* its registry beacon, rebuilt each second (bus_redis.h) */
    struct hx_cluster *cluster;   /* room leases and routing (cluster/cluster.h); NULL: one node */
    struct hx_sessions *sessions; /* the signaling layer's registry (signal/registry.h) */
    struct hx_webhook *webhook;   /* webhook/webhook.h; NULL without webhook.url */
    hx_strmap http_buckets;       /* client address -> hx_bucket * */
    /* The media engine behind the sfu.h boundary: commands go out through
     * sfu_post (NULL: no media plane, media requests get not_available);
     * events come back to hx_signal_engine_event. */
    int (*sfu_post)(void *ctx, const uint8_t *msg, size_t len);
    void *sfu_ctx;
    /* media.workers of them (sfu/workers.h HX_MAX_WORKERS), in hearthd or each a process */
    struct hx_engine *engines[16];  /* media.isolation = thread */
    struct hx_remote *remotes[16];  /* media.isolation = process */
    int media_udp[16], media_tcp[16]; /* each worker's ports (TURN's own addresses) */
    uv_timer_t media_restart;         /* starts worker processes that died again */
    int64_t media_started_ms[16];     /* when each worker process was last started */
    size_t n_engines;
    struct hx_workers *workers; /* the dispatch over them: sfu_post's ctx */
    uint64_t next_media_serial; /* transport ids: serial * 2 + role */
    struct hx_turn
        *turn; /* the embedded TURN server (turn/turn.h); NULL unless turn.mode = embedded */
    char turn_secrets[2][128]; /* TURN REST secrets: the first signs, both verify */
    size_t n_turn_secrets;     /* turn.secrets, or one generated and kept in the store */
    bool tls;                  /* the HTTP/WebSocket listener speaks TLS (tls.cert_file) */
    uv_timer_t housekeeping;
    uv_signal_t sig_term, sig_int, sig_hup;
    uv_timer_t stop_timer;
    int handles_open; /* our uv handles not yet closed */
    int64_t stop_started_ms;
    bool stopping;
    bool drain_requested; /* POST /v1/admin/drain: housekeeping stops as SIGTERM does */
    bool ready;
    int64_t started_ms;
    int64_t last_sweep_ms;
    int64_t last_orphan_sweep_ms; /* hx_sessions_sweep_orphans, in a cluster */
} hx_server;

/** Write an audit record to the store and the log. Returns the store's result. */
int hx_server_audit(hx_server *s, const char *kind, const char *room, const char *user,
                    const char *device, const char *sid, const char *code, const char *detail);
/** The same for a record no acknowledgement waits on (hx_event.relaxed: durable with the
 *  store's next synced write). */
int hx_server_audit_relaxed(hx_server *s, const char *kind, const char *room, const char *user,
                            const char *device, const char *sid, const char *code,
                            const char *detail);

/** Parameters of a ticket to mint (already authenticated and authorized). */
typedef struct hx_ticket_req {
    const char *room, *user, *device, *sid, *jti;
    int64_t token_iat;
    uint32_t grants;
    int protocol_version;
} hx_ticket_req;

/** Mint a ticket; fills *t and text. 0 or -1. */
int hx_server_mint_ticket(hx_server *s, const hx_ticket_req *req, hx_ticket *t, char *text,
                          size_t textlen);

/**
 * Persist a revocation, add it to the live set, audit it, and publish it on
 * the bus (whose subscribers disconnect every live session it matches; the
 * local ones before this returns). 0, or -1 when the store refused (nothing
 * changed then).
 */
int hx_server_revoke(hx_server *s, hx_revoke_kind kind, const char *value, int64_t not_before,
                     const char *reason);

/** Reload the JWKS file; on failure the old keys stay. 0 or -1 with err. */
int hx_server_reload_keys(hx_server *s, char *err, size_t errlen);

#endif
