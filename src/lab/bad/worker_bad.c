/* worker-bad: the lab's task worker written badly, on purpose.
 *
 * Same tasks, flags and report as worker-optimized (lab/labrun.h); every
 * deliberate problem is marked "BAD:" with the fix the optimized worker
 * applies. Data flow: one producer thread hands tasks over a rendezvous
 * queue (capacity 0) to -workers worker threads; each task spawns a helper
 * thread; results go into one global array under one global lock.
 *
 * Problems, by the lab's chapters (docs/LAB.md):
 *  1. Thread leaks: a helper thread per task that waits forever (capped by
 *     -leak-cap so a run cannot exhaust the machine: the leaked threads park
 *     in a blocking wait and burn no CPU); a monitor thread that is never
 *     stopped; a rendezvous queue whose producer blocks forever once the
 *     workers stop early.
 *  2. Capacity: arrays grown one element per realloc, a metadata hash table
 *     never presized, copies built by appending.
 *  3. Excessive allocation: malloc per task for the task, its log entry and
 *     its metadata keys; strcat in a loop; snprintf into fresh buffers.
 *  4. C extras: one global results lock; per-worker counters packed on one
 *     cache line (false sharing).
 *
 * Lock order: there is only one lock held at a time. Locks are cprof's, so
 * the global results lock shows in /debug/pprof/mutex. */

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "cprof/lock.h"
#include "lab/hmap.h"
#include "lab/labmetrics.h"
#include "lab/labrun.h"
#include "lab/task.h"

typedef struct bad_task {
    uint64_t id;
    int32_t *data;
    size_t n;
} bad_task_t;

typedef struct result {
    uint64_t id;
    int64_t value;
    int error;
} result_t;

/* BAD: an unbuffered (rendezvous) queue, like a Go channel made without a
 * capacity: put blocks until a worker takes the task. When the workers stop
 * early the producer blocks in put forever, and its thread leaks. (Fix: a
 * bounded buffered queue that can be closed.) */
typedef struct rendezvous {
    cprof_mutex_t mu;
    cprof_cond_t cv;
    bad_task_t *slot;
    int full;
    uint64_t put_seq, take_seq;
} rendezvous_t;

typedef struct bad {
    labrun_t *run;
    rendezvous_t q;
    pthread_t producer, monitor, *workers;
    int nworkers;
    /* BAD: per-worker counters packed side by side: eight workers share one
     * 64-byte cache line, so every increment bounces the line between cores
     * (false sharing). (Fix: one cache line per worker.) */
    uint64_t *counters;
    /* BAD: one global lock for every worker's results. (Fix: per-worker
     * shards merged at the end.) */
    cprof_mutex_t results_mu;
    result_t *results;
    size_t nresults;
    uint64_t helpers_leaked, helpers_capped;
    int producer_done;
} bad_t;

static void rv_put(rendezvous_t *q, bad_task_t *t)
{
    cprof_mutex_lock(&q->mu);
    while (q->full)
        cprof_cond_wait(&q->cv, &q->mu);
    q->slot = t;
    q->full = 1;
    uint64_t mine = ++q->put_seq;
    cprof_cond_broadcast(&q->cv);
    while (q->take_seq < mine) /* BAD: blocks until someone takes it */
        cprof_cond_wait(&q->cv, &q->mu);
    cprof_mutex_unlock(&q->mu);
}

static bad_task_t *rv_take(rendezvous_t *q)
{
    cprof_mutex_lock(&q->mu);
    while (!q->full)
        cprof_cond_wait(&q->cv, &q->mu);
    bad_task_t *t = q->slot;
    q->full = 0;
    q->take_seq++;
    cprof_cond_broadcast(&q->cv);
    cprof_mutex_unlock(&q->mu);
    return t;
}

/* ---- 1. thread leaks ------------------------------------------------------ */

/* Plain pthread objects: the helpers wait on them forever, which would only
 * add never-ending waits to the block profile. */
