/*
 * The daemon's context: everything one hearthd process owns, passed to
 * every handler (no globals). The main loop, the HTTP/WebSocket server, the
 * store, the keys, the revocation set, the rooms, the live signaling
 * sessions and the metrics. Built by hx_server_start, torn down by
 * hx_server_destroy in reverse order.
 *
 * The service functions below are what the HTTP API and the signaling
 * sessions share: auditing, minting tickets, revoking.
 */
#ifndef HX_HEARTHD_SERVER_H
#define HX_HEARTHD_SERVER_H

#include "auth/jwks.h"
#include "auth/revocation.h"
#include "auth/ticket.h"
#include "common/log.h"
#include "common/strmap.h"
#include "config/config.h"
#include "metrics/metrics.h"
#include "room/room.h"
#include "store/store.h"

#include <stdbool.h>
#include <uv.h>

struct lws_context;
struct lws_vhost;
struct hx_session;

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
    char admin_key[HX_CFG_STR];
    hx_revocations revocations;
    hx_rooms rooms;
    hx_metrics metrics;
    struct hx_session *sessions; /* every live signaling session */
    size_t n_sessions;
    hx_strmap http_buckets;      /* client address -> hx_bucket * */
    /* The media engine behind the sfu.h boundary: commands go out through
     * sfu_post (NULL: no media plane, media requests get not_available);
     * events come back to hx_server_engine_event. */
    int (*sfu_post)(void *ctx, const uint8_t *msg, size_t len);
    void *sfu_ctx;
    struct hx_engine *engine;
    uint64_t next_media_serial;  /* transport ids: serial * 2 + role */
    hx_strmap media_sessions;    /* serial (hex) -> hx_session * with transports open */
    uv_timer_t housekeeping;
    uv_signal_t sig_term, sig_int, sig_hup;
    uv_timer_t stop_timer;
    int handles_open;            /* our uv handles not yet closed */
    int64_t stop_started_ms;
    bool stopping;
    bool ready;
    int64_t started_ms;
    int64_t last_sweep_ms;
} hx_server;

/** Write an audit record to the store and the log. Returns the store's result. */
int hx_server_audit(hx_server *s, const char *kind, const char *room, const char *user,
                    const char *device, const char *sid, const char *code, const char *detail);

/** Parameters of a ticket to mint (already authenticated and authorized). */
typedef struct hx_ticket_req {
    const char *room, *user, *device, *sid, *jti;
    int64_t token_iat;
    uint32_t grants;
    int protocol_version;
} hx_ticket_req;

/** Mint a ticket; fills *t and text. 0 or -1. */
int hx_server_mint_ticket(hx_server *s, const hx_ticket_req *req, hx_ticket *t, char *text, size_t textlen);

/**
 * Persist a revocation, add it to the live set, and disconnect every live
 * session it matches. *disconnected gets their number. 0, or -1 when the
 * store refused (nothing changed then).
 */
int hx_server_revoke(hx_server *s, hx_revoke_kind kind, const char *value, int64_t not_before,
                     const char *reason, int *disconnected);

/** An event from the media engine (sfu.h bytes): routed to its session. */
void hx_server_engine_event(void *server, const uint8_t *msg, size_t len);

/** Start the media engine when media.enabled (hearthd/media.c). 0 or -1 with err. */
int hx_server_media_start(hx_server *s, char *err, size_t errlen);
/** Stop it (no-op when not running). */
void hx_server_media_stop(hx_server *s);

/** Reload the JWKS file; on failure the old keys stay. 0 or -1 with err. */
int hx_server_reload_keys(hx_server *s, char *err, size_t errlen);

/** Build, bind and start serving. 0, or -1 with a logged reason (call hx_server_destroy anyway). */
int hx_server_start(hx_server *s, uv_loop_t *loop, const hx_config *cfg);
/** Begin a clean stop: sessions told `shutdown`, listeners closed; the loop then ends. */
void hx_server_stop(hx_server *s);
/** Free everything; safe on a half-started server. */
void hx_server_destroy(hx_server *s);

#endif
