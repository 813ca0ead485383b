/* lib/common/tseries: sampling thread, ring, JSON window. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <string.h>

#include "common/clock.h"
#include "common/tseries.h"

typedef struct {
    int calls;
    int64_t first_elapsed;
} counter_t;

/* Series: "n" = call number, "gap" = NAN on odd calls. */
static void sample(void *arg, int64_t elapsed_ns, double *row)
{
    counter_t *c = arg;
    if (c->calls == 0)
        c->first_elapsed = elapsed_ns;
    row[0] = c->calls;
    row[1] = c->calls % 2 ? NAN : 1.5;
    c->calls++;
}

static const tseries_def_t defs[] = {{"n", "calls", ""}, {"gap", "gappy", "ms"}};

static void wait_count(tseries_t *ts, uint64_t n)
{
    int64_t deadline = clock_mono_ns() + 10 * 1000000000LL;
    while (tseries_count(ts) < n) {
        cr_assert_lt(clock_mono_ns(), deadline, "only %llu samples after 10 s",
                     (unsigned long long)tseries_count(ts));
        clock_sleep_ns(2000000);
    }
}

static json_t *render(tseries_t *ts, uint64_t since)
{
    buf_t b;
    buf_init(&b, 1024);
    tseries_render(ts, since, "\"extra\":true", &b);
    json_error_t je;
    json_t *j = json_loads(b.data, 0, &je);
    cr_assert_not_null(j, "not JSON (%s): %s", je.text, b.data);
    buf_destroy(&b);
    return j;
}

Test(tseries, samples_render_and_since)
{
    counter_t c = {0};
    tseries_t *ts = tseries_new("prog", 100, 5000000, defs, 2, sample, &c);
    tseries_add_chart(ts, "Calls", "", (const char *const[]){"n", "nope", "gap", NULL});
    cr_assert(isnan(tseries_latest(ts, 0)), "no value before the first point");
    cr_assert_eq(tseries_start(ts), 0);
    wait_count(ts, 4);

    json_t *j = render(ts, 0);
    cr_assert_str_eq(json_string_value(json_object_get(j, "title")), "prog");
    cr_assert_eq(json_integer_value(json_object_get(j, "interval_ms")), 5);
    cr_assert(json_is_true(json_object_get(j, "extra")));
    json_t *series = json_object_get(j, "series");
    cr_assert_eq(json_array_size(series), 2);
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(series, 1), "unit")), "ms");
    json_t *chart = json_array_get(json_object_get(j, "charts"), 0);
    cr_assert_eq(json_array_size(json_object_get(chart, "series")), 2, "unknown names skipped");
    size_t n = json_array_size(json_object_get(j, "t"));
    cr_assert_geq(n, 4);
    json_t *values = json_object_get(j, "values");
    json_t *col0 = json_array_get(values, 0), *col1 = json_array_get(values, 1);
    cr_assert_eq(json_array_size(col0), n);
    cr_assert_eq(json_array_size(col1), n);
    /* The baseline call (0) is discarded: the first point is call 1. */
    cr_assert_eq(json_number_value(json_array_get(col0, 0)), 1.0);
    cr_assert(json_is_null(json_array_get(col1, 0)), "NAN is written as null");
    cr_assert_eq(json_number_value(json_array_get(col1, 1)), 1.5);
    long long next = json_integer_value(json_object_get(j, "next"));
    cr_assert_geq(next, (long long)n);
    json_decref(j);

    /* since = next: no old points, no metadata. */
    j = render(ts, (uint64_t)next);
    cr_assert_null(json_object_get(j, "series"));
    cr_assert_null(json_object_get(j, "charts"));
    cr_assert_eq(json_integer_value(json_object_get(j, "first")), next);
    size_t newer = json_array_size(json_object_get(j, "t"));
    cr_assert_eq(json_array_size(json_array_get(json_object_get(j, "values"), 0)), newer);
    json_decref(j);
    tseries_free(ts);
    cr_assert_eq(c.first_elapsed, 0, "the baseline call has elapsed 0");
}

