#ifndef ORDERD_STATS_H
#define ORDERD_STATS_H

/* Counters and latency histograms of the service. Every field is updated
 * with relaxed atomics from any thread (no lock on the hot path); readers
 * snapshot them. Priority index p is priority-1 (0 = high). */

#include <stdint.h>

#include "common/hist.h"

typedef enum {
    STATS_REJECT_FULL = 0,  /* 503 queue full */
    STATS_REJECT_SHUTDOWN,  /* 503 shutting down */
    STATS_REJECT_INVALID,   /* 400 */
    STATS_REJECT_TOO_LARGE, /* 413 */
    STATS_REJECT_DUPLICATE, /* 409 */
    STATS_REJECT_N
} stats_reject_t;

extern const char *const stats_reject_names[STATS_REJECT_N]; /* "queue_full", ... */

typedef struct stats {
    int64_t start_mono_ns;
    int64_t start_wall_ns;
    uint64_t accepted[3];
    uint64_t rejected[STATS_REJECT_N];
    uint64_t processed[3][2]; /* [priority][0 = success, 1 = error] */
    int64_t active_workers;   /* workers processing an order right now */
    int64_t last_progress_mono_ns;
    hist_t queue_wait[3]; /* accepted -> taken by a worker, ns */
    hist_t processing[3]; /* taken -> processed, ns */
    hist_t handoff;       /* processed -> recorded by the results stage, ns */
    hist_t latency[3];    /* accepted -> recorded, ns (end to end) */
} stats_t;

void stats_init(stats_t *s);
static inline void stats_add(uint64_t *counter, uint64_t n)
{
    __atomic_fetch_add(counter, n, __ATOMIC_RELAXED);
}
static inline uint64_t stats_get(const uint64_t *counter)
{
    return __atomic_load_n(counter, __ATOMIC_RELAXED);
}
uint64_t stats_total_accepted(const stats_t *s);
uint64_t stats_total_processed(const stats_t *s);
uint64_t stats_total_rejected(const stats_t *s);

#endif
