/* /debug/pprof/profile and the seed's /profile/cpu: a CPU profile of
 * ?seconds=N (default 30) at ?hz=H (default 100, at most the kernel tick),
 * or on the alias ?duration=<Go duration> with the seed's attachment name.
 *
 * The profile starts in the request's thread, so a concurrent request gets
 * its 409 at once; the wait and the encoding run deferred on a "cprof-http"
 * thread. A canceled request (client gone, server shutting down) ends the
 * wait early and still produces the profile of what was sampled. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cprof.h"
#include "cprof/http_int.h"

#define MAX_SECONDS 3600

typedef struct job {
    int64_t ns;
} job_t;

static int work(cprof_http_response_t *r, void *arg)
{
    job_t *j = arg;
    cprof_http_response_sleep(r, j->ns);
    free(j);
    cprof_pprof_t *p = NULL;
    int rc = cprof_cpu_stop(&p);
    if (rc)
        return rc;
    uint8_t *data;
    size_t len;
    rc = cprof_pprof_finish(p, true, &data, &len);
    cprof_pprof_free(p);
    if (rc)
        return rc;
    cprof_http_response_set_body(r, data, len);
    return 0;
}

static int serve_profile(const cprof_http_request_t *req, cprof_http_response_t *r)
{
    char err[160], v[32];
    int64_t ns;
    if (cprof_http_request_duration(req, 30000000000LL, MAX_SECONDS * 1000000000LL, &ns, err,
                                    sizeof(err)) != 0)
        return cprof_http_response_error(r, 400, "%s", err);
    int hz = CPROF_CPU_DEFAULT_HZ;
    if (cprof_http_query_get(req->query, "hz", v, sizeof(v))) {
        char *end;
        long h = strtol(v, &end, 10);
        if (end == v || *end || h < 1 || h > cprof_cpu_max_hz())
            return cprof_http_response_error(r, 400, "invalid hz '%s': want 1..%d", v,
                                             cprof_cpu_max_hz());
        hz = (int)h;
    }
    job_t *j = malloc(sizeof(*j));
    if (!j)
        return -ENOMEM;
    j->ns = ns;
    int rc = cprof_cpu_start(hz);
    if (rc == -EBUSY) {
        free(j);
        return cprof_http_response_error(r, 409,
                                         "Could not enable CPU profiling: a CPU profile is "
                                         "already running");
    }
    if (rc) {
        free(j);
        return cprof_http_response_error(r, 500, "Could not enable CPU profiling: %s",
                                         cprof_strerror(rc));
    }
    char name[64] = "profile";
    if (req->alias)
        snprintf(name, sizeof(name), "cpu_profile_%lld.prof", (long long)time(NULL));
    cprof_http_response_attachment(r, name);
    if ((rc = cprof_http_defer(r, work, j)) != 0) {
        free(j);
        cprof_cpu_stop(NULL);
        return rc;
    }
    return 0;
}

/* The index's count: 1 while a CPU profile is being taken (Go shows 0). */
static int64_t count_profile(void) { return cprof_cpu_running() ? 1 : 0; }

const cprof_http_provider_t cprof__http_profile = {
    .name = "profile",
    .description = "CPU profile. You can specify the duration in the seconds GET parameter "
                   "(and the rate in hz). After you get the profile file, use the go tool pprof "
                   "command to investigate the profile.",
    .index_href = "profile?seconds=30",
    .serve = serve_profile,
    .count = count_profile,
};
