/*
 * Unit tests for config/: the four profiles' defaults (checked against a
 * table here and against the profile table in docs/configuration.md, so
 * the two cannot drift apart), the file format (sections, comments,
 * trimming, lists, booleans, and errors that name FILE:LINE), the command
 * line's precedence (profile flag > file > dev; flags > file > defaults),
 * and the cross-field validation that keeps a production profile from
 * starting with dev auth.
 *
 * Each test gets its own mkdtemp directory for configuration files,
 * removed by the teardown.
 */
#define _GNU_SOURCE /* nftw, open_memstream */
#include "config/config.h"

#include "common/log.h"

#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

typedef struct fixture {
    char dir[64];
    char path[160]; /* the last file written */
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f) return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/hx-config-XXXXXX");
    if (!mkdtemp(f->dir)) {
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int teardown(void **state)
{
    fixture *f = *state;
    nftw(f->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

/* Write text to DIR/name; returns the path (valid until the next call). */
static const char *write_conf(void **state, const char *name, const char *text)
{
    fixture *f = *state;
    snprintf(f->path, sizeof f->path, "%s/%s", f->dir, name);
    FILE *fp = fopen(f->path, "w");
    assert_non_null(fp);
    assert_int_equal(fwrite(text, 1, strlen(text), fp), strlen(text));
    assert_int_equal(fclose(fp), 0);
    return f->path;
}

/* hx_config_from_args over a mutable copy of argv (getopt permutes it). */
static hx_cli_action run_argv(hx_config *cfg, char *err, size_t errlen, const char *const *args, size_t n)
{
    char *argv[32];
    assert_true(n < sizeof argv / sizeof argv[0]);
    for (size_t i = 0; i < n; i++) argv[i] = (char *)args[i];
    argv[n] = NULL;
    err[0] = '\0';
    return hx_config_from_args(cfg, (int)n, argv, err, errlen);
}

#define RUN(cfg, err, ...)                                                                          \
    run_argv((cfg), (err), sizeof(err), (const char *const[]){"hearthd", __VA_ARGS__},              \
             sizeof((const char *const[]){"hearthd", __VA_ARGS__}) / sizeof(const char *))

/* What a non-dev profile needs to pass validation, as --set flags. */
#define PROD_SETS                                                                                   \
    "--set", "auth.jwks_file=/etc/hearth/jwks.json", "--set", "auth.issuers=https://id.example.org", \
        "--set", "auth.audience=hearth"

#define PROD_FILE_AUTH                                                                              \
    "[auth]\n"                                                                                      \
    "dev = false\n"                                                                                 \
    "jwks_file = /etc/hearth/jwks.json\n"                                                           \
    "issuers = https://id.example.org\n"                                                            \
    "audience = hearth\n"

/* ---- profile defaults ------------------------------------------------------------------- */

typedef struct profile_row {
    hx_profile p;
    const char *name, *host, *data_dir;
    bool auth_dev;
    int max_participants;
    int64_t empty_timeout_s;
    double sig_rate, sig_burst, http_rate, http_burst;
} profile_row;

/* docs/configuration.md, "Profiles". */
static const profile_row profiles[] = {
    {HX_PROFILE_DEV, "dev", "127.0.0.1", "./hearth-data", true, 50, 10, 20, 40, 50, 100},
    {HX_PROFILE_SMALL, "small", "0.0.0.0", "/var/lib/hearth", false, 50, 30, 20, 40, 20, 40},
    {HX_PROFILE_STANDARD, "standard", "0.0.0.0", "/var/lib/hearth", false, 200, 60, 20, 40, 50, 100},
    {HX_PROFILE_LARGE, "large", "0.0.0.0", "/var/lib/hearth", false, 1000, 120, 20, 40, 200, 400},
};

static void test_profile_defaults(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof profiles / sizeof profiles[0]; i++) {
        const profile_row *r = &profiles[i];
        hx_config c;
        hx_profile p;
        memset(&c, 0xa5, sizeof c); /* defaults must not depend on what was there */
        hx_config_defaults(&c, r->p);
        assert_int_equal(hx_profile_parse(r->name, &p), 0);
        assert_int_equal(p, r->p);
        assert_string_equal(hx_profile_name(r->p), r->name);
        assert_int_equal(c.profile, r->p);
        assert_string_equal(c.listen_host, r->host);
        assert_int_equal(c.listen_port, 7880);
        assert_string_equal(c.data_dir, r->data_dir);
        assert_int_equal(c.auth_dev, r->auth_dev);
        assert_int_equal(c.max_participants, r->max_participants);
        assert_int_equal(c.empty_timeout_s, r->empty_timeout_s);
        assert_true(c.sig_rate == r->sig_rate && c.sig_burst == r->sig_burst);
        assert_true(c.http_rate == r->http_rate && c.http_burst == r->http_burst);
        /* Shared by every profile. */
        assert_int_equal(c.log_level, HX_LOG_INFO);
        assert_false(c.log_json);
        assert_int_equal(c.leeway_s, 60);
        assert_int_equal(c.max_lifetime_s, 86400);
        assert_int_equal(c.ticket_ttl_s, 30);
        assert_int_equal(c.max_message_bytes, 65536);
        assert_int_equal(c.join_timeout_ms, 10000);
        assert_int_equal(c.ping_interval_s, 15);
        assert_int_equal(c.max_body_bytes, 16384);
        assert_int_equal(c.n_issuers, 0);
        assert_int_equal(c.n_stun, 0);
        assert_string_equal(c.admin_key, "");
        assert_string_equal(c.jwks_file, "");
        assert_string_equal(c.audience, "");
        assert_string_equal(c.public_url, "");
        assert_string_equal(c.port_file, "");
    }
    hx_profile p = HX_PROFILE_LARGE;
    assert_int_equal(hx_profile_parse("medium", &p), -1);
    assert_int_equal(hx_profile_parse("Dev", &p), -1);
    assert_int_equal(hx_profile_parse("", &p), -1);
    assert_int_equal(p, HX_PROFILE_LARGE);
    assert_string_equal(hx_profile_name((hx_profile)7), "?");
}

/* The value hx_config_print gives `key` (NULL if absent). */
static const char *printed(const char *text, const char *key, char *val, size_t vallen)
{
    size_t kl = strlen(key);
    for (const char *l = text; *l;) {
        const char *nl = strchr(l, '\n');
        size_t len = nl ? (size_t)(nl - l) : strlen(l);
        if (len >= kl + 3 && strncmp(l, key, kl) == 0 && strncmp(l + kl, " = ", 3) == 0) {
            snprintf(val, vallen, "%.*s", (int)(len - kl - 3), l + kl + 3);
            return val;
        }
        l += len + (nl ? 1 : 0);
    }
    return NULL;
}

/* Drop the cell's backticks and surrounding spaces. */
static void trim_cell(char *s)
{
    char *w = s;
    for (const char *r = s; *r; r++)
        if (*r != '`') *w++ = *r;
    *w = '\0';
    size_t n = strlen(s), i = 0;
    while (n && s[n - 1] == ' ') s[--n] = '\0';
    while (s[i] == ' ') i++;
    memmove(s, s + i, n - i + 1);
}

/*
 * Every row of the doc's profile table against hx_config_print of each
 * profile's defaults. A row "`a.x` / `y`" holds "v1 / v2" for a.x and a.y.
 */
static void test_profile_table_matches_doc(void **state)
{
    (void)state;
    char *printed_by[4];
    for (int p = 0; p < 4; p++) {
        hx_config c;
        size_t len;
        hx_config_defaults(&c, (hx_profile)p);
        FILE *m = open_memstream(&printed_by[p], &len);
        assert_non_null(m);
        hx_config_print(&c, m);
        fclose(m);
    }
    FILE *doc = fopen(HX_SOURCE_DIR "/docs/configuration.md", "r");
    assert_non_null(doc);
    char line[512];
    int in_table = 0, rows = 0;
    while (fgets(line, sizeof line, doc)) {
        line[strcspn(line, "\n")] = '\0';
        if (strncmp(line, "## Profiles", 11) == 0) in_table = 1;
        else if (strncmp(line, "## ", 3) == 0) in_table = 0;
        if (!in_table || line[0] != '|' || strstr(line, "| key |") || strstr(line, "| --- |")) continue;
        char *cells[6];
        int nc = 0;
        for (char *s = strtok(line + 1, "|"); s && nc < 6; s = strtok(NULL, "|")) cells[nc++] = s;
        assert_int_equal(nc, 5);
        for (int i = 0; i < nc; i++) trim_cell(cells[i]);
        /* Split "a.x / y" into keys, "v1 / v2" into values. */
        char keys[2][64];
        int nk = 1;
        char *slash = strstr(cells[0], " / ");
        if (slash) {
            *slash = '\0';
            char *dot = strrchr(cells[0], '.');
            snprintf(keys[1], sizeof keys[1], "%.*s%s", dot ? (int)(dot - cells[0] + 1) : 0, cells[0],
                     slash + 3);
            trim_cell(keys[1]);
            nk = 2;
        }
        snprintf(keys[0], sizeof keys[0], "%s", cells[0]);
        trim_cell(keys[0]);
        for (int p = 0; p < 4; p++) {
            char want[2][64];
            snprintf(want[0], sizeof want[0], "%s", cells[1 + p]);
            char *vs = strstr(want[0], " / ");
            if (vs) {
                snprintf(want[1], sizeof want[1], "%s", vs + 3);
                *vs = '\0';
            }
            assert_int_equal(vs ? 2 : 1, nk);
            for (int k = 0; k < nk; k++) {
                char got[128];
                if (!printed(printed_by[p], keys[k], got, sizeof got)) fail_msg("doc key %s is not a configuration key", keys[k]);
                if (!strcmp(want[k], "(none)")) want[k][0] = '\0'; /* an empty list */
                if (strcmp(got, want[k]) != 0)
                    fail_msg("profile %s: %s is %s in the code, %s in docs/configuration.md",
                             hx_profile_name((hx_profile)p), keys[k], got, want[k]);
            }
        }
        rows++;
    }
    fclose(doc);
    for (int p = 0; p < 4; p++) free(printed_by[p]);
    assert_true(rows >= 6);
}

/* ---- the file format -------------------------------------------------------------------- */

static void test_file_sections_comments_trimming(void **state)
{
    const char *path = write_conf(state, "a.conf",
                                  "# a comment line\n"
                                  "\n"
                                  "   # indented comment\n"
                                  "profile = small   # the profile line is read by from_args\n"
                                  "\tlisten\t=\t0.0.0.0:9000\t\r\n"
                                  "public_url = https://h.example.org/x#frag   # a '#' needs a space before it\n"
                                  "data_dir=/srv/hearth#1\n"
                                  "log_level = debug\n"
                                  "log_format = json\n"
                                  "[auth]   # trailing comment on a header\n"
                                  "dev = off\n"
                                  "jwks_file = /etc/hearth/jwks.json\n"
                                  "issuers = https://a.example, https://b.example ,https://c.example,\n"
                                  "audience = hearth.example.org\n"
                                  "leeway_s = 5\n"
                                  "[ rooms ]\n"
                                  "max_participants = 7\n"
                                  "empty_timeout_s = 0\n"
                                  "[signal]\n"
                                  "rate_per_s = 3\n"
                                  "[ice]\n"
                                  "stun = stun:a.example:3478\n"
                                  "[http]\n"
                                  "burst = 9"); /* last line without a newline */
    hx_config c;
    char err[256] = "";
    hx_config_defaults(&c, HX_PROFILE_SMALL);
    if (hx_config_load_file(&c, path, err, sizeof err)) fail_msg("%s", err);
    assert_string_equal(c.listen_host, "0.0.0.0");
    assert_int_equal(c.listen_port, 9000);
    assert_string_equal(c.public_url, "https://h.example.org/x#frag");
    assert_string_equal(c.data_dir, "/srv/hearth#1");
    assert_int_equal(c.log_level, HX_LOG_DEBUG);
    assert_true(c.log_json);
    assert_false(c.auth_dev);
    assert_string_equal(c.jwks_file, "/etc/hearth/jwks.json");
    assert_int_equal(c.n_issuers, 3);
    assert_string_equal(c.issuers[0], "https://a.example");
    assert_string_equal(c.issuers[1], "https://b.example");
    assert_string_equal(c.issuers[2], "https://c.example");
    assert_string_equal(c.audience, "hearth.example.org");
    assert_int_equal(c.leeway_s, 5);
    assert_int_equal(c.max_participants, 7);
    assert_int_equal(c.empty_timeout_s, 0);
    assert_true(c.sig_rate == 3);
    assert_true(c.sig_burst == 40); /* untouched */
    assert_int_equal(c.n_stun, 1);
    assert_string_equal(c.stun[0], "stun:a.example:3478");
    assert_true(c.http_burst == 9);
    assert_true(c.http_rate == 20); /* small's default, not overwritten */
}

static void test_file_lists(void **state)
{
    hx_config c;
    char err[256];
    hx_config_defaults(&c, HX_PROFILE_DEV);
    assert_int_equal(hx_config_set(&c, "auth.issuers", " a ,, b,c  , ", err, sizeof err), 0);
    assert_int_equal(c.n_issuers, 3);
    assert_string_equal(c.issuers[0], "a");
    assert_string_equal(c.issuers[1], "b");
    assert_string_equal(c.issuers[2], "c");
    /* A later value replaces the list, it does not append. */
    assert_int_equal(hx_config_set(&c, "auth.issuers", "z", err, sizeof err), 0);
    assert_int_equal(c.n_issuers, 1);
    assert_string_equal(c.issuers[0], "z");
    assert_int_equal(hx_config_set(&c, "ice.stun", "", err, sizeof err), 0);
    assert_int_equal(c.n_stun, 0);

    /* Exactly HX_CFG_MAX_LIST elements fit; one more is an error. */
    char list[HX_CFG_MAX_LIST * 4 + 8] = "";
    for (int i = 0; i < HX_CFG_MAX_LIST; i++) snprintf(list + strlen(list), sizeof list - strlen(list), "%s%d", i ? "," : "", i);
    assert_int_equal(hx_config_set(&c, "ice.stun", list, err, sizeof err), 0);
    assert_int_equal(c.n_stun, HX_CFG_MAX_LIST);
    assert_string_equal(c.stun[HX_CFG_MAX_LIST - 1], "15");
    strcat(list, ",16");
    assert_int_equal(hx_config_set(&c, "ice.stun", list, err, sizeof err), -1);
    assert_non_null(strstr(err, "ice.stun"));

    /* An element longer than its slot (255 bytes) is an error, 255 fits. */
    char big[300];
    memset(big, 'x', 255);
    big[255] = '\0';
    assert_int_equal(hx_config_set(&c, "auth.issuers", big, err, sizeof err), 0);
    assert_int_equal(strlen(c.issuers[0]), 255);
    memset(big, 'x', 256);
    big[256] = '\0';
    assert_int_equal(hx_config_set(&c, "auth.issuers", big, err, sizeof err), -1);
}

static void test_bool_spellings(void **state)
{
    (void)state;
    static const char *const yes[] = {"true", "TRUE", "True", "1", "yes", "YES", "on", "On"};
    static const char *const no[] = {"false", "FALSE", "0", "no", "No", "off", "OFF"};
    static const char *const bad[] = {"", "2", "tru", "y", "n", "enabled", "true ", "-1"};
    hx_config c;
    char err[256];
    hx_config_defaults(&c, HX_PROFILE_DEV);
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        c.auth_dev = false;
        assert_int_equal(hx_config_set(&c, "auth.dev", yes[i], err, sizeof err), 0);
        assert_true(c.auth_dev);
    }
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
        c.auth_dev = true;
        assert_int_equal(hx_config_set(&c, "auth.dev", no[i], err, sizeof err), 0);
        assert_false(c.auth_dev);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        c.auth_dev = true;
        err[0] = '\0';
        assert_int_equal(hx_config_set(&c, "auth.dev", bad[i], err, sizeof err), -1);
        assert_true(c.auth_dev);
        assert_non_null(strstr(err, "auth.dev"));
    }
}

