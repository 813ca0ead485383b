/* HTTP providers of the heap module: /debug/pprof/heap, /debug/pprof/allocs
 * and /debug/pprof/gc, with the seed's aliases /profile/memory (the heap
 * profile as a named attachment, after returning free memory to the OS) and
 * /profile/gc (memory statistics before and after returning free memory to
 * the OS, and how long that took).
 *
 * Parameters follow Go's net/http/pprof: debug=N (0 = profile.proto, >0 =
 * legacy text with a memory-statistics footer), gc=N (>0: return free
 * memory to the OS first, our forced GC; lenient like Go's Atoi), seconds=N
 * (a delta profile, served by delta_http.c on a cprof-http thread; not with
 * debug, as in Go). Without jemalloc (sanitizer builds) every endpoint
 * answers 501 with cprof_heap_unavailable's one-line reason.
 *
 * A heap request with sampling off switches it on (what was not sampled
 * before cannot be shown, but the next request will show it), as the
 * issue asks of the endpoint.
 *
 * cprof_heap_http, the synchronous entry point of heap.h, serves the same
 * paths through cprof_http_serve and waits for a deferred response. */

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cprof.h"
#include "cprof/heap_int.h"
#include "cprof/http_int.h"

/* ---- heap and allocs ------------------------------------------------------- */

typedef struct view {
    bool allocs;
} view_t;

static const view_t heap_view = {false}, allocs_view = {true};

static int delta_snapshot(void *arg, cprof_profile_t **out)
{
    const view_t *v = arg;
    cprof_heap_t *h = NULL;
    uint8_t *data = NULL;
    size_t len = 0;
    int rc = cprof_heap_snapshot(&h);
    /* No "bytes" label: a stack's average size may change between the two
     * snapshots, and labels are part of what the merge matches. */
    if (!rc)
        rc = cprof__heap_pprof(h, v->allocs, false, false, &data, &len);
    if (!rc)
        rc = cprof_profile_decode(data, len, out);
    free(data);
    cprof_heap_free(h);
    return rc;
}

/* Puts the "bytes" label back on the difference, from its own values. */
static int delta_encode(void *arg, cprof_profile_t *d, uint8_t **out, size_t *len)
{
    (void)arg;
    cprof_label_t *labels = calloc(d->nsamples ? d->nsamples : 1, sizeof(*labels));
    if (!labels)
        return -ENOMEM;
    for (size_t i = 0; i < d->nsamples; i++) {
        cprof_pp_sample_t *s = &d->samples[i];
        int64_t avg = s->nvalues == 4 ? cprof__heap_avg_bytes(s->values[0], s->values[1],
                                                              s->values[2], s->values[3])
                                      : 0;
        if (avg <= 0 || s->nlabels)
            continue;
        labels[i] = (cprof_label_t){.key = "bytes", .num = avg, .num_unit = "bytes"};
        s->labels = &labels[i];
        s->nlabels = 1;
    }
    int rc = cprof_profile_encode(d, true, out, len);
    /* The labels are ours: unhook them before the profile outlives them. */
    for (size_t i = 0; i < d->nsamples; i++)
        if (d->samples[i].labels == &labels[i]) {
            d->samples[i].labels = NULL;
            d->samples[i].nlabels = 0;
        }
    free(labels);
    return rc;
}

static const cprof__http_delta_t heap_delta = {.snapshot = delta_snapshot, .encode = delta_encode};

static int write_heap_text(void *arg, FILE *f)
{
    cprof_memstats_t ms;
    cprof_memstats_read_now(&ms);
    return cprof_heap_write_text(arg, &ms, f);
}

static int serve(const view_t *v, const cprof_http_request_t *req, cprof_http_response_t *r)
{
    int debug;
    int64_t ns;
    if (cprof__http_profile_params(req, r, &debug, &ns) != 0)
        return 0;
    char val[32];
    long gc = 0;
    if (cprof_http_query_get(req->query, "gc", val, sizeof(val)))
        gc = strtol(val, NULL, 10);
    const char *why = cprof_heap_unavailable();
    if (why)
        return cprof_http_response_error(r, 501, "%s", why);
    if (!cprof_heap_active() && cprof_heap_set_active(true) < 0)
        return cprof_http_response_error(r, 500, "cannot switch heap sampling on");
    if (gc > 0 || req->alias)
        cprof_heap_purge();
    if (debug == 0) {
        char name[64];
        if (req->alias)
            snprintf(name, sizeof(name), "memory_profile_%lld.prof", (long long)time(NULL));
        else
            snprintf(name, sizeof(name), "%s%s", ns ? "delta-" : "", v->allocs ? "allocs" : "heap");
        cprof_http_response_attachment(r, name);
    }
    if (ns)
        return cprof__http_serve_delta(r, ns, &heap_delta, (void *)v);
    cprof_heap_t *h = NULL;
    int rc = cprof_heap_snapshot(&h);
    if (rc)
        return rc;
    if (debug > 0) {
        rc = cprof__http_text_body(r, write_heap_text, (void *)h);
    } else {
        uint8_t *data;
        size_t len;
        rc = cprof__heap_pprof(h, v->allocs, true, true, &data, &len);
        if (!rc)
            cprof_http_response_set_body(r, data, len);
    }
    cprof_heap_free(h);
    return rc;
}

static int serve_heap(const cprof_http_request_t *req, cprof_http_response_t *r)
{
    return serve(&heap_view, req, r);
}

static int serve_allocs(const cprof_http_request_t *req, cprof_http_response_t *r)
{
    return serve(&allocs_view, req, r);
}

