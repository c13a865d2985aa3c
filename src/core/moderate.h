/*
 * The moderation service (docs/moderation.md): what a moderator's `moderate`
 * and `vote` messages and the admin API's moderation calls share. Each call
 * checks the action against the room (target present, track known, not
 * already in force), writes the audit record and any sanction to the store
 * in one transaction, and only then updates the live state and publishes
 * the action on the bus, where the signaling layer enforces it on live
 * sessions. A call that returns 0 has been acknowledged durably; one that
 * fails has changed nothing and says why with a code.
 */
#ifndef HX_CORE_MODERATE_H
#define HX_CORE_MODERATE_H

#include "core/server.h"
#include "moderation/moderation.h"

#include <jansson.h>

/** The actor name of actions taken through the admin API. */
#define HX_MOD_OPERATOR "operator"

typedef struct hx_mod_result {
    const char *code; /* NULL on success */
    char message[256];
    json_t *data;     /* on success: what to acknowledge with (owned by the caller) */
} hx_mod_result;

/** The policy from the configuration and the sanctions in force from the store (start-up). 0 or -1. */
int hx_moderation_load(hx_server *s);
/** Free the open votes and the live sanctions (teardown). */
void hx_moderation_free(hx_server *s);
/**
 * Carry out or propose action a (actor and room set by the caller; id and
 * target completed here). 0, or -1 with r->code: not_found (room),
 * target_not_found, unknown_track, already_muted, not_muted,
 * already_timed_out, not_timed_out, already_banned, not_banned,
 * too_many_votes, store_failed.
 */
int hx_moderate(hx_server *s, hx_mod_action *a, hx_mod_result *r);
/** A moderator's ballot on the vote of action_id. 0 or -1 with r->code (no_such_vote, and hx_vote_cast's). */
int hx_moderate_vote(hx_server *s, const char *action_id, const char *voter, bool yes, hx_mod_result *r);
/** Votes past their deadline decided, sanctions past expiry lifted. */
void hx_moderation_tick(hx_server *s, int64_t now_ms);
/** The policy that holds in room: its own, else the server's. */
const hx_mod_policy *hx_moderation_policy(const hx_server *s, const char *room);
/**
 * Set room's policy from the fields given (the others: the server's), or back to the server's
 * with fields NULL; stored with a `moderation.policy` record. 0 (r->data: the policy now), or
 * -1 with r->code bad_request / store_failed.
 */
int hx_moderation_set_policy(hx_server *s, const char *room, json_t *fields, hx_mod_result *r);
/** The open votes, as JSON (an array); room NULL = every room. */
json_t *hx_moderation_votes_json(const hx_server *s, const char *room);
/** The sanctions in force, as JSON (an array); room NULL = every room. */
json_t *hx_moderation_sanctions_json(const hx_server *s, const char *room);

/**
 * Un-revoke: drop a revocation from the store (with its audit record) and
 * the live set. 0, -1 (store failed) or HX_STORE_NOTFOUND.
 */
int hx_server_unrevoke(hx_server *s, hx_revoke_kind kind, const char *value, const char *actor, const char *reason);

#endif
