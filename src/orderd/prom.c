/* GET /metrics.
 *
 * The registry is built on the first scrape and lives as long as the
 * process. It stores nothing of its own: every orderd series is a callback
 * over state the service already keeps (the atomic counters and log-linear
 * histograms of stats_t, the queue, the pool, the leak watch), so the hot
 * path does no extra bookkeeping for Prometheus; the histograms are
 * re-bucketed into fixed `le` bounds at scrape time (metrics_add_hist_view).
 * process_* come from /proc once per scrape (procstat), and the heap from
 * the allocator's statistics once per scrape (a hook fills `heap`, the
 * callbacks read it under the registry's mutex).
 *
 * A scrape costs a few tens of microseconds (a /proc read, an fd directory
 * listing, one jemalloc epoch refresh, ~10k relaxed loads for the
 * histograms): a scrape every second does not register in a profile. */

#include "orderd/prom.h"

#include <pthread.h>

#include "common/metrics.h"
#include "common/procstat.h"
#include "orderd/leakwatch.h"

/* Seconds. From 5 us (a result hand-off) to 10 s (a long queue wait). */
static const double latency_bounds[] = {5e-6, 1e-5,   2.5e-5, 5e-5, 1e-4,   2.5e-4, 5e-4,
                                        1e-3, 2.5e-3, 5e-3,   1e-2, 2.5e-2, 5e-2,   0.1,
                                        0.25, 0.5,    1,      2.5,  5,      10};
#define NBOUNDS (sizeof(latency_bounds) / sizeof(latency_bounds[0]))

static const char *const prio_names[3] = {"1", "2", "3"};

static pthread_mutex_t init_mu = PTHREAD_MUTEX_INITIALIZER;
static metrics_t *registry; /* set once, under init_mu; read with acquire */

typedef struct ref {
    app_t *app;
    int index;
} ref_t;

static ref_t prio_ref[3], leak_ref[LEAK_N];
static procstat_heap_t heap; /* under the registry's mutex */

static double u64_fn(void *arg)
{
    return (double)__atomic_load_n((uint64_t *)arg, __ATOMIC_RELAXED);
}
static double i64_fn(void *arg)
{
    return (double)__atomic_load_n((int64_t *)arg, __ATOMIC_RELAXED);
}

static double queue_depth_fn(void *arg)
{
    ref_t *r = arg;
    return (double)queue_length(r->app->queue, r->index + 1);
}

static double queue_capacity_fn(void *arg) { return (double)queue_capacity(((app_t *)arg)->queue); }

static double queue_aged_fn(void *arg) { return (double)queue_aged(((app_t *)arg)->queue); }
static double in_flight_fn(void *arg) { return (double)pool_in_flight(((app_t *)arg)->pool); }
static double workers_fn(void *arg) { return (double)((app_t *)arg)->cfg.workers; }

static double leak_fn(void *arg)
{
    return leakwatch_suspected((leak_resource_t)((ref_t *)arg)->index) ? 1 : 0;
}

static double leak_samples_fn(void *arg) { return (void)arg, (double)leakwatch_samples(); }

static void heap_scrape(void *arg)
{
    (void)arg;
    procstat_heap(&heap);
}

static double heap_inuse_fn(void *arg) { return (void)arg, (double)heap.inuse_bytes; }
static double heap_mapped_fn(void *arg) { return (void)arg, (double)heap.mapped_bytes; }
static double heap_resident_fn(void *arg) { return (void)arg, (double)heap.resident_bytes; }
static double heap_allocs_fn(void *arg) { return (void)arg, (double)heap.allocations; }

static void add_hist3(metrics_t *m, const char *name, const char *help, hist_t h[3])
{
    metrics_family_t *f = metrics_add_histogram(m, name, help, (const char *[]){"priority", NULL},
                                                latency_bounds, NBOUNDS);
    for (int p = 0; p < 3; p++)
        metrics_add_hist_view(f, (const char *[]){prio_names[p]}, &h[p], 1e9);
}

static void add_one(metrics_t *m, metrics_type_t type, const char *name, const char *help,
                    metrics_value_fn fn, void *arg)
{
    metrics_family_t *f = type == METRICS_COUNTER ? metrics_add_counter(m, name, help, NULL)
                                                  : metrics_add_gauge(m, name, help, NULL);
    metrics_add_fn(f, NULL, fn, arg);
}

