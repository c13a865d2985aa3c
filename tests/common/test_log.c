/*
 * Unit tests for common/log, writing to a tmpfile and reading it back.
 * JSON mode: every line parses as one JSON object with ts, level, event
 * and the key/value pairs (NULL values skipped), whatever the values hold.
 * Text mode: "TS LEVEL EVENT k=v ...", values quoted when they hold spaces,
 * and escaped so that a value can neither end the line nor forge another
 * key. Both: levels above the logger's are dropped; long lines stay one line.
 */
#define _GNU_SOURCE /* timegm */
#include "common/log.h"

#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

typedef struct fixture {
    FILE *f;
    hx_logger lg;
    char *lines[16];
    size_t n;
} fixture;

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);
    if (!fx || !(fx->f = tmpfile())) return -1;
    fx->lg.out = fx->f;
    fx->lg.level = HX_LOG_DEBUG;
    *state = fx;
    return 0;
}

static void drop_lines(fixture *fx)
{
    for (size_t i = 0; i < fx->n; i++) free(fx->lines[i]);
    fx->n = 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    drop_lines(fx);
    fclose(fx->f);
    free(fx);
    return 0;
}

/* Read everything written so far as lines (each must end in '\n'), then empty the file. */
static size_t read_lines(fixture *fx)
{
    drop_lines(fx);
    fflush(fx->f);
    rewind(fx->f);
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, fx->f)) > 0) {
        assert_true(fx->n < 16);
        assert_int_equal(line[len - 1], '\n');
        line[len - 1] = '\0';
        assert_int_equal(strlen(line), (size_t)len - 1); /* no NUL inside */
        fx->lines[fx->n++] = strdup(line);
    }
    free(line);
    rewind(fx->f);
    assert_int_equal(ftruncate(fileno(fx->f), 0), 0);
    return fx->n;
}

/* "2026-11-25T06:00:00.123Z", within a minute of now. */
static void check_ts(const char *ts)
{
    assert_int_equal(strlen(ts), 24);
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *rest = strptime(ts, "%Y-%m-%dT%H:%M:%S", &tm);
    assert_non_null(rest);
    assert_true(rest[0] == '.' && rest[1] >= '0' && rest[1] <= '9' && rest[2] >= '0' && rest[2] <= '9' &&
                rest[3] >= '0' && rest[3] <= '9' && rest[4] == 'Z' && rest[5] == '\0');
    time_t t = timegm(&tm);
    assert_true(llabs((long long)(t - time(NULL))) < 60);
}

static void test_level_parse(void **state)
{
    (void)state;
    assert_int_equal(hx_log_level_parse("error"), HX_LOG_ERROR);
    assert_int_equal(hx_log_level_parse("warn"), HX_LOG_WARN);
    assert_int_equal(hx_log_level_parse("info"), HX_LOG_INFO);
    assert_int_equal(hx_log_level_parse("debug"), HX_LOG_DEBUG);
    assert_int_equal(hx_log_level_parse("warning"), -1);
    assert_int_equal(hx_log_level_parse("INFO"), -1);
    assert_int_equal(hx_log_level_parse(""), -1);
}

static void test_json_fields(void **state)
{
    fixture *fx = *state;
    fx->lg.json = 1;
    static const char tricky[] = "say \"hi\"\\ \n\tnext line \x01 caf\xc3\xa9 {\"k\":1}";
    hx_log(&fx->lg, HX_LOG_INFO, "session.join", "room", "lobby", "skipped", NULL, "user", "alice", "note", tricky,
           "empty", "", NULL);
    hx_log(&fx->lg, HX_LOG_ERROR, "server.stopping", NULL);
    assert_int_equal(read_lines(fx), 2);

    json_error_t jerr;
    json_t *o = json_loads(fx->lines[0], 0, &jerr);
    if (!o) fail_msg("line 1 is not JSON (%s): %s", jerr.text, fx->lines[0]);
    assert_true(json_is_object(o));
    assert_int_equal(json_object_size(o), 7);
    check_ts(json_string_value(json_object_get(o, "ts")));
    assert_string_equal(json_string_value(json_object_get(o, "level")), "info");
    assert_string_equal(json_string_value(json_object_get(o, "event")), "session.join");
    assert_string_equal(json_string_value(json_object_get(o, "room")), "lobby");
    assert_string_equal(json_string_value(json_object_get(o, "user")), "alice");
    assert_string_equal(json_string_value(json_object_get(o, "note")), tricky);
    assert_string_equal(json_string_value(json_object_get(o, "empty")), "");
    assert_null(json_object_get(o, "skipped"));
    json_decref(o);
    /* ts, level, event come first, in that order. */
    assert_memory_equal(fx->lines[0], "{\"ts\":\"", 7);
    assert_non_null(strstr(fx->lines[0], "\",\"level\":\"info\",\"event\":\"session.join\",\"room\""));

    o = json_loads(fx->lines[1], 0, &jerr);
    assert_non_null(o);
    assert_int_equal(json_object_size(o), 3);
    assert_string_equal(json_string_value(json_object_get(o, "level")), "error");
    json_decref(o);
}

