#ifndef COMMON_PROCSTAT_H
#define COMMON_PROCSTAT_H

/* Readings of the current process for metrics and the leak watch: CPU time,
 * memory, threads and file descriptors from /proc/self, and the allocator's
 * own heap statistics (jemalloc mallctl when built with ORDERD_JEMALLOC, the
 * sanitizer allocator under ASan/TSan, glibc mallinfo2 otherwise).
 *
 * Every function is thread-safe (no shared state besides a once-computed
 * boot time); none is async-signal-safe (they open files and, for the heap,
 * may take allocator locks). */

#include <stdbool.h>
#include <stdint.h>

#include "common/metrics.h"

typedef struct procstat {
    double cpu_seconds;        /* user + system CPU time */
    uint64_t rss_bytes;        /* resident set size */
    uint64_t vsize_bytes;      /* virtual memory size */
    int64_t threads;           /* threads in the process */
    int64_t open_fds;          /* open file descriptors */
    int64_t max_fds;           /* soft RLIMIT_NOFILE (as in /proc/self/limits) */
    double start_time_seconds; /* process start, seconds since the Unix epoch */
} procstat_t;

/* Fills out from /proc/self/stat, /proc/self/fd and the fd limit. Returns 0
 * or a negative errno (fields that could not be read are zero). */
int procstat_read(procstat_t *out);
/* Cheaper pieces, for the leak watch's periodic samples. */
int procstat_rss_threads(uint64_t *rss_bytes, int64_t *threads);
int64_t procstat_open_fds(void);

typedef struct procstat_heap {
    uint64_t inuse_bytes;    /* bytes in live allocations */
    uint64_t mapped_bytes;   /* bytes the allocator has mapped (0 if unknown) */
    uint64_t resident_bytes; /* allocator pages resident (0 if unknown) */
    uint64_t allocations;    /* allocations made since start */
    bool has_allocations;    /* allocations is known */
    const char *source;      /* "jemalloc", "sanitizer" or "glibc" */
} procstat_heap_t;

/* Reads the allocator's statistics (refreshing jemalloc's "epoch" first).
 * Returns 0, or -ENOTSUP when no statistics are available. Costs a few
 * microseconds with jemalloc: fine once a second, not per request. */
int procstat_heap(procstat_heap_t *out);

/* Registers the standard process_* families on m (process_cpu_seconds_total,
 * process_resident_memory_bytes, process_virtual_memory_bytes,
 * process_open_fds, process_max_fds, process_start_time_seconds,
 * process_threads), read once per scrape. Returns 0 or -EEXIST. */
int procstat_register(metrics_t *m);

#endif
