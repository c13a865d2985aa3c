/*
 * The commands that change something: ticket, revoke, reload-keys, drain, close.
 *
 * Each builds one JSON request body from its options, POSTs it, and prints
 * the outcome in a sentence or a short key/value block. Only what the
 * operator asked for goes into a body: absent options are left to the
 * server's defaults (device, grants, protocol version, not_before) rather
 * than restated here, so there is one place those defaults live.
 */
#include "ctl/ctl.h"

#include <string.h>

/* "key   value" lines for the members of a ticket answer that are present. */
static void print_ticket(const json_t *t)
{
    static const struct {
        const char *key, *label;
        int time;
    } rows[] = {
        {"ticket", "ticket", 0},
        {"room", "room", 0},
        {"user", "user", 0},
        {"device", "device", 0},
        {"protocol_version", "protocol version", 0},
        {"expires_at", "expires", 1},
        {"grants", "grants", 0},
        {"signal_url", "signal url", 0},
    };
    char buf[4096];

    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        if (rows[i].time)
            ctl_field_time(t, rows[i].key, 0, buf, sizeof buf);
        else
            ctl_field(t, rows[i].key, buf, sizeof buf);
        if (!buf[0]) continue;
        printf("%-17s ", rows[i].label);
        ctl_print_safe(stdout, buf);
        putchar('\n');
    }
}

int ctl_cmd_ticket(ctl_ctx *ctx, const ctl_cmd *cmd, int argc, char **argv)
{
    enum { O_USER = 300, O_DEVICE, O_SID, O_NO_PUB, O_NO_SUB, O_NO_DATA, O_MOD, O_PROTO };
    static const struct option opts[] = {
        CTL_GLOBAL_LONGOPTS,
        {"user", required_argument, NULL, O_USER},
        {"device", required_argument, NULL, O_DEVICE},
        {"sid", required_argument, NULL, O_SID},
        {"no-publish", no_argument, NULL, O_NO_PUB},
        {"no-subscribe", no_argument, NULL, O_NO_SUB},
        {"no-data", no_argument, NULL, O_NO_DATA},
        {"moderate", no_argument, NULL, O_MOD},
        {"protocol-version", required_argument, NULL, O_PROTO},
        {NULL, 0, NULL, 0},
    };
    const char *user = NULL, *device = NULL, *sid = NULL;
    int publish = 1, subscribe = 1, data = 1, moderate = 0, grants_set = 0;
    int64_t version = 0;
    json_t *body, *root = NULL;
    int opt, rc;

    while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (opt) {
        case O_USER:
            user = optarg;
            break;
        case O_DEVICE:
            device = optarg;
            break;
        case O_SID:
            sid = optarg;
            break;
        case O_NO_PUB:
            publish = 0, grants_set = 1;
            break;
        case O_NO_SUB:
            subscribe = 0, grants_set = 1;
            break;
        case O_NO_DATA:
            data = 0, grants_set = 1;
            break;
        case O_MOD:
            moderate = 1, grants_set = 1;
            break;
        case O_PROTO:
            if (ctl_parse_int(optarg, 1, 65535, &version) < 0)
                return ctl_usage_error(cmd, "--protocol-version wants a positive number, got '%s'",
                                       optarg);
            break;
        default:
            if ((rc = ctl_common_opt(ctx, cmd, opt, argc, argv)) != CTL_CONTINUE) return rc;
        }
    }
    if (optind >= argc) return ctl_usage_error(cmd, "missing ROOM");
    if (optind + 1 < argc)
        return ctl_usage_error(cmd, "unexpected argument '%s'", argv[optind + 1]);
    if (!user || !*user) return ctl_usage_error(cmd, "--user is required");

    if (!(body = json_object())) return CTL_EXIT_HTTP;
    rc = ctl_set_str(body, "room", argv[optind]) | ctl_set_str(body, "user", user) |
         ctl_set_str(body, "device", device) | ctl_set_str(body, "sid", sid);
    if (grants_set)
        rc |= json_object_set_new(body, "grants",
                                  json_pack("{sbsbsbsb}", "publish", publish, "subscribe",
                                            subscribe, "data", data, "moderate", moderate));
    if (version) rc |= json_object_set_new(body, "protocol_version", json_integer(version));
    if (rc == 0)
        rc = ctl_call(ctx, "POST", "/v1/admin/join-tickets", body, &root);
    else /* json_string refuses invalid UTF-8 */
        rc = ctl_usage_error(cmd, "arguments must be valid UTF-8");
    json_decref(body);
    if (rc == 0 && root) print_ticket(root);
    json_decref(root);
    return rc;
}

static void print_revoked(const json_t *root, const char *kind, const char *value)
{
    const json_t *rv = json_object_get(root, "revocation");
    const json_t *nb = json_object_get(rv, "not_before");
    char k[64], v[1024], when[64], n[32];

    ctl_field(rv, "kind", k, sizeof k);
    ctl_field(rv, "value", v, sizeof v);
    ctl_field(root, "disconnected", n, sizeof n);
    printf("revoked %s ", k[0] ? k : kind);
    ctl_print_safe(stdout, v[0] ? v : value);
    if (json_is_number(nb) && json_number_value(nb) > 0) {
        ctl_field_time(rv, "not_before", 0, when, sizeof when);
        printf(" (tokens issued before %s)", when);
    }
    printf("; %s live session%s disconnected\n", n[0] ? n : "?", strcmp(n, "1") ? "s" : "");
}

