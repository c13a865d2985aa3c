/*
 * Unit tests for auth/grants_json: flags to a JSON array of names and back
 * from an object of booleans. Every one of the 16 flag combinations goes
 * out as the names of exactly its bits, in a fixed order; reading starts
 * from `base`, a key sets or clears its bit, absent keys leave it, and a
 * non-boolean value is refused without touching the output.
 */
#include "auth/grants_json.h"

#include "auth/grants.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static const char *const names[] = {"publish", "subscribe", "data", "moderate"};
static const uint32_t bits[] = {HX_GRANT_PUBLISH, HX_GRANT_SUBSCRIBE, HX_GRANT_DATA, HX_GRANT_MODERATE};

static void test_to_json_all_combinations(void **state)
{
    (void)state;
    for (uint32_t f = 0; f < 16; f++) {
        json_t *a = hx_grant_flags_json(f);
        assert_non_null(a);
        assert_true(json_is_array(a));
        size_t k = 0;
        for (int i = 0; i < 4; i++)
            if (f & bits[i]) {
                const char *s = json_string_value(json_array_get(a, k++));
                assert_non_null(s);
                assert_string_equal(s, names[i]);
            }
        assert_int_equal(json_array_size(a), k);
        json_decref(a);
    }
    /* Unknown bits are not names. */
    json_t *a = hx_grant_flags_json(0xfffffff0u | HX_GRANT_DATA);
    assert_int_equal(json_array_size(a), 1);
    assert_string_equal(json_string_value(json_array_get(a, 0)), "data");
    json_decref(a);
    a = hx_grant_flags_json(HX_GRANT_DEFAULT_FLAGS);
    char *s = json_dumps(a, JSON_COMPACT);
    assert_string_equal(s, "[\"publish\",\"subscribe\",\"data\"]");
    free(s);
    json_decref(a);
}

static void test_from_json(void **state)
{
    (void)state;
    uint32_t out = 0;
    json_t *o = json_pack("{s:b, s:b}", "moderate", 1, "publish", 0);
    assert_int_equal(hx_grant_flags_from_json(o, HX_GRANT_DEFAULT_FLAGS, &out), 0);
    assert_int_equal(out, HX_GRANT_SUBSCRIBE | HX_GRANT_DATA | HX_GRANT_MODERATE);
    json_decref(o);

    /* Empty object or unknown keys: base unchanged, including bits it does not know. */
    o = json_pack("{s:b, s:s}", "admin", 1, "room", "x");
    assert_int_equal(hx_grant_flags_from_json(o, 0x100u | HX_GRANT_DATA, &out), 0);
    assert_int_equal(out, 0x100u | HX_GRANT_DATA);
    json_decref(o);

    /* Each key alone sets and clears its own bit only. */
    for (int i = 0; i < 4; i++) {
        o = json_pack("{s:b}", names[i], 1);
        assert_int_equal(hx_grant_flags_from_json(o, 0, &out), 0);
        assert_int_equal(out, bits[i]);
        json_decref(o);
        o = json_pack("{s:b}", names[i], 0);
        assert_int_equal(hx_grant_flags_from_json(o, 15, &out), 0);
        assert_int_equal(out, 15u & ~bits[i]);
        json_decref(o);
    }

    /* Round trip through the array form. */
    for (uint32_t f = 0; f < 16; f++) {
        json_t *obj = json_object();
        json_t *a = hx_grant_flags_json(f);
        size_t i;
        json_t *v;
        json_array_foreach(a, i, v) json_object_set_new(obj, json_string_value(v), json_true());
        assert_int_equal(hx_grant_flags_from_json(obj, 0, &out), 0);
        assert_int_equal(out, f);
        json_decref(a);
        json_decref(obj);
    }
}

static void test_from_json_rejects_non_boolean(void **state)
{
    (void)state;
    static const char *const bad[] = {"{\"publish\":1}", "{\"subscribe\":\"true\"}", "{\"data\":null}",
                                      "{\"moderate\":[true]}", "{\"publish\":true,\"data\":0}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *o = json_loads(bad[i], 0, NULL);
        assert_non_null(o);
        uint32_t out = 0xdead;
        assert_int_equal(hx_grant_flags_from_json(o, HX_GRANT_DEFAULT_FLAGS, &out), -1);
        assert_int_equal(out, 0xdead);
        json_decref(o);
    }
    /* Not an object: nothing to read, base stands. */
    uint32_t out = 0;
    json_t *a = json_array();
    assert_int_equal(hx_grant_flags_from_json(a, HX_GRANT_PUBLISH, &out), 0);
    assert_int_equal(out, HX_GRANT_PUBLISH);
    json_decref(a);
    assert_int_equal(hx_grant_flags_from_json(NULL, HX_GRANT_DATA, &out), 0);
    assert_int_equal(out, HX_GRANT_DATA);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_to_json_all_combinations),
        cmocka_unit_test(test_from_json),
        cmocka_unit_test(test_from_json_rejects_non_boolean),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
