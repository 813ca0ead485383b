/* Memory statistics agree with a known allocation pattern.
 *
 * Tolerances: jemalloc rounds 1000-byte requests up to its 1024-byte class,
 * so byte counts are compared with N*1024; the test's own bookkeeping and
 * Criterion add a few hundred small allocations, hence +5% (and a fixed
 * slack for the counts) above the truth, never below it. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cprof/memstats.h"

#define N 20000
#define REQ 1000
#define CLASS 1024

static void skip_without_jemalloc(void)
{
    cprof_memstats_t m;
    if (cprof_memstats_read_now(&m) == -ENOTSUP || !m.has_allocator)
        cr_skip_test("memory statistics need jemalloc; this build's allocator is %s", m.source);
}

Test(memstats, known_pattern)
{
    skip_without_jemalloc();
    static void *keep[N];
    cprof_memstats_t a, b, c;
    cr_assert_eq(cprof_memstats_read_now(&a), 0);
    for (int i = 0; i < N; i++)
        keep[i] = malloc(REQ);
    cr_assert_eq(cprof_memstats_read_now(&b), 0);
    uint64_t mallocs = b.mallocs - a.mallocs, total = b.total_alloc - a.total_alloc;
    cr_expect(mallocs >= N && mallocs <= N + N / 20 + 200,
              "mallocs grew by %llu for %d allocations", (unsigned long long)mallocs, N);
    cr_expect(total >= (uint64_t)N * CLASS && total <= (uint64_t)N * CLASS * 105 / 100,
              "total_alloc grew by %llu, expected ~%llu", (unsigned long long)total,
              (unsigned long long)N * CLASS);
    int64_t inuse = (int64_t)b.alloc - (int64_t)a.alloc;
    cr_expect(inuse >= (int64_t)N * CLASS * 95 / 100 && inuse <= (int64_t)N * CLASS * 105 / 100,
              "alloc grew by %lld, expected ~%lld", (long long)inuse, (long long)N * CLASS);
    cr_expect(b.sys >= b.alloc && b.resident > 0 && b.mapped >= b.heap_inuse);
    for (int i = 0; i < N; i++)
        free(keep[i]);
    cr_assert_eq(cprof_memstats_read_now(&c), 0);
    uint64_t frees = c.frees - b.frees;
    cr_expect(frees >= N * 95 / 100, "frees grew by %llu for %d frees", (unsigned long long)frees,
              N);
    cr_expect(c.alloc + (uint64_t)N * CLASS * 95 / 100 <= b.alloc,
              "alloc fell from %llu to %llu only", (unsigned long long)b.alloc,
              (unsigned long long)c.alloc);
    cr_expect(c.threads >= 1 && c.open_fds >= 3, "threads %lld fds %lld", (long long)c.threads,
              (long long)c.open_fds);
}

Test(memstats, gc_purges)
{
    skip_without_jemalloc();
    /* 64 MiB freed leaves dirty pages that a purge returns to the OS. */
    enum { BIG = 64, SZ = 1 << 20 };
    void *p[BIG];
    for (int i = 0; i < BIG; i++) {
        p[i] = malloc(SZ);
        memset(p[i], 1, SZ);
    }
    for (int i = 0; i < BIG; i++)
        free(p[i]);
    cprof_memstats_t before, after;
    int64_t took = -1;
    cr_assert_eq(cprof_memstats_gc(&before, &after, &took), 0);
    cr_expect(took >= 0);
    cr_expect(after.num_gc > before.num_gc, "purges %llu -> %llu",
              (unsigned long long)before.num_gc, (unsigned long long)after.num_gc);
    cr_expect(after.resident < before.resident, "resident %llu -> %llu",
              (unsigned long long)before.resident, (unsigned long long)after.resident);
}

Test(memstats, cached_read_is_consistent)
{
    cprof_memstats_t m;
    int err = cprof_memstats_read(&m);
    cr_assert(err == 0 || err == -ENOTSUP);
    cr_expect(m.threads >= 1);
    cr_expect(m.source != NULL);
}
