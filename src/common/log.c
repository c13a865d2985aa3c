/*
 * Log sink: text ("2026-11-25T06:00:00.123Z info session.join room=lobby")
 * or JSON lines ({"ts":"...","level":"info","event":"session.join",
 * "room":"lobby"}). Values are escaped by jansson's rules in JSON mode; in
 * text mode they are quoted, with escapes, when they contain spaces, quotes,
 * '=', backslashes or control characters, so every event stays one line.
 * Text lines are cut at 2 KiB. One fwrite per line so lines from one
 * process never interleave.
 */
#include "common/log.h"

#include <jansson.h>
#include <stdarg.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

static const char *const level_names[] = {"error", "warn", "info", "debug"};

int hx_log_level_parse(const char *s)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(s, level_names[i]) == 0) return i;
    return -1;
}

static void format_ts(char *buf, size_t len)
{
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, len - n, ".%03dZ", (int)(tv.tv_usec / 1000));
}

static void log_json(const hx_logger *lg, const char *ts, hx_log_level level, const char *event,
                     va_list ap)
{
    json_t *o = json_object();
    json_object_set_new(o, "ts", json_string(ts));
    json_object_set_new(o, "level", json_string(level_names[level]));
    json_object_set_new(o, "event", json_string(event));
    for (;;) {
        const char *k = va_arg(ap, const char *);
        if (!k) break;
        const char *v = va_arg(ap, const char *);
        if (v) json_object_set_new(o, k, json_string(v));
    }
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (!s) return;
    size_t n = strlen(s);
    s[n] = '\n';
    fwrite(s, 1, n + 1, lg->out);
    s[n] = '\0';
    free(s);
    fflush(lg->out);
}

/* Append len bytes of s at n, keeping n <= cap. */
static size_t put(char *line, size_t cap, size_t n, const char *s, size_t len)
{
    if (len > cap - n) len = cap - n;
    memcpy(line + n, s, len);
    return n + len;
}

/*
 * Append " k=v". The value is quoted when it holds a space, a quote, a
 * backslash, '=' or a control character, and inside the quotes those are
 * escaped: a value (a peer's error text, a file name) must not be able to
 * end the line and forge another, nor close its quotes and forge a key.
 */
static size_t put_kv(char *line, size_t cap, size_t n, const char *k, const char *v)
{
    int quote = 0;
    for (const unsigned char *p = (const unsigned char *)v; *p && !quote; p++)
        quote = *p <= ' ' || *p == 0x7f || *p == '"' || *p == '\\' || *p == '=';
    n = put(line, cap, n, " ", 1);
    n = put(line, cap, n, k, strlen(k));
    n = put(line, cap, n, quote ? "=\"" : "=", quote ? 2 : 1);
    if (!quote) return put(line, cap, n, v, strlen(v));
    for (const unsigned char *p = (const unsigned char *)v; *p && n < cap; p++) {
        char esc[8];
        size_t len = 2;
        esc[0] = '\\';
        switch (*p) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default:
            if (*p < ' ' || *p == 0x7f) {
                len = (size_t)snprintf(esc, sizeof esc, "\\x%02x", *p);
            } else {
                esc[0] = (char)*p;
                len = 1;
            }
        }
        n = put(line, cap, n, esc, len);
    }
    return put(line, cap, n, "\"", 1);
}

static void log_text(const hx_logger *lg, const char *ts, hx_log_level level, const char *event,
                     va_list ap)
{
    char line[2048];
    const size_t cap = sizeof line - 1; /* room for the '\n' */
    int w = snprintf(line, sizeof line, "%s %s %s", ts, level_names[level], event);
    if (w < 0) return;
    size_t n = (size_t)w < cap ? (size_t)w : cap;
    for (;;) {
        const char *k = va_arg(ap, const char *);
        if (!k) break;
        const char *v = va_arg(ap, const char *);
        if (v) n = put_kv(line, cap, n, k, v);
    }
    line[n++] = '\n';
    fwrite(line, 1, n, lg->out);
    fflush(lg->out);
}

void hx_log(const hx_logger *lg, hx_log_level level, const char *event, ...)
{
    if (!lg || level > lg->level || !lg->out) return;
    char ts[40];
    format_ts(ts, sizeof ts);
    va_list ap;
    va_start(ap, event);
    if (lg->json)
        log_json(lg, ts, level, event, ap);
    else
        log_text(lg, ts, level, event, ap);
    va_end(ap);
}