static void test_set_values_and_ranges(void **state)
{
    (void)state;
    hx_config c;
    char err[256];
    hx_config_defaults(&c, HX_PROFILE_DEV);
    /* Integers: bounds inclusive, junk and out-of-range rejected, value kept on error. */
    assert_int_equal(hx_config_set(&c, "rooms.max_participants", "1", err, sizeof err), 0);
    assert_int_equal(c.max_participants, 1);
    assert_int_equal(hx_config_set(&c, "rooms.max_participants", "100000", err, sizeof err), 0);
    assert_int_equal(c.max_participants, 100000);
    static const char *const bad_ints[] = {"0", "100001", "-5", "12abc", "", "1.5", "99999999999999999999"};
    for (size_t i = 0; i < sizeof bad_ints / sizeof bad_ints[0]; i++) {
        err[0] = '\0';
        assert_int_equal(hx_config_set(&c, "rooms.max_participants", bad_ints[i], err, sizeof err), -1);
        assert_int_equal(c.max_participants, 100000);
        assert_non_null(strstr(err, "rooms.max_participants"));
    }
    assert_int_equal(hx_config_set(&c, "auth.leeway_s", "0", err, sizeof err), 0);
    assert_int_equal(c.leeway_s, 0);
    assert_int_equal(hx_config_set(&c, "auth.leeway_s", "-1", err, sizeof err), -1);
    assert_int_equal(hx_config_set(&c, "auth.leeway_s", "3601", err, sizeof err), -1);
    assert_int_equal(hx_config_set(&c, "auth.max_lifetime_s", "2592000", err, sizeof err), 0);
    assert_int_equal(c.max_lifetime_s, 2592000);
    assert_int_equal(hx_config_set(&c, "auth.ticket_ttl_s", "301", err, sizeof err), -1);
    assert_int_equal(hx_config_set(&c, "signal.max_message_bytes", "1023", err, sizeof err), -1);
    assert_int_equal(hx_config_set(&c, "signal.max_message_bytes", "1048576", err, sizeof err), 0);
    assert_int_equal(c.max_message_bytes, 1048576);
    assert_int_equal(hx_config_set(&c, "signal.join_timeout_ms", "600000", err, sizeof err), 0);
    assert_int_equal(c.join_timeout_ms, 600000);
    assert_int_equal(hx_config_set(&c, "signal.ping_interval_s", "3600", err, sizeof err), 0);
    assert_int_equal(c.ping_interval_s, 3600);
    assert_int_equal(hx_config_set(&c, "http.rate_per_s", "100000", err, sizeof err), 0);
    assert_true(c.http_rate == 100000);
    assert_int_equal(hx_config_set(&c, "http.rate_per_s", "0", err, sizeof err), -1);

    /* Strings: up to the buffer size minus the NUL. */
    char s[HX_CFG_STR + 1];
    memset(s, 'd', HX_CFG_STR - 1);
    s[HX_CFG_STR - 1] = '\0';
    assert_int_equal(hx_config_set(&c, "data_dir", s, err, sizeof err), 0);
    assert_int_equal(strlen(c.data_dir), HX_CFG_STR - 1);
    s[HX_CFG_STR - 1] = 'd';
    s[HX_CFG_STR] = '\0';
    assert_int_equal(hx_config_set(&c, "data_dir", s, err, sizeof err), -1);
    assert_int_equal(strlen(c.data_dir), HX_CFG_STR - 1);

    /* Enumerations. */
    static const char *const levels[] = {"error", "warn", "info", "debug"};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(hx_config_set(&c, "log_level", levels[i], err, sizeof err), 0);
        assert_int_equal(c.log_level, i);
    }
    assert_int_equal(hx_config_set(&c, "log_level", "verbose", err, sizeof err), -1);
    assert_int_equal(hx_config_set(&c, "log_format", "json", err, sizeof err), 0);
    assert_true(c.log_json);
    assert_int_equal(hx_config_set(&c, "log_format", "text", err, sizeof err), 0);
    assert_false(c.log_json);
    assert_int_equal(hx_config_set(&c, "log_format", "xml", err, sizeof err), -1);

    /* Unknown keys name themselves; `profile` is not a settable key. */
    assert_int_equal(hx_config_set(&c, "rooms.max_participant", "5", err, sizeof err), -1);
    assert_non_null(strstr(err, "rooms.max_participant"));
    assert_int_equal(hx_config_set(&c, "profile", "small", err, sizeof err), -1);
    assert_int_equal(hx_config_set(&c, "max_participants", "5", err, sizeof err), -1);
}

