/*
 * Unit tests for the webhook's pure parts: the signature (against HMAC-SHA256
 * values computed apart, with Python's hmac), the body an audit record
 * becomes, the stored cursor, the webhook.url and webhook.events checks.
 */
#include "webhook/webhook_internal.h"

#include "config/config.h"

#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static const char secret[] = "whsec_0123456789abcdef";

static void test_sign_known(void **state)
{
    (void)state;
    char sig[HX_WH_SIG_MAX];
    const char body[] = "{\"id\":1,\"event\":\"session.join\"}";
    assert_int_equal(hx__wh_sign(secret, strlen(secret), 1765140000, body, strlen(body), sig), 0);
    assert_string_equal(
        sig, "t=1765140000,v1=971a277488676371dbe5b8156c14e528711bb47c8d716ae03ef1c81627ab34f9");
    assert_int_equal(hx__wh_sign(secret, strlen(secret), 0, "", 0, sig), 0);
    assert_string_equal(sig,
                        "t=0,v1=2852ef72b5be70ea4bcd2762af295042abb372233d0fb219a7ae18fd7f2852b9");
}

static void test_sign_covers_everything(void **state)
{
    (void)state;
    char a[HX_WH_SIG_MAX], b[HX_WH_SIG_MAX];
    const char body[] = "{\"id\":7}";
    assert_int_equal(hx__wh_sign(secret, strlen(secret), 100, body, strlen(body), a), 0);
    assert_int_equal(hx__wh_sign(secret, strlen(secret), 101, body, strlen(body), b), 0);
    assert_string_not_equal(a + 6, b + 6); /* the time is inside the MAC */
    assert_int_equal(hx__wh_sign(secret, strlen(secret), 100, "{\"id\":8}", 8, b), 0);
    assert_string_not_equal(a, b);
    assert_int_equal(hx__wh_sign("another-secret-16", 17, 100, body, strlen(body), b), 0);
    assert_string_not_equal(a, b);
    /* the largest time fits */
    assert_int_equal(hx__wh_sign(secret, strlen(secret), INT64_MIN, body, strlen(body), b), 0);
    assert_true(strlen(b) < HX_WH_SIG_MAX);
}

static json_t *body_of(const hx_event *ev, const char *node)
{
    size_t len;
    char *text = hx__wh_body(ev, node, &len);
    assert_non_null(text);
    assert_int_equal(strlen(text), len);
    json_t *o = json_loads(text, 0, NULL);
    free(text);
    assert_non_null(o);
    return o;
}

static void test_body_fields(void **state)
{
    (void)state;
    hx_event ev = {.id = 42,
                   .ts_ms = 1765140000123,
                   .kind = "session.leave",
                   .room = "lobby",
                   .user = "alice",
                   .device = "laptop",
                   .code = "left",
                   .detail = "{\"addr\":\"127.0.0.1\"}"};
    json_t *o = body_of(&ev, "node-a");
    assert_int_equal(json_integer_value(json_object_get(o, "id")), 42);
    assert_string_equal(json_string_value(json_object_get(o, "event")), "session.leave");
    assert_int_equal(json_integer_value(json_object_get(o, "created_at")), 1765140000);
    assert_int_equal(json_integer_value(json_object_get(o, "created_at_ms")), 1765140000123);
    assert_string_equal(json_string_value(json_object_get(o, "room")), "lobby");
    assert_string_equal(json_string_value(json_object_get(o, "user")), "alice");
    assert_string_equal(json_string_value(json_object_get(o, "device")), "laptop");
    assert_string_equal(json_string_value(json_object_get(o, "code")), "left");
    assert_string_equal(json_string_value(json_object_get(o, "node")), "node-a");
    assert_null(json_object_get(o, "sid")); /* absent fields left out */
    json_t *d = json_object_get(o, "detail");
    assert_true(json_is_object(d));
    assert_string_equal(json_string_value(json_object_get(d, "addr")), "127.0.0.1");
    json_decref(o);
}

