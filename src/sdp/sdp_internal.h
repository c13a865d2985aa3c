/*
 * Helpers shared by the SDP parser, writer and negotiation files: a cursor
 * over one line's value (tokens split on spaces, numbers with range checks),
 * bounded copies into the model's fixed arrays, and a bounded text builder.
 * None of them allocates; each reports failure instead of truncating.
 */
#ifndef HX_SDP_INTERNAL_H
#define HX_SDP_INTERNAL_H

#include "sdp/sdp.h"

#include <stdarg.h>

/* A view of bytes inside the caller's text. */
typedef struct hx__sdp_span {
    const char *p;
    size_t n;
} hx__sdp_span;

/** Next token up to a space (skipping leading spaces); false at the end. */
bool hx__sdp_token(hx__sdp_span *s, hx__sdp_span *tok);
/** Split s at the first c: head before, s keeps the rest; false when c is absent. */
bool hx__sdp_split(hx__sdp_span *s, char c, hx__sdp_span *head);
/** Decimal without sign or leading junk, <= max. */
bool hx__sdp_uint(hx__sdp_span t, uint64_t max, uint64_t *out);
/** t equals the NUL-terminated s (case-insensitive if icase). */
bool hx__sdp_eq(hx__sdp_span t, const char *s, bool icase);
/** Copy t into dst[cap] with NUL; false if it does not fit. */
bool hx__sdp_copy(char *dst, size_t cap, hx__sdp_span t);
/** Span of a NUL-terminated string. */
hx__sdp_span hx__sdp_str(const char *s);

/* Text output with a hard cap; the first failure sticks. */
typedef struct hx__sdp_out {
    char *p;
    size_t cap, len;
    bool fail;
} hx__sdp_out;

/** Append one printf-formatted line and CRLF. */
void hx__sdp_line(hx__sdp_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** Parse the attributes of a media section: name and value after "a=". */
int hx__sdp_media_attr(hx_sdp_media *m, hx__sdp_span name, hx__sdp_span val, bool has_val,
                       const char **what);
/** Parse a=simulcast's value into *sc. */
int hx__sdp_simulcast(hx_sdp_simulcast *sc, hx__sdp_span val);

/** Names of enum values as SDP writes them ("" for NONE). */
const char *hx__sdp_dir_name(hx_sdp_dir d);
const char *hx__sdp_setup_name(hx_sdp_setup s);
const char *hx__sdp_kind_name(hx_sdp_kind k);

/** Case-insensitive equality of NUL-terminated strings. */
bool hx__sdp_ieq(const char *a, const char *b);

#endif
