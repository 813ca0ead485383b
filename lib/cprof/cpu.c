/* CPU profiler (see include/cprof/cpu.h).
 *
 * Data flow: per-thread CPU-time timers -> SIGPROF in the thread that used
 * the CPU -> the handler unwinds into a slot of a preallocated ring ->
 * the profiler thread ("cprof-cpu") drains ready slots every 20 ms into an
 * aggregate keyed by (thread name, stack) -> cprof_cpu_stop turns the
 * aggregate into a profile builder.
 *
 * The ring is lock-free and multi-producer: a handler claims the next index
 * with an atomic add and takes the slot with a compare-and-swap from FREE to
 * WRITING; if the slot is still occupied (the drainer fell a whole ring
 * behind) the sample is counted as lost instead. Filled slots become READY
 * with a release store; the drainer scans the ring, consumes READY slots
 * and frees them. The handler's only other shared state is atomic
 * counters. It calls backtrace() (libgcc's _Unwind_Backtrace), which after
 * the warm-up in cprof_cpu_init neither allocates nor takes locks on this
 * glibc (FDE lookup through _dl_find_object).
 *
 * Stopping: the profiler thread deletes every timer and exits; `active` is
 * cleared, so a signal still pending somewhere records nothing; the stopper
 * waits until no handler is in flight, then drains the ring a last time.
 *
 * Threads: /proc/self/task is rescanned every 100 ms; new tids get a timer,
 * gone ones lose theirs. Thread names are read from /proc (outside the
 * handler) when a thread is first seen and again at a rescan after it was
 * sampled, and kept by tid, so samples of a thread that has exited keep its
 * name. Threads are found by tid in a hash map: a rescan of a process with
 * a thousand threads stays linear. */

#include "cprof/cpu.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "cprof/pb.h"
#include "cprof/unwind_int.h"

#ifndef sigev_notify_thread_id
#define sigev_notify_thread_id _sigev_un._tid
#endif

#define NSLOTS 4096 /* power of two */
#define MAX_DEPTH 64
#define DRAIN_NS 20000000
#define RESCAN_NS 100000000

enum { SLOT_FREE = 0, SLOT_WRITING = 1, SLOT_READY = 2 };

typedef struct slot {
    int state;
    int tid;
    uint32_t weight;
    uint32_t depth;
    uint64_t pcs[MAX_DEPTH];
} slot_t;

typedef struct thr {
    int tid;
    bool has_timer, alive;
    bool named; /* name read from /proc at least once */
    bool ran;   /* sampled since its name was last read */
    timer_t timer;
    char name[16];
} thr_t;

typedef struct agg {
    uint64_t hash;
    uint32_t thread; /* index into threads */
    uint32_t depth;
    int64_t count;
    uint64_t *pcs;
    size_t next; /* chain: index + 1 */
} agg_t;

static struct {
    /* shared with the handler */
    slot_t *slots;
    unsigned head;
    int active;
    int inflight;
    uint64_t samples, lost, overruns;

    pthread_once_t once;
    int init_err;
    pthread_mutex_t ctl; /* serializes start/stop */
    bool running;
    pthread_t thread;
    pthread_mutex_t mu; /* the profiler thread's sleep */
    pthread_cond_t cv;
    bool stop;
    int hz;
    int64_t period_ns, start_wall, start_mono;
    int err; /* first error of the profiler thread */

    thr_t *threads;
    size_t nthreads, threads_cap;
    cprof__map_t thread_index; /* tid -> index into threads + 1 */
    size_t ntimers_total;
    agg_t *aggs;
    size_t naggs, aggs_cap;
    cprof__map_t agg_index; /* hash -> first agg index + 1 */
} G = {.once = PTHREAD_ONCE_INIT,
       .ctl = PTHREAD_MUTEX_INITIALIZER,
       .mu = PTHREAD_MUTEX_INITIALIZER,
       .cv = PTHREAD_COND_INITIALIZER};

