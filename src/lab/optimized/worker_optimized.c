/* worker-optimized: the lab's task worker with every problem of worker-bad
 * fixed by the usual C idiom (each fix marked "FIX:").
 *
 * Data flow: the producer takes a task object from a pool, fills it and
 * pushes it on a bounded ring-buffer queue; -workers worker threads pop
 * tasks, process them with per-worker scratch memory (reused, sized once
 * from -data-size), record results in their own shard, and give the task
 * back to the pool. At the end (or on stop) the queue is closed, every
 * thread -- producer, workers, monitor -- is joined, and the shards are
 * merged into the checksum.
 *
 * Locks (cprof's, so contention shows in /debug/pprof/mutex): queue.mu and
 * pool.mu, never nested. The monitor's mu only guards its stop flag. */

#include <errno.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "cprof/lock.h"
#include "lab/hmap.h"
#include "lab/labmetrics.h"
#include "lab/labrun.h"
#include "lab/task.h"

#define CACHE_LINE 64

typedef struct opt_task {
    struct opt_task *next; /* pool free list */
    uint64_t id;
    size_t n;
    int32_t data[]; /* FIX: data lives with the task: one allocation, reused */
} opt_task_t;

/* FIX: a bounded buffered queue: the producer runs ahead by up to `cap`
 * tasks and is never stuck, because close() wakes everyone. */
typedef struct queue {
    cprof_mutex_t mu;
    cprof_cond_t not_empty, not_full;
    opt_task_t **ring;
    size_t cap, head, len;
    int closed;  /* no more tasks: takers drain, then get NULL */
    int aborted; /* stop now: takers and putters return at once */
} queue_t;

/* FIX: pooled task objects instead of two mallocs per task. */
typedef struct pool {
    cprof_mutex_t mu;
    opt_task_t *free;
    size_t data_size, created;
} pool_t;

typedef struct result {
    uint64_t id;
    int64_t value;
    int error;
} result_t;

/* FIX: everything a worker writes per task is its own, on its own cache
 * lines: counters (no false sharing), scratch buffers and the metadata map
 * (reused, sized once), and a shard of the results (no global lock). */
typedef struct worker {
    alignas(CACHE_LINE) uint64_t elements; /* the per-worker counter */
    char pad_[CACHE_LINE - sizeof(uint64_t)];
    struct opt *o;
    int id;
    pthread_t thread;
    int32_t *copy;
    int64_t *out;
    buf_t log;
    hmap_t meta;
    result_t *results;
    size_t nresults, results_cap;
} worker_t;

typedef struct opt {
    labrun_t *run;
    queue_t q;
    pool_t pool;
    worker_t *workers;
    int nworkers;
    pthread_t producer, monitor;
    cprof_mutex_t mon_mu;
    cprof_cond_t mon_cv;
    int mon_stop;
} opt_t;

/* ---- queue and pool --------------------------------------------------------- */

static void queue_init(queue_t *q, size_t cap)
{
    cprof_mutex_init(&q->mu);
    cprof_cond_init(&q->not_empty);
    cprof_cond_init(&q->not_full);
    q->ring = xcalloc(cap, sizeof(*q->ring));
    q->cap = cap;
}

/* Returns 0, or -ECANCELED when the queue was aborted. */
static int queue_put(queue_t *q, opt_task_t *t)
{
    cprof_mutex_lock(&q->mu);
    while (q->len == q->cap && !q->aborted)
        cprof_cond_wait(&q->not_full, &q->mu);
    int rc = -ECANCELED;
    if (!q->aborted) {
        q->ring[(q->head + q->len++) % q->cap] = t;
        cprof_cond_signal(&q->not_empty);
        rc = 0;
    }
    cprof_mutex_unlock(&q->mu);
    return rc;
}

