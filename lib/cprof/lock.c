/* Profiled mutexes and condition variables (see include/cprof/lock.h).
 *
 * Fast paths: lock is a trylock; unlock reads the mutex's waiter count
 * (relaxed) and unlocks. Everything else happens only when a lock has to
 * wait or when a condition variable is waited on.
 *
 * Mutex profile bookkeeping. A waiter registers in the mutex before it
 * blocks: _nwait++ and _wait_sum += its start time. An unlock that finds
 * waiters charges them the time they waited so far, n*now - _wait_sum, to its
 * own stack, and moves every waiter's start to now (_wait_sum = n*now,
 * _charged = now). A waiter that gets the lock deregisters with its start
 * time moved forward to the last charge, max(start, _charged). So every
 * waiter's wait, up to the unlock that let it in, is charged exactly once,
 * split between the unlocks that happened while it waited; as in Go, the time
 * between that unlock and the waiter running again is not counted. A tiny
 * spinlock (_spin) orders these few instructions; it is only touched on the
 * contended paths.
 *
 * Records are kept per stack in one hash table per profile under one plain
 * pthread mutex (never a cprof one: it would record itself), taken only for a
 * sampled event, after the profiled mutex was released. Stacks come from
 * glibc's backtrace() (libgcc's DWARF unwinder: several µs), or, once the
 * program says it is built with frame pointers (cprof_lock_use_frame_
 * pointers), from a walk of the frame-pointer chain (tens of ns) that stays
 * inside the thread's stack and stops at the first return address outside
 * the main executable, whose code is the only code known to keep frame
 * pointers; a walk that cannot find the caller falls back to backtrace().
 * The leaf frame is the public wrapper (as Go shows
 * sync.(*Mutex).Unlock), followed by its caller found through
 * __builtin_return_address so inlining and tail calls inside this file never
 * change the stack. */

#include "cprof/lock.h"

#include <errno.h>
#include <execinfo.h>
#include <link.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_DEPTH 64
#define MAX_RECORDS 16384

typedef struct record {
    uint64_t hash;
    double count, delay;
    uint32_t npcs;
    uint64_t pcs[];
} record_t;

typedef struct table {
    record_t **slots; /* open addressing, power of two */
    size_t cap, len;
    uint64_t dropped;
} table_t;

static pthread_mutex_t tables_mu = PTHREAD_MUTEX_INITIALIZER;
static table_t tables[2];
static int mutex_fraction; /* atomic */
static int64_t block_rate; /* atomic, ns */

struct cprof_lock_profile {
    cprof_lock_kind_t kind;
    int64_t period, time_ns;
    uint64_t dropped;
    size_t n;
    cprof_lock_sample_t *samples;
    uint64_t *pcs;
};

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Per-thread xorshift64*: sampling decisions without shared state. */
static uint64_t fastrand(void)
{
    static __thread uint64_t s;
    if (!s)
        s = ((uint64_t)mono_ns() ^ ((uint64_t)gettid() << 32)) | 1;
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    return s * 2685821657736338717ULL;
}

static void spin_lock(int *s)
{
    while (__atomic_exchange_n(s, 1, __ATOMIC_ACQUIRE))
        while (__atomic_load_n(s, __ATOMIC_RELAXED))
            __builtin_ia32_pause();
}

static void spin_unlock(int *s) { __atomic_store_n(s, 0, __ATOMIC_RELEASE); }

/* ---- records ------------------------------------------------------------ */

static uint64_t hash_pcs(const uint64_t *pcs, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ pcs[i]) * 1099511628211ULL;
    return h ^ (h >> 29);
}

/* Called with tables_mu held. */
static bool table_grow(table_t *t)
{
    size_t cap = t->cap ? t->cap * 2 : 256;
    record_t **slots = calloc(cap, sizeof(*slots));
    if (!slots)
        return false;
    for (size_t i = 0; i < t->cap; i++) {
        record_t *r = t->slots[i];
        if (!r)
            continue;
        size_t j = r->hash & (cap - 1);
        while (slots[j])
            j = (j + 1) & (cap - 1);
        slots[j] = r;
    }
    free(t->slots);
    t->slots = slots;
    t->cap = cap;
    return true;
}

