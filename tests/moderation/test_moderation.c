/*
 * Unit tests for moderation/: reading actions (and refusing bad ones with
 * their codes), which sanctions block a join or a publish, lifting and
 * expiry, and votes (quorum, majority, early decision, refusals).
 */
#include "moderation/moderation.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static int parse(const char *json, hx_mod_action *a, const char **code)
{
    char why[256];
    json_t *d = json_loads(json, 0, NULL);
    int rc = hx_mod_action_parse(d, a, code, why, sizeof why);
    json_decref(d);
    return rc;
}

static void actions_parse(void **state)
{
    (void)state;
    hx_mod_action a;
    const char *code;
    assert_int_equal(parse("{\"action\":\"timeout\",\"participant\":\"p_1\",\"reason\":\"spam\",\"duration_s\":60}",
                           &a, &code), 0);
    assert_int_equal(a.kind, HX_MOD_TIMEOUT);
    assert_string_equal(a.participant, "p_1");
    assert_int_equal(a.duration_ms, 60000);
    assert_false(a.propose);
    assert_int_equal(parse("{\"action\":\"ban\",\"device\":\"dev-9\"}", &a, &code), 0);
    assert_int_equal(parse("{\"action\":\"mute\",\"track\":\"t1\",\"propose\":true}", &a, &code), 0);
    assert_true(a.propose);

    static const char *const bad[] = {
        "[]", "{}", "{\"action\":5}", "{\"action\":\"kick\"}", "{\"action\":\"mute\",\"participant\":\"p\"}",
        "{\"action\":\"kick\",\"user\":\"has space\"}", "{\"action\":\"kick\",\"user\":\"u\",\"duration_s\":-1}",
        "{\"action\":\"kick\",\"user\":\"u\",\"duration_s\":1.5}", "{\"action\":\"kick\",\"user\":\"u\",\"propose\":1}",
        "{\"action\":\"timeout\",\"device\":\"d\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(parse(bad[i], &a, &code), -1);
        assert_string_equal(code, "bad_request");
    }
    assert_int_equal(parse("{\"action\":\"smite\",\"user\":\"u\"}", &a, &code), -1);
    assert_string_equal(code, "unknown_action");

    char reason[400];
    memset(reason, 'r', sizeof reason - 1);
    reason[sizeof reason - 1] = '\0';
    char big[600];
    snprintf(big, sizeof big, "{\"action\":\"kick\",\"user\":\"u\",\"reason\":\"%s\"}", reason);
    assert_int_equal(parse(big, &a, &code), -1);

    /* Written back as JSON for events. */
    assert_int_equal(parse("{\"action\":\"kick\",\"user\":\"bob\",\"reason\":\"r\"}", &a, &code), 0);
    hx_mod_new_id(a.id);
    snprintf(a.actor, sizeof a.actor, "mod");
    json_t *j = hx_mod_action_json(&a);
    assert_string_equal(json_string_value(json_object_get(j, "action")), "kick");
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "target"), "user")), "bob");
    assert_int_equal(strlen(json_string_value(json_object_get(j, "id"))), HX_MOD_ID_LEN - 1);
    json_decref(j);
}

static hx_sanction sanction(hx_sanction_kind k, const char *id, const char *room, const char *user,
                            const char *device, int64_t expires)
{
    hx_sanction x = {.kind = k, .expires_ms = expires};
    snprintf(x.action_id, sizeof x.action_id, "%s", id);
    snprintf(x.room, sizeof x.room, "%s", room);
    snprintf(x.user, sizeof x.user, "%s", user);
    snprintf(x.device, sizeof x.device, "%s", device);
    return x;
}

static int expired_seen;
static void on_expired(void *arg, const hx_sanction *x)
{
    (void)arg;
    (void)x;
    expired_seen++;
}

static void sanctions_block(void **state)
{
    (void)state;
    hx_sanctions s;
    hx_sanctions_init(&s);
    hx_sanction ban = sanction(HX_SANCTION_BAN, "m_ban", "", "mallory", "", 0);
    hx_sanction dev = sanction(HX_SANCTION_BAN, "m_dev", "r", "", "burner", 0);
    hx_sanction cool = sanction(HX_SANCTION_COOLDOWN, "m_kick", "r", "bob", "", 1000);
    hx_sanction lo = sanction(HX_SANCTION_TIMEOUT, "m_to", "r", "carol", "", 2000);
    hx_sanction dj = sanction(HX_SANCTION_TIMEOUT, "m_dj", "r", "dave", "", 2000);
    dj.policy = HX_TIMEOUT_DENY_JOIN;
    assert_int_equal(hx_sanctions_add(&s, &ban), 0);
    assert_int_equal(hx_sanctions_add(&s, &dev), 0);
    assert_int_equal(hx_sanctions_add(&s, &cool), 0);
    assert_int_equal(hx_sanctions_add(&s, &lo), 0);
    assert_int_equal(hx_sanctions_add(&s, &dj), 0);

    /* A server-wide ban blocks every room; a device ban any user on it in its room. */
    assert_string_equal(hx_sanction_code(hx_sanctions_join_block(&s, "other", "mallory", "d", 0)), "banned");
    assert_non_null(hx_sanctions_join_block(&s, "r", "anyone", "burner", 0));
    assert_null(hx_sanctions_join_block(&s, "other", "anyone", "burner", 0));
    /* A cooldown blocks joins until it ends. */
    assert_string_equal(hx_sanction_code(hx_sanctions_join_block(&s, "r", "bob", "x", 999)), "kicked");
    assert_null(hx_sanctions_join_block(&s, "r", "bob", "x", 1000));
    /* listen_only lets carol join but not publish; deny_join keeps dave out. */
    assert_null(hx_sanctions_join_block(&s, "r", "carol", "x", 0));
    assert_string_equal(hx_sanction_code(hx_sanctions_publish_block(&s, "r", "carol", "x", 0)), "timed_out");
    assert_null(hx_sanctions_publish_block(&s, "elsewhere", "carol", "x", 0));
    assert_string_equal(hx_sanction_code(hx_sanctions_join_block(&s, "r", "dave", "x", 0)), "timed_out");
    /* Finding the same sanction (for "already banned"). */
    assert_non_null(hx_sanctions_find_same(&s, HX_SANCTION_BAN, "", "mallory", "", 0));
    assert_null(hx_sanctions_find_same(&s, HX_SANCTION_BAN, "r", "mallory", "", 0));

    /* Lifting by the action that made it; expiry by the sweeper. */
    assert_int_equal(hx_sanctions_lift(&s, "m_kick"), 1);
    assert_null(hx_sanctions_join_block(&s, "r", "bob", "x", 0));
    assert_int_equal(hx_sanctions_lift(&s, "m_kick"), 0);
    expired_seen = 0;
    assert_int_equal(hx_sanctions_sweep(&s, 2000, on_expired, NULL), 2);
    assert_int_equal(expired_seen, 2);
    assert_int_equal(s.n, 2);
    hx_sanctions_free(&s);
}

