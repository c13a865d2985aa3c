/*
 * Unit tests for auth/turn_cred: passwords match vectors computed with the
 * coturn recipe of PEERS.md (`openssl dgst -binary -sha1 -hmac SECRET |
 * base64`, an independent implementation); minting and parsing agree;
 * malformed usernames are refused.
 */
#include "auth/turn_cred.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

static const char secret[] = "north-wind-secret-0123";

static void vectors(void **state)
{
    (void)state;
    static const struct {
        const char *user, *pass;
    } v[] = {{"1700000000:alice", "s0SQRI+SV6HZXj/zo4FG30PZScY="},
             {"4102444800:bob@example.org", "ghA9owiMjsGUX2JUBOjab6y9jrY="},
             {"1:x", "AL09o1DQ9bO5QOiG3cleaALeTKA="}};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        char pw[HX_TURN_CRED_PASSWORD_LEN];
        assert_int_equal(hx_turn_cred_password(secret, v[i].user, pw), 0);
        assert_string_equal(pw, v[i].pass);
    }
    char pw[HX_TURN_CRED_PASSWORD_LEN];
    assert_int_equal(hx_turn_cred_password("another-secret-xyz", v[0].user, pw), 0);
    assert_string_not_equal(pw, v[0].pass);
    assert_int_equal(hx_turn_cred_password("", v[0].user, pw), -1);
    assert_int_equal(hx_turn_cred_password(secret, "", pw), -1);
}

static void mint_and_parse(void **state)
{
    (void)state;
    char user[HX_TURN_CRED_MAX_USERNAME], pw[HX_TURN_CRED_PASSWORD_LEN];
    assert_int_equal(hx_turn_cred_mint(secret, "alice", 1700000000, user, sizeof user, pw), 0);
    assert_string_equal(user, "1700000000:alice");
    assert_string_equal(pw, "s0SQRI+SV6HZXj/zo4FG30PZScY=");
    int64_t exp = 0;
    const char *who = NULL;
    assert_int_equal(hx_turn_cred_parse(user, &exp, &who), 0);
    assert_int_equal(exp, 1700000000);
    assert_string_equal(who, "alice");
    /* A user id with the separator in it stays whole. */
    assert_int_equal(hx_turn_cred_mint(secret, "a:b", 5, user, sizeof user, pw), 0);
    assert_int_equal(hx_turn_cred_parse(user, &exp, &who), 0);
    assert_int_equal(exp, 5);
    assert_string_equal(who, "a:b");
    /* Too small a buffer, an empty user, a negative expiry. */
    char small[8];
    assert_int_equal(hx_turn_cred_mint(secret, "alice", 1700000000, small, sizeof small, pw), -1);
    assert_int_equal(hx_turn_cred_mint(secret, "", 1700000000, user, sizeof user, pw), -1);
    assert_int_equal(hx_turn_cred_mint(secret, "alice", -1, user, sizeof user, pw), -1);
}

static void parse_refusals(void **state)
{
    (void)state;
    int64_t exp;
    const char *who;
    assert_int_equal(hx_turn_cred_parse("1700000000", &exp, &who), 0);
    assert_int_equal(exp, 1700000000);
    assert_string_equal(who, "");
    static const char *const bad[] = {"", ":alice", "alice", "alice:1700000000", "17x:alice",
                                      "12345678901234567890:alice", " 1:alice", "-1:alice"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(hx_turn_cred_parse(bad[i], &exp, &who), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(vectors), cmocka_unit_test(mint_and_parse),
                                       cmocka_unit_test(parse_refusals)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
