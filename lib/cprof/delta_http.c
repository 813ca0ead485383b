/* Delta profiles for the HTTP layer (?seconds=N on heap, allocs, mutex,
 * block and goroutine; see http_int.h).
 *
 * Go's serveDeltaProfile takes a snapshot, sleeps, takes another, scales
 * the first by -1 and merges. Here the first snapshot is taken in the
 * request's thread (so its errors are immediate), and the wait runs on a
 * "cprof-http" thread through cprof_http_defer, so that a long delta never
 * holds a server thread. cprof_http_response_sleep waits on a condition
 * variable with an absolute deadline, so signals (SIGPROF) do not cut the
 * wait short; a canceled response (client gone, shutdown) ends it early
 * and still answers with the difference so far. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cprof.h"
#include "cprof/http_int.h"

typedef struct job {
    const cprof__http_delta_t *ops;
    void *arg;
    cprof_profile_t *base;
    int64_t ns;
} job_t;

static void job_free(job_t *j)
{
    cprof_profile_free(j->base);
    if (j->ops->free)
        j->ops->free(j->arg);
    free(j);
}

static int work(cprof_http_response_t *r, void *arg)
{
    job_t *j = arg;
    cprof_http_response_sleep(r, j->ns);
    cprof_profile_t *now = NULL, *delta = NULL;
    uint8_t *data = NULL;
    size_t len = 0;
    int rc = j->ops->snapshot(j->arg, &now);
    if (!rc)
        rc = cprof_profile_delta(j->base, now, &delta);
    if (!rc)
        rc = j->ops->encode ? j->ops->encode(j->arg, delta, &data, &len)
                            : cprof_profile_encode(delta, true, &data, &len);
    if (!rc)
        cprof_http_response_set_body(r, data, len);
    cprof_profile_free(delta);
    cprof_profile_free(now);
    job_free(j);
    return rc;
}

int cprof__http_serve_delta(cprof_http_response_t *r, int64_t ns, const cprof__http_delta_t *ops,
                            void *arg)
{
    job_t *j = calloc(1, sizeof(*j));
    if (!j) {
        if (ops->free)
            ops->free(arg);
        return -ENOMEM;
    }
    *j = (job_t){.ops = ops, .arg = arg, .ns = ns};
    int rc = ops->snapshot(arg, &j->base);
    if (!rc)
        rc = cprof_http_defer(r, work, j);
    if (rc)
        job_free(j);
    return rc;
}

int cprof__http_profile_params(const cprof_http_request_t *req, cprof_http_response_t *r,
                               int *debug, int64_t *delta_ns)
{
    char v[64], err[160];
    *debug = 0;
    *delta_ns = 0;
    if (cprof_http_query_get(req->query, "debug", v, sizeof(v))) {
        char *end;
        long d = strtol(v, &end, 10);
        if (end == v || *end || d < 0 || d > 100) {
            cprof_http_response_error(r, 400, "invalid debug '%s'", v);
            return -EINVAL;
        }
        *debug = (int)d;
    }
    bool delta = cprof_http_query_get(req->query, "seconds", v, sizeof(v)) ||
                 (req->alias && cprof_http_query_get(req->query, "duration", v, sizeof(v)));
    if (!delta)
        return 0;
    if (cprof_http_request_duration(req, 0, CPROF__HTTP_MAX_DELTA_S * 1000000000LL, delta_ns, err,
                                    sizeof(err)) != 0) {
        cprof_http_response_error(r, 400, "%s", err);
        return -EINVAL;
    }
    if (*debug) {
        cprof_http_response_error(r, 400, "seconds and debug params are incompatible");
        return -EINVAL;
    }
    return 0;
}
