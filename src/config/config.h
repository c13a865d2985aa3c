/*
 * hearthd's configuration: profile defaults, then the file, then flags
 * (docs/configuration.md). Read-only once the daemon starts, except the
 * JWKS, which SIGHUP reloads from the path given here.
 */
#ifndef HX_CONFIG_CONFIG_H
#define HX_CONFIG_CONFIG_H

#include "adapt/speaker.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define HX_CFG_MAX_LIST 16
#define HX_CFG_STR 512

typedef enum hx_profile {
    HX_PROFILE_DEV = 0,
    HX_PROFILE_SMALL,
    HX_PROFILE_STANDARD,
    HX_PROFILE_LARGE,
} hx_profile;

typedef struct hx_config {
    hx_profile profile;
    char listen_host[128];
    int listen_port;
    char data_dir[HX_CFG_STR];
    char public_url[HX_CFG_STR];
    bool log_json;
    int log_level;
    char admin_key[HX_CFG_STR];
    char store_backend[16];            /* "sqlite" (in data_dir) | "postgres" (store.postgres_url) */
    char postgres_url[HX_CFG_STR];     /* libpq conninfo or URI; a secret (may hold a password) */
    char cluster_redis[HX_CFG_STR];    /* "host:port" of the Redis the nodes share; "": one node */
    char cluster_node[128];            /* this node's id among them ("": random at start) */
    char cluster_prefix[64];           /* the Redis keys' and channels' prefix */
    int cluster_lease_ms;              /* a room lease's TTL (renewed every third of it) */

    bool auth_dev;
    char jwks_file[HX_CFG_STR];
    size_t n_issuers;
    char issuers[HX_CFG_MAX_LIST][256];
    char audience[256];
    int64_t leeway_s;
    int64_t max_lifetime_s;
    int64_t ticket_ttl_s;

    int max_participants;
    int64_t empty_timeout_s;
    bool rooms_public_list; /* GET /v1/rooms/public answers (api/rooms_public.c) */

    size_t max_message_bytes;
    double sig_rate;
    double sig_burst;
    int64_t join_timeout_ms;
    int ping_interval_s;

    size_t max_body_bytes;
    double http_rate;
    double http_burst;

    size_t n_cors;
    char cors_origins[HX_CFG_MAX_LIST][256]; /* "*" or exact origins */

    size_t n_stun;
    char stun[HX_CFG_MAX_LIST][256];

    char port_file[HX_CFG_STR];

    bool media;                        /* run the media engine */
    char media_host[64];               /* UDP bind address */
    int media_port;                    /* 0: the kernel picks */
    int media_tcp_port;                /* passive ICE-TCP; 0: the kernel picks, -1: off */
    int media_workers;                 /* media engines, each its own loop and ports */
    int64_t split_subscribers; /* a room's subscribers on one worker before it spreads (0: never) */
    char media_isolation[16];          /* "thread" (in hearthd) | "process" (hearthd --media-worker) */
    size_t n_announce;
    char announce[8][64];              /* addresses in ICE candidates */
    int64_t remb_bps;
    char retransmit[16];               /* "rtx" | "original" */
    int64_t max_packet_rate;           /* inbound datagrams per second per transport */
    int64_t offer_timeout_ms;          /* a subscriber offer unanswered this long has failed */
    int64_t connect_timeout_ms;        /* ICE + DTLS of a transport must complete within this */
    int64_t mlines_before_recycle;     /* subscriber m-lines added before removed ones are reused */
    bool adaptive;                     /* downlink estimates cap layers and probe (sfu/downlink.c) */
    int speaker_interval_ms;           /* active speakers decided this often (adapt/speaker.h) */
    int speaker_threshold;             /* an audio level (-dBov) at or below it is speech */
    double speaker_smoothing;          /* the newest interval's weight in the averages, (0, 1] */

    int64_t retention_session_days;    /* audit events of the session class kept; 0: for ever */
    int64_t retention_moderation_days; /* moderation, votes, bans, revocations; 0: for ever */
    bool audit_verbose;                /* a signal.message record per signaling message */

    char timeout_policy[16];           /* "listen_only" | "deny_join" (docs/moderation.md) */
    char ratification[16];             /* "required" | "none": a moderator's kick opens a vote */
    int64_t vote_window_s;
    int64_t quorum_pct, majority_pct;  /* ballots cast / yes must exceed these percentages */
    int64_t kick_cooldown_s;
    int64_t timeout_s;                 /* a timeout's default duration */

    int64_t drop_grace_s;              /* a dropped participant may resume this long */
    int64_t restart_grace_s;           /* after a restart, from ready */
    int64_t resume_rotate_s;           /* a live session's resume token is replaced this often */
    int64_t drain_retry_after_ms;      /* told to clients on drain: resume after this */
    int64_t drain_timeout_ms;          /* SIGTERM / drain exits within this */

    /* TURN (DESIGN §3, docs/connectivity.md). Credentials in coturn's
     * use-auth-secret form, minted for every ticket and join. */
    char turn_mode[16];                /* "embedded" | "external" (turn.urls) | "off" */
    size_t n_turn_secrets;             /* the first signs, all verify (rotation); none: generated */
    char turn_secrets[HX_CFG_MAX_LIST][128];
    int64_t turn_ttl_s;                /* credential lifetime, 300..86400 */
    char turn_realm[128];
    char turn_host[64];                /* embedded: listen address (numeric) */
    int turn_udp_port, turn_tcp_port;  /* 0: the kernel picks, -1: off */
    int turn_tls_port;                 /* needs tls.cert_file; 0: the kernel picks, -1: off */
    bool turn_on_http_port;            /* TURN over the HTTP listener's port (TCP/TLS first bytes) */
    char turn_relay_host[64];          /* relay sockets bind here; empty: turn.host */
    int turn_min_port, turn_max_port;  /* relay port range; 0, 0: the kernel picks */
    char turn_announce[64];            /* address in URLs and XOR-RELAYED-ADDRESS (NAT) */
    size_t n_turn_allow;               /* peers allowed despite the private-range ban (CIDRs) */
    char turn_allow[HX_CFG_MAX_LIST][64];
    int64_t turn_max_allocations;      /* per user */
    int64_t turn_max_bps;              /* relayed bits per second per user */
    int64_t turn_max_lifetime_s;       /* an allocation's longest LIFETIME */
    size_t n_turn_urls;                /* external mode: the coturn URLs handed out */
    char turn_urls[HX_CFG_MAX_LIST][256];

    /* TLS on the HTTP/WebSocket listener (and TURN over TLS); SIGHUP reloads the files. */
    char tls_cert[HX_CFG_STR];
    char tls_key[HX_CFG_STR];

    /* The edge: who the client is and how much one address may hold. */
    size_t n_trusted_proxies;          /* Forwarded / X-Forwarded-For believed only from these CIDRs */
    char trusted_proxies[HX_CFG_MAX_LIST][64];
    int64_t max_conns_per_addr;        /* open HTTP/WebSocket connections per client address */
    size_t max_head_bytes;             /* a longer request head is answered 431 */
    char proxy_header[32];             /* the header trusted proxies write: "x-forwarded-for" | "forwarded" */

    /* Webhooks (docs/webhooks.md): none unless webhook.url is set. */
    char webhook_url[HX_CFG_STR];      /* http:// or https:// */
    char webhook_secret[256];          /* HMAC-SHA256 key of Hearth-Signature; a secret */
    size_t n_webhook_events;           /* kinds or "prefix.*" posted; none: the default set */
    char webhook_events[HX_CFG_MAX_LIST][64];
    int64_t webhook_timeout_ms;        /* one POST, connect to the end of the answer */
    int64_t webhook_backoff_ms;        /* the first retry after about this, doubling */
    int64_t webhook_backoff_max_ms;    /* up to this */
    int64_t webhook_max_attempts;      /* refusals (non-2xx) before an event is dead-lettered */
    int64_t webhook_max_age_s;         /* an event failing older than this too (0: no limit) */
    int64_t webhook_queue_max;         /* events read ahead into memory */
    int64_t webhook_poll_ms;           /* the audit trail read this often */
    int64_t webhook_dead_letter_max_mb; /* <data_dir>/webhook-dead-letters.jsonl at most */
} hx_config;

