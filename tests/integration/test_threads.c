/* Thread dumps of a real orderd: every worker listed by name with a
 * symbolized stack, proto and text forms, the seed's alias, and dumps
 * during load that never disturb a request (the dump signal makes
 * epoll_wait, poll and nanosleep return EINTR in every thread). */

#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cprof.h"
#include "harness.h"

#define WORKERS 4

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static server_t *start(void)
{
    static const char *const args[] = {"--workers",      "4", "--work", "sleep", "--work-ms", "1",
                                       "--http-threads", "2", NULL};
    return server_start(args);
}

Test(threads, dump_of_loaded_orderd_lists_every_worker)
{
    server_t *s = start();
    http_load_t l;
    http_load_start(&l, s->base);
    http_resp_t r = http_get(harness_fmt("%s/debug/pprof/goroutine?debug=2", s->base));
    http_load_stop(&l);
    cr_assert_eq(r.status, 200, "status %ld: %s", r.status, r.body);
    for (int i = 1; i <= WORKERS; i++) {
        char name[32];
        snprintf(name, sizeof(name), "\"worker-%d\" [", i);
        const char *at = strstr(r.body, name);
        cr_assert(at, "worker-%d is missing from the dump:\n%s", i, r.body);
        /* Its block: symbolized frames of the pool, before the next thread. */
        const char *end = strstr(at, "\nthread ");
        size_t len = end ? (size_t)(end - at) : strlen(at);
        char *block = strndup(at, len);
        if (harness_signal_stacks_exact())
            cr_assert(strstr(block, "worker_main()\n\t") && strstr(block, "src/orderd/pool.c:"),
                      "worker-%d's stack is not symbolized:\n%s", i, block);
        free(block);
    }
    cr_assert(strstr(r.body, "\"results-1\" ["), "results-1 is missing");
    cr_assert(!strstr(r.body, "[thread did not answer]"), "a thread did not answer:\n%s", r.body);
    http_free(&r);
    server_stop(s, SIGTERM, 30);
}

Test(threads, proto_and_alias)
{
    server_t *s = start();
    http_resp_t r = http_get(harness_fmt("%s/profile/goroutines", s->base));
    cr_assert_eq(r.status, 200);
    char *cd = http_header(&r, "Content-Disposition");
    cr_assert(cd && strstr(cd, "goroutine_profile_") && strstr(cd, ".prof"),
              "alias attachment name: %s", cd ? cd : "(none)");
    free(cd);
    cprof_profile_t *p;
    cr_assert_eq(cprof_profile_decode(r.body, r.len, &p), 0, "not a profile");
    cr_assert_str_eq(p->sample_types[0].type, "goroutine");
    int workers = 0;
    for (size_t i = 0; i < p->nsamples; i++)
        for (size_t k = 0; k < p->samples[i].nlabels; k++)
            if (strncmp(p->samples[i].labels[k].str, "worker-", 7) == 0)
                workers++;
    cr_assert_eq(workers, WORKERS, "expected %d worker thread labels, got %d", WORKERS, workers);
    bool named = false;
    for (size_t i = 0; i < p->nfunctions; i++)
        named |= strcmp(p->functions[i].name, "queue_pop") == 0;
    cr_assert(named, "the profile should name queue_pop");
    cprof_profile_free(p);
    http_free(&r);

    r = http_get(harness_fmt("%s/debug/pprof/goroutine?debug=1", s->base));
    cr_assert(strncmp(r.body, "goroutine profile: total ", 25) == 0, "%.80s", r.body);
    cr_assert(strstr(r.body, "\tqueue_pop\t"), "debug=1 lacks queue_pop:\n%s", r.body);
    http_free(&r);

    r = http_get(harness_fmt("%s/debug/pprof/threadcreate?debug=1", s->base));
    cr_assert(strstr(r.body, "\tpool_start\t"), "threadcreate should name pool_start:\n%s", r.body);
    http_free(&r);
    server_stop(s, SIGTERM, 30);
}

Test(threads, dumps_during_load_never_break_requests)
{
    server_t *s = start();
    http_load_t l;
    http_load_start(&l, s->base);
    int dumps = 0;
    int64_t deadline = now_ns() + 2 * 1000000000LL;
    while (now_ns() < deadline) {
        http_resp_t r = http_get(harness_fmt("%s/debug/pprof/goroutine", s->base));
        cr_assert_eq(r.status, 200);
        http_free(&r);
        dumps++;
    }
    http_load_stop(&l);
    cr_assert_gt(l.sent, 20, "the load loop should have sent orders (%d)", l.sent);
    cr_assert_eq(l.bad, 0, "%d of %d orders failed during %d dumps (last status %ld)", l.bad,
                 l.sent, dumps, l.last_bad);
    cr_log_info("%d dumps during %d orders", dumps, l.sent);
    /* The service is still healthy and processed the orders. */
    http_resp_t h = http_get(harness_fmt("%s/health", s->base));
    cr_assert_eq(h.status, 200, "health after the dumps: %s", h.body);
    http_free(&h);
    server_stop(s, SIGTERM, 30);
}
