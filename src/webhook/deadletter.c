/*
 * The dead-letter log: events that could not be delivered (too many failed
 * attempts, or failed past the age limit), one JSON line each, appended to
 * <data_dir>/webhook-dead-letters.jsonl and synced before the cursor passes
 * them, so an event is in the receiver, in this file, or still ahead of the
 * cursor. A file, not a store table: an operator reads it, replays it with any
 * HTTP client, and truncates it; it is bounded (webhook.dead_letter_max_mb),
 * and past the bound an event is logged and counted but not written.
 */
#include "webhook/webhook_internal.h"

#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int hx__wh_deadletter(const char *path, int64_t max_bytes, const hx_wh_item *it, const char *error,
                      int64_t now_ms)
{
    json_t *body = json_loadb(it->body, it->len, 0, NULL);
    json_t *o =
        json_pack("{s:I, s:s, s:I, s:s, s:I, s:o}", "id", (json_int_t)it->id, "event", it->kind,
                  "failures", (json_int_t)it->failures, "error", error ? error : "", "dead_at_ms",
                  (json_int_t)now_ms, "body", body ? body : json_null());
    char *line = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    if (!line) return -1;
    int rc = -1;
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    struct stat st;
    size_t len = strlen(line);
    if (fd < 0 || fstat(fd, &st)) goto done;
    if (st.st_size + (int64_t)len + 1 > max_bytes) {
        rc = -2;
        goto done;
    }
    line[len] = '\n'; /* the NUL replaced: written with its length */
    if (write(fd, line, len + 1) == (ssize_t)(len + 1) && fsync(fd) == 0) rc = 0;
done:
    if (fd >= 0) close(fd);
    free(line);
    return rc;
}
