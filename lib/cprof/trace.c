/* Execution trace recording (see include/cprof/trace.h).
 *
 * Each thread that records during a trace owns a tbuf_t: a list of event
 * chunks, registered in a global list under reg_mu the first time (and
 * unregistered by a thread-exit destructor). The hot path never locks: it
 * raises its buffer's `busy` flag, checks `on` (both sequentially
 * consistent: a Dekker handshake with the collector), appends, and lowers
 * `busy`. The collector clears `on`, then waits until each buffer's busy is
 * down: from then on no writer can touch that buffer's chunks until the
 * next trace, so it takes them (detaches the list). A writer notices a new
 * trace by the generation number and starts an empty list.
 *
 * Spans are stored complete (start and duration) when they end, so the
 * JSON needs no matching; spans that began before the trace started are
 * left out. Flow ids carry the trace generation in their upper 32 bits so a
 * flow started in an earlier trace never ends in this one.
 *
 * Lock order: ctl_mu, then reg_mu. */

#include "cprof/trace.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define CHUNK_EVENTS 4096

typedef struct ev {
    int64_t ts;
    const char *name;
    const char *keys[3]; /* X: arg key; C: series names */
    int64_t v[3];        /* X: dur, arg; s/f/b/e: id; C: values */
    char ph;
    uint8_t n; /* X: has arg; C: values */
} ev_t;

typedef struct chunk {
    struct chunk *next;
    size_t len;
    ev_t ev[CHUNK_EVENTS];
} chunk_t;

typedef struct tbuf {
    struct tbuf *next;
    pid_t tid;
    char name[16];
    int busy; /* atomic */
    uint32_t gen;
    chunk_t *head, *tail;
    uint64_t dropped;
} tbuf_t;

/* A thread's events as taken by the collector. */
typedef struct tevents {
    pid_t tid;
    char name[16];
    chunk_t *head;
} tevents_t;

struct cprof_trace {
    int64_t start_ns, end_ns;
    uint64_t dropped;
    size_t nevents;
    tevents_t *threads;
    size_t nthreads;
    pid_t *others; /* live threads without events (names only) */
    char (*other_names)[16];
    size_t nothers;
};

int cprof__trace_on;
static uint32_t gen;      /* current generation, changes only while off */
static int64_t start_ns;  /* of the current trace */
static uint64_t flow_seq; /* atomic */
static size_t limit_chunks = (128u << 20) / sizeof(chunk_t);
static size_t nchunks; /* atomic: chunks allocated in this trace */
static bool running;   /* under ctl_mu: from start until stop took the buffers */

static pthread_mutex_t ctl_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static tbuf_t *reg;
static tevents_t *orphans; /* events of threads that exited during the trace */
static size_t norphans, orphans_cap;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static pthread_key_t key;
static __thread tbuf_t *tls;

int64_t cprof_trace_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void free_chunks(chunk_t *c)
{
    while (c) {
        chunk_t *next = c->next;
        free(c);
        c = next;
    }
}

/* Thread exit: keep the events of the running trace, drop the buffer. */
static void on_thread_exit(void *arg)
{
    tbuf_t *b = arg;
    tls = NULL;
    pthread_mutex_lock(&reg_mu);
    for (tbuf_t **p = &reg; *p; p = &(*p)->next) {
        if (*p == b) {
            *p = b->next;
            break;
        }
    }
    if (b->head && b->gen == gen && norphans == orphans_cap) {
        size_t cap = orphans_cap ? orphans_cap * 2 : 16;
        tevents_t *more = realloc(orphans, cap * sizeof(*more));
        if (more) {
            orphans = more;
            orphans_cap = cap;
        }
    }
    if (b->head && b->gen == gen && norphans < orphans_cap) {
        tevents_t *o = &orphans[norphans++];
        o->tid = b->tid;
        memcpy(o->name, b->name, sizeof(o->name));
        o->head = b->head;
    } else {
        free_chunks(b->head);
    }
    pthread_mutex_unlock(&reg_mu);
    free(b);
}

static void make_key(void) { pthread_key_create(&key, on_thread_exit); }

static tbuf_t *attach(void)
{
    pthread_once(&key_once, make_key);
    tbuf_t *b = calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    b->tid = (pid_t)syscall(SYS_gettid);
    b->gen = (uint32_t)-1;
    pthread_mutex_lock(&reg_mu);
    b->next = reg;
    reg = b;
    pthread_mutex_unlock(&reg_mu);
    pthread_setspecific(key, b);
    tls = b;
    return b;
}

