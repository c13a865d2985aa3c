/*
 * Unit tests for moderation through signaling (signal/moderate.c,
 * core/moderate.c) on a socketless server: who may act, each action's
 * effect on the target and what the room is told, refusals with their
 * codes, kicks put to a vote (overturned and ratified), sanctions that
 * hold at the door and survive a reload from the store, and a store that
 * refuses: the action fails and nothing changes.
 */
#include "support/test_peer.h"

#include "common/clock.h"
#include "core/moderate.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define MOD (HX_GRANT_DEFAULT_FLAGS | HX_GRANT_MODERATE)

typedef struct world {
    hx_test_server t;
    peer m1, m2, m3, bob, carol; /* three moderators, two members, in room "r" */
} world;

static hx_server *S(world *w)
{
    return &w->t.srv;
}

static int setup(void **state)
{
    world *w = calloc(1, sizeof *w);
    if (!w || hx_test_server_init(&w->t, NULL, NULL)) return -1;
    peer *all[] = {&w->m1, &w->m2, &w->m3, &w->bob, &w->carol};
    const char *users[] = {"m1", "m2", "m3", "bob", "carol"};
    for (int i = 0; i < 5; i++) {
        peer_open(S(w), all[i], 2);
        join_with_grants(S(w), all[i], "r", users[i], "d", i < 3 ? MOD : HX_GRANT_DEFAULT_FLAGS);
    }
    /* bob publishes two tracks (as the engine would have announced them). */
    hx_participant *p = &w->bob.sess->p;
    assert_non_null(hx_participant_tracks(p));
    snprintf(p->tracks[0].id, sizeof p->tracks[0].id, "bob-audio");
    snprintf(p->tracks[0].kind, sizeof p->tracks[0].kind, "audio");
    snprintf(p->tracks[1].id, sizeof p->tracks[1].id, "bob-video");
    snprintf(p->tracks[1].kind, sizeof p->tracks[1].kind, "video");
    p->n_tracks = 2;
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    world *w = *state;
    peer *all[] = {&w->m1, &w->m2, &w->m3, &w->bob, &w->carol};
    for (int i = 0; i < 5; i++) peer_free(all[i]);
    size_t open = hx_test_server_free(&w->t);
    free(w);
    return open == 0 ? 0 : -1;
}

/* Send `moderate` and return the answer (ack data, or NULL with *code set). */
static json_t *moderate(peer *p, const char *json, const char **code)
{
    json_t *data = json_loads(json, 0, NULL);
    assert_non_null(data);
    send_json(p, json_pack("{s:s, s:s, s:o}", "type", "moderate", "id", "mod", "data", data));
    json_t *m = hx_test_client_last(&p->c, NULL);
    assert_non_null(m);
    assert_string_equal(hx_test_msg_id(m), "mod");
    *code = !strcmp(hx_test_msg_type(m), "error") ? hx_test_client_last_error(&p->c) : NULL;
    return *code ? NULL : hx_test_msg_data(m);
}

static const char *refused(peer *p, const char *json)
{
    const char *code = NULL;
    assert_null(moderate(p, json, &code));
    return code;
}

static json_t *done(peer *p, const char *json)
{
    const char *code = NULL;
    json_t *d = moderate(p, json, &code);
    if (code) fail_msg("refused: %s", code);
    return d;
}

static void vote(peer *p, const char *action_id, bool approve, const char *want_code)
{
    send_json(p, json_pack("{s:s, s:s, s:{s:s, s:b}}", "type", "vote", "id", "v", "data", "action_id", action_id,
                           "approve", approve));
    json_t *m = hx_test_client_last(&p->c, NULL);
    if (want_code)
        assert_string_equal(hx_test_client_last_error(&p->c), want_code);
    else
        assert_string_equal(hx_test_msg_type(m), "ack");
}

/* The `moderation` events a peer saw, the last one's "event". */
static const char *last_moderation(peer *p)
{
    json_t *m = hx_test_client_last(&p->c, "moderation");
    return m ? json_string_value(json_object_get(hx_test_msg_data(m), "event")) : NULL;
}

