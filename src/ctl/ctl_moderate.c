/*
 * The moderation commands: mute, unmute, timeout, untimeout, kick, ban,
 * unban (POST /v1/admin/moderation), unrevoke (POST /v1/admin/unrevoke),
 * and the lists sanctions and votes. One parser serves the actions: their
 * command name is the action, and a small table says which positional
 * arguments each takes.
 */
#include "ctl/ctl.h"

#include <stdbool.h>
#include <string.h>

/* Positional arguments per action: ROOM then the target's kind. */
static const struct {
    const char *action;
    int room;           /* ROOM comes first */
    const char *target; /* "track", "user", or NULL (ban/unban: --user/--device) */
} shapes[] = {
    {"mute", 1, "track"},    {"unmute", 1, "track"}, {"timeout", 1, "user"}, {"untimeout", 1, "user"},
    {"kick", 1, "user"},     {"ban", 0, NULL},       {"unban", 0, NULL},
};

int ctl_cmd_moderate(ctl_ctx *ctx, const ctl_cmd *cmd, int argc, char **argv)
{
    enum { O_REASON = 300, O_DURATION, O_DEVICE, O_ROOM, O_USER, O_PARTICIPANT };
    static const struct option opts[] = {
        CTL_GLOBAL_LONGOPTS,
        {"reason", required_argument, NULL, O_REASON},
        {"duration", required_argument, NULL, O_DURATION},
        {"device", required_argument, NULL, O_DEVICE},
        {"room", required_argument, NULL, O_ROOM},
        {"user", required_argument, NULL, O_USER},
        {"participant", required_argument, NULL, O_PARTICIPANT},
        {NULL, 0, NULL, 0},
    };
    size_t k = 0;
    while (k < sizeof shapes / sizeof shapes[0] && strcmp(shapes[k].action, cmd->name)) k++;
    const char *reason = NULL, *device = NULL, *room = NULL, *user = NULL, *participant = NULL, *track = NULL;
    int64_t duration = -1;
    int opt, rc;
    while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (opt) {
        case O_REASON: reason = optarg; break;
        case O_DEVICE: device = optarg; break;
        case O_ROOM: room = optarg; break;
        case O_USER: user = optarg; break;
        case O_PARTICIPANT: participant = optarg; break;
        case O_DURATION:
            if (ctl_parse_int(optarg, 0, 365LL * 86400, &duration) < 0)
                return ctl_usage_error(cmd, "--duration wants seconds (0..31536000), got '%s'", optarg);
            break;
        default:
            if ((rc = ctl_common_opt(ctx, cmd, opt, argc, argv)) != CTL_CONTINUE) return rc;
        }
    }
    int pos = argc - optind;
    if (shapes[k].room) {
        if (pos < 1) return ctl_usage_error(cmd, "missing ROOM");
        room = argv[optind++];
        pos--;
        bool by_participant = participant && !strcmp(shapes[k].target, "user");
        if (pos < (by_participant ? 0 : 1))
            return ctl_usage_error(cmd, "missing %s", !strcmp(shapes[k].target, "track") ? "TRACK" : "USER");
        if (pos > (by_participant ? 0 : 1)) return ctl_usage_error(cmd, "unexpected argument '%s'", argv[argc - 1]);
        if (pos == 1) {
            if (!strcmp(shapes[k].target, "track")) track = argv[optind];
            else user = argv[optind];
        }
    } else {
        if (pos > 1) return ctl_usage_error(cmd, "unexpected argument '%s'", argv[optind + 1]);
        if (pos == 1) user = argv[optind];
        if (!user && !device) return ctl_usage_error(cmd, "%s whom? give USER and/or --device", cmd->name);
    }

    json_t *body = json_object(), *root = NULL;
    if (!body) return CTL_EXIT_HTTP;
    rc = ctl_set_str(body, "action", cmd->name) | ctl_set_str(body, "room", room) | ctl_set_str(body, "user", user) |
         ctl_set_str(body, "device", device) | ctl_set_str(body, "participant", participant) |
         ctl_set_str(body, "track", track) | ctl_set_str(body, "reason", reason);
    if (duration >= 0) rc |= json_object_set_new(body, "duration_s", json_integer(duration));
    if (rc == 0)
        rc = ctl_call(ctx, "POST", "/v1/admin/moderation", body, &root);
    else
        rc = ctl_usage_error(cmd, "arguments must be valid UTF-8");
    json_decref(body);
    if (rc == 0 && root) {
        char id[64];
        ctl_field(root, "id", id, sizeof id);
        printf("%s: done (action ", cmd->name);
        ctl_print_safe(stdout, id);
        printf(")\n");
    }
    json_decref(root);
    return rc;
}

