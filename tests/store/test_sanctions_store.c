/*
 * Unit tests for the store's moderation ops: a sanction and its audit record
 * are written together or not at all; lifting removes the sanction and
 * records why, and lifting what is not there writes nothing; listing skips
 * expired sanctions and the sweeper deletes them; un-revoking removes a
 * revocation with its record; moderation's other state (votes, policies)
 * kept by kind and key, and one record of it read back by both. Each record
 * lands in its room's chain, which still verifies.
 */
#include "support/store_fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define NOW 1800000000000LL

static int count_cb(void *arg, const hx_sanction_rec *x)
{
    (void)x;
    (*(int *)arg)++;
    return 0;
}

static int sanctions(hx_store *s, int64_t now)
{
    int n = 0;
    assert_int_equal(s->ops->list_sanctions(s, now, count_cb, &n), HX_STORE_OK);
    return n;
}

static int events_cb(void *arg, const hx_event *ev)
{
    (void)ev;
    (*(int *)arg)++;
    return 0;
}

static int events(hx_store *s, const char *kind)
{
    int n = 0;
    hx_event_filter f = {.kind = kind, .limit = 1000};
    assert_int_equal(s->ops->query_events(s, &f, events_cb, &n), HX_STORE_OK);
    return n;
}

static void test_sanction_with_its_record(void **state)
{
    hx_store *s = hx_test_store_open(*state);
    hx_sanction_rec ban = {.action_id = "m_1", .kind = 1, .room = "", .user = "mallory", .device = "",
                           .created_ms = NOW, .actor = "operator", .reason = "raid"};
    hx_event ev = {.ts_ms = NOW, .kind = "moderation.ban", .user = "mallory", .code = "raid"};
    assert_int_equal(s->ops->put_sanction(s, &ban, &ev), HX_STORE_OK);
    hx_sanction_rec cool = {.action_id = "m_2", .kind = 3, .room = "r", .user = "bob", .device = "",
                            .created_ms = NOW, .expires_ms = NOW + 1000, .actor = "m", .reason = ""};
    hx_event ev2 = {.ts_ms = NOW, .kind = "moderation.kick", .room = "r", .user = "bob"};
    assert_int_equal(s->ops->put_sanction(s, &cool, &ev2), HX_STORE_OK);
    assert_int_equal(sanctions(s, NOW), 2);
    assert_int_equal(sanctions(s, NOW + 1000), 1); /* the cooldown is over */
    assert_int_equal(events(s, "moderation.ban"), 1);

    /* The same action id twice: refused, and its record with it. */
    assert_int_not_equal(s->ops->put_sanction(s, &ban, &ev), HX_STORE_OK);
    assert_int_equal(events(s, "moderation.ban"), 1);

    /* Lifting writes its record; lifting again finds nothing and writes nothing. */
    hx_event lift = {.ts_ms = NOW + 1, .kind = "moderation.unban", .user = "mallory"};
    assert_int_equal(s->ops->lift_sanction(s, "m_1", &lift), HX_STORE_OK);
    assert_int_equal(s->ops->lift_sanction(s, "m_1", &lift), HX_STORE_NOTFOUND);
    assert_int_equal(events(s, "moderation.unban"), 1);
    assert_int_equal(sanctions(s, NOW), 1);

    /* The sweeper deletes what has ended. */
    assert_true(s->ops->sweep(s, NOW + 2000, &(hx_retention){0}) >= 1);
    assert_int_equal(sanctions(s, 0), 0);

    hx_chain_summary sum;
    assert_int_equal(s->ops->verify_chain(s, NULL, NULL, NULL, &sum), 0);
    assert_int_equal(sum.records, 3); /* ban, kick, unban: the refused duplicate left none */
    s->ops->close(s);
}

static void test_unrevoke(void **state)
{
    hx_store *s = hx_test_store_open(*state);
    hx_revocation rv = {HX_REVOKE_USER, "alice", 100, NOW, 0, "closed"};
    assert_int_equal(s->ops->put_revocation(s, &rv), HX_STORE_OK);
    hx_event ev = {.ts_ms = NOW, .kind = "unrevoke", .user = "alice"};
    assert_int_equal(s->ops->delete_revocation(s, HX_REVOKE_USER, "alice", &ev), HX_STORE_OK);
    assert_int_equal(s->ops->delete_revocation(s, HX_REVOKE_USER, "alice", &ev), HX_STORE_NOTFOUND);
    assert_int_equal(s->ops->delete_revocation(s, HX_REVOKE_SID, "alice", &ev), HX_STORE_NOTFOUND);
    assert_int_equal(events(s, "unrevoke"), 1);
    s->ops->close(s);
}

static int keep_value(void *arg, const char *key, const char *value)
{
    snprintf(arg, 64, "%s=%s", key, value);
    return 0;
}

