/*
 * One signaling session: a WebSocket connection's protocol state, from
 * `hello` through `join` to `leave` or disconnect. The session never touches
 * the socket: it talks through hx_sig_io (queue a text message; close after
 * the queue drains), so the same code runs behind libwebsockets, in unit
 * tests and in the fuzz target.
 *
 * Ownership: the transport creates the session with hx_session_open and
 * must call hx_session_closed exactly once when the connection is gone; that
 * removes the participant from its room, tells the others, and frees the
 * session.
 */
#ifndef HX_SIGNAL_SESSION_H
#define HX_SIGNAL_SESSION_H

#include "auth/resume_token.h"
#include "cluster/placement.h"
#include "common/ratelimit.h"
#include "core/server.h"
#include "room/room.h"
#include "sfu/sfu.h"
#include "signal/envelope.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct hx_session;
typedef struct hx_fanout_msg hx_fanout_msg;

#define HX_FANOUT_MAX_PENDING 1024 /* room events waiting per session; more go out at once */
#define HX_FANOUT_MAX_BATCH 32768  /* bytes of one room.events message */
#define HX_FANOUT_KEEP 64          /* a larger waiting-events array is freed once delivered */
#define HX_FANOUT_HOLD_MS 100      /* a batch client's room events wait at most this long */

typedef struct hx_sig_io {
    /** Queue one text message. Returns 0, or -1 if the send queue is over its cap. */
    int (*send)(void *ctx, const char *text, size_t len);
    /** Close with a WebSocket close code once queued messages are out. */
    void (*close)(void *ctx, int code, const char *reason);
    /** Send a keep-alive ping (the transport's; the peer's pong reaches hx_session_seen). */
    void (*ping)(void *ctx);
    /** From now on deliver this connection's messages and its end to `s` (NULL: to nobody;
     *  its close then frees nothing). A resume moves a connection to the session it resumes.
     *  NULL in transports that cannot resume. */
    void (*adopt)(void *ctx, struct hx_session *s);
} hx_sig_io;

typedef enum hx_session_state {
    HX_SESSION_OPEN = 0, /* hello sent, waiting for join */
    HX_SESSION_JOINED,
    HX_SESSION_CLOSING, /* close requested; waiting for the transport */
    HX_SESSION_AWAY,    /* joined, its connection gone: in the room until resumed or expired */
} hx_session_state;

#define HX_MAX_SUB_CHOICES 64

/** A subscription choice the client made by hand (signal/subs.c). */
typedef struct hx_sub_choice {
    char track[HX_TRACK_ID_LEN];
    int8_t subscribed; /* 1 subscribed, 0 unsubscribed, -1 not said (only a layer) */
    char layer[24];    /* a rid, "@WxH" for a size (signal/media.c), "" when not chosen */
    bool pinned;       /* track.pin: its downlink serves it first (signal/media.c) */
} hx_sub_choice;

#define HX_LAYERS_LIST_MAX 64 /* bytes of an EV_LAYERS rid list kept (signal/layers.c) */

/** The simulcast layers a publisher was last told to send for one track (signal/layers.c). */
typedef struct hx_layers_note {
    char track[HX_TRACK_ID_LEN];   /* "" : a free slot */
    char list[HX_LAYERS_LIST_MAX]; /* the engine's rids, "q,h" */
} hx_layers_note;

