/*
 * Room placement (placement.h). The weight is rendezvous (highest random
 * weight) hashing: adding or removing a node moves only the rooms that
 * node wins, and every node computes the same answer without talking.
 */
#include "cluster/placement.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

uint64_t hx_place_weight(const char *room, const char *node)
{
    uint64_t h = 14695981039346656037ull;
    for (const char *p = room; *p; p++)
        h = (h ^ (uint8_t)*p) * 1099511628211ull;
    h = (h ^ 0xff) * 1099511628211ull; /* a separator no identifier contains */
    for (const char *p = node; *p; p++)
        h = (h ^ (uint8_t)*p) * 1099511628211ull;
    /* FNV's low bits mix poorly over short inputs: finish with splitmix64's mixer. */
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebull;
    return h ^ (h >> 31);
}

int hx_place_room(const char *room, const hx_node_view *nodes, size_t n)
{
    int best = -1;
    uint64_t best_w = 0;
    for (size_t i = 0; i < n; i++) {
        if (nodes[i].draining) continue;
        uint64_t w = hx_place_weight(room, nodes[i].id);
        if (best < 0 || nodes[i].sessions < nodes[best].sessions ||
            (nodes[i].sessions == nodes[best].sessions &&
             (w > best_w || (w == best_w && strcmp(nodes[i].id, nodes[best].id) < 0)))) {
            best = (int)i;
            best_w = w;
        }
    }
    return best;
}

int hx_node_view_parse(const char *json, hx_node_view *v)
{
    memset(v, 0, sizeof *v);
    json_t *j = json_loads(json, 0, NULL);
    const char *id = json_string_value(json_object_get(j, "node"));
    const char *url = json_string_value(json_object_get(j, "url"));
    int rc = -1;
    if (id && url && *id && strlen(id) < sizeof v->id && strlen(url) < sizeof v->url) {
        memcpy(v->id, id, strlen(id) + 1);
        memcpy(v->url, url, strlen(url) + 1);
        size_t n = strlen(v->url);
        while (n && v->url[n - 1] == '/')
            v->url[--n] = '\0';
        json_t *s = json_object_get(j, "sessions");
        v->sessions = json_is_integer(s) ? json_integer_value(s) : 0;
        v->draining = json_is_true(json_object_get(j, "draining"));
        rc = 0;
    }
    json_decref(j);
    return rc;
}

int hx_node_signal_url(const char *base, int version, char *out, size_t cap)
{
    const char *scheme, *rest;
    if (!strncmp(base, "https://", 8))
        scheme = "wss", rest = base + 8;
    else if (!strncmp(base, "http://", 7))
        scheme = "ws", rest = base + 7;
    else
        return -1;
    size_t n = strlen(rest);
    while (n && rest[n - 1] == '/')
        n--;
    int w = snprintf(out, cap, "%s://%.*s/v1/signal?v=%d", scheme, (int)n, rest, version);
    return w > 0 && (size_t)w < cap ? 0 : -1;
}
