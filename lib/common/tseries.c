/* Rolling window of sampled time series (see tseries.h).
 *
 * Data: a ring of `capacity` rows; row k (sequence number k, counting from
 * 0) lives at slot k % capacity and holds the sample time and one double per
 * series. `count` is the number of rows ever written, so the rows kept are
 * max(0, count - capacity) .. count - 1.
 *
 * The "live" thread samples into a private row without the lock (the sample
 * function may read /proc and the allocator: microseconds, not to be done
 * under a lock readers wait on), then copies the row into the ring under the
 * mutex. It sleeps on a condition variable with a monotonic absolute
 * deadline (no drift, and tseries_free wakes it at once);
 * pthread_cond_timedwait does not fail with EINTR, and a spurious or
 * signal-caused wake-up simply re-checks the deadline. The mutex is a plain
 * pthread one: lib/common cannot depend on cprof, and the lock is taken once
 * per second and per dashboard poll, never on a request's hot path. */
#include "common/tseries.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/xalloc.h"

typedef struct chart {
    char *title, *unit;
    size_t *idx; /* series indexes */
    size_t n;
} chart_t;

struct tseries {
    char *title;
    size_t cap, n;
    int64_t interval_ns;
    tseries_def_t *defs; /* owned copies */
    tseries_sample_fn fn;
    void *arg;
    chart_t *charts;
    size_t ncharts;

    pthread_mutex_t mu; /* guards everything below */
    pthread_cond_t cv;
    double *t;      /* [cap] sample times, Unix seconds */
    double *values; /* [cap * n], row-major */
    uint64_t count;
    bool stop;
    bool started;
    pthread_t thread;
};

tseries_t *tseries_new(const char *title, size_t capacity, int64_t interval_ns,
                       const tseries_def_t *defs, size_t n, tseries_sample_fn fn, void *arg)
{
    tseries_t *ts = xcalloc(1, sizeof(*ts));
    ts->title = xstrdup(title);
    ts->cap = capacity ? capacity : 1;
    ts->n = n;
    ts->interval_ns = interval_ns > 0 ? interval_ns : 1000000000;
    ts->defs = xcalloc(n ? n : 1, sizeof(*ts->defs));
    for (size_t i = 0; i < n; i++) {
        ts->defs[i].name = xstrdup(defs[i].name);
        ts->defs[i].label = xstrdup(defs[i].label ? defs[i].label : defs[i].name);
        ts->defs[i].unit = xstrdup(defs[i].unit ? defs[i].unit : "");
    }
    ts->fn = fn;
    ts->arg = arg;
    ts->t = xcalloc(ts->cap, sizeof(double));
    ts->values = xcalloc(ts->cap * (n ? n : 1), sizeof(double));
    pthread_mutex_init(&ts->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&ts->cv, &ca);
    pthread_condattr_destroy(&ca);
    return ts;
}

void tseries_add_chart(tseries_t *ts, const char *title, const char *unit,
                       const char *const *series)
{
    chart_t c = {.title = xstrdup(title), .unit = xstrdup(unit ? unit : "")};
    size_t k = 0;
    while (series[k])
        k++;
    c.idx = xcalloc(k ? k : 1, sizeof(size_t));
    for (size_t j = 0; j < k; j++)
        for (size_t i = 0; i < ts->n; i++)
            if (strcmp(series[j], ts->defs[i].name) == 0) {
                c.idx[c.n++] = i;
                break;
            }
    ts->charts = xrealloc(ts->charts, (ts->ncharts + 1) * sizeof(chart_t));
    ts->charts[ts->ncharts++] = c;
}

/* Waits until the monotonic deadline or stop; returns false on stop. */
static bool wait_until(tseries_t *ts, int64_t deadline_ns)
{
    struct timespec ts_abs = {.tv_sec = deadline_ns / 1000000000,
                              .tv_nsec = deadline_ns % 1000000000};
    pthread_mutex_lock(&ts->mu);
    while (!ts->stop && clock_mono_ns() < deadline_ns)
        pthread_cond_timedwait(&ts->cv, &ts->mu, &ts_abs);
    bool go = !ts->stop;
    pthread_mutex_unlock(&ts->mu);
    return go;
}

static void *live_main(void *arg)
{
    tseries_t *ts = arg;
    pthread_setname_np(pthread_self(), "live");
    double *row = xcalloc(ts->n ? ts->n : 1, sizeof(double));
    int64_t last = clock_mono_ns();
    ts->fn(ts->arg, 0, row); /* baseline for rates */
    int64_t next = last + ts->interval_ns;
    while (wait_until(ts, next)) {
        int64_t now = clock_mono_ns();
        for (size_t i = 0; i < ts->n; i++)
            row[i] = NAN;
        ts->fn(ts->arg, now - last, row);
        last = now;
        double wall = (double)clock_wall_ns() / 1e9;
        pthread_mutex_lock(&ts->mu);
        size_t slot = ts->count % ts->cap;
        ts->t[slot] = wall;
        memcpy(ts->values + slot * ts->n, row, ts->n * sizeof(double));
        ts->count++;
        pthread_mutex_unlock(&ts->mu);
        /* After a long stall (e.g. a stopped process), restart the cadence
         * instead of sampling in a burst to catch up. */
        next += ts->interval_ns;
        if (next < now)
            next = now + ts->interval_ns;
    }
    free(row);
    return NULL;
}

int tseries_start(tseries_t *ts)
{
    int rc = pthread_create(&ts->thread, NULL, live_main, ts);
    if (rc != 0)
        return -rc;
    ts->started = true;
    return 0;
}

