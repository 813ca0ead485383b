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

Test(hist, diff_is_what_was_recorded_in_between)
{
    hist_t *h = calloc(1, sizeof(*h)), *prev = calloc(1, sizeof(*prev));
    hist_t *cur = calloc(1, sizeof(*cur)), *d = calloc(1, sizeof(*d));
    for (int i = 0; i < 100; i++)
        hist_record(h, 1000);
    hist_snapshot(h, prev);
    for (int i = 0; i < 10; i++)
        hist_record(h, 5000000);
    hist_snapshot(h, cur);
    hist_diff(cur, prev, d);
    cr_assert_eq(d->count, 10, "count %llu", (unsigned long long)d->count);
    cr_assert_eq(d->sum, 50000000);
    /* Only the newer values remain: the median is now 5 ms, not 1 us. */
    uint64_t p50 = hist_quantile(d, 0.5);
    cr_assert(p50 > 4600000 && p50 <= 5000000, "p50 of the difference: %llu",
              (unsigned long long)p50);
    free(h), free(prev), free(cur), free(d);
}
