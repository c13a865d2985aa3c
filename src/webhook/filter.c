/*
 * Which audit kinds become webhooks (webhook.events). The default is what
 * the platform acts on: rooms, participants, tracks, moderation and votes.
 * Refusals (auth.failure), ticket hand-outs (ticket.issue, one per ticket),
 * verbose signaling and revocations stay in the audit trail only unless
 * named. A pattern is a kind or a prefix ending in '*'; "*" takes all.
 */
#include "webhook/webhook.h"

#include <string.h>

static const char *const defaults[] = {
    "room.*",        "session.join", "session.leave", "session.resume",
    "session.moved", "track.*",      "moderation.*",  "vote.*",
};

static int check(const char *p, const char **why)
{
    size_t len = strnlen(p, HX_WH_PATTERN_LEN);
    if (!len) {
        *why = "webhook.events: an empty pattern";
        return -1;
    }
    if (len >= HX_WH_PATTERN_LEN) {
        *why = "webhook.events: a pattern longer than 63 characters";
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        char c = p[i];
        if (c == '*' && i == len - 1) break;
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-')) {
            *why = "webhook.events: a pattern is a kind (a-z, 0-9, '.', '_', '-') or a prefix "
                   "ending in '*'";
            return -1;
        }
    }
    return 0;
}

int hx_wh_filter_parse(hx_wh_filter *f, const char (*pats)[HX_WH_PATTERN_LEN], size_t n,
                       const char **why)
{
    memset(f, 0, sizeof *f);
    *why = NULL;
    if (n > HX_WH_MAX_PATTERNS) {
        *why = "webhook.events: at most 16 patterns";
        return -1;
    }
    if (!n) {
        for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++)
            memcpy(f->pat[f->n++], defaults[i], strlen(defaults[i]) + 1);
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (check(pats[i], why)) return -1;
        memcpy(f->pat[f->n++], pats[i], strlen(pats[i]) + 1);
    }
    return 0;
}

bool hx_wh_filter_match(const hx_wh_filter *f, const char *kind)
{
    if (!kind) return false;
    for (size_t i = 0; i < f->n; i++) {
        const char *p = f->pat[i];
        size_t len = strlen(p);
        if (len && p[len - 1] == '*') {
            if (!strncmp(kind, p, len - 1)) return true;
        } else if (!strcmp(kind, p)) {
            return true;
        }
    }
    return false;
}
