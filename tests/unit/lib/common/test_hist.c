/* Histogram bucketing and quantiles. */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "common/hist.h"

Test(hist, buckets_are_monotonic_and_tight)
{
    int prev = -1;
    for (uint64_t v = 0; v < 100000; v += 7) {
        int b = hist_bucket_of(v);
        cr_assert_geq(b, prev, "bucket of %lu went backwards", (unsigned long)v);
        prev = b;
        uint64_t lo = hist_bucket_low(b);
        cr_assert_leq(lo, v);
        cr_assert(v - lo <= v / 16 + 1, "value %lu in bucket starting at %lu: too wide",
                  (unsigned long)v, (unsigned long)lo);
    }
    cr_assert_eq(hist_bucket_of(UINT64_MAX), HIST_BUCKETS - 1);
}

Test(hist, quantiles_within_bucket_error)
{
    hist_t *h = calloc(1, sizeof(*h));
    for (uint64_t v = 1; v <= 100000; v++)
        hist_record(h, v * 1000); /* 1 us .. 100 ms, uniform */
    cr_assert_eq(h->count, 100000);
    struct {
        double q;
        double want;
    } cases[] = {{0.5, 50e6}, {0.9, 90e6}, {0.99, 99e6}};
    for (int i = 0; i < 3; i++) {
        double got = (double)hist_quantile(h, cases[i].q);
        cr_assert(got > cases[i].want * 0.93 && got < cases[i].want * 1.07,
                  "q%.2f: expected about %.0f, got %.0f", cases[i].q, cases[i].want, got);
    }
    cr_assert_eq(hist_quantile(h, 1.0), 100000000, "p100 is clamped to the max");
    cr_assert_float_eq(hist_mean(h), 50000500.0, 1.0);
    free(h);
}

Test(hist, empty_and_merge)
{
    hist_t *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
    cr_assert_eq(hist_quantile(a, 0.5), 0);
    hist_record(a, 10);
    hist_record(b, 1000000);
    hist_merge(a, b);
    cr_assert_eq(a->count, 2);
    cr_assert_eq(a->max, 1000000);
    cr_assert_eq(hist_quantile(a, 0.5), 10);
    free(a), free(b);
}