static pthread_mutex_t g_helper_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_helper_cv = PTHREAD_COND_INITIALIZER;

/* BAD: a helper thread per task "watching" it, with no way to exit: it loops
 * forever waiting for a signal nobody sends. It parks (no CPU), but its
 * stack and kernel task stay until the process exits. (Fix: no thread per
 * task; every thread has a stop flag and is joined.) */
static void *helper_main(void *arg)
{
    char name[16];
    snprintf(name, sizeof(name), "helper-%llu", (unsigned long long)(uintptr_t)arg);
    pthread_setname_np(pthread_self(), name);
    pthread_mutex_lock(&g_helper_mu);
    for (;;)
        pthread_cond_wait(&g_helper_cv, &g_helper_mu);
    return NULL;
}

static void spawn_helper(bad_t *b, uint64_t id)
{
    /* The cap protects the machine, not the lesson: past -leak-cap leaked
     * helpers, tasks get none. */
    uint64_t n = __atomic_add_fetch(&b->helpers_leaked, 1, __ATOMIC_RELAXED);
    if (n > (uint64_t)b->run->cfg->leak_cap) {
        __atomic_sub_fetch(&b->helpers_leaked, 1, __ATOMIC_RELAXED);
        __atomic_add_fetch(&b->helpers_capped, 1, __ATOMIC_RELAXED);
        return;
    }
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED); /* BAD: never joined */
    if (pthread_create(&t, &attr, helper_main, (void *)(uintptr_t)id) != 0) {
        __atomic_sub_fetch(&b->helpers_leaked, 1, __ATOMIC_RELAXED);
        __atomic_add_fetch(&b->helpers_capped, 1, __ATOMIC_RELAXED);
    }
    pthread_attr_destroy(&attr);
}

/* BAD: the monitor loops forever: no stop flag, never joined. (Fix: a stop
 * flag and a condition variable to wake it, then join.) */
static void *monitor_main(void *arg)
{
    bad_t *b = arg;
    pthread_setname_np(pthread_self(), "monitor");
    for (;;) {
        clock_sleep_ns(2000000000);
        labrun_progress(b->run);
    }
    return NULL;
}

/* ---- 2 and 3. capacity and allocation -------------------------------------- */

/* BAD: builds "task=ID op=OP size=N data=[v,v,...]" with a fresh snprintf
 * buffer per number, a realloc per piece and strcat, which rescans the whole
 * string each time: O(n^2) bytes touched and 2n+ allocations per task.
 * (Fix: one reused string builder with a capacity hint.) */
static char *build_log_entry(const bad_task_t *t, const char *op)
{
    char *entry = xmalloc(64);
    snprintf(entry, 64, "task=%llu op=%s size=%zu data=[", (unsigned long long)t->id, op, t->n);
    for (size_t i = 0; i < t->n; i++) {
        char *num = xmalloc(16);
        snprintf(num, 16, "%d%s", t->data[i], i + 1 < t->n ? "," : "");
        entry = xrealloc(entry, strlen(entry) + strlen(num) + 1);
        strcat(entry, num);
        free(num);
    }
    entry = xrealloc(entry, strlen(entry) + 2);
    strcat(entry, "]");
    return entry;
}

/* BAD: grows the array by exactly one element per realloc. (Fix: size it
 * from the known length once, or grow geometrically.) */
static int64_t *append_i64(int64_t *a, size_t *n, int64_t v)
{
    a = xrealloc(a, (*n + 1) * sizeof(*a));
    a[(*n)++] = v;
    return a;
}

