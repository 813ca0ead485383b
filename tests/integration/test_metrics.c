/* GET /metrics on the real orderd: the exposition is well-formed Prometheus
 * text 0.0.4, and its counters and histograms agree with /stats. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <regex.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"

static json_t *get_json(const char *url)
{
    http_resp_t r = http_get(url);
    json_error_t je;
    json_t *j = json_loads(r.body, 0, &je);
    cr_assert_not_null(j, "%s: not JSON: %s", url, r.body);
    http_free(&r);
    return j;
}

static long long jint(json_t *j, const char *path)
{
    /* "a.b.c" */
    char buf[128];
    snprintf(buf, sizeof(buf), "%s", path);
    json_t *v = j;
    for (char *save = NULL, *k = strtok_r(buf, ".", &save); k; k = strtok_r(NULL, ".", &save))
        v = json_object_get(v, k);
    cr_assert(json_is_integer(v), "/stats has no integer %s", path);
    return json_integer_value(v);
}

static void post(server_t *s, const char *id, int priority, long want)
{
    char body[256];
    snprintf(body, sizeof(body),
             "{\"id\":\"%s\",\"customer\":\"c\",\"amount\":5,\"items\":[\"i\"],"
             "\"address\":\"a\",\"priority\":%d}",
             id, priority);
    http_resp_t r = http_post_json(harness_fmt("%s/orders", s->base), body);
    cr_assert_eq(r.status, want, "POST %s: expected %ld, got %ld: %s", id, want, r.status, r.body);
    http_free(&r);
}

static char *scrape(const char *base)
{
    http_resp_t r = http_get(harness_fmt("%s/metrics", base));
    cr_assert_eq(r.status, 200, "GET /metrics: %ld %s", r.status, r.body);
    char *ct = http_header(&r, "Content-Type");
    cr_assert_not_null(ct);
    cr_assert(strncmp(ct, "text/plain; version=0.0.4", 25) == 0, "Content-Type: %s", ct);
    free(ct);
    char *body = r.body;
    r.body = NULL;
    http_free(&r);
    return body;
}

/* Value of the sample whose name+labels is exactly key; fails if absent. */
static double sample(const char *text, const char *key)
{
    size_t k = strlen(key);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : p)
        if (strncmp(p, key, k) == 0 && p[k] == ' ')
            return strtod(p + k + 1, NULL);
    cr_assert_fail("no sample %s in /metrics", key);
    return 0;
}

/* Checks the grammar of every line and the HELP/TYPE rules: one TYPE per
 * family, before its samples; every sample belongs to a typed family;
 * counters end in _total. */
static void check_exposition(const char *text)
{
    regex_t sample_re, help_re, type_re;
    cr_assert_eq(regcomp(&sample_re,
                         "^([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{([a-zA-Z_][a-zA-Z0-9_]*=\"([^\"\\\\]|"
                         "\\\\.)*\",?)*\\})? (-?[0-9.e+-]+|\\+Inf|-Inf|NaN)$",
                         REG_EXTENDED),
                 0);
    cr_assert_eq(regcomp(&help_re, "^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .*$", REG_EXTENDED), 0);
    cr_assert_eq(regcomp(&type_re, "^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram)$",
                         REG_EXTENDED),
                 0);
    char *copy = strdup(text), *save = NULL;
    char types[128][96];
    char kinds[128][16];
    int ntypes = 0, lines = 0;
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        regmatch_t m[3];
        lines++;
        if (strncmp(line, "# TYPE", 6) == 0) {
            cr_assert_eq(regexec(&type_re, line, 3, m, 0), 0, "bad TYPE line: %s", line);
            char name[96];
            snprintf(name, sizeof(name), "%.*s", (int)(m[1].rm_eo - m[1].rm_so), line + m[1].rm_so);
            for (int i = 0; i < ntypes; i++)
                cr_assert_str_neq(types[i], name, "TYPE %s twice", name);
            cr_assert_lt(ntypes, 128);
            snprintf(types[ntypes], sizeof(types[0]), "%s", name);
            snprintf(kinds[ntypes], sizeof(kinds[0]), "%.*s", (int)(m[2].rm_eo - m[2].rm_so),
                     line + m[2].rm_so);
            if (strcmp(kinds[ntypes], "counter") == 0)
                cr_assert(strstr(name, "_total") == name + strlen(name) - 6,
                          "counter %s lacks _total", name);
            ntypes++;
            continue;
        }
        if (line[0] == '#') {
            cr_assert_eq(regexec(&help_re, line, 0, NULL, 0), 0, "bad comment line: %s", line);
            continue;
        }
        cr_assert_eq(regexec(&sample_re, line, 2, m, 0), 0, "bad sample line: %s", line);
        char name[96];
        snprintf(name, sizeof(name), "%.*s", (int)(m[1].rm_eo - m[1].rm_so), line + m[1].rm_so);
        bool typed = false;
        for (int i = 0; i < ntypes && !typed; i++) {
            size_t n = strlen(types[i]);
            if (strcmp(name, types[i]) == 0)
                typed = true;
            else if (strcmp(kinds[i], "histogram") == 0 && strncmp(name, types[i], n) == 0 &&
                     (!strcmp(name + n, "_bucket") || !strcmp(name + n, "_sum") ||
                      !strcmp(name + n, "_count")))
                typed = true;
        }
        cr_assert(typed, "sample before (or without) its TYPE: %s", line);
    }
    cr_assert_gt(lines, 50, "suspiciously short exposition:\n%s", text);
    free(copy);
    regfree(&sample_re);
    regfree(&help_re);
    regfree(&type_re);
}

