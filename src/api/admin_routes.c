/*
 * The admin API's routes (docs/admin-api.md), as one table: hx_api_admin
 * answers only what is listed here (anything else is 404 or 405 before a
 * handler runs), so this list is the truth about what /v1/admin/ serves.
 * hearthctl's coverage test reads it (tests/integration/test_hearthctl_cli.py):
 * every route must have a hearthctl command. A `{room}` segment matches one
 * non-empty path segment.
 */
#include "api/api.h"

#include <stdio.h>
#include <string.h>

// clang-format off
const hx_admin_route hx_admin_routes[] = {
    {"GET",    "rooms"},
    {"GET",    "rooms/{room}/participants"},
    {"GET",    "rooms/{room}/policy"},
    {"POST",   "rooms/{room}/policy"},
    {"DELETE", "rooms/{room}/policy"},
    {"POST",   "rooms/{room}/close"},
    {"POST",   "join-tickets"},
    {"GET",    "revocations"},
    {"POST",   "revocations"},
    {"POST",   "unrevoke"},
    {"GET",    "events"},
    {"GET",    "audit/verify"},
    {"GET",    "nodes"},
    {"POST",   "drain"},
    {"POST",   "keys/reload"},
    {"POST",   "moderation"},
    {"GET",    "moderation/sanctions"},
    {"GET",    "moderation/votes"},
};
// clang-format on
const size_t hx_admin_n_routes = sizeof hx_admin_routes / sizeof hx_admin_routes[0];

/* Does path (below /v1/admin/) fit pattern? */
static bool fits(const char *pattern, const char *path)
{
    while (*pattern) {
        if (!strncmp(pattern, "{room}", 6)) {
            size_t n = strcspn(path, "/");
            if (n == 0) return false;
            pattern += 6;
            path += n;
        } else if (*pattern++ != *path++) {
            return false;
        }
    }
    return *path == '\0';
}

static const char *method_name(hx_http_method m)
{
    switch (m) {
    case HX_HTTP_GET:
        return "GET";
    case HX_HTTP_POST:
        return "POST";
    case HX_HTTP_DELETE:
        return "DELETE";
    default:
        return "";
    }
}

int hx_api_admin_route(const char *sub, hx_http_method method, char *allowed, size_t len)
{
    const char *m = method_name(method);
    size_t o = 0;
    allowed[0] = '\0';
    for (size_t i = 0; i < hx_admin_n_routes; i++) {
        if (!fits(hx_admin_routes[i].path, sub)) continue;
        if (!strcmp(hx_admin_routes[i].method, m)) return 0;
        int n = snprintf(allowed + o, len - o, "%s%s", o ? " or " : "", hx_admin_routes[i].method);
        if (n > 0 && (size_t)n < len - o) o += (size_t)n;
    }
    return o ? -2 : -1;
}
