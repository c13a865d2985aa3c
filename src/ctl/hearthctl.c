/*
 * hearthctl: the operator's command line over hearthd's admin API
 * (docs/admin-api.md).
 *
 *   hearthctl [global options] COMMAND [args and options]
 *
 * Parsing happens twice with getopt_long: first the global options up to the
 * command name ("+" stops there), then the command's own options, where the
 * global ones are accepted again so `hearthctl rooms --json` works. Each
 * command's usage text lives in the table below, next to the function that
 * runs it, so `--help`, `help CMD` and `CMD --help` all print the same thing.
 *
 * Exit status: 0 ok, 1 the server answered with an error, 2 usage error,
 * 3 no answer (connection refused, timeout, garbage).
 */
#include "ctl/ctl.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#ifndef HX_VERSION
#define HX_VERSION "0"
#endif

#define GLOBAL_HINT                                                                                \
    "\nGlobal options (--url, --config, --admin-key, --data-dir, --cacert, --insecure,\n"          \
    "--json): see 'hearthctl --help'.\n"

const ctl_cmd ctl_commands[] = {
    {"ticket", "ticket ROOM --user U", "mint a join ticket for a user",
     "usage: hearthctl ticket ROOM --user USER [options]\n"
     "\n"
     "Mint a join ticket for USER in ROOM, as the platform's backend would\n"
     "(POST /v1/admin/join-tickets). It is valid for 30 seconds, usable once.\n"
     "\n"
     "  --user USER             the user the ticket is for (required)\n"
     "  --device DEVICE         the device id (server default: \"default\")\n"
     "  --sid SID               the platform session to bind the ticket to\n"
     "  --no-publish            do not grant publish\n"
     "  --no-subscribe          do not grant subscribe\n"
     "  --no-data               do not grant data\n"
     "  --moderate              grant moderate\n"
     "  --protocol-version N    bind the ticket to protocol version N (default: the newest)\n"
     "\n"
     "Grants default to publish, subscribe and data.\n" GLOBAL_HINT,
     ctl_cmd_ticket, "POST /v1/admin/join-tickets"},
    {"rooms", "rooms", "list the live rooms",
     "usage: hearthctl rooms\n"
     "\n"
     "List the live rooms: name, participants/maximum, creation time (UTC)\n"
     "(GET /v1/admin/rooms).\n" GLOBAL_HINT,
     ctl_cmd_rooms, "GET /v1/admin/rooms"},
    {"nodes", "nodes", "list the nodes on the Redis bus",
     "usage: hearthctl nodes\n"
     "\n"
     "List the nodes alive on the Redis bus (cluster.redis) as this node last\n"
     "read the registry: id, URL, live sessions, rooms, draining\n"
     "(GET /v1/admin/nodes).\n" GLOBAL_HINT,
     ctl_cmd_nodes, "GET /v1/admin/nodes"},
    {"participants", "participants ROOM", "list the participants of a room",
     "usage: hearthctl participants ROOM\n"
     "\n"
     "List who is in ROOM: participant id, user, device, platform session,\n"
     "protocol version, join time (UTC) and grants\n"
     "(GET /v1/admin/rooms/ROOM/participants).\n" GLOBAL_HINT,
     ctl_cmd_participants, "GET /v1/admin/rooms/{room}/participants"},
    {"close", "close ROOM", "disconnect everyone in a room",
     "usage: hearthctl close ROOM [--reason TEXT]\n"
     "\n"
     "Close ROOM (POST /v1/admin/rooms/ROOM/close): everyone in it, connected or\n"
     "away awaiting a resume, is told `disconnect` room_closed and closed with\n"
     "4008; nobody resumes into it. Recorded as room.close in the audit trail.\n"
     "A new ticket may open the room again: to keep someone out, ban them.\n"
     "\n"
     "  --reason TEXT   sent to the participants and recorded\n" GLOBAL_HINT,
     ctl_cmd_close, "POST /v1/admin/rooms/{room}/close"},
    {"revoke", "revoke jti|sid|user ID", "revoke a token, a platform session or a user",
     "usage: hearthctl revoke jti ID [--reason TEXT]\n"
     "       hearthctl revoke sid ID [--reason TEXT]\n"
     "       hearthctl revoke user ID [--not-before UNIX] [--reason TEXT]\n"
     "\n"
     "Revoke one token (by its jti), one platform session (sid), or every token\n"
     "of a user issued before a time (POST /v1/admin/revocations). Matching live\n"
     "sessions are disconnected at once; later joins with a match are refused.\n"
     "\n"
     "  --not-before UNIX   user only: revoke tokens issued before this Unix time\n"
     "                      in seconds (default: now)\n"
     "  --reason TEXT       recorded with the revocation and in the audit trail\n" GLOBAL_HINT,
     ctl_cmd_revoke, "POST /v1/admin/revocations"},
    {"revocations", "revocations", "list the revocations in force",
     "usage: hearthctl revocations\n"
     "\n"
     "List the revocations in force: kind, value, not-before (user revocations),\n"
     "creation time and reason (GET /v1/admin/revocations).\n" GLOBAL_HINT,
     ctl_cmd_revocations, "GET /v1/admin/revocations"},
    {"events", "events", "show the audit trail, oldest first",
     "usage: hearthctl events [--kind K] [--room R] [--user U] [--after ID] [--limit N]\n"
     "\n"
     "Show the audit trail, oldest first (GET /v1/admin/events).\n"
     "\n"
     "  --kind K      only events of this kind (session.join, revocation, ...)\n"
     "  --room R      only events in room R\n"
     "  --user U      only events of user U\n"
     "  --after ID    only events after event ID (to page on)\n"
     "  --limit N     at most N events (the server's default and cap apply)\n" GLOBAL_HINT,
     ctl_cmd_events, "GET /v1/admin/events"},
    {"unrevoke", "unrevoke jti|sid|user ID", "lift a revocation",
     "usage: hearthctl unrevoke jti|sid|user ID [--reason TEXT]\n"
     "\n"
     "Lift a revocation (POST /v1/admin/unrevoke): the user, session or token may\n"
     "get tickets and join again. Recorded in the audit trail.\n" GLOBAL_HINT,
     ctl_cmd_unrevoke, "POST /v1/admin/unrevoke"},
    {"mute", "mute ROOM TRACK", "stop forwarding a track",
     "usage: hearthctl mute ROOM TRACK [--reason TEXT]\n"
     "       hearthctl unmute ROOM TRACK [--reason TEXT]\n"
     "\n"
     "Stop (or resume) forwarding one published track to the room\n"
     "(POST /v1/admin/moderation). The publisher and the room are told.\n" GLOBAL_HINT,
     ctl_cmd_moderate, "POST /v1/admin/moderation"},
    {"unmute", "unmute ROOM TRACK", "resume forwarding a muted track",
     "usage: hearthctl unmute ROOM TRACK [--reason TEXT]\n" GLOBAL_HINT, ctl_cmd_moderate,
     "POST /v1/admin/moderation"},
    {"timeout", "timeout ROOM USER", "let a user only listen for a while",
     "usage: hearthctl timeout ROOM USER [--duration S] [--device D] [--reason TEXT]\n"
     "       hearthctl timeout ROOM --participant P [...]\n"
     "\n"
     "Time a user out in ROOM (POST /v1/admin/moderation). Under the default\n"
     "policy listen_only they stay and hear the others, their tracks stop and\n"
     "publishing is refused; under deny_join they are disconnected and kept out.\n"
     "It ends by itself after --duration seconds (default: the policy's).\n" GLOBAL_HINT,
     ctl_cmd_moderate, "POST /v1/admin/moderation"},
    {"untimeout", "untimeout ROOM USER", "end a timeout early",
     "usage: hearthctl untimeout ROOM USER [--device D] [--reason TEXT]\n" GLOBAL_HINT,
     ctl_cmd_moderate, "POST /v1/admin/moderation"},
    {"kick", "kick ROOM USER", "disconnect a user and keep them out for a while",
     "usage: hearthctl kick ROOM USER [--duration S] [--reason TEXT]\n"
     "       hearthctl kick ROOM --participant P [...]\n"
     "\n"
     "Disconnect USER from ROOM now (media and socket) and refuse their tickets\n"
     "and joins for a cooldown of --duration seconds (default: the policy's).\n"
     "An operator's kick is not put to a vote.\n" GLOBAL_HINT,
     ctl_cmd_moderate, "POST /v1/admin/moderation"},
    {"ban", "ban [USER] [--device D]", "ban a user and/or a device",
     "usage: hearthctl ban [USER] [--device D] [--room R] [--duration S] [--reason TEXT]\n"
     "\n"
     "Ban a user, a device, or a user on one device, from ROOM (default: every\n"
     "room), until unbanned or for --duration seconds. Present sessions are\n"
     "disconnected; the ban survives restarts.\n" GLOBAL_HINT,
     ctl_cmd_moderate, "POST /v1/admin/moderation"},
    {"unban", "unban [USER] [--device D]", "lift a ban",
     "usage: hearthctl unban [USER] [--device D] [--room R] [--reason TEXT]\n" GLOBAL_HINT,
     ctl_cmd_moderate, "POST /v1/admin/moderation"},
    {"sanctions", "sanctions", "list bans, timeouts and kick cooldowns in force",
     "usage: hearthctl sanctions [--room R]\n"
     "\n"
     "List the sanctions in force (GET /v1/admin/moderation/sanctions).\n" GLOBAL_HINT,
     ctl_cmd_mod_list, "GET /v1/admin/moderation/sanctions"},
    {"votes", "votes", "list the open moderation votes",
     "usage: hearthctl votes [--room R]\n"
     "\n"
     "List the open votes (GET /v1/admin/moderation/votes).\n" GLOBAL_HINT,
     ctl_cmd_mod_list, "GET /v1/admin/moderation/votes"},
    {"audit", "audit verify|export", "check the audit trail's hash chains, export it",
     "usage: hearthctl audit verify [ROOM]\n"
     "       hearthctl audit export [--room R] [--user U] [--kind K] [--since MS] [--until MS]\n"
     "\n"
     "verify: check the hash chains of the audit trail, every room's or ROOM's\n"
     "('(server)' for the events without a room) (GET /v1/admin/audit/verify).\n"
     "Exit status 0 when they hold; 1 with one line per problem naming the room,\n"
     "the event id, its seq and what is wrong: changed, missing, reordered,\n"
     "head_mismatch or anchor_mismatch.\n"
     "\n"
     "export: write the audit trail to stdout as JSON lines, one event per line,\n"
     "oldest first, with its chain fields (seq, hashes); every page of\n"
     "GET /v1/admin/events.\n"
     "\n"
     "  --room R      only events in room R\n"
     "  --user U      only events of user U\n"
     "  --kind K      only events of this kind (session.join, revocation, ...)\n"
     "  --since MS    only events at or after this Unix time in milliseconds\n"
     "  --until MS    only events at or before this Unix time in milliseconds\n" GLOBAL_HINT,
     ctl_cmd_audit, "GET /v1/admin/audit/verify, GET /v1/admin/events"},
    {"policy", "policy ROOM [options]", "show or set a room's moderation policy",
     "usage: hearthctl policy ROOM                     show it\n"
     "       hearthctl policy ROOM [options]           set the fields given\n"
     "       hearthctl policy ROOM --reset             back to the server's\n"
     "\n"
     "A room's moderation policy (GET/POST/DELETE /v1/admin/rooms/ROOM/policy);\n"
     "fields not given keep the server's ([moderation] in the configuration).\n"
     "\n"
     "  --timeout-policy listen_only|deny_join\n"
     "  --ratification required|none   a moderator's kick opens a vote, or not\n"
     "  --vote-window S   --quorum PCT   --majority PCT\n"
     "  --kick-cooldown S   --timeout S (a timeout's default duration)\n" GLOBAL_HINT,
     ctl_cmd_policy,
     "GET /v1/admin/rooms/{room}/policy, POST /v1/admin/rooms/{room}/policy, DELETE "
     "/v1/admin/rooms/{room}/policy"},
    {"slo", "slo", "the service level indicators against their targets",
     "usage: hearthctl slo\n"
     "\n"
     "Print each service level indicator of DESIGN §8 (docs/slo.md) from\n"
     "GET /metrics, which needs no admin key: its value since hearthd started,\n"
     "its target, and ok, below target, or no data (nothing counted yet).\n"
     "\n"
     "  join_success             joins whose media connected within 5 s of\n"
     "                           their first offer\n"
     "  reconnect_success        resumes after a drop or a restart that worked\n"
     "  forced_disconnect_media  kick, ban or revocation to media stopped (p99)\n"
     "  forced_disconnect_close  the same to the connection closed (p99)\n"
     "  negotiation_errors       offers the server failed\n"
     "\n"
     "Exit status 0 whatever the values say; --json prints one JSON object.\n" GLOBAL_HINT,
     ctl_cmd_slo, "GET /metrics"},
    {"reload-keys", "reload-keys", "reload the JWKS file",
     "usage: hearthctl reload-keys\n"
     "\n"
     "Reload the platform's signing keys from the JWKS file\n"
     "(POST /v1/admin/keys/reload), like SIGHUP. A bad file is refused and the\n"
     "old keys stay.\n" GLOBAL_HINT,
     ctl_cmd_reload_keys, "POST /v1/admin/keys/reload"},
    {"drain", "drain", "stop hearthd gracefully: clients resume after the restart",
     "usage: hearthctl drain\n"
     "\n"
     "What SIGTERM does (POST /v1/admin/drain): joins are refused, every joined\n"
     "client is told to resume after a delay and disconnected (1001), the\n"
     "sessions stay in the store for the restart window, and hearthd exits\n"
     "within resume.drain_timeout_ms (docs/protocol.md section 2.4).\n" GLOBAL_HINT,
     ctl_cmd_drain, "POST /v1/admin/drain"},
    {"completion", "completion bash", "print a bash completion script",
     "usage: hearthctl completion bash\n"
     "\n"
     "Print a bash completion script for hearthctl, made from the command table\n"
     "(commands, their options and words). Load it with\n"
     "  source <(hearthctl completion bash)\n"
     "or save it as /usr/share/bash-completion/completions/hearthctl.\n",
     ctl_cmd_completion, NULL},
    {"man", "man", "print the manual page (roff)",
     "usage: hearthctl man\n"
     "\n"
     "Print hearthctl's manual page in roff, made from the command table\n"
     "(docs/hearthctl.1 is its output). Read it with: hearthctl man | man -l -\n",
     ctl_cmd_man, NULL},
};