static void test_state(void **state)
{
    hx_store *s = hx_test_store_open(*state);
    hx_event opened = {.ts_ms = NOW, .kind = "vote.opened", .room = "r"};
    assert_int_equal(s->ops->put_state(s, "vote", "m_1", "{\"yes\":1}", &opened), HX_STORE_OK);
    assert_int_equal(s->ops->put_state(s, "vote", "m_1", "{\"yes\":2}", NULL), HX_STORE_OK); /* upsert */
    assert_int_equal(s->ops->put_state(s, "policy", "r", "{}", NULL), HX_STORE_OK);
    char got[64] = "";
    assert_int_equal(s->ops->list_state(s, "vote", keep_value, got), HX_STORE_OK);
    assert_string_equal(got, "m_1={\"yes\":2}");
    hx_event closed = {.ts_ms = NOW, .kind = "vote.closed", .room = "r"};
    assert_int_equal(s->ops->delete_state(s, "vote", "m_1", &closed), HX_STORE_OK);
    assert_int_equal(s->ops->delete_state(s, "vote", "m_1", &closed), HX_STORE_NOTFOUND);
    got[0] = '\0';
    assert_int_equal(s->ops->list_state(s, "vote", keep_value, got), HX_STORE_OK);
    assert_string_equal(got, "");
    assert_int_equal(events(s, "vote.closed"), 1);
    assert_int_equal(events(s, "vote.opened"), 1);
    s->ops->close(s);
}

/* One record by (kind, key), as a node reads a resumable session's after its own died. */
static void test_get_state(void **state)
{
    hx_store *s = hx_test_store_open(*state);
    char *v = (char *)"untouched";
    assert_int_equal(s->ops->get_state(s, "session", "p_1", &v), HX_STORE_NOTFOUND);
    assert_null(v);
    assert_int_equal(s->ops->put_state(s, "session", "p_1", "{\"room\":\"r\"}", NULL), HX_STORE_OK);
    assert_int_equal(s->ops->put_state(s, "session", "p_2", "", NULL), HX_STORE_OK);
    assert_int_equal(s->ops->put_state(s, "vote", "p_3", "{}", NULL), HX_STORE_OK);
    s->ops->close(s);

    s = hx_test_store_open(*state); /* what another node (or a restart) reads */
    assert_int_equal(s->ops->get_state(s, "session", "p_1", &v), HX_STORE_OK);
    assert_string_equal(v, "{\"room\":\"r\"}");
    free(v);
    assert_int_equal(s->ops->get_state(s, "session", "p_2", &v), HX_STORE_OK);
    assert_string_equal(v, ""); /* empty is a value */
    free(v);
    /* Kind and key both select: neither alone finds a record. */
    v = (char *)"untouched";
    assert_int_equal(s->ops->get_state(s, "vote", "p_1", &v), HX_STORE_NOTFOUND);
    assert_null(v);
    assert_int_equal(s->ops->get_state(s, "session", "p_3", &v), HX_STORE_NOTFOUND);
    assert_int_equal(s->ops->get_state(s, "session", "P_1", &v), HX_STORE_NOTFOUND);
    assert_int_equal(s->ops->get_state(s, "session", "p_", &v), HX_STORE_NOTFOUND);

    /* An upsert reads back its latest value; a deleted record is gone. */
    assert_int_equal(s->ops->put_state(s, "session", "p_1", "{\"room\":\"q\"}", NULL), HX_STORE_OK);
    assert_int_equal(s->ops->get_state(s, "session", "p_1", &v), HX_STORE_OK);
    assert_string_equal(v, "{\"room\":\"q\"}");
    free(v);
    assert_int_equal(s->ops->delete_state(s, "session", "p_1", NULL), HX_STORE_OK);
    v = (char *)"untouched";
    assert_int_equal(s->ops->get_state(s, "session", "p_1", &v), HX_STORE_NOTFOUND);
    assert_null(v);

    /* Caller mistakes: an error with a message, nothing allocated. */
    v = (char *)"untouched";
    assert_int_equal(s->ops->get_state(s, NULL, "p_2", &v), HX_STORE_ERROR);
    assert_null(v);
    assert_non_null(strstr(hx_store_errmsg(s), "get_state"));
    v = (char *)"untouched";
    assert_int_equal(s->ops->get_state(s, "session", NULL, &v), HX_STORE_ERROR);
    assert_null(v);
    assert_int_equal(s->ops->get_state(s, "session", "p_2", NULL), HX_STORE_ERROR);
    assert_non_null(strstr(hx_store_errmsg(s), "get_state"));
    s->ops->close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        HX_STORE_TEST(test_sanction_with_its_record),
        HX_STORE_TEST(test_unrevoke),
        HX_STORE_TEST(test_state),
        HX_STORE_TEST(test_get_state),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
