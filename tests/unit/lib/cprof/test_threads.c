/* Thread dumps (goroutine profile) and the threadcreate profile. */

#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cprof/pprof.h"
#include "cprof/symbolize.h"
#include "cprof/threads.h"

#define NPARKED 5

static sem_t release_sem;
static int parked;       /* atomic: threads inside threads_test_park */
static int poll_eintr;   /* atomic: EINTRs seen by the poll loop */
static int nanosleep_ok; /* atomic: 1 once the nanosleep loop slept its full time */

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void wait_for(int *counter, int want)
{
    int64_t deadline = now_ns() + 10 * 1000000000LL;
    while (__atomic_load_n(counter, __ATOMIC_ACQUIRE) < want && now_ns() < deadline)
        usleep(1000);
    cr_assert_geq(__atomic_load_n(counter, __ATOMIC_ACQUIRE), want,
                  "threads did not reach the expected point in 10 s");
}

/* A known function the parked threads block in. */
__attribute__((noinline)) void threads_test_park(void)
{
    __atomic_add_fetch(&parked, 1, __ATOMIC_RELEASE);
    while (sem_wait(&release_sem) != 0 && errno == EINTR)
        ;
    __atomic_sub_fetch(&parked, 1, __ATOMIC_RELEASE);
}

static void *parked_main(void *arg)
{
    (void)arg;
    threads_test_park();
    return NULL;
}

static pthread_t threads[NPARKED];

static void start_parked(void)
{
    sem_init(&release_sem, 0, 0);
    for (int i = 0; i < NPARKED; i++) {
        char name[16];
        snprintf(name, sizeof(name), "parked-%d", i + 1);
        cr_assert_eq(cprof_thread_create(&threads[i], NULL, parked_main, NULL, name), 0);
    }
    wait_for(&parked, NPARKED);
}

static void stop_parked(void)
{
    for (int i = 0; i < NPARKED; i++)
        sem_post(&release_sem);
    for (int i = 0; i < NPARKED; i++)
        pthread_join(threads[i], NULL);
}

static bool stack_has(const cprof_thread_t *t, const char *fn)
{
    for (size_t k = 0; k < t->npcs; k++) {
        cprof_frame_t f[8];
        char buf[1024];
        int n = cprof_symbolize(t->pcs[k], k == 0 && t->leaf_exact ? CPROF_SYM_EXACT : 0, f, 8, buf,
                                sizeof(buf));
        for (int i = 0; i < n; i++)
            if (strcmp(f[i].function, fn) == 0)
                return true;
    }
    return false;
}

Test(threads, dump_lists_every_thread_with_its_stack)
{
    start_parked();
    cprof_threads_t *d;
    cr_assert_eq(cprof_threads_dump(2000000000LL, &d), 0);
    int found = 0;
    bool self = false;
    for (size_t i = 0; i < cprof_threads_count(d); i++) {
        const cprof_thread_t *t = cprof_threads_get(d, i);
        if (t->tid == gettid()) {
            self = t->status == 0 && t->npcs > 0;
            continue;
        }
        if (strncmp(t->name, "parked-", 7) != 0)
            continue;
        found++;
        cr_assert_eq(t->status, 0, "%s did not answer (%d)", t->name, t->status);
        cr_assert(t->state == 'S', "%s should be sleeping, state %c", t->name, t->state);
        cr_assert(stack_has(t, "threads_test_park"), "%s's stack lacks threads_test_park", t->name);
    }
    cr_assert_eq(found, NPARKED, "expected %d parked threads in the dump, got %d", NPARKED, found);
    cr_assert(self, "the dumping thread should have its own stack");
    cprof_threads_free(d);
    stop_parked();
}

