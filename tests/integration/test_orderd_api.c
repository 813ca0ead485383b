/* The order API against the real orderd: every endpoint and status code. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"

#define ORDER(extra)                                                                               \
    "{\"customer\":\"ada\",\"amount\":42.5,\"items\":[\"book\"],\"address\":\"1 Main St\"" extra "}"

static json_t *body_json(const http_resp_t *r)
{
    json_error_t je;
    json_t *j = json_loads(r->body, 0, &je);
    cr_assert_not_null(j, "body is not JSON (%s): %s", je.text, r->body);
    return j;
}

static void expect_400(server_t *s, const char *body, const char *field)
{
    http_resp_t r = http_post_json(harness_fmt("%s/orders", s->base), body);
    cr_assert_eq(r.status, 400, "body %s: expected 400, got %ld %s", body, r.status, r.body);
    json_t *j = body_json(&r);
    cr_assert_str_eq(json_string_value(json_object_get(j, "field")), field, "body %s -> %s", body,
                     r.body);
    cr_assert(json_string_length(json_object_get(j, "error")) > 0);
    json_decref(j);
    http_free(&r);
}

/* Polls GET /orders/{id} until its state is `state` (10 s deadline). */
static json_t *wait_state(server_t *s, const char *id, const char *state)
{
    for (int i = 0; i < 1000; i++) {
        http_resp_t r = http_get(harness_fmt("%s/orders/%s", s->base, id));
        cr_assert_eq(r.status, 200, "GET order %s: %ld %s", id, r.status, r.body);
        json_t *j = body_json(&r);
        http_free(&r);
        if (strcmp(json_string_value(json_object_get(j, "state")), state) == 0)
            return j;
        json_decref(j);
        harness_sleep_ms(10);
    }
    harness_fail("order %s never reached state %s", id, state);
}

Test(api, create_get_and_result)
{
    server_t *s = server_start((const char *[]){"--work-ms", "1", NULL});
    http_resp_t r =
        http_post_json(harness_fmt("%s/orders", s->base),
                       "{\"id\":\"o-1\",\"customer\":\"ada\",\"amount\":1500,\"items\":[\"book\"],"
                       "\"address\":\"1 Main St\",\"priority\":1}");
    cr_assert_eq(r.status, 201, "%ld %s", r.status, r.body);
    json_t *j = body_json(&r);
    cr_assert_str_eq(json_string_value(json_object_get(j, "id")), "o-1");
    cr_assert_str_eq(json_string_value(json_object_get(j, "status")), "pending");
    cr_assert_eq(json_integer_value(json_object_get(j, "priority")), 1);
    const char *created = json_string_value(json_object_get(j, "created_at"));
    cr_assert(created && strlen(created) == 24 && created[23] == 'Z', "created_at %s", created);
    json_decref(j);
    http_free(&r);

    j = wait_state(s, "o-1", "done");
    json_t *res = json_object_get(j, "result");
    cr_assert(json_is_true(json_object_get(res, "success")));
    cr_assert(strstr(json_string_value(json_object_get(res, "result")), "discount"));
    cr_assert_float_eq(json_number_value(json_object_get(res, "final_amount")), 1425, 1e-6);
    cr_assert_gt(json_integer_value(json_object_get(res, "worker_id")), 0);
    cr_assert(json_is_string(json_object_get(res, "processed_at")));
    cr_assert(json_number_value(json_object_get(res, "processing_time_ms")) >= 1.0);
    json_decref(j);

    /* Defaults: generated id of 32 hex characters. */
    r = http_post_json(harness_fmt("%s/orders", s->base), ORDER(""));
    cr_assert_eq(r.status, 201);
    j = body_json(&r);
    const char *id = json_string_value(json_object_get(j, "id"));
    cr_assert_eq(strlen(id), 32);
    cr_assert_eq(json_integer_value(json_object_get(j, "priority")), 2);
    json_decref(j);
    http_free(&r);

    /* A cancelled order is processed with an error result. */
    r = http_post_json(harness_fmt("%s/orders", s->base),
                       ORDER(",\"id\":\"c-1\",\"status\":\"cancelled\""));
    cr_assert_eq(r.status, 201);
    http_free(&r);
    j = wait_state(s, "c-1", "done");
    res = json_object_get(j, "result");
    cr_assert(json_is_false(json_object_get(res, "success")));
    cr_assert_str_eq(json_string_value(json_object_get(res, "error")), "order is cancelled");
    json_decref(j);
    cr_assert_eq(server_stop(s, SIGTERM, 30), 0);
}