Test(tseries, ring_keeps_the_last_capacity_points)
{
    counter_t c = {0};
    tseries_t *ts = tseries_new("ring", 4, 2000000, defs, 2, sample, &c);
    cr_assert_eq(tseries_start(ts), 0);
    wait_count(ts, 10);
    json_t *j = render(ts, 0);
    json_t *t = json_object_get(j, "t");
    cr_assert_eq(json_array_size(t), 4);
    long long first = json_integer_value(json_object_get(j, "first"));
    long long next = json_integer_value(json_object_get(j, "next"));
    cr_assert_eq(next - first, 4);
    json_t *col0 = json_array_get(json_object_get(j, "values"), 0);
    /* Point k is call k + 1; consecutive and increasing times. */
    for (size_t i = 0; i < 4; i++) {
        cr_assert_eq(json_number_value(json_array_get(col0, i)),
                     (double)(first + (long long)i + 1));
        if (i)
            cr_assert_geq(json_number_value(json_array_get(t, i)),
                          json_number_value(json_array_get(t, i - 1)));
    }
    json_decref(j);
    /* A since older than the window gives the window. */
    j = render(ts, 1);
    cr_assert_eq(json_array_size(json_object_get(j, "t")), 4);
    json_decref(j);
    tseries_free(ts);
}

Test(tseries, free_without_start_and_prompt_stop)
{
    counter_t c = {0};
    tseries_free(tseries_new("idle", 10, 1000000000, defs, 2, sample, &c));
    cr_assert_eq(c.calls, 0);
    /* A 1 h interval: free must not wait for it. */
    tseries_t *ts = tseries_new("slow", 10, 3600LL * 1000000000, defs, 2, sample, &c);
    cr_assert_eq(tseries_start(ts), 0);
    int64_t t0 = clock_mono_ns();
    tseries_free(ts);
    cr_assert_lt(clock_mono_ns() - t0, 5 * 1000000000LL, "tseries_free waited for the interval");
    tseries_free(NULL);
}

Test(tseries, launch_with_charts_and_render_without_a_sampler)
{
    counter_t c = {0};
    const tseries_chart_t charts[] = {
        {"Calls", "", (const char *const[]){"n", NULL}},
        {"Gaps", "ms", (const char *const[]){"gap", NULL}},
        {0},
    };
    tseries_t *ts = NULL;
    cr_assert_eq(tseries_launch(&ts, "launched", 10, 3600LL * 1000000000, defs, 2, sample, &c,
                                charts),
                 0);
    cr_assert_not_null(ts);
    buf_t b;
    buf_init(&b, 256);
    tseries_render(ts, 0, NULL, &b);
    json_error_t e;
    json_t *j = json_loads(b.data, 0, &e);
    cr_assert_not_null(j, "%s: %s", e.text, b.data);
    cr_assert_eq(json_array_size(json_object_get(j, "charts")), 2, "%s", b.data);
    json_decref(j);
    tseries_free(ts);

    buf_reset(&b);
    tseries_render(NULL, 0, NULL, &b);
    cr_assert_str_eq(b.data, "{\"error\":\"the live sampler is not running\"}");
    buf_destroy(&b);
}

Test(tseries, parse_since_and_rate)
{
    cr_assert_eq(tseries_parse_since(NULL), 0);
    cr_assert_eq(tseries_parse_since(""), 0);
    cr_assert_eq(tseries_parse_since("42"), 42);
    cr_assert_eq(tseries_parse_since("-1"), 0, "a negative number is invalid");
    cr_assert_eq(tseries_parse_since("12x"), 0);
    cr_assert_eq(tseries_parse_since("99999999999999999999999"), 0, "overflow is invalid");
    uint64_t prev = 0;
    cr_assert(isnan(tseries_rate(100, &prev, 0)), "the baseline has no rate");
    cr_assert_eq(prev, 100);
    cr_assert_float_eq(tseries_rate(300, &prev, 2.0), 100.0, 1e-9);
    cr_assert(isnan(tseries_rate(50, &prev, 1.0)), "a counter that went back has no rate");
    cr_assert_eq(prev, 50);
}
