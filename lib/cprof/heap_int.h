#ifndef CPROF_HEAP_INT_H
#define CPROF_HEAP_INT_H

/* Internal to the heap module's files (heap.c, heap_pprof.c, heap_http.c). */

#include <stdbool.h>
#include <stdint.h>

#include "cprof/heap.h"

/* The i-th memory mapping recorded with the snapshot (/proc/self/maps at
 * dump time): its path ("" if anonymous) or NULL past the end. */
const char *cprof__heap_map_path(const cprof_heap_t *h, size_t i, uint64_t *start, uint64_t *end,
                                 uint64_t *offset, bool *exec);

#endif
