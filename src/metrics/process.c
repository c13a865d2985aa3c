/*
 * /proc/<pid>/stat, /proc/<pid>/fd and /proc/<pid>/limits read into one
 * sample (process.h). Boot time is the wall clock less CLOCK_BOOTTIME, so a
 * start time is in Unix seconds as Prometheus' process_start_time_seconds.
 */
#include "metrics/process.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int hx_proc_stat_parse(const char *text, size_t len, hx_proc_stat *out)
{
    char buf[1024];
    if (len == 0 || len >= sizeof buf) return -1;
    memcpy(buf, text, len);
    buf[len] = '\0';
    char *close = strrchr(buf, ')');
    if (!close || !strchr(buf, '(')) return -1;
    /* Fields 3.. after ") ": state is field 3; utime 14, stime 15, starttime 22, rss 24. */
    char *p = close + 1, *save = NULL;
    uint64_t f[25] = {0};
    memset(out, 0, sizeof *out);
    int i = 3;
    for (char *tok = strtok_r(p, " \n", &save); tok && i <= 24;
         tok = strtok_r(NULL, " \n", &save), i++) {
        if (i == 3) continue; /* the state, a letter */
        char *end;
        long long v = strtoll(tok, &end, 10);
        if (*end) return -1;
        f[i] = (uint64_t)v;
        if (i == 24) out->rss_pages = v;
    }
    if (i <= 24) return -1;
    out->utime = f[14];
    out->stime = f[15];
    out->starttime = f[22];
    return 0;
}

static long read_file(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "re");
    if (!f) return -1;
    size_t n = fread(buf, 1, cap - 1, f);
    fclose(f);
    buf[n] = '\0';
    return (long)n;
}

/* When the machine booted, in Unix seconds: the wall clock less CLOCK_BOOTTIME (no /proc/stat,
 * which the systemd unit's ProcSubset=pid hides). */
static double boot_time_s(void)
{
    struct timespec wall, up;
    if (clock_gettime(CLOCK_REALTIME, &wall) || clock_gettime(CLOCK_BOOTTIME, &up)) return 0;
    return (double)(wall.tv_sec - up.tv_sec) + (double)(wall.tv_nsec - up.tv_nsec) / 1e9;
}

/* Entries in a /proc/<pid>/fd; `self`: one of them is this directory stream's own. */
static double count_fds(const char *dir, int self)
{
    DIR *d = opendir(dir);
    if (!d) return -1;
    double n = 0;
    for (struct dirent *e; (e = readdir(d));)
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return self ? n - 1 : n;
}

static double max_fds(const char *path)
{
    char buf[4096];
    if (read_file(path, buf, sizeof buf) < 0) return -1;
    const char *l = strstr(buf, "Max open files");
    if (!l) return -1;
    l += strlen("Max open files");
    char *end;
    double v = strtod(l, &end);
    return end == l ? -1 : v; /* "unlimited" reads as no number */
}

int hx_proc_sample_get(int pid, hx_proc_sample *out)
{
    char path[64], buf[1024];
    char base[32];
    if (pid)
        snprintf(base, sizeof base, "/proc/%d", pid);
    else
        snprintf(base, sizeof base, "/proc/self");
    snprintf(path, sizeof path, "%s/stat", base);
    long n = read_file(path, buf, sizeof buf);
    hx_proc_stat st;
    if (n <= 0 || hx_proc_stat_parse(buf, (size_t)n, &st)) return -1;
    double tick = (double)sysconf(_SC_CLK_TCK), page = (double)sysconf(_SC_PAGESIZE);
    if (tick <= 0) tick = 100;
    out->cpu_seconds = (double)(st.utime + st.stime) / tick;
    out->rss_bytes = (double)st.rss_pages * page;
    out->start_time_s = boot_time_s() + (double)st.starttime / tick;
    snprintf(path, sizeof path, "%s/fd", base);
    out->open_fds = count_fds(path, pid == 0 || pid == getpid());
    snprintf(path, sizeof path, "%s/limits", base);
    out->max_fds = max_fds(path);
    return 0;
}
