/*
 * Webhooks: signed HTTP POSTs to the community platform for room,
 * participant, track and moderation events (docs/webhooks.md).
 *
 * The source is the audit trail itself. Every event hearthd audits is
 * already durable and numbered (the store's event id), so the webhook reads
 * the store after a cursor, in id order, and keeps only the cursor in the
 * store's state table ("webhook", "cursor"). Nothing is queued that the
 * store does not hold: the in-memory queue is a bounded window over the
 * trail, a restart (even kill -9) reads again from the cursor, and delivery
 * is at least once, in id order, one POST at a time.
 *
 * This header is what the rest of hearthd needs: the parsers of the
 * webhook.url and webhook.events values (config/config.c validates with
 * them, as it does with the speaker detector's check) and the start and
 * stop the daemon calls. The parts live beside it, each without
 * sockets where it can be (webhook_internal.h).
 */
#ifndef HX_WEBHOOK_WEBHOOK_H
#define HX_WEBHOOK_WEBHOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HX_WH_MAX_PATTERNS 16
#define HX_WH_PATTERN_LEN 64

/** Which audit kinds are posted: exact kinds, or prefixes written "moderation.*"; "*" = all. */
typedef struct hx_wh_filter {
    size_t n;
    char pat[HX_WH_MAX_PATTERNS][HX_WH_PATTERN_LEN];
} hx_wh_filter;

/** A webhook URL's parts, as hx_wh_url_parse found them. */
typedef struct hx_wh_url {
    bool https;
    char host[256]; /* without the brackets of an IPv6 literal */
    int port;       /* the explicit port, or 80 / 443 */
} hx_wh_url;

/** Parse an http:// or https:// URL: host (name, IPv4 or [IPv6]), optional port 1..65535, a
 *  path; no user:password@, no fragment, no spaces or control characters. 0, or -1 with *why
 *  a static description. */
int hx_wh_url_parse(const char *url, hx_wh_url *out, const char **why);

/** Fill f from a list of patterns (none: the default set, docs/webhooks.md). A pattern is
 *  [a-z0-9._-]+ with an optional trailing '*', or "*". 0, or -1 with *why. */
int hx_wh_filter_parse(hx_wh_filter *f, const char (*pats)[HX_WH_PATTERN_LEN], size_t n,
                       const char **why);

/** Whether an audit record of this kind is posted. */
bool hx_wh_filter_match(const hx_wh_filter *f, const char *kind);

typedef struct hx_webhook hx_webhook;
struct hx_server;

/** Start delivering on s's loop when webhook.url is set (*out NULL otherwise). Reads the cursor
 *  from the store. 0, or -1 with err. */
int hx_webhook_start(struct hx_server *s, hx_webhook **out, char *err, size_t errlen);
/** Stop: the cursor written once more, the request in flight abandoned (it is sent again at
 *  the next start), the handles closed; w frees itself once they are. NULL is a no-op. */
void hx_webhook_stop(hx_webhook *w);

#endif
