/*
 * Moderation as data (docs/design.md §5, docs/moderation.md): the actions,
 * the sanctions they leave behind, the room policy, and votes. Pure: no
 * store, no sessions, no clock but the one passed in, so the same code
 * runs in hearthd, in unit tests and under the fuzzer. core/moderate.c
 * persists and publishes; signal/ enforces on live sessions.
 *
 * An action names an actor (a moderator's user id, or "operator" for the
 * admin API), a target (a participant, a user and/or device, a track), a
 * reason and, where it applies, a duration. A sanction is what an action
 * leaves in force: a ban, a timeout, a kick's rejoin cooldown. Mutes live
 * on the track (room.h's hx_track_info.muted) and end with it.
 */
#ifndef HX_MODERATION_MODERATION_H
#define HX_MODERATION_MODERATION_H

#include "auth/grants.h"
#include "room/room.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HX_MOD_ID_LEN 19     /* "m_" + 16 hex + NUL */
#define HX_MOD_REASON_MAX 256
#define HX_MOD_MAX_SANCTIONS 100000
#define HX_MOD_MAX_VOTES 1024 /* open at once, server-wide */
#define HX_MOD_MAX_VOTERS 64  /* moderators eligible in one vote */

typedef enum hx_mod_kind {
    HX_MOD_MUTE = 1,
    HX_MOD_UNMUTE,
    HX_MOD_TIMEOUT,
    HX_MOD_UNTIMEOUT,
    HX_MOD_KICK,
    HX_MOD_BAN,
    HX_MOD_UNBAN,
    HX_MOD_KIND_MAX = HX_MOD_UNBAN,
} hx_mod_kind;

/** "mute", "unmute", "timeout", "untimeout", "kick", "ban", "unban"; "unknown" otherwise. */
const char *hx_mod_kind_name(hx_mod_kind k);
/** 0 when the name is unknown. */
hx_mod_kind hx_mod_kind_parse(const char *name);

typedef struct hx_mod_action {
    hx_mod_kind kind;
    char id[HX_MOD_ID_LEN];
    char room[HX_MAX_ID_LEN + 1];              /* "" only for operator bans: every room */
    char participant[HX_PARTICIPANT_ID_LEN];   /* target by participant id, or "" */
    char user[HX_MAX_ID_LEN + 1];              /* target user ("" for a device-only ban) */
    char device[HX_MAX_ID_LEN + 1];            /* "" = every device of the user */
    char track[HX_TRACK_ID_LEN];               /* mute / unmute */
    char actor[HX_MAX_ID_LEN + 1];             /* moderator's user id, or "operator" */
    char reason[HX_MOD_REASON_MAX];
    int64_t duration_ms;                       /* timeout, kick cooldown, ban (0: default / permanent) */
    bool propose;                              /* put to a vote instead of acting now */
} hx_mod_action;

/**
 * Read an action from a request's data object (signaling `moderate`, admin
 * API): {action, participant?, user?, device?, track?, room?, reason?,
 * duration_s?, propose?}. Checks types and bounds only; who may act and
 * whether the target exists are the caller's. 0, or -1 with *code
 * ("bad_request", "unknown_action") and a message in why.
 */
int hx_mod_action_parse(json_t *data, hx_mod_action *a, const char **code, char *why, size_t whylen);
/** The action as JSON for events and the audit trail (never the reason's absence as null). */
json_t *hx_mod_action_json(const hx_mod_action *a);
/** Fill a fresh random id. */
void hx_mod_new_id(char id[HX_MOD_ID_LEN]);

/* --- policy ---------------------------------------------------------------- */

typedef enum hx_timeout_policy {
    HX_TIMEOUT_LISTEN_ONLY = 0, /* may join and subscribe; publishing refused, tracks muted */
    HX_TIMEOUT_DENY_JOIN,       /* joins refused, present sessions disconnected */
} hx_timeout_policy;

typedef struct hx_mod_policy {
    hx_timeout_policy timeout;
    bool ratify;                /* a moderator's kick opens a vote by itself */
    int64_t vote_window_ms;     /* default 10 min */
    int quorum_pct;             /* votes cast must exceed this % of eligible moderators (50) */
    int majority_pct;           /* yes must exceed this % of votes cast (50) */
    int64_t kick_cooldown_ms;   /* default 10 min */
    int64_t timeout_default_ms; /* default 10 min */
    int64_t max_duration_ms;    /* longest timeout / cooldown / temporary ban (30 days) */
} hx_mod_policy;

void hx_mod_policy_default(hx_mod_policy *p);
/** The policy as JSON: timeout_policy, ratification, vote_window_s, quorum_pct, majority_pct,
 *  kick_cooldown_s, timeout_s (policy.c). */
json_t *hx_mod_policy_json(const hx_mod_policy *p);
/** Override p with the fields o names, each checked. 0, or -1 (p unchanged) with why. */
int hx_mod_policy_from_json(json_t *o, hx_mod_policy *p, char *why, size_t len);
const char *hx_timeout_policy_name(hx_timeout_policy p);
int hx_timeout_policy_parse(const char *s, hx_timeout_policy *out);

