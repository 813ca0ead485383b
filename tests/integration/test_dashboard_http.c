/* The dashboard over HTTP on the real orderd: GET / and the embedded assets
 * with their content types and validators, speedscope at /debug/pprof/ui/,
 * and /api/live's rolling window (full, then incremental with ?since=).
 * The browser side is tests/e2e/test_dashboard.sh. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "harness.h"

static pid_t running_pid;
static void kill_leftover(void)
{
    if (running_pid > 0)
        kill(running_pid, SIGKILL);
    running_pid = 0;
}
TestSuite(dashboard_http, .fini = kill_leftover);

static server_t *start(const char *const *args)
{
    server_t *s = server_start(args);
    running_pid = s->pid;
    return s;
}

static void stop(server_t *s)
{
    cr_assert_eq(server_stop(s, SIGTERM, 30), 0, "orderd did not exit cleanly");
    running_pid = 0;
}

static void expect_asset(const char *base, const char *path, const char *type)
{
    http_resp_t r = http_get(harness_fmt("%s%s", base, path));
    cr_assert_eq(r.status, 200, "GET %s: %ld", path, r.status);
    char *ct = http_header(&r, "Content-Type");
    cr_assert(ct && strcmp(ct, type) == 0, "GET %s: Content-Type %s, want %s", path, ct, type);
    cr_assert_gt(r.len, 0, "GET %s: empty body", path);
    free(ct);
    http_free(&r);
}

static json_t *live(const char *base, const char *query)
{
    http_resp_t r = http_get(harness_fmt("%s/api/live%s", base, query));
    cr_assert_eq(r.status, 200, "/api/live%s: %ld %s", query, r.status, r.body);
    json_error_t je;
    json_t *j = json_loads(r.body, 0, &je);
    cr_assert_not_null(j, "/api/live is not JSON (%s): %s", je.text, r.body);
    http_free(&r);
    return j;
}

Test(dashboard_http, pages_and_assets)
{
    server_t *s = start(NULL);
    http_resp_t r = http_get(harness_fmt("%s/", s->base));
    cr_assert_eq(r.status, 200);
    cr_assert(strstr(r.body, "/ui/dashboard.js") && strstr(r.body, "/ui/uplot/uPlot.iife.min.js"),
              "the dashboard page: %s", r.body);
    char *etag = http_header(&r, "ETag");
    cr_assert_not_null(etag);
    http_free(&r);

    /* A matching validator: 304 with no body. */
    char inm[128];
    snprintf(inm, sizeof(inm), "If-None-Match: %s", etag);
    r = http_do("GET", harness_fmt("%s/", s->base), NULL, 0, (const char *const[]){inm, NULL});
    cr_assert_eq(r.status, 304, "If-None-Match: %ld", r.status);
    http_free(&r);
    free(etag);

    expect_asset(s->base, "/ui/dashboard.js", "text/javascript; charset=utf-8");
    expect_asset(s->base, "/ui/dashboard.css", "text/css; charset=utf-8");
    expect_asset(s->base, "/ui/uplot/uPlot.min.css", "text/css; charset=utf-8");
    expect_asset(s->base, "/debug/pprof/ui/", "text/html; charset=utf-8");

    /* Every file speedscope's page loads is served with a proper type. */
    r = http_get(harness_fmt("%s/debug/pprof/ui/index.html", s->base));
    cr_assert_eq(r.status, 200);
    int seen = 0;
    for (char *p = r.body; (p = strstr(p, "=\"")) != NULL; p += 2) {
        char name[160];
        bool ref = (p - r.body >= 3 && strncmp(p - 3, "src", 3) == 0) ||
                   (p - r.body >= 4 && strncmp(p - 4, "href", 4) == 0);
        if (!ref || sscanf(p + 2, "%159[^\"]", name) != 1 || strchr(name, ':'))
            continue;
        http_resp_t a = http_get(harness_fmt("%s/debug/pprof/ui/%s", s->base, name));
        cr_assert_eq(a.status, 200, "speedscope asset %s: %ld", name, a.status);
        char *ct = http_header(&a, "Content-Type");
        cr_assert(ct && strcmp(ct, "application/octet-stream") != 0, "%s: type %s", name, ct);
        free(ct);
        http_free(&a);
        seen++;
    }
    cr_assert_geq(seen, 3, "speedscope's index names its script, css and icons");
    http_free(&r);

    r = http_get(harness_fmt("%s/debug/pprof/ui", s->base));
    cr_assert_eq(r.status, 301);
    char *loc = http_header(&r, "Location");
    cr_assert(loc && strcmp(loc, "/debug/pprof/ui/") == 0, "Location %s", loc);
    free(loc);
    http_free(&r);

    r = http_get(harness_fmt("%s/ui/missing.js", s->base));
    cr_assert_eq(r.status, 404);
    http_free(&r);
    r = http_do("POST", harness_fmt("%s/", s->base), "x", 1, NULL);
    cr_assert_eq(r.status, 405);
    http_free(&r);
    stop(s);
}

