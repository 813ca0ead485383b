#ifndef CPROF_JEPROF_H
#define CPROF_JEPROF_H

/* Internal: parser of jemalloc's heap-profile dump ("heap_v2" text, what
 * mallctl("prof.dump") writes). Pure text in, arrays out: no jemalloc calls,
 * so it is unit-tested on fixed inputs and fuzzable.
 *
 * The format (jemalloc 5.x):
 *
 *     heap_v2/524288                              sampling period in bytes
 *       t*: 192: 21884090 [192: 21884090]         totals: cur objs: cur bytes
 *       t0: ...                                     [accum objs: accum bytes]
 *     @ 0x7f30... 0x55c0... ...                   one stack, leaf first
 *       t*: 192: 21884090 [192: 21884090]         its totals (then per thread)
 *     ...
 *     MAPPED_LIBRARIES:
 *     55c02cab1000-55c02cab2000 r--p 00000000 fe:00 10953315  /path
 *
 * The counts are jemalloc's "reverse-unbiased" values (opt.prof_unbias):
 * numbers chosen so that the classic un-sampling formula applied to them
 * gives jemalloc's unbiased estimate. Per-thread lines are skipped.
 *
 * Ownership: cprof__jeprof_parse fills a caller-owned struct whose arrays it
 * allocates; cprof__jeprof_destroy frees them. Thread-safe (no shared state);
 * not async-signal-safe (allocates). */

#include <stddef.h>
#include <stdint.h>

typedef struct cprof__jeprof_counts {
    uint64_t cur_objs, cur_bytes;
    uint64_t acc_objs, acc_bytes; /* 0 when the dump has no [accum] part */
} cprof__jeprof_counts_t;

typedef struct cprof__jeprof_sample {
    cprof__jeprof_counts_t counts;
    size_t first_frame; /* index into frames */
    size_t nframes;
} cprof__jeprof_sample_t;

typedef struct cprof__jeprof_map {
    uint64_t start, end, offset;
    char perms[5];
    char *path; /* "" for anonymous mappings */
} cprof__jeprof_map_t;

typedef struct cprof__jeprof {
    uint64_t period; /* bytes, from "heap_v2/<period>" */
    cprof__jeprof_counts_t total;
    cprof__jeprof_sample_t *samples;
    size_t nsamples;
    uint64_t *frames; /* every stack's addresses, leaf first */
    size_t nframes;
    cprof__jeprof_map_t *maps;
    size_t nmaps;
} cprof__jeprof_t;

/* Parses len bytes of text (need not be NUL-terminated). Returns 0, -EINVAL
 * for text that is not a heap_v2 dump (the struct is then empty), or
 * -ENOMEM. */
int cprof__jeprof_parse(const char *text, size_t len, cprof__jeprof_t *out);
void cprof__jeprof_destroy(cprof__jeprof_t *p);

#endif