/* The next task, or NULL once the queue is closed and drained, or aborted. */
static opt_task_t *queue_take(queue_t *q)
{
    cprof_mutex_lock(&q->mu);
    while (!q->len && !q->closed && !q->aborted)
        cprof_cond_wait(&q->not_empty, &q->mu);
    opt_task_t *t = NULL;
    if (q->len && !q->aborted) {
        t = q->ring[q->head];
        q->head = (q->head + 1) % q->cap;
        q->len--;
        cprof_cond_signal(&q->not_full);
    }
    cprof_mutex_unlock(&q->mu);
    return t;
}

static void queue_close(queue_t *q, int abort)
{
    cprof_mutex_lock(&q->mu);
    q->closed = 1;
    q->aborted |= abort;
    cprof_cond_broadcast(&q->not_empty);
    cprof_cond_broadcast(&q->not_full);
    cprof_mutex_unlock(&q->mu);
}

static opt_task_t *pool_get(pool_t *p)
{
    cprof_mutex_lock(&p->mu);
    opt_task_t *t = p->free;
    if (t)
        p->free = t->next;
    else
        p->created++;
    cprof_mutex_unlock(&p->mu);
    if (!t) /* the pool grows to the number of tasks in flight, then stops */
        t = xmalloc(sizeof(*t) + p->data_size * sizeof(int32_t));
    return t;
}

static void pool_put(pool_t *p, opt_task_t *t)
{
    cprof_mutex_lock(&p->mu);
    t->next = p->free;
    p->free = t;
    cprof_mutex_unlock(&p->mu);
}

static void pool_destroy(pool_t *p)
{
    while (p->free) {
        opt_task_t *t = p->free;
        p->free = t->next;
        free(t);
    }
}

/* ---- processing -------------------------------------------------------------- */

/* FIX: decimal formatting straight into the builder, no temporary buffer. */
static void put_int(buf_t *b, int64_t v)
{
    char tmp[24], *p = tmp + sizeof(tmp);
    uint64_t u = v < 0 ? -(uint64_t)v : (uint64_t)v;
    do
        *--p = (char)('0' + u % 10);
    while (u /= 10);
    if (v < 0)
        *--p = '-';
    buf_append(b, p, (size_t)(tmp + sizeof(tmp) - p));
}

/* FIX: the log entry goes into the worker's reused string builder, reserved
 * once for the whole line. */
static void build_log_entry(buf_t *b, const opt_task_t *t, const char *op)
{
    buf_reset(b);
    buf_reserve(b, 64 + t->n * 12);
    buf_puts(b, "task=");
    put_int(b, (int64_t)t->id);
    buf_puts(b, " op=");
    buf_puts(b, op);
    buf_puts(b, " size=");
    put_int(b, (int64_t)t->n);
    buf_puts(b, " data=[");
    for (size_t i = 0; i < t->n; i++) {
        if (i)
            buf_putc(b, ',');
        put_int(b, t->data[i]);
    }
    buf_putc(b, ']');
}

static int64_t compute(worker_t *w, const opt_task_t *t, const int32_t *copy, size_t n)
{
    int64_t r = 0, *out = w->out; /* FIX: scratch sized once from -data-size */
    size_t nout = 0;
    task_op_t op = task_op_of(t->id);
    int64_t factor = task_factor(t->id);
    for (size_t i = 0; i < n; i++) {
        int32_t v = copy[i];
        switch (op) {
        case TASK_SUM: r += v; break;
        case TASK_MULTIPLY: out[nout++] = (int64_t)v * factor; break;
        case TASK_SQUARE: out[nout++] = (int64_t)v * v; break;
        case TASK_FILTER:
            if (task_keep(v))
                out[nout++] = v;
            break;
        default: break;
        }
        /* FIX: the same per-element count as the bad worker, into this
         * worker's own cache line. */
        __atomic_store_n(&w->elements, __atomic_load_n(&w->elements, __ATOMIC_RELAXED) + 1,
                         __ATOMIC_RELAXED);
    }
    for (size_t i = 0; i < nout; i++)
        r += out[i];
    if (op == TASK_FILTER)
        r = task_filter_result(r, nout);
    return r;
}

