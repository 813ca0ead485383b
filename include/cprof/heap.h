#ifndef CPROF_HEAP_H
#define CPROF_HEAP_H

/* Heap and allocation profiles: sampled allocation profiling of the whole
 * process by jemalloc, converted to Go's heap profile semantics.
 *
 * jemalloc samples allocations as a Poisson process over allocated bytes
 * (mean interval = the rate, 512 KiB by default, like Go's MemProfileRate)
 * and records each sampled allocation's stack. A snapshot dumps those
 * records (mallctl "prof.dump" into a memfd, never to disk), parses the dump,
 * drops jemalloc's own frames and un-samples each stack's counts as Go does:
 * scale = 1 / (1 - exp(-avg / rate)) with avg = bytes / objects.
 *
 * Requirements: jemalloc is the process's malloc and was started with
 * profiling compiled in (malloc_conf "prof:true,prof_active:false,..."; see
 * lib/common/malloc_conf.c). Otherwise every call returns -ENOTSUP and
 * cprof_heap_unavailable says why (the HTTP layer answers 501 with it).
 *
 * Thread-safe. Nothing here is async-signal-safe. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* NULL when heap profiling works in this process, else a one-line reason
 * (static string). */
const char *cprof_heap_unavailable(void);

/* Sets the mean sampling interval in bytes (rounded to a power of two, as
 * jemalloc samples in powers of two; 0 keeps the current one) and switches
 * sampling on. Changing the rate discards what was recorded so far. Returns
 * 0, -ENOTSUP or -EINVAL. */
int cprof_heap_start(size_t rate_bytes);
/* Switches sampling on or off; what was recorded is kept. */
int cprof_heap_set_active(bool on);
bool cprof_heap_active(void);
/* The current mean sampling interval in bytes (0 when unavailable). */
uint64_t cprof_heap_rate(void);

/* One stack of a snapshot. Values are un-sampled estimates; raw_* are the
 * dump's own numbers (what the legacy text format prints, since its readers
 * un-sample themselves). */
typedef struct cprof_heap_sample {
    const uint64_t *pcs; /* return addresses, leaf (allocation site) first */
    size_t npcs;
    int64_t alloc_objects, alloc_space; /* since profiling started */
    int64_t inuse_objects, inuse_space; /* live at the snapshot */
    uint64_t raw_alloc_objects, raw_alloc_space, raw_inuse_objects, raw_inuse_space;
} cprof_heap_sample_t;

typedef struct cprof_heap cprof_heap_t;

/* Takes a snapshot of the recorded allocations. *out is owned by the caller
 * (cprof_heap_free). Returns 0, -ENOTSUP, -ENOMEM or -EIO. */
int cprof_heap_snapshot(cprof_heap_t **out);
void cprof_heap_free(cprof_heap_t *h);

size_t cprof_heap_count(const cprof_heap_t *h);
/* The i-th stack (i < count); valid until cprof_heap_free. */
const cprof_heap_sample_t *cprof_heap_sample(const cprof_heap_t *h, size_t i);
/* The sampling period (bytes) the snapshot was taken with. */
uint64_t cprof_heap_period(const cprof_heap_t *h);
/* Wall-clock time of the snapshot, in ns since the epoch. */
int64_t cprof_heap_time_ns(const cprof_heap_t *h);
/* Sums of every sample's un-sampled values: alloc_objects, alloc_space,
 * inuse_objects, inuse_space. */
void cprof_heap_totals(const cprof_heap_t *h, int64_t totals[4]);

/* Writes the snapshot as gzipped profile.proto, what go tool pprof reads:
 * sample types alloc_objects/count, alloc_space/bytes, inuse_objects/count,
 * inuse_space/bytes; numeric label "bytes" (average object size); period
 * type space/bytes with the sampling period; default_sample_type
 * alloc_space when allocs (the /allocs view), else inuse_space. Built and
 * symbolized like the CPU profile (the shared builder of pprof.h: libdw
 * names, files, lines, inlined frames, mappings with build IDs), so the
 * profile reads without the binary. Returns 0, -ENOMEM or -EIO (writing
 * failed). */
int cprof_heap_write_pprof(const cprof_heap_t *h, bool allocs, FILE *out);

/* Writes the snapshot in the legacy text format of Go's heap profile
 * (debug=1): a "heap profile: ... @ heap/<2*rate>" header, one
 * "inuse_objs: inuse_bytes [alloc_objs: alloc_bytes] @ pcs" line per stack
 * with its symbolized frames as "#" lines, largest in-use first, then a
 * memory-statistics footer from ms (may be NULL). The counts are the raw
 * sampled ones, as in Go: readers (go tool pprof) un-sample them. Returns 0
 * or a negative errno from writing. */
struct cprof_memstats;
int cprof_heap_write_text(const cprof_heap_t *h, const struct cprof_memstats *ms, FILE *out);

/* ---- HTTP --------------------------------------------------------------
 * The endpoints of this module, independent of any HTTP server library:
 *   /debug/pprof/heap, /debug/pprof/allocs  ?debug=1 text, ?gc=1 purge
 *       first, ?seconds=N delta over N seconds (1..3600, not with debug)
 *   /profile/memory  the seed's alias: purge, then the heap profile as an
 *       attachment memory_profile_<unix>.prof
 *   /profile/gc      JSON memory statistics before and after returning free
 *       memory to the OS, and how long that took
 * They are providers of the cprof HTTP layer (http.h: cprof_http_serve,
 * the /debug/pprof/ index; /debug/pprof/gc is the alias's provider), where a
 * delta is deferred to a cprof-http thread. cprof_heap_http is a
 * synchronous entry point for servers that mount only these paths: it
 * serves them through cprof_http_serve, waits for a delta, writes the body
 * to `body` and fills reply. Errors are a one-line text body: 400 for bad
 * parameters, 501 when heap profiling is unavailable in this build (with
 * the reason), 500 otherwise. Any thread may call it. Returns false
 * (nothing written) for a path it does not serve. */
typedef struct cprof_heap_reply {
    int status;
    const char *content_type; /* static string */
    char disposition[96];     /* Content-Disposition value, or "" */
} cprof_heap_reply_t;

bool cprof_heap_http(const char *path, const char *query, FILE *body, cprof_heap_reply_t *reply);

/* Returns free memory to the OS before a snapshot (gc=1): flushes the
 * calling thread's cache and purges every arena. */
int cprof_heap_purge(void);

#endif
