/*
 * The commands that only look: rooms, participants, revocations, events.
 *
 * Each one is a GET whose answer holds one array; each element becomes a
 * table row. Fields are read leniently (a missing one shows as "-") so a
 * server a version ahead or behind still prints something useful; --json is
 * the way to see everything exactly.
 */
#include "ctl/ctl.h"

#include <string.h>

#define CELL 512 /* display text of one cell; longer values are cut */

/* Print the array member key of root as a table, one row per element. */
typedef void (*row_fn)(const json_t *item, char cells[][CELL]);

static int print_list(const json_t *root, const char *key, size_t ncols, const char *const *titles,
                      row_fn fill, const char *empty)
{
    const json_t *arr = json_object_get(root, key), *item;
    char cells[CTL_TABLE_MAX_COLS][CELL];
    const char *ptrs[CTL_TABLE_MAX_COLS];
    ctl_table t;
    size_t i;

    if (!json_is_array(arr)) {
        fprintf(stderr, "error: the answer has no '%s' list\n", key);
        return CTL_EXIT_HTTP;
    }
    if (json_array_size(arr) == 0) {
        puts(empty);
        return CTL_EXIT_OK;
    }
    ctl_table_init(&t, ncols, titles);
    for (i = 0; i < ncols; i++)
        ptrs[i] = cells[i];
    json_array_foreach(arr, i, item)
    {
        memset(cells, 0, sizeof cells);
        fill(item, cells);
        if (ctl_table_add(&t, ptrs) < 0) return ctl_table_finish(&t, 0);
    }
    return ctl_table_finish(&t, 1);
}

static void room_row(const json_t *r, char c[][CELL])
{
    char n[32], max[32];

    ctl_field(r, "name", c[0], CELL);
    ctl_field(r, "participants", n, sizeof n);
    ctl_field(r, "max_participants", max, sizeof max);
    snprintf(c[1], CELL, "%s/%s", n[0] ? n : "?", max[0] ? max : "?");
    ctl_field_time(r, "created_at_ms", 1, c[2], CELL);
}

int ctl_cmd_rooms(ctl_ctx *ctx, const ctl_cmd *cmd, int argc, char **argv)
{
    static const char *const titles[] = {"NAME", "PARTICIPANTS", "CREATED"};
    json_t *root;
    int rc;

    if ((rc = ctl_parse_plain(ctx, cmd, argc, argv, 0, NULL)) != CTL_CONTINUE) return rc;
    if ((rc = ctl_call(ctx, "GET", "/v1/admin/rooms", NULL, &root)) != 0 || !root) return rc;
    rc = print_list(root, "rooms", 3, titles, room_row, "no rooms");
    json_decref(root);
    return rc;
}

static void node_row(const json_t *n, char c[][CELL])
{
    ctl_field(n, "node", c[0], CELL);
    ctl_field(n, "url", c[1], CELL);
    ctl_field(n, "sessions", c[2], CELL);
    ctl_field(n, "rooms", c[3], CELL);
    ctl_field(n, "draining", c[4], CELL);
}

int ctl_cmd_nodes(ctl_ctx *ctx, const ctl_cmd *cmd, int argc, char **argv)
{
    static const char *const titles[] = {"NODE", "URL", "SESSIONS", "ROOMS", "DRAINING"};
    json_t *root;
    int rc;

    if ((rc = ctl_parse_plain(ctx, cmd, argc, argv, 0, NULL)) != CTL_CONTINUE) return rc;
    if ((rc = ctl_call(ctx, "GET", "/v1/admin/nodes", NULL, &root)) != 0 || !root) return rc;
    rc = print_list(root, "nodes", 5, titles, node_row, "no nodes (not on a Redis bus)");
    json_decref(root);
    return rc;
}

static void participant_row(const json_t *p, char c[][CELL])
{
    ctl_field(p, "id", c[0], CELL);
    ctl_field(p, "user", c[1], CELL);
    ctl_field(p, "device", c[2], CELL);
    ctl_field(p, "sid", c[3], CELL);
    ctl_field(p, "protocol_version", c[4], CELL);
    ctl_field_time(p, "joined_at_ms", 1, c[5], CELL);
    ctl_field(p, "grants", c[6], CELL);
}

int ctl_cmd_participants(ctl_ctx *ctx, const ctl_cmd *cmd, int argc, char **argv)
{
    static const char *const titles[] = {"ID",    "USER",   "DEVICE", "SID",
                                         "PROTO", "JOINED", "GRANTS"};
    char room[3 * 128 + 1], path[512];
    json_t *root;
    int rc;

    if ((rc = ctl_parse_plain(ctx, cmd, argc, argv, 1, "ROOM")) != CTL_CONTINUE) return rc;
    if (!argv[optind][0] || hx_url_encode(argv[optind], room, sizeof room) < 0)
        return ctl_usage_error(cmd, "a room name is 1-128 bytes");
    snprintf(path, sizeof path, "/v1/admin/rooms/%s/participants", room);
    if ((rc = ctl_call(ctx, "GET", path, NULL, &root)) != 0 || !root) return rc;
    rc = print_list(root, "participants", 7, titles, participant_row, "no participants");
    json_decref(root);
    return rc;
}

