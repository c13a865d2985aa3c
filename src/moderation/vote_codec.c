/*
 * A vote as stored (the store's "vote" state, read back at start): every
 * field, ballots included, as JSON; and back, refusing anything that would
 * not fit or could not have been written (a stored row is input like any
 * other: fuzz/fuzz_vote.c).
 */
#include "moderation/moderation.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

static const struct {
    const char *key;
    size_t off, cap;
} strs[] = {
#define S(f) {#f, offsetof(hx_mod_action, f), sizeof(((hx_mod_action *)0)->f)}
    S(id), S(room), S(participant), S(user), S(device), S(track), S(actor), S(reason),
#undef S
};
#define N_STRS (sizeof strs / sizeof strs[0])

json_t *hx_vote_state_json(const hx_vote *v)
{
    const hx_mod_action *a = &v->action;
    json_t *act = json_pack("{s:i, s:I, s:b}", "kind", (int)a->kind, "duration_ms", (json_int_t)a->duration_ms,
                            "propose", a->propose);
    for (size_t i = 0; act && i < N_STRS; i++)
        json_object_set_new(act, strs[i].key, json_string((const char *)a + strs[i].off));
    json_t *voters = json_array(), *ballots = json_array();
    for (int i = 0; i < v->n_voters; i++) {
        json_array_append_new(voters, json_string(v->voters[i]));
        json_array_append_new(ballots, json_integer(v->ballot[i]));
    }
    return json_pack("{s:o, s:b, s:I, s:I, s:i, s:i, s:o, s:o, s:i}", "action", act, "emergency", v->emergency,
                     "opened_ms", (json_int_t)v->opened_ms, "deadline_ms", (json_int_t)v->deadline_ms, "quorum_pct",
                     v->quorum_pct, "majority_pct", v->majority_pct, "voters", voters, "ballots", ballots, "state",
                     (int)v->state);
}

static int copy_str(json_t *o, const char *key, char *out, size_t cap)
{
    json_t *s = json_object_get(o, key);
    size_t len = json_string_length(s);
    if (!json_is_string(s) || len >= cap || memchr(json_string_value(s), 0, len)) return -1;
    memcpy(out, json_string_value(s), len + 1);
    return 0;
}

static int get_int(json_t *o, const char *key, int64_t lo, int64_t hi, int64_t *out)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) return -1;
    *out = json_integer_value(v);
    return 0;
}

int hx_vote_from_json(json_t *o, hx_vote *v)
{
    memset(v, 0, sizeof *v);
    json_t *act = json_object_get(o, "action"), *voters = json_object_get(o, "voters"),
           *ballots = json_object_get(o, "ballots");
    int64_t kind, dur, opened, deadline, q, m, state;
    if (!json_is_object(act) || !json_is_array(voters) || !json_is_array(ballots) ||
        json_array_size(voters) != json_array_size(ballots) || json_array_size(voters) > HX_MOD_MAX_VOTERS ||
        get_int(act, "kind", 1, HX_MOD_KIND_MAX, &kind) || get_int(act, "duration_ms", 0, INT64_MAX / 2, &dur) ||
        !json_is_boolean(json_object_get(act, "propose")) || !json_is_boolean(json_object_get(o, "emergency")) ||
        get_int(o, "opened_ms", 0, INT64_MAX / 2, &opened) || get_int(o, "deadline_ms", 0, INT64_MAX / 2, &deadline) ||
        get_int(o, "quorum_pct", 0, 99, &q) || get_int(o, "majority_pct", 0, 99, &m) ||
        get_int(o, "state", HX_VOTE_OPEN, HX_VOTE_FAILED, &state))
        goto bad;
    for (size_t i = 0; i < N_STRS; i++)
        if (copy_str(act, strs[i].key, (char *)&v->action + strs[i].off, strs[i].cap)) goto bad;
    v->action.kind = (hx_mod_kind)kind;
    v->action.duration_ms = dur;
    v->action.propose = json_is_true(json_object_get(act, "propose"));
    v->emergency = json_is_true(json_object_get(o, "emergency"));
    v->opened_ms = opened;
    v->deadline_ms = deadline;
    v->quorum_pct = (int)q;
    v->majority_pct = (int)m;
    v->state = (hx_vote_state)state;
    size_t i;
    json_t *x;
    json_array_foreach(voters, i, x) {
        int64_t b;
        if (!json_is_string(x) || json_string_length(x) > HX_MAX_ID_LEN || !json_string_length(x) ||
            memchr(json_string_value(x), 0, json_string_length(x)))
            goto bad;
        memcpy(v->voters[i], json_string_value(x), json_string_length(x) + 1);
        json_t *bv = json_array_get(ballots, i);
        if (!json_is_integer(bv) || (b = json_integer_value(bv)) < -1 || b > 1) goto bad;
        v->ballot[i] = (signed char)b;
        v->n_voters++;
    }
    return 0;
bad:
    memset(v, 0, sizeof *v);
    return -1;
}
