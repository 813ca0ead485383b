/* Worker pool and results stage.
 *
 * Data flow: queue_pop (worker-N) -> simulate work -> business rules ->
 * results channel (bounded ring, blocking send) -> results-N -> stats,
 * optional log line, ORDER_DONE, store_done (which may evict and free it).
 * An order is touched by exactly one thread at a time after it leaves the
 * queue; once store_done is called nobody else may touch it.
 *
 * `in_flight` counts orders popped and not yet recorded; together with the
 * queue length it is what shutdown still has to drain. Shutdown: main closes
 * the queue, workers exit when it is empty, the last worker closes the
 * channel, results threads exit when it is empty.
 *
 * Profiling: the channel's lock and condition variables are cprof's (the
 * block profile shows the hand-off waits, the seed's ChannelBlockTime);
 * threads are made with cprof_thread_create (threadcreate profile); while an
 * execution trace runs, workers record "wait for order", "process order"
 * (where the order's flow from its HTTP thread ends) and "result hand-off"
 * spans, and the results threads "record result". */

#include "orderd/pool.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "cprof/lock.h"
#include "cprof/threads.h"
#include "cprof/trace.h"

typedef struct chan {
    cprof_mutex_t mu;
    cprof_cond_t not_empty, not_full;
    order_t **slots;
    size_t cap, head, len;
    bool closed;
} chan_t;

typedef struct worker {
    pool_t *pool;
    int id;
    pthread_t thread;
    bool started, joined;
} worker_t;

struct pool {
    pool_config_t cfg;
    queue_t *queue;
    store_t *store;
    stats_t *stats;
    chan_t results;
    worker_t *workers;
    worker_t *recorders;
    int workers_left; /* atomic: workers still running */
    uint64_t in_flight;
};

static void chan_init(chan_t *c, size_t cap)
{
    cprof_mutex_init(&c->mu);
    cprof_cond_init(&c->not_empty);
    cprof_cond_init(&c->not_full);
    c->slots = xcalloc(cap, sizeof(order_t *));
    c->cap = cap;
}

static void chan_destroy(chan_t *c)
{
    free(c->slots);
    cprof_cond_destroy(&c->not_empty);
    cprof_cond_destroy(&c->not_full);
    cprof_mutex_destroy(&c->mu);
}

static void chan_send(chan_t *c, order_t *o)
{
    cprof_mutex_lock(&c->mu);
    while (c->len == c->cap)
        cprof_cond_wait(&c->not_full, &c->mu);
    c->slots[(c->head + c->len) % c->cap] = o;
    c->len++;
    cprof_mutex_unlock(&c->mu);
    cprof_cond_signal(&c->not_empty); /* after the unlock, as in queue_push */
}

static order_t *chan_recv(chan_t *c)
{
    order_t *o = NULL;
    cprof_mutex_lock(&c->mu);
    while (c->len == 0 && !c->closed)
        cprof_cond_wait(&c->not_empty, &c->mu);
    if (c->len) {
        o = c->slots[c->head];
        c->head = (c->head + 1) % c->cap;
        c->len--;
    }
    cprof_mutex_unlock(&c->mu);
    if (o)
        cprof_cond_signal(&c->not_full);
    return o;
}

static void chan_close(chan_t *c)
{
    cprof_mutex_lock(&c->mu);
    c->closed = true;
    cprof_cond_broadcast(&c->not_empty);
    cprof_mutex_unlock(&c->mu);
}

int pool_parse_work(const char *s, work_mode_t *out)
{
    static const char *const names[] = {"sleep", "cpu", "none"};
    for (int i = 0; i < 3; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = (work_mode_t)i;
            return 0;
        }
    }
    return -EINVAL;
}

const char *pool_work_name(work_mode_t w)
{
    return w == WORK_SLEEP ? "sleep" : w == WORK_CPU ? "cpu" : "none";
}

/* --work cpu: real computation (a hash chain over the order's fields) until
 * the time budget is spent, so CPU profiles show where work happens. */