/* audit.*: DESIGN §6's defaults in every profile, 0 keeps for ever, days up to a century. */
static void test_audit_retention(void **state)
{
    hx_config c;
    char err[256];
    for (int p = 0; p < 4; p++) {
        hx_config_defaults(&c, (hx_profile)p);
        assert_int_equal(c.retention_session_days, 30);
        assert_int_equal(c.retention_moderation_days, 365);
    }
    assert_int_equal(hx_config_set(&c, "audit.retention_session_days", "0", err, sizeof err), 0);
    assert_int_equal(c.retention_session_days, 0);
    assert_int_equal(hx_config_set(&c, "audit.retention_moderation_days", "36500", err, sizeof err), 0);
    assert_int_equal(c.retention_moderation_days, 36500);
    assert_int_equal(hx_config_set(&c, "audit.retention_moderation_days", "36501", err, sizeof err), -1);
    assert_int_equal(hx_config_set(&c, "audit.retention_session_days", "-1", err, sizeof err), -1);
    assert_non_null(strstr(err, "audit.retention_session_days"));

    const char *path = write_conf(state, "audit.conf",
                                  "[audit]\n"
                                  "retention_session_days = 7\n"
                                  "retention_moderation_days = 0   # keep\n");
    hx_config_defaults(&c, HX_PROFILE_DEV);
    assert_int_equal(hx_config_load_file(&c, path, err, sizeof err), 0);
    assert_int_equal(c.retention_session_days, 7);
    assert_int_equal(c.retention_moderation_days, 0);
}