static int64_t compute(const bad_task_t *t, const int32_t *copy, size_t n, uint64_t *counter)
{
    int64_t *out = NULL, r = 0;
    size_t nout = 0;
    task_op_t op = task_op_of(t->id);
    for (size_t i = 0; i < n; i++) {
        int32_t v = copy[i];
        switch (op) {
        case TASK_SUM: r += v; break;
        case TASK_MULTIPLY: out = append_i64(out, &nout, (int64_t)v * task_factor(t->id)); break;
        case TASK_SQUARE: out = append_i64(out, &nout, (int64_t)v * v); break;
        case TASK_FILTER:
            if (task_keep(v))
                out = append_i64(out, &nout, v);
            break;
        default: break;
        }
        /* BAD: this counter shares its cache line with other workers'. */
        __atomic_add_fetch(counter, 1, __ATOMIC_RELAXED);
    }
    for (size_t i = 0; i < nout; i++)
        r += out[i];
    if (op == TASK_FILTER)
        r = task_filter_result(r, nout);
    free(out);
    return r;
}

static const char *const meta_keys[] = {"task_id",    "operation", "data_size", "worker_id",
                                        "started_ns", "attempt",   "log_bytes", "priority"};
#define NMETA (sizeof(meta_keys) / sizeof(meta_keys[0]))

static void process(bad_t *b, int w, bad_task_t *t)
{
    int64_t t0 = clock_mono_ns();
    spawn_helper(b, t->id);
    task_op_t op = task_op_of(t->id);
    int error = op == TASK_INVALID;
    char *entry = build_log_entry(t, error ? "invalid" : task_op_names[op]);

    /* BAD: a metadata map per task, never presized (it rehashes at 1, 2, 4,
     * 8 and 16 slots), with every key copied into its own allocation.
     * (Fix: one presized map per worker, cleared per task, static keys.) */
    hmap_t meta;
    hmap_init(&meta, 0);
    char *keys[NMETA];
    int64_t vals[NMETA] = {(int64_t)t->id, op, (int64_t)t->n, w, t0, 1, (int64_t)strlen(entry), 2};
    for (size_t k = 0; k < NMETA; k++) {
        keys[k] = xstrdup(meta_keys[k]);
        hmap_put(&meta, keys[k], vals[k]);
    }
    int64_t size = 0;
    hmap_get(&meta, "data_size", &size);

    /* BAD: copies the input by appending one element per realloc. (Fix:
     * memcpy into a reused buffer of known capacity.) */
    int32_t *copy = NULL;
    size_t ncopy = 0;
    for (size_t i = 0; i < (size_t)size; i++) {
        copy = xrealloc(copy, (ncopy + 1) * sizeof(*copy));
        copy[ncopy++] = t->data[i];
    }
    int64_t value = error ? 0 : compute(t, copy, ncopy, &b->counters[w]);
    log_debug("%s", entry);

    /* BAD: every worker serializes on this lock, and the array under it
     * grows one element per realloc. */
    cprof_mutex_lock(&b->results_mu);
    b->results = xrealloc(b->results, (b->nresults + 1) * sizeof(*b->results));
    b->results[b->nresults++] = (result_t){t->id, value, error};
    cprof_mutex_unlock(&b->results_mu);

    free(copy);
    for (size_t k = 0; k < NMETA; k++)
        free(keys[k]);
    hmap_destroy(&meta);
    free(entry);
    if (error)
        labm_task_error();
    else
        labm_task_done(op, clock_mono_ns() - t0);
    labrun_finished(b->run, error);
}

/* ---- threads --------------------------------------------------------------- */

typedef struct worker_arg {
    bad_t *b;
    int id;
} worker_arg_t;

static void *worker_main(void *arg)
{
    worker_arg_t *wa = arg;
    bad_t *b = wa->b;
    char name[16];
    snprintf(name, sizeof(name), "worker-%d", wa->id);
    pthread_setname_np(pthread_self(), name);
    for (;;) {
        bad_task_t *t = rv_take(&b->q);
        if (!t)
            break;
        labm_queue_add(-1);
        process(b, wa->id, t);
        free(t->data);
        free(t);
        if (labrun_stopping(b->run))
            break;
    }
    free(wa);
    return NULL;
}

