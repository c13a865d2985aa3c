/*
 * Unit tests for auth/revocation: each kind matches only its own field, a
 * user revocation cuts at not_before (a token issued at that second stays
 * valid, one issued before is revoked), re-adding replaces, the sweeper
 * forgets only what has expired, and hx_revocation_matches (used to find
 * live sessions) agrees with hx_revocations_check. Run under ASan the
 * replace and sweep paths also show that no value leaks or is freed twice.
 */
#include "auth/revocation.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

static int setup(void **state)
{
    static hx_revocations r;
    hx_revocations_init(&r);
    *state = &r;
    return 0;
}

static int teardown(void **state)
{
    hx_revocations_free(*state);
    return 0;
}

static void test_empty(void **state)
{
    hx_revocations *r = *state;
    assert_int_equal(hx_revocations_check(r, "j", "s", "u", 100), HX_NOT_REVOKED);
    assert_int_equal(hx_revocations_check(r, NULL, NULL, NULL, 0), HX_NOT_REVOKED);
    assert_int_equal(hx_revocations_check(r, "", "", "", 0), HX_NOT_REVOKED);
}

static void test_each_kind(void **state)
{
    hx_revocations *r = *state;
    assert_int_equal(hx_revocations_add(r, HX_REVOKE_JTI, "tok-1", 0, 0), 0);
    assert_int_equal(hx_revocations_add(r, HX_REVOKE_SID, "sess-1", 0, 0), 0);
    assert_int_equal(hx_revocations_add(r, HX_REVOKE_USER, "mallory", 1000, 0), 0);

    assert_int_equal(hx_revocations_check(r, "tok-1", NULL, NULL, 0), HX_REVOKED_JTI);
    assert_int_equal(hx_revocations_check(r, "tok-2", "sess-1", "bob", 5000), HX_REVOKED_SID);
    assert_int_equal(hx_revocations_check(r, "tok-2", "sess-2", "mallory", 999), HX_REVOKED_USER);
    assert_int_equal(hx_revocations_check(r, "tok-2", "sess-2", "bob", 999), HX_NOT_REVOKED);

    /* A value revoked as one kind does not match another field. */
    assert_int_equal(hx_revocations_check(r, "sess-1", "tok-1", "tok-1", 0), HX_NOT_REVOKED);
    assert_int_equal(hx_revocations_check(r, "mallory", "mallory", NULL, 0), HX_NOT_REVOKED);
    /* Matching is exact. */
    assert_int_equal(hx_revocations_check(r, "tok-10", "sess-", "Mallory", 0), HX_NOT_REVOKED);

    /* Several at once: jti is reported first, then sid, then user. */
    assert_int_equal(hx_revocations_check(r, "tok-1", "sess-1", "mallory", 0), HX_REVOKED_JTI);
    assert_int_equal(hx_revocations_check(r, "x", "sess-1", "mallory", 0), HX_REVOKED_SID);

    assert_string_equal(hx_revoked_code(HX_REVOKED_JTI), "token_revoked");
    assert_string_equal(hx_revoked_code(HX_REVOKED_SID), "session_revoked");
    assert_string_equal(hx_revoked_code(HX_REVOKED_USER), "user_revoked");
    assert_string_equal(hx_revoked_code(HX_NOT_REVOKED), "ok");
}

static void test_add_rejects(void **state)
{
    hx_revocations *r = *state;
    assert_int_equal(hx_revocations_add(r, (hx_revoke_kind)0, "x", 0, 0), -1);
    assert_int_equal(hx_revocations_add(r, (hx_revoke_kind)4, "x", 0, 0), -1);
    assert_int_equal(hx_revocations_add(r, HX_REVOKE_JTI, "", 0, 0), -1);
    assert_int_equal(hx_revocations_add(r, HX_REVOKE_JTI, NULL, 0, 0), -1);
    for (int k = 0; k < 3; k++) assert_int_equal(r->by_kind[k].count, 0);
}