typedef struct hx_session {
    hx_server *srv;
    const hx_sig_io *io;
    void *io_ctx;
    int version;
    char addr[64];        /* the client's address (http/client_addr.h), set by the transport */
    hx_session_state state;
    int64_t opened_ms;    /* monotonic */
    int64_t last_seen_ms; /* monotonic: last frame or pong from the peer */
    int64_t last_ping_ms; /* monotonic: last keep-alive ping sent */
    hx_bucket bucket;
    int64_t last_limit_error_ms;
    int64_t drop_window_ms;
    int dropped_in_window;
    int64_t kick_started_ms;  /* monotonic; for the forced-disconnect histogram */
    const char *leave_reason; /* told to the room when the participant goes */
    /* Media (signal/media.c): two transports, publisher = base, subscriber = base + 1. */
    uint64_t media_serial; /* 0: no transports open */
    bool auto_subscribe;
    bool offer_pending; /* a publisher offer awaits the engine's answer */
    char offer_id[HX_ENVELOPE_MAX_ID + 1];
    long sub_revision;                       /* last subscriber offer sent; 0 = none */
    bool sub_answered;                       /* the client answered sub_revision */
    uint64_t media_stats[2][HX_SFU_STATS_N]; /* last cumulative counters per transport */
    bool media_connected;    /* a transport reached "connected" (join SLO measured once) */
    int64_t media_opened_ms; /* monotonic, when the transports were opened */
    /* Resume (signal/resume.c). Tokens gen min_gen..gen are valid; each is persisted first. */
    uint32_t resume_gen, resume_min_gen;
    int64_t rotated_ms;          /* monotonic: last token handed out */
    int64_t away_until_ms;       /* monotonic: AWAY sessions expire then */
    int64_t ice_push_ms;         /* monotonic: push fresh ICE servers then; 0: nothing lapses */
    const char *away_kind;       /* "drop" | "restart" (for the reconnect metric) */
    bool draining;               /* told `shutdown` with a resume hint: its close suspends */
    bool no_resume;              /* the client closed on purpose (1000): leave at once */
    struct hx_session *adopted_by; /* this connection's session became that one (free me) */
    /* Kept apart and allocated on first use (most sessions never need them: memory per
     * participant, docs/benchmarks.md); hx_session_free releases them. */
    hx_track_info *prior; /* [HX_MAX_TRACKS]: tracks published before a restart (id reuse) */
    size_t n_prior;
    hx_sub_choice *choices; /* [HX_MAX_SUB_CHOICES]: restored at resume */
    size_t n_choices;
    hx_layers_note *layers; /* [HX_MAX_TRACKS]: told while its transports live; resent at resume */
    hx_participant p;        /* in p.room while joined */
    struct hx_session *prev, *next;
    /* Room events waiting for the end of the loop turn (signal/fanout.c). */
    bool event_batch;        /* the client takes them as one room.events message (join data) */
    bool fan_dirty;          /* in one of the registry's lists of sessions with events waiting */
    bool fan_held;           /* that list is `held` (a batch client's), else `dirty` */
    hx_fanout_msg **fan;     /* waiting, in order; each holds a reference */
    size_t n_fan, cap_fan;
    struct hx_session *fan_prev, *fan_next; /* the dirty list */
} hx_session;

/** WebSocket close codes (docs/protocol.md §4). */
enum {
    HX_CLOSE_NORMAL = 1000,
    HX_CLOSE_GOING_AWAY = 1001,
    HX_CLOSE_POLICY = 1008,
    HX_CLOSE_TOO_BIG = 1009,
    HX_CLOSE_BAD_VERSION = 4001,
    HX_CLOSE_JOIN_TIMEOUT = 4002,
    HX_CLOSE_JOIN_REFUSED = 4003,
    HX_CLOSE_REPLACED = 4004,
    HX_CLOSE_REVOKED = 4005,
    HX_CLOSE_TIMEOUT = 4006,
    HX_CLOSE_NEGOTIATION = 4007,
    HX_CLOSE_MODERATED = 4008, /* kicked, banned, or timed out under deny_join */
    HX_CLOSE_RESUME_REFUSED = 4009, /* join again with a new ticket */
};

/**
 * A new connection asked for protocol version `version` (0 = not named).
 * Sends `hello`, or `unsupported_version` and a close. Returns NULL only on
 * allocation failure.
 */
hx_session *hx_session_open(hx_server *srv, const hx_sig_io *io, void *io_ctx, int version);
/** Free a session that is out of every list: its side arrays, then itself. */
void hx_session_free(hx_session *s);
/** One complete text message. */
void hx_session_message(hx_session *s, const char *buf, size_t len);
/** The peer sent a message over the size limit: error, then close 1009. */
void hx_session_too_large(hx_session *s);
/** Server-side disconnect: `disconnect` with reason, then close. */
void hx_session_kick(hx_session *s, const char *reason, int close_code, const char *message);
/** An event from the media engine (sfu.h bytes), on the main loop: routed to its session. */
void hx_signal_engine_event(void *server, const uint8_t *msg, size_t len);
/** The peer sent something (a frame or a pong): it is alive. */
void hx_session_seen(hx_session *s, int64_t mono_ms);
/** Periodic check: join timeout, keep-alive timeout. */
void hx_session_tick(hx_session *s, int64_t mono_ms);
/** The connection is gone: leave the room, free. */
void hx_session_closed(hx_session *s);

