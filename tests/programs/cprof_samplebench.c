/* Per-sample cost of the CPU profiler's SIGPROF handler, printed as bench
 * RESULT lines (see bench/run.sh):
 *   cpu_profiler.backtrace_ns      glibc backtrace() alone, 24 frames deep
 *   cpu_profiler.signal_sample_ns  a whole sample: tgkill(self, SIGPROF),
 *                                  kernel delivery, handler (unwind + slot)
 *   cpu_profiler.signal_noop_ns    the same signal with the profiler idle
 *                                  (handler returns at once): the kernel's
 *                                  share of the cost
 * Signals are sent in batches of 1000 with a pause between batches so the
 * profiler thread drains the ring (pauses are not timed). */

#include <errno.h>
#include <execinfo.h>
#include <signal.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "cprof.h"

#define DEPTH 24
#define BATCH 1000
#define BATCHES 20

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void pause_ms(int ms)
{
    struct timespec ts = {0, ms * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static int64_t time_signals(void)
{
    pid_t pid = getpid();
    int tid = (int)syscall(SYS_gettid);
    int64_t total = 0;
    for (int b = 0; b < BATCHES; b++) {
        int64_t t0 = mono_ns();
        for (int i = 0; i < BATCH; i++)
            syscall(SYS_tgkill, pid, tid, SIGPROF);
        total += mono_ns() - t0;
        pause_ms(25);
    }
    return total / (BATCH * BATCHES);
}

static int64_t time_backtrace(void)
{
    void *pcs[64];
    int64_t t0 = mono_ns();
    for (int i = 0; i < 100000; i++)
        backtrace(pcs, 64);
    return (mono_ns() - t0) / 100000;
}

/* Recurses to DEPTH frames, then measures: a realistic stack to unwind. */
__attribute__((noinline)) static int64_t at_depth(int d, int what)
{
    int64_t r;
    if (d > 0)
        r = at_depth(d - 1, what);
    else
        r = what == 0 ? time_backtrace() : time_signals();
    __asm__ volatile("" ::: "memory");
    return r;
}

int main(void)
{
    if (cprof_cpu_init() != 0) {
        fprintf(stderr, "cprof_cpu_init failed\n");
        return 1;
    }
    int64_t idle = at_depth(DEPTH, 1); /* handler installed, profiler idle */
    int64_t bt = at_depth(DEPTH, 0);
    if (cprof_cpu_start(100) != 0) {
        fprintf(stderr, "cprof_cpu_start failed\n");
        return 1;
    }
    int64_t sample = at_depth(DEPTH, 1);
    cprof_cpu_stats_t st;
    cprof_cpu_stats(&st);
    cprof_cpu_stop(NULL);
    printf("RESULT\tcpu_profiler.backtrace_ns\t%lld\tns\n", (long long)bt);
    printf("RESULT\tcpu_profiler.signal_sample_ns\t%lld\tns\n", (long long)sample);
    printf("RESULT\tcpu_profiler.signal_noop_ns\t%lld\tns\n", (long long)idle);
    printf("samples recorded %llu, lost %llu\n", (unsigned long long)st.samples,
           (unsigned long long)st.lost);
    return 0;
}
