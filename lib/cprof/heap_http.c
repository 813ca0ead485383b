/* HTTP endpoints of the heap module (see cprof_heap_http in heap.h).
 *
 * Parameters follow Go's net/http/pprof: debug=N (0 = profile.proto, >0 =
 * legacy text), gc=N (>0: return free memory to the OS first, our forced
 * GC), seconds=N (a delta profile: a snapshot, N seconds of sleep, a second
 * snapshot, the first subtracted; incompatible with debug, as in Go). The
 * sleep retries on EINTR, since profiler signals interrupt it. */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cprof/heap.h"
#include "cprof/memstats.h"

#define MAX_SECONDS 3600

typedef struct params {
    long debug, gc, seconds;
    bool has_debug;
} params_t;

/* Parses "a=1&b=2"; unknown keys are ignored, as Go does. */
static int parse_query(const char *q, params_t *p, char *err, size_t errlen)
{
    memset(p, 0, sizeof(*p));
    while (q && *q) {
        const char *amp = strchr(q, '&');
        size_t n = amp ? (size_t)(amp - q) : strlen(q);
        char kv[128];
        if (n >= sizeof(kv))
            n = sizeof(kv) - 1;
        memcpy(kv, q, n);
        kv[n] = '\0';
        q = amp ? amp + 1 : NULL;
        char *eq = strchr(kv, '=');
        const char *val = eq ? eq + 1 : "";
        if (eq)
            *eq = '\0';
        long *dst = strcmp(kv, "debug") == 0     ? &p->debug
                    : strcmp(kv, "gc") == 0      ? &p->gc
                    : strcmp(kv, "seconds") == 0 ? &p->seconds
                                                 : NULL;
        if (!dst)
            continue;
        char *end;
        errno = 0;
        long v = strtol(val, &end, 10);
        if (errno || end == val || *end || v < 0) {
            snprintf(err, errlen, "invalid value for %.20s: '%.40s'", kv, val);
            return -EINVAL;
        }
        *dst = v;
        if (dst == &p->debug)
            p->has_debug = true;
    }
    if (p->seconds > MAX_SECONDS) {
        snprintf(err, errlen, "seconds must be at most %d", MAX_SECONDS);
        return -EINVAL;
    }
    if (p->seconds > 0 && p->has_debug) {
        snprintf(err, errlen, "seconds and debug params are incompatible");
        return -EINVAL;
    }
    return 0;
}

static void sleep_s(long s)
{
    struct timespec ts = {.tv_sec = s, .tv_nsec = 0};
    while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) == EINTR)
        ;
}

static void fail(FILE *body, cprof_heap_reply_t *r, int status, const char *msg)
{
    r->status = status;
    r->content_type = "text/plain; charset=utf-8";
    r->disposition[0] = '\0';
    fprintf(body, "%s\n", msg);
}

static void stats_json(FILE *f, const char *key, const cprof_memstats_t *m)
{
    fprintf(f,
            "\"%s\":{\"Alloc\":%llu,\"TotalAlloc\":%llu,\"Sys\":%llu,\"Mallocs\":%llu,"
            "\"Frees\":%llu,\"HeapAlloc\":%llu,\"HeapInuse\":%llu,\"HeapReleased\":%llu,"
            "\"Mapped\":%llu,\"Resident\":%llu,\"Metadata\":%llu,\"NumGC\":%llu,"
            "\"Threads\":%lld,\"OpenFDs\":%lld}",
            key, (unsigned long long)m->alloc, (unsigned long long)m->total_alloc,
            (unsigned long long)m->sys, (unsigned long long)m->mallocs,
            (unsigned long long)m->frees, (unsigned long long)m->alloc,
            (unsigned long long)m->heap_inuse, (unsigned long long)m->retained,
            (unsigned long long)m->mapped, (unsigned long long)m->resident,
            (unsigned long long)m->metadata, (unsigned long long)m->num_gc, (long long)m->threads,
            (long long)m->open_fds);
}

static void serve_gc(FILE *body, cprof_heap_reply_t *r)
{
    cprof_memstats_t before, after;
    int64_t took = 0;
    int err = cprof_memstats_gc(&before, &after, &took);
    if (err == -ENOTSUP) {
        fail(body, r, 501,
             "allocator statistics need jemalloc as the allocator (not in this build)");
        return;
    }
    if (err < 0) {
        fail(body, r, 500, "reading allocator statistics failed");
        return;
    }
    r->status = 200;
    r->content_type = "application/json";
    fprintf(body, "{\"source\":\"%s\",", after.source);
    stats_json(body, "before", &before);
    fputc(',', body);
    stats_json(body, "after", &after);
    long long released = (long long)before.resident - (long long)after.resident;
    fprintf(body, ",\"released_bytes\":%lld,\"took_ns\":%lld,\"took_ms\":%.3f}\n", released,
            (long long)took, (double)took / 1e6);
}

static void serve_heap(bool allocs, bool seed_alias, const char *query, FILE *body,
                       cprof_heap_reply_t *r)
{
    char err[128];
    params_t p;
    if (parse_query(query, &p, err, sizeof(err)) < 0) {
        fail(body, r, 400, err);
        return;
    }
    const char *why = cprof_heap_unavailable();
    if (why) {
        fail(body, r, 501, why);
        return;
    }
    if (!cprof_heap_active() && cprof_heap_set_active(true) < 0) {
        fail(body, r, 500, "cannot activate heap sampling");
        return;
    }
    if (p.gc > 0 || seed_alias)
        cprof_heap_purge();
    cprof_heap_t *h = NULL, *later = NULL, *delta = NULL;
    int rc = cprof_heap_snapshot(&h);
    if (rc == 0 && p.seconds > 0) {
        sleep_s(p.seconds);
        rc = cprof_heap_snapshot(&later);
        if (rc == 0)
            rc = cprof_heap_delta(h, later, &delta);
    }
    if (rc < 0) {
        fail(body, r, 500, rc == -ENOMEM ? "out of memory" : "heap snapshot failed");
        goto out;
    }
    const cprof_heap_t *show = delta ? delta : h;
    r->status = 200;
    if (p.debug > 0) {
        cprof_memstats_t ms;
        cprof_memstats_read_now(&ms);
        r->content_type = "text/plain; charset=utf-8";
        rc = cprof_heap_write_text(show, &ms, body);
    } else {
        r->content_type = "application/octet-stream";
        if (seed_alias)
            snprintf(r->disposition, sizeof(r->disposition),
                     "attachment; filename=memory_profile_%lld.prof",
                     (long long)(cprof_heap_time_ns(h) / 1000000000LL));
        else
            snprintf(r->disposition, sizeof(r->disposition), "attachment; filename=\"%s%s\"",
                     delta ? "delta-" : "", allocs ? "allocs" : "heap");
        rc = cprof_heap_write_pprof(show, allocs, body);
    }
    if (rc < 0)
        r->status = 500;
out:
    cprof_heap_free(delta);
    cprof_heap_free(later);
    cprof_heap_free(h);
}

bool cprof_heap_http(const char *path, const char *query, FILE *body, cprof_heap_reply_t *reply)
{
    memset(reply, 0, sizeof(*reply));
    if (strcmp(path, "/debug/pprof/heap") == 0)
        serve_heap(false, false, query, body, reply);
    else if (strcmp(path, "/debug/pprof/allocs") == 0)
        serve_heap(true, false, query, body, reply);
    else if (strcmp(path, "/profile/memory") == 0)
        serve_heap(false, true, query, body, reply);
    else if (strcmp(path, "/profile/gc") == 0)
        serve_gc(body, reply);
    else
        return false;
    return true;
}
