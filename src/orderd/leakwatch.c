/* Leak watch.
 *
 * One thread ("leakwatch") wakes every interval, optionally leaks on purpose
 * (--debug-leak), takes one sample of each resource (heap in use from the
 * allocator's statistics, RSS and threads from /proc/self/stat, open fds
 * from /proc/self/fd) into a ring of the last `window` samples, and judges
 * each resource once the ring is full:
 *
 *   suspected  <=>  no step of the window goes down by more than the noise
 *                   allowance, at least half of the steps go up, and the
 *                   total growth reaches the resource's minimum.
 *
 * Minimum growth: for heap 1 MiB, for RSS 4 MiB (a new thread arena or
 * cache touches a MiB or two at once), or 10% of the window's first value
 * if more; max(2, (window-1)/2) threads and max(4, (window-1)/2) fds (client
 * connections come and go). The first window after
 * start is warm-up (caches, arenas and connection buffers fill as the first
 * requests arrive): verdicts start at sample 2 x window. A bounded cache that fills over
 * more than the window (e.g. the results store under steady load) looks like
 * a leak until it is full: the flag says "suspected", and it clears by
 * itself once a window shows no growth.
 *
 * The verdicts are plain atomics read by /metrics and /health, so readers
 * never wait for the sampler. The mutex and condition variable only serve
 * prompt stopping: the monitor and the parked --debug-leak threads wait on
 * the condition (monotonic clock) and leakwatch_stop broadcasts. They are
 * pthread primitives rather than cprof_mutex_*: they are never contended
 * (one waiter wakes per interval), so they would add nothing to the mutex
 * profile. */

#include "orderd/leakwatch.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/procstat.h"
#include "common/xalloc.h"

#define DEBUG_CHUNK (1 << 20)

const char *const leakwatch_resource_names[LEAK_N] = {"heap", "rss", "threads", "fds"};

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    bool stop;    /* under mu */
    bool started; /* main thread only */
    pthread_t thread;
    int64_t interval_ns;
    int window;
    enum { DEBUG_NONE, DEBUG_THREADS, DEBUG_HEAP } debug;
    int suspected[LEAK_N]; /* atomic 0/1 */
    /* Monitor thread only: */
    int64_t *ring[LEAK_N];
    bool have[LEAK_N];  /* the resource could be read in every sample so far */
    uint64_t nsamples;  /* total taken */
    uint64_t published; /* atomic copy of nsamples, for readers */
    pthread_t *leakers;
    int nleakers, capleakers;
} lw = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* The --debug-leak heap chunks, linked through their first word so that they
 * stay reachable (LeakSanitizer reports nothing; heap profiles show them in
 * use, which is the point). */
static void *leaked_chunks;

static void deadline_ts(int64_t mono_ns, struct timespec *ts)
{
    ts->tv_sec = mono_ns / 1000000000;
    ts->tv_nsec = mono_ns % 1000000000;
}

static void *parked_main(void *arg)
{
    char name[16];
    snprintf(name, sizeof(name), "leak-%d", (int)(intptr_t)arg);
    pthread_setname_np(pthread_self(), name);
    pthread_mutex_lock(&lw.mu);
    while (!lw.stop)
        pthread_cond_wait(&lw.cond, &lw.mu);
    pthread_mutex_unlock(&lw.mu);
    return NULL;
}

static void leak_once(void)
{
    if (lw.debug == DEBUG_HEAP) {
        void **chunk = xmalloc(DEBUG_CHUNK);
        memset(chunk, 0xab, DEBUG_CHUNK); /* touch every page: RSS grows too */
        *chunk = leaked_chunks;
        __atomic_store_n(&leaked_chunks, (void *)chunk, __ATOMIC_RELEASE);
        return;
    }
    if (lw.nleakers == lw.capleakers) {
        lw.capleakers = lw.capleakers ? 2 * lw.capleakers : 16;
        lw.leakers = xrealloc(lw.leakers, (size_t)lw.capleakers * sizeof(pthread_t));
    }
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 64 << 10);
    int rc = pthread_create(&lw.leakers[lw.nleakers], &attr, parked_main,
                            (void *)(intptr_t)(lw.nleakers + 1));
    pthread_attr_destroy(&attr);
    if (rc == 0)
        lw.nleakers++;
    else
        log_warn("leak watch: --debug-leak threads: cannot start a thread: %s", strerror(rc));
}

static void sample(void)
{
    int64_t v[LEAK_N] = {0};
    bool ok[LEAK_N] = {false};
    procstat_heap_t heap;
    if (procstat_heap(&heap) == 0) {
        v[LEAK_HEAP] = (int64_t)heap.inuse_bytes;
        ok[LEAK_HEAP] = true;
    }
    uint64_t rss;
    int64_t threads;
    if (procstat_rss_threads(&rss, &threads) == 0) {
        v[LEAK_RSS] = (int64_t)rss;
        v[LEAK_THREADS] = threads;
        ok[LEAK_RSS] = ok[LEAK_THREADS] = true;
    }
    int64_t fds = procstat_open_fds();
    if (fds >= 0) {
        v[LEAK_FDS] = fds;
        ok[LEAK_FDS] = true;
    }
    int slot = (int)(lw.nsamples % (uint64_t)lw.window);
    for (int r = 0; r < LEAK_N; r++) {
        lw.ring[r][slot] = v[r];
        lw.have[r] = (lw.nsamples == 0 || lw.have[r]) && ok[r];
    }
    lw.nsamples++;
}

