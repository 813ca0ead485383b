/* End-to-end processing guarantees: priority order, no loss under a burst
 * larger than the queue, and draining on SIGTERM. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <pthread.h>
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

static long post(server_t *s, const char *id, int priority)
{
    char body[256];
    snprintf(body, sizeof(body),
             "{\"id\":\"%s\",\"customer\":\"c\",\"amount\":5,\"items\":[\"i\"],"
             "\"address\":\"a\",\"priority\":%d}",
             id, priority);
    http_resp_t r = http_post_json(harness_fmt("%s/orders", s->base), body);
    long st = r.status;
    http_free(&r);
    return st;
}

/* Polls /stats until total_processed == want (30 s deadline). */
static json_t *wait_processed(server_t *s, long long want)
{
    for (int i = 0; i < 3000; i++) {
        json_t *j = get_json(harness_fmt("%s/stats", s->base));
        if (json_integer_value(json_object_get(j, "total_processed")) >= want)
            return j;
        json_decref(j);
        harness_sleep_ms(10);
    }
    harness_fail("fewer than %lld orders processed after 30 s", want);
}

Test(flow, high_priority_overtakes_earlier_low)
{
    /* One worker, paused: queue 5 low then 5 high, resume; every high order
     * must finish before any low one. Each takes >= 2 ms, so processed_at
     * (ms resolution) orders them. */
    server_t *s =
        server_start((const char *[]){"--paused", "--workers", "1", "--work-ms", "2", NULL});
    char id[16];
    for (int i = 0; i < 5; i++) {
        snprintf(id, sizeof(id), "low-%d", i);
        cr_assert_eq(post(s, id, 3), 201);
    }
    for (int i = 0; i < 5; i++) {
        snprintf(id, sizeof(id), "high-%d", i);
        cr_assert_eq(post(s, id, 1), 201);
    }
    http_resp_t r = http_do("POST", harness_fmt("%s/debug/workers/resume", s->base), "", 0, NULL);
    http_free(&r);
    json_decref(wait_processed(s, 10));
    char last_high[40] = "", first_low[40] = "~", prev[40] = "";
    for (int i = 0; i < 10; i++) {
        snprintf(id, sizeof(id), i < 5 ? "high-%d" : "low-%d", i % 5);
        json_t *j = get_json(harness_fmt("%s/orders/%s", s->base, id));
        const char *at =
            json_string_value(json_object_get(json_object_get(j, "result"), "processed_at"));
        cr_assert_not_null(at, "%s has no result", id);
        cr_assert(strcmp(at, prev) >= 0, "%s finished before the order queued ahead of it", id);
        snprintf(prev, sizeof(prev), "%s", at);
        if (i < 5 && strcmp(at, last_high) > 0)
            snprintf(last_high, sizeof(last_high), "%s", at);
        if (i >= 5 && strcmp(at, first_low) < 0)
            snprintf(first_low, sizeof(first_low), "%s", at);
        json_decref(j);
    }
    cr_assert(strcmp(last_high, first_low) < 0, "last high %s not before first low %s", last_high,
              first_low);
    cr_assert_eq(server_stop(s, SIGTERM, 30), 0);
}

typedef struct burst {
    server_t *s;
    int thread, n;
    int created, unavailable, other;
} burst_t;

static void *burst_main(void *arg)
{
    burst_t *b = arg;
    char id[32];
    for (int i = 0; i < b->n; i++) {
        snprintf(id, sizeof(id), "b%d-%d", b->thread, i);
        long st = post(b->s, id, 1 + i % 3);
        if (st == 201)
            b->created++;
        else if (st == 503)
            b->unavailable++;
        else
            b->other++;
    }
    return NULL;
}

