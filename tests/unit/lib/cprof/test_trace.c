/* Execution trace: recording, one trace at a time, Chrome Trace Event JSON. */

#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cprof/trace.h"

static json_t *stop_json(size_t *dropped)
{
    cprof_trace_t *t;
    cr_assert_eq(cprof_trace_stop(&t), 0);
    if (dropped)
        *dropped = cprof_trace_dropped(t);
    char *text;
    size_t len;
    FILE *f = open_memstream(&text, &len);
    cr_assert_eq(cprof_trace_write_json(t, f), 0);
    fclose(f);
    cprof_trace_free(t);
    json_error_t err;
    json_t *root = json_loadb(text, len, 0, &err);
    cr_assert(root, "invalid JSON at line %d: %s", err.line, err.text);
    free(text);
    return root;
}

static json_t *events(json_t *root)
{
    json_t *ev = json_object_get(root, "traceEvents");
    cr_assert(json_is_array(ev), "traceEvents should be an array");
    return ev;
}

static const char *str(json_t *e, const char *k)
{
    const char *s = json_string_value(json_object_get(e, k));
    return s ? s : "";
}

Test(trace, off_costs_nothing_and_records_nothing)
{
    cr_assert(!cprof_trace_enabled());
    cr_assert_eq(cprof_trace_begin(), 0);
    cr_assert_eq(cprof_trace_flow_start("x"), 0);
    cprof_trace_end(0, "x", NULL, 0);
    cprof_trace_t *t;
    cr_assert_eq(cprof_trace_stop(&t), -EINVAL, "stop without a trace");
}

Test(trace, one_at_a_time)
{
    cr_assert_eq(cprof_trace_start(), 0);
    cr_assert(cprof_trace_running());
    cr_assert_eq(cprof_trace_start(), -EBUSY);
    json_decref(stop_json(NULL));
    cr_assert(!cprof_trace_running());
    cr_assert_eq(cprof_trace_start(), 0, "a new trace may start after stop");
    json_decref(stop_json(NULL));
}

/* Thread A makes "request" spans with a nested "push" that starts a flow;
 * thread B ends each flow inside its "process" span. */
#define N 50
static uint64_t ids[N];
static int published; /* atomic */

static void *thread_a(void *arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "acceptor");
    for (int i = 0; i < N; i++) {
        int64_t r = cprof_trace_begin();
        int64_t p = cprof_trace_begin();
        ids[i] = cprof_trace_flow_start("order");
        cprof_trace_async_begin("queued", ids[i]);
        const char *const keys[] = {"p1", "p2"};
        int64_t vals[] = {i, 2 * i};
        cprof_trace_counter("depth", keys, vals, 2);
        cprof_trace_end(p, "push", NULL, 0);
        cprof_trace_end(r, "request", "n", i);
        __atomic_store_n(&published, i + 1, __ATOMIC_RELEASE);
    }
    return NULL;
}

static void *thread_b(void *arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "worker");
    for (int i = 0; i < N; i++) {
        while (__atomic_load_n(&published, __ATOMIC_ACQUIRE) <= i)
            sched_yield();
        int64_t s = cprof_trace_begin();
        cprof_trace_async_end("queued", ids[i]);
        cprof_trace_flow_end("order", ids[i]);
        cprof_trace_end(s, "process", "order", (int64_t)ids[i]);
    }
    return NULL;
}

Test(trace, spans_flows_counters_and_names)
{
    cr_assert_eq(cprof_trace_start(), 0);
    pthread_t a, b;
    pthread_create(&b, NULL, thread_b, NULL);
    pthread_create(&a, NULL, thread_a, NULL);
    pthread_join(a, NULL);
    pthread_join(b, NULL); /* both exited: their events must survive */
    json_t *root = stop_json(NULL);
    json_t *ev = events(root);

    int64_t tid_a = -1, tid_b = -1;
    size_t i;
    json_t *e;
    json_array_foreach(ev, i, e)
    {
        if (strcmp(str(e, "ph"), "M") == 0 && strcmp(str(e, "name"), "thread_name") == 0) {
            const char *nm = json_string_value(json_object_get(json_object_get(e, "args"), "name"));
            if (nm && strcmp(nm, "acceptor") == 0)
                tid_a = json_integer_value(json_object_get(e, "tid"));
            if (nm && strcmp(nm, "worker") == 0)
                tid_b = json_integer_value(json_object_get(e, "tid"));
        }
    }
    cr_assert(tid_a > 0 && tid_b > 0, "both threads should be named");

    int requests = 0, pushes = 0, processes = 0, starts = 0, ends = 0, counters = 0, asyncs = 0;
    json_array_foreach(ev, i, e)
    {
        const char *ph = str(e, "ph"), *name = str(e, "name");
        int64_t tid = json_integer_value(json_object_get(e, "tid"));
        if (strcmp(ph, "X") == 0) {
            cr_assert(json_is_number(json_object_get(e, "dur")));
            cr_assert_geq(json_number_value(json_object_get(e, "ts")), 0.0);
            if (strcmp(name, "request") == 0 && tid == tid_a)
                requests++;
            if (strcmp(name, "push") == 0 && tid == tid_a)
                pushes++;
            if (strcmp(name, "process") == 0 && tid == tid_b)
                processes++;
        } else if (strcmp(ph, "s") == 0 && tid == tid_a) {
            starts++;
        } else if (strcmp(ph, "f") == 0 && tid == tid_b) {
            cr_assert_str_eq(str(e, "bp"), "e");
            ends++;
        } else if (strcmp(ph, "C") == 0) {
            cr_assert(json_is_integer(json_object_get(json_object_get(e, "args"), "p2")));
            counters++;
        } else if (strcmp(ph, "b") == 0 || strcmp(ph, "e") == 0) {
            asyncs++;
        }
    }
    cr_assert_eq(requests, N);
    cr_assert_eq(pushes, N);
    cr_assert_eq(processes, N);
    cr_assert_eq(starts, N);
    cr_assert_eq(ends, N);
    cr_assert_eq(counters, N);
    cr_assert_eq(asyncs, 2 * N);
    json_decref(root);
}

Test(trace, flows_of_an_earlier_trace_do_not_end_in_a_later_one)
{
    cr_assert_eq(cprof_trace_start(), 0);
    uint64_t id = cprof_trace_flow_start("order");
    int64_t t0 = cprof_trace_begin();
    cr_assert_neq(id, 0);
    json_decref(stop_json(NULL));
    cr_assert_eq(cprof_trace_start(), 0);
    cprof_trace_flow_end("order", id);
    cprof_trace_end(t0, "old span", NULL, 0);
    json_t *root = stop_json(NULL);
    size_t i;
    json_t *e;
    json_array_foreach(events(root), i, e)
    {
        cr_assert_str_neq(str(e, "ph"), "f", "a flow end of the earlier trace was recorded");
        cr_assert_str_neq(str(e, "name"), "old span", "a span begun before the window");
    }
    json_decref(root);
}

Test(trace, limit_drops_and_counts)
{
    cprof_trace_set_limit(1); /* one chunk */
    cr_assert_eq(cprof_trace_start(), 0);
    for (int i = 0; i < 10000; i++)
        cprof_trace_end(cprof_trace_begin(), "tiny", NULL, 0);
    size_t dropped;
    json_t *root = stop_json(&dropped);
    cr_assert_gt(dropped, 0, "events past the limit should be counted as dropped");
    json_t *other = json_object_get(root, "otherData");
    cr_assert_eq((size_t)json_integer_value(json_object_get(other, "dropped_events")), dropped);
    json_decref(root);
}
