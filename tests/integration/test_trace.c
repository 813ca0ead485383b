/* Execution trace of a loaded orderd: valid Chrome Trace Event JSON, spans
 * that nest per thread, every worker named, flows from the accepting HTTP
 * thread to the worker for every order processed in the window, queue
 * depth counters; one trace at a time. */

#include <criterion/criterion.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

typedef struct span {
    int64_t tid;
    double ts, end;
} span_t;

static int by_tid_ts(const void *a, const void *b)
{
    const span_t *x = a, *y = b;
    if (x->tid != y->tid)
        return x->tid < y->tid ? -1 : 1;
    if (x->ts != y->ts)
        return x->ts < y->ts ? -1 : 1;
    return x->end > y->end ? -1 : x->end < y->end; /* parent (longer) first */
}

static const char *str(json_t *e, const char *k)
{
    const char *s = json_string_value(json_object_get(e, k));
    return s ? s : "";
}

/* Spans of one thread must nest: each is inside the innermost open one,
 * or starts after it ended. */
static void check_nesting(span_t *sp, size_t n)
{
    qsort(sp, n, sizeof(*sp), by_tid_ts);
    span_t *stack[64];
    int depth = 0;
    for (size_t i = 0; i < n; i++) {
        if (i && sp[i].tid != sp[i - 1].tid)
            depth = 0;
        while (depth && sp[i].ts >= stack[depth - 1]->end)
            depth--;
        if (depth)
            cr_assert(sp[i].end <= stack[depth - 1]->end,
                      "tid %lld: span [%.3f, %.3f] overlaps [%.3f, %.3f] without nesting",
                      (long long)sp[i].tid, sp[i].ts, sp[i].end, stack[depth - 1]->ts,
                      stack[depth - 1]->end);
        cr_assert_lt(depth, 64);
        stack[depth++] = &sp[i];
    }
}

