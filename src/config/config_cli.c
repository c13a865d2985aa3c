/*
 * hearthd's command line. Precedence: flags > file > profile defaults. The
 * profile must be known before defaults apply, so it is resolved first
 * (--profile, else the file's `profile`, else dev), then the file is loaded,
 * then the remaining flags are applied in order.
 */
#include "config/config.h"

#include <getopt.h>
#include <string.h>

int hx_config_scan_profile(const char *path, char *out, size_t outlen, char *err, size_t errlen);

static const char usage[] =
    "usage: hearthd [options]\n"
    "  --config FILE            configuration file (docs/configuration.md)\n"
    "  --profile NAME           dev | small | standard | large (default dev)\n"
    "  --listen HOST:PORT       HTTP + WebSocket address (port 0: pick a free one)\n"
    "  --data-dir DIR           store and generated keys\n"
    "  --log-json               JSON-lines logs\n"
    "  --set SECTION.KEY=VALUE  set any configuration key (repeatable)\n"
    "  --port-file FILE         write the bound port there once listening\n"
    "  --check-config           validate, print the effective configuration, exit\n"
    "  --version                print the version\n"
    "  --help                   this text\n";

enum { O_CONFIG = 1, O_PROFILE, O_LISTEN, O_DATA, O_JSON, O_SET, O_PORTFILE, O_CHECK, O_VERSION, O_HELP };

static const struct option opts[] = {
    {"config", required_argument, 0, O_CONFIG},   {"profile", required_argument, 0, O_PROFILE},
    {"listen", required_argument, 0, O_LISTEN},   {"data-dir", required_argument, 0, O_DATA},
    {"log-json", no_argument, 0, O_JSON},         {"set", required_argument, 0, O_SET},
    {"port-file", required_argument, 0, O_PORTFILE}, {"check-config", no_argument, 0, O_CHECK},
    {"version", no_argument, 0, O_VERSION},       {"help", no_argument, 0, O_HELP},
    {0, 0, 0, 0},
};

hx_cli_action hx_config_from_args(hx_config *cfg, int argc, char **argv, char *err, size_t errlen)
{
    const char *config_file = NULL, *profile = NULL;
    hx_cli_action action = HX_CLI_RUN;
    int c;

    /* Pass 1: what decides the defaults. optind = 0, not 1, makes glibc
     * reinitialize: after a refused "-xy" it would otherwise resume inside
     * the previous argv's word. */
    opterr = 0;
    optind = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case O_CONFIG: config_file = optarg; break;
        case O_PROFILE: profile = optarg; break;
        case O_HELP: fputs(usage, stdout); return HX_CLI_EXIT_OK;
        case O_VERSION: printf("hearthd %s\n", HX_VERSION); return HX_CLI_EXIT_OK;
        case O_CHECK: action = HX_CLI_CHECK; break;
        case '?':
            /* optopt is the character of a bad short option; for long ones
             * optind has moved past the offending word. */
            if (optopt > ' ' && optopt < 0x7f)
                snprintf(err, errlen, "unknown or incomplete option '-%c' (see --help)", optopt);
            else
                snprintf(err, errlen, "unknown or incomplete option '%s' (see --help)", argv[optind - 1]);
            return HX_CLI_ERROR;
        default: break;
        }
    }
    if (optind < argc) {
        snprintf(err, errlen, "unexpected argument '%s' (see --help)", argv[optind]);
        return HX_CLI_ERROR;
    }
    char file_profile[32] = "";
    if (config_file && hx_config_scan_profile(config_file, file_profile, sizeof file_profile, err, errlen))
        return HX_CLI_ERROR; /* err names FILE:LINE, or says the file cannot be opened */
    const char *pname = profile ? profile : file_profile[0] ? file_profile : "dev";
    hx_profile p;
    if (hx_profile_parse(pname, &p)) {
        snprintf(err, errlen, "unknown profile '%s' (dev, small, standard, large)", pname);
        return HX_CLI_ERROR;
    }
    hx_config_defaults(cfg, p);
    if (config_file && hx_config_load_file(cfg, config_file, err, errlen)) return HX_CLI_ERROR;

    /* Pass 2: flags override the file, in order. */
    optind = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        const char *key = NULL;
        char kbuf[160];
        const char *val = optarg;
        switch (c) {
        case O_LISTEN: key = "listen"; break;
        case O_DATA: key = "data_dir"; break;
        case O_JSON: cfg->log_json = true; break;
        case O_PORTFILE: snprintf(cfg->port_file, sizeof cfg->port_file, "%s", optarg); break;
        case O_SET: {
            const char *eq = strchr(optarg, '=');
            if (!eq || eq == optarg || (size_t)(eq - optarg) >= sizeof kbuf) {
                snprintf(err, errlen, "--set needs SECTION.KEY=VALUE, got '%s'", optarg);
                return HX_CLI_ERROR;
            }
            memcpy(kbuf, optarg, (size_t)(eq - optarg));
            kbuf[eq - optarg] = '\0';
            if (strcmp(kbuf, "profile") == 0) {
                snprintf(err, errlen, "use --profile to choose the profile");
                return HX_CLI_ERROR;
            }
            key = kbuf;
            val = eq + 1;
            break;
        }
        default: break;
        }
        if (key && hx_config_set(cfg, key, val, err, errlen)) return HX_CLI_ERROR;
    }
    if (hx_config_validate(cfg, err, errlen)) return HX_CLI_ERROR;
    return action;
}
