/* See memstat.h: a thin layer over cprof_memstats with the report's units. */

#include "lab/memstat.h"

#include <string.h>
#include <sys/resource.h>

#include "common/procstat.h"
#include "cprof/memstats.h"

int64_t memstat_threads(void)
{
    uint64_t rss;
    int64_t threads;
    return procstat_rss_threads(&rss, &threads) == 0 ? threads : -1;
}

int memstat_read(memstat_t *out)
{
    memset(out, 0, sizeof(*out));
    cprof_memstats_t m;
    /* _now: flushes this thread's allocation cache, so the end-of-run
     * report counts the main thread's own allocations too. */
    int rc = cprof_memstats_read_now(&m);
    out->inuse_bytes = m.alloc;
    out->mapped_bytes = m.sys;
    out->total_bytes = m.total_alloc;
    out->allocations = m.mallocs;
    out->purges = m.num_gc;
    out->has_totals = m.has_allocator;
    out->source = m.source ? m.source : "none";
    uint64_t rss = 0;
    int64_t threads = -1;
    procstat_rss_threads(&rss, &threads);
    out->rss_bytes = rss;
    out->threads = threads;
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0)
        out->peak_rss_bytes = (uint64_t)ru.ru_maxrss * 1024;
    return rc;
}