const size_t ctl_n_commands = sizeof ctl_commands / sizeof ctl_commands[0];
#define N_COMMANDS ctl_n_commands

void ctl_print_main_usage(FILE *f)
{
    fputs("usage: hearthctl [options] COMMAND [args]\n"
          "\n"
          "Operate a running hearthd through its admin API.\n"
          "\n"
          "Commands:\n",
          f);
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(f, "  %-26s %s\n", ctl_commands[i].synopsis, ctl_commands[i].summary);
    fputs("  help COMMAND               show a command's options\n"
          "\n"
          "Options (before or after the command):\n"
          "  --url URL         hearthd's address (default: $HEARTH_URL, else " CTL_DEFAULT_URL ")\n"
          "  --admin-key KEY   the admin key (default: $HEARTH_ADMIN_KEY, else read from\n"
          "                    the data dir; prefer those: a key on the command line\n"
          "                    is visible to other local users)\n"
          "  --data-dir DIR    read DIR/admin.key when no key was given\n"
          "                    (default: " CTL_DEFAULT_DATA_DIR ")\n"
          "  --cacert FILE     trust this CA (PEM) for an https:// URL (default:\n"
          "                    $HEARTH_CACERT, else the system's CAs)\n"
          "  --insecure        https: do not check the server's certificate (testing only)\n"
          "  --config FILE     hearthd's configuration file: its listen address, tls\n"
          "                    (https, its certificate trusted), admin_key and data_dir\n"
          "  --json            print the server's raw JSON answer\n"
          "  -h, --help        show this help\n"
          "  --version         print the version\n"
          "\n"
          "Flags come first, then --config's file, then the environment (HEARTH_URL,\n"
          "HEARTH_ADMIN_KEY, HEARTH_CACERT), then the defaults.\n"
          "\n"
          "Exit status: 0 ok, 1 the server answered with an error, 2 usage error,\n"
          "3 the server could not be reached.\n",
          f);
}

