/* The leak watch on the real orderd: a deliberate leak (--debug-leak) raises
 * orderd_leak_suspected{resource}, one warning and a /health detail; a
 * healthy idle server raises nothing; stopping is prompt whatever the
 * interval. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"

static double metric(server_t *s, const char *key)
{
    http_resp_t r = http_get(harness_fmt("%s/metrics", s->base));
    cr_assert_eq(r.status, 200);
    size_t k = strlen(key);
    double v = -1;
    for (const char *p = r.body; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : p)
        if (strncmp(p, key, k) == 0 && p[k] == ' ') {
            v = strtod(p + k + 1, NULL);
            break;
        }
    http_free(&r);
    cr_assert_geq(v, 0, "no sample %s in /metrics", key);
    return v;
}

/* Static storage: one key per resource. */
static const char *suspect_key(const char *resource)
{
    static char keys[4][64];
    static const char *const res[] = {"heap", "rss", "threads", "fds"};
    for (int i = 0; i < 4; i++)
        if (strcmp(resource, res[i]) == 0) {
            snprintf(keys[i], sizeof(keys[i]), "orderd_leak_suspected{resource=\"%s\"}", res[i]);
            return keys[i];
        }
    harness_fail("unknown resource %s", resource);
}

/* Polls until the metric reaches want (20 s deadline). */
static void wait_metric(server_t *s, const char *key, double want)
{
    for (int i = 0; i < 2000; i++) {
        if (metric(s, key) >= want)
            return;
        harness_sleep_ms(10);
    }
    harness_fail("%s did not reach %g within 20 s", key, want);
}

/* The "checks.leaks" field of /health. */
static char *health_leaks(server_t *s)
{
    http_resp_t r = http_get(harness_fmt("%s/health", s->base));
    json_error_t je;
    json_t *j = json_loads(r.body, 0, &je);
    cr_assert_not_null(j, "/health: not JSON: %s", r.body);
    const char *v = json_string_value(json_object_get(json_object_get(j, "checks"), "leaks"));
    cr_assert_not_null(v, "/health has no checks.leaks: %s", r.body);
    char *out = strdup(v);
    json_decref(j);
    http_free(&r);
    return out;
}

static int count_lines(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

Test(leakwatch, debug_leak_threads_is_detected)
{
    server_t *s = server_start((const char *[]){"--debug-leak", "threads", "--leak-interval",
                                                "200ms", "--leak-window", "6", NULL});
    double threads0 = metric(s, "process_threads");
    wait_metric(s, suspect_key("threads"), 1);
    cr_assert_gt(metric(s, "process_threads"), threads0, "the parked threads are visible");
    char *leaks = health_leaks(s);
    cr_assert(strstr(leaks, "suspected") && strstr(leaks, "threads"), "/health checks.leaks: %s",
              leaks);
    free(leaks);
    cr_assert_eq(metric(s, suspect_key("fds")), 0);
    /* Several more samples: the warning is logged once, not per sample. */
    double n = metric(s, "orderd_leak_watch_samples_total");
    wait_metric(s, "orderd_leak_watch_samples_total", n + 5);
    char *err = server_stderr(s);
    cr_assert_eq(count_lines(err, "threads grew from"), 1, "one warning expected:\n%s", err);
    cr_assert(strstr(err, "--debug-leak threads"), "the deliberate leak is announced");
    free(err);
    cr_assert_eq(server_stop(s, SIGTERM, 30), 0, "parked threads do not block the exit");
}

Test(leakwatch, debug_leak_heap_is_detected)
{
    server_t *s =
        server_start((const char *[]){"--debug-leak", "heap", "--leak-interval", "200ms", NULL});
    double heap0 = metric(s, "orderd_heap_inuse_bytes");
    wait_metric(s, suspect_key("heap"), 1);
    cr_assert_geq(metric(s, "orderd_heap_inuse_bytes"), heap0 + 5 * (1 << 20),
                  "1 MiB per sample over a window of 6");
    char *leaks = health_leaks(s);
    cr_assert(strstr(leaks, "heap"), "/health checks.leaks: %s", leaks);
    free(leaks);
    cr_assert_eq(metric(s, suspect_key("threads")), 0);
    cr_assert_eq(server_stop(s, SIGTERM, 30), 0);
}

Test(leakwatch, healthy_server_raises_nothing)
{
    server_t *s = server_start(
        (const char *[]){"--leak-interval", "100ms", "--leak-window", "4", "--work-ms", "1", NULL});
    /* Some traffic while the watch samples several full windows. */
    for (int i = 0; i < 30; i++) {
        char body[200];
        snprintf(body, sizeof(body),
                 "{\"id\":\"h-%d\",\"customer\":\"c\",\"amount\":5,\"items\":[\"i\"],"
                 "\"address\":\"a\",\"priority\":%d}",
                 i, 1 + i % 3);
        http_resp_t r = http_post_json(harness_fmt("%s/orders", s->base), body);
        cr_assert_eq(r.status, 201);
        http_free(&r);
        if (i % 10 == 0)
            harness_sleep_ms(50);
    }
    double n = metric(s, "orderd_leak_watch_samples_total");
    wait_metric(s, "orderd_leak_watch_samples_total", n + 12);
    static const char *const res[] = {"heap", "rss", "threads", "fds"};
    for (int i = 0; i < 4; i++)
        cr_assert_eq(metric(s, suspect_key(res[i])), 0, "%s suspected on a healthy server", res[i]);
    char *leaks = health_leaks(s);
    cr_assert_str_eq(leaks, "ok");
    free(leaks);
    char *err = server_stderr(s);
    cr_assert_null(strstr(err, "leak watch:"), "unexpected leak warning:\n%s", err);
    free(err);
    cr_assert_eq(server_stop(s, SIGTERM, 30), 0);
}

Test(leakwatch, stop_is_prompt_with_a_long_interval)
{
    server_t *s = server_start((const char *[]){"--leak-interval", "1h", NULL});
    wait_metric(s, "orderd_leak_watch_samples_total", 1);
    /* SIGTERM must not wait for the hour to pass. */
    cr_assert_eq(server_stop(s, SIGTERM, 10), 0);
}

Test(leakwatch, bad_flags_are_refused)
{
    server_t *s = server_spawn((const char *[]){"orderd", "--debug-leak", "files", NULL}, NULL);
    cr_assert_eq(server_wait(s, 10), 2);
    s = server_spawn((const char *[]){"orderd", "--leak-window", "1", NULL}, NULL);
    cr_assert_eq(server_wait(s, 10), 2);
}