int ctl_cmd_unrevoke(ctl_ctx *ctx, const ctl_cmd *cmd, int argc, char **argv)
{
    const char *reason;
    int rc = ctl_parse_reason(ctx, cmd, argc, argv, &reason);
    if (rc != CTL_CONTINUE) return rc;
    if (argc - optind != 2) return ctl_usage_error(cmd, "want: unrevoke jti|sid|user ID");
    const char *kind = argv[optind], *value = argv[optind + 1];
    if (strcmp(kind, "jti") && strcmp(kind, "sid") && strcmp(kind, "user"))
        return ctl_usage_error(cmd, "unrevoke what? jti, sid or user, not '%s'", kind);
    json_t *body = json_object(), *root = NULL;
    if (!body) return CTL_EXIT_HTTP;
    if ((ctl_set_str(body, kind, value) | ctl_set_str(body, "reason", reason)) == 0)
        rc = ctl_call(ctx, "POST", "/v1/admin/unrevoke", body, &root);
    else
        rc = ctl_usage_error(cmd, "arguments must be valid UTF-8");
    json_decref(body);
    if (rc == 0 && root) {
        printf("unrevoked %s ", kind);
        ctl_print_safe(stdout, value);
        printf("\n");
    }
    json_decref(root);
    return rc;
}

/* sanctions / votes: a table of what is in force. */
int ctl_cmd_mod_list(ctl_ctx *ctx, const ctl_cmd *cmd, int argc, char **argv)
{
    enum { O_ROOM = 300 };
    static const struct option opts[] = {
        CTL_GLOBAL_LONGOPTS,
        {"room", required_argument, NULL, O_ROOM},
        {NULL, 0, NULL, 0},
    };
    const char *room = NULL;
    int opt, rc;
    while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        if (opt == O_ROOM) room = optarg;
        else if ((rc = ctl_common_opt(ctx, cmd, opt, argc, argv)) != CTL_CONTINUE) return rc;
    }
    if (optind < argc) return ctl_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    bool votes = !strcmp(cmd->name, "votes");
    char path[512], enc[400];
    snprintf(path, sizeof path, "/v1/admin/moderation/%s", cmd->name);
    if (room) {
        if (hx_url_encode(room, enc, sizeof enc) < 0) return ctl_usage_error(cmd, "room name too long");
        snprintf(path + strlen(path), sizeof path - strlen(path), "?room=%s", enc);
    }
    json_t *root = NULL;
    if ((rc = ctl_call(ctx, "GET", path, NULL, &root)) != 0 || !root) return rc;
    static const char *const st[] = {"KIND", "ROOM", "USER", "DEVICE", "EXPIRES", "ACTOR", "ACTION", "REASON"};
    static const char *const vt[] = {"ACTION", "ROOM", "TARGET", "STATE", "YES", "NO", "DEADLINE"};
    ctl_table t;
    ctl_table_init(&t, votes ? 7 : 8, votes ? vt : st);
    json_t *list = json_object_get(root, cmd->name), *e;
    size_t i;
    json_array_foreach(list, i, e) {
        char c[8][512];
        if (votes) {
            json_t *a = json_object_get(e, "action");
            ctl_field(a, "action", c[0], sizeof c[0]);
            ctl_field(a, "room", c[1], sizeof c[1]);
            ctl_field(a, "target", c[2], sizeof c[2]);
            ctl_field(e, "state", c[3], sizeof c[3]);
            ctl_field(e, "yes", c[4], sizeof c[4]);
            ctl_field(e, "no", c[5], sizeof c[5]);
            ctl_field_time(e, "deadline_ms", 1, c[6], sizeof c[6]);
        } else {
            static const char *const keys[] = {"kind", "room", "user", "device", NULL, "actor", "action_id", "reason"};
            for (int j = 0; j < 8; j++)
                if (keys[j]) ctl_field(e, keys[j], c[j], sizeof c[j]);
            if (json_integer_value(json_object_get(e, "expires_at_ms")))
                ctl_field_time(e, "expires_at_ms", 1, c[4], sizeof c[4]);
            else
                snprintf(c[4], sizeof c[4], "never");
        }
        const char *cells[8];
        for (int j = 0; j < 8; j++) cells[j] = c[j];
        ctl_table_add(&t, cells);
    }
    if (t.nrows)
        ctl_table_print(&t, stdout);
    else
        printf("no %s\n", votes ? "open votes" : "sanctions in force");
    ctl_table_free(&t);
    json_decref(root);
    return CTL_EXIT_OK;
}