Test(threads, text_formats)
{
    start_parked();
    cprof_threads_t *d;
    cr_assert_eq(cprof_threads_dump(0, &d), 0);
    char *text;
    size_t len;
    FILE *f = open_memstream(&text, &len);
    cr_assert_eq(cprof_threads_write_text(d, 1, f), 0);
    fclose(f);
    cr_assert(strncmp(text, "goroutine profile: total ", 25) == 0, "header: %.60s", text);
    cr_assert(strstr(text, "\n5 @ 0x"), "the 5 parked threads should form one group:\n%s", text);
    cr_assert(strstr(text, "\tthreads_test_park\t"), "no frame line names the park function");
    free(text);

    f = open_memstream(&text, &len);
    cr_assert_eq(cprof_threads_write_text(d, 2, f), 0);
    fclose(f);
    cr_assert(strstr(text, "\"parked-3\" [S (sleeping), cpu user "), "debug=2 lacks parked-3:\n%s",
              text);
    cr_assert(strstr(text, "threads_test_park()\n\t"), "debug=2 lacks the park frame:\n%s", text);
    free(text);
    cprof_threads_free(d);
    stop_parked();
}

Test(threads, pprof_groups_by_stack_with_thread_labels)
{
    start_parked();
    cprof_threads_t *d;
    cr_assert_eq(cprof_threads_dump(0, &d), 0);
    uint8_t *data;
    size_t len;
    cr_assert_eq(cprof_threads_write_pprof(d, &data, &len), 0);
    cprof_profile_t *p;
    cr_assert_eq(cprof_profile_decode(data, len, &p), 0);
    cr_assert_eq(p->nsample_types, 1);
    cr_assert_str_eq(p->sample_types[0].type, "goroutine");
    cr_assert_str_eq(p->sample_types[0].unit, "count");
    int64_t total = 0;
    bool group = false;
    for (size_t i = 0; i < p->nsamples; i++) {
        const cprof_pp_sample_t *s = &p->samples[i];
        total += s->values[0];
        cr_assert_eq((int64_t)s->nlabels, s->values[0], "one thread label per thread");
        if (s->values[0] == NPARKED && strncmp(s->labels[0].str, "parked-", 7) == 0)
            group = true;
    }
    cr_assert_eq(total, (int64_t)cprof_threads_count(d), "every thread counted once");
    cr_assert(group, "the parked threads should be one sample of %d", NPARKED);
    cprof_profile_free(p);
    free(data);
    cprof_threads_free(d);
    stop_parked();
}

static void *blocker_main(void *arg)
{
    (void)arg;
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, cprof_threads_signal());
    pthread_sigmask(SIG_BLOCK, &s, NULL);
    threads_test_park();
    return NULL;
}

Test(threads, blocked_signal_reported_without_waiting)
{
    sem_init(&release_sem, 0, 0);
    pthread_t t;
    cr_assert_eq(cprof_thread_create(&t, NULL, blocker_main, NULL, "blocker"), 0);
    wait_for(&parked, 1);
    cprof_threads_t *d;
    int64_t t0 = now_ns();
    cr_assert_eq(cprof_threads_dump(5000000000LL, &d), 0);
    int64_t took = now_ns() - t0;
    bool seen = false;
    for (size_t i = 0; i < cprof_threads_count(d); i++) {
        const cprof_thread_t *th = cprof_threads_get(d, i);
        if (strcmp(th->name, "blocker") == 0) {
            seen = true;
            cr_assert_eq(th->status, -EAGAIN, "status %d", th->status);
            cr_assert_eq(th->npcs, 0);
        }
    }
    cr_assert(seen);
    /* Not waiting for the 5 s timeout is the point; 4 s leaves any noise. */
    cr_assert_lt(took, 4000000000LL, "the dump waited %lld ns for a blocked thread",
                 (long long)took);
    cprof_threads_free(d);
    sem_post(&release_sem);
    pthread_join(t, NULL);
}

/* A dump interrupts blocking calls: poll returns EINTR (retried here), and
 * a nanosleep loop that resumes with the remaining time still sleeps its
 * full duration. */
static int stop_io;

static void *poller_main(void *arg)
{
    (void)arg;
    __atomic_add_fetch(&parked, 1, __ATOMIC_RELEASE);
    while (!__atomic_load_n(&stop_io, __ATOMIC_ACQUIRE)) {
        if (poll(NULL, 0, 50) < 0 && errno == EINTR)
            __atomic_add_fetch(&poll_eintr, 1, __ATOMIC_RELAXED);
    }
    return NULL;
}