static void refusals(void **state)
{
    world *w = *state;
    assert_string_equal(refused(&w->carol, "{\"action\":\"kick\",\"user\":\"bob\"}"), "not_moderator");
    assert_string_equal(refused(&w->m1, "{\"action\":\"smite\",\"user\":\"bob\"}"), "unknown_action");
    assert_string_equal(refused(&w->m1, "{\"action\":\"kick\"}"), "bad_request");
    assert_string_equal(refused(&w->m1, "{\"action\":\"kick\",\"user\":\"nobody\"}"), "target_not_found");
    assert_string_equal(refused(&w->m1, "{\"action\":\"kick\",\"participant\":\"p_0000\"}"), "target_not_found");
    assert_string_equal(refused(&w->m1, "{\"action\":\"mute\",\"track\":\"nope\"}"), "unknown_track");
    assert_string_equal(refused(&w->m1, "{\"action\":\"unmute\",\"track\":\"bob-audio\"}"), "not_muted");
    assert_string_equal(refused(&w->m1, "{\"action\":\"kick\",\"user\":\"bob\",\"room\":\"elsewhere\"}"),
                        "bad_request");
    assert_string_equal(refused(&w->m1, "{\"action\":\"unban\",\"user\":\"bob\"}"), "not_banned");
    vote(&w->m1, "m_0000000000000000", true, "no_such_vote");
    vote(&w->carol, "m_0000000000000000", true, "not_moderator");
    /* Nothing happened to anyone; the room works. */
    assert_int_equal(w->bob.c.close_code, 0);
    assert_null(last_moderation(&w->bob));
    assert_int_equal(count_events(S(w), "moderation.kick"), 0);
}

static void mute_and_unmute(void **state)
{
    world *w = *state;
    json_t *d = done(&w->m1, "{\"action\":\"mute\",\"track\":\"bob-video\",\"reason\":\"noise\"}");
    assert_string_equal(str_at(d, "status"), "done");
    assert_true(w->bob.sess->p.tracks[1].muted);
    assert_false(w->bob.sess->p.tracks[0].muted);
    /* The target and the room are told, with who and why. */
    json_t *ev = last_data(&w->carol, "moderation");
    assert_string_equal(str_at(ev, "event"), "mute");
    assert_string_equal(str_at(ev, "actor"), "m1");
    assert_string_equal(str_at(ev, "reason"), "noise");
    assert_string_equal(str_at(json_object_get(ev, "target"), "track"), "bob-video");
    assert_string_equal(last_moderation(&w->bob), "mute");
    assert_string_equal(refused(&w->m2, "{\"action\":\"mute\",\"track\":\"bob-video\"}"), "already_muted");
    done(&w->m2, "{\"action\":\"unmute\",\"track\":\"bob-video\"}");
    assert_false(w->bob.sess->p.tracks[1].muted);
    assert_int_equal(count_events(S(w), "moderation.mute"), 1);
    assert_int_equal(count_events(S(w), "moderation.unmute"), 1);
}

static void timeout_listen_only(void **state)
{
    world *w = *state;
    done(&w->m1, "{\"action\":\"timeout\",\"user\":\"bob\",\"duration_s\":60,\"reason\":\"spam\"}");
    /* bob stays, his tracks are held, publishing is refused. */
    assert_int_equal(w->bob.c.close_code, 0);
    assert_true(w->bob.sess->p.tracks[0].held && w->bob.sess->p.tracks[1].held);
    w->bob.sess->media_serial = 1; /* as if its transports were open (no engine here) */
    send_json(&w->bob, json_pack("{s:s, s:s, s:{s:s, s:s}}", "type", "sdp.offer", "id", "o", "data", "pc",
                                 "publisher", "sdp", "v=0\r\n"));
    assert_string_equal(hx_test_client_last_error(&w->bob.c), "timed_out");
    w->bob.sess->media_serial = 0;
    assert_string_equal(last_moderation(&w->carol), "timeout");
    assert_int_equal(int_at(last_data(&w->carol, "moderation"), "duration_s"), 60);
    assert_string_equal(refused(&w->m2, "{\"action\":\"timeout\",\"user\":\"bob\"}"), "already_timed_out");
    /* It ends by itself: the tracks are released. */
    hx_moderation_tick(S(w), hx_now_ms() + 61000);
    assert_false(w->bob.sess->p.tracks[0].held);
    assert_string_equal(last_moderation(&w->carol), "untimeout");
    /* Or early, by a moderator. */
    done(&w->m1, "{\"action\":\"timeout\",\"user\":\"bob\"}");
    done(&w->m2, "{\"action\":\"untimeout\",\"user\":\"bob\"}");
    assert_false(w->bob.sess->p.tracks[1].held);
}

