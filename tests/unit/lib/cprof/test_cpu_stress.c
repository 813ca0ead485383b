/* Stress: the CPU profiler at the kernel tick rate, plus a flood of
 * SIGPROF sent with tgkill, on threads that loop dlopen/dlclose, malloc/
 * free and backtrace() for 10 s. libunwind and gperftools deadlock here
 * against the dynamic loader's lock; the libgcc unwinder must not. A
 * watchdog turns a hang into a failure. */

#include <criterion/criterion.h>
#include <dlfcn.h>
#include <errno.h>
#include <execinfo.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "cprof.h"

#define RUN_NS 10000000000LL
#define NWORKERS 5

static int stop;
static int tids[NWORKERS];
static long iterations[NWORKERS];

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Libraries this process has not loaded, so dlopen/dlclose really map and
 * unmap them. */
static const char *candidates[] = {"libBrokenLocale.so.1", "libanl.so.1",   "libthread_db.so.1",
                                   "libnss_dns.so.2",      "libcrypt.so.1", "libresolv.so.2"};

static void *dl_loop(void *arg)
{
    int id = (int)(intptr_t)arg;
    __atomic_store_n(&tids[id], (int)syscall(SYS_gettid), __ATOMIC_SEQ_CST);
    while (!__atomic_load_n(&stop, __ATOMIC_SEQ_CST)) {
        for (size_t i = id; i < sizeof(candidates) / sizeof(candidates[0]); i += 2) {
            void *h = dlopen(candidates[i], RTLD_NOW | RTLD_LOCAL);
            if (h)
                dlclose(h);
        }
        iterations[id]++;
    }
    return NULL;
}

static void *malloc_loop(void *arg)
{
    int id = (int)(intptr_t)arg;
    __atomic_store_n(&tids[id], (int)syscall(SYS_gettid), __ATOMIC_SEQ_CST);
    void *keep[64] = {0};
    unsigned seed = (unsigned)id;
    while (!__atomic_load_n(&stop, __ATOMIC_SEQ_CST)) {
        unsigned k = rand_r(&seed) % 64;
        free(keep[k]);
        keep[k] = malloc(1 + rand_r(&seed) % 8192);
        memset(keep[k], 1, 1);
        iterations[id]++;
    }
    for (int i = 0; i < 64; i++)
        free(keep[i]);
    return NULL;
}

static void *backtrace_loop(void *arg)
{
    int id = (int)(intptr_t)arg;
    __atomic_store_n(&tids[id], (int)syscall(SYS_gettid), __ATOMIC_SEQ_CST);
    void *pcs[64];
    while (!__atomic_load_n(&stop, __ATOMIC_SEQ_CST)) {
        cr_assert_gt(backtrace(pcs, 64), 0);
        iterations[id]++;
    }
    return NULL;
}

static void *watchdog(void *arg)
{
    (void)arg;
    int64_t deadline = mono_ns() + 60000000000LL;
    while (!__atomic_load_n(&stop, __ATOMIC_SEQ_CST) ||
           __atomic_load_n(&stop, __ATOMIC_SEQ_CST) == 1) {
        if (mono_ns() > deadline) {
            static const char msg[] = "watchdog: stress test hung (deadlock?)\n";
            ssize_t w = write(2, msg, sizeof(msg) - 1);
            (void)w;
            _exit(3);
        }
        struct timespec ts = {0, 100000000};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

Test(cpu_stress, dlopen_malloc_backtrace_under_sigprof_storm, .timeout = 120)
{
    pthread_t wd;
    pthread_create(&wd, NULL, watchdog, NULL);
    cr_assert_eq(cprof_cpu_start(cprof_cpu_max_hz()), 0);
    pthread_t th[NWORKERS];
    void *(*fn[NWORKERS])(void *) = {dl_loop, dl_loop, malloc_loop, malloc_loop, backtrace_loop};
    for (int i = 0; i < NWORKERS; i++)
        cr_assert_eq(pthread_create(&th[i], NULL, fn[i], (void *)(intptr_t)i), 0);
    for (int i = 0; i < NWORKERS; i++)
        while (!__atomic_load_n(&tids[i], __ATOMIC_SEQ_CST))
            sched_yield();

    /* Extra SIGPROF from outside the timers, every 200 us, to every worker. */
    pid_t pid = getpid();
    long sent = 0;
    int64_t end = mono_ns() + RUN_NS;
    while (mono_ns() < end) {
        for (int i = 0; i < NWORKERS; i++)
            if (syscall(SYS_tgkill, pid, tids[i], SIGPROF) == 0)
                sent++;
        struct timespec ts = {0, 200000};
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
            ;
    }
    __atomic_store_n(&stop, 1, __ATOMIC_SEQ_CST);
    for (int i = 0; i < NWORKERS; i++)
        pthread_join(th[i], NULL);
    cprof_cpu_stats_t st;
    cprof_cpu_stats(&st);
    cprof_pprof_t *p = NULL;
    cr_assert_eq(cprof_cpu_stop(&p), 0);
    uint8_t *data;
    size_t len;
    cr_assert_eq(cprof_pprof_finish(p, true, &data, &len), 0);
    cprof_profile_t *d = NULL;
    cr_assert_eq(cprof_profile_decode(data, len, &d), 0);
    cr_log_info("signals sent %ld, samples %llu, lost %llu, dlopen loops %ld+%ld, mallocs "
                "%ld+%ld, backtraces %ld",
                sent, (unsigned long long)st.samples, (unsigned long long)st.lost, iterations[0],
                iterations[1], iterations[2], iterations[3], iterations[4]);
    cr_assert_gt(st.samples, 1000, "samples expected, got %llu", (unsigned long long)st.samples);
    cr_assert_gt(d->nsamples, 0);
    for (int i = 0; i < NWORKERS; i++)
        cr_assert_gt(iterations[i], 10, "worker %d made progress", i);
    cprof_profile_free(d);
    free(data);
    cprof_pprof_free(p);
    /* A late signal after the profile is ignored (the handler stays). */
    cr_assert_eq(raise(SIGPROF), 0);
    __atomic_store_n(&stop, 2, __ATOMIC_SEQ_CST);
    pthread_join(wd, NULL);
}