/* FIX: static keys; the map is presized and cleared, never rebuilt. */
static const char *const meta_keys[] = {"task_id",    "operation", "data_size", "worker_id",
                                        "started_ns", "attempt",   "log_bytes", "priority"};
#define NMETA (sizeof(meta_keys) / sizeof(meta_keys[0]))

static void add_result(worker_t *w, result_t r)
{
    /* FIX: geometric growth from a capacity hint (tasks / workers). */
    if (w->nresults == w->results_cap) {
        w->results_cap = w->results_cap ? w->results_cap * 2 : 1024;
        w->results = xrealloc(w->results, w->results_cap * sizeof(*w->results));
    }
    w->results[w->nresults++] = r;
}

static void process(worker_t *w, const opt_task_t *t)
{
    int64_t t0 = clock_mono_ns();
    task_op_t op = task_op_of(t->id);
    int error = op == TASK_INVALID;
    build_log_entry(&w->log, t, error ? "invalid" : task_op_names[op]);

    hmap_clear(&w->meta);
    int64_t vals[NMETA] = {(int64_t)t->id, op, (int64_t)t->n, w->id, t0, 1, (int64_t)w->log.len, 2};
    for (size_t k = 0; k < NMETA; k++)
        hmap_put(&w->meta, meta_keys[k], vals[k]);
    int64_t size = 0;
    hmap_get(&w->meta, "data_size", &size);

    memcpy(w->copy, t->data, (size_t)size * sizeof(*w->copy)); /* FIX: one memcpy */
    int64_t value = error ? 0 : compute(w, t, w->copy, (size_t)size);
    log_debug("%s", w->log.data);
    add_result(w, (result_t){t->id, value, error});
    if (error)
        labm_task_error();
    else
        labm_task_done(op, clock_mono_ns() - t0);
    labrun_finished(w->o->run, error);
}

/* ---- threads ---------------------------------------------------------------- */

static void *worker_main(void *arg)
{
    worker_t *w = arg;
    char name[16];
    snprintf(name, sizeof(name), "worker-%d", w->id);
    pthread_setname_np(pthread_self(), name);
    opt_task_t *t;
    while ((t = queue_take(&w->o->q)) != NULL) {
        labm_queue_add(-1);
        process(w, t);
        pool_put(&w->o->pool, t);
    }
    return NULL;
}

static void *producer_main(void *arg)
{
    opt_t *o = arg;
    pthread_setname_np(pthread_self(), "producer");
    uint64_t id;
    while (labrun_next(o->run, &id)) {
        opt_task_t *t = pool_get(&o->pool);
        t->id = id;
        t->n = o->pool.data_size;
        task_fill(id, t->data, t->n);
        labm_queue_add(1);
        if (queue_put(&o->q, t) != 0) {
            labm_queue_add(-1);
            pool_put(&o->pool, t);
            break;
        }
    }
    queue_close(&o->q, 0); /* FIX: workers drain what is queued, then exit */
    return NULL;
}

/* FIX: the monitor sleeps on a condition variable, so stop wakes it at once. */
static void *monitor_main(void *arg)
{
    opt_t *o = arg;
    pthread_setname_np(pthread_self(), "monitor");
    cprof_mutex_lock(&o->mon_mu);
    while (!o->mon_stop) {
        int rc = cprof_cond_timedwait(&o->mon_cv, &o->mon_mu, clock_mono_ns() + 2000000000);
        if (rc == -ETIMEDOUT && !o->mon_stop) {
            cprof_mutex_unlock(&o->mon_mu);
            labrun_progress(o->run);
            cprof_mutex_lock(&o->mon_mu);
        }
    }
    cprof_mutex_unlock(&o->mon_mu);
    return NULL;
}

