/* See lablive.h. The sample function runs on tseries' "live" thread only,
 * so its previous readings (counters, the duration histogram, CPU time)
 * need no lock. Rates are counter deltas over the measured elapsed time.
 * Duration percentiles are those of the last second alone: the histogram is
 * cumulative, so the previous snapshot is subtracted bucket by bucket; a
 * second with no completed task has no duration (null, a gap in the chart)
 * rather than a misleading zero. */
#include "lab/lablive.h"

#include <math.h>
#include <stdlib.h>

#include "common/hist.h"
#include "common/procstat.h"
#include "common/tseries.h"
#include "common/xalloc.h"
#include "cprof/memstats.h"
#include "lab/labmetrics.h"

#define LIVE_POINTS 300
#define LIVE_INTERVAL_NS 1000000000LL

enum {
    S_DONE,
    S_ERRORS,
    S_P50,
    S_P99,
    S_QUEUE,
    S_THREADS,
    S_HEAP,
    S_ALLOC_RATE,
    S_RSS,
    S_CPU,
    S_DONE_TOTAL,
    S_N
};

static const tseries_def_t defs[S_N] = {
    [S_DONE] = {"completed", "completed", "/s"},
    [S_ERRORS] = {"errors", "invalid", "/s"},
    [S_P50] = {"p50", "p50", "µs"},
    [S_P99] = {"p99", "p99", "µs"},
    [S_QUEUE] = {"queue", "in queue", ""},
    [S_THREADS] = {"threads", "threads", ""},
    [S_HEAP] = {"heap", "heap in use", "bytes"},
    [S_ALLOC_RATE] = {"alloc_rate", "allocated per second", "bytes"},
    [S_RSS] = {"rss", "RSS", "bytes"},
    [S_CPU] = {"cpu", "CPU", "%"},
    [S_DONE_TOTAL] = {"completed_total", "completed (total)", ""},
};

typedef struct live {
    tseries_t *ts;
    uint64_t done, errors, total_alloc;
    double cpu_seconds;
    hist_t prev, cur, delta; /* duration snapshots: ~6 KiB each */
} live_t;

static live_t *L;

static void sample(void *arg, int64_t elapsed_ns, double *row)
{
    live_t *lv = arg;
    double secs = (double)elapsed_ns / 1e9;

    uint64_t errors = labm_errors(), done = labm_processed() + errors;
    row[S_DONE] = tseries_rate(done, &lv->done, secs);
    row[S_ERRORS] = tseries_rate(errors, &lv->errors, secs);
    row[S_DONE_TOTAL] = (double)done;

    labm_duration_snapshot(&lv->cur);
    hist_diff(&lv->cur, &lv->prev, &lv->delta);
    lv->prev = lv->cur;
    if (elapsed_ns > 0 && lv->delta.count > 0) {
        row[S_P50] = (double)hist_quantile(&lv->delta, 0.50) / 1e3;
        row[S_P99] = (double)hist_quantile(&lv->delta, 0.99) / 1e3;
    }
    row[S_QUEUE] = (double)labm_queue_length();

    procstat_t ps;
    if (procstat_read(&ps) == 0) {
        row[S_THREADS] = (double)ps.threads;
        row[S_RSS] = (double)ps.rss_bytes;
        if (secs > 0 && ps.cpu_seconds >= lv->cpu_seconds)
            row[S_CPU] = 100.0 * (ps.cpu_seconds - lv->cpu_seconds) / secs;
        lv->cpu_seconds = ps.cpu_seconds;
    }
    /* Without jemalloc (sanitizer builds) the read fails with only the
     * in-use bytes known, from the sanitizer's allocator. */
    cprof_memstats_t m;
    cprof_memstats_read(&m);
    if (m.alloc > 0)
        row[S_HEAP] = (double)m.alloc;
    if (m.has_allocator)
        row[S_ALLOC_RATE] = tseries_rate(m.total_alloc, &lv->total_alloc, secs);
}

static const tseries_chart_t charts[] = {
    {"Tasks per second", "/s", (const char *const[]){"completed", "errors", NULL}},
    {"Task processing time", "µs", (const char *const[]){"p50", "p99", NULL}},
    {"Tasks in queue", "", (const char *const[]){"queue", NULL}},
    {"Threads", "", (const char *const[]){"threads", NULL}},
    {"Memory", "bytes", (const char *const[]){"heap", "rss", NULL}},
    {"Allocated per second", "bytes", (const char *const[]){"alloc_rate", NULL}},
    {"CPU (% of one core)", "%", (const char *const[]){"cpu", NULL}},
    {0},
};

int lablive_start(const char *title)
{
    live_t *lv = xcalloc(1, sizeof(*lv));
    int rc = tseries_launch(&lv->ts, title, LIVE_POINTS, LIVE_INTERVAL_NS, defs, S_N, sample, lv,
                            charts);
    if (rc != 0) {
        free(lv);
        return rc;
    }
    __atomic_store_n(&L, lv, __ATOMIC_RELEASE);
    return 0;
}

void lablive_stop(void)
{
    live_t *lv = __atomic_exchange_n(&L, NULL, __ATOMIC_ACQ_REL);
    if (!lv)
        return;
    tseries_free(lv->ts);
    free(lv);
}

void lablive_render(const char *since, buf_t *out)
{
    live_t *lv = __atomic_load_n(&L, __ATOMIC_ACQUIRE);
    /* The page hides the header links this program does not serve (/stats,
     * /health are orderd's). */
    tseries_render(lv ? lv->ts : NULL, tseries_parse_since(since),
                   "\"profiling\":true,"
                   "\"links\":[\"/metrics\",\"/debug/pprof/\",\"/debug/pprof/ui/\"]",
                   out);
}
