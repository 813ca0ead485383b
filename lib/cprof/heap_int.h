#ifndef CPROF_HEAP_INT_H
#define CPROF_HEAP_INT_H

/* Internal to the heap module's files (heap.c, heap_pprof.c, heap_http.c). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cprof/heap.h"

/* The snapshot as profile.proto through the shared builder (heap_pprof.c):
 * labels adds the "bytes" label (average object size); gzip compresses.
 * *out malloc'ed. Returns 0, -ENOMEM or -EIO. */
int cprof__heap_pprof(const cprof_heap_t *h, bool allocs, bool labels, bool gzip, uint8_t **out,
                      size_t *len);
/* Go's "bytes" label value for a stack's values (0: none). */
int64_t cprof__heap_avg_bytes(int64_t alloc_objects, int64_t alloc_space, int64_t inuse_objects,
                              int64_t inuse_space);

#endif