static __attribute__((noinline)) uint64_t work_cpu_burn(const order_t *o, int64_t ns)
{
    int64_t end = clock_mono_ns() + ns;
    uint64_t h = 1469598103934665603ULL;
    do {
        for (int round = 0; round < 64; round++) {
            for (const char *p = o->id; *p; p++)
                h = (h ^ (unsigned char)*p) * 1099511628211ULL;
            for (size_t i = 0; i < o->nitems; i++)
                h ^= (uint64_t)strlen(o->items[i]) * 0x9e3779b97f4a7c15ULL;
            h += (uint64_t)(sqrt(o->amount + (double)(h & 1023)) * 1000);
        }
    } while (clock_mono_ns() < end);
    return h;
}

static __attribute__((noinline)) void simulate_work(pool_t *p, order_t *o)
{
    int64_t ns = (int64_t)o->priority * p->cfg.work_ns;
    switch (p->cfg.work) {
    case WORK_SLEEP: clock_sleep_ns(ns); break;
    case WORK_CPU: {
        volatile uint64_t sink = work_cpu_burn(o, ns);
        (void)sink;
        break;
    }
    case WORK_NONE: break;
    }
}

/* The seed's processOrder: simulated work, validation, business rules. */
static __attribute__((noinline)) void process_order(pool_t *p, order_t *o)
{
    simulate_work(p, o);
    const char *err = order_validate_for_processing(o);
    if (err) {
        o->success = false;
        snprintf(o->error, sizeof(o->error), "%s", err);
        snprintf(o->result, sizeof(o->result), "Order processing failed");
    } else {
        o->success = true;
        order_apply_business_rules(o);
    }
}

static void *worker_main(void *arg)
{
    worker_t *w = arg;
    pool_t *p = w->pool;
    order_t *o;
    for (;;) {
        int64_t wait_span = cprof_trace_begin();
        o = queue_pop(p->queue);
        cprof_trace_end(wait_span, "wait for order", NULL, 0);
        if (!o)
            break;
        __atomic_fetch_add(&p->in_flight, 1, __ATOMIC_RELAXED);
        int64_t span = cprof_trace_begin();
        cprof_trace_async_end("queue wait", o->trace_id);
        cprof_trace_flow_end("order", o->trace_id);
        int64_t t0 = clock_mono_ns();
        int pi = o->priority - 1;
        __atomic_store_n(&p->stats->last_progress_mono_ns, t0, __ATOMIC_RELAXED);
        o->worker_id = w->id;
        o->started_mono_ns = t0;
        order_set_state(o, ORDER_PROCESSING);
        hist_record(&p->stats->queue_wait[pi], (uint64_t)(t0 - o->accepted_mono_ns));
        __atomic_fetch_add(&p->stats->active_workers, 1, __ATOMIC_RELAXED);

        process_order(p, o);
        cprof_trace_end(span, "process order", "priority", o->priority);

        o->finished_mono_ns = clock_mono_ns();
        o->processed_wall_ns = clock_wall_ns();
        hist_record(&p->stats->processing[pi], (uint64_t)(o->finished_mono_ns - t0));
        __atomic_fetch_sub(&p->stats->active_workers, 1, __ATOMIC_RELAXED);
        int64_t handoff = cprof_trace_begin();
        chan_send(&p->results, o); /* o belongs to the results stage now */
        cprof_trace_end(handoff, "result hand-off", NULL, 0);
    }
    if (__atomic_sub_fetch(&p->workers_left, 1, __ATOMIC_ACQ_REL) == 0)
        chan_close(&p->results);
    return NULL;
}