static void *opt_start(labrun_t *run)
{
    const labcfg_t *cfg = run->cfg;
    opt_t *o = xcalloc(1, sizeof(*o));
    o->run = run;
    o->nworkers = cfg->workers;
    size_t qcap = (size_t)cfg->workers * 4 < 64 ? 64 : (size_t)cfg->workers * 4;
    queue_init(&o->q, qcap);
    cprof_mutex_init(&o->pool.mu);
    o->pool.data_size = (size_t)cfg->data_size;
    cprof_mutex_init(&o->mon_mu);
    cprof_cond_init(&o->mon_cv);

    /* aligned_alloc keeps every worker_t on its own cache lines. */
    size_t wsize = ((sizeof(worker_t) + CACHE_LINE - 1) / CACHE_LINE) * CACHE_LINE;
    o->workers = aligned_alloc(CACHE_LINE, wsize * (size_t)o->nworkers);
    if (!o->workers)
        fatal(__FILE__, __LINE__, "out of memory");
    memset(o->workers, 0, wsize * (size_t)o->nworkers);
    size_t hint = cfg->tasks > 0 ? (size_t)(cfg->tasks / cfg->workers + 1) : 1024;
    for (int i = 0; i < o->nworkers; i++) {
        worker_t *w = &o->workers[i];
        w->o = o;
        w->id = i;
        w->copy = xmalloc((size_t)cfg->data_size * sizeof(*w->copy));
        w->out = xmalloc((size_t)cfg->data_size * sizeof(*w->out));
        buf_init(&w->log, 64 + (size_t)cfg->data_size * 12);
        hmap_init(&w->meta, NMETA);
        w->results_cap = hint;
        w->results = xmalloc(hint * sizeof(*w->results));
    }
    if (pthread_create(&o->monitor, NULL, monitor_main, o) != 0)
        fatal(__FILE__, __LINE__, "cannot start the monitor thread");
    for (int i = 0; i < o->nworkers; i++)
        if (pthread_create(&o->workers[i].thread, NULL, worker_main, &o->workers[i]) != 0)
            fatal(__FILE__, __LINE__, "cannot start worker %d", i);
    if (pthread_create(&o->producer, NULL, producer_main, o) != 0)
        fatal(__FILE__, __LINE__, "cannot start the producer");
    return o;
}

static void opt_stop(void *state, labrun_t *run)
{
    opt_t *o = state;
    /* FIX: stop everything and join every thread. After "all tasks done"
     * the queue is already closed and drained; otherwise abort it. */
    queue_close(&o->q, 1);
    pthread_join(o->producer, NULL);
    for (int i = 0; i < o->nworkers; i++)
        pthread_join(o->workers[i].thread, NULL);
    cprof_mutex_lock(&o->mon_mu);
    o->mon_stop = 1;
    cprof_cond_signal(&o->mon_cv);
    cprof_mutex_unlock(&o->mon_mu);
    pthread_join(o->monitor, NULL);

    uint64_t sum = 0;
    for (int i = 0; i < o->nworkers; i++) {
        worker_t *w = &o->workers[i];
        for (size_t k = 0; k < w->nresults; k++)
            if (!w->results[k].error)
                sum += task_mix(w->results[k].id, w->results[k].value);
        free(w->copy);
        free(w->out);
        buf_destroy(&w->log);
        hmap_destroy(&w->meta);
        free(w->results);
    }
    run->checksum = sum;
    /* Tasks still queued at an abort go back to the pool to be freed. */
    for (size_t k = 0; k < o->q.len; k++)
        pool_put(&o->pool, o->q.ring[(o->q.head + k) % o->q.cap]);
    labm_queue_add(-(int64_t)o->q.len);
    pool_destroy(&o->pool);
    free(o->q.ring);
    free(o->workers);
    free(o);
}

int main(int argc, char **argv)
{
    static const lab_impl_t impl = {.type = "optimized",
                                    .title = "Optimized Worker (Fixed Version)",
                                    .start = opt_start,
                                    .stop = opt_stop,
                                    .report = NULL};
    return labrun_main(&impl, argc, argv);
}
