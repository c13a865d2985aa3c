/*
 * The live signaling sessions of this process, and how the rest of hearth
 * reaches them: find, notify and disconnect by a match on who they are
 * (user, device, sid, room, participant, jti) or by any predicate. The
 * registry also subscribes the signaling layer to the bus (bus/bus.h), so a
 * revocation or moderation action published anywhere is enforced here on
 * the sessions it matches.
 *
 * hx_signal_attach builds the registry on a server context and subscribes;
 * hx_signal_detach undoes both (sessions must be gone by then).
 */
#ifndef HX_SIGNAL_REGISTRY_H
#define HX_SIGNAL_REGISTRY_H

#include "signal/session.h"

#include <stdbool.h>

/** The loop handles that end a turn by delivering room events (signal/fanout.c). */
typedef struct hx_fanout_turn {
    uv_check_t check; /* after each turn's I/O */
    uv_idle_t idle;   /* active while events wait: the next turn does not block */
    uv_timer_t hold;  /* HX_FANOUT_HOLD_MS after a batch client's first waiting event */
    hx_server *srv;
    int open; /* handles made and not yet closed; the last close frees this */
} hx_fanout_turn;

typedef struct hx_sessions {
    hx_session *head;
    size_t n;
    hx_session *dirty;        /* sessions with room events waiting for the turn's end (fanout.c) */
    hx_session *held;         /* batch clients with room events waiting for the hold timer */
    bool defer;               /* room events wait for hx_signal_flush (the loop's turn end) */
    hx_fanout_turn *turn;     /* NULL without a loop */
    hx_strmap by_media;       /* transport serial (hex) -> hx_session * with transports open */
    int64_t alive_written_ms; /* monotonic: last "node alive" heartbeat in the store */
} hx_sessions;

#define HX_ALIVE_EVERY_MS 2000

/** Date "this node was alive" in the store (at most every HX_ALIVE_EVERY_MS); persist.c. */
void hx_signal_heartbeat(hx_server *srv, int64_t mono_ms);
/** The connection-less io of AWAY sessions. */
const hx_sig_io *hx_session_away_io(void);

/** Every field that is not NULL must equal the session's; joined_only skips sessions not in a room. */
typedef struct hx_session_match {
    const char *user, *device, *sid, *room, *participant, *jti;
    bool joined_only;
} hx_session_match;

typedef bool (*hx_session_pred)(const hx_session *s, const void *arg);
typedef void (*hx_session_fn)(hx_session *s, void *arg);

/** Deliver every room event waiting (signal/fanout.c); the loop does it at each turn's end. */
void hx_signal_flush(hx_server *srv);

/** Build the registry on srv and subscribe to srv->bus. 0 or -1. */
int hx_signal_attach(hx_server *srv);
/** Unsubscribe and free the registry. */
void hx_signal_detach(hx_server *srv);

void hx_sessions_add(hx_sessions *r, hx_session *s);
void hx_sessions_remove(hx_sessions *r, hx_session *s);
/** Live sessions (any state). */
size_t hx_sessions_count(const hx_server *srv);

/** Every session (a predicate). */
bool hx_session_any(const hx_session *s, const void *unused);
/** hx_session_tick on every session. */
void hx_sessions_tick(hx_server *srv, int64_t mono_ms);
/** The predicate for a hx_session_match (arg: const hx_session_match *). */
bool hx_session_matches(const hx_session *s, const void *match);
/** fn on each session pred accepts (fn may kick; it must not close; NULL only counts). Returns how many. */
size_t hx_sessions_each(hx_server *srv, hx_session_pred pred, const void *arg, hx_session_fn fn, void *fn_arg);
/** The first session pred accepts, or NULL. */
hx_session *hx_sessions_find(hx_server *srv, hx_session_pred pred, const void *arg);
/** Disconnect every match (`disconnect` {reason, message}, then close). Returns how many. */
size_t hx_sessions_kick(hx_server *srv, hx_session_pred pred, const void *arg, const char *reason,
                        int close_code, const char *message);
/** Send one event to every match, encoded once. Does not steal data. Returns how many. */
size_t hx_sessions_notify(hx_server *srv, hx_session_pred pred, const void *arg, const char *type,
                          json_t *data);

/** Sessions that a revocation matches (arg: the hx_bus_msg of kind REVOKE). */
bool hx_session_revoked_by(const hx_session *s, const void *revoke_msg);

/**
 * hx_server_revoke, telling how many sessions of this node it disconnects
 * (*disconnected may be NULL). 0 or -1 as hx_server_revoke.
 */
int hx_signal_revoke(hx_server *srv, hx_revoke_kind kind, const char *value, int64_t not_before,
                     const char *reason, int *disconnected);

#endif