/* --- sanctions ------------------------------------------------------------- */

typedef enum hx_sanction_kind {
    HX_SANCTION_BAN = 1,
    HX_SANCTION_TIMEOUT,
    HX_SANCTION_COOLDOWN, /* after a kick */
} hx_sanction_kind;

const char *hx_sanction_kind_name(hx_sanction_kind k);

typedef struct hx_sanction {
    hx_sanction_kind kind;
    char action_id[HX_MOD_ID_LEN];
    char room[HX_MAX_ID_LEN + 1];   /* "" = every room */
    char user[HX_MAX_ID_LEN + 1];   /* "" = any user (a device ban) */
    char device[HX_MAX_ID_LEN + 1]; /* "" = any device */
    hx_timeout_policy policy;       /* TIMEOUT only */
    int64_t created_ms, expires_ms; /* unix ms; expires 0 = never */
    char actor[HX_MAX_ID_LEN + 1];
    char reason[HX_MOD_REASON_MAX];
} hx_sanction;

/** The sanctions in force: a bounded array, searched linearly (they are few next to sessions). */
typedef struct hx_sanctions {
    hx_sanction *v;
    size_t n, cap;
} hx_sanctions;

void hx_sanctions_init(hx_sanctions *s);
void hx_sanctions_free(hx_sanctions *s);
/** Add (a copy). 0, or -1 when full or out of memory. */
int hx_sanctions_add(hx_sanctions *s, const hx_sanction *x);
/** Remove the sanctions an action left. Returns how many. */
size_t hx_sanctions_lift(hx_sanctions *s, const char *action_id);
/** Remove those expired at now_ms; each goes to on_expired first (may be NULL). Returns how many. */
size_t hx_sanctions_sweep(hx_sanctions *s, int64_t now_ms, void (*on_expired)(void *arg, const hx_sanction *x),
                          void *arg);
/** Does x apply to this user and device in this room at now_ms? */
bool hx_sanction_applies(const hx_sanction *x, const char *room, const char *user, const char *device,
                         int64_t now_ms);

/** What a join (or a ticket for one) meets: the first ban, cooldown or deny-join timeout, or NULL. */
const hx_sanction *hx_sanctions_join_block(const hx_sanctions *s, const char *room, const char *user,
                                           const char *device, int64_t now_ms);
/** What a publish meets: a listen-only timeout, or NULL. */
const hx_sanction *hx_sanctions_publish_block(const hx_sanctions *s, const char *room, const char *user,
                                              const char *device, int64_t now_ms);
/** The first sanction of `kind` with the same room, user and device as x, or NULL (for "already banned"). */
const hx_sanction *hx_sanctions_find_same(const hx_sanctions *s, hx_sanction_kind kind, const char *room,
                                          const char *user, const char *device, int64_t now_ms);
/** The refusal code a blocking sanction gives: "banned", "kicked", "timed_out". */
const char *hx_sanction_code(const hx_sanction *x);

/* --- votes ----------------------------------------------------------------- */

typedef enum hx_vote_state {
    HX_VOTE_OPEN = 0,
    HX_VOTE_PASSED,
    HX_VOTE_FAILED,
} hx_vote_state;

typedef struct hx_vote {
    hx_mod_action action;      /* what is voted on (for a kick: what was done) */
    bool emergency;            /* the action already took effect: failing overturns it */
    int64_t opened_ms, deadline_ms;
    int quorum_pct, majority_pct;
    char voters[HX_MOD_MAX_VOTERS][HX_MAX_ID_LEN + 1]; /* eligible moderators (user ids) */
    signed char ballot[HX_MOD_MAX_VOTERS];             /* 0 none, 1 yes, -1 no */
    int n_voters;
    hx_vote_state state;
} hx_vote;

/**
 * Open a vote on action `a` among `voters` (user ids, duplicates ignored,
 * capped at HX_MOD_MAX_VOTERS). The proposer, when among them, has voted
 * yes. The vote may be decided at once (a lone moderator): check state.
 */
void hx_vote_open(hx_vote *v, const hx_mod_action *a, bool emergency, const char *const *voters, int n_voters,
                  const hx_mod_policy *p, int64_t now_ms);
/**
 * A ballot. 0 (counted; state may now be decided), or -1 with *code:
 * "vote_closed" (decided or past the deadline), "not_eligible",
 * "already_voted".
 */
int hx_vote_cast(hx_vote *v, const char *voter, bool yes, int64_t now_ms, const char **code);
/** Decide at the deadline (no-op before it or once decided). Returns the state. */
hx_vote_state hx_vote_tick(hx_vote *v, int64_t now_ms);
/** Ballots so far. */
void hx_vote_count(const hx_vote *v, int *yes, int *no);
const char *hx_vote_state_name(hx_vote_state s);
json_t *hx_vote_json(const hx_vote *v);
/** Every field of a vote, ballots included, for the store (vote_codec.c). */
json_t *hx_vote_state_json(const hx_vote *v);
/** Back from hx_vote_state_json's form. 0, or -1 (v zeroed) on anything out of bounds. */
int hx_vote_from_json(json_t *o, hx_vote *v);

#endif
