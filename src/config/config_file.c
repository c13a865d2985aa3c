/*
 * The configuration file: `key = value` lines under optional `[section]`
 * headers, `#` comments (a `#` after whitespace starts a comment), values
 * trimmed. The key inside a section becomes `section.key`. The special
 * top-level key `profile` is read by hx_config_from_args before defaults are
 * applied; here it is accepted and otherwise skipped.
 */
#include "config/config.h"

#include <ctype.h>
#include <string.h>

static char *trim(char *s)
{
    while (isspace((unsigned char)*s)) s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1])) *--e = '\0';
    return s;
}

static void strip_comment(char *s)
{
    for (char *p = s; *p; p++)
        if (*p == '#' && (p == s || isspace((unsigned char)p[-1]))) {
            *p = '\0';
            return;
        }
}

int hx_config_scan_profile(const char *path, char *out, size_t outlen, char *err, size_t errlen);

/* Walk the file, calling fn for each key. Shared by the loader and the profile scan. */
static int walk(const char *path, int (*fn)(void *, const char *, const char *, char *, size_t),
                void *arg, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open: %m", path);
        return -1;
    }
    char line[1024], section[64] = "", key[160], msg[256];
    int lineno = 0, rc = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        if (!strchr(line, '\n') && !feof(f)) {
            snprintf(err, errlen, "%s:%d: line too long", path, lineno);
            rc = -1;
            break;
        }
        strip_comment(line);
        char *s = trim(line);
        if (!*s) continue;
        if (*s == '[') {
            char *e = strchr(s, ']');
            if (!e || e[1] || (size_t)(e - s - 1) >= sizeof section || e == s + 1) {
                snprintf(err, errlen, "%s:%d: bad section header", path, lineno);
                rc = -1;
                break;
            }
            *e = '\0';
            snprintf(section, sizeof section, "%s", trim(s + 1));
            continue;
        }
        char *eq = strchr(s, '=');
        if (!eq) {
            snprintf(err, errlen, "%s:%d: expected key = value", path, lineno);
            rc = -1;
            break;
        }
        *eq = '\0';
        char *k = trim(s), *v = trim(eq + 1);
        if (section[0])
            snprintf(key, sizeof key, "%s.%s", section, k);
        else
            snprintf(key, sizeof key, "%s", k);
        if (fn(arg, key, v, msg, sizeof msg)) {
            snprintf(err, errlen, "%s:%d: %s", path, lineno, msg);
            rc = -1;
            break;
        }
    }
    fclose(f);
    return rc;
}

static int set_entry(void *arg, const char *key, const char *v, char *err, size_t errlen)
{
    if (strcmp(key, "profile") == 0) {
        hx_profile p;
        if (hx_profile_parse(v, &p)) {
            snprintf(err, errlen, "unknown profile '%s'", v);
            return -1;
        }
        return 0;
    }
    return hx_config_set(arg, key, v, err, errlen);
}

int hx_config_load_file(hx_config *cfg, const char *path, char *err, size_t errlen)
{
    return walk(path, set_entry, cfg, err, errlen);
}

struct scan {
    char *out;
    size_t outlen;
};

static int scan_entry(void *arg, const char *key, const char *v, char *err, size_t errlen)
{
    struct scan *sc = arg;
    if (strcmp(key, "profile") == 0) snprintf(sc->out, sc->outlen, "%s", v);
    return 0;
}

/** The file's top-level `profile`, or "" if it names none. -1 with "FILE:LINE: why" in err. */
int hx_config_scan_profile(const char *path, char *out, size_t outlen, char *err, size_t errlen)
{
    struct scan sc = {out, outlen};
    out[0] = '\0';
    return walk(path, scan_entry, &sc, err, errlen);
}
