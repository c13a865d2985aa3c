/*
 * libFuzzer target for what the webhook parses (src/webhook/): the cursor
 * it reads back from the store (a store is input like any other: edited by
 * hand, written by another version), the webhook.url value and the
 * webhook.events patterns. The first byte picks which. Contracts beyond
 * survival: a cursor that parses writes back and parses to the same values;
 * a URL that parses has a host and a port in range; a filter that parses
 * matches each of its own exact patterns.
 */
#include "webhook/webhook_internal.h"

#include <stdlib.h>
#include <string.h>

static void cursor(const uint8_t *data, size_t size)
{
    int64_t a, s, a2, s2;
    if (hx__wh_cursor_parse((const char *)data, size, &a, &s)) return;
    char text[96];
    if (a < 0 || s < 0 || hx__wh_cursor_write(a, s, text, sizeof text)) abort();
    if (hx__wh_cursor_parse(text, strlen(text), &a2, &s2) || a2 != a) abort();
    if (a == 0 && s2 != s) abort(); /* the time counts only before the first event */
}

static void url(const uint8_t *data, size_t size)
{
    char text[2100];
    if (size >= sizeof text) return;
    memcpy(text, data, size);
    text[size] = '\0';
    hx_wh_url u;
    const char *why = NULL;
    if (hx_wh_url_parse(text, &u, &why)) {
        if (!why) abort();
        return;
    }
    if (!u.host[0] || u.port < 1 || u.port > 65535) abort();
}

static void filter(const uint8_t *data, size_t size)
{
    char pats[HX_WH_MAX_PATTERNS + 1][HX_WH_PATTERN_LEN];
    size_t n = 0, len = 0;
    memset(pats, 0, sizeof pats);
    for (size_t i = 0; i < size && n <= HX_WH_MAX_PATTERNS; i++) {
        if (data[i] == ',') {
            n++;
            len = 0;
        } else if (len < HX_WH_PATTERN_LEN - 1) {
            pats[n][len++] = (char)data[i];
        }
    }
    if (size) n++;
    if (n > HX_WH_MAX_PATTERNS + 1) n = HX_WH_MAX_PATTERNS + 1;
    hx_wh_filter f;
    const char *why;
    if (hx_wh_filter_parse(&f, (const char(*)[HX_WH_PATTERN_LEN])pats, n, &why)) return;
    for (size_t i = 0; i < f.n; i++)
        if (!strchr(f.pat[i], '*') && !hx_wh_filter_match(&f, f.pat[i])) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!size) return 0;
    switch (data[0] % 3) {
    case 0:
        cursor(data + 1, size - 1);
        break;
    case 1:
        url(data + 1, size - 1);
        break;
    default:
        filter(data + 1, size - 1);
        break;
    }
    return 0;
}
