/* /debug/pprof/mutex and /debug/pprof/block, and the seed's /profile/mutex
 * and /profile/block: Go's contention profiles from the cprof_mutex_t and
 * cprof_cond_t wrappers.
 *
 * debug=0 (default): gzipped profile.proto with sample types
 * contentions/count and delay/nanoseconds, period_type contentions/count,
 * period = the rate in force. debug>0: Go's legacy text. seconds=N (on the
 * alias also duration=<Go duration>): a delta profile of the next N
 * seconds, taken on a "cprof-http" thread (two snapshots, the first
 * subtracted), as Go's ?seconds= does. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cprof.h"
#include "cprof/http_int.h"
#include "cprof/threads_int.h"

#define MAX_SECONDS 3600

typedef struct job {
    cprof_lock_kind_t kind;
    cprof_lock_profile_t *base;
    int64_t ns;
    int debug;
} job_t;

static int write_pprof(const cprof_lock_profile_t *p, int64_t duration_ns, cprof_http_response_t *r)
{
    static const cprof_value_type_t types[] = {{"contentions", "count"}, {"delay", "nanoseconds"}};
    int64_t period = cprof_lock_profile_period(p);
    cprof_pprof_opts_t o = {.sample_types = types,
                            .nsample_types = 2,
                            .period_type = {"contentions", "count"},
                            .period = period > 0 ? period : 1,
                            .time_nanos = cprof_lock_profile_time_ns(p) - duration_ns,
                            .duration_nanos = duration_ns};
    cprof_pprof_t *pp;
    int rc = cprof_pprof_new(&o, &pp);
    if (rc)
        return rc;
    for (size_t i = 0; i < cprof_lock_profile_count(p) && !rc; i++) {
        const cprof_lock_sample_t *s = cprof_lock_profile_sample(p, i);
        int64_t v[2] = {s->count, s->delay_ns};
        rc = cprof_pprof_add_sample(pp, s->pcs, s->npcs, 0, v, NULL, 0);
    }
    uint8_t *data = NULL;
    size_t len = 0;
    if (!rc)
        rc = cprof_pprof_finish(pp, true, &data, &len);
    cprof_pprof_free(pp);
    if (!rc)
        cprof_http_response_set_body(r, data, len);
    return rc;
}

static int write_text(const cprof_lock_profile_t *p, cprof_http_response_t *r)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return -ENOMEM;
    int rc = cprof_lock_write_text(p, cprof__lock_name_pc, NULL, f);
    if (fclose(f) != 0 && !rc)
        rc = -ENOMEM;
    if (rc) {
        free(text);
        return rc;
    }
    cprof_http_response_add_header(r, "Content-Type", "text/plain; charset=utf-8");
    cprof_http_response_set_body(r, text, len);
    return 0;
}

static int work(cprof_http_response_t *r, void *arg)
{
    job_t *j = arg;
    cprof_http_response_sleep(r, j->ns);
    cprof_lock_profile_t *now = NULL;
    int rc = cprof_lock_snapshot(j->kind, &now);
    if (!rc)
        rc = cprof_lock_profile_sub(now, j->base);
    if (!rc)
        rc = j->debug > 0 ? write_text(now, r) : write_pprof(now, j->ns, r);
    cprof_lock_profile_free(now);
    cprof_lock_profile_free(j->base);
    free(j);
    return rc;
}

static int serve(cprof_lock_kind_t kind, const cprof_http_request_t *req, cprof_http_response_t *r)
{
    const char *what = kind == CPROF_LOCK_MUTEX ? "mutex" : "block";
    char v[32], err[160];
    int debug = 0;
    if (cprof_http_query_get(req->query, "debug", v, sizeof(v))) {
        char *end;
        long d = strtol(v, &end, 10);
        if (end == v || *end || d < 0)
            return cprof_http_response_error(r, 400, "invalid debug '%s'", v);
        debug = (int)d;
    }
    int64_t ns = 0;
    bool delta = cprof_http_query_get(req->query, "seconds", v, sizeof(v)) ||
                 (req->alias && cprof_http_query_get(req->query, "duration", v, sizeof(v)));
    if (delta &&
        cprof_http_request_duration(req, 0, MAX_SECONDS * 1000000000LL, &ns, err, sizeof(err)) != 0)
        return cprof_http_response_error(r, 400, "%s", err);
    if (delta && debug)
        return cprof_http_response_error(r, 400, "seconds and debug params are incompatible");
    if (!debug) {
        char name[64];
        if (req->alias)
            snprintf(name, sizeof(name), "%s_profile_%lld.prof", what, (long long)time(NULL));
        else
            snprintf(name, sizeof(name), "%s%s", delta ? "delta-" : "", what);
        cprof_http_response_attachment(r, name);
    }
    cprof_lock_profile_t *p;
    int rc = cprof_lock_snapshot(kind, &p);
    if (rc)
        return rc;
    if (!delta) {
        rc = debug ? write_text(p, r) : write_pprof(p, 0, r);
        cprof_lock_profile_free(p);
        return rc;
    }
    job_t *j = malloc(sizeof(*j));
    if (!j) {
        cprof_lock_profile_free(p);
        return -ENOMEM;
    }
    *j = (job_t){.kind = kind, .base = p, .ns = ns, .debug = debug};
    if ((rc = cprof_http_defer(r, work, j)) != 0) {
        cprof_lock_profile_free(p);
        free(j);
    }
    return rc;
}

static int serve_mutex(const cprof_http_request_t *req, cprof_http_response_t *r)
{
    return serve(CPROF_LOCK_MUTEX, req, r);
}

static int serve_block(const cprof_http_request_t *req, cprof_http_response_t *r)
{
    return serve(CPROF_LOCK_BLOCK, req, r);
}

static int64_t count(cprof_lock_kind_t kind)
{
    cprof_lock_profile_t *p;
    if (cprof_lock_snapshot(kind, &p) != 0)
        return 0;
    int64_t n = (int64_t)cprof_lock_profile_count(p);
    cprof_lock_profile_free(p);
    return n;
}

static int64_t count_mutex(void) { return count(CPROF_LOCK_MUTEX); }
static int64_t count_block(void) { return count(CPROF_LOCK_BLOCK); }

const cprof_http_provider_t cprof__http_block = {
    .name = "block",
    .description = "Stack traces that led to blocking on cprof_mutex_t locks and cprof_cond_t "
                   "waits (cprof_set_block_profile_rate sets the sampling).",
    .serve = serve_block,
    .count = count_block,
};

const cprof_http_provider_t cprof__http_mutex = {
    .name = "mutex",
    .description = "Stack traces of holders of contended cprof_mutex_t locks, charged with the "
                   "waiters' delay at the unlock (cprof_set_mutex_profile_fraction sets the "
                   "sampling).",
    .serve = serve_mutex,
    .count = count_mutex,
};
