#ifndef ORDERD_ADMIN_H
#define ORDERD_ADMIN_H

/* Mounts the cprof profiling endpoints (/debug/pprof/..., the seed's
 * /profile/... aliases) in libmicrohttpd. api.c calls admin_handle for every
 * request under those prefixes once the whole request body has arrived
 * (body may be empty), after checking the listener may serve them. *ctx is
 * NULL on the first call for a request and is the handler's own state;
 * admin_request_done(ctx) is called when the request ends, with whatever it
 * left in *ctx. Long profiles suspend the connection so other requests keep
 * being served. */

#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>

#include "orderd/app.h"

/* True for paths admin_handle serves. */
bool admin_owns(const char *url);
enum MHD_Result admin_handle(app_t *app, struct MHD_Connection *c, const char *method,
                             const char *url, const char *body, size_t body_len, void **ctx);
void admin_request_done(void *ctx);

/* Starts/stops whatever profiling machinery orderd runs for its whole life.
 * Called once from main before/after the listeners. */
int admin_init(app_t *app);
void admin_shutdown(app_t *app);

#endif