static void *sleeper_main(void *arg)
{
    (void)arg;
    __atomic_add_fetch(&parked, 1, __ATOMIC_RELEASE);
    int64_t t0 = now_ns();
    struct timespec ts = {0, 300 * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
    if (now_ns() - t0 >= 300 * 1000000LL)
        __atomic_store_n(&nanosleep_ok, 1, __ATOMIC_RELEASE);
    return NULL;
}

Test(threads, blocking_calls_see_eintr_and_recover)
{
    pthread_t a, b;
    cr_assert_eq(cprof_thread_create(&a, NULL, poller_main, NULL, "poller"), 0);
    cr_assert_eq(cprof_thread_create(&b, NULL, sleeper_main, NULL, "sleeper"), 0);
    wait_for(&parked, 2);
    for (int i = 0; i < 5; i++) {
        cprof_threads_t *d;
        cr_assert_eq(cprof_threads_dump(0, &d), 0);
        cprof_threads_free(d);
        usleep(5000);
    }
    pthread_join(b, NULL);
    __atomic_store_n(&stop_io, 1, __ATOMIC_RELEASE);
    pthread_join(a, NULL);
    cr_assert_gt(poll_eintr, 0, "poll should have returned EINTR at least once");
    cr_assert_eq(nanosleep_ok, 1, "the nanosleep loop must sleep its full time");
}

__attribute__((noinline)) void threads_test_creator(pthread_t *t)
{
    cr_assert_eq(cprof_thread_create(t, NULL, parked_main, NULL, "created"), 0);
}

Test(threads, threadcreate_profile_names_the_creator)
{
    sem_init(&release_sem, 0, 0);
    pthread_t t[3];
    /* One call site, so the three creating stacks are equal. */
    for (volatile int i = 0; i < 3; i++)
        threads_test_creator(&t[i]);
    wait_for(&parked, 3);
    cr_assert_eq(cprof_threadcreate_count(), 3);

    char *text;
    size_t len;
    FILE *f = open_memstream(&text, &len);
    cr_assert_eq(cprof_threadcreate_write_text(f), 0);
    fclose(f);
    cr_assert(strncmp(text, "threadcreate profile: total ", 28) == 0, "%s", text);
    cr_assert(strstr(text, "\n3 @ 0x"), "the 3 threads share one creating stack:\n%s", text);
    cr_assert(strstr(text, "\tthreads_test_creator\t"), "creator not named:\n%s", text);
    cr_assert(strstr(text, "[created outside cprof_thread_create]"),
              "the main thread was not made by the wrapper:\n%s", text);
    free(text);

    uint8_t *data;
    cr_assert_eq(cprof_threadcreate_write_pprof(&data, &len), 0);
    cprof_profile_t *p;
    cr_assert_eq(cprof_profile_decode(data, len, &p), 0);
    cr_assert_str_eq(p->sample_types[0].type, "threadcreate");
    free(data);
    cprof_profile_free(p);

    for (int i = 0; i < 3; i++)
        sem_post(&release_sem);
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    cr_assert_eq(cprof_threadcreate_count(), 0, "ended threads must leave the profile");
}

Test(threads, dump_of_50_threads_is_fast)
{
    enum { N = 50 };
    sem_init(&release_sem, 0, 0);
    pthread_t t[N];
    for (int i = 0; i < N; i++)
        cr_assert_eq(cprof_thread_create(&t[i], NULL, parked_main, NULL, "idle"), 0);
    wait_for(&parked, N);
    int64_t best = INT64_MAX;
    for (int r = 0; r < 5; r++) {
        cprof_threads_t *d;
        cr_assert_eq(cprof_threads_dump(0, &d), 0);
        int answered = 0;
        for (size_t i = 0; i < cprof_threads_count(d); i++) {
            const cprof_thread_t *th = cprof_threads_get(d, i);
            answered += strcmp(th->name, "idle") == 0 && th->status == 0;
        }
        cr_assert_eq(answered, N, "every idle thread answers (%d of %d did)", answered, N);
        if (cprof_threads_took_ns(d) < best)
            best = cprof_threads_took_ns(d);
        cprof_threads_free(d);
    }
    cr_log_info("dump of %d idle threads: best %.3f ms", N + 1, (double)best / 1e6);
    for (int i = 0; i < N; i++)
        sem_post(&release_sem);
    for (int i = 0; i < N; i++)
        pthread_join(t[i], NULL);
}
