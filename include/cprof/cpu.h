#ifndef CPROF_CPU_H
#define CPROF_CPU_H

/* CPU profiler: samples the stacks of every thread of the process in
 * proportion to the CPU time each uses, like Go's pprof.StartCPUProfile.
 *
 * How: a profiler thread ("cprof-cpu") creates a per-thread CPU-time timer
 * (timer_create on the CPU clock of each tid in /proc/self/task, delivering
 * SIGPROF to that thread with SIGEV_THREAD_ID) and rescans every 100 ms so
 * threads created during the profile are sampled too. The SIGPROF handler
 * unwinds with libgcc's unwinder (glibc backtrace(), warmed up once) into
 * preallocated slots and counts what it cannot store; those samples appear
 * in the profile as a "[lost samples]" frame. It never allocates or locks.
 * The handler stays installed after a profile, so a late signal is ignored
 * rather than killing the process. Threads that block SIGPROF are not
 * sampled. Blocking calls in other threads may return EINTR while a profile
 * runs (SA_RESTART does not cover nanosleep, poll, epoll_wait...): retry.
 *
 * One CPU profile at a time per process. Thread-safe; nothing here is
 * async-signal-safe. */

#include <stdbool.h>
#include <stdint.h>

#include "cprof/pprof.h"

#define CPROF_CPU_DEFAULT_HZ 100

/* Installs the SIGPROF handler and warms up the unwinder (loads libgcc_s).
 * Called by cprof_cpu_start; call it early (before threads that matter
 * start) to keep that one-time cost out of the first profile. Idempotent.
 * Returns 0 or a negative errno. */
int cprof_cpu_init(void);

/* The highest sampling rate the kernel can deliver: its tick rate
 * (CONFIG_HZ), measured once from CLOCK_MONOTONIC_COARSE's resolution. */
int cprof_cpu_max_hz(void);

/* Starts sampling at hz (0: 100) samples per CPU-second per thread.
 * Returns 0, -EBUSY (a profile is running), -EINVAL (hz out of 1..max) or
 * another negative errno. */
int cprof_cpu_start(int hz);
bool cprof_cpu_running(void);

/* Stops sampling and returns the profile as a builder, not yet symbolized
 * (finish it with cprof_pprof_finish, then cprof_pprof_free): sample types
 * samples/count and cpu/nanoseconds, period cpu/nanoseconds, one sample
 * per distinct (stack, thread) with a "thread" label (thread name).
 * *out may be NULL to discard. Returns 0, -EINVAL (not running) or
 * -ENOMEM. */
int cprof_cpu_stop(cprof_pprof_t **out);

/* Counters of the current or last profile. */
typedef struct cprof_cpu_stats {
    uint64_t samples;  /* recorded */
    uint64_t lost;     /* dropped: no free slot */
    uint64_t overruns; /* timer expirations merged by the kernel (counted in samples' weight) */
    uint64_t threads;  /* threads that had a timer */
    int hz;
} cprof_cpu_stats_t;
void cprof_cpu_stats(cprof_cpu_stats_t *out);

/* Convenience: profiles for duration_ns at hz, then finishes (gzipped) into
 * *out (malloc'ed). Blocks the calling thread. */
int cprof_cpu_profile(int64_t duration_ns, int hz, uint8_t **out, size_t *out_len);

#endif