void tseries_free(tseries_t *ts)
{
    if (!ts)
        return;
    if (ts->started) {
        pthread_mutex_lock(&ts->mu);
        ts->stop = true;
        pthread_cond_broadcast(&ts->cv);
        pthread_mutex_unlock(&ts->mu);
        pthread_join(ts->thread, NULL);
    }
    for (size_t i = 0; i < ts->n; i++) {
        free((char *)ts->defs[i].name);
        free((char *)ts->defs[i].label);
        free((char *)ts->defs[i].unit);
    }
    for (size_t i = 0; i < ts->ncharts; i++) {
        free(ts->charts[i].title);
        free(ts->charts[i].unit);
        free(ts->charts[i].idx);
    }
    free(ts->charts);
    free(ts->defs);
    free(ts->title);
    free(ts->t);
    free(ts->values);
    pthread_mutex_destroy(&ts->mu);
    pthread_cond_destroy(&ts->cv);
    free(ts);
}

static void put_value(buf_t *out, double v)
{
    if (isfinite(v))
        buf_json_f64(out, v, 3);
    else
        buf_puts(out, "null");
}

static void render_meta(const tseries_t *ts, buf_t *out)
{
    buf_puts(out, "\"series\":[");
    for (size_t i = 0; i < ts->n; i++) {
        buf_puts(out, i ? ",{\"name\":" : "{\"name\":");
        buf_json_str(out, ts->defs[i].name);
        buf_puts(out, ",\"label\":");
        buf_json_str(out, ts->defs[i].label);
        buf_puts(out, ",\"unit\":");
        buf_json_str(out, ts->defs[i].unit);
        buf_putc(out, '}');
    }
    buf_puts(out, "],\"charts\":[");
    for (size_t c = 0; c < ts->ncharts; c++) {
        const chart_t *ch = &ts->charts[c];
        buf_puts(out, c ? ",{\"title\":" : "{\"title\":");
        buf_json_str(out, ch->title);
        buf_puts(out, ",\"unit\":");
        buf_json_str(out, ch->unit);
        buf_puts(out, ",\"series\":[");
        for (size_t j = 0; j < ch->n; j++) {
            if (j)
                buf_putc(out, ',');
            buf_json_str(out, ts->defs[ch->idx[j]].name);
        }
        buf_puts(out, "]}");
    }
    buf_puts(out, "],");
}

int tseries_launch(tseries_t **out, const char *title, size_t capacity, int64_t interval_ns,
                   const tseries_def_t *defs, size_t n, tseries_sample_fn fn, void *arg,
                   const tseries_chart_t *charts)
{
    tseries_t *ts = tseries_new(title, capacity, interval_ns, defs, n, fn, arg);
    for (const tseries_chart_t *c = charts; c && c->title; c++)
        tseries_add_chart(ts, c->title, c->unit, c->series);
    int rc = tseries_start(ts);
    if (rc != 0) {
        tseries_free(ts);
        ts = NULL;
    }
    *out = ts;
    return rc;
}

void tseries_render(tseries_t *ts, uint64_t since, const char *extra, buf_t *out)
{
    if (!ts) {
        buf_puts(out, "{\"error\":\"the live sampler is not running\"}");
        return;
    }
    buf_puts(out, "{\"title\":");
    buf_json_str(out, ts->title);
    buf_printf(out, ",\"interval_ms\":%lld,\"capacity\":%zu,",
               (long long)(ts->interval_ns / 1000000), ts->cap);
    if (extra && *extra) {
        buf_puts(out, extra);
        buf_putc(out, ',');
    }
    if (since == 0)
        render_meta(ts, out);

    pthread_mutex_lock(&ts->mu);
    uint64_t count = ts->count;
    uint64_t first = count > ts->cap ? count - ts->cap : 0;
    if (since > first)
        first = since < count ? since : count;
    buf_printf(out, "\"first\":%llu,\"next\":%llu,\"t\":[", (unsigned long long)first,
               (unsigned long long)count);
    for (uint64_t k = first; k < count; k++) {
        if (k > first)
            buf_putc(out, ',');
        buf_json_f64(out, ts->t[k % ts->cap], 3);
    }
    buf_puts(out, "],\"values\":[");
    for (size_t i = 0; i < ts->n; i++) {
        buf_puts(out, i ? ",[" : "[");
        for (uint64_t k = first; k < count; k++) {
            if (k > first)
                buf_putc(out, ',');
            put_value(out, ts->values[(k % ts->cap) * ts->n + i]);
        }
        buf_putc(out, ']');
    }
    pthread_mutex_unlock(&ts->mu);
    buf_puts(out, "]}");
}

double tseries_latest(tseries_t *ts, size_t i)
{
    double v = NAN;
    pthread_mutex_lock(&ts->mu);
    if (ts->count && i < ts->n)
        v = ts->values[((ts->count - 1) % ts->cap) * ts->n + i];
    pthread_mutex_unlock(&ts->mu);
    return v;
}

uint64_t tseries_count(tseries_t *ts)
{
    pthread_mutex_lock(&ts->mu);
    uint64_t c = ts->count;
    pthread_mutex_unlock(&ts->mu);
    return c;
}

uint64_t tseries_parse_since(const char *s)
{
    if (!s || *s < '0' || *s > '9')
        return 0;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    return errno == 0 && *end == '\0' ? v : 0;
}

double tseries_rate(uint64_t now, uint64_t *prev, double secs)
{
    double r = secs > 0 && now >= *prev ? (double)(now - *prev) / secs : NAN;
    *prev = now;
    return r;
}
