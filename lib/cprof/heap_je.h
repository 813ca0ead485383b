#ifndef CPROF_HEAP_JE_H
#define CPROF_HEAP_JE_H

/* Internal: jemalloc's control interface, found at run time.
 *
 * cprof does not require jemalloc: it declares the three mallctl entry
 * points as weak symbols, so they are NULL in a program that does not link
 * jemalloc (sanitizer builds, where ASan or TSan owns malloc) and the heap
 * and memory-statistics features then report -ENOTSUP with a reason. The
 * unprefixed names are those of Debian's libjemalloc (built without a
 * symbol prefix, so it is the process's malloc). Thread-safe. */

#include <stdbool.h>
#include <stddef.h>

int mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen)
    __attribute__((weak));
int mallctlnametomib(const char *name, size_t *mibp, size_t *miblenp) __attribute__((weak));
int mallctlbymib(const size_t *mib, size_t miblen, void *oldp, size_t *oldlenp, void *newp,
                 size_t newlen) __attribute__((weak));

/* jemalloc's MALLCTL_ARENAS_ALL: the pseudo-arena index of merged stats. */
#define CPROF__JE_ARENAS_ALL 4096

/* True when jemalloc is the process's allocator. */
static inline bool cprof__je_linked(void)
{
    return mallctl != NULL && mallctlnametomib != NULL && mallctlbymib != NULL;
}

#endif
