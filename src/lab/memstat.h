#ifndef LAB_MEMSTAT_H
#define LAB_MEMSTAT_H

/* Memory and thread statistics for the lab's report and metrics: the C
 * counterpart of Go's runtime.MemStats fields the seed prints (Alloc,
 * TotalAlloc, Sys, NumGC, NumGoroutine), from cprof's memstats (jemalloc's
 * per-size-class statistics: sizes are rounded up to jemalloc's size
 * classes; purge sweeps stand for GC cycles), plus the peak RSS. Without
 * jemalloc (sanitizer builds) only in-use bytes and threads are known, and
 * has_totals is false.
 *
 * Thread-safe; not async-signal-safe. A read costs tens of microseconds:
 * fine once a second and at the end of a run, not per task. */

#include <stdbool.h>
#include <stdint.h>

typedef struct memstat {
    uint64_t inuse_bytes;  /* live allocations (Go: Alloc) */
    uint64_t mapped_bytes; /* mapped by the allocator (Go: Sys) */
    uint64_t total_bytes;  /* cumulative bytes allocated (Go: TotalAlloc) */
    uint64_t allocations;  /* cumulative allocation count (Go: Mallocs) */
    uint64_t purges;       /* allocator purge sweeps (Go: NumGC) */
    bool has_totals;       /* total_bytes, allocations and purges are known */
    const char *source;    /* "jemalloc", "sanitizer", "glibc" or "none" */
    uint64_t rss_bytes;
    uint64_t peak_rss_bytes; /* getrusage ru_maxrss */
    int64_t threads;         /* threads in the process now */
} memstat_t;

/* Fills out. Flushes the calling thread's allocation cache first so that its
 * own allocations are counted. Returns 0 or a negative errno (fields that
 * could not be read are zero). */
int memstat_read(memstat_t *out);
/* Threads in the process now (/proc/self/task), or -1. */
int64_t memstat_threads(void);

#endif
