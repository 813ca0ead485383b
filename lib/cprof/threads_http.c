/* /debug/pprof/goroutine (and the seed's /profile/goroutines) and
 * /debug/pprof/threadcreate.
 *
 * goroutine: a thread dump taken in the request's thread (about a
 * millisecond; threads that do not answer within a second are reported as
 * such). debug=0 gzipped profile.proto (goroutine/count, grouped by stack,
 * "thread" labels), debug=1 grouped text, debug=2 one block per thread.
 * seconds=N (alias: duration=): a delta of two dumps N seconds apart, on a
 * cprof-http thread (delta_http.c); not with debug, as in Go.
 * threadcreate: debug=0 profile.proto, debug>0 text. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cprof.h"
#include "cprof/http_int.h"

#define DUMP_TIMEOUT_NS 1000000000LL

static int parse_debug(const cprof_http_request_t *req, cprof_http_response_t *r, int *debug)
{
    char v[32];
    *debug = 0;
    if (!cprof_http_query_get(req->query, "debug", v, sizeof(v)))
        return 0;
    char *end;
    long d = strtol(v, &end, 10);
    if (end == v || *end || d < 0 || d > 100) {
        cprof_http_response_error(r, 400, "invalid debug '%s'", v);
        return -EINVAL;
    }
    *debug = (int)d;
    return 0;
}

typedef struct dump_text {
    const cprof_threads_t *t;
    int debug;
} dump_text_t;

static int write_dump(void *arg, FILE *f)
{
    dump_text_t *d = arg;
    return cprof_threads_write_text(d->t, d->debug, f);
}

/* ?seconds=N: the generic delta of two dumps (delta_http.c), as Go's
 * goroutine?seconds=N: threads that came and went show as +/- counts. */
static int delta_snapshot(void *arg, cprof_profile_t **out)
{
    (void)arg;
    cprof_threads_t *t;
    int rc = cprof_threads_dump(DUMP_TIMEOUT_NS, &t);
    if (rc)
        return rc;
    uint8_t *data = NULL;
    size_t len = 0;
    rc = cprof_threads_write_pprof(t, &data, &len);
    if (!rc)
        rc = cprof_profile_decode(data, len, out);
    free(data);
    cprof_threads_free(t);
    return rc;
}

static const cprof__http_delta_t threads_delta = {.snapshot = delta_snapshot};

static int serve_goroutine(const cprof_http_request_t *req, cprof_http_response_t *r)
{
    int debug;
    int64_t ns;
    if (cprof__http_profile_params(req, r, &debug, &ns) != 0)
        return 0;
    if (ns) {
        char name[64] = "delta-goroutine";
        if (req->alias)
            snprintf(name, sizeof(name), "goroutine_profile_%lld.prof", (long long)time(NULL));
        cprof_http_response_attachment(r, name);
        return cprof__http_serve_delta(r, ns, &threads_delta, NULL);
    }
    cprof_threads_t *t;
    int rc = cprof_threads_dump(DUMP_TIMEOUT_NS, &t);
    if (rc)
        return rc;
    if (debug > 0) {
        dump_text_t d = {t, debug};
        rc = cprof__http_text_body(r, write_dump, &d);
    } else {
        uint8_t *data;
        size_t len;
        rc = cprof_threads_write_pprof(t, &data, &len);
        if (!rc) {
            char name[64] = "goroutine";
            if (req->alias)
                snprintf(name, sizeof(name), "goroutine_profile_%lld.prof",
                         (long long)(cprof_threads_time_ns(t) / 1000000000LL));
            cprof_http_response_attachment(r, name);
            cprof_http_response_set_body(r, data, len);
        }
    }
    cprof_threads_free(t);
    return rc;
}

static int write_creates(void *arg, FILE *f)
{
    (void)arg;
    return cprof_threadcreate_write_text(f);
}

static int serve_threadcreate(const cprof_http_request_t *req, cprof_http_response_t *r)
{
    int debug;
    if (parse_debug(req, r, &debug))
        return 0;
    if (debug > 0)
        return cprof__http_text_body(r, write_creates, NULL);
    uint8_t *data;
    size_t len;
    int rc = cprof_threadcreate_write_pprof(&data, &len);
    if (rc)
        return rc;
    cprof_http_response_attachment(r, "threadcreate");
    cprof_http_response_set_body(r, data, len);
    return 0;
}

/* Live threads, for the index. */
static int64_t count_threads(void)
{
    FILE *f = fopen("/proc/self/stat", "re");
    if (!f)
        return 0;
    char buf[1024];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')');
    long long threads = 0;
    /* Field 20 (num_threads) is the 18th after the ")". */
    for (int field = 2; p && field < 20; field++) {
        p = strchr(p + 1, ' ');
    }
    if (p)
        threads = strtoll(p + 1, NULL, 10);
    return threads;
}

const cprof_http_provider_t cprof__http_goroutine = {
    .name = "goroutine",
    .description = "Stack traces of all current threads (the name is Go's, for tool "
                   "compatibility). Use debug=2 as a query parameter to export in the same "
                   "format as an unrecovered panic: one block per thread with its state and CPU "
                   "time.",
    .serve = serve_goroutine,
    .count = count_threads,
};

const cprof_http_provider_t cprof__http_threadcreate = {
    .name = "threadcreate",
    .description = "Stack traces that led to the creation of the live threads "
                   "(cprof_thread_create).",
    .serve = serve_threadcreate,
    .count = count_threads,
};
