/* The legacy text format of Go's heap profile (see cprof_heap_write_text).
 *
 * Go's runtime writes, for debug=1, the raw sampled counts of each record
 * and "@ heap/<2*MemProfileRate>" (pprof's legacy parser halves it back),
 * so that go tool pprof un-samples them itself; we do the same with
 * jemalloc's dump values, which are made for that formula. Stacks are
 * sorted by in-use bytes, largest first, like Go. Frames are named by the
 * libdw symbolizer, with file:line and inline chains, as in the other
 * profiles' text formats. */

#include <errno.h>
#include <stdlib.h>

#include "cprof/heap.h"
#include "cprof/memstats.h"
#include "cprof/threads_int.h"

static int by_inuse(const void *a, const void *b)
{
    const cprof_heap_sample_t *x = *(const cprof_heap_sample_t *const *)a;
    const cprof_heap_sample_t *y = *(const cprof_heap_sample_t *const *)b;
    if (x->raw_inuse_space != y->raw_inuse_space)
        return x->raw_inuse_space > y->raw_inuse_space ? -1 : 1;
    return x->raw_alloc_space > y->raw_alloc_space ? -1 : x->raw_alloc_space < y->raw_alloc_space;
}

int cprof_heap_write_text(const cprof_heap_t *h, const cprof_memstats_t *ms, FILE *out)
{
    size_t n = cprof_heap_count(h);
    const cprof_heap_sample_t **order = malloc((n ? n : 1) * sizeof(*order));
    if (!order)
        return -ENOMEM;
    unsigned long long tot[4] = {0};
    for (size_t i = 0; i < n; i++) {
        order[i] = cprof_heap_sample(h, i);
        tot[0] += order[i]->raw_inuse_objects;
        tot[1] += order[i]->raw_inuse_space;
        tot[2] += order[i]->raw_alloc_objects;
        tot[3] += order[i]->raw_alloc_space;
    }
    qsort(order, n, sizeof(*order), by_inuse);
    fprintf(out, "heap profile: %llu: %llu [%llu: %llu] @ heap/%llu\n", tot[0], tot[1], tot[2],
            tot[3], 2 * (unsigned long long)cprof_heap_period(h));
    for (size_t i = 0; i < n; i++) {
        const cprof_heap_sample_t *s = order[i];
        fprintf(out, "%llu: %llu [%llu: %llu] @", (unsigned long long)s->raw_inuse_objects,
                (unsigned long long)s->raw_inuse_space, (unsigned long long)s->raw_alloc_objects,
                (unsigned long long)s->raw_alloc_space);
        for (size_t j = 0; j < s->npcs; j++)
            fprintf(out, " %#llx", (unsigned long long)s->pcs[j]);
        fputc('\n', out);
        for (size_t j = 0; j < s->npcs; j++)
            cprof__print_pc_lines(out, s->pcs[j], false); /* return addresses */
        fputc('\n', out);
    }
    free(order);
    if (ms) {
        fprintf(out, "\n# cprof.MemStats (%s)\n", ms->source ? ms->source : "none");
        fprintf(out, "# Alloc = %llu\n", (unsigned long long)ms->alloc);
        fprintf(out, "# TotalAlloc = %llu\n", (unsigned long long)ms->total_alloc);
        fprintf(out, "# Sys = %llu\n", (unsigned long long)ms->sys);
        fprintf(out, "# Mallocs = %llu\n", (unsigned long long)ms->mallocs);
        fprintf(out, "# Frees = %llu\n", (unsigned long long)ms->frees);
        fprintf(out, "# HeapAlloc = %llu\n", (unsigned long long)ms->alloc);
        fprintf(out, "# HeapInuse = %llu\n", (unsigned long long)ms->heap_inuse);
        fprintf(out, "# HeapReleased = %llu\n", (unsigned long long)ms->retained);
        fprintf(out, "# Mapped = %llu\n", (unsigned long long)ms->mapped);
        fprintf(out, "# Resident = %llu\n", (unsigned long long)ms->resident);
        fprintf(out, "# Metadata = %llu\n", (unsigned long long)ms->metadata);
        fprintf(out, "# NumGC = %llu\n", (unsigned long long)ms->num_gc);
        fprintf(out, "# Threads = %lld\n", (long long)ms->threads);
        fprintf(out, "# OpenFDs = %lld\n", (long long)ms->open_fds);
    }
    return ferror(out) ? -EIO : 0;
}
