#ifndef COMMON_TSERIES_H
#define COMMON_TSERIES_H

/* A rolling window of sampled time series for live dashboards: a thread
 * named "live" calls the program's sample function once per interval, the
 * rows go into a ring of fixed capacity (e.g. 300 one-second points = the
 * last five minutes), and tseries_render writes them as compact,
 * column-oriented JSON that the dashboard (web/dashboard) turns into uPlot
 * charts without knowing the program: the JSON names the series and says
 * which charts to draw.
 *
 *   {"title":"orderd","interval_ms":1000,"capacity":300,"next":1234,
 *    "series":[{"name":"accepted","label":"accepted","unit":"/s"},...],
 *    "charts":[{"title":"Orders/s","unit":"/s","series":["accepted",...]},...],
 *    "t":[1700000000.0,...],            sample times, Unix seconds
 *    "values":[[...],[...],...]}        one array per series, null = no value
 *
 * With since = the "next" of an earlier answer, only the newer points are
 * written, without "series" and "charts", so a page polls once per interval
 * for one point each time ("first" is the sequence number of "t"[0]).
 *
 * Ownership: tseries_new copies every string it is given; tseries_free
 * stops the thread and frees everything. Threads: tseries_render and
 * tseries_latest may be called from any thread at any time; the sample
 * function runs only on the "live" thread. One plain mutex guards the ring:
 * it is held for a row copy (sampler) or the JSON of at most capacity rows
 * (readers), never while sampling. */

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

typedef struct tseries tseries_t;

typedef struct tseries_def {
    const char *name;  /* identifier, [a-z0-9_]: JSON key and DOM data attribute */
    const char *label; /* legend text */
    const char *unit;  /* "/s", "ms", "bytes", "%", "" ... (for formatting) */
} tseries_def_t;

/* Fills row[0..n-1] (one value per series, NAN for "no value"); elapsed_ns
 * is the monotonic time since the previous call (0 on the first call, the
 * baseline taken by tseries_start, whose row is discarded). */
typedef void (*tseries_sample_fn)(void *arg, int64_t elapsed_ns, double *row);

/* A window of capacity points, one every interval_ns. The first sample is
 * taken (and discarded) at tseries_start, as a baseline for rates. */
tseries_t *tseries_new(const char *title, size_t capacity, int64_t interval_ns,
                       const tseries_def_t *defs, size_t n, tseries_sample_fn fn, void *arg);
/* Adds a chart of the named series (NULL-terminated; unknown names are
 * skipped). Call before tseries_start. */
void tseries_add_chart(tseries_t *ts, const char *title, const char *unit,
                       const char *const *series);
/* Starts the "live" thread. Returns 0 or a negative errno. */
int tseries_start(tseries_t *ts);
/* One chart of tseries_launch's list (ended by a NULL title). */
typedef struct tseries_chart {
    const char *title, *unit;
    const char *const *series; /* NULL-terminated */
} tseries_chart_t;
/* tseries_new, tseries_add_chart for each of charts, tseries_start: *out
 * is the running series, or NULL with a negative errno returned. */
int tseries_launch(tseries_t **out, const char *title, size_t capacity, int64_t interval_ns,
                   const tseries_def_t *defs, size_t n, tseries_sample_fn fn, void *arg,
                   const tseries_chart_t *charts);
/* Stops and joins the thread (if started) and frees ts (NULL is fine). */
void tseries_free(tseries_t *ts);

/* Appends the JSON object described above with the points whose sequence
 * number is >= since (0: everything kept, and the series and charts). extra, when not NULL, is
 * inserted verbatim as further members (e.g. "\"profiling\":true"). A NULL
 * ts (no sampler running) renders {"error": ...}. */
void tseries_render(tseries_t *ts, uint64_t since, const char *extra, buf_t *out);

/* The "since" query parameter of a poll: a decimal sequence number; NULL,
 * empty or invalid means 0 (everything, with the metadata). */
uint64_t tseries_parse_since(const char *s);

/* For sample functions: a counter's rate, (now - *prev) / secs, or NAN on
 * the baseline call (secs 0) or when the counter went back; stores now in
 * *prev for the next call. */
double tseries_rate(uint64_t now, uint64_t *prev, double secs);

/* The latest value of series i (NAN before the first point). */
double tseries_latest(tseries_t *ts, size_t i);
/* Number of points sampled so far (not capped by the capacity). */
uint64_t tseries_count(tseries_t *ts);

#endif
