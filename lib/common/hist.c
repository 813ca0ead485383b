/* Log-linear bucketing: values below HIST_SUB map to themselves; a value v
 * with highest set bit b >= HIST_SUB_BITS maps to group (b - SUB_BITS + 1)
 * and sub-bucket given by the SUB_BITS bits below the top bit. */

#include "common/hist.h"

#include <stdbool.h>
#include <string.h>

void hist_init(hist_t *h) { memset(h, 0, sizeof(*h)); }

int hist_bucket_of(uint64_t v)
{
    if (v < HIST_SUB)
        return (int)v;
    int b = 63 - __builtin_clzll(v);
    if (b >= HIST_MAX_BITS)
        return HIST_BUCKETS - 1;
    int group = b - HIST_SUB_BITS + 1;
    int sub = (int)((v >> (b - HIST_SUB_BITS)) & (HIST_SUB - 1));
    return group * HIST_SUB + sub;
}

uint64_t hist_bucket_low(int bucket)
{
    if (bucket < HIST_SUB)
        return (uint64_t)bucket;
    int group = bucket / HIST_SUB, sub = bucket % HIST_SUB;
    int b = group + HIST_SUB_BITS - 1;
    return ((uint64_t)1 << b) | ((uint64_t)sub << (b - HIST_SUB_BITS));
}

void hist_record(hist_t *h, uint64_t v)
{
    __atomic_fetch_add(&h->buckets[hist_bucket_of(v)], 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&h->sum, v, __ATOMIC_RELAXED);
    __atomic_fetch_add(&h->count, 1, __ATOMIC_RELAXED);
    uint64_t m = __atomic_load_n(&h->max, __ATOMIC_RELAXED);
    while (v > m &&
           !__atomic_compare_exchange_n(&h->max, &m, v, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        ;
}

void hist_snapshot(const hist_t *h, hist_t *out)
{
    out->count = 0;
    for (int i = 0; i < HIST_BUCKETS; i++) {
        out->buckets[i] = __atomic_load_n(&h->buckets[i], __ATOMIC_RELAXED);
        out->count += out->buckets[i];
    }
    out->sum = __atomic_load_n(&h->sum, __ATOMIC_RELAXED);
    out->max = __atomic_load_n(&h->max, __ATOMIC_RELAXED);
}

void hist_merge(hist_t *dst, const hist_t *src)
{
    for (int i = 0; i < HIST_BUCKETS; i++)
        dst->buckets[i] += src->buckets[i];
    dst->count += src->count;
    dst->sum += src->sum;
    if (src->max > dst->max)
        dst->max = src->max;
}

uint64_t hist_quantile(const hist_t *h, double q)
{
    uint64_t total = 0;
    for (int i = 0; i < HIST_BUCKETS; i++)
        total += h->buckets[i];
    if (total == 0)
        return 0;
    if (q < 0)
        q = 0;
    if (q > 1)
        q = 1;
    uint64_t rank = (uint64_t)(q * (double)total + 0.5);
    if (rank < 1)
        rank = 1;
    if (rank >= total && h->max)
        return h->max;
    uint64_t seen = 0;
    for (int i = 0; i < HIST_BUCKETS; i++) {
        seen += h->buckets[i];
        if (seen >= rank) {
            uint64_t lo = hist_bucket_low(i);
            uint64_t hi = i + 1 < HIST_BUCKETS ? hist_bucket_low(i + 1) : lo;
            uint64_t mid = lo + (hi - lo) / 2;
            return h->max && mid > h->max ? h->max : mid;
        }
    }
    return h->max;
}

double hist_mean(const hist_t *h) { return h->count ? (double)h->sum / (double)h->count : 0; }

void hist_diff(const hist_t *cur, const hist_t *prev, hist_t *out)
{
    out->count = cur->count - prev->count;
    out->sum = cur->sum - prev->sum;
    out->max = cur->max;
    for (int i = 0; i < HIST_BUCKETS; i++)
        out->buckets[i] = cur->buckets[i] - prev->buckets[i];
}
