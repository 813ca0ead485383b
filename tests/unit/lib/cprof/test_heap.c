/* Heap profiles from jemalloc's sampler: un-sampled totals, inuse after
 * frees (also on another thread), realloc moves.
 *
 * Statistics: at a 64 KiB sampling rate, 100 MiB allocated from one site
 * gives ~1600 samples, a relative standard deviation of ~2.5%; the stated
 * tolerance is 12% (more than 4 sigma), so the test does not flake, yet a
 * missing or doubled un-sampling (a factor of ~16 at 4 KiB objects) cannot
 * pass. Objects of 4000 bytes live in jemalloc's 4096-byte class, and the
 * profile counts class sizes. */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cprof/heap.h"
#include "cprof/memstats.h"

#define RATE (64 * 1024)
#define OBJ 4000
#define CLASS 4096
#define N 25600 /* 100 MiB of 4096-byte objects */

static void setup(void)
{
    const char *why = cprof_heap_unavailable();
    if (why)
        cr_skip_test("heap profiling unavailable in this build: %s", why);
    cr_assert_eq(cprof_heap_start(RATE), 0);
    cr_assert(cprof_heap_active());
    cr_assert_eq(cprof_heap_rate(), RATE);
}

/* Visible to dladdr (-rdynamic), never inlined: the profile's frames. */
__attribute__((noinline)) void *heaptest_site_a(size_t n)
{
    void *p = malloc(n);
    __asm__ volatile("" ::"r"(p) : "memory");
    return p;
}
__attribute__((noinline)) void *heaptest_site_b(size_t n)
{
    void *p = malloc(n);
    __asm__ volatile("" ::"r"(p) : "memory");
    return p;
}
__attribute__((noinline)) void *heaptest_site_c(void *p, size_t n)
{
    void *q = realloc(p, n);
    __asm__ volatile("" ::"r"(q) : "memory");
    return q;
}

/* Sums the samples whose leaf frame is in the named function. */
static void site_totals(const cprof_heap_t *h, const char *fn, int64_t v[4])
{
    memset(v, 0, 4 * sizeof(int64_t));
    for (size_t i = 0; i < cprof_heap_count(h); i++) {
        const cprof_heap_sample_t *s = cprof_heap_sample(h, i);
        Dl_info info;
        if (s->npcs == 0 || dladdr((void *)(uintptr_t)(s->pcs[0] - 1), &info) == 0 ||
            !info.dli_sname || strcmp(info.dli_sname, fn) != 0)
            continue;
        v[0] += s->alloc_objects;
        v[1] += s->alloc_space;
        v[2] += s->inuse_objects;
        v[3] += s->inuse_space;
    }
}

static void expect_near(int64_t got, int64_t want, int pct, const char *what)
{
    int64_t tol = want * pct / 100;
    cr_expect(got >= want - tol && got <= want + tol, "%s: got %lld, want %lld +- %d%%", what,
              (long long)got, (long long)want, pct);
}

Test(heap, unsampled_totals_match_truth)
{
    setup();
    for (int i = 0; i < N; i++)
        free(heaptest_site_a(OBJ));
    cprof_heap_t *h;
    cr_assert_eq(cprof_heap_snapshot(&h), 0);
    cr_expect_eq(cprof_heap_period(h), RATE);
    int64_t v[4];
    site_totals(h, "heaptest_site_a", v);
    expect_near(v[0], N, 12, "alloc_objects");
    expect_near(v[1], (int64_t)N * CLASS, 12, "alloc_space");
    cr_expect_eq(v[2], 0, "inuse_objects %lld after every free", (long long)v[2]);
    cr_expect_eq(v[3], 0);
    /* No stack starts inside jemalloc: its frames are dropped. */
    for (size_t i = 0; i < cprof_heap_count(h); i++) {
        const cprof_heap_sample_t *s = cprof_heap_sample(h, i);
        Dl_info info;
        if (s->npcs > 0 && dladdr((void *)(uintptr_t)s->pcs[0], &info) != 0 && info.dli_fname)
            cr_expect(strstr(info.dli_fname, "jemalloc") == NULL, "leaf frame in %s",
                      info.dli_fname);
    }
    cprof_heap_free(h);
}

static void *keep[N / 4];

