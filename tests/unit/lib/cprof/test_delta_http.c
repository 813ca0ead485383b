/* ?seconds=N delta profiles served by the HTTP layer (lib/cprof/delta_http.c
 * with merge.c): block and goroutine deltas show only what happened inside
 * the window, the wait is deferred (the caller gets a pending response at
 * once), canceling ends the wait early, and bad parameters answer 400. */
#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cprof.h"

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Waits (bounded: 60 s) for a deferred response. */
static void wait_ready(cprof_http_response_t *r)
{
    int fd = cprof_http_response_fd(r);
    int64_t deadline = mono_ns() + 60 * 1000000000LL;
    while (fd >= 0 && !cprof_http_response_ready(r) && mono_ns() < deadline) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 1000) < 0 && errno != EINTR)
            cr_assert_fail("poll: %s", strerror(errno));
    }
    cr_assert(cprof_http_response_ready(r), "the response never became ready");
}

/* Sum of the first value of samples whose stack has a frame named fn. */
static int64_t sum_with(const cprof_profile_t *p, const char *fn, size_t *nsamples)
{
    int64_t sum = 0;
    *nsamples = 0;
    for (size_t i = 0; i < p->nsamples; i++) {
        const cprof_pp_sample_t *s = &p->samples[i];
        bool has = false;
        for (size_t k = 0; k < s->nlocations && !has; k++) {
            const cprof_pp_location_t *l = cprof_profile_location(p, s->location_ids[k]);
            for (size_t j = 0; l && j < l->nlines && !has; j++) {
                const cprof_pp_function_t *f = cprof_profile_function(p, l->lines[j].function_id);
                has = f && strcmp(f->name, fn) == 0;
            }
        }
        if (has) {
            sum += s->values[0];
            (*nsamples)++;
        }
    }
    return sum;
}

static cprof_profile_t *decode_body(cprof_http_response_t *r)
{
    cr_assert_eq(cprof_http_response_status(r), 200, "status %d", cprof_http_response_status(r));
    size_t len;
    const void *body = cprof_http_response_body(r, &len);
    cprof_profile_t *p;
    cr_assert_eq(cprof_profile_decode(body, len, &p), 0, "body is not a profile");
    return p;
}

/* ---- block ------------------------------------------------------------------ */

static cprof_mutex_t mu = CPROF_MUTEX_INITIALIZER;
static cprof_cond_t cv;
static int flag, waiting;

static void *signaler(void *arg)
{
    (void)arg;
    /* The waiter holds mu from setting `waiting` until cond_wait releases
     * it: the lock below is taken once it waits. The 20 ms make its delay. */
    while (!__atomic_load_n(&waiting, __ATOMIC_ACQUIRE))
        usleep(100);
    usleep(20000);
    cprof_mutex_lock(&mu);
    flag = 1;
    cprof_cond_signal(&cv);
    cprof_mutex_unlock(&mu);
    return NULL;
}

static void cond_wait_once(void)
{
    flag = 0;
    __atomic_store_n(&waiting, 0, __ATOMIC_RELEASE);
    pthread_t t;
    pthread_create(&t, NULL, signaler, NULL);
    cprof_mutex_lock(&mu);
    __atomic_store_n(&waiting, 1, __ATOMIC_RELEASE);
    while (!flag)
        cprof_cond_wait(&cv, &mu);
    cprof_mutex_unlock(&mu);
    pthread_join(t, NULL);
}

/* The empty asm after the call keeps it from being a tail call, so that the
 * function stays on the recorded stack. */
__attribute__((noinline)) void delta_test_waiter_before(void)
{
    cond_wait_once();
    __asm__ volatile("");
}

__attribute__((noinline)) void delta_test_waiter_during(void)
{
    cond_wait_once();
    __asm__ volatile("");
}

