/*
 * Test helpers for tests/sdp: load a captured SDP fixture
 * (tests/sdp/fixtures/, real Chromium 156 and aiortc 1.4.0 output) and parse
 * it into a heap-allocated hx_sdp.
 */
#ifndef HX_TESTS_SDP_FIXTURE_H
#define HX_TESTS_SDP_FIXTURE_H

#include "sdp/sdp.h"

#include <stdio.h>
#include <stdlib.h>

/* The fixture's text in a malloc'd NUL-terminated buffer; *len its length. */
static char *fixture_text(const char *name, size_t *len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/tests/sdp/fixtures/%s", HX_SOURCE_DIR, name);
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = malloc(HX_SDP_MAX_LEN + 1);
    size_t n = fread(buf, 1, HX_SDP_MAX_LEN, f);
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* Parse a fixture; NULL (and a message) when it cannot be read or parsed. */
static hx_sdp *fixture_sdp(const char *name)
{
    size_t len = 0;
    char *text = fixture_text(name, &len);
    if (!text) return NULL;
    hx_sdp *s = malloc(sizeof *s);
    hx_sdp_error err;
    int rc = hx_sdp_parse(text, len, s, &err);
    free(text);
    if (rc) {
        fprintf(stderr, "%s: %d %s line %d\n", name, rc, err.what, err.line);
        free(s);
        return NULL;
    }
    return s;
}

#endif
