/*
 * Votes (docs/design.md §5). The eligible voters are the moderators present
 * when the vote opens; the proposer's yes is counted at once. A vote is
 * decided as soon as its outcome cannot change, else at the deadline:
 *   passes when votes cast > quorum_pct of the eligible and
 *               yes > majority_pct of the votes cast;
 *   fails otherwise (an expired vote without quorum fails).
 * Early decision: once the outstanding ballots cannot change the outcome,
 * whichever way they are cast or if they are not.
 */
#include "moderation/moderation.h"

#include <stdio.h>
#include <string.h>

static int find_voter(const hx_vote *v, const char *user)
{
    for (int i = 0; i < v->n_voters; i++)
        if (!strcmp(v->voters[i], user)) return i;
    return -1;
}

void hx_vote_count(const hx_vote *v, int *yes, int *no)
{
    *yes = *no = 0;
    for (int i = 0; i < v->n_voters; i++) {
        if (v->ballot[i] > 0) (*yes)++;
        if (v->ballot[i] < 0) (*no)++;
    }
}

/* The outcome if voting stopped with these ballots. */
static hx_vote_state outcome(const hx_vote *v, int yes, int no)
{
    int cast = yes + no;
    bool quorum = (long)cast * 100 > (long)v->quorum_pct * v->n_voters;
    bool majority = (long)yes * 100 > (long)v->majority_pct * cast;
    return quorum && majority ? HX_VOTE_PASSED : HX_VOTE_FAILED;
}

/* Decide now when no way of casting (or not casting) the outstanding ballots
 * changes the outcome: every split of them into yes, no and abstain is tried
 * (at most 64 voters: ~2,100 splits, on a ballot, not per packet). */
static void decide_if_settled(hx_vote *v)
{
    int yes, no;
    hx_vote_count(v, &yes, &no);
    int left = v->n_voters - yes - no;
    hx_vote_state first = outcome(v, yes, no);
    for (int a = 0; a <= left; a++)
        for (int b = 0; a + b <= left; b++)
            if (outcome(v, yes + a, no + b) != first) return;
    v->state = first;
}

void hx_vote_open(hx_vote *v, const hx_mod_action *a, bool emergency, const char *const *voters, int n_voters,
                  const hx_mod_policy *p, int64_t now_ms)
{
    memset(v, 0, sizeof *v);
    v->action = *a;
    v->emergency = emergency;
    v->opened_ms = now_ms;
    v->deadline_ms = now_ms + p->vote_window_ms;
    v->quorum_pct = p->quorum_pct;
    v->majority_pct = p->majority_pct;
    for (int i = 0; i < n_voters && v->n_voters < HX_MOD_MAX_VOTERS; i++) {
        if (!voters[i] || !voters[i][0] || find_voter(v, voters[i]) >= 0) continue;
        snprintf(v->voters[v->n_voters++], sizeof v->voters[0], "%s", voters[i]);
    }
    int me = find_voter(v, a->actor);
    if (me >= 0) v->ballot[me] = 1;
    decide_if_settled(v);
}

int hx_vote_cast(hx_vote *v, const char *voter, bool yes, int64_t now_ms, const char **code)
{
    if (v->state != HX_VOTE_OPEN || now_ms >= v->deadline_ms) {
        *code = "vote_closed";
        return -1;
    }
    int i = find_voter(v, voter);
    if (i < 0) {
        *code = "not_eligible";
        return -1;
    }
    if (v->ballot[i]) {
        *code = "already_voted";
        return -1;
    }
    v->ballot[i] = yes ? 1 : -1;
    decide_if_settled(v);
    return 0;
}

hx_vote_state hx_vote_tick(hx_vote *v, int64_t now_ms)
{
    if (v->state == HX_VOTE_OPEN && now_ms >= v->deadline_ms) {
        int yes, no;
        hx_vote_count(v, &yes, &no);
        v->state = outcome(v, yes, no);
    }
    return v->state;
}

const char *hx_vote_state_name(hx_vote_state s)
{
    return s == HX_VOTE_PASSED ? "passed" : s == HX_VOTE_FAILED ? "failed" : "open";
}

json_t *hx_vote_json(const hx_vote *v)
{
    int yes, no;
    hx_vote_count(v, &yes, &no);
    json_t *voters = json_array();
    for (int i = 0; i < v->n_voters; i++) json_array_append_new(voters, json_string(v->voters[i]));
    return json_pack("{s:s, s:o, s:b, s:s, s:I, s:I, s:o, s:i, s:i, s:i, s:i}", "id", v->action.id, "action",
                     hx_mod_action_json(&v->action), "emergency", v->emergency, "state", hx_vote_state_name(v->state),
                     "opened_at_ms", (json_int_t)v->opened_ms, "deadline_ms", (json_int_t)v->deadline_ms, "voters",
                     voters, "yes", yes, "no", no, "quorum_pct", v->quorum_pct, "majority_pct", v->majority_pct);
}
