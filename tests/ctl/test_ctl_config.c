/*
 * Unit tests for where hearthctl finds hearthd (src/ctl/ctl_config.c, included to reach its
 * statics: hearthctl's files are not in the library): the URL from hearthd's `listen` (a
 * wildcard becomes loopback, IPv6 in brackets), https and the certificate trusted with
 * tls.cert_file, admin_key and data_dir from the file, and the order flags > --config >
 * environment > defaults.
 */
#include "ctl/ctl_config.c"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

/* hearthctl.c's, which prints; here only the exit status matters. */
int ctl_usage_error(const ctl_cmd *cmd, const char *fmt, ...)
{
    (void)cmd;
    (void)fmt;
    return CTL_EXIT_USAGE;
}

static char conf[] = "/tmp/hearthctl-conf-XXXXXX";

static void write_conf(const char *text)
{
    int fd = mkstemp(conf);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

static int resolve(ctl_ctx *ctx, const char *text)
{
    memset(ctx, 0, sizeof *ctx);
    snprintf(conf, sizeof conf, "/tmp/hearthctl-conf-XXXXXX");
    write_conf(text);
    ctx->config = conf;
    int rc = ctl_resolve(ctx);
    unlink(conf);
    return rc;
}

static void test_from_file(void **state)
{
    (void)state;
    ctl_ctx ctx;
    unsetenv("HEARTH_URL");
    unsetenv("HEARTH_ADMIN_KEY");
    unsetenv("HEARTH_CACERT");
    assert_int_equal(resolve(&ctx, "listen = 0.0.0.0:7999\nadmin_key = 0123456789abcdefXYZ\n"
                                   "data_dir = /var/lib/hearth\n"),
                     0);
    assert_string_equal(ctx.url, "http://127.0.0.1:7999");
    assert_string_equal(ctx.admin_key, "0123456789abcdefXYZ");
    assert_string_equal(ctx.data_dir, "/var/lib/hearth");
    assert_null(ctx.cacert);

    assert_int_equal(resolve(&ctx, "listen = [::]:8443\n[tls]\ncert_file = /etc/h/c.pem\n"
                                   "key_file = /etc/h/k.pem\n"),
                     0);
    assert_string_equal(ctx.url, "https://[::1]:8443");
    assert_string_equal(ctx.cacert, "/etc/h/c.pem");
    assert_null(ctx.admin_key); /* none in the file: admin.key in the data dir */
    assert_string_equal(ctx.data_dir, "./hearth-data");

    assert_int_equal(resolve(&ctx, "listen = 10.0.0.5:443\n"), 0);
    assert_string_equal(ctx.url, "http://10.0.0.5:443");
}

static void test_order(void **state)
{
    (void)state;
    ctl_ctx ctx;
    /* The environment is below the file... */
    setenv("HEARTH_URL", "http://env:1", 1);
    setenv("HEARTH_ADMIN_KEY", "env-key", 1);
    assert_int_equal(resolve(&ctx, "listen = 127.0.0.1:7000\n"), 0);
    assert_string_equal(ctx.url, "http://127.0.0.1:7000");
    assert_string_equal(ctx.admin_key, "env-key"); /* the file has none */

    /* ... and flags above it: a flag's URL keeps the file's certificate out too. */
    memset(&ctx, 0, sizeof ctx);
    ctx.url = "https://flag:2";
    ctx.admin_key = "flag-key";
    snprintf(conf, sizeof conf, "/tmp/hearthctl-conf-XXXXXX");
    write_conf("listen = 127.0.0.1:7000\nadmin_key = file-key-0123456789\n[tls]\n"
               "cert_file = /c.pem\nkey_file = /k.pem\n");
    ctx.config = conf;
    assert_int_equal(ctl_resolve(&ctx), 0);
    unlink(conf);
    assert_string_equal(ctx.url, "https://flag:2");
    assert_string_equal(ctx.admin_key, "flag-key");
    assert_null(ctx.cacert);

    /* Without --config: the environment, then the defaults. */
    memset(&ctx, 0, sizeof ctx);
    assert_int_equal(ctl_resolve(&ctx), 0);
    assert_string_equal(ctx.url, "http://env:1");
    unsetenv("HEARTH_URL");
    unsetenv("HEARTH_ADMIN_KEY");
    memset(&ctx, 0, sizeof ctx);
    assert_int_equal(ctl_resolve(&ctx), 0);
    assert_string_equal(ctx.url, CTL_DEFAULT_URL);
    assert_string_equal(ctx.data_dir, CTL_DEFAULT_DATA_DIR);
    assert_null(ctx.admin_key);
}

static void test_bad_file(void **state)
{
    (void)state;
    ctl_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.config = "/nonexistent/hearthd.conf";
    assert_int_equal(ctl_resolve(&ctx), CTL_EXIT_USAGE);
    assert_int_equal(resolve(&ctx, "listen = nonsense\n"), CTL_EXIT_USAGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_from_file),
        cmocka_unit_test(test_order),
        cmocka_unit_test(test_bad_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