/* For one histogram series (labels like `priority="1"` or ""): buckets are
 * cumulative, end in +Inf, and +Inf == _count. Returns _count. */
static double check_histogram(const char *text, const char *name, const char *labels)
{
    char key[256], prefix[256];
    snprintf(prefix, sizeof(prefix), "%s_bucket{%s%sle=\"", name, labels, *labels ? "," : "");
    double prev = -1, last = -1;
    int buckets = 0;
    bool inf = false;
    for (const char *p = text; (p = strstr(p, prefix)); p++) {
        if (p != text && p[-1] != '\n')
            continue;
        const char *v = strchr(p, ' ');
        double n = strtod(v + 1, NULL);
        cr_assert_geq(n, prev, "%s{%s}: bucket counts go down", name, labels);
        prev = last = n;
        buckets++;
        inf = strncmp(p + strlen(prefix), "+Inf\"", 5) == 0;
    }
    cr_assert_gt(buckets, 5, "%s{%s}: %d buckets", name, labels, buckets);
    cr_assert(inf, "%s{%s}: the last bucket is not +Inf", name, labels);
    snprintf(key, sizeof(key), *labels ? "%s_count{%s}" : "%s_count%s", name, labels);
    double count = sample(text, key);
    cr_assert_eq(count, last, "%s: +Inf bucket %.0f != _count %.0f", key, last, count);
    snprintf(key, sizeof(key), *labels ? "%s_sum{%s}" : "%s_sum%s", name, labels);
    cr_assert_geq(sample(text, key), 0);
    return count;
}