static int64_t now_ns(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- the signal handler ------------------------------------------------------ */

static void on_sigprof(int sig, siginfo_t *si, void *ucv)
{
    (void)sig;
    int saved_errno = errno;
    __atomic_add_fetch(&G.inflight, 1, __ATOMIC_SEQ_CST);
    if (!__atomic_load_n(&G.active, __ATOMIC_SEQ_CST))
        goto out;
    uint32_t weight = 1;
    int tid;
    if (si && si->si_code == SI_TIMER) {
        tid = si->si_value.sival_int;
        if (si->si_overrun > 0) {
            weight += (uint32_t)si->si_overrun;
            __atomic_add_fetch(&G.overruns, (uint64_t)si->si_overrun, __ATOMIC_RELAXED);
        }
    } else {
        tid = (int)syscall(SYS_gettid);
    }
    unsigned idx = __atomic_fetch_add(&G.head, 1, __ATOMIC_RELAXED) & (NSLOTS - 1);
    slot_t *s = &G.slots[idx];
    int expect = SLOT_FREE;
    if (!__atomic_compare_exchange_n(&s->state, &expect, SLOT_WRITING, false, __ATOMIC_ACQUIRE,
                                     __ATOMIC_RELAXED)) {
        __atomic_add_fetch(&G.lost, weight, __ATOMIC_RELAXED);
        goto out;
    }
    uint32_t depth = (uint32_t)cprof__signal_stack(ucv, s->pcs, MAX_DEPTH);
    s->tid = tid;
    s->weight = weight;
    s->depth = depth;
    __atomic_add_fetch(&G.samples, weight, __ATOMIC_RELAXED);
    __atomic_store_n(&s->state, SLOT_READY, __ATOMIC_RELEASE);
out:
    __atomic_sub_fetch(&G.inflight, 1, __ATOMIC_SEQ_CST);
    errno = saved_errno;
}

static void init_once(void)
{
    G.slots = mmap(NULL, sizeof(slot_t) * NSLOTS, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (G.slots == MAP_FAILED) {
        G.slots = NULL;
        G.init_err = -ENOMEM;
        return;
    }
    G.init_err = cprof__signal_install(SIGPROF, on_sigprof);
}

int cprof_cpu_init(void)
{
    pthread_once(&G.once, init_once);
    return G.init_err;
}

int cprof_cpu_max_hz(void)
{
    static int max_hz;
    int hz = __atomic_load_n(&max_hz, __ATOMIC_RELAXED);
    if (hz)
        return hz;
    struct timespec res;
    hz = 250;
    if (clock_getres(CLOCK_MONOTONIC_COARSE, &res) == 0 && res.tv_sec == 0 && res.tv_nsec > 0)
        hz = (int)((1000000000L + res.tv_nsec / 2) / res.tv_nsec);
    if (hz < 100)
        hz = 100; /* a tickless or odd kernel: still allow the default */
    __atomic_store_n(&max_hz, hz, __ATOMIC_RELAXED);
    return hz;
}

/* ---- threads and timers --------------------------------------------------- */

static thr_t *find_thread(int tid)
{
    uint64_t *i = cprof__map_get(&G.thread_index, (uint64_t)tid);
    return i ? &G.threads[*i - 1] : NULL;
}

static void read_name(int tid, char name[16])
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/task/%d/comm", tid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = -1;
    if (fd >= 0) {
        while ((n = read(fd, name, 15)) < 0 && errno == EINTR)
            ;
        close(fd);
    }
    if (n <= 0) {
        if (name[0] == '\0')
            snprintf(name, 16, "tid-%d", tid);
        return;
    }
    name[n] = '\0';
    name[strcspn(name, "\n")] = '\0';
}

static thr_t *add_thread(int tid)
{
    if (G.nthreads == G.threads_cap) {
        size_t cap = G.threads_cap ? G.threads_cap * 2 : 64;
        thr_t *t = realloc(G.threads, cap * sizeof(*t));
        if (!t)
            return NULL;
        G.threads = t;
        G.threads_cap = cap;
    }
    bool ins;
    uint64_t *slot = cprof__map_put(&G.thread_index, (uint64_t)tid, &ins);
    if (!slot)
        return NULL;
    thr_t *t = &G.threads[G.nthreads++];
    *slot = G.nthreads;
    memset(t, 0, sizeof(*t));
    t->tid = tid;
    return t;
}

static void arm(thr_t *t)
{
    struct sigevent sev;
    memset(&sev, 0, sizeof(sev));
    sev.sigev_notify = SIGEV_THREAD_ID;
    sev.sigev_signo = SIGPROF;
    sev.sigev_notify_thread_id = t->tid;
    sev.sigev_value.sival_int = t->tid;
    clockid_t clock = (clockid_t)((~(unsigned)t->tid << 3) | 6); /* thread CPU clock */
    if (timer_create(clock, &sev, &t->timer) != 0)
        return; /* the thread is gone already */
    struct itimerspec its = {
        .it_interval = {G.period_ns / 1000000000, G.period_ns % 1000000000},
        .it_value = {G.period_ns / 1000000000, G.period_ns % 1000000000},
    };
    if (timer_settime(t->timer, 0, &its, NULL) != 0) {
        timer_delete(t->timer);
        return;
    }
    t->has_timer = true;
    __atomic_add_fetch(&G.ntimers_total, 1, __ATOMIC_RELAXED);
}

static void disarm(thr_t *t)
{
    if (t->has_timer)
        timer_delete(t->timer);
    t->has_timer = false;
}

static void rescan(void)
{
    DIR *d = opendir("/proc/self/task");
    if (!d)
        return;
    for (size_t i = 0; i < G.nthreads; i++)
        G.threads[i].alive = false;
    struct dirent *e;
    while ((e = readdir(d))) {
        int tid = atoi(e->d_name);
        if (tid <= 0)
            continue;
        thr_t *t = find_thread(tid);
        if (!t && !(t = add_thread(tid)))
            continue;
        t->alive = true;
        /* Names are read for new threads and for those that ran since the
         * last read (a thread may rename itself), not for every idle one
         * of a process with a thousand threads. */
        if (!t->named || t->ran) {
            read_name(tid, t->name);
            t->named = true;
            t->ran = false;
        }
        if (!t->has_timer)
            arm(t);
    }
    closedir(d);
    for (size_t i = 0; i < G.nthreads; i++)
        if (!G.threads[i].alive)
            disarm(&G.threads[i]);
}

/* ---- aggregation ------------------------------------------------------------ */

static uint32_t thread_index(int tid)
{
    thr_t *t = find_thread(tid);
    if (!t && (t = add_thread(tid))) {
        read_name(tid, t->name);
        t->named = true;
    }
    if (!t)
        return 0;
    t->ran = true;
    return (uint32_t)(t - G.threads);
}

static void record(uint32_t thread, const uint64_t *pcs, uint32_t depth, int64_t weight)
{
    uint64_t h = cprof__hash_bytes(pcs, depth * sizeof(uint64_t), thread);
    bool ins;
    uint64_t *head = cprof__map_put(&G.agg_index, h, &ins);
    if (!head)
        goto nomem;
    for (size_t i = *head; i; i = G.aggs[i - 1].next) {
        agg_t *a = &G.aggs[i - 1];
        if (a->thread == thread && a->depth == depth &&
            memcmp(a->pcs, pcs, depth * sizeof(uint64_t)) == 0) {
            a->count += weight;
            return;
        }
    }
    if (G.naggs == G.aggs_cap) {
        size_t cap = G.aggs_cap ? G.aggs_cap * 2 : 1024;
        agg_t *n = realloc(G.aggs, cap * sizeof(*n));
        if (!n)
            goto nomem;
        G.aggs = n;
        G.aggs_cap = cap;
    }
    uint64_t *copy = malloc((depth ? depth : 1) * sizeof(uint64_t));
    if (!copy)
        goto nomem;
    memcpy(copy, pcs, depth * sizeof(uint64_t));
    G.aggs[G.naggs] = (agg_t){h, thread, depth, weight, copy, (size_t)*head};
    *head = ++G.naggs;
    return;
nomem:
    G.err = -ENOMEM;
    __atomic_add_fetch(&G.lost, (uint64_t)weight, __ATOMIC_RELAXED);
}

static void drain(void)
{
    for (unsigned i = 0; i < NSLOTS; i++) {
        slot_t *s = &G.slots[i];
        if (__atomic_load_n(&s->state, __ATOMIC_ACQUIRE) != SLOT_READY)
            continue;
        record(thread_index(s->tid), s->pcs, s->depth, s->weight);
        __atomic_store_n(&s->state, SLOT_FREE, __ATOMIC_RELEASE);
    }
}

static void reset_aggregate(void)
{
    for (size_t i = 0; i < G.naggs; i++)
        free(G.aggs[i].pcs);
    free(G.aggs);
    G.aggs = NULL;
    G.naggs = G.aggs_cap = 0;
    cprof__map_destroy(&G.agg_index);
    cprof__map_destroy(&G.thread_index);
    free(G.threads);
    G.threads = NULL;
    G.nthreads = G.threads_cap = 0;
}

/* ---- the profiler thread ------------------------------------------------------ */

static void *prof_main(void *arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "cprof-cpu");
    int64_t next_scan = 0;
    pthread_mutex_lock(&G.mu);
    while (!G.stop) {
        pthread_mutex_unlock(&G.mu);
        int64_t now = now_ns(CLOCK_MONOTONIC);
        if (now >= next_scan) {
            rescan();
            next_scan = now + RESCAN_NS;
        }
        drain();
        int64_t until = now_ns(CLOCK_MONOTONIC) + DRAIN_NS;
        struct timespec ts = {until / 1000000000, until % 1000000000};
        pthread_mutex_lock(&G.mu);
        if (!G.stop)
            pthread_cond_timedwait(&G.cv, &G.mu, &ts);
    }
    pthread_mutex_unlock(&G.mu);
    rescan(); /* last names */
    for (size_t i = 0; i < G.nthreads; i++)
        disarm(&G.threads[i]);
    return NULL;
}

