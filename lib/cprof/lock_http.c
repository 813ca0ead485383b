/* /debug/pprof/mutex and /debug/pprof/block, and the seed's /profile/mutex
 * and /profile/block: Go's contention profiles from the cprof_mutex_t and
 * cprof_cond_t wrappers.
 *
 * debug=0 (default): gzipped profile.proto with sample types
 * contentions/count and delay/nanoseconds, period_type contentions/count,
 * period = the rate in force. debug>0: Go's legacy text. seconds=N (on the
 * alias also duration=<Go duration>): a delta profile of the next N
 * seconds, taken on a "cprof-http" thread (two snapshots decoded, the first
 * subtracted with cprof_profile_delta), as Go's ?seconds= does. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cprof.h"
#include "cprof/http_int.h"
#include "cprof/threads_int.h"

/* The snapshot as profile.proto (gzipped or not); 0 or a negative errno. */
static int encode(const cprof_lock_profile_t *p, int64_t duration_ns, bool gzip, uint8_t **data,
                  size_t *len)
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
    if (!rc)
        rc = cprof_pprof_finish(pp, gzip, data, len);
    cprof_pprof_free(pp);
    return rc;
}

static int write_pprof(const cprof_lock_profile_t *p, cprof_http_response_t *r)
{
    uint8_t *data = NULL;
    size_t len = 0;
    int rc = encode(p, 0, true, &data, &len);
    if (!rc)
        cprof_http_response_set_body(r, data, len);
    return rc;
}

static int write_lock_text(void *arg, FILE *f)
{
    return cprof_lock_write_text(arg, cprof__lock_name_pc, NULL, f);
}

/* ?seconds=N: the generic delta of two decoded snapshots (delta_http.c). */
static int delta_snapshot(void *arg, cprof_profile_t **out)
{
    const cprof_lock_kind_t *kind = arg;
    cprof_lock_profile_t *p = NULL;
    uint8_t *data = NULL;
    size_t len = 0;
    int rc = cprof_lock_snapshot(*kind, &p);
    if (!rc)
        rc = encode(p, 0, false, &data, &len);
    if (!rc)
        rc = cprof_profile_decode(data, len, out);
    free(data);
    cprof_lock_profile_free(p);
    return rc;
}

static const cprof__http_delta_t lock_delta = {.snapshot = delta_snapshot};
static const cprof_lock_kind_t kind_mutex = CPROF_LOCK_MUTEX, kind_block = CPROF_LOCK_BLOCK;

static int serve(cprof_lock_kind_t kind, const cprof_http_request_t *req, cprof_http_response_t *r)
{
    const char *what = kind == CPROF_LOCK_MUTEX ? "mutex" : "block";
    int debug;
    int64_t ns;
    if (cprof__http_profile_params(req, r, &debug, &ns) != 0)
        return 0;
    if (!debug) {
        char name[64];
        if (req->alias)
            snprintf(name, sizeof(name), "%s_profile_%lld.prof", what, (long long)time(NULL));
        else
            snprintf(name, sizeof(name), "%s%s", ns ? "delta-" : "", what);
        cprof_http_response_attachment(r, name);
    }
    if (ns)
        return cprof__http_serve_delta(
            r, ns, &lock_delta, (void *)(kind == CPROF_LOCK_MUTEX ? &kind_mutex : &kind_block));
    cprof_lock_profile_t *p;
    int rc = cprof_lock_snapshot(kind, &p);
    if (rc)
        return rc;
    rc = debug ? cprof__http_text_body(r, write_lock_text, (void *)p) : write_pprof(p, r);
    cprof_lock_profile_free(p);
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
