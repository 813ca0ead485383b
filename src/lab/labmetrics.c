/* See labmetrics.h. Hot-path counters are registry handles looked up once;
 * the duration histogram is a lock-free common/hist.h histogram exposed as a
 * view; memory and thread gauges are callbacks over one cprof_memstats
 * snapshot taken by the scrape hook. */

#include "lab/labmetrics.h"

#include <stdlib.h>

#include "common/hist.h"
#include "common/procstat.h"
#include "cprof/memstats.h"

static struct {
    metrics_t *reg;
    metrics_counter_t *processed[TASK_OPS];
    metrics_counter_t *errors;
    int64_t queued;
    hist_t duration;
    cprof_memstats_t mem; /* written by the scrape hook, under the registry mutex */
} g;

static double queue_fn(void *arg)
{
    (void)arg;
    return (double)labm_queue_length();
}
static double threads_fn(void *arg)
{
    (void)arg;
    return (double)g.mem.threads;
}
static double inuse_fn(void *arg)
{
    (void)arg;
    return (double)g.mem.alloc;
}
static double mapped_fn(void *arg)
{
    (void)arg;
    return (double)g.mem.sys;
}
static double total_fn(void *arg)
{
    (void)arg;
    return (double)g.mem.total_alloc;
}
static double allocs_fn(void *arg)
{
    (void)arg;
    return (double)g.mem.mallocs;
}
static double purges_fn(void *arg)
{
    (void)arg;
    return (double)g.mem.num_gc;
}

static void on_scrape(void *arg)
{
    (void)arg;
    cprof_memstats_read(&g.mem);
}

static void add_fn(int gauge, const char *name, const char *help, const char *const *wt,
                   metrics_value_fn fn)
{
    static const char *const wt_label[] = {"worker_type", NULL};
    metrics_family_t *f = gauge ? metrics_add_gauge(g.reg, name, help, wt_label)
                                : metrics_add_counter(g.reg, name, help, wt_label);
    if (f)
        metrics_add_fn(f, wt, fn, NULL);
}

void labm_init(const char *worker_type)
{
    static const char *const wt_label[] = {"worker_type", NULL};
    static const char *const op_labels[] = {"worker_type", "operation", NULL};
    static const double bounds[] = {1e-6, 5e-6, 1e-5,   2.5e-5, 5e-5, 1e-4, 2.5e-4,
                                    5e-4, 1e-3, 2.5e-3, 5e-3,   1e-2, 5e-2, 0.1};
    const char *wt[] = {worker_type, NULL};
    g.reg = metrics_new();
    procstat_register(g.reg);
    metrics_on_scrape(g.reg, on_scrape, NULL, NULL);

    metrics_family_t *f = metrics_add_counter(g.reg, "worker_tasks_processed_total",
                                              "Tasks completed, by operation.", op_labels);
    for (int op = 0; op < TASK_OPS; op++) {
        const char *v[] = {worker_type, task_op_names[op], NULL};
        g.processed[op] = metrics_counter(f, v);
    }
    f = metrics_add_counter(g.reg, "worker_task_errors_total", "Tasks rejected as invalid.",
                            wt_label);
    g.errors = metrics_counter(f, wt);
    add_fn(1, "worker_tasks_in_queue", "Tasks submitted and not yet taken by a worker.", wt,
           queue_fn);
    f = metrics_add_histogram(g.reg, "worker_task_processing_duration_seconds",
                              "Time to process one task.", wt_label, bounds,
                              sizeof(bounds) / sizeof(bounds[0]));
    metrics_add_hist_view(f, wt, &g.duration, 1e9); /* ns -> s */
    add_fn(1, "worker_threads_active", "Threads in the process (the seed's goroutines).", wt,
           threads_fn);
    add_fn(1, "worker_memory_allocated_bytes", "Heap bytes in live allocations (Go: Alloc).", wt,
           inuse_fn);
    add_fn(1, "worker_memory_mapped_bytes", "Bytes mapped by the allocator (Go: Sys).", wt,
           mapped_fn);
    add_fn(0, "worker_allocated_bytes_total",
           "Bytes allocated since start, in allocator size classes (Go: TotalAlloc).", wt,
           total_fn);
    add_fn(0, "worker_allocations_total", "Allocations since start (Go: Mallocs).", wt, allocs_fn);
    add_fn(0, "worker_allocator_purges_total",
           "Allocator sweeps returning free pages to the OS (Go: NumGC).", wt, purges_fn);
}

metrics_t *labm_registry(void) { return g.reg; }

void labm_task_done(task_op_t op, int64_t duration_ns)
{
    if (g.processed[op])
        metrics_counter_inc(g.processed[op]);
    hist_record(&g.duration, duration_ns > 0 ? (uint64_t)duration_ns : 0);
}

void labm_task_error(void)
{
    if (g.errors)
        metrics_counter_inc(g.errors);
}

void labm_queue_add(int64_t delta) { __atomic_add_fetch(&g.queued, delta, __ATOMIC_RELAXED); }

int64_t labm_queue_length(void) { return __atomic_load_n(&g.queued, __ATOMIC_RELAXED); }

uint64_t labm_processed(void)
{
    uint64_t n = 0;
    for (int op = 0; op < TASK_OPS; op++)
        if (g.processed[op])
            n += metrics_counter_value(g.processed[op]);
    return n;
}

uint64_t labm_errors(void) { return g.errors ? metrics_counter_value(g.errors) : 0; }

void labm_duration_snapshot(hist_t *out) { hist_snapshot(&g.duration, out); }
