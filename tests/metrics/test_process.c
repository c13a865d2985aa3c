/*
 * Unit tests for metrics/process: /proc/<pid>/stat read past a command
 * name that holds spaces and parentheses, short or garbled text refused,
 * and this process sampled for real (its CPU time grows, its descriptors
 * are counted, it started before now).
 */
#include "metrics/process.h"

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

static const char STAT[] =
    "4242 (hearth (worker) 1) S 1 4242 4242 0 -1 4194560 900 0 0 0 1234 567 0 0 20 0 3 0 "
    "98765 123456789 2048 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0 0 0 0\n";

static void test_parse(void **state)
{
    (void)state;
    hx_proc_stat st;
    assert_int_equal(hx_proc_stat_parse(STAT, strlen(STAT), &st), 0);
    assert_int_equal(st.utime, 1234);
    assert_int_equal(st.stime, 567);
    assert_int_equal(st.starttime, 98765);
    assert_int_equal(st.rss_pages, 2048);
}

static void test_refused(void **state)
{
    (void)state;
    hx_proc_stat st;
    static const char *const bad[] = {
        "",
        "4242 hearth S 1 2 3",                          /* no parentheses */
        "4242 (hearth) S 1 4242 4242 0 -1 4194560 900", /* cut before utime */
        "4242 (hearth) S 1 4242 4242 0 -1 4194560 900 0 0 0 12x4 567 0 0 20 0 3 0 9 1 2",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(hx_proc_stat_parse(bad[i], strlen(bad[i]), &st), -1);
    char big[2048];
    memset(big, '1', sizeof big);
    assert_int_equal(hx_proc_stat_parse(big, sizeof big, &st), -1);
}

static void test_self(void **state)
{
    (void)state;
    hx_proc_sample a, b;
    assert_int_equal(hx_proc_sample_get(0, &a), 0);
    volatile double x = 0;
    clock_t until = clock() + CLOCKS_PER_SEC / 5; /* 0.2 s of CPU: at least one tick */
    while (clock() < until)
        x += 1;
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(hx_proc_sample_get(0, &b), 0);
    assert_true(b.cpu_seconds > a.cpu_seconds);
    assert_true(b.open_fds == a.open_fds + 1); /* the one just opened, not the /proc walk's */
    assert_true(b.rss_bytes > 1 << 20);
    assert_true(b.max_fds >= b.open_fds);
    assert_true(b.start_time_s > 1.0e9 && b.start_time_s <= (double)time(NULL) + 1);
    close(fd);
    hx_proc_sample c;
    assert_int_equal(hx_proc_sample_get(getpid(), &c), 0); /* by pid: the same process */
    assert_true(c.open_fds == a.open_fds);
    assert_int_equal(hx_proc_sample_get(-5, &c), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_self),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