static void table_add(cprof_lock_kind_t kind, const uint64_t *pcs, size_t n, double count,
                      double delay)
{
    uint64_t h = hash_pcs(pcs, n);
    table_t *t = &tables[kind];
    pthread_mutex_lock(&tables_mu);
    size_t j = 0;
    if (t->cap) {
        j = h & (t->cap - 1);
        for (record_t *r; (r = t->slots[j]) != NULL; j = (j + 1) & (t->cap - 1)) {
            if (r->hash == h && r->npcs == n && memcmp(r->pcs, pcs, n * sizeof(*pcs)) == 0) {
                r->count += count;
                r->delay += delay;
                goto out;
            }
        }
    }
    /* A new record: keep the table at most half full. */
    if (t->len >= MAX_RECORDS || ((t->len + 1) * 2 > t->cap && !table_grow(t))) {
        t->dropped++;
        goto out;
    }
    j = h & (t->cap - 1);
    while (t->slots[j])
        j = (j + 1) & (t->cap - 1);
    record_t *r = malloc(sizeof(*r) + n * sizeof(*pcs));
    if (!r) {
        t->dropped++;
        goto out;
    }
    r->hash = h;
    r->count = count;
    r->delay = delay;
    r->npcs = (uint32_t)n;
    memcpy(r->pcs, pcs, n * sizeof(*pcs));
    t->slots[j] = r;
    t->len++;
out:
    pthread_mutex_unlock(&tables_mu);
}

/* ---- frame-pointer stacks -------------------------------------------------- */

static bool use_fp; /* atomic */
static uintptr_t exe_lo, exe_hi;
static pthread_once_t exe_once = PTHREAD_ONCE_INIT;
static __thread uintptr_t stack_lo, stack_hi; /* this thread's stack, once known */

/* The main program is the first object dl_iterate_phdr reports. */
static int find_exe(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size, (void)arg;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
            exe_lo = info->dlpi_addr + ph->p_vaddr;
            exe_hi = exe_lo + ph->p_memsz;
        }
    }
    return 1;
}

static void init_exe(void) { dl_iterate_phdr(find_exe, NULL); }

void cprof_lock_use_frame_pointers(bool on)
{
    if (on)
        pthread_once(&exe_once, init_exe);
    __atomic_store_n(&use_fp, on && exe_hi > exe_lo, __ATOMIC_RELEASE);
}

static bool thread_stack(void)
{
    if (stack_hi)
        return true;
    pthread_attr_t a;
    void *base;
    size_t size;
    if (pthread_getattr_np(pthread_self(), &a) != 0)
        return false;
    int rc = pthread_attr_getstack(&a, &base, &size);
    pthread_attr_destroy(&a);
    if (rc != 0)
        return false;
    stack_lo = (uintptr_t)base;
    stack_hi = stack_lo + size;
    return true;
}

/* Return addresses above the frame fp, from the one equal to ra on, into
 * raw; 0 when ra is not found within a few frames (the caller then unwinds
 * with backtrace()). Every frame read lies inside this thread's stack, and
 * the walk follows a saved frame pointer only out of a frame of the main
 * executable. */
static int fp_stack(uintptr_t fp, const void *ra, void **raw, int max)
{
    if (!thread_stack())
        return 0;
    int n = 0, skipped = 0;
    while (n < max) {
        if (fp < stack_lo || fp + 16 > stack_hi || (fp & 7))
            break;
        uintptr_t ret = ((const uintptr_t *)fp)[1];
        if (n == 0 && ret != (uintptr_t)ra) {
            if (++skipped > 8)
                return 0; /* not a frame-pointer chain we understand */
        } else {
            raw[n++] = (void *)ret;
        }
        if (ret < exe_lo || ret >= exe_hi)
            break; /* its caller may not keep a frame pointer */
        uintptr_t next = ((const uintptr_t *)fp)[0];
        if (next <= fp)
            break;
        fp = next;
    }
    return n;
}

/* Records one event at the current stack: the leaf is `wrapper` (the public
 * function the user called), then its caller's return address `ra` and
 * everything above it. */
