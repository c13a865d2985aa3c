/*
 * Unit tests for cluster/placement.c: a new room goes to the least-loaded node not draining;
 * among equals the rendezvous weight decides, the same on every node and whatever the order of
 * the registry's list; rooms spread over idle nodes; beacons parse (and what is not one does
 * not); signal URLs follow the base URL's scheme.
 */
#include "cluster/placement.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

static hx_node_view node(const char *id, int64_t sessions, bool draining)
{
    hx_node_view v = {.sessions = sessions, .draining = draining};
    snprintf(v.id, sizeof v.id, "%s", id);
    snprintf(v.url, sizeof v.url, "http://127.0.0.1:%d", 8000 + (int)strlen(id));
    return v;
}

static void least_loaded_wins(void **state)
{
    (void)state;
    hx_node_view n[] = {node("a", 5, false), node("b", 2, false), node("c", 9, false)};
    assert_int_equal(hx_place_room("lobby", n, 3), 1);
    n[1].draining = true; /* a draining node takes no new room, however idle */
    assert_int_equal(hx_place_room("lobby", n, 3), 0);
    n[0].draining = n[2].draining = true;
    assert_int_equal(hx_place_room("lobby", n, 3), -1);
    assert_int_equal(hx_place_room("lobby", n, 0), -1);
}

static void ties_agree_in_any_order(void **state)
{
    (void)state;
    hx_node_view fwd[] = {node("node-a", 0, false), node("node-b", 0, false),
                          node("node-c", 0, false)};
    hx_node_view rev[] = {fwd[2], fwd[1], fwd[0]};
    char room[32];
    int counts[3] = {0};
    for (int i = 0; i < 300; i++) {
        snprintf(room, sizeof room, "room-%d", i);
        int a = hx_place_room(room, fwd, 3), b = hx_place_room(room, rev, 3);
        assert_true(a >= 0 && b >= 0);
        assert_string_equal(fwd[a].id, rev[b].id); /* every node names the same one */
        /* ... the one with the highest weight */
        for (int k = 0; k < 3; k++)
            assert_true(hx_place_weight(room, fwd[k].id) <= hx_place_weight(room, fwd[a].id));
        counts[a]++;
    }
    /* Idle nodes share new rooms: none gets fewer than a fifth of 300. */
    for (int k = 0; k < 3; k++)
        assert_true(counts[k] > 60);
}

static void beacon_parse(void **state)
{
    (void)state;
    hx_node_view v;
    assert_int_equal(hx_node_view_parse("{\"node\":\"n1\",\"url\":\"https://h.example:8443/\","
                                        "\"sessions\":7,\"rooms\":2,\"draining\":true}",
                                        &v),
                     0);
    assert_string_equal(v.id, "n1");
    assert_string_equal(v.url, "https://h.example:8443"); /* no trailing slash */
    assert_int_equal(v.sessions, 7);
    assert_true(v.draining);
    assert_int_equal(hx_node_view_parse("{\"node\":\"n1\"}", &v), -1);
    assert_int_equal(hx_node_view_parse("{\"node\":\"\",\"url\":\"http://x\"}", &v), -1);
    assert_int_equal(hx_node_view_parse("not json", &v), -1);
    char big[600];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    char text[800];
    snprintf(text, sizeof text, "{\"node\":\"n\",\"url\":\"http://%s\"}", big);
    assert_int_equal(hx_node_view_parse(text, &v), -1);
}

static void signal_urls(void **state)
{
    (void)state;
    char out[128];
    assert_int_equal(hx_node_signal_url("http://127.0.0.1:8080", 2, out, sizeof out), 0);
    assert_string_equal(out, "ws://127.0.0.1:8080/v1/signal?v=2");
    assert_int_equal(hx_node_signal_url("https://h.example/", 1, out, sizeof out), 0);
    assert_string_equal(out, "wss://h.example/v1/signal?v=1");
    assert_int_equal(hx_node_signal_url("ftp://h", 2, out, sizeof out), -1);
    assert_int_equal(hx_node_signal_url("http://127.0.0.1:8080", 2, out, 16), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(least_loaded_wins),
        cmocka_unit_test(ties_agree_in_any_order),
        cmocka_unit_test(beacon_parse),
        cmocka_unit_test(signal_urls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
