/*
 * Structured logging. A log line is an event name plus key/value string
 * pairs; the sink writes either human text or one JSON object per line
 * (`--log-json`), so operators can feed it to their log pipeline.
 *
 *   hx_log(lg, HX_LOG_INFO, "session.join", "room", room, "user", user, NULL);
 *
 * The logger is a small value owned by the daemon context: no globals.
 */
#ifndef HX_COMMON_LOG_H
#define HX_COMMON_LOG_H

#include <stdio.h>

typedef enum hx_log_level {
    HX_LOG_ERROR = 0,
    HX_LOG_WARN = 1,
    HX_LOG_INFO = 2,
    HX_LOG_DEBUG = 3,
} hx_log_level;

typedef struct hx_logger {
    FILE *out;
    hx_log_level level;
    int json;
} hx_logger;

/** Log an event with NULL-terminated key, value string pairs (a NULL value is skipped). */
void hx_log(const hx_logger *lg, hx_log_level level, const char *event, ...)
    __attribute__((sentinel));

/** Parse "error|warn|info|debug"; -1 if unknown. */
int hx_log_level_parse(const char *s);

#endif