Test(dashboard_http, live_window)
{
    server_t *s = start(NULL);
    /* Two samples (one per second) with orders in between. */
    for (int i = 0; i < 5; i++) {
        http_resp_t r = http_post_json(
            harness_fmt("%s/orders", s->base),
            "{\"customer\":\"c\",\"amount\":5,\"items\":[\"i\"],\"address\":\"a\",\"priority\":1}");
        cr_assert_eq(r.status, 201, "POST /orders: %ld %s", r.status, r.body);
        http_free(&r);
    }
    json_t *j = NULL;
    int64_t deadline = clock_mono_ns() + 15 * 1000000000LL;
    for (;;) {
        j = live(s->base, "");
        if (json_integer_value(json_object_get(j, "next")) >= 2)
            break;
        json_decref(j);
        cr_assert_lt(clock_mono_ns(), deadline, "/api/live has no 2 samples after 15 s");
        clock_sleep_ns(100000000);
    }
    cr_assert_str_eq(json_string_value(json_object_get(j, "title")), "orderd");
    cr_assert(json_is_true(json_object_get(j, "profiling")), "loopback API listener profiles");
    cr_assert_geq(json_array_size(json_object_get(j, "charts")), 7);
    json_t *series = json_object_get(j, "series");
    json_t *values = json_object_get(j, "values");
    size_t npts = json_array_size(json_object_get(j, "t"));
    cr_assert_eq(json_array_size(values), json_array_size(series));
    double accepted_total = -1, threads = -1;
    for (size_t i = 0; i < json_array_size(series); i++) {
        const char *name = json_string_value(json_object_get(json_array_get(series, i), "name"));
        json_t *col = json_array_get(values, i);
        cr_assert_eq(json_array_size(col), npts, "column %s", name);
        json_t *last = json_array_get(col, npts - 1);
        if (strcmp(name, "accepted_total") == 0)
            accepted_total = json_number_value(last);
        if (strcmp(name, "threads") == 0)
            threads = json_number_value(last);
    }
    cr_assert_eq(accepted_total, 5.0, "accepted_total: %g", accepted_total);
    cr_assert_geq(threads, 10.0, "threads: %g", threads);

    /* Incremental: only points from next on, no metadata. */
    long long next = json_integer_value(json_object_get(j, "next"));
    json_decref(j);
    j = live(s->base, harness_fmt("?since=%lld", next));
    cr_assert_null(json_object_get(j, "series"));
    cr_assert_geq(json_integer_value(json_object_get(j, "first")), next);
    json_decref(j);
    /* A bad since means everything. */
    j = live(s->base, "?since=abc");
    cr_assert_not_null(json_object_get(j, "series"));
    json_decref(j);
    stop(s);
}

Test(dashboard_http, admin_listener_serves_the_dashboard)
{
    server_t *s = start((const char *[]){"--admin-listen", "127.0.0.1:0", NULL});
    http_resp_t r = http_get(harness_fmt("%s/", s->admin_base));
    cr_assert_eq(r.status, 200);
    http_free(&r);
    json_t *j = live(s->admin_base, "");
    cr_assert(json_is_true(json_object_get(j, "profiling")));
    json_decref(j);
    stop(s);
}
