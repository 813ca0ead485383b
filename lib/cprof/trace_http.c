/* /debug/pprof/trace?seconds=F (default 1, as Go) and the seed's
 * /profile/trace?duration=5s: an execution trace of the window as Chrome
 * Trace Event JSON.
 *
 * The trace starts in the request's thread, so a concurrent request gets
 * its 409 at once; the window and the JSON encoding run deferred on a
 * "cprof-http" thread. A canceled request ends the window early and still
 * returns what was recorded. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "cprof.h"
#include "cprof/http_int.h"

#define MAX_SECONDS 600

static int work(cprof_http_response_t *r, void *arg)
{
    int64_t ns = *(int64_t *)arg;
    free(arg);
    cprof_http_response_sleep(r, ns);
    char *text = NULL;
    size_t len = 0;
    int rc = cprof_trace_stop_json(&text, &len);
    if (!rc)
        cprof_http_response_set_body(r, text, len);
    return rc;
}

static int serve_trace(const cprof_http_request_t *req, cprof_http_response_t *r)
{
    char err[160];
    int64_t def = req->alias ? 5000000000LL : 1000000000LL;
    int64_t *ns = malloc(sizeof(*ns));
    if (!ns)
        return -ENOMEM;
    if (cprof_http_request_duration(req, def, MAX_SECONDS * 1000000000LL, ns, err, sizeof(err)) !=
        0) {
        free(ns);
        return cprof_http_response_error(r, 400, "%s", err);
    }
    int rc = cprof_trace_start();
    if (rc == -EBUSY) {
        free(ns);
        return cprof_http_response_error(r, 409,
                                         "Could not enable tracing: a trace is already running");
    }
    if (rc) {
        free(ns);
        return rc;
    }
    char name[64] = "trace.json";
    if (req->alias)
        snprintf(name, sizeof(name), "trace_%lld.json", (long long)time(NULL));
    cprof_http_response_attachment(r, name);
    /* Replace the attachment's octet-stream: the body is JSON. */
    cprof_http_response_add_header(r, "Content-Type", "application/json");
    if ((rc = cprof_http_defer(r, work, ns)) != 0) {
        free(ns);
        cprof_trace_t *t;
        if (cprof_trace_stop(&t) == 0)
            cprof_trace_free(t);
    }
    return rc;
}

static int64_t count_trace(void) { return cprof_trace_running() ? 1 : 0; }

const cprof_http_provider_t cprof__http_trace = {
    .name = "trace",
    .description = "An execution trace of the program's spans, flows and counters as Chrome "
                   "Trace Event JSON (Perfetto, chrome://tracing, speedscope). You can specify "
                   "the duration in the seconds GET parameter.",
    .index_href = "trace?seconds=1",
    .serve = serve_trace,
    .count = count_trace,
    .not_pprof = true,
};