static void *producer_main(void *arg)
{
    bad_t *b = arg;
    pthread_setname_np(pthread_self(), "producer");
    uint64_t id;
    while (labrun_next(b->run, &id)) {
        /* BAD: a malloc for every task and its data. (Fix: pooled tasks.) */
        bad_task_t *t = xmalloc(sizeof(*t));
        t->id = id;
        t->n = (size_t)b->run->cfg->data_size;
        t->data = xmalloc(t->n * sizeof(*t->data));
        task_fill(id, t->data, t->n);
        labm_queue_add(1);
        rv_put(&b->q, t);
    }
    /* One end marker per worker; if workers already stopped, this blocks
     * forever (the leak the rendezvous queue causes). */
    for (int i = 0; i < b->nworkers; i++)
        rv_put(&b->q, NULL);
    __atomic_store_n(&b->producer_done, 1, __ATOMIC_RELEASE);
    return NULL;
}

static void *bad_start(labrun_t *run)
{
    bad_t *b = xcalloc(1, sizeof(*b));
    b->run = run;
    b->nworkers = run->cfg->workers;
    cprof_mutex_init(&b->q.mu);
    cprof_cond_init(&b->q.cv);
    cprof_mutex_init(&b->results_mu);
    b->counters = xcalloc((size_t)b->nworkers, sizeof(*b->counters));
    b->workers = xcalloc((size_t)b->nworkers, sizeof(*b->workers));
    if (pthread_create(&b->monitor, NULL, monitor_main, b) != 0)
        fatal(__FILE__, __LINE__, "cannot start the monitor thread");
    pthread_detach(b->monitor); /* BAD: nobody will ever stop it */
    for (int i = 0; i < b->nworkers; i++) {
        worker_arg_t *wa = xmalloc(sizeof(*wa));
        *wa = (worker_arg_t){b, i};
        if (pthread_create(&b->workers[i], NULL, worker_main, wa) != 0)
            fatal(__FILE__, __LINE__, "cannot start worker %d", i);
    }
    if (pthread_create(&b->producer, NULL, producer_main, b) != 0)
        fatal(__FILE__, __LINE__, "cannot start the producer");
    /* BAD: the producer is not joined: after an early stop it never returns. */
    pthread_detach(b->producer);
    return b;
}

static void bad_stop(void *state, labrun_t *run)
{
    bad_t *b = state;
    /* The workers do exit (each checks the stop flag after a task, or takes
     * an end marker), so they can be joined; nothing else is stopped. */
    for (int i = 0; i < b->nworkers; i++)
        pthread_join(b->workers[i], NULL);
    uint64_t sum = 0;
    cprof_mutex_lock(&b->results_mu);
    for (size_t i = 0; i < b->nresults; i++)
        if (!b->results[i].error)
            sum += task_mix(b->results[i].id, b->results[i].value);
    cprof_mutex_unlock(&b->results_mu);
    run->checksum = sum;
    /* b is not freed: the leaked producer and monitor still point at it. */
}

static void bad_report(void *state, labrun_t *run, FILE *out)
{
    bad_t *b = state;
    int blocked = !__atomic_load_n(&b->producer_done, __ATOMIC_ACQUIRE);
    fprintf(out, "  Leaked:          %llu helper threads, 1 monitor thread, %d producer thread%s\n",
            (unsigned long long)b->helpers_leaked, blocked,
            blocked ? " (blocked forever on the rendezvous queue)" : "s");
    if (b->helpers_capped)
        fprintf(out, "                   (%llu more helpers not started: -leak-cap %d)\n",
                (unsigned long long)b->helpers_capped, run->cfg->leak_cap);
}

int main(int argc, char **argv)
{
    static const lab_impl_t impl = {.type = "bad",
                                    .title = "Bad Worker (Problematic Version)",
                                    .start = bad_start,
                                    .stop = bad_stop,
                                    .report = bad_report};
    return labrun_main(&impl, argc, argv);
}