int cprof_cpu_start(int hz)
{
    if (hz == 0)
        hz = CPROF_CPU_DEFAULT_HZ;
    if (hz < 0 || hz > cprof_cpu_max_hz())
        return -EINVAL;
    int rc = cprof_cpu_init();
    if (rc)
        return rc;
    pthread_mutex_lock(&G.ctl);
    if (G.running) {
        rc = -EBUSY;
        goto out;
    }
    reset_aggregate();
    __atomic_store_n(&G.hz, hz, __ATOMIC_RELAXED);
    G.period_ns = 1000000000LL / hz;
    G.stop = false;
    G.err = 0;
    __atomic_store_n(&G.ntimers_total, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&G.samples, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&G.lost, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&G.overruns, 0, __ATOMIC_RELAXED);
    G.start_wall = now_ns(CLOCK_REALTIME);
    G.start_mono = now_ns(CLOCK_MONOTONIC);
    __atomic_store_n(&G.active, 1, __ATOMIC_SEQ_CST);

    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_destroy(&G.cv);
    pthread_cond_init(&G.cv, &ca);
    pthread_condattr_destroy(&ca);
    /* The profiler thread must not inherit a blocked SIGPROF: it is
     * sampled like every other thread. */
    sigset_t all, old;
    sigfillset(&all);
    sigdelset(&all, SIGPROF);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int e = pthread_create(&G.thread, NULL, prof_main, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (e != 0) {
        __atomic_store_n(&G.active, 0, __ATOMIC_SEQ_CST);
        rc = -e;
        goto out;
    }
    G.running = true;
out:
    pthread_mutex_unlock(&G.ctl);
    return rc;
}

bool cprof_cpu_running(void)
{
    pthread_mutex_lock(&G.ctl);
    bool r = G.running;
    pthread_mutex_unlock(&G.ctl);
    return r;
}

void cprof_cpu_stats(cprof_cpu_stats_t *out)
{
    out->samples = __atomic_load_n(&G.samples, __ATOMIC_RELAXED);
    out->lost = __atomic_load_n(&G.lost, __ATOMIC_RELAXED);
    out->overruns = __atomic_load_n(&G.overruns, __ATOMIC_RELAXED);
    out->threads = __atomic_load_n(&G.ntimers_total, __ATOMIC_RELAXED);
    out->hz = __atomic_load_n(&G.hz, __ATOMIC_RELAXED);
}

static int build(cprof_pprof_t **out)
{
    static const cprof_value_type_t types[] = {{"samples", "count"}, {"cpu", "nanoseconds"}};
    cprof_pprof_opts_t o = {.sample_types = types,
                            .nsample_types = 2,
                            .period_type = {"cpu", "nanoseconds"},
                            .period = G.period_ns,
                            .time_nanos = G.start_wall,
                            .duration_nanos = now_ns(CLOCK_MONOTONIC) - G.start_mono};
    cprof_pprof_t *p;
    int rc = cprof_pprof_new(&o, &p);
    if (rc)
        return rc;
    for (size_t i = 0; i < G.naggs && !rc; i++) {
        const agg_t *a = &G.aggs[i];
        int64_t v[2] = {a->count, a->count * G.period_ns};
        cprof_label_t l = {.key = "thread", .str = G.threads[a->thread].name};
        rc = cprof_pprof_add_sample(p, a->pcs, a->depth, CPROF_PCS_LEAF_EXACT, v, &l, 1);
    }
    uint64_t lost = __atomic_load_n(&G.lost, __ATOMIC_RELAXED);
    if (!rc && lost) {
        cprof_frame_t f = {.function = "[lost samples]"};
        int64_t v[2] = {(int64_t)lost, (int64_t)lost * G.period_ns};
        rc = cprof_pprof_add_sample_frames(p, &f, 1, v, NULL, 0);
    }
    if (rc) {
        cprof_pprof_free(p);
        return rc;
    }
    *out = p;
    return 0;
}

int cprof_cpu_stop(cprof_pprof_t **out)
{
    if (out)
        *out = NULL;
    pthread_mutex_lock(&G.ctl);
    int rc = 0;
    if (!G.running) {
        rc = -EINVAL;
        goto out;
    }
    pthread_mutex_lock(&G.mu);
    G.stop = true;
    pthread_cond_signal(&G.cv);
    pthread_mutex_unlock(&G.mu);
    pthread_join(G.thread, NULL);
    __atomic_store_n(&G.active, 0, __ATOMIC_SEQ_CST);
    /* A handler that saw active == 1 may still be writing its slot. */
    for (int i = 0; __atomic_load_n(&G.inflight, __ATOMIC_SEQ_CST) && i < 100000; i++)
        sched_yield();
    drain();
    G.running = false;
    rc = G.err;
    if (!rc && out)
        rc = build(out);
    reset_aggregate();
out:
    pthread_mutex_unlock(&G.ctl);
    return rc;
}

int cprof_cpu_profile(int64_t duration_ns, int hz, uint8_t **out, size_t *out_len)
{
    int rc = cprof_cpu_start(hz);
    if (rc)
        return rc;
    struct timespec ts = {duration_ns / 1000000000, duration_ns % 1000000000};
    while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) == EINTR)
        ;
    cprof_pprof_t *p = NULL;
    if ((rc = cprof_cpu_stop(&p)) != 0)
        return rc;
    rc = cprof_pprof_finish(p, true, out, out_len);
    cprof_pprof_free(p);
    return rc;
}