Test(trace, orderd_under_load)
{
    /* --work none: the workers keep up, so the orders accepted in the
     * window are processed in it, except the few in flight at its end. */
    static const char *const args[] = {"--workers",      "4", "--work", "none",
                                       "--http-threads", "2", NULL};
    server_t *s = server_start(args);
    http_load_t l;
    http_load_start(&l, s->base);

    http_resp_t r = http_get(harness_fmt("%s/debug/pprof/trace?seconds=1", s->base));
    http_load_stop(&l);
    cr_assert_eq(r.status, 200, "status %ld: %.200s", r.status, r.body);
    cr_assert_eq(l.bad, 0, "%d orders failed while tracing", l.bad);

    json_error_t je;
    json_t *root = json_loadb(r.body, r.len, 0, &je);
    cr_assert(root, "invalid JSON at line %d: %s", je.line, je.text);
    http_free(&r);
    json_t *ev = json_object_get(root, "traceEvents");
    cr_assert(json_is_array(ev));
    size_t n = json_array_size(ev), i;
    cr_assert_gt(n, 100, "a loaded orderd should produce events (%zu)", n);

    /* Thread names. */
    json_t *names = json_object();
    json_t *e;
    json_array_foreach(ev, i, e)
    {
        if (strcmp(str(e, "ph"), "M") == 0 && strcmp(str(e, "name"), "thread_name") == 0) {
            char k[32];
            snprintf(k, sizeof(k), "%lld", json_integer_value(json_object_get(e, "tid")));
            json_object_set(names, k, json_object_get(json_object_get(e, "args"), "name"));
        }
    }
    for (int w = 1; w <= 4; w++) {
        char want[16];
        snprintf(want, sizeof(want), "worker-%d", w);
        bool found = false;
        const char *k;
        json_t *v;
        json_object_foreach(names, k, v) found |= strcmp(json_string_value(v), want) == 0;
        cr_assert(found, "%s has no thread_name event", want);
    }

    /* Spans, flows, counters. */
    span_t *sp = calloc(n, sizeof(*sp));
    size_t nsp = 0;
    json_t *starts = json_object(); /* flow id -> tid of the start */
    int processed = 0, counters = 0, posts = 0;
    json_array_foreach(ev, i, e)
    {
        const char *ph = str(e, "ph");
        int64_t tid = json_integer_value(json_object_get(e, "tid"));
        double ts = json_number_value(json_object_get(e, "ts"));
        if (strcmp(ph, "X") == 0) {
            sp[nsp++] = (span_t){tid, ts, ts + json_number_value(json_object_get(e, "dur"))};
            processed += strcmp(str(e, "name"), "process order") == 0;
            posts += strcmp(str(e, "name"), "POST /orders") == 0;
        } else if (strcmp(ph, "s") == 0) {
            char k[32];
            snprintf(k, sizeof(k), "%lld", json_integer_value(json_object_get(e, "id")));
            json_object_set_new(starts, k, json_integer(tid));
        } else if (strcmp(ph, "C") == 0 && strcmp(str(e, "name"), "queue depth") == 0) {
            json_t *a = json_object_get(e, "args");
            cr_assert(json_is_integer(json_object_get(a, "p1")) &&
                      json_is_integer(json_object_get(a, "p3")));
            counters++;
        }
    }
    check_nesting(sp, nsp);
    cr_assert_gt(posts, 0, "no POST /orders spans");
    cr_assert_gt(counters, 0, "no queue depth counters");

    /* Every flow end (on a worker, inside its process span) has its start
     * on an HTTP thread; every processed order accepted in the window has
     * a flow end (the starts without an end are the orders still queued or
     * in flight at the end: at most the queue plus one per worker). */
    int ends = 0;
    json_array_foreach(ev, i, e)
    {
        if (strcmp(str(e, "ph"), "f") != 0)
            continue;
        ends++;
        char k[32];
        snprintf(k, sizeof(k), "%lld", json_integer_value(json_object_get(e, "id")));
        json_t *from = json_object_get(starts, k);
        cr_assert(from, "flow %s ends without a start", k);
        char tk[32], fk[32];
        snprintf(tk, sizeof(tk), "%lld", json_integer_value(json_object_get(e, "tid")));
        snprintf(fk, sizeof(fk), "%lld", json_integer_value(from));
        const char *to_name = json_string_value(json_object_get(names, tk));
        const char *from_name = json_string_value(json_object_get(names, fk));
        cr_assert(to_name && strncmp(to_name, "worker-", 7) == 0, "flow %s ends on %s", k,
                  to_name ? to_name : "?");
        cr_assert(from_name && strncmp(from_name, "worker-", 7) != 0 && strcmp(from_name, "") != 0,
                  "flow %s starts on %s, not an HTTP thread", k, from_name ? from_name : "?");
    }
    int nstarts = (int)json_object_size(starts);
    cr_assert_gt(ends, 0, "no flows");
    /* A worker busy when the window closes has its flow end recorded but
     * not yet its span: at most one per worker. */
    cr_assert_leq(ends, processed + 4, "%d flow ends for %d process spans", ends, processed);
    cr_assert_geq(ends, nstarts - 64, "%d flows started but only %d ended", nstarts, ends);
    cr_log_info("%zu events, %d processed, %d flows", n, processed, ends);

    free(sp);
    json_decref(starts);
    json_decref(names);
    json_decref(root);
    server_stop(s, SIGTERM, 30);
}

static void *long_trace(void *arg)
{
    server_t *s = arg;
    http_resp_t r = http_get(harness_fmt("%s/profile/trace?duration=2s", s->base));
    long st = r.status;
    http_free(&r);
    return (void *)st;
}

Test(trace, one_trace_at_a_time)
{
    server_t *s = server_start(NULL);
    http_resp_t h = http_get(harness_fmt("%s/health", s->base));
    http_free(&h);
    pthread_t t;
    pthread_create(&t, NULL, long_trace, s);
    /* Poll the index until it counts the running trace, then ask again. */
    int64_t deadline = now_ns() + 10 * 1000000000LL;
    bool running = false;
    while (!running && now_ns() < deadline) {
        http_resp_t r = http_get(harness_fmt("%s/debug/pprof/", s->base));
        running = strstr(r.body, "<td>1</td><td><a href='trace?seconds=1'>") != NULL;
        http_free(&r);
    }
    cr_assert(running, "the first trace did not start");
    http_resp_t r = http_get(harness_fmt("%s/debug/pprof/trace?seconds=0.1", s->base));
    long st = r.status;
    char *g = http_header(&r, "X-Go-Pprof");
    cr_assert(g && strcmp(g, "1") == 0, "409 without X-Go-Pprof: 1");
    free(g);
    http_free(&r);
    cr_assert_eq(st, 409, "a second trace should get 409");
    void *first;
    pthread_join(t, &first);
    cr_assert_eq((long)first, 200, "the first trace should succeed");
    server_stop(s, SIGTERM, 30);
}
