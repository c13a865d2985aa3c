/*
 * hearthctl internals, shared by the files of src/ctl/ (linked into the
 * hearthctl executable only).
 *
 *   hearthctl.c   main: global options, the command table, usage texts
 *   ctl_call.c    the admin key, one admin API call, error reporting
 *   ctl_http.c    the transport: libcurl (http and https, --cacert)
 *   ctl_table.c   human output: aligned tables, times, JSON scalars as text
 *   ctl_read.c    commands that list: rooms, participants, revocations, events
 *   ctl_write.c   commands that change: ticket, revoke, reload-keys, drain, close
 *   ctl_audit.c   audit verify, audit export
 *   ctl_slo.c     slo: the SLIs from /metrics against their targets
 *   ctl_config.c  where hearthd is: flags, --config (hearthd's file), environment
 *   ctl_doc.c     completion bash, man: generated from the command table
 *
 * Every command returns the process exit status (CTL_EXIT_*). One ctl_ctx,
 * on main's stack, carries the options and the HTTP client; nothing is global.
 */
#ifndef HX_CTL_CTL_H
#define HX_CTL_CTL_H

#include "common/http_client.h"

#include <getopt.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

enum {
    CTL_EXIT_OK = 0,
    CTL_EXIT_HTTP = 1,  /* the server answered with an error */
    CTL_EXIT_USAGE = 2, /* bad command line, URL or missing admin key */
    CTL_EXIT_CONN = 3,  /* could not get an answer from the server */
    CTL_CONTINUE = -1,  /* option handled, keep parsing */
};

#define CTL_DEFAULT_URL "http://127.0.0.1:7880"
#define CTL_DEFAULT_DATA_DIR "./hearth-data"

/* Long-option codes of the global options (beyond any char). */
enum {
    CTL_OPT_URL = 256,
    CTL_OPT_ADMIN_KEY,
    CTL_OPT_DATA_DIR,
    CTL_OPT_JSON,
    CTL_OPT_VERSION,
    CTL_OPT_CACERT,
    CTL_OPT_INSECURE,
    CTL_OPT_CONFIG
};

/* Accepted before the command and after it: `hearthctl rooms --json`. */
// clang-format off
#define CTL_GLOBAL_LONGOPTS                                        \
    {"url", required_argument, NULL, CTL_OPT_URL},                 \
    {"admin-key", required_argument, NULL, CTL_OPT_ADMIN_KEY},     \
    {"data-dir", required_argument, NULL, CTL_OPT_DATA_DIR},       \
    {"cacert", required_argument, NULL, CTL_OPT_CACERT},           \
    {"insecure", no_argument, NULL, CTL_OPT_INSECURE},             \
    {"config", required_argument, NULL, CTL_OPT_CONFIG},           \
    {"json", no_argument, NULL, CTL_OPT_JSON},                     \
    {"help", no_argument, NULL, 'h'}
// clang-format on

typedef struct ctl_ctx ctl_ctx;

typedef struct ctl_cmd {
    const char *name;
    const char *synopsis; /* e.g. "ticket ROOM --user U", for the command list */
    const char *summary;  /* one line for the command list */
    const char *usage;    /* the full help text */
    int (*run)(ctl_ctx *ctx, const struct ctl_cmd *cmd, int argc, char **argv);
    const char *routes; /* the API calls it makes, "METHOD /path" joined by ", "; NULL: none */
} ctl_cmd;

/** The command table (hearthctl.c): help, completion and the man page all read it. */
extern const ctl_cmd ctl_commands[];
extern const size_t ctl_n_commands;

/* url, admin_key, data_dir and cacert: from the flags, else from --config (hearthd's file), else
 * the environment, else the defaults (ctl_resolve, before the first request). */