static void timeout_deny_join(void **state)
{
    world *w = *state;
    /* The room's own policy, over the server's. */
    hx_mod_result r;
    json_t *fields = json_pack("{s:s, s:s}", "timeout_policy", "deny_join", "ratification", "none");
    assert_int_equal(hx_moderation_set_policy(S(w), "r", fields, &r), 0);
    json_decref(fields);
    json_decref(r.data);
    fields = json_pack("{s:s}", "timeout_policy", "sometimes");
    assert_int_equal(hx_moderation_set_policy(S(w), "r", fields, &r), -1);
    assert_string_equal(r.code, "bad_request");
    json_decref(fields);
    assert_int_equal(hx_moderation_policy(S(w), "r")->timeout, HX_TIMEOUT_DENY_JOIN);
    assert_int_equal(hx_moderation_policy(S(w), "other")->timeout, HX_TIMEOUT_LISTEN_ONLY);
    /* It survives a restart. */
    hx_moderation_free(S(w));
    assert_int_equal(hx_moderation_load(S(w)), 0);
    assert_int_equal(hx_moderation_policy(S(w), "r")->timeout, HX_TIMEOUT_DENY_JOIN);
    /* ratification none: a moderator's kick opens no vote. */
    json_t *k = done(&w->m1, "{\"action\":\"kick\",\"user\":\"bob\"}");
    assert_null(json_object_get(k, "vote"));
    done(&w->m1, "{\"action\":\"timeout\",\"user\":\"carol\"}");
    assert_int_equal(w->carol.c.close_code, HX_CLOSE_MODERATED);
    assert_string_equal(str_at(last_data(&w->carol, "disconnect"), "reason"), "timed_out");
    peer again;
    peer_open(S(w), &again, 2);
    char t[HX_TICKET_MAX_TEXT + 1];
    mint(S(w), "r", "carol", "d2", NULL, NULL, 2, t);
    send_join(&again, "j", t, "r");
    assert_string_equal(hx_test_client_last_error(&again.c), "timed_out");
    peer_free(&again);
    /* Back to the server's policy. */
    assert_int_equal(hx_moderation_set_policy(S(w), "r", NULL, &r), 0);
    json_decref(r.data);
    assert_int_equal(hx_moderation_policy(S(w), "r")->timeout, HX_TIMEOUT_LISTEN_ONLY);
}

/* Join as `user`: true when the join was accepted. */
static bool can_join(world *w, const char *user)
{
    peer p;
    peer_open(S(w), &p, 2);
    char t[HX_TICKET_MAX_TEXT + 1];
    mint(S(w), "r", user, "fresh", NULL, NULL, 2, t);
    send_join(&p, "j", t, "r");
    bool ok = p.sess->state == HX_SESSION_JOINED;
    peer_free(&p);
    return ok;
}

static void kick_overturned_by_vote(void **state)
{
    world *w = *state;
    json_t *d = done(&w->m1, "{\"action\":\"kick\",\"user\":\"bob\",\"reason\":\"rude\"}");
    char id[HX_MOD_ID_LEN];
    snprintf(id, sizeof id, "%s", str_at(d, "id"));
    json_t *v = json_object_get(d, "vote");
    assert_string_equal(str_at(v, "state"), "open");
    assert_int_equal(json_array_size(json_object_get(v, "voters")), 3);
    /* The target is gone, and stays out while the vote runs. */
    assert_int_equal(w->bob.c.close_code, HX_CLOSE_MODERATED);
    assert_string_equal(str_at(last_data(&w->bob, "disconnect"), "reason"), "kicked");
    assert_false(can_join(w, "bob"));
    /* The other moderators see the vote and cast theirs. */
    assert_string_equal(last_moderation(&w->m2), "vote.opened");
    vote(&w->m2, id, false, NULL);
    vote(&w->m2, id, false, "already_voted");
    vote(&w->carol, id, false, "not_moderator");
    vote(&w->m3, id, false, NULL);
    /* Two of three against: overturned, the cooldown lifts. */
    assert_string_equal(last_moderation(&w->carol), "overturn");
    vote(&w->m1, id, true, "no_such_vote");
    assert_true(can_join(w, "bob"));
    assert_int_equal(count_events(S(w), "moderation.overturned"), 1);
    assert_int_equal(count_events(S(w), "vote.cast"), 2);
    assert_int_equal(count_events(S(w), "vote.closed"), 1);
}

static void vote_survives_restart(void **state)
{
    world *w = *state;
    json_t *d = done(&w->m1, "{\"action\":\"kick\",\"user\":\"bob\"}");
    char id[HX_MOD_ID_LEN];
    snprintf(id, sizeof id, "%s", str_at(d, "id"));
    vote(&w->m2, id, false, NULL);
    /* What a restart (or kill -9) does: the live state rebuilt from the store. */
    hx_moderation_free(S(w));
    assert_int_equal(hx_moderation_load(S(w)), 0);
    json_t *open = hx_moderation_votes_json(S(w), "r");
    assert_int_equal(json_array_size(open), 1);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(open, 0), "no")), 1);
    json_decref(open);
    vote(&w->m2, id, true, "already_voted"); /* the ballot was kept */
    vote(&w->m3, id, false, NULL);
    assert_string_equal(last_moderation(&w->carol), "overturn");
    assert_true(can_join(w, "bob"));
    open = hx_moderation_votes_json(S(w), NULL);
    assert_int_equal(json_array_size(open), 0);
    json_decref(open);
    hx_moderation_free(S(w));
    assert_int_equal(hx_moderation_load(S(w)), 0); /* and a decided vote stays decided */
    open = hx_moderation_votes_json(S(w), NULL);
    assert_int_equal(json_array_size(open), 0);
    json_decref(open);
}

