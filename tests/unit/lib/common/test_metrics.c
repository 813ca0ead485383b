/* The metrics registry and the Prometheus text exposition (format 0.0.4),
 * and the process_* readings of procstat. */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/metrics.h"
#include "common/procstat.h"

static char *render(metrics_t *m)
{
    buf_t b;
    buf_init(&b, 1024);
    metrics_render(m, &b);
    return buf_steal(&b, NULL);
}

static void assert_has(const char *text, const char *line)
{
    cr_assert_not_null(strstr(text, line), "expected the exposition to hold\n  %s\ngot:\n%s", line,
                       text);
}

static int count_of(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

/* Value of the sample line that starts with key (e.g. `x_total{a="b"}`). */
static double sample(const char *text, const char *key)
{
    size_t k = strlen(key);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : p)
        if (strncmp(p, key, k) == 0 && p[k] == ' ')
            return strtod(p + k + 1, NULL);
    cr_assert_fail("no sample %s in:\n%s", key, text);
    return NAN;
}

Test(metrics, counter_gets_total_suffix_and_help_type_once)
{
    metrics_t *m = metrics_new();
    metrics_family_t *f =
        metrics_add_counter(m, "tasks_processed", "Tasks processed.", (const char *[]){"op", NULL});
    cr_assert_not_null(f);
    metrics_counter_t *a = metrics_counter(f, (const char *[]){"sum"});
    metrics_counter_t *b = metrics_counter(f, (const char *[]){"filter"});
    cr_assert_eq(metrics_counter(f, (const char *[]){"sum"}), a, "same labels, same handle");
    metrics_counter_add(a, 41);
    metrics_counter_inc(a);
    metrics_counter_inc(b);
    char *t = render(m);
    assert_has(t, "# HELP tasks_processed_total Tasks processed.\n"
                  "# TYPE tasks_processed_total counter\n"
                  "tasks_processed_total{op=\"sum\"} 42\n"
                  "tasks_processed_total{op=\"filter\"} 1\n");
    cr_assert_eq(count_of(t, "# TYPE"), 1, "one TYPE line per family:\n%s", t);
    cr_assert_eq(count_of(t, "# HELP"), 1);
    /* A name that already ends in _total keeps it once. */
    metrics_family_t *g = metrics_add_counter(m, "errors_total", "Errors.", NULL);
    metrics_counter_inc(metrics_counter(g, NULL));
    free(t);
    t = render(m);
    assert_has(t, "# TYPE errors_total counter\nerrors_total 1\n");
    cr_assert_null(strstr(t, "_total_total"));
    free(t);
    metrics_free(m);
}

Test(metrics, label_values_and_help_are_escaped)
{
    metrics_t *m = metrics_new();
    metrics_family_t *f = metrics_add_gauge(m, "g", "Back\\slash and\nnewline \"kept\".",
                                            (const char *[]){"path", "q", NULL});
    metrics_gauge_set(metrics_gauge(f, (const char *[]){"C:\\dir", "say \"hi\"\nbye"}), 1.5);
    char *t = render(m);
    assert_has(t, "# HELP g Back\\\\slash and\\nnewline \"kept\".\n");
    assert_has(t, "g{path=\"C:\\\\dir\",q=\"say \\\"hi\\\"\\nbye\"} 1.5\n");
    free(t);
    metrics_free(m);
}

Test(metrics, families_without_series_are_not_rendered)
{
    metrics_t *m = metrics_new();
    metrics_add_gauge(m, "empty", "Nothing yet.", (const char *[]){"x", NULL});
    char *t = render(m);
    cr_assert_str_empty(t);
    free(t);
    metrics_free(m);
}

Test(metrics, histogram_buckets_are_cumulative_with_inf_sum_count)
{
    metrics_t *m = metrics_new();
    const double bounds[] = {0.01, 0.1, 1};
    metrics_family_t *f = metrics_add_histogram(m, "task_duration_seconds", "Durations.",
                                                (const char *[]){"op", NULL}, bounds, 3);
    metrics_histogram_t *h = metrics_histogram(f, (const char *[]){"sum"});
    const double obs[] = {0.005, 0.01, 0.05, 0.05, 0.5, 2, 3};
    for (size_t i = 0; i < sizeof(obs) / sizeof(obs[0]); i++)
        metrics_histogram_observe(h, obs[i]);
    char *t = render(m);
    assert_has(t, "# TYPE task_duration_seconds histogram\n"
                  "task_duration_seconds_bucket{op=\"sum\",le=\"0.01\"} 2\n"
                  "task_duration_seconds_bucket{op=\"sum\",le=\"0.1\"} 4\n"
                  "task_duration_seconds_bucket{op=\"sum\",le=\"1\"} 5\n"
                  "task_duration_seconds_bucket{op=\"sum\",le=\"+Inf\"} 7\n"
                  "task_duration_seconds_sum{op=\"sum\"} 5.615\n"
                  "task_duration_seconds_count{op=\"sum\"} 7\n");
    free(t);
    metrics_free(m);
}

