#ifndef ORDERD_POOL_H
#define ORDERD_POOL_H

/* The worker pool and the results stage.
 *
 * N worker threads ("worker-N") pop orders from the queue, simulate the work
 * (sleep, cpu or none), apply the business rules, and hand each order to the
 * results stage through a bounded channel (blocking when full: the time spent
 * there is the "result hand-off" histogram, the seed's ChannelBlockTime).
 * The results threads ("results-N") mark orders done in the store, count them
 * and optionally log them. pool_drain is the shutdown path: after the queue
 * is closed it waits until every accepted order has been recorded. */

#include <stdbool.h>
#include <stdint.h>

#include "orderd/queue.h"
#include "orderd/stats.h"
#include "orderd/store.h"

typedef enum { WORK_SLEEP = 0, WORK_CPU, WORK_NONE } work_mode_t;

typedef struct pool_config {
    int workers;
    int results_threads;
    work_mode_t work;
    int64_t work_ns;  /* per priority unit */
    bool log_results; /* one log line per processed order */
} pool_config_t;

typedef struct pool pool_t;

pool_t *pool_new(const pool_config_t *cfg, queue_t *q, store_t *store, stats_t *stats);
/* Starts every thread; 0 or a negative errno. */
int pool_start(pool_t *p);
/* Waits until the queue (already closed) is empty and every order recorded,
 * or until deadline (monotonic ns; 0 = no deadline). Returns the number of
 * accepted orders not yet recorded (0 when all were). Joins the threads when
 * it returns 0. */
uint64_t pool_drain(pool_t *p, int64_t deadline_mono_ns);
/* Orders taken by workers and not yet recorded. */
uint64_t pool_in_flight(pool_t *p);
void pool_free(pool_t *p);

/* Parses "sleep", "cpu" or "none". */
int pool_parse_work(const char *s, work_mode_t *out);
const char *pool_work_name(work_mode_t w);

#endif