/** Result of command-line parsing. */
typedef enum hx_cli_action {
    HX_CLI_RUN = 0,
    HX_CLI_EXIT_OK,   /* --help / --version printed */
    HX_CLI_CHECK,     /* --check-config */
    HX_CLI_ERROR,
} hx_cli_action;

/**
 * Build the configuration from argv (which may name a --config file).
 * On error returns HX_CLI_ERROR with a message in err.
 */
hx_cli_action hx_config_from_args(hx_config *cfg, int argc, char **argv, char *err, size_t errlen);

/** Set one `section.key` (or top-level `key`) from text. 0, or -1 with err. */
int hx_config_set(hx_config *cfg, const char *key, const char *value, char *err, size_t errlen);

/** Defaults of a profile. */
void hx_config_defaults(hx_config *cfg, hx_profile p);

/** Cross-field checks (non-dev needs JWKS, issuers, audience; dev auth only in dev) and the
 *  ranges owned elsewhere (media.speaker_*: hx_speaker_config_check). */
int hx_config_validate(const hx_config *cfg, char *err, size_t errlen);

/** The rooms' active speaker detector as configured: the defaults with media.speaker_*. */
void hx_config_speaker(const hx_config *cfg, hx_speaker_config *out);

/** Load a file's lines into cfg. 0, or -1 with "FILE:LINE: message" in err. */
int hx_config_load_file(hx_config *cfg, const char *path, char *err, size_t errlen);

const char *hx_profile_name(hx_profile p);
int hx_profile_parse(const char *s, hx_profile *out);

/** Print the effective configuration (secrets masked). */
void hx_config_print(const hx_config *cfg, FILE *out);

/** cluster.redis split into host and port. 0, or -1 when it is not host:port. */
int hx_config_redis_addr(const hx_config *cfg, char *host, size_t hostlen, int *port);

/** The media workers to start: media.workers, or with 0 one per core (`cores`, at most 16);
 *  *process: as worker processes (media.isolation process, or auto with more than one). */
int hx_config_media_workers(const hx_config *cfg, unsigned cores, bool *process);

#endif
