/* jemalloc's compiled-in configuration for every program of the project.
 *
 * jemalloc reads the global `malloc_conf` string at its first allocation,
 * before main and before MALLOC_CONF from the environment (which can still
 * override any setting). Profiling is compiled in but inactive: sampled
 * allocation profiling costs about 5% of malloc time while inactive and is
 * switched on at start by orderd's --heap-profile flag or later by
 * cprof_heap_set_active. prof_accum keeps the cumulative (alloc_*) counts of
 * the allocs profile; lg_prof_sample 19 is a mean sampling interval of
 * 512 KiB, Go's MemProfileRate default.
 *
 * A symbol in a static library is linked only when something references it,
 * and nothing calls into this file: mk/heap.mk adds `-Wl,-u,malloc_conf` to
 * the link flags of every program and test so that the object is always
 * pulled out of libcommon.a. Under a sanitizer (no ORDERD_JEMALLOC) the
 * sanitizer owns malloc and the file is empty. */

#ifdef ORDERD_JEMALLOC
const char *malloc_conf = "prof:true,prof_active:false,prof_accum:true,lg_prof_sample:19";
#else
/* ISO C forbids an empty translation unit. */
typedef int common_malloc_conf_unused;
#endif