/* Judges resource r over the window, oldest sample first. */
static bool growing(int r, int64_t *first, int64_t *last)
{
    int n = lw.window, start = (int)(lw.nsamples % (uint64_t)n); /* oldest slot */
    const int64_t *ring = lw.ring[r];
    bool bytes = r == LEAK_HEAP || r == LEAK_RSS;
    int64_t noise = bytes ? 64 << 10 : 0;
    int ups = 0;
    for (int i = 1; i < n; i++) {
        int64_t a = ring[(start + i - 1) % n], b = ring[(start + i) % n];
        if (b < a - noise)
            return false;
        if (b > a)
            ups++;
    }
    *first = ring[start];
    *last = ring[(start + n - 1) % n];
    int64_t min_growth;
    if (bytes) {
        int64_t floor = r == LEAK_HEAP ? 1 << 20 : 4 << 20;
        min_growth = *first / 10 > floor ? *first / 10 : floor;
    } else {
        /* Connections come and go: fds need a larger margin than threads. */
        int64_t floor = r == LEAK_FDS ? 4 : 2;
        min_growth = (n - 1) / 2 > floor ? (n - 1) / 2 : floor;
    }
    return 2 * ups >= n - 1 && *last - *first >= min_growth;
}

static void judge(void)
{
    if (lw.nsamples < 2 * (uint64_t)lw.window)
        return;
    for (int r = 0; r < LEAK_N; r++) {
        int64_t first = 0, last = 0;
        bool now = lw.have[r] && growing(r, &first, &last);
        int was = __atomic_exchange_n(&lw.suspected[r], now ? 1 : 0, __ATOMIC_RELAXED);
        double secs = (double)lw.interval_ns * (lw.window - 1) / 1e9;
        if (now && !was)
            log_warn("leak watch: %s grew from %lld to %lld over the last %d samples (%.1f s): "
                     "suspected leak",
                     leakwatch_resource_names[r], (long long)first, (long long)last, lw.window,
                     secs);
        else if (!now && was)
            log_info("leak watch: %s stopped growing; no longer suspected",
                     leakwatch_resource_names[r]);
    }
}

static void *monitor_main(void *arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "leakwatch");
    pthread_mutex_lock(&lw.mu);
    while (!lw.stop) {
        pthread_mutex_unlock(&lw.mu);
        if (lw.debug != DEBUG_NONE)
            leak_once();
        sample();
        judge();
        __atomic_store_n(&lw.published, lw.nsamples, __ATOMIC_RELEASE);
        pthread_mutex_lock(&lw.mu);
        struct timespec ts;
        deadline_ts(clock_mono_ns() + lw.interval_ns, &ts);
        while (!lw.stop) {
            int rc = pthread_cond_timedwait(&lw.cond, &lw.mu, &ts);
            if (rc == ETIMEDOUT)
                break;
        }
    }
    pthread_mutex_unlock(&lw.mu);
    return NULL;
}

int leakwatch_start(app_t *app)
{
    const config_t *cfg = &app->cfg;
    if (lw.started || cfg->leak_interval_ns <= 0)
        return 0;
    lw.interval_ns = cfg->leak_interval_ns;
    lw.window = cfg->leak_window >= 3 ? cfg->leak_window : 3;
    lw.debug = !strcmp(cfg->debug_leak, "threads") ? DEBUG_THREADS
               : !strcmp(cfg->debug_leak, "heap")  ? DEBUG_HEAP
                                                   : DEBUG_NONE;
    for (int r = 0; r < LEAK_N; r++)
        lw.ring[r] = xcalloc((size_t)lw.window, sizeof(int64_t));
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&lw.cond, &ca);
    pthread_condattr_destroy(&ca);
    lw.stop = false;
    int rc = pthread_create(&lw.thread, NULL, monitor_main, NULL);
    if (rc != 0) {
        pthread_cond_destroy(&lw.cond);
        return -rc;
    }
    lw.started = true;
    if (lw.debug != DEBUG_NONE)
        log_warn(
            "--debug-leak %s: leaking on purpose every %.3f s (a lab aid; never in production)",
            cfg->debug_leak, (double)lw.interval_ns / 1e9);
    return 0;
}

void leakwatch_stop(void)
{
    if (!lw.started)
        return;
    pthread_mutex_lock(&lw.mu);
    lw.stop = true;
    pthread_cond_broadcast(&lw.cond);
    pthread_mutex_unlock(&lw.mu);
    pthread_join(lw.thread, NULL);
    for (int i = 0; i < lw.nleakers; i++)
        pthread_join(lw.leakers[i], NULL);
    free(lw.leakers);
    lw.leakers = NULL;
    lw.nleakers = lw.capleakers = 0;
    for (int r = 0; r < LEAK_N; r++) {
        free(lw.ring[r]);
        lw.ring[r] = NULL;
    }
    pthread_cond_destroy(&lw.cond);
    lw.started = false;
}

bool leakwatch_suspected(leak_resource_t r)
{
    return r < LEAK_N && __atomic_load_n(&lw.suspected[r], __ATOMIC_RELAXED) != 0;
}

uint64_t leakwatch_samples(void) { return __atomic_load_n(&lw.published, __ATOMIC_ACQUIRE); }

int leakwatch_suspects(char *out, size_t size)
{
    int n = 0;
    size_t len = 0;
    if (size)
        out[0] = '\0';
    for (int r = 0; r < LEAK_N; r++) {
        if (!leakwatch_suspected((leak_resource_t)r))
            continue;
        if (size > len) {
            int w =
                snprintf(out + len, size - len, "%s%s", n ? "," : "", leakwatch_resource_names[r]);
            if (w > 0)
                len += (size_t)w < size - len ? (size_t)w : size - len - 1;
        }
        n++;
    }
    return n;
}