static const ctl_cmd *find_command(const char *name)
{
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(ctl_commands[i].name, name) == 0) return &ctl_commands[i];
    return NULL;
}

int ctl_usage_error(const ctl_cmd *cmd, const char *fmt, ...)
{
    va_list ap;

    fputs(cmd ? "hearthctl " : "hearthctl", stderr);
    if (cmd) fputs(cmd->name, stderr);
    fputs(": ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    if (cmd)
        fprintf(stderr, "\nTry 'hearthctl help %s'.\n", cmd->name);
    else
        fputs("\nTry 'hearthctl --help'.\n", stderr);
    return CTL_EXIT_USAGE;
}

int ctl_common_opt(ctl_ctx *ctx, const ctl_cmd *cmd, int opt, int argc, char **argv)
{
    const char *arg = optind > 0 && optind <= argc ? argv[optind - 1] : "?";

    switch (opt) {
    case CTL_OPT_URL:
        ctx->url = optarg;
        return CTL_CONTINUE;
    case CTL_OPT_ADMIN_KEY:
        ctx->admin_key = optarg;
        return CTL_CONTINUE;
    case CTL_OPT_DATA_DIR:
        ctx->data_dir = optarg;
        return CTL_CONTINUE;
    case CTL_OPT_JSON:
        ctx->json = 1;
        return CTL_CONTINUE;
    case CTL_OPT_CACERT:
        ctx->cacert = optarg;
        return CTL_CONTINUE;
    case CTL_OPT_INSECURE:
        ctx->insecure = 1;
        return CTL_CONTINUE;
    case CTL_OPT_CONFIG:
        ctx->config = optarg;
        return CTL_CONTINUE;
    case 'h':
        if (cmd)
            fputs(cmd->usage, stdout);
        else
            ctl_print_main_usage(stdout);
        return CTL_EXIT_OK;
    case ':':
        return ctl_usage_error(cmd, "option '%s' needs a value", arg);
    case '?':
        if (optopt > 0 && optopt < 256) return ctl_usage_error(cmd, "unknown option '-%c'", optopt);
        return ctl_usage_error(cmd, "unknown option '%s'", arg);
    default:
        return ctl_usage_error(cmd, "unexpected option '%s'", arg);
    }
}

int ctl_parse_plain(ctl_ctx *ctx, const ctl_cmd *cmd, int argc, char **argv, int npos,
                    const char *posname)
{
    static const struct option opts[] = {CTL_GLOBAL_LONGOPTS, {NULL, 0, NULL, 0}};
    int opt, rc;

    while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1)
        if ((rc = ctl_common_opt(ctx, cmd, opt, argc, argv)) != CTL_CONTINUE) return rc;
    if (argc - optind < npos)
        return ctl_usage_error(cmd, "missing %s", posname ? posname : "argument");
    if (argc - optind > npos)
        return ctl_usage_error(cmd, "unexpected argument '%s'", argv[optind + npos]);
    return CTL_CONTINUE;
}