static void record(pool_t *p, order_t *o)
{
    int64_t now = clock_mono_ns();
    int pi = o->priority - 1;
    o->done_mono_ns = now;
    hist_record(&p->stats->handoff, (uint64_t)(now - o->finished_mono_ns));
    hist_record(&p->stats->latency[pi], (uint64_t)(now - o->accepted_mono_ns));
    if (p->cfg.log_results)
        log_info("order %s priority=%d worker=%d %s%s%s", o->id, o->priority, o->worker_id,
                 o->success ? "ok: " : "failed: ", o->success ? o->result : o->error, "");
    stats_add(&p->stats->processed[pi][o->success ? 0 : 1], 1);
    __atomic_store_n(&p->stats->last_progress_mono_ns, now, __ATOMIC_RELAXED);
    order_set_state(o, ORDER_DONE);
    store_done(p->store, o); /* o may be freed from here on */
    __atomic_fetch_sub(&p->in_flight, 1, __ATOMIC_RELEASE);
}

static void *results_main(void *arg)
{
    worker_t *w = arg;
    order_t *o;
    while ((o = chan_recv(&w->pool->results)) != NULL) {
        int64_t span = cprof_trace_begin();
        record(w->pool, o);
        cprof_trace_end(span, "record result", NULL, 0);
    }
    return NULL;
}

pool_t *pool_new(const pool_config_t *cfg, queue_t *q, store_t *store, stats_t *stats)
{
    pool_t *p = xcalloc(1, sizeof(*p));
    p->cfg = *cfg;
    p->queue = q;
    p->store = store;
    p->stats = stats;
    chan_init(&p->results, (size_t)cfg->workers * 64);
    p->workers = xcalloc((size_t)cfg->workers, sizeof(worker_t));
    p->recorders = xcalloc((size_t)cfg->results_threads, sizeof(worker_t));
    return p;
}

static int spawn(pool_t *p, worker_t *w, int id, void *(*fn)(void *), const char *prefix)
{
    w->pool = p;
    w->id = id;
    char name[32]; /* cprof_thread_create keeps the first 15 bytes */
    snprintf(name, sizeof(name), "%s-%d", prefix, id);
    int rc = cprof_thread_create(&w->thread, NULL, fn, w, name);
    if (rc != 0)
        return rc;
    w->started = true;
    return 0;
}

int pool_start(pool_t *p)
{
    p->workers_left = p->cfg.workers;
    for (int i = 0; i < p->cfg.results_threads; i++) {
        int rc = spawn(p, &p->recorders[i], i + 1, results_main, "results");
        if (rc)
            return rc;
    }
    for (int i = 0; i < p->cfg.workers; i++) {
        int rc = spawn(p, &p->workers[i], i + 1, worker_main, "worker");
        if (rc)
            return rc;
    }
    return 0;
}

uint64_t pool_in_flight(pool_t *p) { return __atomic_load_n(&p->in_flight, __ATOMIC_ACQUIRE); }

/* Joins w if it exits before deadline (realtime); true once joined. */
static bool join_until(worker_t *w, const struct timespec *deadline)
{
    if (!w->started || w->joined)
        return true;
    int rc =
        deadline ? pthread_timedjoin_np(w->thread, NULL, deadline) : pthread_join(w->thread, NULL);
    if (rc == 0)
        w->joined = true;
    return w->joined;
}

uint64_t pool_drain(pool_t *p, int64_t deadline_mono_ns)
{
    struct timespec ts, *dl = NULL;
    if (deadline_mono_ns) {
        int64_t wall = clock_wall_ns() + (deadline_mono_ns - clock_mono_ns());
        if (wall < clock_wall_ns())
            wall = clock_wall_ns();
        ts.tv_sec = wall / 1000000000;
        ts.tv_nsec = wall % 1000000000;
        dl = &ts;
    }
    bool all = true;
    for (int i = 0; i < p->cfg.workers; i++)
        all = join_until(&p->workers[i], dl) && all;
    for (int i = 0; all && i < p->cfg.results_threads; i++)
        all = join_until(&p->recorders[i], dl) && all;
    if (all)
        return 0;
    uint64_t left = queue_length(p->queue, 0) + pool_in_flight(p);
    return left ? left : 1;
}

void pool_free(pool_t *p)
{
    if (!p)
        return;
    chan_destroy(&p->results);
    free(p->workers);
    free(p->recorders);
    free(p);
}