static void test_body_odd_detail(void **state)
{
    (void)state;
    hx_event ev = {.id = 1, .ts_ms = 5, .kind = "room.started", .detail = "not json {"};
    json_t *o = body_of(&ev, NULL);
    assert_string_equal(json_string_value(json_object_get(o, "detail")), "not json {");
    assert_null(json_object_get(o, "node"));
    assert_null(json_object_get(o, "room"));
    json_decref(o);

    /* A detail too large for a body: posted without it, said so. */
    size_t big = HX_WH_BODY_MAX + 100;
    char *detail = malloc(big + 16);
    assert_non_null(detail);
    memcpy(detail, "{\"x\":\"", 6);
    memset(detail + 6, 'a', big);
    memcpy(detail + 6 + big, "\"}", 3);
    ev.detail = detail;
    size_t len;
    char *text = hx__wh_body(&ev, "", &len);
    assert_non_null(text);
    assert_true(len <= HX_WH_BODY_MAX);
    o = json_loads(text, 0, NULL);
    assert_true(json_is_true(json_object_get(o, "detail_truncated")));
    assert_null(json_object_get(o, "detail"));
    json_decref(o);
    free(text);
    free(detail);
}

static void test_cursor(void **state)
{
    (void)state;
    char text[96];
    int64_t a = -1, s = -1;
    assert_int_equal(hx__wh_cursor_write(0, 1765140000000, text, sizeof text), 0);
    assert_string_equal(text, "{\"after_id\":0,\"since_ms\":1765140000000}");
    assert_int_equal(hx__wh_cursor_parse(text, strlen(text), &a, &s), 0);
    assert_int_equal(a, 0);
    assert_int_equal(s, 1765140000000);
    assert_int_equal(hx__wh_cursor_write(917, 1765140000000, text, sizeof text), 0);
    assert_string_equal(text, "{\"after_id\":917}"); /* once an event passed, no time */
    assert_int_equal(hx__wh_cursor_parse(text, strlen(text), &a, &s), 0);
    assert_int_equal(a, 917);
    assert_int_equal(s, 0);
    assert_int_equal(hx__wh_cursor_write(917, 0, text, 8), -1); /* too small */

    static const char *const bad[] = {
        "",
        "[]",
        "{}",
        "{\"after_id\":-1}",
        "{\"after_id\":\"5\"}",
        "{\"after_id\":5,\"since_ms\":-2}",
        "{\"after_id\":5,\"other\":1}",
        "{\"after_id\":5,\"after_id\":6}",
        "{\"after_id\":1.5}",
        "{\"after_id\":5",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(hx__wh_cursor_parse(bad[i], strlen(bad[i]), &a, &s), -1);
}

static void test_url(void **state)
{
    (void)state;
    hx_wh_url u;
    const char *why;
    assert_int_equal(hx_wh_url_parse("http://127.0.0.1:8080/hooks?x=1", &u, &why), 0);
    assert_false(u.https);
    assert_string_equal(u.host, "127.0.0.1");
    assert_int_equal(u.port, 8080);
    assert_int_equal(hx_wh_url_parse("https://platform.example.org", &u, &why), 0);
    assert_true(u.https);
    assert_int_equal(u.port, 443);
    assert_int_equal(hx_wh_url_parse("http://[::1]:9/h", &u, &why), 0);
    assert_string_equal(u.host, "::1");
    assert_int_equal(u.port, 9);

    static const char *const bad[] = {
        "",
        "ftp://x/",
        "http://",
        "http:///path",
        "http://user:pw@host/",
        "http://host:0/",
        "http://host:65536/",
        "http://host:80x/",
        "http://host:/",
        "http://ho st/",
        "http://host/a b",
        "http://host/#frag",
        "http://[::1/",
        "http://[::1]x/",
        "http://[zz]/",
        "http://hö.st/",
        "https://host\n/",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        why = NULL;
        assert_int_equal(hx_wh_url_parse(bad[i], &u, &why), -1);
        assert_non_null(why);
    }
}

static void test_filter(void **state)
{
    (void)state;
    hx_wh_filter f;
    const char *why;
    assert_int_equal(hx_wh_filter_parse(&f, NULL, 0, &why), 0); /* the default set */
    assert_true(hx_wh_filter_match(&f, "session.join"));
    assert_true(hx_wh_filter_match(&f, "session.leave"));
    assert_true(hx_wh_filter_match(&f, "room.started"));
    assert_true(hx_wh_filter_match(&f, "track.published"));
    assert_true(hx_wh_filter_match(&f, "moderation.kick"));
    assert_true(hx_wh_filter_match(&f, "vote.closed"));
    assert_false(hx_wh_filter_match(&f, "ticket.issue"));
    assert_false(hx_wh_filter_match(&f, "auth.failure"));
    assert_false(hx_wh_filter_match(&f, "signal.message"));
    assert_false(hx_wh_filter_match(&f, NULL));

    const char pats[2][HX_WH_PATTERN_LEN] = {"moderation.*", "session.join"};
    assert_int_equal(hx_wh_filter_parse(&f, pats, 2, &why), 0);
    assert_true(hx_wh_filter_match(&f, "moderation.ban"));
    assert_true(hx_wh_filter_match(&f, "session.join"));
    assert_false(hx_wh_filter_match(&f, "session.joined"));
    assert_false(hx_wh_filter_match(&f, "session.leave"));
    const char all[1][HX_WH_PATTERN_LEN] = {"*"};
    assert_int_equal(hx_wh_filter_parse(&f, all, 1, &why), 0);
    assert_true(hx_wh_filter_match(&f, "anything.at.all"));

    const char bad[4][HX_WH_PATTERN_LEN] = {"Session.join", "a*b", "", "x y"};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(hx_wh_filter_parse(&f, &bad[i], 1, &why), -1);
        assert_non_null(why);
    }
    assert_int_equal(hx_wh_filter_parse(&f, pats, HX_WH_MAX_PATTERNS + 1, &why), -1);
}