Test(api, bad_input_statuses)
{
    server_t *s = server_start(NULL);
    expect_400(s, "{\"customer\":", "");
    expect_400(s, "[]", "");
    expect_400(s, ORDER(",\"extra\":1"), "extra");
    expect_400(s, ORDER(",\"priority\":7"), "priority");
    expect_400(s, ORDER(",\"status\":\"lost\""), "status");
    expect_400(s, "{\"customer\":\"a\",\"amount\":\"5\",\"items\":[\"b\"],\"address\":\"x\"}",
               "amount");
    expect_400(s, "{\"customer\":\"a\",\"amount\":0,\"items\":[\"b\"],\"address\":\"x\"}",
               "amount");
    expect_400(s, "{\"customer\":\"a\",\"amount\":5,\"items\":[],\"address\":\"x\"}", "items");
    expect_400(s, "{\"amount\":5,\"items\":[\"b\"],\"address\":\"x\"}", "customer");
    expect_400(s, "{\"customer\":\"a\",\"amount\":5,\"items\":[\"b\"]}", "address");
    expect_400(s, "", "");

    /* 413: a body over 64 KiB, refused from its Content-Length. */
    size_t n = 70 * 1024;
    char *big = malloc(n + 1);
    memset(big, 'x', n);
    big[n] = '\0';
    http_resp_t r = http_post_json(harness_fmt("%s/orders", s->base), big);
    cr_assert_eq(r.status, 413, "got %ld", r.status);
    http_free(&r);
    free(big);

    /* 409 duplicate id. */
    r = http_post_json(harness_fmt("%s/orders", s->base), ORDER(",\"id\":\"dup\""));
    cr_assert_eq(r.status, 201);
    http_free(&r);
    r = http_post_json(harness_fmt("%s/orders", s->base), ORDER(",\"id\":\"dup\""));
    cr_assert_eq(r.status, 409, "%ld %s", r.status, r.body);
    json_t *j = body_json(&r);
    cr_assert_str_eq(json_string_value(json_object_get(j, "field")), "id");
    json_decref(j);
    http_free(&r);

    /* 404 and 405 with Allow. */
    r = http_get(harness_fmt("%s/orders/unknown-id", s->base));
    cr_assert_eq(r.status, 404);
    http_free(&r);
    r = http_get(harness_fmt("%s/nothing-here", s->base));
    cr_assert_eq(r.status, 404);
    http_free(&r);
    struct {
        const char *method, *path, *allow;
    } m[] = {{"GET", "/orders", "POST"},
             {"DELETE", "/orders/dup", "GET, HEAD"},
             {"POST", "/stats", "GET, HEAD"},
             {"PUT", "/health", "GET, HEAD"}};
    for (int i = 0; i < 4; i++) {
        r = http_do(m[i].method, harness_fmt("%s%s", s->base, m[i].path), NULL, 0, NULL);
        cr_assert_eq(r.status, 405, "%s %s -> %ld", m[i].method, m[i].path, r.status);
        char *allow = http_header(&r, "Allow");
        cr_assert(allow && strcmp(allow, m[i].allow) == 0, "%s %s: Allow '%s'", m[i].method,
                  m[i].path, allow ? allow : "(none)");
        free(allow);
        http_free(&r);
    }

    /* /stats counts every rejection by reason. */
    r = http_get(harness_fmt("%s/stats", s->base));
    j = body_json(&r);
    json_t *why = json_object_get(j, "rejected_by_reason");
    cr_assert_eq(json_integer_value(json_object_get(why, "invalid")), 11);
    cr_assert_eq(json_integer_value(json_object_get(why, "too_large")), 1);
    cr_assert_eq(json_integer_value(json_object_get(why, "duplicate")), 1);
    cr_assert_eq(json_integer_value(json_object_get(j, "accepted")), 1);
    json_decref(j);
    http_free(&r);
    cr_assert_eq(server_stop(s, SIGTERM, 30), 0);
}