static __attribute__((noinline)) void record(cprof_lock_kind_t kind, const void *wrapper,
                                             const void *ra, double count, double delay)
{
    void *raw[MAX_DEPTH + 8];
    int n = 0;
    if (__atomic_load_n(&use_fp, __ATOMIC_ACQUIRE))
        n = fp_stack((uintptr_t)__builtin_frame_address(0), ra, raw, MAX_DEPTH);
    if (n == 0)
        n = backtrace(raw, MAX_DEPTH + 8);
    int from = 1; /* skip record() itself */
    bool found = false;
    for (int i = 0; i < n && !found; i++) {
        if (raw[i] == ra) {
            from = i;
            found = true;
        }
    }
    uint64_t pcs[MAX_DEPTH];
    size_t np = 0;
    if (found)
        pcs[np++] = (uint64_t)(uintptr_t)wrapper + 1; /* a pc inside the wrapper */
    for (int i = from; i < n && np < MAX_DEPTH; i++)
        pcs[np++] = (uint64_t)(uintptr_t)raw[i];
    table_add(kind, pcs, np, count, delay);
}

static void mutex_event(int64_t delay, const void *wrapper, const void *ra)
{
    int rate = __atomic_load_n(&mutex_fraction, __ATOMIC_RELAXED);
    if (rate <= 0 || delay <= 0)
        return;
    if (rate > 1 && fastrand() % (uint64_t)rate != 0)
        return;
    record(CPROF_LOCK_MUTEX, wrapper, ra, (double)rate, (double)rate * (double)delay);
}

static void block_event(int64_t d, const void *wrapper, const void *ra)
{
    int64_t rate = __atomic_load_n(&block_rate, __ATOMIC_RELAXED);
    if (rate <= 0)
        return;
    if (d <= 0)
        d = 1;
    if (d < rate) {
        /* Go's blocksampled: keep with probability d/rate, and unbias. */
        if (fastrand() % (uint64_t)rate > (uint64_t)d)
            return;
        record(CPROF_LOCK_BLOCK, wrapper, ra, (double)rate / (double)d, (double)rate);
    } else {
        record(CPROF_LOCK_BLOCK, wrapper, ra, 1, (double)d);
    }
}

/* ---- mutex -------------------------------------------------------------- */

int cprof_mutex_init(cprof_mutex_t *m)
{
    memset(m, 0, sizeof(*m));
    return -pthread_mutex_init(&m->_m, NULL);
}

void cprof_mutex_destroy(cprof_mutex_t *m) { pthread_mutex_destroy(&m->_m); }

/* Registers a waiter; returns its start time as the bookkeeping sees it. */
static int64_t waiter_add(cprof_mutex_t *m, int64_t t0)
{
    spin_lock(&m->_spin);
    if (t0 < m->_charged)
        t0 = m->_charged;
    m->_wait_sum += t0;
    __atomic_store_n(&m->_nwait, m->_nwait + 1, __ATOMIC_RELAXED);
    spin_unlock(&m->_spin);
    return t0;
}

static void waiter_remove(cprof_mutex_t *m, int64_t start)
{
    spin_lock(&m->_spin);
    if (start < m->_charged)
        start = m->_charged;
    m->_wait_sum -= start;
    __atomic_store_n(&m->_nwait, m->_nwait - 1, __ATOMIC_RELAXED);
    spin_unlock(&m->_spin);
}

/* Charges the current waiters' delay so far; called by the holder just
 * before it releases the lock. */
static int64_t charge(cprof_mutex_t *m)
{
    int64_t now = mono_ns();
    spin_lock(&m->_spin);
    int64_t n = m->_nwait;
    int64_t delay = n * now - m->_wait_sum;
    m->_wait_sum = n * now;
    m->_charged = now;
    spin_unlock(&m->_spin);
    return delay;
}

static __attribute__((noinline)) void lock_slow(cprof_mutex_t *m, const void *ra)
{
    bool mp = __atomic_load_n(&mutex_fraction, __ATOMIC_RELAXED) > 0;
    bool bp = __atomic_load_n(&block_rate, __ATOMIC_RELAXED) > 0;
    if (!mp && !bp) {
        pthread_mutex_lock(&m->_m);
        return;
    }
    int64_t t0 = mono_ns(), start = 0;
    if (mp)
        start = waiter_add(m, t0);
    pthread_mutex_lock(&m->_m);
    int64_t t1 = mono_ns();
    if (mp)
        waiter_remove(m, start);
    if (bp)
        block_event(t1 - t0, (const void *)cprof_mutex_lock, ra);
}

