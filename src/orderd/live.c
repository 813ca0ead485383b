/* orderd's live window: what the dashboard charts, sampled once per second.
 *
 * The sample function runs on tseries' "live" thread only, so its previous
 * readings (counters, latency histograms, CPU time) need no lock. Rates are
 * counter deltas over the measured elapsed time. Latency percentiles are
 * those of the last second alone: the histograms are cumulative, so the
 * previous snapshot is subtracted bucket by bucket (each snapshot is ~6 KiB;
 * four of them live in the heap-allocated state). A second with no
 * completed order has no latency (null, a gap in the chart) rather than a
 * misleading zero. */
#include "orderd/live.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/procstat.h"
#include "common/tseries.h"
#include "common/xalloc.h"

#define LIVE_POINTS 300
#define LIVE_INTERVAL_NS 1000000000LL

enum {
    S_ACCEPTED,
    S_PROCESSED,
    S_FAILED,
    S_REJECTED,
    S_P50_1,
    S_P50_2,
    S_P50_3,
    S_P99_1,
    S_P99_2,
    S_P99_3,
    S_QUEUE_1,
    S_QUEUE_2,
    S_QUEUE_3,
    S_ACTIVE,
    S_THREADS,
    S_HEAP,
    S_RSS,
    S_CPU,
    S_ACCEPTED_TOTAL,
    S_PROCESSED_TOTAL,
    S_REJECTED_TOTAL,
    S_N
};

static const tseries_def_t defs[S_N] = {
    [S_ACCEPTED] = {"accepted", "accepted", "/s"},
    [S_PROCESSED] = {"processed", "processed", "/s"},
    [S_FAILED] = {"failed", "failed (business rules)", "/s"},
    [S_REJECTED] = {"rejected", "rejected (4xx/503)", "/s"},
    [S_P50_1] = {"p50_1", "p50 high (1)", "ms"},
    [S_P50_2] = {"p50_2", "p50 normal (2)", "ms"},
    [S_P50_3] = {"p50_3", "p50 low (3)", "ms"},
    [S_P99_1] = {"p99_1", "p99 high (1)", "ms"},
    [S_P99_2] = {"p99_2", "p99 normal (2)", "ms"},
    [S_P99_3] = {"p99_3", "p99 low (3)", "ms"},
    [S_QUEUE_1] = {"queue_1", "high (1)", ""},
    [S_QUEUE_2] = {"queue_2", "normal (2)", ""},
    [S_QUEUE_3] = {"queue_3", "low (3)", ""},
    [S_ACTIVE] = {"active_workers", "busy workers", ""},
    [S_THREADS] = {"threads", "threads", ""},
    [S_HEAP] = {"heap", "heap in use", "bytes"},
    [S_RSS] = {"rss", "RSS", "bytes"},
    [S_CPU] = {"cpu", "CPU", "%"},
    [S_ACCEPTED_TOTAL] = {"accepted_total", "accepted (total)", ""},
    [S_PROCESSED_TOTAL] = {"processed_total", "processed (total)", ""},
    [S_REJECTED_TOTAL] = {"rejected_total", "rejected (total)", ""},
};

typedef struct live {
    app_t *app;
    tseries_t *ts;
    uint64_t accepted, processed, failed, rejected;
    double cpu_seconds;
    hist_t prev[3]; /* latency snapshots at the previous sample */
    hist_t cur, delta;
} live_t;

static live_t *L;

static uint64_t sum_processed(const stats_t *st, int outcome)
{
    uint64_t n = 0;
    for (int p = 0; p < 3; p++)
        n += stats_get(&st->processed[p][outcome]);
    return n;
}