/* Helpers shared by the session's files. */
void hx_session_send(hx_session *s, const char *type, const char *id, json_t *data);
void hx_session_error(hx_session *s, const char *id, const char *code, const char *message);
/** One event to everyone in the room but `except`, encoded once and delivered at the end of
 *  the loop turn (signal/fanout.c); steals data. */
void hx_room_broadcast(hx_room *r, const hx_participant *except, const char *type, json_t *data);
/** hx_room_broadcast for an event that should not wait: a batch client gets it, with what
 *  waits for it, at the end of the loop turn rather than HX_FANOUT_HOLD_MS after the first. */
void hx_room_broadcast_prompt(hx_room *r, const hx_participant *except, const char *type,
                              json_t *data);

/* Room-event fan-out (signal/fanout.c). */
/** An event encoded once for many recipients (one reference; steals data). NULL on failure. */
hx_fanout_msg *hx_fanout_msg_new(const char *type, json_t *data);
/** Drop a reference. */
void hx_fanout_msg_release(hx_fanout_msg *m);
/** The encoded text of m. */
const char *hx_fanout_msg_text(const hx_fanout_msg *m, size_t *len);
/** Queue m for s until the end of the loop turn (at once when nothing defers); takes a ref. */
void hx_session_push_event(hx_session *s, hx_fanout_msg *m);
/** Deliver the room events waiting for s now (before anything sent to s directly). */
void hx_session_flush_events(hx_session *s);
/** Forget the room events waiting for s (its connection is gone). */
void hx_session_drop_events(hx_session *s);
json_t *hx_participant_json(const hx_participant *p);
json_t *hx_room_json(const hx_room *r, const hx_participant *except);
/** hx_room_json with a placeholder where the participant list goes: for hx_session_send_result. */
json_t *hx_room_json_slot(const hx_room *r, const hx_participant *except);
/** The room's participants but `except` as a JSON array text, from each one's text encoded
 *  once (hx_participant.json); malloc'd, NULL on failure. */
char *hx_room_participants_text(hx_room *r, const hx_participant *except, size_t *len);
/** Send a join (or resume) result built on hx_room_json_slot as the `ack` to `id`, its
 *  participant list spliced in as text: no JSON built or encoded per member. Steals result. */
void hx_session_send_result(hx_session *s, const char *id, json_t *result);
void hx_session_join(hx_session *s, const char *id, json_t *data);


/* Active speakers (signal/speakers.c; docs/protocol.md §2.6). */
#define HX_SPEAKERS_MAX 64        /* items of one list (the engine's HX_SPEAKER_MAX) */
#define HX_SPEAKERS_LIST_MAX 4096 /* bytes of the engine's list; it writes under 3 KiB */
/** `room.speakers` data, {"speakers": [{participant, track, level 0..1}]}, from an EV_SPEAKERS
 *  list ("TRACK:LEVEL,...", LEVEL 0-100) in its order. Tracks that no participant of r
 *  publishes as audio now, and malformed items, are left out and counted in *dropped (may be
 *  NULL). NULL only when out of memory. */
json_t *hx_speakers_json(const hx_room *r, const char *list, size_t len, size_t *dropped);
/** EV_SPEAKERS: kept in its room, told to every member (the speakers too) as a room event. */
void hx_signal_speakers(hx_server *srv, const hx_sfu_msg *m);
/** Tell s who speaks in its room now, if anyone does: after its join or resume result. */
void hx_session_send_speakers(hx_session *s);

/* Layers nobody watches (signal/layers.c; docs/protocol.md §2.7). */
/** `track.layers` data, {"track", "mid", "active": [rids]}, from an EV_LAYERS rid list
 *  ("q,h"). NULL when the list is empty or malformed (an empty rid, a byte RFC 8851 does not
 *  allow in one), or when out of memory. */