/* Appends one event to the calling thread's buffer (NULL: not recorded). */
static ev_t *append(tbuf_t *b)
{
    if (b->gen != __atomic_load_n(&gen, __ATOMIC_RELAXED)) {
        /* First event of this trace: the collector took the old chunks. */
        b->gen = __atomic_load_n(&gen, __ATOMIC_RELAXED);
        b->head = b->tail = NULL;
        b->dropped = 0;
        pthread_getname_np(pthread_self(), b->name, sizeof(b->name));
    }
    chunk_t *c = b->tail;
    if (!c || c->len == CHUNK_EVENTS) {
        if (__atomic_add_fetch(&nchunks, 1, __ATOMIC_RELAXED) > limit_chunks ||
            (c = malloc(sizeof(*c))) == NULL) {
            __atomic_sub_fetch(&nchunks, 1, __ATOMIC_RELAXED);
            b->dropped++;
            return NULL;
        }
        c->next = NULL;
        c->len = 0;
        if (b->tail)
            b->tail->next = c;
        else
            b->head = c;
        b->tail = c;
    }
    return &c->ev[c->len++];
}

/* The hot-path protocol: busy up, check on, write, busy down. */
#define RECORD(b, e)                                                                               \
    tbuf_t *b = tls;                                                                               \
    if (!b && (b = attach()) == NULL)                                                              \
        return;                                                                                    \
    __atomic_store_n(&b->busy, 1, __ATOMIC_SEQ_CST);                                               \
    ev_t *e = __atomic_load_n(&cprof__trace_on, __ATOMIC_SEQ_CST) ? append(b) : NULL;              \
    if (e)

#define DONE(b) __atomic_store_n(&b->busy, 0, __ATOMIC_RELEASE)

void cprof__trace_span(int64_t t0, const char *name, const char *arg_key, int64_t arg)
{
    int64_t now = cprof_trace_now();
    RECORD(b, e)
    {
        e->ts = t0;
        e->name = name;
        e->keys[0] = arg_key;
        e->v[0] = now - t0;
        e->v[1] = arg;
        e->ph = 'X';
        e->n = arg_key != NULL;
    }
    DONE(b);
}

static void point(char ph, const char *name, uint64_t id)
{
    int64_t now = cprof_trace_now();
    RECORD(b, e)
    {
        e->ts = now;
        e->name = name;
        e->v[0] = (int64_t)id;
        e->ph = ph;
        e->n = 0;
    }
    DONE(b);
}

uint64_t cprof__trace_flow_start(const char *name)
{
    uint64_t g = __atomic_load_n(&gen, __ATOMIC_RELAXED);
    uint64_t id = (g << 32) | (__atomic_add_fetch(&flow_seq, 1, __ATOMIC_RELAXED) & 0xffffffffu);
    point('s', name, id);
    return id;
}

void cprof__trace_flow_end(const char *name, uint64_t id)
{
    if ((id >> 32) == __atomic_load_n(&gen, __ATOMIC_RELAXED))
        point('f', name, id);
}

void cprof__trace_async(char ph, const char *name, uint64_t id)
{
    if ((id >> 32) == __atomic_load_n(&gen, __ATOMIC_RELAXED))
        point(ph, name, id);
}

void cprof__trace_counter(const char *name, const char *const *keys, const int64_t *values, int n)
{
    if (n < 1 || n > 3)
        return;
    int64_t now = cprof_trace_now();
    RECORD(b, e)
    {
        e->ts = now;
        e->name = name;
        for (int i = 0; i < n; i++) {
            e->keys[i] = keys[i];
            e->v[i] = values[i];
        }
        e->ph = 'C';
        e->n = (uint8_t)n;
    }
    DONE(b);
}

/* ---- control ---------------------------------------------------------------- */

void cprof_trace_set_limit(size_t bytes)
{
    size_t n = bytes / sizeof(chunk_t);
    __atomic_store_n(&limit_chunks, n ? n : 1, __ATOMIC_RELAXED);
}

int cprof_trace_start(void)
{
    int rc = 0;
    pthread_mutex_lock(&ctl_mu);
    if (running) {
        rc = -EBUSY;
        goto out;
    }
    pthread_mutex_lock(&reg_mu);
    /* Orphans of an earlier trace that was never stopped cannot exist
     * (stop takes them), so the list is empty here. */
    __atomic_store_n(&gen, gen + 1, __ATOMIC_RELAXED);
    __atomic_store_n(&nchunks, 0, __ATOMIC_RELAXED);
    start_ns = cprof_trace_now();
    running = true;
    __atomic_store_n(&cprof__trace_on, 1, __ATOMIC_SEQ_CST);
    pthread_mutex_unlock(&reg_mu);
out:
    pthread_mutex_unlock(&ctl_mu);
    return rc;
}