Test(metrics, histogram_without_labels)
{
    metrics_t *m = metrics_new();
    const double bounds[] = {1};
    metrics_family_t *f = metrics_add_histogram(m, "h", "H.", NULL, bounds, 1);
    metrics_histogram_observe(metrics_histogram(f, NULL), 1);
    char *t = render(m);
    assert_has(t, "h_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n");
    free(t);
    metrics_free(m);
}

static double forty_two(void *arg)
{
    (*(int *)arg)++;
    return 42;
}

Test(metrics, bad_names_and_mismatches_are_refused)
{
    metrics_t *m = metrics_new();
    const double b[] = {1, 2}, unsorted[] = {2, 1};
    cr_assert_null(metrics_add_gauge(m, "9lives", "", NULL));
    cr_assert_null(metrics_add_gauge(m, "has-dash", "", NULL));
    cr_assert_null(metrics_add_gauge(m, "x", "", (const char *[]){"__reserved", NULL}));
    cr_assert_null(metrics_add_gauge(m, "x", "", (const char *[]){"a", "a", NULL}));
    cr_assert_null(metrics_add_histogram(m, "h", "", (const char *[]){"le", NULL}, b, 2));
    cr_assert_null(metrics_add_histogram(m, "h", "", NULL, unsorted, 2));
    metrics_family_t *g = metrics_add_gauge(m, "ns:name", "", (const char *[]){"a", NULL});
    cr_assert_not_null(g, "colons are allowed in metric names");
    cr_assert_null(metrics_add_gauge(m, "ns:name", "", NULL), "duplicate family");
    cr_assert_null(metrics_counter(g, (const char *[]){"v"}), "counter handle of a gauge family");
    cr_assert_null(metrics_gauge(g, NULL), "missing label values");
    cr_assert_eq(metrics_add_fn(g, (const char *[]){"v"}, NULL, NULL), -EINVAL);
    metrics_gauge(g, (const char *[]){"v"});
    cr_assert_eq(metrics_add_fn(g, (const char *[]){"v"}, forty_two, NULL), -EEXIST);
    metrics_free(m);
}

static void hook(void *arg) { *(int *)arg = 100; }

static void hist_cb(void *arg, const double *bounds, size_t n, uint64_t *counts, double *sum)
{
    (void)arg, (void)bounds;
    counts[0] = 1;
    counts[n] = 2;
    *sum = 7.5;
}

Test(metrics, callbacks_run_at_scrape_after_hooks)
{
    metrics_t *m = metrics_new();
    int calls = 0;
    metrics_on_scrape(m, hook, &calls, NULL);
    metrics_family_t *g = metrics_add_gauge(m, "answer", "Computed.", NULL);
    cr_assert_eq(metrics_add_fn(g, NULL, forty_two, &calls), 0);
    const double b[] = {1, 2};
    metrics_family_t *h = metrics_add_histogram(m, "cb_seconds", "Computed.", NULL, b, 2);
    cr_assert_eq(metrics_add_hist_fn(h, NULL, hist_cb, NULL), 0);
    char *t = render(m);
    cr_assert_eq(calls, 101, "hook (sets 100) runs before the callback (adds 1)");
    assert_has(t, "answer 42\n");
    assert_has(t, "cb_seconds_bucket{le=\"1\"} 1\ncb_seconds_bucket{le=\"2\"} 1\n"
                  "cb_seconds_bucket{le=\"+Inf\"} 3\ncb_seconds_sum 7.5\ncb_seconds_count 3\n");
    free(t);
    metrics_free(m);
}

Test(metrics, hist_view_rebuckets_nanoseconds_into_seconds)
{
    hist_t *h = calloc(1, sizeof(*h));
    metrics_t *m = metrics_new();
    const double b[] = {0.001, 0.01, 0.1};
    metrics_family_t *f = metrics_add_histogram(m, "wait_seconds", "Wait.", NULL, b, 3);
    cr_assert_eq(metrics_add_hist_view(f, NULL, h, 1e9), 0);
    /* 500 us, exactly 1 ms, 5 ms, 50 ms, 5 s. */
    const uint64_t ns[] = {500000, 1000000, 5000000, 50000000, 5000000000ULL};
    for (int i = 0; i < 5; i++)
        hist_record(h, ns[i]);
    char *t = render(m);
    cr_assert_eq(sample(t, "wait_seconds_bucket{le=\"0.001\"}"), 2, "%s", t);
    cr_assert_eq(sample(t, "wait_seconds_bucket{le=\"0.01\"}"), 3);
    cr_assert_eq(sample(t, "wait_seconds_bucket{le=\"0.1\"}"), 4);
    cr_assert_eq(sample(t, "wait_seconds_bucket{le=\"+Inf\"}"), 5);
    cr_assert_eq(sample(t, "wait_seconds_count"), 5);
    cr_assert_float_eq(sample(t, "wait_seconds_sum"), 5.0565, 1e9);
    free(t);
    metrics_free(m);
    free(h);
}

