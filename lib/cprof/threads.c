/* Thread dumps (see include/cprof/threads.h).
 *
 * Data flow: the collector lists /proc/self/task, preallocates one slot per
 * tid in a dump_t, publishes it in `cur`, reads each thread's stat and
 * signal mask, and sends the signal with tgkill to every thread that does
 * not block it (itself included: its handler runs before tgkill returns).
 * Each handler finds its slot by tid, claims it (CAS 0 -> 2, so a late
 * signal of an earlier dump can never answer twice), unwinds into it, marks
 * it done (release) and posts the dump's semaphore. The collector counts
 * posts until all answered or the deadline passed, then unpublishes the
 * dump and waits until no handler is inside (`inflight`, the same scheme as
 * the CPU profiler's) before it reads the slots: a signal still pending then
 * finds no dump and does nothing.
 *
 * Dumps are serialized by dump_mu. The handler stays installed for the life
 * of the process: a late real-time signal with the default action would kill
 * it. */

#include "cprof/threads.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "cprof/threads_int.h"
#include "cprof/unwind_int.h"

#define MAX_DEPTH 64

typedef struct slot {
    pid_t tid;
    int done; /* 0 free, 2 writing, 1 done (atomic) */
    int npcs;
    bool exact;
    uint64_t pcs[MAX_DEPTH];
} slot_t;

typedef struct dump {
    sem_t sem;
    size_t n;
    slot_t *slots;
} dump_t;

struct cprof_threads {
    size_t n;
    cprof_thread_t *threads;
    uint64_t *pcs;
    int64_t time_ns, took_ns;
};

static pthread_mutex_t dump_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int init_err;
static dump_t *cur;  /* atomic: the dump handlers answer to */
static int inflight; /* atomic: handlers running */

int cprof_threads_signal(void) { return SIGRTMIN + 6; }

static void on_dump_signal(int sig, siginfo_t *si, void *ucv)
{
    (void)sig, (void)si;
    int saved_errno = errno;
    __atomic_add_fetch(&inflight, 1, __ATOMIC_SEQ_CST);
    dump_t *d = __atomic_load_n(&cur, __ATOMIC_SEQ_CST);
    if (!d)
        goto out;
    pid_t tid = (pid_t)syscall(SYS_gettid);
    slot_t *s = NULL;
    for (size_t i = 0; i < d->n; i++) {
        if (d->slots[i].tid == tid) {
            s = &d->slots[i];
            break;
        }
    }
    int expect = 0;
    if (!s || !__atomic_compare_exchange_n(&s->done, &expect, 2, false, __ATOMIC_ACQUIRE,
                                           __ATOMIC_RELAXED))
        goto out;
    int depth = cprof__signal_stack(ucv, s->pcs, MAX_DEPTH);
    s->npcs = depth;
    s->exact = true;
    __atomic_store_n(&s->done, 1, __ATOMIC_RELEASE);
    sem_post(&d->sem);
out:
    __atomic_sub_fetch(&inflight, 1, __ATOMIC_SEQ_CST);
    errno = saved_errno;
}

static void init_once(void)
{
    init_err = cprof__signal_install(cprof_threads_signal(), on_dump_signal);
}