void cprof_mutex_lock(cprof_mutex_t *m)
{
    if (__builtin_expect(pthread_mutex_trylock(&m->_m) == 0, 1))
        return;
    lock_slow(m, __builtin_return_address(0));
}

int cprof_mutex_trylock(cprof_mutex_t *m) { return -pthread_mutex_trylock(&m->_m); }

static __attribute__((noinline)) void unlock_slow(cprof_mutex_t *m, const void *wrapper,
                                                  const void *ra)
{
    int64_t delay = charge(m);
    pthread_mutex_unlock(&m->_m);
    mutex_event(delay, wrapper, ra);
}

void cprof_mutex_unlock(cprof_mutex_t *m)
{
    if (__builtin_expect(__atomic_load_n(&m->_nwait, __ATOMIC_RELAXED) == 0, 1)) {
        pthread_mutex_unlock(&m->_m);
        return;
    }
    unlock_slow(m, (const void *)cprof_mutex_unlock, __builtin_return_address(0));
}

/* ---- condition variable ------------------------------------------------- */

int cprof_cond_init(cprof_cond_t *c)
{
    pthread_condattr_t a;
    int rc = pthread_condattr_init(&a);
    if (rc)
        return -rc;
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    rc = pthread_cond_init(&c->_c, &a);
    pthread_condattr_destroy(&a);
    return -rc;
}

void cprof_cond_destroy(cprof_cond_t *c) { pthread_cond_destroy(&c->_c); }
void cprof_cond_signal(cprof_cond_t *c) { pthread_cond_signal(&c->_c); }
void cprof_cond_broadcast(cprof_cond_t *c) { pthread_cond_broadcast(&c->_c); }

/* The common part of wait and timedwait: the release of m is an unlock
 * (charges m's waiters), the whole wait a block event. */
static __attribute__((noinline)) int cond_wait(cprof_cond_t *c, cprof_mutex_t *m,
                                               const struct timespec *deadline, const void *wrapper,
                                               const void *ra)
{
    if (__atomic_load_n(&m->_nwait, __ATOMIC_RELAXED) != 0)
        mutex_event(charge(m), wrapper, ra);
    bool bp = __atomic_load_n(&block_rate, __ATOMIC_RELAXED) > 0;
    int64_t t0 = bp ? mono_ns() : 0;
    int rc = deadline ? pthread_cond_timedwait(&c->_c, &m->_m, deadline)
                      : pthread_cond_wait(&c->_c, &m->_m);
    if (bp)
        block_event(mono_ns() - t0, wrapper, ra);
    return rc == ETIMEDOUT ? -ETIMEDOUT : 0;
}

void cprof_cond_wait(cprof_cond_t *c, cprof_mutex_t *m)
{
    cond_wait(c, m, NULL, (const void *)cprof_cond_wait, __builtin_return_address(0));
}

int cprof_cond_timedwait(cprof_cond_t *c, cprof_mutex_t *m, int64_t deadline_mono_ns)
{
    struct timespec ts = {.tv_sec = deadline_mono_ns / 1000000000,
                          .tv_nsec = deadline_mono_ns % 1000000000};
    return cond_wait(c, m, &ts, (const void *)cprof_cond_timedwait, __builtin_return_address(0));
}

/* ---- rates and snapshots ------------------------------------------------ */

int cprof_set_mutex_profile_fraction(int rate)
{
    if (rate < 0)
        return __atomic_load_n(&mutex_fraction, __ATOMIC_RELAXED);
    return __atomic_exchange_n(&mutex_fraction, rate, __ATOMIC_RELAXED);
}

int cprof_set_block_profile_rate(int64_t rate_ns)
{
    __atomic_store_n(&block_rate, rate_ns > 0 ? rate_ns : 0, __ATOMIC_RELAXED);
    return 0;
}

int64_t cprof_block_profile_rate(void) { return __atomic_load_n(&block_rate, __ATOMIC_RELAXED); }