/* policy ROOM [options]: show, set (any option) or reset a room's moderation policy. */
int ctl_cmd_policy(ctl_ctx *ctx, const ctl_cmd *cmd, int argc, char **argv)
{
    enum { O_TP = 300, O_RAT, O_WIN, O_Q, O_M, O_COOL, O_TO, O_RESET };
    static const struct option opts[] = {
        CTL_GLOBAL_LONGOPTS,
        {"timeout-policy", required_argument, NULL, O_TP},
        {"ratification", required_argument, NULL, O_RAT},
        {"vote-window", required_argument, NULL, O_WIN},
        {"quorum", required_argument, NULL, O_Q},
        {"majority", required_argument, NULL, O_M},
        {"kick-cooldown", required_argument, NULL, O_COOL},
        {"timeout", required_argument, NULL, O_TO},
        {"reset", no_argument, NULL, O_RESET},
        {NULL, 0, NULL, 0},
    };
    static const char *const int_keys[] = {[O_WIN - O_TP] = "vote_window_s", [O_Q - O_TP] = "quorum_pct",
                                           [O_M - O_TP] = "majority_pct", [O_COOL - O_TP] = "kick_cooldown_s",
                                           [O_TO - O_TP] = "timeout_s"};
    json_t *body = json_object(), *root = NULL;
    int opt, rc, reset = 0;
    if (!body) return CTL_EXIT_HTTP;
    while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        int64_t v;
        switch (opt) {
        case O_TP: json_object_set_new(body, "timeout_policy", json_string(optarg)); break;
        case O_RAT: json_object_set_new(body, "ratification", json_string(optarg)); break;
        case O_WIN: case O_Q: case O_M: case O_COOL: case O_TO:
            if (ctl_parse_int(optarg, 0, 30LL * 86400, &v) < 0) {
                json_decref(body);
                return ctl_usage_error(cmd, "--%s wants a number, got '%s'", opts[opt - O_TP + 5].name, optarg);
            }
            json_object_set_new(body, int_keys[opt - O_TP], json_integer(v));
            break;
        case O_RESET: reset = 1; break;
        default:
            if ((rc = ctl_common_opt(ctx, cmd, opt, argc, argv)) != CTL_CONTINUE) {
                json_decref(body);
                return rc;
            }
        }
    }
    if (argc - optind != 1) {
        json_decref(body);
        return ctl_usage_error(cmd, argc == optind ? "missing ROOM" : "unexpected argument '%s'", argv[argc - 1]);
    }
    char path[512], enc[400];
    if (hx_url_encode(argv[optind], enc, sizeof enc) < 0) {
        json_decref(body);
        return ctl_usage_error(cmd, "room name too long");
    }
    snprintf(path, sizeof path, "/v1/admin/rooms/%s/policy", enc);
    if (reset)
        rc = ctl_call(ctx, "DELETE", path, NULL, &root);
    else if (json_object_size(body))
        rc = ctl_call(ctx, "POST", path, body, &root);
    else
        rc = ctl_call(ctx, "GET", path, NULL, &root);
    json_decref(body);
    if (rc == 0 && root) {
        json_t *p = json_object_get(root, "policy");
        const char *key;
        json_t *v;
        printf("%-17s %s\n", "room", argv[optind]);
        printf("%-17s %s\n", "own policy", json_is_true(json_object_get(root, "custom")) ? "yes" : "no (the server's)");
        json_object_foreach(p, key, v) {
            char buf[128];
            ctl_field(p, key, buf, sizeof buf);
            printf("%-17s %s\n", key, buf);
        }
    }
    json_decref(root);
    return rc;
}