json_t *hx_layers_json(const char *track, const char *mid, const char *list, size_t len);
/** RFC 8851 §10: rid-id = 1*(alpha-numeric / "-" / "_"); true for a byte it allows. */
bool hx_rid_char(char c);
/** EV_LAYERS on s's publisher transport: kept for the track and told to s (only). */
void hx_session_layers(hx_session *s, const hx_sfu_msg *m);
/** Tell s again what each of its tracks was last told: after a resume that kept the media. */
void hx_session_send_layers(hx_session *s);
/** Forget what was told for a track (NULL: for every track, as the transports close). */
void hx_session_layers_forget(hx_session *s, const char *track);

/* What a subscriber receives of each track (signal/receiving.c; docs/protocol.md §2.8). */
/** `track.receiving` data from an EV_RECEIVING's rid ("" none), size ("WxH", "" unknown) and
 *  limited flag; NULL when the rid or size is malformed. */
json_t *hx_receiving_json(const char *track, const char *rid, const char *size, bool limited);
/** EV_RECEIVING on the session's subscriber transport: tell the client. */
void hx_session_receiving(hx_session *s, const hx_sfu_msg *m);

/** audit.verbose: a `signal.message` record (type, size, SDP hash) for a joined session's message. */
void hx_session_audit_message(hx_session *s, const char *type, json_t *data, size_t bytes);

/* Resume, restart and drain (signal/resume.c, signal/persist.c; docs/protocol.md §2.4). */
/** `resume` {token, room, media}: s is the fresh connection's session. */
void hx_session_resume(hx_session *s, const char *id, json_t *data);
/** The join result's `resume` object, with a new token numbered past seen_gen and every token
 *  before it spent (persisted first, with the audit record ev when not NULL). NULL on failure. */
json_t *hx_session_resume_grant(hx_session *s, uint32_t seen_gen, const hx_event *ev);
/** The join result (participant, grants, room, ice_servers), also the base of a resume's; its
 *  room is hx_room_json_slot's, so send it with hx_session_send_result. */
json_t *hx_session_join_result(hx_session *s);
/** Fresh ICE servers for s (core/ice_servers.h), and when to push the next (signal/ice_push.c). */
json_t *hx_session_ice_servers(hx_session *s);
/** Push `ice.servers` when the TURN credential handed out is close to lapsing. */
void hx_session_ice_tick(hx_session *s, int64_t mono_ms);
/** Drain: tell s `shutdown` with a resume hint and close 1001; its close leaves it AWAY. */
void hx_session_drain(hx_session *s);
/** The connection of a joined session is gone: true when it is now AWAY (for the drop window,
 *  or the restart window when drained); false when it cannot resume and must leave. */
bool hx_session_suspend(hx_session *s);
/** Periodic: rotate the token of a joined session; expire an AWAY one (may free s). */
bool hx_session_resume_tick(hx_session *s, int64_t mono_ms);
/** Write (or on leave delete) s's durable record: what a restart needs to resume it. */
int hx_session_persist(hx_session *s);
void hx_session_forget(hx_session *s);
/** The same with the audit record ev (may be NULL) in the same transaction: one sync, not two.
 *  ev is written (and logged) even when there is no record to write. */
int hx_session_persist_with(hx_session *s, const hx_event *ev);
void hx_session_forget_with(hx_session *s, const hx_event *ev);
/** An audit record about s's participant (kind, code and detail borrowed). */
hx_event hx_session_event(const hx_session *s, const char *kind, const char *code,
                          const char *detail);
/** Note a subscription choice (subscribed 1/0, -1 unchanged; layer NULL unchanged); persisted. */
void hx_session_sub_note(hx_session *s, const char *track, int subscribed, const char *layer);
/** Note that the client pinned (or unpinned) a track (track.pin); persisted. */
void hx_session_pin_note(hx_session *s, const char *track, bool pinned);
/** The choice made for a track, or NULL. */
const hx_sub_choice *hx_session_sub_choice(const hx_session *s, const char *track);
/** At start-up: every stored session becomes AWAY for the restart window. Returns the count or -1. */
int hx_sessions_restore(hx_server *srv);
/** Free every session without leaving rooms or touching the store (process exit). */
void hx_sessions_free_all(hx_server *srv);
/** One stored record (key: participant id) as an AWAY session in its room (only if that is
 *  `room`, when given), for the restart window; NULL when unreadable or the room refuses it. */
hx_session *hx_session_restore_record(hx_server *srv, const char *key, const char *value,
                                      const char *room);

