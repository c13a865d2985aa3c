/*
 * What a process costs, from /proc (proc(5)): CPU seconds, resident memory,
 * open descriptors, when it started. For hearthd's own process_* series
 * and each media worker's (docs/operations.md). Linux only; elsewhere
 * hx_proc_sample fails and the series are left out.
 */
#ifndef HX_METRICS_PROCESS_H
#define HX_METRICS_PROCESS_H

#include <stddef.h>
#include <stdint.h>

typedef struct hx_proc_stat {
    uint64_t utime, stime; /* clock ticks in user and kernel mode */
    uint64_t starttime;    /* clock ticks after boot */
    int64_t rss_pages;
} hx_proc_stat;

/**
 * Parse the text of /proc/<pid>/stat. The command name (field 2) is in
 * parentheses and may itself hold spaces and parentheses: the fields after
 * it are counted from the last ')'. 0, or -1 when the text is not one.
 */
int hx_proc_stat_parse(const char *text, size_t len, hx_proc_stat *out);

typedef struct hx_proc_sample {
    double cpu_seconds; /* user + system */
    double rss_bytes;
    double open_fds;     /* -1: unknown */
    double max_fds;      /* the soft limit; -1: unknown */
    double start_time_s; /* since the Unix epoch */
} hx_proc_sample;

/** Sample process pid (0: this one). 0, or -1 when /proc does not tell. */
int hx_proc_sample_get(int pid, hx_proc_sample *out);

#endif
