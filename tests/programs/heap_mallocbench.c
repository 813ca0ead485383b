/* heap_mallocbench: the cost of one malloc+free pair, in ns.
 *
 *   heap_mallocbench [MILLISECONDS]     (default 300 per variant)
 *
 * A ring of 1024 slots is cycled: each step frees the oldest object and
 * allocates one of a pseudo-random size in 16..1024 bytes (the sizes an
 * order service allocates), so the allocator works with a live set instead
 * of handing one block back and forth. Built twice by mk/heap.mk: with
 * jemalloc (ORDERD_JEMALLOC; measured with profiling inactive, then
 * active at the default 512 KiB rate) and against glibc's malloc. Prints
 * bench/run.sh RESULT lines; asserts nothing. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#ifdef ORDERD_JEMALLOC
#include <jemalloc/jemalloc.h>
#include <stdbool.h>
#endif

#define SLOTS 1024
#define BATCH 100000

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void *slots[SLOTS];

/* Runs batches until budget_ns has passed; returns ns per pair. */
static double run(int64_t budget_ns)
{
    uint32_t x = 2463534242u;
    uint64_t pairs = 0;
    int64_t t0 = now_ns(), t;
    do {
        for (int i = 0; i < BATCH; i++) {
            x ^= x << 13, x ^= x >> 17, x ^= x << 5; /* xorshift32 */
            size_t k = (size_t)i % SLOTS;
            free(slots[k]);
            slots[k] = malloc(16 + (x & 1008));
            __asm__ volatile("" ::"r"(slots[k]) : "memory");
        }
        pairs += BATCH;
        t = now_ns();
    } while (t - t0 < budget_ns);
    return (double)(t - t0) / (double)pairs;
}

int main(int argc, char **argv)
{
    int64_t budget = (argc > 1 ? atoll(argv[1]) : 300) * 1000000LL;
    run(budget / 4); /* warm up: fill the ring, fault the pages in */
#ifdef ORDERD_JEMALLOC
    bool on = false, prof = false;
    size_t sz = sizeof(prof);
    if (mallctl("opt.prof", &prof, &sz, NULL, 0) != 0 || !prof) {
        /* MALLOC_CONF=prof:false: jemalloc without the profiling hooks. */
        printf("RESULT\tmalloc_free_jemalloc_prof_off\t%.1f\tns\n", run(budget));
        goto out;
    }
    mallctl("prof.active", NULL, NULL, &on, sizeof(on));
    printf("RESULT\tmalloc_free_jemalloc_prof_inactive\t%.1f\tns\n", run(budget));
    on = true;
    if (mallctl("prof.active", NULL, NULL, &on, sizeof(on)) == 0)
        printf("RESULT\tmalloc_free_jemalloc_prof_active\t%.1f\tns\n", run(budget));
out:
#else
    printf("RESULT\tmalloc_free_glibc\t%.1f\tns\n", run(budget));
#endif
    for (int i = 0; i < SLOTS; i++)
        free(slots[i]);
    return 0;
}