static hx_mod_action kick_by(const char *actor)
{
    hx_mod_action a = {.kind = HX_MOD_KICK};
    snprintf(a.actor, sizeof a.actor, "%s", actor);
    snprintf(a.user, sizeof a.user, "target");
    return a;
}

static void votes(void **state)
{
    (void)state;
    hx_mod_policy p;
    hx_mod_policy_default(&p);
    hx_vote v;
    hx_mod_action a = kick_by("m1");
    const char *code;

    /* A lone moderator: their own yes is a majority of one. */
    const char *one[] = {"m1"};
    hx_vote_open(&v, &a, true, one, 1, &p, 0);
    assert_int_equal(v.state, HX_VOTE_PASSED);

    /* Three moderators: two no votes overturn at once. */
    const char *three[] = {"m1", "m2", "m3", "m2"};
    hx_vote_open(&v, &a, true, three, 4, &p, 0);
    assert_int_equal(v.n_voters, 3);
    assert_int_equal(v.state, HX_VOTE_OPEN);
    assert_int_equal(hx_vote_cast(&v, "m2", false, 1, &code), 0);
    assert_int_equal(v.state, HX_VOTE_OPEN);
    assert_int_equal(hx_vote_cast(&v, "m2", true, 1, &code), -1);
    assert_string_equal(code, "already_voted");
    assert_int_equal(hx_vote_cast(&v, "m1", false, 1, &code), -1);
    assert_string_equal(code, "already_voted"); /* the proposer voted by proposing */
    assert_int_equal(hx_vote_cast(&v, "stranger", true, 1, &code), -1);
    assert_string_equal(code, "not_eligible");
    assert_int_equal(hx_vote_cast(&v, "m3", false, 2, &code), 0);
    assert_int_equal(v.state, HX_VOTE_FAILED);
    assert_int_equal(hx_vote_cast(&v, "m3", false, 2, &code), -1);
    assert_string_equal(code, "vote_closed");

    /* A second yes ratifies. */
    hx_vote_open(&v, &a, true, three, 3, &p, 0);
    assert_int_equal(hx_vote_cast(&v, "m3", true, 5, &code), 0);
    assert_int_equal(v.state, HX_VOTE_PASSED);

    /* Four moderators, only the proposer votes: no quorum at the deadline, so it fails. */
    const char *four[] = {"m1", "m2", "m3", "m4"};
    hx_vote_open(&v, &a, true, four, 4, &p, 0);
    assert_int_equal(hx_vote_tick(&v, p.vote_window_ms - 1), HX_VOTE_OPEN);
    assert_int_equal(hx_vote_cast(&v, "m2", true, p.vote_window_ms, &code), -1);
    assert_string_equal(code, "vote_closed");
    assert_int_equal(hx_vote_tick(&v, p.vote_window_ms), HX_VOTE_FAILED);
    /* With a second yes of four: 2 > 50% of 4 fails, so it still needs a third. */
    hx_vote_open(&v, &a, true, four, 4, &p, 0);
    assert_int_equal(hx_vote_cast(&v, "m2", true, 1, &code), 0);
    assert_int_equal(v.state, HX_VOTE_OPEN);
    assert_int_equal(hx_vote_tick(&v, p.vote_window_ms), HX_VOTE_FAILED);

    json_t *j = hx_vote_json(&v);
    assert_string_equal(json_string_value(json_object_get(j, "state")), "failed");
    assert_int_equal(json_integer_value(json_object_get(j, "yes")), 2);
    json_decref(j);

    /* As stored: every field back, ballots included; anything out of bounds refused. */
    hx_vote back;
    j = hx_vote_state_json(&v);
    assert_int_equal(hx_vote_from_json(j, &back), 0);
    assert_memory_equal(&v, &back, sizeof v);
    json_array_set_new(json_object_get(j, "ballots"), 0, json_integer(2));
    assert_int_equal(hx_vote_from_json(j, &back), -1);
    json_decref(j);
    j = hx_vote_state_json(&v);
    json_object_set_new(json_object_get(j, "action"), "kind", json_integer(99));
    assert_int_equal(hx_vote_from_json(j, &back), -1);
    json_array_append_new(json_object_get(j, "voters"), json_string("extra"));
    assert_int_equal(hx_vote_from_json(j, &back), -1);
    json_decref(j);
    assert_int_equal(hx_vote_from_json(NULL, &back), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(actions_parse),
        cmocka_unit_test(sanctions_block),
        cmocka_unit_test(votes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