Test(api, full_queue_503_and_health)
{
    server_t *s = server_start((const char *[]){"--paused", "--queue-capacity", "2", NULL});
    http_resp_t r = http_get(harness_fmt("%s/health", s->base));
    cr_assert_eq(r.status, 200, "%s", r.body);
    json_t *j = body_json(&r);
    cr_assert_str_eq(json_string_value(json_object_get(j, "status")), "healthy");
    json_decref(j);
    http_free(&r);

    for (int i = 0; i < 2; i++) {
        r = http_post_json(harness_fmt("%s/orders", s->base),
                           i ? ORDER(",\"id\":\"q2\"") : ORDER(",\"id\":\"q1\""));
        cr_assert_eq(r.status, 201);
        http_free(&r);
    }
    r = http_post_json(harness_fmt("%s/orders", s->base), ORDER(",\"id\":\"q3\""));
    cr_assert_eq(r.status, 503, "%ld %s", r.status, r.body);
    char *ra = http_header(&r, "Retry-After");
    cr_assert(ra && atoi(ra) >= 1, "Retry-After: %s", ra ? ra : "(none)");
    free(ra);
    http_free(&r);
    r = http_get(harness_fmt("%s/orders/q3", s->base));
    cr_assert_eq(r.status, 404, "a refused order is not kept");
    http_free(&r);
    r = http_get(harness_fmt("%s/orders/q1", s->base));
    j = body_json(&r);
    cr_assert_str_eq(json_string_value(json_object_get(j, "state")), "queued");
    json_decref(j);
    http_free(&r);

    r = http_get(harness_fmt("%s/health", s->base));
    cr_assert_eq(r.status, 503, "health is 503 with a full queue: %s", r.body);
    j = body_json(&r);
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "checks"), "queue")),
                     "full");
    json_decref(j);
    http_free(&r);

    r = http_get(harness_fmt("%s/stats", s->base));
    j = body_json(&r);
    cr_assert_eq(json_integer_value(json_object_get(j, "queue_length")), 2);
    cr_assert_eq(
        json_integer_value(json_object_get(json_object_get(j, "rejected_by_reason"), "queue_full")),
        1);
    for (const char *k = "total_processed\0success_count\0error_count\0average_process_time_ms\0"
                         "active_workers\0uptime_seconds\0latency_ms\0by_priority\0";
         *k; k += strlen(k) + 1)
        cr_assert_not_null(json_object_get(j, k), "/stats lacks %s", k);
    json_decref(j);
    http_free(&r);

    r = http_do("POST", harness_fmt("%s/debug/workers/resume", s->base), "", 0, NULL);
    cr_assert_eq(r.status, 200);
    http_free(&r);
    json_decref(wait_state(s, "q1", "done"));
    json_decref(wait_state(s, "q2", "done"));
    cr_assert_eq(server_stop(s, SIGTERM, 30), 0);
}

Test(api, bad_flags_exit_2)
{
    const char *argv1[] = {"orderd", "--workers", "many", NULL};
    server_t *s = server_spawn(argv1, NULL);
    cr_assert_eq(server_wait(s, 10), 2);
    const char *argv2[] = {"orderd", "--no-such-flag", NULL};
    s = server_spawn(argv2, NULL);
    cr_assert_eq(server_wait(s, 10), 2);
    const char *argv3[] = {"orderd", "--help", NULL};
    s = server_spawn(argv3, NULL);
    cr_assert_eq(server_wait(s, 10), 0);
}