static void test_user_not_before_boundary(void **state)
{
    hx_revocations *r = *state;
    const int64_t nb = 1700000000;
    assert_int_equal(hx_revocations_add(r, HX_REVOKE_USER, "alice", nb, 0), 0);
    assert_int_equal(hx_revocations_check(r, NULL, NULL, "alice", nb - 1), HX_REVOKED_USER);
    assert_int_equal(hx_revocations_check(r, NULL, NULL, "alice", nb), HX_NOT_REVOKED);
    assert_int_equal(hx_revocations_check(r, NULL, NULL, "alice", nb + 1), HX_NOT_REVOKED);
    /* iat 0 (unknown, dev tickets): treated as before any not_before. */
    assert_int_equal(hx_revocations_check(r, NULL, NULL, "alice", 0), HX_REVOKED_USER);

    assert_true(hx_revocation_matches(HX_REVOKE_USER, "alice", nb, NULL, NULL, "alice", nb - 1));
    assert_false(hx_revocation_matches(HX_REVOKE_USER, "alice", nb, NULL, NULL, "alice", nb));
    assert_false(hx_revocation_matches(HX_REVOKE_USER, "alice", nb, NULL, NULL, "alice", nb + 1));
    assert_true(hx_revocation_matches(HX_REVOKE_USER, "alice", nb, NULL, NULL, "alice", 0));
    assert_false(hx_revocation_matches(HX_REVOKE_USER, "alice", nb, NULL, NULL, "bob", 0));
    assert_false(hx_revocation_matches(HX_REVOKE_USER, "alice", nb, NULL, NULL, NULL, 0));
}

static void test_replace(void **state)
{
    hx_revocations *r = *state;
    assert_int_equal(hx_revocations_add(r, HX_REVOKE_USER, "alice", 100, 0), 0);
    assert_int_equal(hx_revocations_check(r, NULL, NULL, "alice", 150), HX_NOT_REVOKED);
    /* A later revocation moves not_before forward; there is still one entry. */
    assert_int_equal(hx_revocations_add(r, HX_REVOKE_USER, "alice", 200, 0), 0);
    assert_int_equal(r->by_kind[HX_REVOKE_USER - 1].count, 1);
    assert_int_equal(hx_revocations_check(r, NULL, NULL, "alice", 150), HX_REVOKED_USER);
    assert_int_equal(hx_revocations_check(r, NULL, NULL, "alice", 200), HX_NOT_REVOKED);
    /* Replacing also replaces the expiry. */
    assert_int_equal(hx_revocations_add(r, HX_REVOKE_JTI, "t", 0, 1000), 0);
    assert_int_equal(hx_revocations_add(r, HX_REVOKE_JTI, "t", 0, 5000), 0);
    assert_int_equal(r->by_kind[HX_REVOKE_JTI - 1].count, 1);
    hx_revocations_sweep(r, 2000);
    assert_int_equal(hx_revocations_check(r, "t", NULL, NULL, 0), HX_REVOKED_JTI);
    hx_revocations_sweep(r, 6000);
    assert_int_equal(hx_revocations_check(r, "t", NULL, NULL, 0), HX_NOT_REVOKED);
}

static void test_sweep(void **state)
{
    hx_revocations *r = *state;
    char v[32];
    /* 100 of each kind, expiring at 1000, 2000, ...; every tenth never expires. */
    for (int i = 0; i < 100; i++) {
        snprintf(v, sizeof v, "v%d", i);
        int64_t exp = i % 10 == 0 ? 0 : 1000 * (int64_t)i;
        for (int k = HX_REVOKE_JTI; k <= HX_REVOKE_USER; k++)
            assert_int_equal(hx_revocations_add(r, (hx_revoke_kind)k, v, 50, exp), 0);
    }
    hx_revocations_sweep(r, 50000); /* drops expires_ms < 50000: i = 1..49 but not 10, 20, 30, 40 */
    for (int i = 0; i < 100; i++) {
        snprintf(v, sizeof v, "v%d", i);
        int gone = i % 10 != 0 && i < 50;
        assert_int_equal(hx_revocations_check(r, v, NULL, NULL, 0), gone ? HX_NOT_REVOKED : HX_REVOKED_JTI);
        assert_int_equal(hx_revocations_check(r, NULL, v, NULL, 0), gone ? HX_NOT_REVOKED : HX_REVOKED_SID);
        assert_int_equal(hx_revocations_check(r, NULL, NULL, v, 0), gone ? HX_NOT_REVOKED : HX_REVOKED_USER);
    }
    /* Expiring exactly now is not yet expired. */
    assert_int_equal(hx_revocations_check(r, "v50", NULL, NULL, 0), HX_REVOKED_JTI);
    for (int k = 0; k < 3; k++) assert_int_equal(r->by_kind[k].count, 100 - 45);
    hx_revocations_sweep(r, INT64_MAX);
    for (int k = 0; k < 3; k++) assert_int_equal(r->by_kind[k].count, 10);
    assert_int_equal(hx_revocations_check(r, "v90", NULL, NULL, 0), HX_REVOKED_JTI);
}

