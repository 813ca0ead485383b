/* cprof_thread_create and the threadcreate profile.
 *
 * Why a wrapper rather than interposing pthread_create: an interposer would
 * have to live in every executable (a static library's symbol does not
 * interpose by itself), would call dlsym(RTLD_NEXT) lazily from whatever
 * thread creates first (dlsym may allocate while the allocator initializes
 * its own threads), and would fight the sanitizers, which interpose
 * pthread_create themselves. The wrapper is explicit and cheap; threads
 * other code creates (libmicrohttpd's) are counted in one "[created outside
 * cprof_thread_create]" sample, so the total still matches the live threads.
 *
 * The creator records its stack in a start record; the new thread names
 * itself, links the record into the live list (one mutex) and unlinks and
 * frees it when it ends (a cleanup handler, so pthread_exit and
 * cancellation are covered too). */

#include <dirent.h>
#include <errno.h>
#include <execinfo.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "cprof/pprof.h"
#include "cprof/threads.h"
#include "cprof/threads_int.h"

#define MAX_DEPTH 32

typedef struct start {
    struct start *prev, *next;
    void *(*fn)(void *);
    void *arg;
    char name[16];
    pid_t tid;
    int npcs;
    uint64_t pcs[MAX_DEPTH];
} start_t;

static pthread_mutex_t live_mu = PTHREAD_MUTEX_INITIALIZER;
static start_t *live;
static size_t nlive;

static void unlink_start(void *arg)
{
    start_t *s = arg;
    pthread_mutex_lock(&live_mu);
    if (s->prev)
        s->prev->next = s->next;
    else
        live = s->next;
    if (s->next)
        s->next->prev = s->prev;
    nlive--;
    pthread_mutex_unlock(&live_mu);
    free(s);
}

static void *trampoline(void *arg)
{
    start_t *s = arg;
    if (s->name[0])
        pthread_setname_np(pthread_self(), s->name);
    s->tid = (pid_t)syscall(SYS_gettid);
    pthread_mutex_lock(&live_mu);
    s->prev = NULL;
    s->next = live;
    if (live)
        live->prev = s;
    live = s;
    nlive++;
    pthread_mutex_unlock(&live_mu);
    void *ret;
    pthread_cleanup_push(unlink_start, s);
    ret = s->fn(s->arg);
    pthread_cleanup_pop(1);
    return ret;
}

int cprof_thread_create(pthread_t *thread, const pthread_attr_t *attr, void *(*start)(void *),
                        void *arg, const char *name)
{
    start_t *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->fn = start;
    s->arg = arg;
    if (name)
        snprintf(s->name, sizeof(s->name), "%s", name);
    void *raw[MAX_DEPTH];
    int n = backtrace(raw, MAX_DEPTH);
    for (int i = 0; i < n; i++)
        s->pcs[i] = (uint64_t)(uintptr_t)raw[i];
    s->npcs = n;
    char name_copy[16];
    memcpy(name_copy, s->name, sizeof(name_copy)); /* s may be gone once it runs */
    int rc = pthread_create(thread, attr, trampoline, s);
    if (rc != 0) {
        free(s);
        return -rc;
    }
    /* Named from here too, so it has its name as soon as we return (the
     * trampoline may not have run yet). */
    if (name_copy[0])
        pthread_setname_np(*thread, name_copy);
    return 0;
}

size_t cprof_threadcreate_count(void)
{
    pthread_mutex_lock(&live_mu);
    size_t n = nlive;
    pthread_mutex_unlock(&live_mu);
    return n;
}

static size_t count_tasks(void)
{
    DIR *d = opendir("/proc/self/task");
    size_t n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL)
        if (e->d_name[0] >= '0' && e->d_name[0] <= '9')
            n++;
    if (d)
        closedir(d);
    return n;
}

typedef struct rec {
    int npcs;
    uint64_t pcs[MAX_DEPTH];
    size_t count;
} rec_t;

/* Copies the live records grouped by stack; *others = live threads not made
 * by cprof_thread_create. */
static int snapshot(rec_t **out, size_t *n, size_t *others)
{
    size_t tasks = count_tasks();
    pthread_mutex_lock(&live_mu);
    rec_t *r = calloc(nlive ? nlive : 1, sizeof(*r));
    size_t m = 0, mine = nlive;
    for (start_t *s = live; r && s; s = s->next) {
        size_t j = 0;
        while (j < m && !(r[j].npcs == s->npcs &&
                          memcmp(r[j].pcs, s->pcs, (size_t)s->npcs * sizeof(*s->pcs)) == 0))
            j++;
        if (j == m) {
            r[m].npcs = s->npcs;
            memcpy(r[m].pcs, s->pcs, sizeof(s->pcs));
            m++;
        }
        r[j].count++;
    }
    pthread_mutex_unlock(&live_mu);
    if (!r)
        return -ENOMEM;
    *out = r;
    *n = m;
    *others = tasks > mine ? tasks - mine : 0;
    return 0;
}

static const char outside[] = "[created outside cprof_thread_create]";

int cprof_threadcreate_write_text(FILE *out)
{
    rec_t *r;
    size_t n, others;
    int rc = snapshot(&r, &n, &others);
    if (rc)
        return rc;
    size_t total = others;
    for (size_t i = 0; i < n; i++)
        total += r[i].count;
    fprintf(out, "threadcreate profile: total %zu\n", total);
    for (size_t i = 0; i < n; i++) {
        fprintf(out, "%zu @", r[i].count);
        for (int k = 0; k < r[i].npcs; k++)
            fprintf(out, " %#llx", (unsigned long long)r[i].pcs[k]);
        fputc('\n', out);
        for (int k = 0; k < r[i].npcs; k++)
            cprof__print_pc_lines(out, r[i].pcs[k], false);
        fputc('\n', out);
    }
    if (others)
        fprintf(out, "%zu @\n#\t%s\n\n", others, outside);
    free(r);
    fflush(out);
    return ferror(out) ? -EIO : 0;
}

int cprof_threadcreate_write_pprof(uint8_t **out, size_t *len)
{
    static const cprof_value_type_t type = {"threadcreate", "count"};
    cprof_pprof_opts_t o = {.sample_types = &type,
                            .nsample_types = 1,
                            .period_type = {"threadcreate", "count"},
                            .period = 1};
    rec_t *r;
    size_t n, others;
    int rc = snapshot(&r, &n, &others);
    if (rc)
        return rc;
    cprof_pprof_t *p = NULL;
    if ((rc = cprof_pprof_new(&o, &p)) != 0)
        goto out;
    for (size_t i = 0; i < n && !rc; i++) {
        int64_t v = (int64_t)r[i].count;
        rc = cprof_pprof_add_sample(p, r[i].pcs, (size_t)r[i].npcs, 0, &v, NULL, 0);
    }
    if (!rc && others) {
        cprof_frame_t f = {.function = outside};
        int64_t v = (int64_t)others;
        rc = cprof_pprof_add_sample_frames(p, &f, 1, &v, NULL, 0);
    }
    if (!rc)
        rc = cprof_pprof_finish(p, true, out, len);
out:
    cprof_pprof_free(p);
    free(r);
    return rc;
}