static metrics_t *build(app_t *app)
{
    metrics_t *m = metrics_new();
    stats_t *st = &app->stats;
    procstat_register(m);

    metrics_family_t *f;
    f = metrics_add_counter(m, "orderd_orders_accepted_total", "Orders accepted (201) by priority.",
                            (const char *[]){"priority", NULL});
    for (int p = 0; p < 3; p++)
        metrics_add_fn(f, (const char *[]){prio_names[p]}, u64_fn, &st->accepted[p]);
    f = metrics_add_counter(m, "orderd_orders_rejected_total", "Orders refused, by reason.",
                            (const char *[]){"reason", NULL});
    for (int r = 0; r < STATS_REJECT_N; r++)
        metrics_add_fn(f, (const char *[]){stats_reject_names[r]}, u64_fn, &st->rejected[r]);
    f = metrics_add_counter(m, "orderd_orders_processed_total",
                            "Orders processed by the workers, by priority and outcome.",
                            (const char *[]){"priority", "outcome", NULL});
    for (int p = 0; p < 3; p++) {
        metrics_add_fn(f, (const char *[]){prio_names[p], "success"}, u64_fn, &st->processed[p][0]);
        metrics_add_fn(f, (const char *[]){prio_names[p], "error"}, u64_fn, &st->processed[p][1]);
    }

    f = metrics_add_gauge(m, "orderd_queue_depth", "Orders waiting in the queue, by priority.",
                          (const char *[]){"priority", NULL});
    for (int p = 0; p < 3; p++) {
        prio_ref[p] = (ref_t){app, p};
        metrics_add_fn(f, (const char *[]){prio_names[p]}, queue_depth_fn, &prio_ref[p]);
    }
    add_one(m, METRICS_GAUGE, "orderd_queue_capacity",
            "Orders the queue holds before POST /orders answers 503.", queue_capacity_fn, app);
    add_one(m, METRICS_COUNTER, "orderd_queue_aged_total",
            "Orders served ahead of their priority because they waited too long (aging).",
            queue_aged_fn, app);
    add_one(m, METRICS_GAUGE, "orderd_workers", "Worker threads.", workers_fn, app);
    add_one(m, METRICS_GAUGE, "orderd_active_workers", "Workers processing an order right now.",
            i64_fn, &st->active_workers);
    add_one(m, METRICS_GAUGE, "orderd_orders_in_flight",
            "Orders taken by a worker and not yet recorded.", in_flight_fn, app);

    add_hist3(m, "orderd_queue_wait_seconds",
              "Time from acceptance until a worker takes the order (the seed's QueueWaitTime).",
              st->queue_wait);
    add_hist3(m, "orderd_processing_seconds",
              "Time a worker spends on an order (the seed's ProcessingTime).", st->processing);
    f = metrics_add_histogram(m, "orderd_result_handoff_seconds",
                              "Time a worker waits to hand a result to the results stage (the "
                              "seed's ChannelBlockTime).",
                              NULL, latency_bounds, NBOUNDS);
    metrics_add_hist_view(f, NULL, &st->handoff, 1e9);
    add_hist3(m, "orderd_order_latency_seconds",
              "Time from acceptance until the result is recorded (end to end).", st->latency);

    /* Heap: what the allocator can tell (jemalloc in normal builds). */
    procstat_heap_t probe;
    if (procstat_heap(&probe) == 0) {
        metrics_on_scrape(m, heap_scrape, NULL, NULL);
        add_one(m, METRICS_GAUGE, "orderd_heap_inuse_bytes",
                "Bytes in live heap allocations (allocator statistics).", heap_inuse_fn, NULL);
        if (probe.mapped_bytes)
            add_one(m, METRICS_GAUGE, "orderd_heap_mapped_bytes",
                    "Bytes the allocator has mapped from the OS.", heap_mapped_fn, NULL);
        if (probe.resident_bytes)
            add_one(m, METRICS_GAUGE, "orderd_heap_resident_bytes",
                    "Bytes of allocator pages resident in memory.", heap_resident_fn, NULL);
        if (probe.has_allocations)
            add_one(m, METRICS_COUNTER, "orderd_heap_allocations_total",
                    "Heap allocations made since start.", heap_allocs_fn, NULL);
    }

    f = metrics_add_gauge(m, "orderd_leak_suspected",
                          "1 while the leak watch sees persistent growth of the resource.",
                          (const char *[]){"resource", NULL});
    for (int r = 0; r < LEAK_N; r++) {
        leak_ref[r] = (ref_t){app, r};
        metrics_add_fn(f, (const char *[]){leakwatch_resource_names[r]}, leak_fn, &leak_ref[r]);
    }
    add_one(m, METRICS_COUNTER, "orderd_leak_watch_samples_total",
            "Samples taken by the leak watch (--leak-interval).", leak_samples_fn, NULL);
    return m;
}

metrics_t *prom_registry(app_t *app)
{
    metrics_t *m = __atomic_load_n(&registry, __ATOMIC_ACQUIRE);
    if (m)
        return m;
    pthread_mutex_lock(&init_mu);
    if (!(m = registry)) {
        m = build(app);
        __atomic_store_n(&registry, m, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&init_mu);
    return m;
}

void prom_render(app_t *app, buf_t *out) { metrics_render(prom_registry(app), out); }