static void test_listen_forms(void **state)
{
    (void)state;
    static const struct {
        const char *in, *host;
        int port;
    } ok[] = {
        {"127.0.0.1:7880", "127.0.0.1", 7880}, {"0.0.0.0:0", "0.0.0.0", 0},
        {"[::1]:0", "::1", 0},                 {"[::]:7880", "::", 7880},
        {":7880", "0.0.0.0", 7880},             {"localhost:65535", "localhost", 65535},
        {"[fe80::1%lo]:9", "fe80::1%lo", 9},
    };
    static const char *const bad[] = {"127.0.0.1",   "127.0.0.1:",  "127.0.0.1:65536", "127.0.0.1:-1",
                                      "127.0.0.1:x", "[::1]",       "[::1]7880",       "[::1:7880",
                                      ":",           "host:80 junk", ""};
    char err[256];
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        hx_config c;
        hx_config_defaults(&c, HX_PROFILE_DEV);
        if (hx_config_set(&c, "listen", ok[i].in, err, sizeof err)) fail_msg("%s: %s", ok[i].in, err);
        assert_string_equal(c.listen_host, ok[i].host);
        assert_int_equal(c.listen_port, ok[i].port);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        hx_config c;
        hx_config_defaults(&c, HX_PROFILE_DEV);
        if (hx_config_set(&c, "listen", bad[i], err, sizeof err) == 0) fail_msg("accepted listen '%s'", bad[i]);
        assert_string_equal(c.listen_host, "127.0.0.1");
        assert_int_equal(c.listen_port, 7880);
    }
}