Test(metrics, values_format_as_prometheus_reads_them)
{
    const struct {
        double v;
        const char *want;
    } cases[] = {{0, "0"},
                 {1, "1"},
                 {0.1, "0.1"},
                 {2.5e-05, "2.5e-05"},
                 {1e21, "1e+21"},
                 {-3.25, "-3.25"},
                 {INFINITY, "+Inf"},
                 {-INFINITY, "-Inf"},
                 {NAN, "NaN"},
                 {123456789, "123456789"},
                 {1.0 / 3, "0.3333333333333333"}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        buf_t b;
        buf_init(&b, 16);
        metrics_format_value(&b, cases[i].v);
        cr_assert_str_eq(b.data, cases[i].want);
        buf_destroy(&b);
    }
}

typedef struct {
    metrics_counter_t *c;
    metrics_histogram_t *h;
    metrics_gauge_t *g;
} hot_t;

static void *hammer(void *arg)
{
    hot_t *x = arg;
    for (int i = 0; i < 100000; i++) {
        metrics_counter_inc(x->c);
        metrics_histogram_observe(x->h, (i % 4) * 0.5);
        metrics_gauge_add(x->g, 1);
    }
    return NULL;
}

Test(metrics, concurrent_updates_are_exact)
{
    metrics_t *m = metrics_new();
    const double b[] = {0.5, 1};
    hot_t x = {
        .c = metrics_counter(metrics_add_counter(m, "n", "N.", NULL), NULL),
        .h = metrics_histogram(metrics_add_histogram(m, "d", "D.", NULL, b, 2), NULL),
        .g = metrics_gauge(metrics_add_gauge(m, "g", "G.", NULL), NULL),
    };
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, hammer, &x);
    /* Scrape while they run: every rendering must stay cumulative. */
    for (int k = 0; k < 50; k++) {
        char *s = render(m);
        double b05 = sample(s, "d_bucket{le=\"0.5\"}"), b1 = sample(s, "d_bucket{le=\"1\"}"),
               inf = sample(s, "d_bucket{le=\"+Inf\"}");
        cr_assert(b05 <= b1 && b1 <= inf && inf == sample(s, "d_count"), "not cumulative:\n%s", s);
        free(s);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    cr_assert_eq(metrics_counter_value(x.c), 400000);
    cr_assert_eq(metrics_gauge_value(x.g), 400000.0);
    char *s = render(m);
    cr_assert_eq(sample(s, "d_bucket{le=\"0.5\"}"), 200000);
    cr_assert_eq(sample(s, "d_bucket{le=\"1\"}"), 300000);
    cr_assert_eq(sample(s, "d_count"), 400000);
    cr_assert_eq(sample(s, "d_sum"), 4 * 25000 * (0 + 0.5 + 1 + 1.5));
    free(s);
    metrics_free(m);
}

Test(procstat, process_metrics_are_plausible)
{
    metrics_t *m = metrics_new();
    cr_assert_eq(procstat_register(m), 0);
    cr_assert_eq(procstat_register(m), -EEXIST);
    char *t = render(m);
    assert_has(t, "# TYPE process_cpu_seconds_total counter\n");
    cr_assert_geq(sample(t, "process_threads"), 1);
    cr_assert_geq(sample(t, "process_open_fds"), 3, "stdin, stdout, stderr at least:\n%s", t);
    cr_assert_gt(sample(t, "process_max_fds"), sample(t, "process_open_fds"));
    cr_assert_gt(sample(t, "process_resident_memory_bytes"), 100000);
    cr_assert_geq(sample(t, "process_virtual_memory_bytes"),
                  sample(t, "process_resident_memory_bytes"));
    double start = sample(t, "process_start_time_seconds"), now = (double)time(NULL);
    cr_assert(start > now - 600 && start <= now + 1, "start time %.0f, now %.0f", start, now);
    free(t);
    metrics_free(m);
}

Test(procstat, heap_statistics_follow_allocations)
{
    procstat_heap_t a, b;
    cr_assert_eq(procstat_heap(&a), 0);
    char *p = malloc(8 << 20);
    memset(p, 1, 8 << 20);
    cr_assert_eq(procstat_heap(&b), 0);
    cr_assert_geq(b.inuse_bytes, a.inuse_bytes + (8 << 20), "%s: in use %llu -> %llu", b.source,
                  (unsigned long long)a.inuse_bytes, (unsigned long long)b.inuse_bytes);
    if (b.has_allocations)
        cr_assert_gt(b.allocations, a.allocations);
    free(p);
}