bool cprof_trace_running(void)
{
    pthread_mutex_lock(&ctl_mu);
    bool r = running;
    pthread_mutex_unlock(&ctl_mu);
    return r;
}

/* Live threads (for names of threads without events). */
static void list_others(cprof_trace_t *t)
{
    DIR *d = opendir("/proc/self/task");
    if (!d)
        return;
    size_t cap = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] < '0' || de->d_name[0] > '9')
            continue;
        pid_t tid = (pid_t)atoi(de->d_name);
        bool have = false;
        for (size_t i = 0; i < t->nthreads && !have; i++)
            have = t->threads[i].tid == tid;
        if (have)
            continue;
        if (t->nothers == cap) {
            cap = cap ? cap * 2 : 32;
            pid_t *o = realloc(t->others, cap * sizeof(*o));
            char(*nm)[16] = o ? realloc(t->other_names, cap * sizeof(*nm)) : NULL;
            if (o)
                t->others = o;
            if (!nm)
                break;
            t->other_names = nm;
        }
        char path[64], name[32] = "";
        snprintf(path, sizeof(path), "/proc/self/task/%d/comm", (int)tid);
        FILE *f = fopen(path, "re");
        if (f) {
            if (fgets(name, sizeof(name), f))
                name[strcspn(name, "\n")] = '\0';
            fclose(f);
        }
        t->others[t->nothers] = tid;
        snprintf(t->other_names[t->nothers], 16, "%s", name);
        t->nothers++;
    }
    closedir(d);
}

int cprof_trace_stop(cprof_trace_t **out)
{
    int rc = 0;
    cprof_trace_t *t = calloc(1, sizeof(*t));
    pthread_mutex_lock(&ctl_mu);
    if (!running) {
        rc = -EINVAL;
        goto out;
    }
    pthread_mutex_lock(&reg_mu);
    __atomic_store_n(&cprof__trace_on, 0, __ATOMIC_SEQ_CST);
    size_t n = norphans;
    for (tbuf_t *b = reg; b; b = b->next)
        n++;
    tevents_t *th = t ? calloc(n ? n : 1, sizeof(*th)) : NULL;
    size_t m = 0;
    uint64_t dropped = 0;
    for (tbuf_t *b = reg; b; b = b->next) {
        while (__atomic_load_n(&b->busy, __ATOMIC_SEQ_CST))
            sched_yield();
        if (b->gen != gen)
            continue;
        dropped += b->dropped;
        if (th && b->head) {
            th[m].tid = b->tid;
            memcpy(th[m].name, b->name, sizeof(th[m].name));
            th[m++].head = b->head;
        } else {
            free_chunks(b->head);
        }
        b->head = b->tail = NULL;
    }
    for (size_t i = 0; i < norphans; i++) {
        if (th)
            th[m++] = orphans[i];
        else
            free_chunks(orphans[i].head);
    }
    norphans = 0;
    int64_t begin = start_ns;
    running = false;
    pthread_mutex_unlock(&reg_mu);
    if (!th) {
        rc = -ENOMEM;
        goto out;
    }
    t->start_ns = begin;
    t->end_ns = cprof_trace_now();
    t->threads = th;
    t->nthreads = m;
    t->dropped = dropped;
    for (size_t i = 0; i < m; i++)
        for (chunk_t *c = th[i].head; c; c = c->next)
            t->nevents += c->len;
    list_others(t);
out:
    pthread_mutex_unlock(&ctl_mu);
    if (rc) {
        free(t);
        t = NULL;
    }
    *out = t;
    return rc;
}

void cprof_trace_free(cprof_trace_t *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->nthreads; i++)
        free_chunks(t->threads[i].head);
    free(t->threads);
    free(t->others);
    free(t->other_names);
    free(t);
}

size_t cprof_trace_event_count(const cprof_trace_t *t) { return t->nevents; }
uint64_t cprof_trace_dropped(const cprof_trace_t *t) { return t->dropped; }

/* ---- JSON -------------------------------------------------------------------- */

static void json_str(FILE *out, const char *s)
{
    fputc('"', out);
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c < 0x20)
            fprintf(out, "\\u%04x", c);
        else
            fputc(c, out);
    }
    fputc('"', out);
}