Test(metrics, exposition_agrees_with_stats)
{
    server_t *s = server_start((const char *[]){"--work-ms", "1", NULL});
    int want[3] = {5, 3, 2};
    char id[32];
    for (int p = 0; p < 3; p++)
        for (int i = 0; i < want[p]; i++) {
            snprintf(id, sizeof(id), "m-%d-%d", p + 1, i);
            post(s, id, p + 1, 201);
        }
    post(s, "m-1-0", 1, 409); /* duplicate */
    http_resp_t r = http_post_json(harness_fmt("%s/orders", s->base), "{\"id\":");
    cr_assert_eq(r.status, 400);
    http_free(&r);

    json_t *st = NULL;
    for (int i = 0; i < 3000; i++) {
        st = get_json(harness_fmt("%s/stats", s->base));
        if (jint(st, "total_processed") >= 10)
            break;
        json_decref(st);
        st = NULL;
        harness_sleep_ms(10);
    }
    cr_assert_not_null(st, "orders not processed after 30 s");
    char *m = scrape(s->base);
    check_exposition(m);

    for (int p = 1; p <= 3; p++) {
        char key[128], path[64];
        snprintf(key, sizeof(key), "orderd_orders_accepted_total{priority=\"%d\"}", p);
        snprintf(path, sizeof(path), "by_priority.%d.accepted", p);
        cr_assert_eq(sample(m, key), (double)jint(st, path), "%s", key);
        cr_assert_eq(sample(m, key), want[p - 1]);
        snprintf(key, sizeof(key),
                 "orderd_orders_processed_total{priority=\"%d\",outcome=\"success\"}", p);
        snprintf(path, sizeof(path), "by_priority.%d.success", p);
        double ok = sample(m, key);
        cr_assert_eq(ok, (double)jint(st, path), "%s", key);
        snprintf(key, sizeof(key),
                 "orderd_orders_processed_total{priority=\"%d\",outcome=\"error\"}", p);
        snprintf(path, sizeof(path), "by_priority.%d.error", p);
        cr_assert_eq(sample(m, key), (double)jint(st, path), "%s", key);
        cr_assert_eq(ok + sample(m, key), want[p - 1]);

        char labels[32];
        snprintf(labels, sizeof(labels), "priority=\"%d\"", p);
        cr_assert_eq(check_histogram(m, "orderd_order_latency_seconds", labels), want[p - 1]);
        cr_assert_eq(check_histogram(m, "orderd_queue_wait_seconds", labels), want[p - 1]);
        cr_assert_eq(check_histogram(m, "orderd_processing_seconds", labels), want[p - 1]);
        snprintf(key, sizeof(key), "orderd_queue_depth{priority=\"%d\"}", p);
        cr_assert_eq(sample(m, key), 0);
    }
    cr_assert_eq(check_histogram(m, "orderd_result_handoff_seconds", ""), 10);
    cr_assert_eq(sample(m, "orderd_orders_rejected_total{reason=\"duplicate\"}"),
                 (double)jint(st, "rejected_by_reason.duplicate"));
    cr_assert_eq(sample(m, "orderd_orders_rejected_total{reason=\"duplicate\"}"), 1);
    cr_assert_eq(sample(m, "orderd_orders_rejected_total{reason=\"invalid\"}"), 1);
    cr_assert_eq(sample(m, "orderd_queue_capacity"), (double)jint(st, "queue_capacity"));
    cr_assert_eq(sample(m, "orderd_workers"), 10);
    cr_assert_geq(sample(m, "process_threads"), 10 + 1, "10 workers at least");
    cr_assert_gt(sample(m, "process_open_fds"), 2);
    cr_assert_gt(sample(m, "process_resident_memory_bytes"), 1 << 20);
    cr_assert_gt(sample(m, "process_cpu_seconds_total"), 0);
    cr_assert_gt(sample(m, "orderd_heap_inuse_bytes"), 0);
    for (int i = 0; i < 4; i++) {
        static const char *const res[] = {"heap", "rss", "threads", "fds"};
        char key[96];
        snprintf(key, sizeof(key), "orderd_leak_suspected{resource=\"%s\"}", res[i]);
        cr_assert_eq(sample(m, key), 0, "%s", key);
    }
    free(m);

    /* The accepted counters are counters: they only go up. */
    post(s, "m-late", 2, 201);
    m = scrape(s->base);
    cr_assert_eq(sample(m, "orderd_orders_accepted_total{priority=\"2\"}"), 4);
    free(m);
    json_decref(st);

    r = http_do("POST", harness_fmt("%s/metrics", s->base), "", 0, NULL);
    cr_assert_eq(r.status, 405);
    http_free(&r);
    cr_assert_eq(server_stop(s, SIGTERM, 30), 0);
}

Test(metrics, served_on_the_admin_listener)
{
    server_t *s = server_start((const char *[]){"--admin-listen", "127.0.0.1:0", NULL});
    cr_assert_gt(s->admin_port, 0);
    char *m = scrape(s->admin_base);
    check_exposition(m);
    cr_assert_eq(sample(m, "orderd_orders_accepted_total{priority=\"1\"}"), 0);
    free(m);
    char *err = server_stderr(s);
    cr_assert_null(strstr(err, "WARN"), "a clean start logs no warning:\n%s", err);
    free(err);
    cr_assert_eq(server_stop(s, SIGTERM, 30), 0);
}
