/* Placeholder until cprof lands: the profiling paths answer 501. */
#include "orderd/admin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cprof/heap.h"

bool admin_owns(const char *url)
{
    return strncmp(url, "/debug/pprof", 12) == 0 || strncmp(url, "/profile/", 9) == 0;
}

/* Heap endpoints (cprof heap module): rebuilds the query string from
 * libmicrohttpd's parsed GET arguments and sends what cprof_heap_http wrote.
 * Until the full cprof HTTP layer lands, ?seconds=N blocks this connection's
 * thread for N seconds. */
typedef struct heap_query {
    char q[512];
    size_t len;
} heap_query_t;

static enum MHD_Result heap_query_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value)
{
    (void)kind;
    heap_query_t *hq = cls;
    int n = snprintf(hq->q + hq->len, sizeof(hq->q) - hq->len, "%s%s=%s", hq->len ? "&" : "", key,
                     value ? value : "");
    if (n > 0 && (size_t)n < sizeof(hq->q) - hq->len)
        hq->len += (size_t)n;
    return MHD_YES;
}

static int heap_handle(struct MHD_Connection *c, const char *url, enum MHD_Result *ret)
{
    heap_query_t hq = {.len = 0};
    hq.q[0] = '\0';
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, heap_query_arg, &hq);
    char *data = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&data, &len);
    if (!f)
        return 0;
    cprof_heap_reply_t reply;
    bool mine = cprof_heap_http(url, hq.q, f, &reply);
    fclose(f);
    if (!mine) {
        free(data);
        return 0;
    }
    struct MHD_Response *r = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(r, "Content-Type", reply.content_type);
    if (reply.disposition[0])
        MHD_add_response_header(r, "Content-Disposition", reply.disposition);
    *ret = MHD_queue_response(c, (unsigned)reply.status, r);
    MHD_destroy_response(r);
    return 1;
}

enum MHD_Result admin_handle(app_t *app, struct MHD_Connection *c, const char *method,
                             const char *url, const char *body, size_t body_len, void **ctx)
{
    (void)app, (void)method, (void)url, (void)body, (void)body_len, (void)ctx;
    enum MHD_Result hret;
    if (heap_handle(c, url, &hret))
        return hret;
    static const char msg[] = "profiling is not available in this build\n";
    struct MHD_Response *r =
        MHD_create_response_from_buffer(sizeof(msg) - 1, (void *)msg, MHD_RESPMEM_PERSISTENT);
    enum MHD_Result ret = MHD_queue_response(c, 501, r);
    MHD_destroy_response(r);
    return ret;
}

void admin_request_done(void *ctx) { (void)ctx; }
int admin_init(app_t *app)
{
    (void)app;
    return 0;
}
void admin_shutdown(app_t *app) { (void)app; }
