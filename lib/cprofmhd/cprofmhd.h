#ifndef CPROFMHD_CPROFMHD_H
#define CPROFMHD_CPROFMHD_H

/* cprof's HTTP layer (/debug/pprof/..., the seed's /profile/... aliases;
 * cprof/http.h) mounted in libmicrohttpd: the glue every program of the
 * project that serves profiles with MHD shares (orderd's admin endpoints,
 * the lab workers' metrics address).
 *
 * A library of its own (libcprofmhd.a, linked before libcprof.a) because
 * cprof knows nothing about HTTP server libraries and lib/common must not
 * depend on cprof.
 *
 * Use from an MHD access handler, once the whole request body has arrived
 * (it may be empty): for a url cprofmhd_owns, call cprofmhd_handle with a
 * per-request void * slot that starts NULL, and call cprofmhd_request_done
 * with what the slot holds when MHD reports the request completed
 * (MHD_OPTION_NOTIFY_COMPLETED). A long profile (a 30 s CPU profile)
 * suspends the connection, so the daemon keeps serving everything else; it
 * must therefore be started with MHD_ALLOW_SUSPEND_RESUME, and before
 * MHD_stop_daemon the program calls cprof_http_cancel_all so that no
 * connection is left suspended (pending profiles then answer with what they
 * collected).
 *
 * Thread-safe: any MHD thread may call these, for different requests. */

#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>

/* True for the paths cprofmhd_handle serves: /debug/pprof... and
 * /profile/... */
bool cprofmhd_owns(const char *url);

/* Serves one request through cprof_http_serve. *ctx is NULL on the first
 * call for a request; the handler keeps its state there (the pending
 * response of a suspended connection) and is called again for the same
 * request once the connection resumes. body is not kept. */
enum MHD_Result cprofmhd_handle(struct MHD_Connection *c, const char *method, const char *url,
                                const void *body, size_t body_len, void **ctx);

/* Frees what cprofmhd_handle left in the request's slot (NULL is fine). */
void cprofmhd_request_done(void *ctx);

#endif