static void test_matches(void **state)
{
    (void)state;
    assert_true(hx_revocation_matches(HX_REVOKE_JTI, "j1", 0, "j1", "s1", "u1", 5));
    assert_false(hx_revocation_matches(HX_REVOKE_JTI, "j1", 0, "j2", "j1", "j1", 5));
    assert_false(hx_revocation_matches(HX_REVOKE_JTI, "j1", 0, NULL, NULL, NULL, 5));
    assert_false(hx_revocation_matches(HX_REVOKE_JTI, "j1", 0, "", NULL, NULL, 5));
    assert_true(hx_revocation_matches(HX_REVOKE_SID, "s1", 0, "j1", "s1", "u1", 5));
    assert_false(hx_revocation_matches(HX_REVOKE_SID, "s1", 0, "s1", "s2", "s1", 5));
    assert_false(hx_revocation_matches(HX_REVOKE_SID, "s1", 0, NULL, "", NULL, 5));
    assert_false(hx_revocation_matches((hx_revoke_kind)0, "x", 0, "x", "x", "x", 0));
    assert_false(hx_revocation_matches((hx_revoke_kind)9, "x", 100, "x", "x", "x", 0));
}

/* hx_revocation_matches and hx_revocations_check agree on every combination. */
static void test_matches_agrees_with_check(void **state)
{
    hx_revocations *r = *state;
    static const char *const vals[] = {NULL, "", "a", "b"};
    static const int64_t iats[] = {0, 99, 100, 101};
    for (int k = HX_REVOKE_JTI; k <= HX_REVOKE_USER; k++) {
        hx_revocations_init(r);
        assert_int_equal(hx_revocations_add(r, (hx_revoke_kind)k, "a", 100, 0), 0);
        for (int j = 0; j < 4; j++)
            for (int s = 0; s < 4; s++)
                for (int u = 0; u < 4; u++)
                    for (int t = 0; t < 4; t++) {
                        int m = hx_revocation_matches((hx_revoke_kind)k, "a", 100, vals[j], vals[s], vals[u], iats[t]);
                        int c = hx_revocations_check(r, vals[j], vals[s], vals[u], iats[t]);
                        if ((c != HX_NOT_REVOKED) != (m != 0))
                            fail_msg("kind %d jti %s sid %s user %s iat %lld: matches %d, check %d", k,
                                     vals[j] ? vals[j] : "NULL", vals[s] ? vals[s] : "NULL",
                                     vals[u] ? vals[u] : "NULL", (long long)iats[t], m, c);
                    }
        hx_revocations_free(r);
    }
    hx_revocations_init(r); /* for the teardown */
}

static void test_kind_names(void **state)
{
    (void)state;
    hx_revoke_kind k = (hx_revoke_kind)0;
    for (int i = HX_REVOKE_JTI; i <= HX_REVOKE_USER; i++) {
        const char *name = hx_revoke_kind_name((hx_revoke_kind)i);
        assert_int_equal(hx_revoke_kind_parse(name, &k), 0);
        assert_int_equal(k, i);
    }
    assert_string_equal(hx_revoke_kind_name(HX_REVOKE_JTI), "jti");
    assert_string_equal(hx_revoke_kind_name(HX_REVOKE_SID), "sid");
    assert_string_equal(hx_revoke_kind_name(HX_REVOKE_USER), "user");
    assert_string_equal(hx_revoke_kind_name((hx_revoke_kind)0), "?");
    k = HX_REVOKE_SID;
    assert_int_equal(hx_revoke_kind_parse("JTI", &k), -1);
    assert_int_equal(hx_revoke_kind_parse("", &k), -1);
    assert_int_equal(hx_revoke_kind_parse("users", &k), -1);
    assert_int_equal(k, HX_REVOKE_SID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_each_kind, setup, teardown),
        cmocka_unit_test_setup_teardown(test_add_rejects, setup, teardown),
        cmocka_unit_test_setup_teardown(test_user_not_before_boundary, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replace, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sweep, setup, teardown),
        cmocka_unit_test_setup_teardown(test_matches, setup, teardown),
        cmocka_unit_test_setup_teardown(test_matches_agrees_with_check, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kind_names, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