static void expect_file_error(void **state, const char *text, int line, const char *what)
{
    const char *path = write_conf(state, "bad.conf", text);
    char want[256], err[256] = "";
    hx_config c;
    hx_config_defaults(&c, HX_PROFILE_DEV);
    assert_int_equal(hx_config_load_file(&c, path, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s:%d: ", path, line);
    if (strncmp(err, want, strlen(want)) != 0) fail_msg("error '%s' does not start with '%s'", err, want);
    if (!strstr(err, what)) fail_msg("error '%s' does not mention '%s'", err, what);
}

static void test_file_errors(void **state)
{
    expect_file_error(state, "listen = :7880\n\n# c\nlisen = :7881\n", 4, "lisen");
    expect_file_error(state, "[auth]\ndev = false\njwks = x\n", 3, "auth.jwks");
    expect_file_error(state, "[rooms]\nmax_participants = lots\n", 2, "rooms.max_participants");
    expect_file_error(state, "[auth\ndev = false\n", 1, "section");
    expect_file_error(state, "\n[]\n", 2, "section");
    expect_file_error(state, "[auth] dev = false\n", 1, "section");
    expect_file_error(state, "[auth]]\n", 1, "section");
    expect_file_error(state, "[auth]\nprofile = small\n", 2, "auth.profile");
    expect_file_error(state, "profile = medium\n", 1, "medium");
    expect_file_error(state, "data_dir /srv\n", 1, "key = value");
    expect_file_error(state, "# x\n = 5\n", 2, "unknown");
    expect_file_error(state, "# x\n#y\n[ice]\nstun = a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q\n", 4, "ice.stun");

    /* A line longer than the reader's buffer is refused, not split in two. */
    char *text = malloc(4096);
    assert_non_null(text);
    int n = snprintf(text, 4096, "log_level = info\ndata_dir = ");
    memset(text + n, 'a', 2000);
    snprintf(text + n + 2000, 4096 - (size_t)n - 2000, "\nlisten = :1\n");
    expect_file_error(state, text, 2, "too long");
    free(text);

    /* A missing file is an error that names it. */
    fixture *f = *state;
    char path[200], err[256] = "";
    hx_config c;
    snprintf(path, sizeof path, "%s/missing.conf", f->dir);
    hx_config_defaults(&c, HX_PROFILE_DEV);
    assert_int_equal(hx_config_load_file(&c, path, err, sizeof err), -1);
    assert_non_null(strstr(err, path));
}

/* hx_config_print's output is itself a valid file giving back the same settings. */
static void test_print_reloads(void **state)
{
    hx_config a, b;
    char err[256];
    hx_config_defaults(&a, HX_PROFILE_STANDARD);
    assert_int_equal(hx_config_set(&a, "listen", "[::1]:9001", err, sizeof err), 0);
    assert_int_equal(hx_config_set(&a, "auth.issuers", "https://a, https://b", err, sizeof err), 0);
    assert_int_equal(hx_config_set(&a, "log_level", "warn", err, sizeof err), 0);
    assert_int_equal(hx_config_set(&a, "log_format", "json", err, sizeof err), 0);
    assert_int_equal(hx_config_set(&a, "ice.stun", "stun:s1:3478,stun:s2:3478", err, sizeof err), 0);
    assert_int_equal(hx_config_set(&a, "rooms.max_participants", "77", err, sizeof err), 0);
    char *text;
    size_t len;
    FILE *m = open_memstream(&text, &len);
    hx_config_print(&a, m);
    fclose(m);
    const char *path = write_conf(state, "printed.conf", text);
    free(text);
    hx_config_defaults(&b, HX_PROFILE_STANDARD);
    if (hx_config_load_file(&b, path, err, sizeof err)) fail_msg("%s", err);
    assert_string_equal(b.listen_host, "::1");
    assert_int_equal(b.listen_port, 9001);
    assert_int_equal(b.n_issuers, 2);
    assert_string_equal(b.issuers[1], "https://b");
    assert_int_equal(b.log_level, HX_LOG_WARN);
    assert_true(b.log_json);
    assert_int_equal(b.n_stun, 2);
    assert_string_equal(b.stun[1], "stun:s2:3478");
    assert_int_equal(b.max_participants, 77);
    assert_true(b.http_rate == a.http_rate && b.sig_burst == a.sig_burst);
    assert_int_equal(b.max_message_bytes, a.max_message_bytes);
    assert_int_equal(b.join_timeout_ms, a.join_timeout_ms);
}

static void test_print_masks_admin_key(void **state)
{
    (void)state;
    hx_config c;
    char err[256], *text;
    size_t len;
    hx_config_defaults(&c, HX_PROFILE_DEV);
    assert_int_equal(hx_config_set(&c, "admin_key", "s3cret-s3cret-s3cret", err, sizeof err), 0);
    FILE *m = open_memstream(&text, &len);
    hx_config_print(&c, m);
    fclose(m);
    assert_null(strstr(text, "s3cret"));
    assert_non_null(strstr(text, "admin_key = (set)\n"));
    free(text);
}

/* ---- the command line ------------------------------------------------------------------- */

static void test_args_none_is_dev(void **state)
{
    (void)state;
    hx_config c;
    char err[256];
    const char *const argv[] = {"hearthd"};
    assert_int_equal(run_argv(&c, err, sizeof err, argv, 1), HX_CLI_RUN);
    assert_int_equal(c.profile, HX_PROFILE_DEV);
    assert_true(c.auth_dev);
    assert_string_equal(c.listen_host, "127.0.0.1");
    assert_int_equal(c.listen_port, 7880);
}

static void test_args_profile_precedence(void **state)
{
    hx_config c;
    char err[256];
    /* The flag alone. */
    assert_int_equal(RUN(&c, err, "--profile", "large", PROD_SETS), HX_CLI_RUN);
    assert_int_equal(c.profile, HX_PROFILE_LARGE);
    assert_int_equal(c.max_participants, 1000);

    /* The file's profile when there is no flag; its defaults apply beneath the file. */
    const char *path = write_conf(state, "p.conf", "profile = standard\n" PROD_FILE_AUTH);
    assert_int_equal(RUN(&c, err, "--config", path), HX_CLI_RUN);
    assert_int_equal(c.profile, HX_PROFILE_STANDARD);
    assert_int_equal(c.max_participants, 200);
    assert_true(c.http_rate == 50);

    /* The flag beats the file, before or after --config. */
    assert_int_equal(RUN(&c, err, "--config", path, "--profile", "small"), HX_CLI_RUN);
    assert_int_equal(c.profile, HX_PROFILE_SMALL);
    assert_int_equal(c.empty_timeout_s, 30);
    assert_int_equal(RUN(&c, err, "--profile=large", "--config", path), HX_CLI_RUN);
    assert_int_equal(c.profile, HX_PROFILE_LARGE);

    /* A file without `profile` means dev. */
    path = write_conf(state, "np.conf", "[rooms]\nmax_participants = 3\n");
    assert_int_equal(RUN(&c, err, "--config", path), HX_CLI_RUN);
    assert_int_equal(c.profile, HX_PROFILE_DEV);
    assert_int_equal(c.max_participants, 3);

    assert_int_equal(RUN(&c, err, "--profile", "huge"), HX_CLI_ERROR);
    assert_non_null(strstr(err, "huge"));
    path = write_conf(state, "bp.conf", "profile = huge\n");
    assert_int_equal(RUN(&c, err, "--config", path), HX_CLI_ERROR);
    assert_non_null(strstr(err, "huge"));
}

static void test_args_file_over_defaults_flags_over_file(void **state)
{
    hx_config c;
    char err[256];
    const char *path = write_conf(state, "o.conf",
                                  "profile = large\n"
                                  "listen = 10.0.0.1:9000\n"
                                  "data_dir = /srv/file\n"
                                  "log_format = text\n" PROD_FILE_AUTH "[rooms]\n"
                                  "max_participants = 7\n"
                                  "[http]\n"
                                  "burst = 11\n");
    assert_int_equal(RUN(&c, err, "--config", path), HX_CLI_RUN);
    assert_int_equal(c.max_participants, 7);       /* file over profile */
    assert_int_equal(c.empty_timeout_s, 120);      /* profile where the file is silent */
    assert_true(c.http_burst == 11 && c.http_rate == 200);
    assert_string_equal(c.listen_host, "10.0.0.1");

    /* Flags over the file, applied in order; the flag may come before --config. */
    assert_int_equal(RUN(&c, err, "--listen", "[::1]:0", "--set", "rooms.max_participants=9", "--config", path,
                         "--data-dir", "/srv/flag", "--log-json", "--set", "http.burst=12", "--set", "http.burst=13",
                         "--port-file", "/tmp/port", "--set", "ice.stun=stun:x:1, stun:y:2"),
                     HX_CLI_RUN);
    assert_string_equal(c.listen_host, "::1");
    assert_int_equal(c.listen_port, 0);
    assert_int_equal(c.max_participants, 9);
    assert_string_equal(c.data_dir, "/srv/flag");
    assert_true(c.log_json);
    assert_true(c.http_burst == 13);
    assert_string_equal(c.port_file, "/tmp/port");
    assert_int_equal(c.n_stun, 2);
    assert_string_equal(c.stun[1], "stun:y:2");

    /* A later --set log_format undoes an earlier --log-json. */
    assert_int_equal(RUN(&c, err, "--config", path, "--log-json", "--set", "log_format=text"), HX_CLI_RUN);
    assert_false(c.log_json);

    assert_int_equal(RUN(&c, err, "--listen", ":7880"), HX_CLI_RUN);
    assert_string_equal(c.listen_host, "0.0.0.0");
    assert_int_equal(c.listen_port, 7880);
    assert_int_equal(RUN(&c, err, "--listen=[::1]:0"), HX_CLI_RUN);
    assert_string_equal(c.listen_host, "::1");
    assert_int_equal(c.listen_port, 0);
}

static void test_args_errors(void **state)
{
    hx_config c;
    char err[256];
    assert_int_equal(RUN(&c, err, "--listen", "127.0.0.1:70000"), HX_CLI_ERROR);
    assert_non_null(strstr(err, "listen"));
    assert_int_equal(RUN(&c, err, "--listen", "127.0.0.1"), HX_CLI_ERROR);
    assert_int_equal(RUN(&c, err, "--bogus"), HX_CLI_ERROR);
    assert_non_null(strstr(err, "--bogus"));
    assert_int_equal(RUN(&c, err, "--listen"), HX_CLI_ERROR); /* missing argument */
    assert_non_null(strstr(err, "--listen"));
    assert_int_equal(RUN(&c, err, "stray"), HX_CLI_ERROR);
    assert_non_null(strstr(err, "stray"));
    assert_int_equal(RUN(&c, err, "--set", "profile=small"), HX_CLI_ERROR);
    assert_non_null(strstr(err, "--profile"));
    assert_int_equal(RUN(&c, err, "--set", "rooms.max_participants"), HX_CLI_ERROR);
    assert_non_null(strstr(err, "SECTION.KEY=VALUE"));
    assert_int_equal(RUN(&c, err, "--set", "=5"), HX_CLI_ERROR);
    assert_int_equal(RUN(&c, err, "--set", "rooms.nope=5"), HX_CLI_ERROR);
    assert_non_null(strstr(err, "rooms.nope"));
    assert_int_equal(RUN(&c, err, "--set", "rooms.max_participants=0"), HX_CLI_ERROR);

    fixture *f = *state;
    char missing[200];
    snprintf(missing, sizeof missing, "%s/none.conf", f->dir);
    assert_int_equal(RUN(&c, err, "--config", missing), HX_CLI_ERROR);
    assert_non_null(strstr(err, missing));

    /* Through the command line too, a file error names FILE:LINE. */
    char want[256];
    const char *path = write_conf(state, "u.conf", "# x\n[rooms]\nmax_particpants = 5\n");
    assert_int_equal(RUN(&c, err, "--config", path), HX_CLI_ERROR);
    snprintf(want, sizeof want, "%s:3: ", path);
    if (strncmp(err, want, strlen(want)) || !strstr(err, "rooms.max_particpants")) fail_msg("error: %s", err);
    path = write_conf(state, "s.conf", "# x\n[rooms\nmax_participants = 5\n");
    assert_int_equal(RUN(&c, err, "--config", path), HX_CLI_ERROR);
    snprintf(want, sizeof want, "%s:2: ", path);
    if (strncmp(err, want, strlen(want)) || !strstr(err, "section")) fail_msg("error: %s", err);
}

static void test_args_exit_and_check(void **state)
{
    (void)state;
    hx_config c;
    char err[256];
    assert_int_equal(RUN(&c, err, "--help"), HX_CLI_EXIT_OK);
    assert_int_equal(RUN(&c, err, "--version"), HX_CLI_EXIT_OK);
    /* --help wins even over an otherwise failing command line. */
    assert_int_equal(RUN(&c, err, "--profile", "small", "--help"), HX_CLI_EXIT_OK);
    assert_int_equal(RUN(&c, err, "--check-config"), HX_CLI_CHECK);
    assert_int_equal(RUN(&c, err, "--check-config", "--profile", "small"), HX_CLI_ERROR);
}

/* getopt keeps state between calls; each call must start afresh. */
static void test_args_repeatable(void **state)
{
    (void)state;
    hx_config c;
    char err[256];
    for (int i = 0; i < 3; i++) {
        assert_int_equal(RUN(&c, err, "--listen", ":1"), HX_CLI_RUN);
        assert_int_equal(c.listen_port, 1);
        /* A refused short-option cluster leaves getopt mid-word... */
        assert_int_equal(RUN(&c, err, "-xy"), HX_CLI_ERROR);
        assert_non_null(strstr(err, "'-x'"));
        /* ...which must not leak into the next parse. */
        assert_int_equal(RUN(&c, err, "--listen", ":3"), HX_CLI_RUN);
        assert_int_equal(c.listen_port, 3);
        assert_int_equal(RUN(&c, err, "--bogus", "--listen", ":2"), HX_CLI_ERROR);
        assert_int_equal(RUN(&c, err, "--listen", ":4", "--check-config"), HX_CLI_CHECK);
        assert_int_equal(c.listen_port, 4);
    }
}

/* ---- validation ------------------------------------------------------------------------- */

static void test_validate_non_dev(void **state)
{
    hx_config c;
    char err[256];
    /* dev auth in a production profile, from the file: refused, naming auth.dev. */
    const char *path = write_conf(state, "v.conf",
                                  "profile = small\n"
                                  "[auth]\n"
                                  "dev = true\n"
                                  "jwks_file = /j\n"
                                  "issuers = https://i\n"
                                  "audience = a\n");
    assert_int_equal(RUN(&c, err, "--config", path), HX_CLI_ERROR);
    assert_non_null(strstr(err, "auth.dev"));
    /* ...and from a flag. */
    assert_int_equal(RUN(&c, err, "--profile", "large", PROD_SETS, "--set", "auth.dev=yes"), HX_CLI_ERROR);
    assert_non_null(strstr(err, "auth.dev"));
    /* dev auth in dev is fine; turning it off in dev too. */
    assert_int_equal(RUN(&c, err, "--set", "auth.dev=false"), HX_CLI_RUN);

    /* Each of jwks_file, issuers, audience is required outside dev. */
    for (int p = HX_PROFILE_SMALL; p <= HX_PROFILE_LARGE; p++) {
        const char *name = hx_profile_name((hx_profile)p);
        assert_int_equal(RUN(&c, err, "--profile", name), HX_CLI_ERROR);
        assert_non_null(strstr(err, "auth.jwks_file"));
        assert_int_equal(RUN(&c, err, "--profile", name, "--set", "auth.issuers=https://i", "--set", "auth.audience=a"),
                         HX_CLI_ERROR);
        assert_non_null(strstr(err, "auth.jwks_file"));
        assert_int_equal(RUN(&c, err, "--profile", name, "--set", "auth.jwks_file=/j", "--set", "auth.audience=a"),
                         HX_CLI_ERROR);
        assert_non_null(strstr(err, "auth.issuers"));
        assert_int_equal(RUN(&c, err, "--profile", name, "--set", "auth.jwks_file=/j", "--set", "auth.issuers=https://i"),
                         HX_CLI_ERROR);
        assert_non_null(strstr(err, "auth.audience"));
        assert_int_equal(RUN(&c, err, "--profile", name, "--set", "auth.jwks_file=/j", "--set", "auth.issuers= , ",
                             "--set", "auth.audience=a"),
                         HX_CLI_ERROR);
        assert_int_equal(RUN(&c, err, "--profile", name, PROD_SETS), HX_CLI_RUN);
        assert_int_equal(c.profile, p);
    }
}

static void test_validate_admin_key_and_data_dir(void **state)
{
    (void)state;
    hx_config c;
    char err[256];
    assert_int_equal(RUN(&c, err, "--set", "admin_key=short"), HX_CLI_ERROR);
    assert_non_null(strstr(err, "admin_key"));
    assert_int_equal(RUN(&c, err, "--set", "admin_key=0123456789abcde"), HX_CLI_ERROR); /* 15 */
    assert_int_equal(RUN(&c, err, "--set", "admin_key=0123456789abcdef"), HX_CLI_RUN);  /* 16 */
    assert_string_equal(c.admin_key, "0123456789abcdef");
    assert_int_equal(RUN(&c, err, "--set", "data_dir="), HX_CLI_ERROR);
    assert_non_null(strstr(err, "data_dir"));

    hx_config_defaults(&c, HX_PROFILE_DEV);
    assert_int_equal(hx_config_validate(&c, err, sizeof err), 0);
    c.admin_key[0] = 'k';
    c.admin_key[1] = '\0';
    assert_int_equal(hx_config_validate(&c, err, sizeof err), -1);
}

static void test_store_backend(void **state)
{
    (void)state;
    hx_config c;
    char err[256], *text;
    size_t len;
    for (int p = HX_PROFILE_DEV; p <= HX_PROFILE_LARGE; p++) {
        hx_config_defaults(&c, (hx_profile)p);
        assert_string_equal(c.store_backend, "sqlite"); /* every profile */
        assert_string_equal(c.postgres_url, "");
    }
    assert_int_equal(RUN(&c, err, "--set", "store.backend=postgres"), HX_CLI_ERROR);
    assert_non_null(strstr(err, "store.postgres_url"));
    assert_int_equal(RUN(&c, err, "--set", "store.backend=mysql"), HX_CLI_ERROR);
    assert_non_null(strstr(err, "store.backend must be sqlite or postgres"));
    assert_int_equal(RUN(&c, err, "--set", "store.backend=postgres", "--set",
                         "store.postgres_url=postgresql://hearth:pw-s3cret@db/hearth"),
                     HX_CLI_RUN);
    assert_string_equal(c.postgres_url, "postgresql://hearth:pw-s3cret@db/hearth");
    /* The URL may hold a password: masked when printed, as admin_key is. */
    FILE *m = open_memstream(&text, &len);
    hx_config_print(&c, m);
    fclose(m);
    assert_null(strstr(text, "s3cret"));
    assert_non_null(strstr(text, "store.backend = postgres\n"));
    assert_non_null(strstr(text, "store.postgres_url = (set)\n"));
    free(text);
}

/* media.workers and media.isolation: one worker per core by default, as processes when more
 * than one (usrsctp's one stack per process), in hearthd's process on one core; lease_ms's
 * range. */
static void test_media_workers(void **state)
{
    (void)state;
    hx_config c;
    char err[256];
    bool process = false;
    hx_config_defaults(&c, HX_PROFILE_DEV);
    assert_int_equal(c.media_workers, 0);
    assert_string_equal(c.media_isolation, "auto");
    assert_int_equal(hx_config_media_workers(&c, 2, &process), 2);
    assert_true(process);
    assert_int_equal(hx_config_media_workers(&c, 1, &process), 1);
    assert_false(process);
    assert_int_equal(hx_config_media_workers(&c, 64, &process), 16);
    assert_int_equal(RUN(&c, err, "--set", "media.workers=2"), HX_CLI_RUN); /* auto: processes */
    assert_int_equal(hx_config_media_workers(&c, 1, &process), 2);
    assert_true(process);
    assert_int_equal(RUN(&c, err, "--set", "media.workers=1"), HX_CLI_RUN);
    assert_int_equal(hx_config_media_workers(&c, 8, &process), 1);
    assert_false(process);
    assert_int_equal(RUN(&c, err, "--set", "media.workers=2", "--set", "media.isolation=thread"),
                     HX_CLI_ERROR);
    assert_non_null(strstr(err, "media.isolation = process"));
    assert_int_equal(RUN(&c, err, "--set", "media.isolation=thread"), HX_CLI_ERROR); /* 0: many */
    assert_int_equal(RUN(&c, err, "--set", "media.workers=2", "--set", "media.isolation=process"),
                     HX_CLI_RUN);
    assert_int_equal(c.media_workers, 2);
    assert_int_equal(RUN(&c, err, "--set", "media.isolation=fork"), HX_CLI_ERROR);
    assert_non_null(strstr(err, "auto, thread or process"));
    assert_int_equal(RUN(&c, err, "--set", "media.workers=17", "--set", "media.isolation=process"),
                     HX_CLI_ERROR);
    assert_int_equal(RUN(&c, err, "--set", "cluster.lease_ms=500"), HX_CLI_ERROR);
    assert_int_equal(RUN(&c, err, "--set", "cluster.lease_ms=2000"), HX_CLI_RUN);
    assert_int_equal(c.cluster_lease_ms, 2000);
}

/* media.speaker_*: the detector's defaults, its own check's ranges and text (adapt/speaker.h),
 * a real number for the smoothing, passed on whole by hx_config_speaker. */
static void test_media_speaker(void **state)
{
    (void)state;
    hx_config c;
    hx_speaker_config want, got;
    char err[256], *text;
    size_t len;
    hx_speaker_config_default(&want);
    for (int p = HX_PROFILE_DEV; p <= HX_PROFILE_LARGE; p++) {
        hx_config_defaults(&c, (hx_profile)p);
        hx_config_speaker(&c, &got);
        assert_int_equal(got.interval_ms, want.interval_ms);
        assert_int_equal(got.threshold, want.threshold);
        assert_true(got.smoothing == want.smoothing && got.active_bar == want.active_bar);
        assert_int_equal(got.packet_ms, want.packet_ms);
        assert_int_equal(got.max_sources, want.max_sources);
        assert_true(got.use_voice_flag == want.use_voice_flag);
        assert_true(c.adaptive); /* downlink estimates cap layers in every profile */
    }
    assert_int_equal(RUN(&c, err, "--set", "media.adaptive=false"), HX_CLI_RUN);
    assert_false(c.adaptive);
    assert_int_equal(RUN(&c, err, "--set", "media.speaker_interval_ms=250", "--set",
                         "media.speaker_threshold=0", "--set", "media.speaker_smoothing=0.25"),
                     HX_CLI_RUN);
    hx_config_speaker(&c, &got);
    assert_int_equal(got.interval_ms, 250);
    assert_int_equal(got.threshold, 0);
    assert_true(got.smoothing == 0.25);
    assert_true(got.active_bar == want.active_bar && got.packet_ms == want.packet_ms);
    assert_int_equal(RUN(&c, err, "--set", "media.speaker_threshold=126", "--set",
                         "media.speaker_smoothing=1", "--set", "media.speaker_interval_ms=10000"),
                     HX_CLI_RUN);

    /* Out of range: refused with the detector's words, under the key's name. */
    static const struct {
        const char *set, *why;
    } bad[] = {
        {"media.speaker_interval_ms=99", "media.speaker_interval_ms must be 100..10000"},
        {"media.speaker_interval_ms=10001", "media.speaker_interval_ms must be 100..10000"},
        {"media.speaker_interval_ms=-5", "media.speaker_interval_ms must be 100..10000"},
        {"media.speaker_threshold=127", "media.speaker_threshold must be 0..126 (-dBov)"},
        {"media.speaker_threshold=-1", "media.speaker_threshold must be 0..126 (-dBov)"},
        {"media.speaker_smoothing=0", "media.speaker_smoothing must be in (0, 1]"},
        {"media.speaker_smoothing=1.01", "media.speaker_smoothing must be in (0, 1]"},
        {"media.speaker_smoothing=nan", "media.speaker_smoothing must be in (0, 1]"},
        {"media.speaker_smoothing=-inf", "media.speaker_smoothing must be in (0, 1]"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(RUN(&c, err, "--set", bad[i].set), HX_CLI_ERROR);
        if (strcmp(err, bad[i].why) != 0) fail_msg("%s: '%s', not '%s'", bad[i].set, err, bad[i].why);
    }
    /* Not a number at all: the parser's words. */
    hx_config_defaults(&c, HX_PROFILE_DEV);
    static const char *const junk[] = {"", "0.5x", "half", "1e"};
    for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++) {
        assert_int_equal(hx_config_set(&c, "media.speaker_smoothing", junk[i], err, sizeof err), -1);
        assert_non_null(strstr(err, "is not a number"));
        assert_true(c.speaker_smoothing == want.smoothing);
    }
    assert_int_equal(hx_config_set(&c, "media.speaker_threshold", "4.5", err, sizeof err), -1);
    assert_string_equal(err, "media.speaker_threshold: '4.5' is not an integer");
    assert_int_equal(hx_config_set(&c, "media.speaker_interval_ms", "9999999999", err, sizeof err), -1);

    /* Printed, and read back the same. */
    assert_int_equal(hx_config_set(&c, "media.speaker_smoothing", "0.3", err, sizeof err), 0);
    FILE *m = open_memstream(&text, &len);
    hx_config_print(&c, m);
    fclose(m);
    assert_non_null(strstr(text, "media.speaker_interval_ms = 500\n"));
    assert_non_null(strstr(text, "media.speaker_threshold = 50\n"));
    assert_non_null(strstr(text, "media.speaker_smoothing = 0.3\n"));
    const char *path = write_conf(state, "speaker.conf", text);
    free(text);
    hx_config b;
    hx_config_defaults(&b, HX_PROFILE_DEV);
    if (hx_config_load_file(&b, path, err, sizeof err)) fail_msg("%s", err);
    assert_true(b.speaker_smoothing == 0.3);
    assert_int_equal(hx_config_validate(&b, err, sizeof err), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_profile_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_profile_table_matches_doc, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_sections_comments_trimming, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_lists, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bool_spellings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_values_and_ranges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit_retention, setup, teardown),
        cmocka_unit_test_setup_teardown(test_listen_forms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_print_reloads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_print_masks_admin_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_args_none_is_dev, setup, teardown),
        cmocka_unit_test_setup_teardown(test_args_profile_precedence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_args_file_over_defaults_flags_over_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_args_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_args_exit_and_check, setup, teardown),
        cmocka_unit_test_setup_teardown(test_args_repeatable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_validate_non_dev, setup, teardown),
        cmocka_unit_test_setup_teardown(test_validate_admin_key_and_data_dir, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_backend, setup, teardown),
        cmocka_unit_test_setup_teardown(test_media_speaker, setup, teardown),
        cmocka_unit_test_setup_teardown(test_media_workers, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
