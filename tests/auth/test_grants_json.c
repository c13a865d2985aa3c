/*
 * Unit tests for auth/grants_json: flags to a JSON array of names and back
 * from an object of booleans. Every one of the 16 flag combinations goes
 * out as the names of exactly its bits, in a fixed order; reading starts
 * from `base`, a key sets or clears its bit, absent keys leave it, and a
 * non-boolean value is refused without touching the output. Rooms: "*" or a
 * list of ids, "*" in the list meaning every room too.
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

/* Parse `text` as the "rooms" member into defaults; the result code. */
static int rooms_from(const char *text, hx_grants *g)
{
    hx_grants_default(g);
    json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);
    assert_non_null(v);
    int rc = hx_grant_rooms_from_json(v, g);
    json_decref(v);
    return rc;
}

static void test_rooms(void **state)
{
    (void)state;
    hx_grants g;
    assert_int_equal(rooms_from("\"*\"", &g), 0);
    assert_true(g.all_rooms);
    assert_true(hx_grants_allow_room(&g, "anything"));

    /* "*" as an element is every room, alone or beside named rooms. */
    static const char *const every[] = {"[\"*\"]", "[\"lobby\",\"*\"]", "[\"*\",\"*\"]"};
    for (size_t i = 0; i < sizeof every / sizeof every[0]; i++) {
        assert_int_equal(rooms_from(every[i], &g), 0);
        assert_true(g.all_rooms);
        assert_int_equal(g.n_rooms, 0); /* one or the other, never both (fuzz_jwt checks it) */
        assert_true(hx_grants_allow_room(&g, "lobby"));
        assert_true(hx_grants_allow_room(&g, "stage"));
        assert_false(hx_grants_allow_room(&g, "bad room"));
    }

    assert_int_equal(rooms_from("[\"lobby\",\"stage\"]", &g), 0);
    assert_false(g.all_rooms);
    assert_int_equal(g.n_rooms, 2);
    assert_true(hx_grants_allow_room(&g, "stage"));
    assert_false(hx_grants_allow_room(&g, "annex"));
    assert_false(hx_grants_allow_room(&g, "*"));
    assert_int_equal(rooms_from("[]", &g), 0);
    assert_false(g.all_rooms);
    assert_false(hx_grants_allow_room(&g, "lobby"));

    /* Absent: the defaults stand. */
    hx_grants_default(&g);
    assert_int_equal(hx_grant_rooms_from_json(NULL, &g), 0);
    assert_true(g.all_rooms);

    static const char *const bad[] = {"\"lobby\"",         "\"**\"",        "5",
                                      "null",              "{}",             "[\"*\",\"bad room\"]",
                                      "[\"*\",3]",         "[\"lobby\",null]", "[[\"*\"]]"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (rooms_from(bad[i], &g) != -1) fail_msg("accepted %s", bad[i]);

    /* At most HX_MAX_GRANT_ROOMS elements, "*" counted. */
    json_t *a = json_array();
    for (int i = 0; i < HX_MAX_GRANT_ROOMS; i++)
        json_array_append_new(a, json_string("*"));
    assert_int_equal(hx_grant_rooms_from_json(a, &g), 0);
    json_array_append_new(a, json_string("*"));
    assert_int_equal(hx_grant_rooms_from_json(a, &g), -1);
    json_decref(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_to_json_all_combinations),
        cmocka_unit_test(test_from_json),
        cmocka_unit_test(test_from_json_rejects_non_boolean),
        cmocka_unit_test(test_rooms),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