int ctl_cmd_revoke(ctl_ctx *ctx, const ctl_cmd *cmd, int argc, char **argv)
{
    enum { O_NOT_BEFORE = 300, O_REASON };
    static const struct option opts[] = {
        CTL_GLOBAL_LONGOPTS,
        {"not-before", required_argument, NULL, O_NOT_BEFORE},
        {"reason", required_argument, NULL, O_REASON},
        {NULL, 0, NULL, 0},
    };
    const char *reason = NULL, *kind, *value;
    int64_t not_before = -1;
    json_t *body, *root = NULL;
    int opt, rc;

    while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (opt) {
        case O_NOT_BEFORE:
            if (ctl_parse_int(optarg, 0, INT64_C(1) << 40, &not_before) < 0)
                return ctl_usage_error(cmd, "--not-before wants Unix seconds, got '%s'", optarg);
            break;
        case O_REASON:
            reason = optarg;
            break;
        default:
            if ((rc = ctl_common_opt(ctx, cmd, opt, argc, argv)) != CTL_CONTINUE) return rc;
        }
    }
    if (argc - optind < 2)
        return ctl_usage_error(cmd, argc == optind ? "revoke what? jti, sid or user"
                                                   : "missing the ID to revoke");
    if (argc - optind > 2)
        return ctl_usage_error(cmd, "unexpected argument '%s'", argv[optind + 2]);
    kind = argv[optind];
    value = argv[optind + 1];
    if (strcmp(kind, "jti") != 0 && strcmp(kind, "sid") != 0 && strcmp(kind, "user") != 0)
        return ctl_usage_error(cmd, "revoke what? jti, sid or user, not '%s'", kind);
    if (!*value) return ctl_usage_error(cmd, "the ID to revoke is empty");
    if (not_before >= 0 && strcmp(kind, "user") != 0)
        return ctl_usage_error(cmd, "--not-before applies to 'revoke user' only");

    if (!(body = json_object())) return CTL_EXIT_HTTP;
    rc = ctl_set_str(body, kind, value) | ctl_set_str(body, "reason", reason);
    if (not_before >= 0) rc |= json_object_set_new(body, "not_before", json_integer(not_before));
    if (rc == 0)
        rc = ctl_call(ctx, "POST", "/v1/admin/revocations", body, &root);
    else
        rc = ctl_usage_error(cmd, "arguments must be valid UTF-8");
    json_decref(body);
    if (rc == 0 && root) print_revoked(root, kind, value);
    json_decref(root);
    return rc;
}

int ctl_cmd_reload_keys(ctl_ctx *ctx, const ctl_cmd *cmd, int argc, char **argv)
{
    char n[32];
    json_t *root;
    int rc;

    if ((rc = ctl_parse_plain(ctx, cmd, argc, argv, 0, NULL)) != CTL_CONTINUE) return rc;
    if ((rc = ctl_call(ctx, "POST", "/v1/admin/keys/reload", NULL, &root)) != 0 || !root) return rc;
    ctl_field(root, "keys", n, sizeof n);
    printf("reloaded the JWKS: %s key%s\n", n[0] ? n : "?", strcmp(n, "1") ? "s" : "");
    json_decref(root);
    return CTL_EXIT_OK;
}

int ctl_cmd_drain(ctl_ctx *ctx, const ctl_cmd *cmd, int argc, char **argv)
{
    char n[32], retry[32], timeout[32];
    json_t *root;
    int rc;

    if ((rc = ctl_parse_plain(ctx, cmd, argc, argv, 0, NULL)) != CTL_CONTINUE) return rc;
    if ((rc = ctl_call(ctx, "POST", "/v1/admin/drain", NULL, &root)) != 0 || !root) return rc;
    ctl_field(root, "sessions", n, sizeof n);
    ctl_field(root, "retry_after_ms", retry, sizeof retry);
    ctl_field(root, "timeout_ms", timeout, sizeof timeout);
    printf("draining: %s session%s told to resume after %s ms; hearthd exits within %s ms\n",
           n[0] ? n : "?", strcmp(n, "1") ? "s" : "", retry, timeout);
    json_decref(root);
    return CTL_EXIT_OK;
}

int ctl_cmd_close(ctl_ctx *ctx, const ctl_cmd *cmd, int argc, char **argv)
{
    const char *reason;
    char room[3 * 128 + 1], path[512], n[32];
    json_t *body, *root = NULL;
    int rc;

    if ((rc = ctl_parse_reason(ctx, cmd, argc, argv, &reason)) != CTL_CONTINUE) return rc;
    if (argc - optind != 1)
        return ctl_usage_error(cmd, argc == optind ? "missing ROOM" : "unexpected argument '%s'",
                               argv[argc - 1]);
    if (!argv[optind][0] || hx_url_encode(argv[optind], room, sizeof room) < 0)
        return ctl_usage_error(cmd, "a room name is 1-128 bytes");
    snprintf(path, sizeof path, "/v1/admin/rooms/%s/close", room);
    if (!(body = json_object())) return CTL_EXIT_HTTP;
    if (ctl_set_str(body, "reason", reason) == 0)
        rc = ctl_call(ctx, "POST", path, body, &root);
    else
        rc = ctl_usage_error(cmd, "arguments must be valid UTF-8");
    json_decref(body);
    if (rc == 0 && root) {
        ctl_field(root, "disconnected", n, sizeof n);
        printf("closed room ");
        ctl_print_safe(stdout, argv[optind]);
        printf(": %s participant%s disconnected\n", n[0] ? n : "?", strcmp(n, "1") ? "s" : "");
    }
    json_decref(root);
    return rc;
}
