#ifndef LAB_LABHTTP_H
#define LAB_LABHTTP_H

/* The lab workers' HTTP server (--metrics-addr): the live dashboard at /
 * (the same page as orderd's, with its data from lab/lablive at /api/live),
 * /metrics from the lab's metrics registry, and cprof's /debug/pprof/...
 * (the same profiles as orderd's, with speedscope at /debug/pprof/ui/).
 * One libmicrohttpd daemon with one internal epoll thread ("MHD-single").
 *
 * Not thread-safe: start and stop from the main thread. */

#include <stddef.h>

typedef struct labhttp labhttp_t;

/* Listens on addr ("host:port"; ":port" means 127.0.0.1:port, never every
 * interface) and serves until labhttp_stop. *port receives the bound port
 * (useful with port 0). Returns NULL with a one-line reason in err. */
labhttp_t *labhttp_start(const char *addr, int *port, char *err, size_t errlen);
/* Ends pending profile requests, stops serving, joins the server thread,
 * frees h (NULL is fine). */
void labhttp_stop(labhttp_t *h);

#endif
