#ifndef COMMON_METRICS_H
#define COMMON_METRICS_H

/* A small Prometheus metrics registry: counters, gauges and histograms with
 * labels, rendered in the text exposition format 0.0.4.
 *
 * Shape: a registry (metrics_new/metrics_free) holds families (one metric
 * name, help text, type and label names); a family holds series, one per
 * combination of label values. A series is either stored (updated by the
 * program with atomic operations: no lock, no allocation on the hot path) or
 * computed at scrape time by a callback (the value already lives elsewhere,
 * e.g. in /proc or in a service's own counters, so nothing is counted
 * twice).
 *
 * Ownership: the registry owns families and series; the handles it returns
 * stay valid until metrics_free. Label names, label values, help text and
 * histogram bounds are copied.
 *
 * Threads: registering families and series, and rendering, take the
 * registry's mutex (not meant for the hot path: look a series up once and
 * keep the handle). Updates through handles (metrics_counter_add,
 * metrics_gauge_set, metrics_histogram_observe...) are lock-free relaxed
 * atomics, safe from any thread and async-signal-safe. Callbacks run during
 * metrics_render under the registry's mutex, on the rendering thread: they
 * must not call back into the same registry.
 *
 * Errors are programming errors (bad names, duplicate families, wrong
 * number of label values, type mismatch): the functions return NULL and the
 * registry is unchanged. Out of memory aborts (xalloc), as in every program
 * of the project. */

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/hist.h"

typedef enum { METRICS_COUNTER = 0, METRICS_GAUGE, METRICS_HISTOGRAM } metrics_type_t;

typedef struct metrics metrics_t;
typedef struct metrics_family metrics_family_t;
typedef struct metrics_counter metrics_counter_t;
typedef struct metrics_gauge metrics_gauge_t;
typedef struct metrics_histogram metrics_histogram_t;

/* Computes a counter or gauge value at scrape time. */
typedef double (*metrics_value_fn)(void *arg);
/* Computes a histogram at scrape time: fills counts[0..nbounds] with the
 * NON-cumulative number of observations in each bucket (counts[i]: values in
 * (bounds[i-1], bounds[i]]; counts[nbounds]: above the last bound; all zero
 * on entry) and *sum with the sum of all observations. The registry
 * accumulates the buckets and derives _count, so they always agree. */
typedef void (*metrics_hist_fn)(void *arg, const double *bounds, size_t nbounds, uint64_t *counts,
                                double *sum);
/* Runs at the start of every metrics_render, before any value callback
 * (e.g. to read /proc once for several series). */
typedef void (*metrics_scrape_fn)(void *arg);

metrics_t *metrics_new(void);
void metrics_free(metrics_t *m);

/* Registers a family. name: [a-zA-Z_:][a-zA-Z0-9_:]*; a counter's name gets
 * the "_total" suffix when it lacks it. labels: NULL-terminated label names
 * ([a-zA-Z_][a-zA-Z0-9_]*, not starting with "__", no "le" for histograms),
 * or NULL for none. Histogram bounds are the finite `le` upper bounds in
 * increasing order (+Inf is implied). Returns NULL on a bad or duplicate
 * name. */
metrics_family_t *metrics_add_counter(metrics_t *m, const char *name, const char *help,
                                      const char *const *labels);
metrics_family_t *metrics_add_gauge(metrics_t *m, const char *name, const char *help,
                                    const char *const *labels);
metrics_family_t *metrics_add_histogram(metrics_t *m, const char *name, const char *help,
                                        const char *const *labels, const double *bounds,
                                        size_t nbounds);
/* Scrape hooks run in registration order. release (may be NULL) is called
 * with arg by metrics_free: the registry then owns arg. */
void metrics_on_scrape(metrics_t *m, metrics_scrape_fn fn, void *arg, void (*release)(void *));

/* The stored series of family f for these label values (one per label
 * name; NULL when the family has no labels), created at zero on first use;
 * the same handle afterwards. NULL on a type mismatch, a wrong number of
 * values, or when that series is a callback series. */
metrics_counter_t *metrics_counter(metrics_family_t *f, const char *const *values);
metrics_gauge_t *metrics_gauge(metrics_family_t *f, const char *const *values);
metrics_histogram_t *metrics_histogram(metrics_family_t *f, const char *const *values);

/* Callback series: the value is computed at every scrape. The family must be
 * a counter or gauge (metrics_add_fn) or a histogram (metrics_add_hist_fn),
 * and the label values new. Returns 0 or -EINVAL / -EEXIST. */
int metrics_add_fn(metrics_family_t *f, const char *const *values, metrics_value_fn fn, void *arg);
int metrics_add_hist_fn(metrics_family_t *f, const char *const *values, metrics_hist_fn fn,
                        void *arg);
/* A histogram series backed by a common/hist.h histogram that the program
 * already records into (e.g. latencies in ns): at scrape time its fine
 * log-linear buckets are re-bucketed into the family's bounds, each value
 * divided by divisor (1e9: ns -> seconds). A fine bucket is counted in the
 * first `le` bucket that holds its lowest value, so bucket boundaries are
 * exact for values below 16 and within 1/16 (6.25%) above. h must outlive
 * the registry. */
int metrics_add_hist_view(metrics_family_t *f, const char *const *values, const hist_t *h,
                          double divisor);

/* Hot-path updates: relaxed atomics, lock-free, async-signal-safe. */
void metrics_counter_add(metrics_counter_t *c, uint64_t n);
static inline void metrics_counter_inc(metrics_counter_t *c) { metrics_counter_add(c, 1); }
uint64_t metrics_counter_value(const metrics_counter_t *c);
void metrics_gauge_set(metrics_gauge_t *g, double v);
void metrics_gauge_add(metrics_gauge_t *g, double delta);
double metrics_gauge_value(const metrics_gauge_t *g);
void metrics_histogram_observe(metrics_histogram_t *h, double v);

/* Appends the exposition (text format 0.0.4) of every family that has at
 * least one series, in registration order, to out. Thread-safe. */
void metrics_render(metrics_t *m, buf_t *out);

/* Content-Type of the rendered text. */
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Formats a sample value as Prometheus does: shortest text that reads back
 * to the same double, "+Inf", "-Inf", "NaN". Exposed for tests. */
void metrics_format_value(buf_t *out, double v);

#endif
