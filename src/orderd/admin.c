/* Mounts the cprof profiling endpoints (/debug/pprof/..., /profile/...) in
 * orderd's libmicrohttpd listeners, through the shared glue in
 * lib/cprofmhd (which the lab workers use too): this file adds what is
 * orderd's own, the refusal while shutting down and the profiler's
 * lifetime.
 *
 * At shutdown, admin_shutdown cancels pending profiles (they answer with
 * what they collected) so that no connection is left suspended. */

#include "orderd/admin.h"

#include "common/log.h"
#include "cprof.h"
#include "cprofmhd/cprofmhd.h"

static enum MHD_Result send_503(struct MHD_Connection *c)
{
    static const char msg[] = "shutting down\n";
    struct MHD_Response *r =
        MHD_create_response_from_buffer(sizeof(msg) - 1, (void *)msg, MHD_RESPMEM_PERSISTENT);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
    enum MHD_Result ret = MHD_queue_response(c, 503, r);
    MHD_destroy_response(r);
    return ret;
}

bool admin_owns(const char *url) { return cprofmhd_owns(url); }

enum MHD_Result admin_handle(app_t *app, struct MHD_Connection *c, const char *method,
                             const char *url, const char *body, size_t body_len, void **ctx)
{
    /* A resumed request (*ctx set) is answered even while shutting down:
     * that is how canceled profiles deliver what they collected. */
    if (!*ctx && app_shutting_down(app))
        return send_503(c);
    return cprofmhd_handle(c, method, url, body, body_len, ctx);
}

void admin_request_done(void *ctx) { cprofmhd_request_done(ctx); }

int admin_init(app_t *app)
{
    (void)app;
    /* Install the SIGPROF handler and warm the unwinder up now, before the
     * service's threads start, rather than inside the first profile. */
    int rc = cprof_cpu_init();
    if (rc)
        log_warn("CPU profiler unavailable: %s", cprof_strerror(rc));
    return 0;
}

void admin_shutdown(app_t *app)
{
    (void)app;
    int left = cprof_http_cancel_all(5000000000LL);
    if (left)
        log_warn("%d profiling requests still pending at shutdown", left);
}