static void revocation_row(const json_t *r, char c[][CELL])
{
    const json_t *nb = json_object_get(r, "not_before");

    ctl_field(r, "kind", c[0], CELL);
    ctl_field(r, "value", c[1], CELL);
    if (json_is_number(nb) && json_number_value(nb) > 0)
        ctl_field_time(r, "not_before", 0, c[2], CELL);
    ctl_field_time(r, "created_at_ms", 1, c[3], CELL);
    ctl_field(r, "reason", c[4], CELL);
}

int ctl_cmd_revocations(ctl_ctx *ctx, const ctl_cmd *cmd, int argc, char **argv)
{
    static const char *const titles[] = {"KIND", "VALUE", "NOT BEFORE", "CREATED", "REASON"};
    json_t *root;
    int rc;

    if ((rc = ctl_parse_plain(ctx, cmd, argc, argv, 0, NULL)) != CTL_CONTINUE) return rc;
    if ((rc = ctl_call(ctx, "GET", "/v1/admin/revocations", NULL, &root)) != 0 || !root) return rc;
    rc = print_list(root, "revocations", 5, titles, revocation_row, "no revocations");
    json_decref(root);
    return rc;
}

static void event_row(const json_t *e, char c[][CELL])
{
    static const char *const keys[] = {"id",     NULL,  "kind", "room",  "user",
                                       "device", "sid", "code", "detail"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (keys[i]) ctl_field(e, keys[i], c[i], CELL);
    ctl_field_time(e, "ts_ms", 1, c[1], CELL);
}

int ctl_add_query(char *path, size_t len, const char *name, const char *value)
{
    char enc[1024];
    size_t o = strlen(path);
    int n;

    if (!value) return 0;
    if (hx_url_encode(value, enc, sizeof enc) < 0) return -1;
    n = snprintf(path + o, len - o, "%c%s=%s", strchr(path, '?') ? '&' : '?', name, enc);
    return n < 0 || (size_t)n >= len - o ? -1 : 0;
}

int ctl_cmd_events(ctl_ctx *ctx, const ctl_cmd *cmd, int argc, char **argv)
{
    enum { O_KIND = 300, O_ROOM, O_USER, O_AFTER, O_LIMIT };
    static const struct option opts[] = {
        CTL_GLOBAL_LONGOPTS,
        {"kind", required_argument, NULL, O_KIND},
        {"room", required_argument, NULL, O_ROOM},
        {"user", required_argument, NULL, O_USER},
        {"after", required_argument, NULL, O_AFTER},
        {"limit", required_argument, NULL, O_LIMIT},
        {NULL, 0, NULL, 0},
    };
    static const char *const titles[] = {"ID",     "TIME", "KIND", "ROOM",  "USER",
                                         "DEVICE", "SID",  "CODE", "DETAIL"};
    const char *kind = NULL, *room = NULL, *user = NULL, *after = NULL, *limit = NULL;
    char path[4096] = "/v1/admin/events";
    int64_t n;
    json_t *root;
    int opt, rc;

    while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (opt) {
        case O_KIND:
            kind = optarg;
            break;
        case O_ROOM:
            room = optarg;
            break;
        case O_USER:
            user = optarg;
            break;
        case O_AFTER:
            if (ctl_parse_int(optarg, 0, INT64_MAX, &n) < 0)
                return ctl_usage_error(cmd, "--after wants an event id, got '%s'", optarg);
            after = optarg;
            break;
        case O_LIMIT:
            if (ctl_parse_int(optarg, 1, INT32_MAX, &n) < 0)
                return ctl_usage_error(cmd, "--limit wants a positive number, got '%s'", optarg);
            limit = optarg;
            break;
        default:
            if ((rc = ctl_common_opt(ctx, cmd, opt, argc, argv)) != CTL_CONTINUE) return rc;
        }
    }
    if (optind < argc) return ctl_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if (ctl_add_query(path, sizeof path, "kind", kind) < 0 ||
        ctl_add_query(path, sizeof path, "room", room) < 0 ||
        ctl_add_query(path, sizeof path, "user", user) < 0 ||
        ctl_add_query(path, sizeof path, "after", after) < 0 ||
        ctl_add_query(path, sizeof path, "limit", limit) < 0)
        return ctl_usage_error(cmd, "filter values too long");
    if ((rc = ctl_call(ctx, "GET", path, NULL, &root)) != 0 || !root) return rc;
    rc = print_list(root, "events", 9, titles, event_row, "no events");
    json_decref(root);
    return rc;
}
