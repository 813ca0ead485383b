#ifndef ORDERD_API_H
#define ORDERD_API_H

/* The HTTP listeners (libmicrohttpd, internal epoll thread pool) and the
 * routes of the order API. The API listener serves /orders, /stats,
 * /health, /metrics, / and, while bound to loopback, the profiling
 * endpoints; the admin listener (--admin-listen) serves only /metrics and the
 * profiling endpoints. */

#include "orderd/app.h"

typedef struct api api_t;

/* Binds and starts the listeners; fills the bound ports. Returns NULL with a
 * message in err on failure. */
api_t *api_start(app_t *app, int *port, int *admin_port, char *err, size_t errlen);
void api_stop(api_t *api);

#endif
