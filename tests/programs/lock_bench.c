/* Micro-benchmark of the cprof lock wrappers and trace recording, for
 * bench/bench_lock_trace.sh. Prints "name value unit" lines:
 *   - uncontended lock+unlock of pthread_mutex_t and cprof_mutex_t, with
 *     the mutex and block profiles at Go's rate 1 (as orderd runs);
 *   - a trace span (begin+end) with no trace running, and while one runs.
 * Each figure is the best of 5 runs of N iterations (ns per iteration), so
 * a noisy shared machine inflates it as little as possible. */

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "cprof/lock.h"
#include "cprof/trace.h"

#define N 5000000

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static pthread_mutex_t pm = PTHREAD_MUTEX_INITIALIZER;
static cprof_mutex_t cm = CPROF_MUTEX_INITIALIZER;

static __attribute__((noinline)) void run_pthread(int n)
{
    for (int i = 0; i < n; i++) {
        pthread_mutex_lock(&pm);
        pthread_mutex_unlock(&pm);
    }
}

static __attribute__((noinline)) void run_cprof(int n)
{
    for (int i = 0; i < n; i++) {
        cprof_mutex_lock(&cm);
        cprof_mutex_unlock(&cm);
    }
}

static __attribute__((noinline)) void run_span(int n)
{
    for (int i = 0; i < n; i++)
        cprof_trace_end(cprof_trace_begin(), "bench span", NULL, 0);
}

static double best(void (*fn)(int), int n)
{
    double b = 1e300;
    for (int r = 0; r < 5; r++) {
        double t0 = now_ns();
        fn(n);
        double per = (now_ns() - t0) / n;
        if (per < b)
            b = per;
    }
    return b;
}

int main(void)
{
    cprof_set_mutex_profile_fraction(1);
    cprof_set_block_profile_rate(1);
    printf("pthread_mutex_lock_unlock %.2f ns\n", best(run_pthread, N));
    printf("cprof_mutex_lock_unlock %.2f ns\n", best(run_cprof, N));
    printf("trace_span_off %.2f ns\n", best(run_span, N));
    /* While tracing: fewer iterations, so the buffers hold every span. */
    if (cprof_trace_start() != 0)
        return 1;
    printf("trace_span_on %.2f ns\n", best(run_span, N / 100));
    cprof_trace_t *t;
    if (cprof_trace_stop(&t) == 0)
        cprof_trace_free(t);
    return 0;
}