Test(flow, burst_beyond_capacity_loses_nothing_acknowledged)
{
    server_t *s = server_start(
        (const char *[]){"--workers", "2", "--work-ms", "2", "--queue-capacity", "40", NULL});
    enum { THREADS = 8, PER = 75 };
    burst_t b[THREADS];
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) {
        b[i] = (burst_t){.s = s, .thread = i, .n = PER};
        pthread_create(&t[i], NULL, burst_main, &b[i]);
    }
    int created = 0, unavailable = 0, other = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        created += b[i].created;
        unavailable += b[i].unavailable;
        other += b[i].other;
    }
    cr_assert_eq(other, 0, "only 201 and 503 expected");
    cr_assert_eq(created + unavailable, THREADS * PER);
    cr_assert_gt(unavailable, 0, "a burst of %d into a queue of 40 must see 503s", THREADS * PER);
    json_t *j = wait_processed(s, created);
    harness_sleep_ms(50);
    json_decref(j);
    j = get_json(harness_fmt("%s/stats", s->base));
    cr_assert_eq(json_integer_value(json_object_get(j, "total_processed")), created,
                 "every 201 processed, nothing more");
    cr_assert_eq(json_integer_value(json_object_get(j, "accepted")), created);
    cr_assert_eq(
        json_integer_value(json_object_get(json_object_get(j, "rejected_by_reason"), "queue_full")),
        unavailable);
    json_decref(j);
    cr_assert_eq(server_stop(s, SIGTERM, 30), 0);
}

Test(flow, sigterm_drains_every_queued_order)
{
    server_t *s = server_start((const char *[]){"--paused", "--work", "none", NULL});
    char id[16];
    for (int i = 0; i < 200; i++) {
        snprintf(id, sizeof(id), "t-%d", i);
        cr_assert_eq(post(s, id, 1 + i % 3), 201);
    }
    json_t *j = get_json(harness_fmt("%s/stats", s->base));
    cr_assert_eq(json_integer_value(json_object_get(j, "queue_length")), 200);
    cr_assert_eq(json_integer_value(json_object_get(j, "total_processed")), 0);
    json_decref(j);
    kill(s->pid, SIGTERM);
    char *err = NULL;
    for (int i = 0; i < 3000; i++) {
        free(err);
        err = server_stderr(s);
        if (strstr(err, "drained:"))
            break;
        harness_sleep_ms(10);
    }
    cr_assert(strstr(err, "drained: 200 orders processed"), "all 200 drained:\n%s", err);
    free(err);
    cr_assert_eq(server_wait(s, 30), 0, "graceful shutdown exits 0");
}

Test(flow, sigterm_refuses_new_orders_while_draining_and_second_signal_exits)
{
    server_t *s = server_start((const char *[]){"--workers", "1", "--work-ms", "300", NULL});
    char id[16];
    for (int i = 0; i < 6; i++) {
        snprintf(id, sizeof(id), "d-%d", i);
        cr_assert_eq(post(s, id, 3), 201);
    }
    kill(s->pid, SIGTERM);
    /* Wait until the drain has begun (the log says so), then POST. */
    for (int i = 0;; i++) {
        char *err = server_stderr(s);
        bool draining = err && strstr(err, "shutting down");
        free(err);
        if (draining)
            break;
        cr_assert_lt(i, 1000, "no shutdown log line after 10 s");
        harness_sleep_ms(10);
    }
    http_resp_t r =
        http_post_json(harness_fmt("%s/orders", s->base),
                       "{\"customer\":\"c\",\"amount\":5,\"items\":[\"i\"],\"address\":\"a\"}");
    cr_assert_eq(r.status, 503, "new orders are refused while draining: %ld", r.status);
    http_free(&r);
    r = http_get(harness_fmt("%s/health", s->base));
    cr_assert_eq(r.status, 503);
    cr_assert(strstr(r.body, "draining"), "%s", r.body);
    http_free(&r);
    kill(s->pid, SIGTERM);
    char *err = NULL;
    for (int i = 0; i < 1000; i++) {
        free(err);
        err = server_stderr(s);
        if (strstr(err, "were not processed"))
            break;
        harness_sleep_ms(10);
    }
    cr_assert(strstr(err, "second signal: exiting now; 6 accepted orders were not processed"),
              "second signal logs what was left:\n%s", err);
    free(err);
    cr_assert_eq(server_wait(s, 10), 1);
}