struct ctl_ctx {
    const char *url;       /* --url, --config's listen, $HEARTH_URL or CTL_DEFAULT_URL */
    const char *admin_key; /* --admin-key, --config's admin_key or $HEARTH_ADMIN_KEY */
    const char *data_dir;  /* where admin.key is when no key was given */
    const char *config;    /* --config: hearthd's configuration file */
    int json;              /* print the raw JSON answer */
    int insecure;          /* --insecure: do not check the https certificate */
    int resolved;          /* ctl_resolve ran */
    const char *cacert; /* --cacert or $HEARTH_CACERT: CA bundle for https; NULL: the system's */
    char url_buf[300], dir_buf[512], cacert_buf[512];
    void *curl;         /* ctl_http.c's handle, made on the first request */
    char err[256];      /* the last transport error, in words */
    char key_buf[1024]; /* the key read from <data_dir>/admin.key */
};

/* ---- hearthctl.c ---- */

/**
 * Handle an option every command shares (global options, -h, getopt errors).
 * Returns CTL_CONTINUE, or an exit status when parsing must stop.
 */
int ctl_common_opt(ctl_ctx *ctx, const ctl_cmd *cmd, int opt, int argc, char **argv);
/** Print "hearthctl CMD: msg" and a hint to stderr; returns CTL_EXIT_USAGE. */
int ctl_usage_error(const ctl_cmd *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/**
 * Parse a command that has no options of its own and exactly npos positional
 * arguments (posname names them in messages), left at argv[optind..]. Returns CTL_CONTINUE or an
 * exit status.
 */
int ctl_parse_plain(ctl_ctx *ctx, const ctl_cmd *cmd, int argc, char **argv, int npos,
                    const char *posname);
/** Parse a command whose only option is --reason TEXT (*reason: NULL when not given); the
 * positional arguments are left at argv[optind..]. CTL_CONTINUE or an exit status. */
int ctl_parse_reason(ctl_ctx *ctx, const ctl_cmd *cmd, int argc, char **argv, const char **reason);
/** Parse a decimal integer in [min, max]; 0 or -1. */
int ctl_parse_int(const char *s, int64_t min, int64_t max, int64_t *out);

/** Print the global usage (--help) to f. */
void ctl_print_main_usage(FILE *f);

/* ---- ctl_config.c ---- */

/** Fill url, admin_key, data_dir and cacert from --config, the environment and defaults
 * where no flag set them. 0 or an exit status (a config file that cannot be read). */
int ctl_resolve(ctl_ctx *ctx);

/* ---- ctl_http.c ---- */

/** 0 when url is http:// or https://, else -1. */
int ctl_http_check_url(const char *url);
/**
 * Send req to ctx->url + req->path and wait for the whole answer (any status). 0 with *resp to
 * free with hx_http_response_free; -1 no answer, -2 bad request arguments (ctx->err says why).
 */
int ctl_http_request(ctl_ctx *ctx, const hx_http_request *req, hx_http_response *resp);
/** Free the transport (end of main). */
void ctl_http_done(ctl_ctx *ctx);

/* ---- ctl_call.c ---- */

/**
 * One admin API call. body (may be NULL) is sent as JSON. On a 2xx answer
 * returns CTL_EXIT_OK and sets *out to the parsed object, or to NULL when
 * --json already printed the raw answer. Otherwise prints the failure and
 * returns its exit status.
 */
int ctl_call(ctl_ctx *ctx, const char *method, const char *path, json_t *body, json_t **out);

/**
 * GET path without the admin key (/metrics needs none). CTL_EXIT_OK with *resp to free with
 * hx_http_response_free on a 2xx answer; otherwise prints the failure and returns its exit
 * status (*resp then holds nothing).
 */
int ctl_get_public(ctl_ctx *ctx, const char *path, hx_http_response *resp);

/** body[key] = value when value is not NULL (an option the operator gave). 0 or -1. */
int ctl_set_str(json_t *body, const char *key, const char *value);

/* ---- ctl_table.c ---- */

#define CTL_TABLE_MAX_COLS 10

typedef struct ctl_table {
    size_t ncols;
    const char *titles[CTL_TABLE_MAX_COLS];
    char **cells; /* nrows * ncols, each malloc'd and sanitized */
    size_t nrows, cap;
} ctl_table;

/** titles: ncols column headings (ncols <= CTL_TABLE_MAX_COLS). */
void ctl_table_init(ctl_table *t, size_t ncols, const char *const *titles);
/** Append a row of ncols cells (NULL or "" shows as "-"). 0 or -1 (out of memory). */
int ctl_table_add(ctl_table *t, const char *const *cells);
/** Print with aligned columns; the last column is not padded. */
void ctl_table_print(const ctl_table *t, FILE *f);
void ctl_table_free(ctl_table *t);
/**
 * The end of a command that prints a table: print it to stdout when complete (every row was
 * added), else say it ran out of memory; free it. CTL_EXIT_OK, or CTL_EXIT_HTTP when incomplete.
 */
int ctl_table_finish(ctl_table *t, int complete);

/** A JSON member as display text: strings verbatim, numbers, booleans, objects compact; "" if
 * absent. */
void ctl_field(const json_t *obj, const char *key, char *buf, size_t len);
/** A member holding Unix milliseconds (ms=1) or seconds as "2025-11-20T10:00:01Z"; "" if absent. */
void ctl_field_time(const json_t *obj, const char *key, int ms, char *buf, size_t len);
/** Print s to f with control characters replaced (server data must not drive the terminal). */
void ctl_print_safe(FILE *f, const char *s);

/* ---- ctl_read.c ---- */

/** Append "&name=<encoded value>" ("?..." first) to path; value NULL adds nothing. 0 or -1
 * when too long. */
int ctl_add_query(char *path, size_t len, const char *name, const char *value);

/* ---- commands ---- */

int ctl_cmd_rooms(ctl_ctx *ctx, const ctl_cmd *cmd, int argc, char **argv);
int ctl_cmd_nodes(ctl_ctx *ctx, const ctl_cmd *cmd, int argc, char **argv);
int ctl_cmd_participants(ctl_ctx *ctx, const ctl_cmd *cmd, int argc, char **argv);
int ctl_cmd_revocations(ctl_ctx *ctx, const ctl_cmd *cmd, int argc, char **argv);
int ctl_cmd_events(ctl_ctx *ctx, const ctl_cmd *cmd, int argc, char **argv);
int ctl_cmd_ticket(ctl_ctx *ctx, const ctl_cmd *cmd, int argc, char **argv);
int ctl_cmd_revoke(ctl_ctx *ctx, const ctl_cmd *cmd, int argc, char **argv);
int ctl_cmd_reload_keys(ctl_ctx *ctx, const ctl_cmd *cmd, int argc, char **argv);
int ctl_cmd_drain(ctl_ctx *ctx, const ctl_cmd *cmd, int argc, char **argv);
int ctl_cmd_close(ctl_ctx *ctx, const ctl_cmd *cmd, int argc, char **argv);
int ctl_cmd_audit(ctl_ctx *ctx, const ctl_cmd *cmd, int argc, char **argv);
/* ctl_moderate.c: mute, unmute, timeout, untimeout, kick, ban, unban; unrevoke; sanctions, votes */
int ctl_cmd_moderate(ctl_ctx *ctx, const ctl_cmd *cmd, int argc, char **argv);
int ctl_cmd_unrevoke(ctl_ctx *ctx, const ctl_cmd *cmd, int argc, char **argv);
int ctl_cmd_mod_list(ctl_ctx *ctx, const ctl_cmd *cmd, int argc, char **argv);
int ctl_cmd_policy(ctl_ctx *ctx, const ctl_cmd *cmd, int argc, char **argv);
int ctl_cmd_slo(ctl_ctx *ctx, const ctl_cmd *cmd, int argc, char **argv);
/* ctl_doc.c */
int ctl_cmd_completion(ctl_ctx *ctx, const ctl_cmd *cmd, int argc, char **argv);
int ctl_cmd_man(ctl_ctx *ctx, const ctl_cmd *cmd, int argc, char **argv);

#endif