static void *free_all(void *arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "heaptest-free");
    for (int i = 0; i < N / 4; i++)
        free(keep[i]);
    return NULL;
}

Test(heap, inuse_falls_after_frees_on_another_thread)
{
    setup();
    for (int i = 0; i < N / 4; i++)
        keep[i] = heaptest_site_b(OBJ);
    cprof_heap_t *h;
    int64_t v[4];
    cr_assert_eq(cprof_heap_snapshot(&h), 0);
    site_totals(h, "heaptest_site_b", v);
    cprof_heap_free(h);
    expect_near(v[2], N / 4, 20, "inuse_objects while live");
    expect_near(v[3], (int64_t)N / 4 * CLASS, 20, "inuse_space while live");
    int64_t alloc_before = v[1];

    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, free_all, NULL), 0);
    pthread_join(t, NULL);
    cr_assert_eq(cprof_heap_snapshot(&h), 0);
    site_totals(h, "heaptest_site_b", v);
    cprof_heap_free(h);
    cr_expect_eq(v[2], 0, "inuse_objects %lld after the other thread freed all", (long long)v[2]);
    cr_expect_eq(v[3], 0);
    cr_expect_eq(v[1], alloc_before, "alloc_space is cumulative: %lld then %lld",
                 (long long)alloc_before, (long long)v[1]);
}

Test(heap, realloc_moves_are_accounted)
{
    setup();
    /* 4 KiB doubling to 64 MiB: large steps are sampled almost surely, so
     * the estimates are near exact. */
    void *p = NULL;
    int64_t total = 0;
    size_t size;
    for (size = 4096; size <= (64u << 20); size *= 2) {
        p = heaptest_site_c(p, size);
        memset(p, 1, 64);
        total += (int64_t)size;
    }
    size /= 2;
    cprof_heap_t *h;
    int64_t v[4];
    cr_assert_eq(cprof_heap_snapshot(&h), 0);
    site_totals(h, "heaptest_site_c", v);
    cprof_heap_free(h);
    /* Only the final block is live; every move freed the old one. */
    expect_near(v[3], (int64_t)size, 2, "inuse_space after the last realloc");
    expect_near(v[2], 1, 0, "inuse_objects after the last realloc");
    expect_near(v[1], total, 5, "alloc_space of every realloc");
    free(p);
    cr_assert_eq(cprof_heap_snapshot(&h), 0);
    site_totals(h, "heaptest_site_c", v);
    cprof_heap_free(h);
    cr_expect_eq(v[3], 0, "inuse_space %lld after free", (long long)v[3]);
}

Test(heap, activation_and_purge)
{
    setup();
    cr_assert_eq(cprof_heap_set_active(false), 0);
    cr_expect(!cprof_heap_active());
    cr_assert_eq(cprof_heap_set_active(true), 0);
    cr_expect(cprof_heap_active());
    cr_expect_eq(cprof_heap_purge(), 0);
    /* Rates round to the nearer power of two. */
    cr_assert_eq(cprof_heap_start(500000), 0);
    cr_expect_eq(cprof_heap_rate(), 524288);
}

Test(heap, legacy_text_format)
{
    setup();
    for (int i = 0; i < N / 4; i++)
        keep[i] = heaptest_site_b(OBJ);
    cprof_heap_t *h;
    cr_assert_eq(cprof_heap_snapshot(&h), 0);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    cprof_memstats_t ms;
    cprof_memstats_read_now(&ms);
    cr_assert_eq(cprof_heap_write_text(h, &ms, f), 0);
    fclose(f);
    cprof_heap_free(h);
    char want[64];
    snprintf(want, sizeof(want), "@ heap/%d\n", 2 * RATE);
    cr_expect(strncmp(text, "heap profile: ", 14) == 0, "header: %.60s", text);
    cr_expect(strstr(text, want) != NULL, "no '%s' in the header", want);
    cr_expect(strstr(text, "\theaptest_site_b\ttests/unit/lib/cprof/test_heap.c:") != NULL,
              "no frame of the site, with file:line, in:\n%.2000s", text);
    cr_expect(strstr(text, "# Alloc = ") != NULL && strstr(text, "# NumGC = ") != NULL);
    free(text);
    for (int i = 0; i < N / 4; i++)
        free(keep[i]);
}