static void sample(void *arg, int64_t elapsed_ns, double *row)
{
    live_t *lv = arg;
    app_t *app = lv->app;
    stats_t *st = &app->stats;
    double secs = (double)elapsed_ns / 1e9;

    uint64_t acc = stats_total_accepted(st), rej = stats_total_rejected(st);
    uint64_t ok = sum_processed(st, 0), bad = sum_processed(st, 1);
    row[S_ACCEPTED] = tseries_rate(acc, &lv->accepted, secs);
    row[S_PROCESSED] = tseries_rate(ok + bad, &lv->processed, secs);
    row[S_FAILED] = tseries_rate(bad, &lv->failed, secs);
    row[S_REJECTED] = tseries_rate(rej, &lv->rejected, secs);
    row[S_ACCEPTED_TOTAL] = (double)acc;
    row[S_PROCESSED_TOTAL] = (double)(ok + bad);
    row[S_REJECTED_TOTAL] = (double)rej;

    for (int p = 0; p < 3; p++) {
        hist_snapshot(&st->latency[p], &lv->cur);
        hist_diff(&lv->cur, &lv->prev[p], &lv->delta);
        lv->prev[p] = lv->cur;
        if (elapsed_ns > 0 && lv->delta.count > 0) {
            row[S_P50_1 + p] = (double)hist_quantile(&lv->delta, 0.50) / 1e6;
            row[S_P99_1 + p] = (double)hist_quantile(&lv->delta, 0.99) / 1e6;
        }
        row[S_QUEUE_1 + p] = (double)queue_length(app->queue, p + 1);
    }
    row[S_ACTIVE] = (double)__atomic_load_n(&st->active_workers, __ATOMIC_RELAXED);

    procstat_t ps;
    if (procstat_read(&ps) == 0) {
        row[S_THREADS] = (double)ps.threads;
        row[S_RSS] = (double)ps.rss_bytes;
        if (secs > 0 && ps.cpu_seconds >= lv->cpu_seconds)
            row[S_CPU] = 100.0 * (ps.cpu_seconds - lv->cpu_seconds) / secs;
        lv->cpu_seconds = ps.cpu_seconds;
    }
    procstat_heap_t heap;
    if (procstat_heap(&heap) == 0)
        row[S_HEAP] = (double)heap.inuse_bytes;
}

static const tseries_chart_t charts[] = {
    {"Orders per second", "/s",
     (const char *const[]){"accepted", "processed", "failed", "rejected", NULL}},
    {"Latency p50 by priority", "ms", (const char *const[]){"p50_1", "p50_2", "p50_3", NULL}},
    {"Latency p99 by priority", "ms", (const char *const[]){"p99_1", "p99_2", "p99_3", NULL}},
    {"Queue depth by priority", "", (const char *const[]){"queue_1", "queue_2", "queue_3", NULL}},
    {"Threads", "", (const char *const[]){"threads", "active_workers", NULL}},
    {"Memory", "bytes", (const char *const[]){"heap", "rss", NULL}},
    {"CPU (% of one core)", "%", (const char *const[]){"cpu", NULL}},
    {0},
};

int live_start(app_t *app)
{
    live_t *lv = xcalloc(1, sizeof(*lv));
    lv->app = app;
    int rc = tseries_launch(&lv->ts, "orderd", LIVE_POINTS, LIVE_INTERVAL_NS, defs, S_N, sample, lv,
                            charts);
    if (rc != 0) {
        free(lv);
        return rc;
    }
    __atomic_store_n(&L, lv, __ATOMIC_RELEASE);
    return 0;
}

void live_stop(void)
{
    live_t *lv = __atomic_exchange_n(&L, NULL, __ATOMIC_ACQ_REL);
    if (!lv)
        return;
    tseries_free(lv->ts);
    free(lv);
}

void live_render(const char *since, bool profiling, buf_t *out)
{
    live_t *lv = __atomic_load_n(&L, __ATOMIC_ACQUIRE);
    tseries_render(lv ? lv->ts : NULL, tseries_parse_since(since),
                   profiling ? "\"profiling\":true" : "\"profiling\":false", out);
}