static void kick_ratified(void **state)
{
    world *w = *state;
    json_t *d = done(&w->m1, "{\"action\":\"kick\",\"user\":\"carol\"}");
    char id[HX_MOD_ID_LEN];
    snprintf(id, sizeof id, "%s", str_at(d, "id"));
    vote(&w->m3, id, true, NULL);
    assert_string_equal(last_moderation(&w->m2), "vote.closed");
    assert_false(can_join(w, "carol"));
    /* A proposal takes effect only when it passes. */
    json_t *p = done(&w->m2, "{\"action\":\"timeout\",\"user\":\"bob\",\"propose\":true}");
    assert_string_equal(str_at(p, "status"), "proposed");
    assert_false(w->bob.sess->p.tracks[0].held);
    vote(&w->m1, str_at(p, "id"), true, NULL);
    assert_true(w->bob.sess->p.tracks[0].held);
}

static void ban_holds_and_survives_reload(void **state)
{
    world *w = *state;
    done(&w->m1, "{\"action\":\"ban\",\"user\":\"carol\",\"reason\":\"raid\"}");
    assert_int_equal(w->carol.c.close_code, HX_CLOSE_MODERATED);
    assert_string_equal(str_at(last_data(&w->carol, "disconnect"), "reason"), "banned");
    assert_string_equal(refused(&w->m2, "{\"action\":\"ban\",\"user\":\"carol\"}"), "already_banned");
    /* What a restart does: the live set rebuilt from the store. */
    hx_moderation_free(S(w));
    assert_int_equal(hx_moderation_load(S(w)), 0);
    assert_false(can_join(w, "carol"));
    done(&w->m2, "{\"action\":\"unban\",\"user\":\"carol\"}");
    assert_true(can_join(w, "carol"));
    hx_moderation_free(S(w));
    assert_int_equal(hx_moderation_load(S(w)), 0);
    assert_true(can_join(w, "carol"));
}

/* A store that refuses every write: moderation must fail and change nothing. */
static int refuse_sanction(hx_store *s, const hx_sanction_rec *x, const hx_event *ev)
{
    (void)x;
    (void)ev;
    snprintf(s->errmsg, sizeof s->errmsg, "disk full (test)");
    return HX_STORE_ERROR;
}

static int refuse_event(hx_store *s, const hx_event *ev)
{
    (void)ev;
    snprintf(s->errmsg, sizeof s->errmsg, "disk full (test)");
    return HX_STORE_ERROR;
}

static void store_failure_fails_the_action(void **state)
{
    world *w = *state;
    hx_store *st = S(w)->store;
    const hx_store_ops *real = st->ops;
    hx_store_ops broken = *real;
    broken.put_sanction = refuse_sanction;
    broken.append_event = refuse_event;
    st->ops = &broken;
    assert_string_equal(refused(&w->m1, "{\"action\":\"kick\",\"user\":\"bob\"}"), "store_failed");
    assert_string_equal(refused(&w->m1, "{\"action\":\"ban\",\"user\":\"bob\"}"), "store_failed");
    assert_string_equal(refused(&w->m1, "{\"action\":\"mute\",\"track\":\"bob-audio\"}"), "store_failed");
    st->ops = real;
    assert_int_equal(w->bob.c.close_code, 0);
    assert_false(w->bob.sess->p.tracks[0].muted);
    assert_int_equal(S(w)->sanctions.n, 0);
    assert_true(can_join(w, "bob2"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(mute_and_unmute, setup, teardown),
        cmocka_unit_test_setup_teardown(timeout_listen_only, setup, teardown),
        cmocka_unit_test_setup_teardown(timeout_deny_join, setup, teardown),
        cmocka_unit_test_setup_teardown(kick_overturned_by_vote, setup, teardown),
        cmocka_unit_test_setup_teardown(vote_survives_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(kick_ratified, setup, teardown),
        cmocka_unit_test_setup_teardown(ban_holds_and_survives_reload, setup, teardown),
        cmocka_unit_test_setup_teardown(store_failure_fails_the_action, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
