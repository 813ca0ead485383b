#ifndef CPROF_MEMSTATS_H
#define CPROF_MEMSTATS_H

/* Memory statistics: a Go runtime.MemStats-like view of the process, from
 * jemalloc's mallctl statistics when jemalloc is the allocator.
 *
 * Field names follow Go's in C terms. Go's collector has no exact C
 * counterpart; the allocator's nearest act is returning free pages to the
 * OS ("purging"), so num_gc counts purge sweeps and cprof_memstats_gc is the
 * forced GC of Go's runtime.GC + debug.FreeOSMemory.
 *
 * How the cumulative counts are made: mallocs and total_alloc walk every
 * size class of the merged arena statistics and add its `nrequests` (times
 * the class size for bytes, so sizes are rounded up to jemalloc's size
 * classes). nrequests, not nmalloc: nmalloc counts slab-level refills and
 * misses every allocation served by a thread cache. Requests served by
 * another thread's cache since its last refill or flush are merged by
 * jemalloc later, so those counts may trail by a few cache-fulls; the
 * calling thread's cache is flushed by cprof_memstats_read_now. frees =
 * mallocs - live objects (objects idle in thread caches count as live).
 *
 * Without jemalloc (sanitizer builds) only alloc (from the sanitizer's
 * allocator), threads and open fds are filled and has_allocator is false.
 *
 * Thread-safe. Not async-signal-safe (reads /proc, may allocate). */

#include <stdbool.h>
#include <stdint.h>

typedef struct cprof_memstats {
    uint64_t alloc;       /* bytes in live allocations (Go: Alloc, HeapAlloc) */
    uint64_t total_alloc; /* cumulative bytes allocated (Go: TotalAlloc) */
    uint64_t sys;         /* bytes the allocator has mapped, incl. metadata (Go: Sys) */
    uint64_t mallocs;     /* cumulative allocations (Go: Mallocs) */
    uint64_t frees;       /* cumulative frees (Go: Frees) */
    uint64_t heap_inuse;  /* bytes in active pages (Go: HeapInuse; jemalloc stats.active) */
    uint64_t mapped;      /* bytes in active extents (jemalloc stats.mapped) */
    uint64_t resident;    /* bytes of allocator pages resident in RAM (stats.resident) */
    uint64_t retained;    /* virtual memory kept but returned to the OS (Go: HeapReleased) */
    uint64_t metadata;    /* allocator metadata (Go: ~MSpanSys+MCacheSys) */
    uint64_t num_gc;      /* dirty+muzzy purge sweeps (Go: NumGC) */
    int64_t threads;      /* threads in the process (Go: NumGoroutine's counterpart) */
    int64_t open_fds;     /* open file descriptors */
    bool has_allocator;   /* false: only alloc, threads and open_fds are known */
    const char *source;   /* "jemalloc", "sanitizer" or "none" (static strings) */
} cprof_memstats_t;

/* Fills out. Refreshes jemalloc's statistics snapshot (its "epoch") at most
 * once per 10 ms across all callers, so metrics scrapes and dashboards can
 * call it freely (a refresh costs tens of microseconds). Returns 0 or a
 * negative errno (fields that could not be read are 0). */
int cprof_memstats_read(cprof_memstats_t *out);

/* As cprof_memstats_read, but flushes the calling thread's cache and always
 * refreshes: exact for what this thread did. */
int cprof_memstats_read_now(cprof_memstats_t *out);

/* Returns free memory to the OS (purges every arena's dirty and muzzy pages
 * after flushing the calling thread's cache), the C counterpart of a forced
 * GC. Fills before and after (either may be NULL) and *took_ns (may be
 * NULL) with the purge's duration. Returns 0, or -ENOTSUP without jemalloc. */
int cprof_memstats_gc(cprof_memstats_t *before, cprof_memstats_t *after, int64_t *took_ns);

#endif
