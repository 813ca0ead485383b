/* Placeholder until cprof lands: the profiling paths answer 501. */
#include "orderd/admin.h"

#include <string.h>

bool admin_owns(const char *url)
{
    return strncmp(url, "/debug/pprof", 12) == 0 || strncmp(url, "/profile/", 9) == 0;
}

enum MHD_Result admin_handle(app_t *app, struct MHD_Connection *c, const char *method,
                             const char *url, const char *body, size_t body_len, void **ctx)
{
    (void)app, (void)method, (void)url, (void)body, (void)body_len, (void)ctx;
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
