/*
 * hearthctl audit: the audit trail's tamper evidence and its export.
 *
 *   audit verify [ROOM]   GET /v1/admin/audit/verify; exit 0 when every chain
 *                         holds, 1 with one table row per problem
 *   audit export ...      GET /v1/admin/events page after page (after=last id),
 *                         each event one JSON line on stdout
 *
 * Both read the answer themselves whatever --json says: verify needs "ok"
 * for its exit status (and prints the answer as it is under --json), and an
 * export is JSON already.
 */
#include "ctl/ctl.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define EXPORT_PAGE "1000" /* the server's cap */

/* A call whose answer this file reads even under --json. */
static int call_parsed(ctl_ctx *ctx, const char *path, json_t **root)
{
    int json = ctx->json, rc;
    ctx->json = 0;
    rc = ctl_call(ctx, "GET", path, NULL, root);
    ctx->json = json;
    return rc;
}

static void print_problems(const json_t *root)
{
    static const char *const titles[] = {"ROOM", "EVENT", "SEQ", "PROBLEM"};
    const json_t *list = json_object_get(root, "problems"), *p;
    char cells[4][256];
    const char *ptrs[4] = {cells[0], cells[1], cells[2], cells[3]};
    ctl_table t;
    size_t i;

    ctl_table_init(&t, 4, titles);
    json_array_foreach(list, i, p)
    {
        ctl_field(p, "room", cells[0], sizeof cells[0]);
        ctl_field(p, "id", cells[1], sizeof cells[1]);
        ctl_field(p, "seq", cells[2], sizeof cells[2]);
        ctl_field(p, "what", cells[3], sizeof cells[3]);
        if (ctl_table_add(&t, ptrs) < 0) break; /* out of memory: print what there is */
    }
    ctl_table_print(&t, stdout);
    ctl_table_free(&t);
}

static int verify(ctl_ctx *ctx, const ctl_cmd *cmd, int argc, char **argv)
{
    static const struct option opts[] = {CTL_GLOBAL_LONGOPTS, {NULL, 0, NULL, 0}};
    char path[1024] = "/v1/admin/audit/verify", n[5][32];
    json_t *root;
    int opt, rc;

    while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1)
        if ((rc = ctl_common_opt(ctx, cmd, opt, argc, argv)) != CTL_CONTINUE) return rc;
    if (argc - optind > 1)
        return ctl_usage_error(cmd, "unexpected argument '%s'", argv[optind + 1]);
    if (optind < argc && ctl_add_query(path, sizeof path, "room", argv[optind]) < 0)
        return ctl_usage_error(cmd, "the room name is too long");
    if ((rc = call_parsed(ctx, path, &root)) != 0) return rc;

    bool ok = json_is_true(json_object_get(root, "ok"));
    if (ctx->json) {
        char *text = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (text) puts(text);
        free(text);
    } else {
        ctl_field(root, "chains", n[0], sizeof n[0]);
        ctl_field(root, "records", n[1], sizeof n[1]);
        ctl_field(root, "redacted", n[2], sizeof n[2]);
        ctl_field(root, "problems_total", n[3], sizeof n[3]);
        ctl_field(root, "unchained", n[4], sizeof n[4]);
        if (!ok) print_problems(root);
        printf("%s: %s chains, %s records (%s redacted)", ok ? "ok" : "not ok", n[0], n[1], n[2]);
        if (n[4][0] && strcmp(n[4], "0")) printf(", %s unchained records not checked", n[4]);
        if (!ok) printf(", %s problems", n[3]);
        putchar('\n');
    }
    json_decref(root);
    return ok ? CTL_EXIT_OK : CTL_EXIT_HTTP;
}

/* Write one page's events as lines; *after becomes the last id. -1: a malformed page. */
static long write_page(const json_t *root, int64_t *after)
{
    const json_t *list = json_object_get(root, "events"), *ev;
    size_t i;

    if (!json_is_array(list)) return -1;
    json_array_foreach(list, i, ev)
    {
        json_t *id = json_object_get(ev, "id");
        char *line = json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER); /* escapes controls */
        if (!json_is_integer(id) || json_integer_value(id) <= *after || !line) {
            free(line);
            return -1; /* ids only grow: anything else would page for ever */
        }
        puts(line);
        free(line);
        *after = json_integer_value(id);
    }
    return (long)json_array_size(list);
}

static int export(ctl_ctx *ctx, const ctl_cmd *cmd, int argc, char **argv)
{
    enum { O_ROOM = 300, O_USER, O_KIND, O_SINCE, O_UNTIL };
    static const struct option opts[] = {
        CTL_GLOBAL_LONGOPTS,
        {"room", required_argument, NULL, O_ROOM},
        {"user", required_argument, NULL, O_USER},
        {"kind", required_argument, NULL, O_KIND},
        {"since", required_argument, NULL, O_SINCE},
        {"until", required_argument, NULL, O_UNTIL},
        {NULL, 0, NULL, 0},
    };
    const char *value[5] = {0}, *const name[5] = {"room", "user", "kind", "since", "until"};
    char base[4096] = "/v1/admin/events?limit=" EXPORT_PAGE, path[4200];
    int64_t after = 0, ms;
    json_t *root;
    int opt, rc;
    long n;

    while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        if (opt < O_ROOM || opt > O_UNTIL) {
            if ((rc = ctl_common_opt(ctx, cmd, opt, argc, argv)) != CTL_CONTINUE) return rc;
            continue;
        }
        if (opt >= O_SINCE && ctl_parse_int(optarg, INT64_MIN, INT64_MAX, &ms) < 0)
            return ctl_usage_error(cmd, "--%s wants Unix milliseconds, got '%s'",
                                   name[opt - O_ROOM], optarg);
        value[opt - O_ROOM] = optarg;
    }
    if (optind < argc) return ctl_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    for (int i = 0; i < 5; i++)
        if (ctl_add_query(base, sizeof base, name[i], value[i]) < 0)
            return ctl_usage_error(cmd, "filter values too long");
    do {
        snprintf(path, sizeof path, "%s&after=%" PRId64, base, after);
        if ((rc = call_parsed(ctx, path, &root)) != 0) return rc;
        n = write_page(root, &after);
        json_decref(root);
        if (n < 0) {
            fputs("error: the answer is not a page of events in id order\n", stderr);
            return CTL_EXIT_HTTP;
        }
    } while (n > 0);
    if (fflush(stdout) != 0) {
        perror("hearthctl: stdout");
        return CTL_EXIT_USAGE;
    }
    return CTL_EXIT_OK;
}

int ctl_cmd_audit(ctl_ctx *ctx, const ctl_cmd *cmd, int argc, char **argv)
{
    const char *sub = argc > 1 ? argv[1] : NULL;

    if (sub && !strcmp(sub, "verify")) return verify(ctx, cmd, argc - 1, argv + 1);
    if (sub && !strcmp(sub, "export")) return export(ctx, cmd, argc - 1, argv + 1);
    if (sub && (!strcmp(sub, "-h") || !strcmp(sub, "--help"))) {
        fputs(cmd->usage, stdout);
        return CTL_EXIT_OK;
    }
    if (!sub) return ctl_usage_error(cmd, "missing verify or export");
    return ctl_usage_error(cmd, "unknown subcommand '%s' (verify or export)", sub);
}
