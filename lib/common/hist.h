#ifndef COMMON_HIST_H
#define COMMON_HIST_H

/* A lock-free log-linear latency histogram for percentiles.
 *
 * Values are non-negative integers (nanoseconds, by convention). Each power
 * of two is split into 16 linear sub-buckets, so any reported percentile is
 * within 1/16 (6.25%) of the true value; values up to 2^47 (~39 hours in
 * ns) are tracked, larger ones clamp to the top bucket. hist_record is a
 * couple of relaxed atomic adds: safe from any thread, no lock, no
 * allocation (async-signal-safe). Readers see a consistent-enough snapshot
 * for monitoring; use hist_snapshot for exact arithmetic on a copy. */

#include <stdint.h>

#define HIST_SUB_BITS 4
#define HIST_SUB (1 << HIST_SUB_BITS)
#define HIST_MAX_BITS 48
#define HIST_BUCKETS ((HIST_MAX_BITS - HIST_SUB_BITS + 1) * HIST_SUB)

typedef struct hist {
    uint64_t count;
    uint64_t sum;
    uint64_t max;
    uint64_t buckets[HIST_BUCKETS];
} hist_t;

/* Zeroes h (a static or calloc'ed hist_t is already initialized). */
void hist_init(hist_t *h);
void hist_record(hist_t *h, uint64_t value);
/* Copies h into out with relaxed atomic loads. */
void hist_snapshot(const hist_t *h, hist_t *out);
/* Adds src into dst (both snapshots; not atomic). */
void hist_merge(hist_t *dst, const hist_t *src);
/* out = cur - prev for two snapshots of one cumulative histogram, prev taken
 * first: what was recorded in between (e.g. the last second of a live
 * chart). max stays cur's, an upper bound that only clamps the top
 * bucket's midpoint. */
void hist_diff(const hist_t *cur, const hist_t *prev, hist_t *out);
/* The value at quantile q in [0,1] (0 when empty); the bucket's midpoint,
 * clamped to the recorded max. */
uint64_t hist_quantile(const hist_t *h, double q);
double hist_mean(const hist_t *h);

/* Bucket index of a value, and the lowest value of a bucket (for tests). */
int hist_bucket_of(uint64_t value);
uint64_t hist_bucket_low(int bucket);

#endif
