/* cprof_mutex_t / cprof_cond_t and the mutex and block profiles they feed. */

#include <criterion/criterion.h>
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cprof/lock.h"

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void sleep_ns(int64_t ns)
{
    struct timespec ts = {ns / 1000000000, ns % 1000000000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static const char *fn_name(uint64_t pc)
{
    Dl_info info;
    if (dladdr((void *)(uintptr_t)(pc - 1), &info) && info.dli_sname)
        return info.dli_sname;
    return "?";
}

/* Sum of count and delay over the records whose frames name fn at depth
 * < 4 (and, when leaf is given, whose leaf frame is leaf). */
static void totals(cprof_lock_kind_t kind, const char *leaf, const char *fn, int64_t *count,
                   int64_t *delay)
{
    cprof_lock_profile_t *p;
    cr_assert_eq(cprof_lock_snapshot(kind, &p), 0);
    *count = *delay = 0;
    for (size_t i = 0; i < cprof_lock_profile_count(p); i++) {
        const cprof_lock_sample_t *s = cprof_lock_profile_sample(p, i);
        if (!s->npcs || (leaf && strcmp(fn_name(s->pcs[0]), leaf) != 0))
            continue;
        for (size_t k = 0; k < s->npcs && k < 4; k++) {
            if (strcmp(fn_name(s->pcs[k]), fn) == 0) {
                *count += s->count;
                *delay += s->delay_ns;
                break;
            }
        }
    }
    cprof_lock_profile_free(p);
}

static void setup(void)
{
    cprof_lock_reset();
    cprof_set_mutex_profile_fraction(1);
    cprof_set_block_profile_rate(1);
}

TestSuite(lock, .init = setup);

Test(lock, uncontended_records_nothing)
{
    cprof_mutex_t m = CPROF_MUTEX_INITIALIZER;
    for (int i = 0; i < 1000; i++) {
        cprof_mutex_lock(&m);
        cprof_mutex_unlock(&m);
    }
    cr_assert_eq(cprof_mutex_trylock(&m), 0);
    cr_assert_eq(cprof_mutex_trylock(&m), -EBUSY, "trylock of a held mutex should be -EBUSY");
    cprof_mutex_unlock(&m);
    cprof_lock_profile_t *p;
    cr_assert_eq(cprof_lock_snapshot(CPROF_LOCK_MUTEX, &p), 0);
    cr_assert_eq(cprof_lock_profile_count(p), 0, "expected no mutex records, got %zu",
                 cprof_lock_profile_count(p));
    cr_assert_eq(cprof_lock_profile_period(p), 1);
    cprof_lock_profile_free(p);
}

/* The holder sleeps HOLD_NS with the lock held while the waiter waits. */
#define HOLD_NS (40 * 1000000LL)
#define ROUNDS 5

static cprof_mutex_t fight = CPROF_MUTEX_INITIALIZER;
static int64_t waited_ns; /* measured by the waiter around its lock */
static int phase;         /* atomic handshake */

/* The known functions of the tests end with a store after the call, so the
 * compiler cannot turn the call into a tail jump (which would hide them). */
static volatile int calls;

__attribute__((noinline)) void lock_test_holder_release(void)
{
    cprof_mutex_unlock(&fight);
    calls++;
}

static void *holder(void *arg)
{
    (void)arg;
    for (int r = 0; r < ROUNDS; r++) {
        cprof_mutex_lock(&fight);
        __atomic_store_n(&phase, 2 * r + 1, __ATOMIC_RELEASE);
        /* Let the waiter block on the lock (it announces itself just
         * before; the sleep covers the rest). */
        sleep_ns(HOLD_NS);
        lock_test_holder_release();
        /* Bounded, so a failed test never leaves this thread spinning. */
        int64_t deadline = now_ns() + 10 * 1000000000LL;
        while (__atomic_load_n(&phase, __ATOMIC_ACQUIRE) != 2 * r + 2 && now_ns() < deadline)
            sleep_ns(100000);
    }
    return NULL;
}

__attribute__((noinline)) void lock_test_waiter_take(void)
{
    cprof_mutex_lock(&fight);
    calls++;
}

Test(lock, mutex_delay_charged_to_unlocker)
{
    pthread_t t;
    pthread_create(&t, NULL, holder, NULL);
    for (int r = 0; r < ROUNDS; r++) {
        while (__atomic_load_n(&phase, __ATOMIC_ACQUIRE) != 2 * r + 1)
            sleep_ns(100000);
        int64_t t0 = now_ns();
        lock_test_waiter_take();
        waited_ns += now_ns() - t0;
        cprof_mutex_unlock(&fight);
        __atomic_store_n(&phase, 2 * r + 2, __ATOMIC_RELEASE);
    }
    pthread_join(t, NULL);

    int64_t count, delay;
    totals(CPROF_LOCK_MUTEX, "cprof_mutex_unlock", "lock_test_holder_release", &count, &delay);
    cr_assert_eq(count, ROUNDS, "expected %d contentions at the unlocker, got %lld", ROUNDS,
                 (long long)count);
    /* The charge stops at the unlock, the measured wait also covers the
     * wake-up: the profile may be lower by scheduling latency only. */
    cr_assert(delay <= waited_ns && delay >= waited_ns * 8 / 10,
              "mutex delay %lld ns should be within 20%% below the measured wait %lld ns",
              (long long)delay, (long long)waited_ns);

    totals(CPROF_LOCK_BLOCK, "cprof_mutex_lock", "lock_test_waiter_take", &count, &delay);
    cr_assert_eq(count, ROUNDS, "expected %d block events at the waiter, got %lld", ROUNDS,
                 (long long)count);
    cr_assert(delay <= waited_ns && delay >= waited_ns * 9 / 10,
              "block delay %lld ns should match the measured wait %lld ns", (long long)delay,
              (long long)waited_ns);
}

static cprof_mutex_t cmu = CPROF_MUTEX_INITIALIZER;
static cprof_cond_t cv;
static bool ready;

static void *signaler(void *arg)
{
    (void)arg;
    sleep_ns(30 * 1000000LL);
    cprof_mutex_lock(&cmu);
    ready = true;
    cprof_cond_signal(&cv);
    cprof_mutex_unlock(&cmu);
    return NULL;
}

__attribute__((noinline)) void lock_test_cond_waiter(void)
{
    cprof_mutex_lock(&cmu);
    while (!ready)
        cprof_cond_wait(&cv, &cmu);
    cprof_mutex_unlock(&cmu);
    calls++;
}

Test(lock, cond_wait_in_block_profile)
{
    cr_assert_eq(cprof_cond_init(&cv), 0);
    pthread_t t;
    pthread_create(&t, NULL, signaler, NULL);
    int64_t t0 = now_ns();
    lock_test_cond_waiter();
    int64_t waited = now_ns() - t0;
    pthread_join(t, NULL);
    int64_t count, delay;
    totals(CPROF_LOCK_BLOCK, "cprof_cond_wait", "lock_test_cond_waiter", &count, &delay);
    cr_assert_geq(count, 1, "the cond wait should be in the block profile");
    cr_assert(delay > 20 * 1000000LL && delay <= waited,
              "block delay %lld ns should be most of the %lld ns wait", (long long)delay,
              (long long)waited);
    cprof_cond_destroy(&cv);
}

Test(lock, timedwait_times_out)
{
    cprof_cond_t c;
    cprof_mutex_t m;
    cr_assert_eq(cprof_cond_init(&c), 0);
    cr_assert_eq(cprof_mutex_init(&m), 0);
    cprof_mutex_lock(&m);
    int64_t t0 = now_ns();
    int rc = cprof_cond_timedwait(&c, &m, t0 + 10 * 1000000LL);
    int64_t took = now_ns() - t0;
    cprof_mutex_unlock(&m);
    cr_assert_eq(rc, -ETIMEDOUT);
    cr_assert_geq(took, 10 * 1000000LL, "timed wait returned after %lld ns", (long long)took);
    cprof_lock_profile_t *p;
    cr_assert_eq(cprof_lock_snapshot(CPROF_LOCK_BLOCK, &p), 0);
    cr_assert_eq(cprof_lock_profile_count(p), 1, "expected one block record, got %zu",
                 cprof_lock_profile_count(p));
    const cprof_lock_sample_t *s = cprof_lock_profile_sample(p, 0);
    cr_assert_str_eq(fn_name(s->pcs[0]), "cprof_cond_timedwait");
    cr_assert_geq(s->delay_ns, 10 * 1000000LL);
    cprof_lock_profile_free(p);
    cprof_cond_destroy(&c);
    cprof_mutex_destroy(&m);
}

__attribute__((noinline)) void fp_inner(void)
{
    cprof_cond_t c;
    cprof_mutex_t m;
    cprof_cond_init(&c);
    cprof_mutex_init(&m);
    cprof_mutex_lock(&m);
    cprof_cond_timedwait(&c, &m, now_ns() + 1000000LL);
    cprof_mutex_unlock(&m);
    cprof_cond_destroy(&c);
    cprof_mutex_destroy(&m);
    __asm__ volatile("" ::: "memory"); /* not a tail call */
}

__attribute__((noinline)) void fp_outer(void)
{
    fp_inner();
    __asm__ volatile("" ::: "memory");
}

/* The same wait recorded through backtrace() and through the frame-pointer
 * walk: the walk gives the same frames, up to and including the first one
 * outside this executable (here in libcriterion), where it stops. */
Test(lock, frame_pointer_stacks_match_backtrace)
{
    uint64_t pcs[2][64];
    size_t n[2];
    for (int i = 0; i < 2; i++) {
        cprof_lock_use_frame_pointers(i == 1);
        cprof_lock_reset();
        fp_outer();
        cprof_lock_profile_t *p;
        cr_assert_eq(cprof_lock_snapshot(CPROF_LOCK_BLOCK, &p), 0);
        cr_assert_eq(cprof_lock_profile_count(p), 1);
        const cprof_lock_sample_t *s = cprof_lock_profile_sample(p, 0);
        n[i] = s->npcs < 64 ? s->npcs : 64;
        memcpy(pcs[i], s->pcs, n[i] * sizeof(uint64_t));
        cprof_lock_profile_free(p);
    }
    cprof_lock_use_frame_pointers(false);
    cr_assert_str_eq(fn_name(pcs[1][0]), "cprof_cond_timedwait");
    cr_assert_str_eq(fn_name(pcs[1][1]), "fp_inner");
    cr_assert_str_eq(fn_name(pcs[1][2]), "fp_outer");
    cr_assert_geq(n[1], 4, "the walk reaches the test body");
    cr_assert_leq(n[1], n[0], "the walk has no frames backtrace() lacks");
    for (size_t k = 0; k < n[1]; k++)
        cr_assert_eq(pcs[1][k], pcs[0][k], "frame %zu: walk %#llx, backtrace %#llx", k,
                     (unsigned long long)pcs[1][k], (unsigned long long)pcs[0][k]);
}

Test(lock, rates_off_record_nothing)
{
    cprof_set_mutex_profile_fraction(0);
    cprof_set_block_profile_rate(0);
    cr_assert_eq(cprof_set_mutex_profile_fraction(-1), 0);
    cr_assert_eq(cprof_block_profile_rate(), 0);
    cr_assert_eq(cprof_cond_init(&cv), 0);
    ready = false;
    pthread_t t;
    pthread_create(&t, NULL, signaler, NULL);
    lock_test_cond_waiter();
    pthread_join(t, NULL);
    cprof_lock_profile_t *p;
    cr_assert_eq(cprof_lock_snapshot(CPROF_LOCK_BLOCK, &p), 0);
    cr_assert_eq(cprof_lock_profile_count(p), 0, "rate 0 must record nothing");
    cprof_lock_profile_free(p);
    cprof_cond_destroy(&cv);
}

static void *short_holder(void *arg)
{
    cprof_mutex_t *m = arg;
    for (int i = 0; i < 2000; i++) {
        cprof_mutex_lock(m);
        for (volatile int k = 0; k < 2000; k++)
            ;
        cprof_mutex_unlock(m);
    }
    return NULL;
}

Test(lock, many_threads_bookkeeping_consistent)
{
    cprof_mutex_t m = CPROF_MUTEX_INITIALIZER;
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, short_holder, &m);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    cr_assert_eq(m._nwait, 0, "no waiter may stay registered, %d left", m._nwait);
    cr_assert_eq(m._wait_sum, 0, "waiter start sum should return to 0, got %lld",
                 (long long)m._wait_sum);
}

static void name_pc(uint64_t pc, FILE *out, void *arg)
{
    (void)arg;
    fprintf(out, "#\t%#llx\t%s\n", (unsigned long long)pc, fn_name(pc));
}

Test(lock, text_format)
{
    pthread_t t;
    pthread_create(&t, NULL, holder, NULL);
    phase = 0;
    for (int r = 0; r < 1; r++) {
        while (__atomic_load_n(&phase, __ATOMIC_ACQUIRE) != 2 * r + 1)
            sleep_ns(100000);
        lock_test_waiter_take();
        cprof_mutex_unlock(&fight);
        __atomic_store_n(&phase, 2 * r + 2, __ATOMIC_RELEASE);
    }
    /* The holder runs ROUNDS rounds; finish them. */
    for (int r = 1; r < ROUNDS; r++) {
        while (__atomic_load_n(&phase, __ATOMIC_ACQUIRE) != 2 * r + 1)
            sleep_ns(100000);
        cprof_mutex_lock(&fight);
        cprof_mutex_unlock(&fight);
        __atomic_store_n(&phase, 2 * r + 2, __ATOMIC_RELEASE);
    }
    pthread_join(t, NULL);
    cprof_lock_profile_t *p;
    cr_assert_eq(cprof_lock_snapshot(CPROF_LOCK_MUTEX, &p), 0);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    cr_assert_eq(cprof_lock_write_text(p, name_pc, NULL, f), 0);
    fclose(f);
    cr_assert(strncmp(text, "--- mutex:\ncycles/second=1000000000\nsampling period=1\n", 52) == 0,
              "unexpected header: %.80s", text);
    cr_assert(strstr(text, "\tlock_test_holder_release\n"), "no frame line names the unlocker:\n%s",
              text);
    free(text);
    cprof_lock_profile_free(p);
}
