/* The CPU profiler in a real multi-threaded process (this one): samples
 * are attributed in proportion to each thread's CPU time, the total matches
 * the process's CPU time, threads created mid-profile are sampled, and
 * threads blocked in read, nanosleep, epoll_wait and pthread_cond_wait keep
 * working (the profiler's signals make them return EINTR; they retry).
 *
 * Tolerances are about sampling, not the machine: the expected shares are
 * the threads' own CPU clocks measured over the same window, so a busy
 * 2-core box changes both sides alike. */

#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "cprof.h"

static int stop;

static int64_t clock_ns(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t thread_cpu_ns(pthread_t t)
{
    clockid_t c;
    cr_assert_eq(pthread_getcpuclockid(t, &c), 0);
    return clock_ns(c);
}

static void sleep_ns(int64_t ns)
{
    struct timespec ts = {ns / 1000000000, ns % 1000000000};
    while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) == EINTR)
        ;
}

__attribute__((noinline)) static void spin_for(int64_t ns)
{
    int64_t end = clock_ns(CLOCK_THREAD_CPUTIME_ID) + ns;
    volatile unsigned x = 0;
    while (clock_ns(CLOCK_THREAD_CPUTIME_ID) < end)
        x++;
}

/* Busy all the time. */
__attribute__((noinline)) static void cpu_heavy(void)
{
    while (!__atomic_load_n(&stop, __ATOMIC_RELAXED))
        spin_for(1000000);
}

/* Busy a third of the time (1 ms of CPU, then 2 ms asleep). */
__attribute__((noinline)) static void cpu_light(void)
{
    while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
        spin_for(1000000);
        sleep_ns(2000000);
    }
}

static int named; /* threads of the proportion test that have named themselves */

static void *heavy_main(void *a)
{
    (void)a;
    pthread_setname_np(pthread_self(), "heavy");
    __atomic_add_fetch(&named, 1, __ATOMIC_RELEASE);
    cpu_heavy();
    return NULL;
}

static void *light_main(void *a)
{
    (void)a;
    pthread_setname_np(pthread_self(), "light");
    __atomic_add_fetch(&named, 1, __ATOMIC_RELEASE);
    cpu_light();
    return NULL;
}

static int64_t rusage_ns(void);

/* Stops the profile, notes the process CPU time (*r1, before the costs of
 * symbolizing), and decodes what the HTTP layer would send. */
static cprof_profile_t *stop_and_decode_at(int64_t *r1)
{
    cprof_pprof_t *p = NULL;
    cr_assert_eq(cprof_cpu_stop(&p), 0);
    if (r1)
        *r1 = rusage_ns();
    uint8_t *data;
    size_t len;
    cr_assert_eq(cprof_pprof_finish(p, true, &data, &len), 0);
    cprof_pprof_free(p);
    cprof_profile_t *d = NULL;
    cr_assert_eq(cprof_profile_decode(data, len, &d), 0);
    free(data);
    return d;
}

static cprof_profile_t *stop_and_decode(void) { return stop_and_decode_at(NULL); }

/* CPU nanoseconds of samples with `fn` anywhere in the stack (and, if
 * thread is set, that thread label). */
static int64_t cpu_in(const cprof_profile_t *d, const char *fn, const char *thread)
{
    int64_t total = 0;
    for (size_t i = 0; i < d->nsamples; i++) {
        const cprof_pp_sample_t *s = &d->samples[i];
        if (thread) {
            bool match = false;
            for (size_t k = 0; k < s->nlabels; k++)
                match |= strcmp(s->labels[k].key, "thread") == 0 && s->labels[k].str &&
                         strcmp(s->labels[k].str, thread) == 0;
            if (!match)
                continue;
        }
        bool found = fn == NULL;
        for (size_t k = 0; k < s->nlocations && !found; k++) {
            const cprof_pp_location_t *l = cprof_profile_location(d, s->location_ids[k]);
            for (size_t j = 0; l && j < l->nlines && !found; j++) {
                const cprof_pp_function_t *f = cprof_profile_function(d, l->lines[j].function_id);
                found = f && strcmp(f->name, fn) == 0;
            }
        }
        if (found)
            total += s->values[1];
    }
    return total;
}

