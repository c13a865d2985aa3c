/*
 * Log sink: text ("2026-11-25T06:00:00.123Z info session.join room=lobby")
 * or JSON lines ({"ts":"...","level":"info","event":"session.join",
 * "room":"lobby"}). Values are escaped by jansson's rules in JSON mode and
 * quoted in text mode when they contain spaces. One fwrite per line so lines
 * from one process never interleave.
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

static void log_text(const hx_logger *lg, const char *ts, hx_log_level level, const char *event,
                     va_list ap)
{
    char line[2048];
    int n = snprintf(line, sizeof line, "%s %s %s", ts, level_names[level], event);
    for (;;) {
        const char *k = va_arg(ap, const char *);
        if (!k) break;
        const char *v = va_arg(ap, const char *);
        if (!v || n < 0 || (size_t)n >= sizeof line) continue;
        const char *q = strpbrk(v, " \t\"") ? "\"" : "";
        n += snprintf(line + n, sizeof line - (size_t)n, " %s=%s%s%s", k, q, v, q);
    }
    if (n < 0) return;
    if ((size_t)n >= sizeof line - 1) n = (int)sizeof line - 2;
    line[n++] = '\n';
    fwrite(line, 1, (size_t)n, lg->out);
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