/* config/config.c's checks of the webhook.* keys together, with these parsers. */
static void test_config_validate(void **state)
{
    (void)state;
    hx_config c;
    char err[256];
    hx_config_defaults(&c, HX_PROFILE_DEV);
    assert_int_equal(hx_config_validate(&c, err, sizeof err), 0); /* no url: nothing to check */
    assert_int_equal(hx_config_set(&c, "webhook.url", "http://127.0.0.1:9/h", err, sizeof err), 0);
    assert_int_equal(hx_config_validate(&c, err, sizeof err), -1);
    assert_non_null(strstr(err, "webhook.secret"));
    assert_int_equal(hx_config_set(&c, "webhook.secret", "short", err, sizeof err), 0);
    assert_int_equal(hx_config_validate(&c, err, sizeof err), -1);
    assert_int_equal(hx_config_set(&c, "webhook.secret", secret, err, sizeof err), 0);
    assert_int_equal(hx_config_validate(&c, err, sizeof err), 0);
    assert_int_equal(hx_config_set(&c, "webhook.events", "room.*, Bad", err, sizeof err), 0);
    assert_int_equal(hx_config_validate(&c, err, sizeof err), -1);
    assert_non_null(strstr(err, "webhook.events"));
    assert_int_equal(hx_config_set(&c, "webhook.events", "room.*, moderation.*", err, sizeof err),
                     0);
    assert_int_equal(hx_config_validate(&c, err, sizeof err), 0);
    assert_int_equal(hx_config_set(&c, "webhook.backoff_ms", "5000", err, sizeof err), 0);
    assert_int_equal(hx_config_set(&c, "webhook.backoff_max_ms", "1000", err, sizeof err), 0);
    assert_int_equal(hx_config_validate(&c, err, sizeof err), -1);
    assert_non_null(strstr(err, "backoff_max_ms"));
    assert_int_equal(hx_config_set(&c, "webhook.backoff_max_ms", "9000", err, sizeof err), 0);
    assert_int_equal(hx_config_set(&c, "webhook.url", "https://u:p@x/", err, sizeof err), 0);
    assert_int_equal(hx_config_validate(&c, err, sizeof err), -1);
    assert_non_null(strstr(err, "webhook.url has user:password@"));
    assert_int_equal(hx_config_set(&c, "webhook.queue_max", "0", err, sizeof err), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sign_known),  cmocka_unit_test(test_sign_covers_everything),
        cmocka_unit_test(test_body_fields), cmocka_unit_test(test_body_odd_detail),
        cmocka_unit_test(test_cursor),      cmocka_unit_test(test_url),
        cmocka_unit_test(test_filter),      cmocka_unit_test(test_config_validate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