static void test_json_hostile_values(void **state)
{
    fixture *fx = *state;
    fx->lg.json = 1;
    /* Invalid UTF-8 must not produce an invalid line (the value may be dropped). */
    hx_log(&fx->lg, HX_LOG_WARN, "ev", "bad", "\xff\xfe", "ok", "yes", NULL);
    char *big = malloc(10001);
    memset(big, 'x', 10000);
    big[10000] = '\0';
    hx_log(&fx->lg, HX_LOG_WARN, "ev", "big", big, NULL);
    assert_int_equal(read_lines(fx), 2);
    for (size_t i = 0; i < 2; i++) {
        json_t *o = json_loads(fx->lines[i], 0, NULL);
        if (!o) fail_msg("not JSON: %s", fx->lines[i]);
        if (i == 0) assert_string_equal(json_string_value(json_object_get(o, "ok")), "yes");
        else assert_string_equal(json_string_value(json_object_get(o, "big")), big);
        json_decref(o);
    }
    free(big);
}

static void test_text_format(void **state)
{
    fixture *fx = *state;
    fx->lg.json = 0;
    hx_log(&fx->lg, HX_LOG_INFO, "session.join", "room", "lobby", "skipped", NULL, "reason", "two words", "tab",
           "a\tb", NULL);
    hx_log(&fx->lg, HX_LOG_DEBUG, "bare", NULL);
    assert_int_equal(read_lines(fx), 2);
    const char *l = fx->lines[0];
    char ts[32];
    assert_true(strlen(l) > 25 && l[24] == ' ');
    memcpy(ts, l, 24);
    ts[24] = '\0';
    check_ts(ts);
    assert_string_equal(l + 25, "info session.join room=lobby reason=\"two words\" tab=\"a\\tb\"");
    assert_string_equal(fx->lines[1] + 25, "debug bare");
}

static void test_text_escaping(void **state)
{
    fixture *fx = *state;
    fx->lg.json = 0;
    /* A value that tries to end the line and start a forged one, or to close its quotes early. */
    hx_log(&fx->lg, HX_LOG_WARN, "ev", "v", "x\n2026-01-01T00:00:00.000Z error forged", NULL);
    hx_log(&fx->lg, HX_LOG_WARN, "ev", "v", "a\" admin=\"yes", NULL);
    hx_log(&fx->lg, HX_LOG_WARN, "ev", "v", "a=b", "w", "back\\slash", "c", "\r\x1b[31m", NULL);
    assert_int_equal(read_lines(fx), 3);
    assert_string_equal(fx->lines[0] + 25, "warn ev v=\"x\\n2026-01-01T00:00:00.000Z error forged\"");
    assert_string_equal(fx->lines[1] + 25, "warn ev v=\"a\\\" admin=\\\"yes\"");
    assert_string_equal(fx->lines[2] + 25, "warn ev v=\"a=b\" w=\"back\\\\slash\" c=\"\\r\\x1b[31m\"");
}

static void test_text_long_line(void **state)
{
    fixture *fx = *state;
    fx->lg.json = 0;
    char *big = malloc(5001);
    memset(big, 'y', 5000);
    big[5000] = '\0';
    hx_log(&fx->lg, HX_LOG_INFO, "ev", "a", big, "b", big, "c", "after", NULL);
    hx_log(&fx->lg, HX_LOG_INFO, "next", NULL);
    assert_int_equal(read_lines(fx), 2); /* truncated, but still one line */
    assert_true(strlen(fx->lines[0]) < 2048);
    assert_memory_equal(fx->lines[0] + 25, "info ev a=yyy", 13);
    assert_string_equal(fx->lines[1] + 25, "info next");
    free(big);
}

static void test_level_filter(void **state)
{
    fixture *fx = *state;
    for (int json = 0; json <= 1; json++) {
        fx->lg.json = json;
        for (int lvl = HX_LOG_ERROR; lvl <= HX_LOG_DEBUG; lvl++) {
            fx->lg.level = (hx_log_level)lvl;
            hx_log(&fx->lg, HX_LOG_ERROR, "e", NULL);
            hx_log(&fx->lg, HX_LOG_WARN, "w", NULL);
            hx_log(&fx->lg, HX_LOG_INFO, "i", NULL);
            hx_log(&fx->lg, HX_LOG_DEBUG, "d", NULL);
            assert_int_equal(read_lines(fx), (size_t)lvl + 1);
            static const char *const names[] = {"e", "w", "i", "d"};
            for (int k = 0; k <= lvl; k++) {
                const char *l = fx->lines[k];
                size_t n = strlen(l);
                if (json) assert_non_null(strstr(l, names[k]));
                else assert_string_equal(l + n - 1, names[k]);
            }
        }
    }
    /* No logger, or no sink: nothing happens. */
    hx_log(NULL, HX_LOG_ERROR, "e", NULL);
    hx_logger none = {NULL, HX_LOG_DEBUG, 0};
    hx_log(&none, HX_LOG_ERROR, "e", "k", "v", NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_level_parse),
        cmocka_unit_test_setup_teardown(test_json_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_hostile_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_text_format, setup, teardown),
        cmocka_unit_test_setup_teardown(test_text_escaping, setup, teardown),
        cmocka_unit_test_setup_teardown(test_text_long_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_level_filter, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