static int64_t clock_ns(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Reads a small /proc file into buf (NUL-terminated); length or -errno. */
static ssize_t read_small(const char *path, char *buf, size_t size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    size_t len = 0;
    while (len + 1 < size) {
        ssize_t r = read(fd, buf + len, size - 1 - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        len += (size_t)r;
    }
    close(fd);
    buf[len] = '\0';
    return (ssize_t)len;
}

/* Name, state and CPU times from /proc/self/task/<tid>/stat: "tid (comm) S
 * ... utime stime" (fields 14 and 15 in clock ticks). */
static int read_stat(pid_t tid, cprof_thread_t *t)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)tid);
    if (read_small(path, buf, sizeof(buf)) <= 0)
        return -ESRCH;
    char *open_paren = strchr(buf, '('), *close_paren = strrchr(buf, ')');
    if (!open_paren || !close_paren || close_paren < open_paren)
        return -EIO;
    size_t nl = (size_t)(close_paren - open_paren - 1);
    if (nl >= sizeof(t->name))
        nl = sizeof(t->name) - 1;
    memcpy(t->name, open_paren + 1, nl);
    t->name[nl] = '\0';
    char *p = close_paren + 2;
    t->state = *p ? *p : '?';
    /* Field 3 is the state; utime and stime are fields 14 and 15. */
    for (int field = 3; field < 14 && p; field++) {
        p = strchr(p, ' ');
        if (p)
            p++;
    }
    if (p) {
        long tick = sysconf(_SC_CLK_TCK);
        unsigned long long ut = 0, st = 0;
        if (sscanf(p, "%llu %llu", &ut, &st) == 2 && tick > 0) {
            t->utime_ns = (int64_t)(ut * (1000000000ULL / (unsigned long long)tick));
            t->stime_ns = (int64_t)(st * (1000000000ULL / (unsigned long long)tick));
        }
    }
    return 0;
}

/* True when the thread blocks sig (SigBlk in its status). */
static bool blocks_signal(pid_t tid, int sig)
{
    char path[64], buf[2048];
    snprintf(path, sizeof(path), "/proc/self/task/%d/status", (int)tid);
    if (read_small(path, buf, sizeof(buf)) <= 0)
        return false;
    const char *p = strstr(buf, "\nSigBlk:");
    if (!p)
        return false;
    unsigned long long mask = strtoull(p + 8, NULL, 16);
    return (mask >> (sig - 1)) & 1;
}

/* A thread that is just starting (under 1 ms of CPU time on its clock)
 * may still have the all-blocked mask glibc gives a new thread until
 * start_thread restores its creator's: waits up to 10 ms for it to unblock
 * sig. Threads that ran longer and block sig are not waited for. */
static bool starts_unblocking(pid_t tid, int sig)
{
    struct timespec cpu;
    clockid_t clock = (clockid_t)((~(unsigned)tid << 3) | 6); /* the thread's CPU clock */
    if (clock_gettime(clock, &cpu) != 0 || cpu.tv_sec != 0 || cpu.tv_nsec >= 1000000)
        return false;
    for (int i = 0; i < 20; i++) {
        struct timespec ts = {0, 500000};
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
            ;
        if (!blocks_signal(tid, sig))
            return true;
    }
    return false;
}

/* The tids of this process, malloc'ed. */
static int list_tids(pid_t **out, size_t *n)
{
    DIR *dir = opendir("/proc/self/task");
    if (!dir)
        return -errno;
    size_t cap = 64, len = 0;
    pid_t *tids = malloc(cap * sizeof(*tids));
    int rc = 0;
    struct dirent *e;
    while (tids && (e = readdir(dir)) != NULL) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        if (len == cap) {
            pid_t *more = realloc(tids, cap * 2 * sizeof(*tids));
            if (!more) {
                free(tids);
                tids = NULL;
                break;
            }
            tids = more;
            cap *= 2;
        }
        tids[len++] = (pid_t)atoi(e->d_name);
    }
    closedir(dir);
    if (!tids)
        rc = -ENOMEM;
    *out = tids;
    *n = len;
    return rc;
}

/* Waits for `want` posts or the deadline (CLOCK_REALTIME, as sem_timedwait
 * measures); returns the posts seen. */
static size_t wait_answers(sem_t *sem, size_t want, int64_t timeout_ns)
{
    int64_t dl = clock_ns(CLOCK_REALTIME) + timeout_ns;
    struct timespec ts = {.tv_sec = dl / 1000000000, .tv_nsec = dl % 1000000000};
    size_t got = 0;
    while (got < want) {
        if (sem_timedwait(sem, &ts) == 0)
            got++;
        else if (errno != EINTR)
            break;
    }
    return got;
}