/* Stacks in the profile, for the index (a dump costs about a millisecond). */
static int64_t count_stacks(void)
{
    cprof_heap_t *h;
    if (cprof_heap_unavailable() || cprof_heap_snapshot(&h) != 0)
        return 0;
    int64_t n = (int64_t)cprof_heap_count(h);
    cprof_heap_free(h);
    return n;
}

const cprof_http_provider_t cprof__http_heap = {
    .name = "heap",
    .description = "A sampling of memory allocations of live objects (jemalloc). You can specify "
                   "the gc GET parameter to return free memory to the OS before taking the "
                   "heap sample.",
    .serve = serve_heap,
    .count = count_stacks,
};

const cprof_http_provider_t cprof__http_allocs = {
    .name = "allocs",
    .description = "A sampling of all past memory allocations (jemalloc).",
    .serve = serve_allocs,
    .count = count_stacks,
};

/* ---- gc: memory statistics around a purge ---------------------------------- */

static int stats_json(cprof_http_response_t *r, const char *key, const cprof_memstats_t *m)
{
    return cprof_http_response_printf(
        r,
        "\"%s\":{\"Alloc\":%llu,\"TotalAlloc\":%llu,\"Sys\":%llu,\"Mallocs\":%llu,"
        "\"Frees\":%llu,\"HeapAlloc\":%llu,\"HeapInuse\":%llu,\"HeapReleased\":%llu,"
        "\"Mapped\":%llu,\"Resident\":%llu,\"Metadata\":%llu,\"NumGC\":%llu,"
        "\"Threads\":%lld,\"OpenFDs\":%lld}",
        key, (unsigned long long)m->alloc, (unsigned long long)m->total_alloc,
        (unsigned long long)m->sys, (unsigned long long)m->mallocs, (unsigned long long)m->frees,
        (unsigned long long)m->alloc, (unsigned long long)m->heap_inuse,
        (unsigned long long)m->retained, (unsigned long long)m->mapped,
        (unsigned long long)m->resident, (unsigned long long)m->metadata,
        (unsigned long long)m->num_gc, (long long)m->threads, (long long)m->open_fds);
}

static int serve_gc(const cprof_http_request_t *req, cprof_http_response_t *r)
{
    (void)req;
    cprof_memstats_t before, after;
    int64_t took = 0;
    int err = cprof_memstats_gc(&before, &after, &took);
    if (err == -ENOTSUP)
        return cprof_http_response_error(r, 501,
                                         "memory statistics need jemalloc as the allocator (not "
                                         "linked in this build, e.g. under a sanitizer)");
    if (err < 0)
        return err;
    cprof_http_response_add_header(r, "Content-Type", "application/json");
    long long released = (long long)before.resident - (long long)after.resident;
    int rc = cprof_http_response_printf(r, "{\"source\":\"%s\",", after.source);
    rc = rc ? rc : stats_json(r, "before", &before);
    rc = rc ? rc : cprof_http_response_printf(r, ",");
    rc = rc ? rc : stats_json(r, "after", &after);
    return rc ? rc
              : cprof_http_response_printf(
                    r, ",\"released_bytes\":%lld,\"took_ns\":%lld,\"took_ms\":%.3f}\n", released,
                    (long long)took, (double)took / 1e6);
}

static int64_t count_gc(void)
{
    cprof_memstats_t m;
    if (cprof_memstats_read(&m) != 0 || !m.has_allocator)
        return 0;
    return (int64_t)m.num_gc;
}

const cprof_http_provider_t cprof__http_gc = {
    .name = "gc",
    .description = "Returns free memory to the OS (the C counterpart of Go's forced GC) and "
                   "answers JSON memory statistics before and after, with the time it took. The "
                   "count is the allocator's purges so far.",
    .serve = serve_gc,
    .count = count_gc,
    .not_pprof = true,
};

/* ---- the synchronous entry point ------------------------------------------- */

static const char *static_type(const char *ct)
{
    if (!ct)
        return "application/octet-stream";
    if (strncmp(ct, "application/json", 16) == 0)
        return "application/json";
    if (strncmp(ct, "text/plain", 10) == 0)
        return "text/plain; charset=utf-8";
    return "application/octet-stream";
}

bool cprof_heap_http(const char *path, const char *query, FILE *body, cprof_heap_reply_t *reply)
{
    memset(reply, 0, sizeof(*reply));
    if (strcmp(path, "/debug/pprof/heap") != 0 && strcmp(path, "/debug/pprof/allocs") != 0 &&
        strcmp(path, "/profile/memory") != 0 && strcmp(path, "/profile/gc") != 0)
        return false;
    cprof_http_response_t *r = NULL;
    if (cprof_http_serve("GET", path, query ? query : "", NULL, 0, &r) != 0) {
        cprof_http_response_free(r);
        reply->status = 500;
        reply->content_type = "text/plain; charset=utf-8";
        fputs("out of memory\n", body);
        return true;
    }
    /* A delta is deferred: wait for it (the eventfd stays readable). */
    int fd = cprof_http_response_fd(r);
    while (fd >= 0 && !cprof_http_response_ready(r)) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, -1) < 0 && errno != EINTR)
            break;
    }
    reply->status = cprof_http_response_status(r);
    reply->content_type = static_type(cprof_http_response_header(r, "Content-Type"));
    const char *cd = cprof_http_response_header(r, "Content-Disposition");
    if (cd)
        snprintf(reply->disposition, sizeof(reply->disposition), "%s", cd);
    size_t len = 0;
    const void *data = cprof_http_response_body(r, &len);
    if (len)
        fwrite(data, 1, len, body);
    cprof_http_response_free(r);
    return true;
}