static int by_delay(const void *a, const void *b)
{
    const cprof_lock_sample_t *x = a, *y = b;
    return x->delay_ns > y->delay_ns ? -1 : x->delay_ns < y->delay_ns;
}

int cprof_lock_snapshot(cprof_lock_kind_t kind, cprof_lock_profile_t **out)
{
    int rc = -ENOMEM;
    cprof_lock_profile_t *p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    p->kind = kind;
    p->period = kind == CPROF_LOCK_MUTEX ? cprof_set_mutex_profile_fraction(-1)
                                         : cprof_block_profile_rate();
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    p->time_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;

    pthread_mutex_lock(&tables_mu);
    table_t *t = &tables[kind];
    size_t npcs = 0;
    for (size_t i = 0; i < t->cap; i++)
        if (t->slots[i])
            npcs += t->slots[i]->npcs;
    p->samples = calloc(t->len ? t->len : 1, sizeof(*p->samples));
    p->pcs = malloc((npcs ? npcs : 1) * sizeof(*p->pcs));
    if (!p->samples || !p->pcs)
        goto fail;
    size_t at = 0;
    for (size_t i = 0; i < t->cap; i++) {
        record_t *r = t->slots[i];
        if (!r)
            continue;
        cprof_lock_sample_t *s = &p->samples[p->n++];
        memcpy(p->pcs + at, r->pcs, r->npcs * sizeof(*r->pcs));
        s->pcs = p->pcs + at;
        s->npcs = r->npcs;
        s->count = (int64_t)(r->count + 0.5);
        s->delay_ns = (int64_t)(r->delay + 0.5);
        at += r->npcs;
    }
    p->dropped = t->dropped;
    pthread_mutex_unlock(&tables_mu);
    qsort(p->samples, p->n, sizeof(*p->samples), by_delay);
    *out = p;
    return 0;
fail:
    pthread_mutex_unlock(&tables_mu);
    cprof_lock_profile_free(p);
    return rc;
}

void cprof_lock_profile_free(cprof_lock_profile_t *p)
{
    if (!p)
        return;
    free(p->samples);
    free(p->pcs);
    free(p);
}

size_t cprof_lock_profile_count(const cprof_lock_profile_t *p) { return p->n; }

const cprof_lock_sample_t *cprof_lock_profile_sample(const cprof_lock_profile_t *p, size_t i)
{
    return i < p->n ? &p->samples[i] : NULL;
}

cprof_lock_kind_t cprof_lock_profile_kind(const cprof_lock_profile_t *p) { return p->kind; }
int64_t cprof_lock_profile_period(const cprof_lock_profile_t *p) { return p->period; }
int64_t cprof_lock_profile_time_ns(const cprof_lock_profile_t *p) { return p->time_ns; }
uint64_t cprof_lock_profile_dropped(const cprof_lock_profile_t *p) { return p->dropped; }

int cprof_lock_write_text(const cprof_lock_profile_t *p, cprof_lock_name_fn name_pc, void *arg,
                          FILE *out)
{
    fprintf(out, "--- %s:\n", p->kind == CPROF_LOCK_MUTEX ? "mutex" : "contention");
    fprintf(out, "cycles/second=1000000000\n");
    fprintf(out, "sampling period=%lld\n", (long long)p->period);
    for (size_t i = 0; i < p->n; i++) {
        const cprof_lock_sample_t *s = &p->samples[i];
        fprintf(out, "%lld %lld @", (long long)s->delay_ns, (long long)s->count);
        for (size_t k = 0; k < s->npcs; k++)
            fprintf(out, " %#llx", (unsigned long long)s->pcs[k]);
        fputc('\n', out);
        for (size_t k = 0; name_pc && k < s->npcs; k++)
            name_pc(s->pcs[k], out, arg);
        if (name_pc)
            fputc('\n', out);
    }
    fflush(out);
    return ferror(out) ? -EIO : 0;
}

void cprof_lock_reset(void)
{
    pthread_mutex_lock(&tables_mu);
    for (int k = 0; k < 2; k++) {
        table_t *t = &tables[k];
        for (size_t i = 0; i < t->cap; i++)
            free(t->slots[i]);
        free(t->slots);
        memset(t, 0, sizeof(*t));
    }
    pthread_mutex_unlock(&tables_mu);
}