static void ts_us(FILE *out, int64_t ns)
{
    if (ns < 0) {
        fputc('-', out);
        ns = -ns;
    }
    fprintf(out, "%lld.%03lld", (long long)(ns / 1000), (long long)(ns % 1000));
}

static void thread_name(FILE *out, int pid, pid_t tid, const char *name)
{
    fprintf(out,
            ",\n{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":%d,\"tid\":%d,\"args\":{\"name\":",
            pid, (int)tid);
    json_str(out, name);
    fputs("}}", out);
}

static void event(FILE *out, int pid, pid_t tid, const ev_t *e, int64_t base)
{
    fputs(",\n{\"name\":", out);
    json_str(out, e->name);
    fprintf(out, ",\"ph\":\"%c\",\"pid\":%d,\"tid\":%d,\"ts\":", e->ph, pid, (int)tid);
    ts_us(out, e->ts - base);
    switch (e->ph) {
    case 'X':
        fputs(",\"dur\":", out);
        ts_us(out, e->v[0]);
        if (e->n) {
            fputs(",\"args\":{", out);
            json_str(out, e->keys[0]);
            fprintf(out, ":%lld}", (long long)e->v[1]);
        }
        break;
    case 's':
    case 'f':
        fprintf(out, ",\"cat\":\"flow\",\"id\":%llu%s", (unsigned long long)e->v[0],
                e->ph == 'f' ? ",\"bp\":\"e\"" : "");
        break;
    case 'b':
    case 'e': fprintf(out, ",\"cat\":\"async\",\"id\":%llu", (unsigned long long)e->v[0]); break;
    case 'C': {
        fputs(",\"args\":{", out);
        for (int i = 0; i < e->n; i++) {
            if (i)
                fputc(',', out);
            json_str(out, e->keys[i]);
            fprintf(out, ":%lld", (long long)e->v[i]);
        }
        fputc('}', out);
        break;
    }
    }
    fputc('}', out);
}

int cprof_trace_write_json(const cprof_trace_t *t, FILE *out)
{
    int pid = (int)getpid();
    fputs("{\"traceEvents\":[", out);
    fprintf(out,
            "\n{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":%d,\"tid\":%d,"
            "\"args\":{\"name\":",
            pid, pid);
    char comm[32] = "process";
    FILE *f = fopen("/proc/self/comm", "re");
    if (f) {
        if (fgets(comm, sizeof(comm), f))
            comm[strcspn(comm, "\n")] = '\0';
        fclose(f);
    }
    json_str(out, comm);
    fputs("}}", out); /* every later event starts with ",\n" */
    for (size_t i = 0; i < t->nthreads; i++)
        thread_name(out, pid, t->threads[i].tid, t->threads[i].name);
    for (size_t i = 0; i < t->nothers; i++)
        thread_name(out, pid, t->others[i], t->other_names[i]);
    for (size_t i = 0; i < t->nthreads; i++) {
        for (const chunk_t *c = t->threads[i].head; c; c = c->next) {
            for (size_t k = 0; k < c->len; k++) {
                const ev_t *e = &c->ev[k];
                /* A span that began before the window is not this trace's. */
                if (e->ph == 'X' && e->ts < t->start_ns)
                    continue;
                event(out, pid, t->threads[i].tid, e, t->start_ns);
            }
        }
    }
    fprintf(out,
            "\n],\"displayTimeUnit\":\"ms\",\"otherData\":{\"producer\":\"cprof\","
            "\"duration_us\":%lld,\"events\":%zu,\"dropped_events\":%llu}}\n",
            (long long)((t->end_ns - t->start_ns) / 1000), t->nevents,
            (unsigned long long)t->dropped);
    fflush(out);
    return ferror(out) ? -EIO : 0;
}

int cprof_trace_stop_json(char **out, size_t *len)
{
    cprof_trace_t *t;
    int rc = cprof_trace_stop(&t);
    if (rc)
        return rc;
    FILE *f = open_memstream(out, len);
    if (!f) {
        cprof_trace_free(t);
        return -ENOMEM;
    }
    rc = cprof_trace_write_json(t, f);
    if (fclose(f) != 0 && !rc)
        rc = -ENOMEM;
    cprof_trace_free(t);
    if (rc) {
        free(*out);
        *out = NULL;
    }
    return rc;
}

int cprof_trace_record(int64_t ns, char **out, size_t *len)
{
    int rc = cprof_trace_start();
    if (rc)
        return rc;
    struct timespec ts = {.tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000};
    while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) == EINTR)
        ;
    return cprof_trace_stop_json(out, len);
}