int ctl_parse_reason(ctl_ctx *ctx, const ctl_cmd *cmd, int argc, char **argv, const char **reason)
{
    enum { O_REASON = 300 };
    static const struct option opts[] = {
        CTL_GLOBAL_LONGOPTS,
        {"reason", required_argument, NULL, O_REASON},
        {NULL, 0, NULL, 0},
    };
    int opt, rc;

    *reason = NULL;
    while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        if (opt == O_REASON)
            *reason = optarg;
        else if ((rc = ctl_common_opt(ctx, cmd, opt, argc, argv)) != CTL_CONTINUE)
            return rc;
    }
    return CTL_CONTINUE;
}

int ctl_parse_int(const char *s, int64_t min, int64_t max, int64_t *out)
{
    char *end;
    long long v;

    if (!s || !*s || isspace((unsigned char)*s)) return -1;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max) return -1;
    *out = v;
    return 0;
}

static int cmd_help(int argc, char **argv)
{
    const ctl_cmd *cmd;

    if (argc < 2) {
        ctl_print_main_usage(stdout);
        return CTL_EXIT_OK;
    }
    if (argc > 2) return ctl_usage_error(NULL, "help takes one command name");
    if (!(cmd = find_command(argv[1])))
        return ctl_usage_error(NULL, "unknown command '%s'", argv[1]);
    fputs(cmd->usage, stdout);
    return CTL_EXIT_OK;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        CTL_GLOBAL_LONGOPTS,
        {"version", no_argument, NULL, CTL_OPT_VERSION},
        {NULL, 0, NULL, 0},
    };
    ctl_ctx ctx;
    const ctl_cmd *cmd;
    int opt, rc, first;

    memset(&ctx, 0, sizeof ctx);

    opterr = 0; /* errors are reported by ctl_common_opt */
    while ((opt = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
        if (opt == CTL_OPT_VERSION) {
            printf("hearthctl %s\n", HX_VERSION);
            return CTL_EXIT_OK;
        }
        if ((rc = ctl_common_opt(&ctx, NULL, opt, argc, argv)) != CTL_CONTINUE) return rc;
    }
    if (optind >= argc) {
        ctl_print_main_usage(stderr);
        return CTL_EXIT_USAGE;
    }
    first = optind;
    if (strcmp(argv[first], "help") == 0) return cmd_help(argc - first, argv + first);
    if (!(cmd = find_command(argv[first])))
        return ctl_usage_error(NULL, "unknown command '%s'", argv[first]);
    optind = 0; /* glibc: fully restart getopt for the command's arguments */
    rc = cmd->run(&ctx, cmd, argc - first, argv + first);
    ctl_http_done(&ctx);
    return rc;
}
