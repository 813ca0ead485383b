#ifndef CPROF_LOCK_H
#define CPROF_LOCK_H

/* Profiled mutexes and condition variables, and the mutex and block
 * profiles they feed (Go's runtime.SetMutexProfileFraction and
 * runtime.SetBlockProfileRate).
 *
 * cprof_mutex_t wraps a pthread mutex. The uncontended lock is one trylock;
 * the uncontended unlock adds one relaxed load. Only a lock that has to wait
 * takes timestamps. Two profiles are kept, keyed by stack:
 *
 * - mutex: the delay waiters spent waiting, charged to the stack of the
 *   thread that held the lock, at its unlock (Go semantics: the unlocker's
 *   stack gets the waiters' delay). Each waiter's wait is split between the
 *   unlocks that happen while it waits; each unlock that ends some waiting
 *   counts one contention. 1/fraction of those events are recorded, scaled
 *   back up by fraction as Go does; fraction 0 = off.
 * - block: the time a thread spent blocked in cprof_mutex_lock (contended)
 *   and in cprof_cond_wait/timedwait, at the waiter's stack. Events lasting
 *   at least rate ns are always recorded; shorter ones with probability
 *   duration/rate and a count scaled by rate/duration (Go's unbiasing);
 *   rate 0 = off.
 *
 * Thread-safe. Nothing here is async-signal-safe. */

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct cprof_mutex {
    pthread_mutex_t _m;
    int _nwait;        /* threads registered as waiting (atomic) */
    int _spin;         /* guards the waiter bookkeeping below */
    int64_t _wait_sum; /* sum of the waiters' (uncharged) start times */
    int64_t _charged;  /* time up to which waiting was charged */
} cprof_mutex_t;

#define CPROF_MUTEX_INITIALIZER                                                                    \
    {                                                                                              \
        PTHREAD_MUTEX_INITIALIZER, 0, 0, 0, 0                                                      \
    }

/* Caller-owned memory: init before use, destroy when no thread uses it.
 * init returns 0 or a negative errno. */
int cprof_mutex_init(cprof_mutex_t *m);
void cprof_mutex_destroy(cprof_mutex_t *m);
void cprof_mutex_lock(cprof_mutex_t *m);
/* 0 when taken, -EBUSY when held by someone (never waits, never counted). */
int cprof_mutex_trylock(cprof_mutex_t *m);
void cprof_mutex_unlock(cprof_mutex_t *m);

typedef struct cprof_cond {
    pthread_cond_t _c;
} cprof_cond_t;

/* The condition variable measures timeouts on CLOCK_MONOTONIC. */
int cprof_cond_init(cprof_cond_t *c);
void cprof_cond_destroy(cprof_cond_t *c);
/* Waits with m held (as pthread_cond_wait); the release of m counts as an
 * unlock for the mutex profile and the whole wait as a block event. */
void cprof_cond_wait(cprof_cond_t *c, cprof_mutex_t *m);
/* As cprof_cond_wait until the monotonic deadline (ns, clock_gettime
 * CLOCK_MONOTONIC); 0 or -ETIMEDOUT. */
int cprof_cond_timedwait(cprof_cond_t *c, cprof_mutex_t *m, int64_t deadline_mono_ns);
void cprof_cond_signal(cprof_cond_t *c);
void cprof_cond_broadcast(cprof_cond_t *c);

/* Go's SetMutexProfileFraction: records 1/rate of contention events; 0
 * turns it off; a negative rate only reads. Returns the previous rate. */
int cprof_set_mutex_profile_fraction(int rate);
/* Go's SetBlockProfileRate in ns (<= 0 turns it off; 1 records every
 * event). Returns 0. */
int cprof_set_block_profile_rate(int64_t rate_ns);

/* For a program whose own code (and cprof, linked in statically) is built
 * with -fno-omit-frame-pointer: the mutex and block profiles then take
 * stacks by walking frame pointers (tens of ns) instead of glibc's
 * backtrace() (several µs per sampled event). The walk stops at the first
 * frame outside the main executable (e.g. start_thread, or a library that
 * called back into the program), so such stacks end there. Off by default;
 * thread-safe. */
void cprof_lock_use_frame_pointers(bool on);
int64_t cprof_block_profile_rate(void);

/* Snapshots of the profiles (cumulative since the start, like Go's). */
typedef enum { CPROF_LOCK_MUTEX = 0, CPROF_LOCK_BLOCK = 1 } cprof_lock_kind_t;

typedef struct cprof_lock_sample {
    const uint64_t *pcs; /* return addresses, leaf (the cprof wrapper) first */
    size_t npcs;
    int64_t count;    /* contentions (unsampled estimate) */
    int64_t delay_ns; /* total delay (unsampled estimate) */
} cprof_lock_sample_t;

typedef struct cprof_lock_profile cprof_lock_profile_t;

/* Copies the current records of one profile. *out is owned by the caller
 * (cprof_lock_profile_free). 0 or -ENOMEM. */
int cprof_lock_snapshot(cprof_lock_kind_t kind, cprof_lock_profile_t **out);
void cprof_lock_profile_free(cprof_lock_profile_t *p);
size_t cprof_lock_profile_count(const cprof_lock_profile_t *p);
/* The i-th record (i < count), largest delay first; valid until free. */
const cprof_lock_sample_t *cprof_lock_profile_sample(const cprof_lock_profile_t *p, size_t i);
cprof_lock_kind_t cprof_lock_profile_kind(const cprof_lock_profile_t *p);
/* The rate in force at the snapshot (fraction for mutex, ns for block). */
int64_t cprof_lock_profile_period(const cprof_lock_profile_t *p);
int64_t cprof_lock_profile_time_ns(const cprof_lock_profile_t *p); /* wall clock */
/* Records that could not be stored (table full, no memory). */
uint64_t cprof_lock_profile_dropped(const cprof_lock_profile_t *p);

/* Go's legacy text format (debug=1): "--- mutex:" or "--- contention:",
 * "cycles/second=1000000000" (delays are in ns), "sampling period=N", then
 * "<delay> <count> @ pcs" lines with "#" frame lines from name_pc (may be
 * NULL: addresses only). 0 or a negative errno from writing. */
typedef void (*cprof_lock_name_fn)(uint64_t pc, FILE *out, void *arg);
int cprof_lock_write_text(const cprof_lock_profile_t *p, cprof_lock_name_fn name_pc, void *arg,
                          FILE *out);

/* Forgets every record of both profiles (tests). */
void cprof_lock_reset(void);

#endif
