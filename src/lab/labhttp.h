#ifndef LAB_LABHTTP_H
#define LAB_LABHTTP_H

/* The lab workers' HTTP server (--metrics-addr): /metrics from the lab's
 * metrics registry, /debug/pprof/... from cprof, and an index at /. One
 * libmicrohttpd daemon with one internal epoll thread ("MHD-single").
 *
 * Not thread-safe: start and stop from the main thread. */

#include <stddef.h>

typedef struct labhttp labhttp_t;

/* Listens on addr ("host:port"; ":port" means 127.0.0.1:port, never every
 * interface) and serves until labhttp_stop. *port receives the bound port
 * (useful with port 0). title names the program on the index page. Returns
 * NULL with a one-line reason in err. */
labhttp_t *labhttp_start(const char *addr, const char *title, int *port, char *err, size_t errlen);
/* Stops serving, joins the server thread, frees h (NULL is fine). */
void labhttp_stop(labhttp_t *h);

#endif
