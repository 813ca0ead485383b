#ifndef CPROF_THREADS_H
#define CPROF_THREADS_H

/* Thread dumps (Go's goroutine profile) and the stacks that created the
 * live threads (Go's threadcreate profile).
 *
 * A dump sends CPROF_THREADS_SIGNAL with tgkill to every thread in
 * /proc/self/task. Each thread's handler unwinds its own stack with
 * backtrace() into a slot preallocated by the collector and posts a
 * semaphore; the handler saves errno, never allocates, never locks. The
 * collector waits with a timeout and marks threads that did not answer, or
 * that block the signal (read from /proc/self/task/<tid>/status), instead of
 * waiting for them. One dump runs at a time; others wait for it.
 *
 * The signal interrupts blocking calls: epoll_wait, poll, select, nanosleep
 * and sem_timedwait return EINTR even with SA_RESTART. Code that shares a
 * process with cprof must retry them (every blocking call in this project
 * does; libmicrohttpd's internal loops retry EINTR).
 *
 * Thread-safe. Nothing here is async-signal-safe. */

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

/* The real-time signal used for dumps (SIGRTMIN + 6; CPU profiles use
 * SIGPROF). */
int cprof_threads_signal(void);

typedef struct cprof_thread {
    pid_t tid;
    char name[16];
    char state;                 /* /proc state letter: R, S, D, T, ... ('?' unknown) */
    int64_t utime_ns, stime_ns; /* CPU time in user and kernel mode */
    const uint64_t *pcs;        /* leaf first; npcs 0 when the thread did not answer */
    size_t npcs;
    bool leaf_exact; /* pcs[0] is the interrupted instruction, not a return address */
    /* 0 answered; -ETIMEDOUT no answer in time; -EAGAIN the thread blocks
     * the signal; -ESRCH it exited during the dump. */
    int status;
} cprof_thread_t;

typedef struct cprof_threads cprof_threads_t;

/* Dumps every thread's stack, waiting at most timeout_ns for answers
 * (<= 0: 1 s). *out is owned by the caller (cprof_threads_free). Returns 0,
 * -ENOMEM, or a negative errno from reading /proc or installing the handler. */
int cprof_threads_dump(int64_t timeout_ns, cprof_threads_t **out);
void cprof_threads_free(cprof_threads_t *t);
size_t cprof_threads_count(const cprof_threads_t *t);
/* The i-th thread (i < count), in /proc order; valid until free. */
const cprof_thread_t *cprof_threads_get(const cprof_threads_t *t, size_t i);
/* Wall-clock time of the dump (ns since the epoch) and how long it took. */
int64_t cprof_threads_time_ns(const cprof_threads_t *t);
int64_t cprof_threads_took_ns(const cprof_threads_t *t);

/* Writes the dump: debug 1 = Go's grouped text ("goroutine profile: total N",
 * then "N @ pcs" with "#" frame lines); debug >= 2 = one block per thread
 * with name, tid, state, CPU time and the full symbolized stack. 0 or a
 * negative errno. */
int cprof_threads_write_text(const cprof_threads_t *t, int debug, FILE *out);
/* profile.proto (gzipped), sample type goroutine/count, one sample per
 * distinct stack with one "thread" label per thread name. *out malloc'ed. */
int cprof_threads_write_pprof(const cprof_threads_t *t, uint8_t **out, size_t *len);

/* ---- thread creation ------------------------------------------------------ */

/* pthread_create that also names the thread (name may be NULL; at most 15
 * bytes are used) and records the creator's stack for the threadcreate
 * profile until the thread ends. Returns 0 or a negative errno. */
int cprof_thread_create(pthread_t *thread, const pthread_attr_t *attr, void *(*start)(void *),
                        void *arg, const char *name);

/* The threadcreate profile: one sample per creating stack of the live
 * threads made by cprof_thread_create, plus one "[created outside
 * cprof_thread_create]" sample counting the other live threads. As gzipped
 * profile.proto (threadcreate/count; *out malloc'ed), or as Go's text form
 * ("threadcreate profile: total N", debug=1). 0 or a negative errno. */
int cprof_threadcreate_write_pprof(uint8_t **out, size_t *len);
int cprof_threadcreate_write_text(FILE *out);
/* Live threads made by cprof_thread_create. */
size_t cprof_threadcreate_count(void);

#endif
