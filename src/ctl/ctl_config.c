/*
 * Where hearthd is and how to talk to it. Each setting comes from the first
 * of: its flag (--url, --admin-key, --data-dir, --cacert), hearthd's own
 * configuration file given with --config, the environment (HEARTH_URL,
 * HEARTH_ADMIN_KEY, HEARTH_CACERT), the default.
 *
 * From --config, read with hearthd's parser (config/config.h, the same
 * profile defaults and keys): `listen` gives the URL (a wildcard address
 * becomes loopback), https when tls.cert_file is set, and that certificate
 * is then trusted (a self-signed one works; curl accepts a trust anchor that
 * is not a root); admin_key, else data_dir where admin.key is. Relative
 * paths in the file are taken from hearthctl's working directory.
 */
#include "config/config.h"
#include "ctl/ctl.h"

#include <stdlib.h>
#include <string.h>

static const char *env_or(const char *name, const char *dflt)
{
    const char *v = getenv(name);
    return v && *v ? v : dflt;
}

/* The URL of the listener cfg describes, for a client on this machine. */
static int listen_url(const hx_config *cfg, char *buf, size_t len)
{
    const char *host = cfg->listen_host;
    if (!*host || !strcmp(host, "0.0.0.0")) host = "127.0.0.1";
    if (!strcmp(host, "::")) host = "::1";
    int v6 = strchr(host, ':') != NULL;
    int n = snprintf(buf, len, "%s://%s%s%s:%d", cfg->tls_cert[0] ? "https" : "http", v6 ? "[" : "",
                     host, v6 ? "]" : "", cfg->listen_port);
    return n < 0 || (size_t)n >= len ? -1 : 0;
}

static int from_config(ctl_ctx *ctx)
{
    char err[512], *argv[] = {"hearthctl", "--config", (char *)ctx->config, NULL};
    hx_config *cfg = calloc(1, sizeof *cfg);
    int rc = 0;

    if (!cfg) return ctl_usage_error(NULL, "out of memory");
    if (hx_config_from_args(cfg, 3, argv, err, sizeof err) != HX_CLI_RUN) {
        rc = ctl_usage_error(NULL, "--config: %s", err);
        goto out;
    }
    if (!ctx->url) {
        if (listen_url(cfg, ctx->url_buf, sizeof ctx->url_buf) < 0) {
            rc = ctl_usage_error(NULL, "--config: the listen address is too long");
            goto out;
        }
        ctx->url = ctx->url_buf;
        if (!ctx->cacert && cfg->tls_cert[0]) {
            snprintf(ctx->cacert_buf, sizeof ctx->cacert_buf, "%s", cfg->tls_cert);
            ctx->cacert = ctx->cacert_buf;
        }
    }
    if (!ctx->admin_key && cfg->admin_key[0]) {
        snprintf(ctx->key_buf, sizeof ctx->key_buf, "%s", cfg->admin_key);
        ctx->admin_key = ctx->key_buf;
    }
    if (!ctx->data_dir && cfg->data_dir[0]) {
        snprintf(ctx->dir_buf, sizeof ctx->dir_buf, "%s", cfg->data_dir);
        ctx->data_dir = ctx->dir_buf;
    }
out:
    free(cfg);
    return rc;
}

int ctl_resolve(ctl_ctx *ctx)
{
    int rc;

    if (ctx->resolved) return 0;
    ctx->resolved = 1;
    if (ctx->config && (rc = from_config(ctx)) != 0) return rc;
    if (!ctx->url) ctx->url = env_or("HEARTH_URL", CTL_DEFAULT_URL);
    if (!ctx->admin_key) ctx->admin_key = env_or("HEARTH_ADMIN_KEY", NULL);
    if (!ctx->cacert) ctx->cacert = env_or("HEARTH_CACERT", NULL);
    if (!ctx->data_dir) ctx->data_dir = CTL_DEFAULT_DATA_DIR;
    return 0;
}