/** A media worker process died (hearthd/media.c): the session owning transport is told
 *  `disconnect` reason `media_restart` with a resume hint and closed; its resume renews its
 *  media on a live worker. */
void hx_signal_media_lost(void *server, uint64_t transport);

/** A cluster with a shared store: drop (and audit as `session.leave` `expired`) the session
 *  records of nodes that are not alive (alive(arg, node) false) and whose heartbeat is older
 *  than the restart window: their clients did not resume anywhere. The count, or -1. */
int hx_sessions_sweep_orphans(hx_server *srv, bool (*alive)(void *arg, const char *node),
                              void *arg);

/* A cluster's nodes (signal/route.c, docs/scaling.md). */
/** At a join or resume for room: when another live node hosts it, `room_elsewhere` with its
 *  signal URL, the connection closed, and true. */
bool hx_session_redirect(hx_session *s, const char *id, const char *room);
/** The cluster's hx_cluster_moved_fn (server: the hx_server): every session of room handed to
 *  the node `to` with a resume hint (`disconnect` reason `moved`), its record left to that node. */
void hx_signal_room_moved(void *server, const char *room, const hx_node_view *to);
/** A resume for a participant this node does not hold: its record taken over from the store the
 *  nodes share, AWAY here, so the resume goes on as after a restart. NULL when there is none. */
hx_session *hx_session_take_over(hx_server *srv, const hx_resume_token *t);

/** `data.send` {to, data}: a text message to one participant of the room (signal/data_send.c). */
void hx_session_data_send(hx_session *s, const char *id, json_t *data);

/* Moderation (signal/moderate.c). */
/** `moderate` {action, participant|user|device|track, reason, duration_s, propose}. */
void hx_session_moderate(hx_session *s, const char *id, json_t *data);
/** `vote` {action_id, approve}. */
void hx_session_vote(hx_session *s, const char *id, json_t *data);
/** Tell the engine whether to forward one of s's tracks (not when muted or held). */
void hx_session_post_mute(hx_session *s, const hx_track_info *t, int64_t stamp_ms);
/** Hold (or release) every track s publishes: a listen-only timeout. */
void hx_session_hold_tracks(hx_session *s, bool hold, int64_t stamp_ms);
/** A moderation action from the bus, enforced on this node's sessions. */
void hx_signal_moderation(hx_server *srv, const hx_bus_msg *m);
/** Stamp an engine command with what enforces it ('m' media stop, 'c' transports closed) and when. */
void hx_enforcement_stamp(hx_sfu_builder *b, char what, int64_t mono_ms);
/** Post an engine command; false (answered `media_unavailable` when id) if it could not go. */
bool hx_session_post(hx_session *s, hx_sfu_builder *b, const char *id);
/** An engine DONE for an enforcement command: observed, and true (not a client's). */
bool hx_signal_enforcement_done(hx_server *srv, const hx_sfu_msg *m);

/* Media signaling (signal/media.c). */
/** After a join: open the transports and subscribe to what the room publishes. */
void hx_session_media_open(hx_session *s, json_t *join_data);
/** The server's media_sessions key for a transport serial. */
void hx_session_media_key(uint64_t serial, char key[24]);
/** Subscribe s to a track, if it has media, the grant and auto-subscription. */
void hx_session_media_auto_subscribe(hx_session *s, const char *track);
/** Audit a track of s's coming or going ("track.published", "track.unpublished" with the
 *  reason as code), relaxed: for webhooks (docs/webhooks.md), nothing waits on it. */
void hx_session_audit_track(hx_session *s, const char *kind, const hx_track_info *t,
                            const char *reason);
/** Another participant's published track in s's room by id (len bytes), or NULL. */
const char *hx_session_other_track(const hx_session *s, const char *id, size_t len);
/** On leave, kick or close: close the transports, unpublish the tracks. */
void hx_session_media_close(hx_session *s);
/** sdp.offer, sdp.answer, ice.candidate, track.* requests. */
void hx_session_media_request(hx_session *s, int kind, const char *id, json_t *data);
/** An engine event for one of this session's transports (role 0 publisher, 1 subscriber). */
void hx_session_engine_event(hx_session *s, int role, const hx_sfu_msg *m);
/** The room's published tracks as JSON (for the join result). */
json_t *hx_room_tracks_json(const hx_room *r, const hx_participant *except);

#endif
