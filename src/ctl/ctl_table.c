/*
 * Human output for hearthctl: aligned tables and JSON values as text.
 *
 * A table copies its cells (so callers can format into stack buffers) and
 * prints once every width is known. Everything shown comes from the server
 * and, through it, from user-chosen names and tokens, so control characters
 * are replaced before they reach the terminal: an escape sequence in a user
 * id must not repaint the operator's screen. Widths count UTF-8 code points,
 * good enough for names in Latin and most other scripts.
 */
#include "ctl/ctl.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A malloc'd copy of s with control bytes as '?', "-" for NULL or "". */
static char *sanitized_dup(const char *s)
{
    char *d;
    size_t n;

    if (!s || !*s) s = "-";
    n = strlen(s);
    if (!(d = malloc(n + 1))) return NULL;
    for (size_t i = 0; i <= n; i++) {
        unsigned char ch = (unsigned char)s[i];
        d[i] = (i < n && (ch < 0x20 || ch == 0x7f)) ? '?' : (char)ch;
    }
    return d;
}

void ctl_print_safe(FILE *f, const char *s)
{
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        fputc(ch < 0x20 || ch == 0x7f ? '?' : ch, f);
    }
}

static size_t display_width(const char *s)
{
    size_t w = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xc0) != 0x80) /* not a UTF-8 continuation byte */
            w++;
    return w;
}

void ctl_table_init(ctl_table *t, size_t ncols, const char *const *titles)
{
    memset(t, 0, sizeof *t);
    t->ncols = ncols < CTL_TABLE_MAX_COLS ? ncols : CTL_TABLE_MAX_COLS;
    for (size_t i = 0; i < t->ncols; i++)
        t->titles[i] = titles[i];
}

int ctl_table_add(ctl_table *t, const char *const *cells)
{
    size_t base;

    if (t->nrows == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        char **nc = realloc(t->cells, cap * t->ncols * sizeof *nc);
        if (!nc) return -1;
        t->cells = nc;
        t->cap = cap;
    }
    base = t->nrows * t->ncols;
    for (size_t i = 0; i < t->ncols; i++) {
        if (!(t->cells[base + i] = sanitized_dup(cells[i]))) {
            while (i-- > 0)
                free(t->cells[base + i]);
            return -1;
        }
    }
    t->nrows++;
    return 0;
}

static void print_row(const ctl_table *t, const size_t *width, const char *const *row, FILE *f)
{
    for (size_t c = 0; c < t->ncols; c++) {
        fputs(row[c], f);
        if (c + 1 < t->ncols) fprintf(f, "%*s", (int)(width[c] - display_width(row[c]) + 2), "");
    }
    fputc('\n', f);
}

void ctl_table_print(const ctl_table *t, FILE *f)
{
    size_t width[CTL_TABLE_MAX_COLS];

    for (size_t c = 0; c < t->ncols; c++) {
        width[c] = display_width(t->titles[c]);
        for (size_t r = 0; r < t->nrows; r++) {
            size_t w = display_width(t->cells[r * t->ncols + c]);
            if (w > width[c]) width[c] = w;
        }
    }
    print_row(t, width, t->titles, f);
    for (size_t r = 0; r < t->nrows; r++)
        print_row(t, width, (const char *const *)&t->cells[r * t->ncols], f);
}

void ctl_table_free(ctl_table *t)
{
    for (size_t i = 0; i < t->nrows * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    memset(t, 0, sizeof *t);
}

int ctl_table_finish(ctl_table *t, int complete)
{
    if (complete)
        ctl_table_print(t, stdout);
    else
        fputs("hearthctl: out of memory\n", stderr);
    ctl_table_free(t);
    return complete ? CTL_EXIT_OK : CTL_EXIT_HTTP;
}

/* An array of strings as "a,b,c"; -1 (buf unusable) if it holds anything else. */
static int join_strings(const json_t *arr, char *buf, size_t len)
{
    const json_t *v;
    size_t i, o = 0;

    buf[0] = '\0';
    json_array_foreach(arr, i, v)
    {
        int n;
        if (!json_is_string(v)) return -1;
        n = snprintf(buf + o, len - o, "%s%s", o ? "," : "", json_string_value(v));
        if (n < 0 || (size_t)n >= len - o) break; /* cut, like any long cell */
        o += (size_t)n;
    }
    return 0;
}

void ctl_field(const json_t *obj, const char *key, char *buf, size_t len)
{
    const json_t *v = json_object_get(obj, key);
    char *dump;

    buf[0] = '\0';
    if (!v || json_is_null(v)) return;
    if (json_is_string(v)) {
        snprintf(buf, len, "%s", json_string_value(v));
    } else if (json_is_integer(v)) {
        snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    } else if (json_is_real(v)) {
        snprintf(buf, len, "%g", json_real_value(v));
    } else if (json_is_boolean(v)) {
        snprintf(buf, len, "%s", json_is_true(v) ? "true" : "false");
    } else if (json_is_array(v) && join_strings(v, buf, len) == 0) {
        /* ["publish", "data"] shows as publish,data */
    } else if ((dump = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY))) {
        snprintf(buf, len, "%s", dump);
        free(dump);
    }
}

void ctl_field_time(const json_t *obj, const char *key, int ms, char *buf, size_t len)
{
    const json_t *v = json_object_get(obj, key);
    struct tm tm;
    time_t secs;

    buf[0] = '\0';
    if (!json_is_number(v)) {
        ctl_field(obj, key, buf, len);
        return;
    }
    secs = (time_t)(json_number_value(v) / (ms ? 1000 : 1));
    if (!gmtime_r(&secs, &tm) || strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(buf, len, "%.0f", json_number_value(v));
}