int cprof_threads_dump(int64_t timeout_ns, cprof_threads_t **out)
{
    if (timeout_ns <= 0)
        timeout_ns = 1000000000LL;
    pthread_once(&once, init_once);
    if (init_err)
        return init_err;
    int sig = cprof_threads_signal();
    pthread_mutex_lock(&dump_mu);
    int64_t t0 = clock_ns(CLOCK_MONOTONIC);
    pid_t *tids = NULL;
    size_t n = 0;
    dump_t d = {0};
    cprof_threads_t *res = calloc(1, sizeof(*res));
    int rc = res ? list_tids(&tids, &n) : -ENOMEM;
    if (rc)
        goto fail;
    res->time_ns = clock_ns(CLOCK_REALTIME);
    d.n = n;
    d.slots = calloc(n ? n : 1, sizeof(*d.slots));
    res->threads = calloc(n ? n : 1, sizeof(*res->threads));
    if (!d.slots || !res->threads) {
        rc = -ENOMEM;
        goto fail;
    }
    for (size_t i = 0; i < n; i++)
        d.slots[i].tid = tids[i];
    sem_init(&d.sem, 0, 0);
    __atomic_store_n(&cur, &d, __ATOMIC_SEQ_CST);

    /* Each thread's state is read before its signal, which wakes it. */
    size_t sent = 0;
    pid_t pid = getpid();
    for (size_t i = 0; i < n; i++) {
        cprof_thread_t *t = &res->threads[i];
        t->tid = tids[i];
        t->state = '?';
        if (read_stat(tids[i], t) == -ESRCH) {
            t->status = -ESRCH;
            continue;
        }
        if (blocks_signal(tids[i], sig) && !starts_unblocking(tids[i], sig)) {
            t->status = -EAGAIN;
            continue;
        }
        if (syscall(SYS_tgkill, pid, tids[i], sig) != 0) {
            t->status = errno == ESRCH ? -ESRCH : -errno;
            continue;
        }
        sent++;
    }
    wait_answers(&d.sem, sent, timeout_ns);
    __atomic_store_n(&cur, NULL, __ATOMIC_SEQ_CST);
    while (__atomic_load_n(&inflight, __ATOMIC_SEQ_CST) != 0)
        sched_yield();

    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        if (__atomic_load_n(&d.slots[i].done, __ATOMIC_ACQUIRE) == 1)
            total += (size_t)d.slots[i].npcs;
    res->pcs = malloc((total ? total : 1) * sizeof(*res->pcs));
    if (!res->pcs) {
        rc = -ENOMEM;
        sem_destroy(&d.sem);
        goto fail;
    }
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        cprof_thread_t *t = &res->threads[i];
        slot_t *s = &d.slots[i];
        if (__atomic_load_n(&s->done, __ATOMIC_ACQUIRE) != 1) {
            if (t->status == 0)
                t->status = -ETIMEDOUT;
            continue;
        }
        t->status = 0;
        memcpy(res->pcs + at, s->pcs, (size_t)s->npcs * sizeof(*s->pcs));
        t->pcs = res->pcs + at;
        t->npcs = (size_t)s->npcs;
        t->leaf_exact = s->exact;
        at += (size_t)s->npcs;
    }
    res->n = n;
    sem_destroy(&d.sem);
    free(d.slots);
    free(tids);
    res->took_ns = clock_ns(CLOCK_MONOTONIC) - t0;
    pthread_mutex_unlock(&dump_mu);
    *out = res;
    return 0;
fail:
    free(d.slots);
    free(tids);
    pthread_mutex_unlock(&dump_mu);
    cprof_threads_free(res);
    return rc;
}

void cprof_threads_free(cprof_threads_t *t)
{
    if (!t)
        return;
    free(t->threads);
    free(t->pcs);
    free(t);
}

size_t cprof_threads_count(const cprof_threads_t *t) { return t->n; }

const cprof_thread_t *cprof_threads_get(const cprof_threads_t *t, size_t i)
{
    return i < t->n ? &t->threads[i] : NULL;
}

int64_t cprof_threads_time_ns(const cprof_threads_t *t) { return t->time_ns; }
int64_t cprof_threads_took_ns(const cprof_threads_t *t) { return t->took_ns; }