static int64_t rusage_ns(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000LL +
           (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000LL;
}

Test(cprof_cpu, proportion_and_total_match_cpu_time, .timeout = 60)
{
    cr_assert_eq(cprof_cpu_init(), 0);
    pthread_t h, l;
    pthread_create(&h, NULL, heavy_main, NULL);
    pthread_create(&l, NULL, light_main, NULL);
    while (__atomic_load_n(&named, __ATOMIC_ACQUIRE) < 2) /* both named and running */
        sleep_ns(1000000);
    int64_t h0 = thread_cpu_ns(h), l0 = thread_cpu_ns(l), r0 = rusage_ns();
    cr_assert_eq(cprof_cpu_start(100), 0);
    sleep_ns(3000000000LL);
    int64_t h1 = thread_cpu_ns(h), l1 = thread_cpu_ns(l);
    int64_t r1;
    cprof_profile_t *d = stop_and_decode_at(&r1);
    __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
    pthread_join(h, NULL);
    pthread_join(l, NULL);

    int64_t ph = cpu_in(d, "cpu_heavy", "heavy"), pl = cpu_in(d, "cpu_light", "light");
    int64_t total = cpu_in(d, NULL, NULL);
    double want = (double)(h1 - h0) / (double)((h1 - h0) + (l1 - l0));
    double got = (double)ph / (double)(ph + pl);
    cr_log_info("heavy:light CPU %.2f:%.2f s (share %.3f), profile %.2f:%.2f s (share %.3f); "
                "process CPU %.2f s, sampled %.2f s",
                (h1 - h0) / 1e9, (l1 - l0) / 1e9, want, ph / 1e9, pl / 1e9, got, (r1 - r0) / 1e9,
                total / 1e9);
    cr_assert_gt(pl, 0, "the light thread was sampled");
    /* About 400 samples: the share's standard error is ~2%; allow 8%. */
    cr_assert(got > want - 0.08 && got < want + 0.08,
              "heavy share %.3f in the profile, %.3f measured", got, want);
    /* Sampled CPU vs getrusage over the window: within 20% (each thread
     * loses up to one period at each end; the window includes the stop). */
    double ratio = (double)total / (double)(r1 - r0);
    cr_assert(ratio > 0.8 && ratio < 1.2, "sampled/measured CPU = %.3f", ratio);
    cprof_profile_free(d);
}

__attribute__((noinline)) static void cpu_late(void)
{
    spin_for(500000000);
    __asm__ volatile("" ::: "memory"); /* not a tail call: keep this frame */
}

static void *late_main(void *a)
{
    (void)a;
    pthread_setname_np(pthread_self(), "late-thread");
    cpu_late();
    return NULL;
}

Test(cprof_cpu, thread_created_mid_profile_is_sampled, .timeout = 60)
{
    cr_assert_eq(cprof_cpu_start(100), 0);
    sleep_ns(300000000);
    pthread_t t;
    pthread_create(&t, NULL, late_main, NULL);
    pthread_join(t, NULL);
    cprof_profile_t *d = stop_and_decode();
    int64_t got = cpu_in(d, "cpu_late", "late-thread");
    cr_log_info("late thread: %.2f s sampled of 0.5 s", got / 1e9);
    /* 0.5 s of CPU: ~50 samples; the first rescan may come 100 ms late. */
    cr_assert_geq(got, 200000000, "late thread sampled for %lld ns", (long long)got);
    cprof_profile_free(d);
}

/* ---- blocked threads keep working ------------------------------------------ */

#define ROUNDS 40
static int pipefd[2], efd, epfd;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int cond_value;
static int eintr_seen;
static int errors;
static int worker_tids[5];
static int workers_done;

static void note_tid(int i) { __atomic_store_n(&worker_tids[i], (int)gettid(), __ATOMIC_SEQ_CST); }

static void *reader_main(void *a)
{
    (void)a;
    note_tid(0);
    for (int i = 0; i < ROUNDS; i++) {
        spin_for(1000000);
        unsigned char c;
        ssize_t n;
        while ((n = read(pipefd[0], &c, 1)) < 0 && errno == EINTR)
            __atomic_add_fetch(&eintr_seen, 1, __ATOMIC_RELAXED);
        if (n != 1 || c != (unsigned char)i)
            __atomic_add_fetch(&errors, 1, __ATOMIC_RELAXED);
    }
    __atomic_add_fetch(&workers_done, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

static void *sleeper_main(void *a)
{
    (void)a;
    note_tid(1);
    for (int i = 0; i < ROUNDS; i++) {
        spin_for(1000000);
        int64_t t0 = clock_ns(CLOCK_MONOTONIC);
        struct timespec ts = {0, 10000000};
        while (nanosleep(&ts, &ts) < 0) {
            if (errno != EINTR) {
                __atomic_add_fetch(&errors, 1, __ATOMIC_RELAXED);
                break;
            }
            __atomic_add_fetch(&eintr_seen, 1, __ATOMIC_RELAXED);
        }
        if (clock_ns(CLOCK_MONOTONIC) - t0 < 10000000)
            __atomic_add_fetch(&errors, 1, __ATOMIC_RELAXED);
    }
    __atomic_add_fetch(&workers_done, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

static void *epoller_main(void *a)
{
    (void)a;
    note_tid(2);
    for (int i = 0; i < ROUNDS; i++) {
        spin_for(1000000);
        struct epoll_event ev;
        int n;
        while ((n = epoll_wait(epfd, &ev, 1, 5000)) < 0 && errno == EINTR)
            __atomic_add_fetch(&eintr_seen, 1, __ATOMIC_RELAXED);
        uint64_t v = 0;
        if (n != 1 || read(efd, &v, sizeof(v)) != sizeof(v) || v < 1)
            __atomic_add_fetch(&errors, 1, __ATOMIC_RELAXED);
    }
    __atomic_add_fetch(&workers_done, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

static void *waiter_main(void *a)
{
    (void)a;
    note_tid(3);
    for (int i = 1; i <= ROUNDS; i++) {
        spin_for(1000000);
        pthread_mutex_lock(&mu);
        while (cond_value < i)
            pthread_cond_wait(&cv, &mu);
        pthread_mutex_unlock(&mu);
    }
    __atomic_add_fetch(&workers_done, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

static void *feeder_main(void *a)
{
    (void)a;
    note_tid(4);
    for (int i = 0; i < ROUNDS; i++) {
        spin_for(500000);
        sleep_ns(10000000);
        unsigned char c = (unsigned char)i;
        uint64_t one = 1;
        if (write(pipefd[1], &c, 1) != 1 || write(efd, &one, sizeof(one)) != sizeof(one))
            __atomic_add_fetch(&errors, 1, __ATOMIC_RELAXED);
        pthread_mutex_lock(&mu);
        cond_value = i + 1;
        pthread_cond_broadcast(&cv);
        pthread_mutex_unlock(&mu);
    }
    __atomic_add_fetch(&workers_done, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

Test(cprof_cpu, blocked_threads_keep_working, .timeout = 60)
{
    cr_assert_eq(pipe(pipefd), 0);
    efd = eventfd(0, EFD_NONBLOCK);
    epfd = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN};
    cr_assert_eq(epoll_ctl(epfd, EPOLL_CTL_ADD, efd, &ev), 0);
    cr_assert_eq(cprof_cpu_start(cprof_cpu_max_hz()), 0);
    void *(*fn[])(void *) = {reader_main, sleeper_main, epoller_main, waiter_main, feeder_main};
    pthread_t t[5];
    for (int i = 0; i < 5; i++)
        pthread_create(&t[i], NULL, fn[i], NULL);
    /* Besides the timers' own signals, which mostly land while a thread
     * runs, send SIGPROF to the blocked threads every millisecond, as other
     * profilers' signals (thread dumps) do. */
    for (int round = 0; round < 5000; round++) {
        bool all = true;
        for (int i = 0; i < 5; i++) {
            int tid = __atomic_load_n(&worker_tids[i], __ATOMIC_SEQ_CST);
            if (tid)
                tgkill(getpid(), tid, SIGPROF);
            all &= tid != 0;
        }
        if (all && __atomic_load_n(&workers_done, __ATOMIC_SEQ_CST) == 5)
            break;
        sleep_ns(1000000);
    }
    for (int i = 0; i < 5; i++)
        pthread_join(t[i], NULL);
    cprof_profile_t *d = stop_and_decode();
    cr_log_info("EINTR retried %d times", eintr_seen);
    cr_assert_gt(eintr_seen, 0, "the signals interrupted blocking calls");
    cr_assert_eq(errors, 0, "%d wrong results", errors);
    cr_assert_eq(cond_value, ROUNDS);
    cr_assert_gt(d->nsamples, 0);
    cprof_profile_free(d);
}
