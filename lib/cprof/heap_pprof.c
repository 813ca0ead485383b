/* Heap snapshots as profile.proto (see cprof_heap_write_pprof).
 *
 * The snapshot's stacks go through the shared profile builder (pprof.c),
 * so the heap profile is symbolized like the CPU profile: libdw names,
 * files, lines and inlined frames, this process's executable mappings with
 * their build IDs, and go tool pprof reads it without the binary. Every pc
 * of a heap stack is a return address (jemalloc's frames, which hold the
 * allocation instruction itself, were cut off by heap.c), so none is
 * flagged CPROF_PCS_LEAF_EXACT: the builder looks each up at pc-1.
 *
 * Samples carry Go's numeric label "bytes", the average object size of
 * the stack. Delta profiles (?seconds=N) are built without it, since the
 * average of a stack may change between the two snapshots and would keep
 * the same stack from cancelling in the merge; heap_http.c adds it back to
 * the difference. */

#include <errno.h>
#include <stdlib.h>

#include "cprof/heap.h"
#include "cprof/heap_int.h"
#include "cprof/pprof.h"

int64_t cprof__heap_avg_bytes(int64_t alloc_objects, int64_t alloc_space, int64_t inuse_objects,
                              int64_t inuse_space)
{
    int64_t objs = alloc_objects ? alloc_objects : inuse_objects;
    int64_t space = alloc_objects ? alloc_space : inuse_space;
    return objs > 0 ? space / objs : 0;
}

int cprof__heap_pprof(const cprof_heap_t *h, bool allocs, bool labels, bool gzip, uint8_t **out,
                      size_t *len)
{
    static const cprof_value_type_t types[] = {{"alloc_objects", "count"},
                                               {"alloc_space", "bytes"},
                                               {"inuse_objects", "count"},
                                               {"inuse_space", "bytes"}};
    *out = NULL;
    *len = 0;
    uint64_t period = cprof_heap_period(h);
    cprof_pprof_opts_t o = {.sample_types = types,
                            .nsample_types = 4,
                            .period_type = {"space", "bytes"},
                            .period = (int64_t)period,
                            .default_sample_type = allocs ? "alloc_space" : "inuse_space",
                            .time_nanos = cprof_heap_time_ns(h)};
    cprof_pprof_t *p;
    int rc = cprof_pprof_new(&o, &p);
    if (rc)
        return rc;
    for (size_t i = 0; i < cprof_heap_count(h) && !rc; i++) {
        const cprof_heap_sample_t *s = cprof_heap_sample(h, i);
        int64_t v[4] = {s->alloc_objects, s->alloc_space, s->inuse_objects, s->inuse_space};
        int64_t avg = cprof__heap_avg_bytes(v[0], v[1], v[2], v[3]);
        cprof_label_t l = {.key = "bytes", .num = avg, .num_unit = "bytes"};
        bool with_label = labels && avg != 0;
        rc = cprof_pprof_add_sample(p, s->pcs, s->npcs, 0, v, with_label ? &l : NULL,
                                    with_label ? 1 : 0);
    }
    if (!rc)
        rc = cprof_pprof_finish(p, gzip, out, len);
    cprof_pprof_free(p);
    return rc;
}

int cprof_heap_write_pprof(const cprof_heap_t *h, bool allocs, FILE *out)
{
    uint8_t *data;
    size_t len;
    int rc = cprof__heap_pprof(h, allocs, true, true, &data, &len);
    if (rc)
        return rc;
    if (fwrite(data, 1, len, out) != len || fflush(out) != 0)
        rc = -EIO;
    free(data);
    return rc;
}