Test(delta_http, block_delta_shows_only_the_window)
{
    cr_assert_eq(cprof_cond_init(&cv), 0);
    cr_assert_eq(cprof_set_block_profile_rate(1), 0);
    delta_test_waiter_before();
    cprof_http_response_t *r;
    size_t n;
    /* The earlier wait is in the plain profile, so its absence below means
     * it was subtracted. */
    cr_assert_eq(cprof_http_serve("GET", "/debug/pprof/block", "", NULL, 0, &r), 0);
    cprof_profile_t *whole = decode_body(r);
    cr_assert_eq(sum_with(whole, "delta_test_waiter_before", &n), 1,
                 "the earlier wait is recorded");
    cprof_profile_free(whole);
    cprof_http_response_free(r);
    int64_t t0 = mono_ns();
    cr_assert_eq(cprof_http_serve("GET", "/debug/pprof/block", "seconds=1", NULL, 0, &r), 0);
    cr_expect_lt(mono_ns() - t0, 500000000LL, "the request thread does not wait for the delta");
    cr_expect_not(cprof_http_response_ready(r), "a delta is deferred");
    delta_test_waiter_during();
    wait_ready(r);
    cr_expect_geq(mono_ns() - t0, 1000000000LL, "the delta covers the whole second");
    const char *cd = cprof_http_response_header(r, "Content-Disposition");
    cr_expect(cd && strstr(cd, "delta-block"), "Content-Disposition %s", cd ? cd : "(none)");
    cprof_profile_t *p = decode_body(r);
    int64_t during = sum_with(p, "delta_test_waiter_during", &n);
    cr_expect_eq(during, 1, "one wait inside the window, got %lld", (long long)during);
    int64_t before = sum_with(p, "delta_test_waiter_before", &n);
    cr_expect_eq(n, 0, "the wait before the window is subtracted away (%zu samples, %lld)", n,
                 (long long)before);
    cr_expect(p->duration_nanos >= 1000000000LL, "duration %lld", (long long)p->duration_nanos);
    cprof_profile_free(p);
    cprof_http_response_free(r);
    cprof_cond_destroy(&cv);
}

/* ---- goroutine ---------------------------------------------------------------- */

static int park_pipe[2];

__attribute__((noinline)) static void *delta_test_parked(void *arg)
{
    (void)arg;
    char c;
    while (read(park_pipe[0], &c, 1) < 0 && errno == EINTR)
        ;
    return NULL;
}

Test(delta_http, goroutine_delta_counts_new_threads)
{
    cr_assert_eq(pipe(park_pipe), 0);
    cprof_http_response_t *r;
    cr_assert_eq(cprof_http_serve("GET", "/debug/pprof/goroutine", "seconds=1", NULL, 0, &r), 0);
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, delta_test_parked, NULL), 0);
    wait_ready(r);
    cprof_profile_t *p = decode_body(r);
    size_t n;
    int64_t parked = sum_with(p, "delta_test_parked", &n);
    cr_expect_eq(parked, 1, "the thread started inside the window counts once, got %lld",
                 (long long)parked);
    cprof_profile_free(p);
    cprof_http_response_free(r);
    cr_assert_eq(write(park_pipe[1], "x", 1), 1);
    pthread_join(t, NULL);
}

/* ---- parameters and cancellation ----------------------------------------------- */

Test(delta_http, bad_parameters_are_400)
{
    static const char *paths[] = {"/debug/pprof/heap", "/debug/pprof/allocs", "/debug/pprof/mutex",
                                  "/debug/pprof/block", "/debug/pprof/goroutine"};
    static const char *bad[] = {"seconds=0", "seconds=-1", "seconds=abc", "seconds=3601",
                                "seconds=1&debug=1"};
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
            cprof_http_response_t *r;
            cr_assert_eq(cprof_http_serve("GET", paths[i], bad[k], NULL, 0, &r), 0);
            cr_assert(cprof_http_response_ready(r), "%s?%s: answered at once", paths[i], bad[k]);
            size_t len;
            const char *body = cprof_http_response_body(r, &len);
            /* A heap endpoint of a build without jemalloc may answer 501
             * first; the parameters are checked before that here. */
            cr_expect_eq(cprof_http_response_status(r), 400, "%s?%s: %d %.*s", paths[i], bad[k],
                         cprof_http_response_status(r), (int)len, body);
            cr_expect(len > 0 && memchr(body, '\n', len) == body + len - 1, "one line: %.*s",
                      (int)len, body);
            cprof_http_response_free(r);
        }
    }
}

Test(delta_http, cancel_ends_a_long_delta_early)
{
    cprof_http_response_t *r;
    cr_assert_eq(cprof_http_serve("GET", "/debug/pprof/mutex", "seconds=3600", NULL, 0, &r), 0);
    cr_expect_not(cprof_http_response_ready(r));
    int64_t t0 = mono_ns();
    cr_assert_eq(cprof_http_cancel_all(10 * 1000000000LL), 0, "the delta did not end");
    cr_expect_lt(mono_ns() - t0, 10 * 1000000000LL);
    cr_assert(cprof_http_response_ready(r));
    cprof_profile_t *p = decode_body(r);
    cr_expect_lt(p->duration_nanos, 3600 * 1000000000LL, "what was there so far");
    cprof_profile_free(p);
    cprof_http_response_free(r);
}
