#ifndef CPROF_HTTP_INT_H
#define CPROF_HTTP_INT_H

/* Internal: the built-in providers and aliases of the HTTP layer. Each
 * profile module defines its provider (const cprof_http_provider_t
 * cprof__http_<name>) in its own file and adds one line to the tables in
 * http_providers.c plus its declaration here. */

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include "cprof/http.h"
#include "cprof/pprof.h"

extern const cprof_http_provider_t cprof__http_cmdline;
extern const cprof_http_provider_t cprof__http_profile;
extern const cprof_http_provider_t cprof__http_symbol;
extern const cprof_http_provider_t cprof__http_goroutine;    /* threads_http.c */
extern const cprof_http_provider_t cprof__http_threadcreate; /* threads_http.c */
extern const cprof_http_provider_t cprof__http_mutex;        /* lock_http.c */
extern const cprof_http_provider_t cprof__http_block;        /* lock_http.c */
extern const cprof_http_provider_t cprof__http_trace;        /* trace_http.c */
extern const cprof_http_provider_t cprof__http_heap;         /* heap_http.c */
extern const cprof_http_provider_t cprof__http_allocs;       /* heap_http.c */
extern const cprof_http_provider_t cprof__http_gc;           /* heap_http.c */

/* Runs write(arg, f) into r's body as text/plain; 0 or a negative errno
 * (write's, or -ENOMEM). */
int cprof__http_text_body(cprof_http_response_t *r, int (*write)(void *arg, FILE *f), void *arg);

/* NULL-terminated. */
extern const cprof_http_provider_t *const cprof__http_builtin[];
extern const cprof_http_alias_t cprof__http_aliases[];
extern const size_t cprof__http_naliases;

/* ---- delta profiles (delta_http.c) -------------------------------------
 * ?seconds=N on a snapshot profile, as Go's serveDeltaProfile: a snapshot
 * at once (in the request's thread), N seconds of waiting on a cprof-http
 * thread (cprof_http_defer; a canceled request stops waiting early), a
 * second snapshot, and the first subtracted (cprof_profile_delta). */

/* The largest ?seconds= accepted (Go bounds it by the server's write
 * timeout; we have none). */
#define CPROF__HTTP_MAX_DELTA_S 3600

typedef struct cprof__http_delta {
    /* A snapshot as a decoded profile (*out freed by the caller). */
    int (*snapshot)(void *arg, cprof_profile_t **out);
    /* Encodes the difference into a malloc'ed body; NULL: gzipped
     * profile.proto as it is. May change delta. */
    int (*encode)(void *arg, cprof_profile_t *delta, uint8_t **out, size_t *len);
    void (*free)(void *arg); /* NULL: arg needs no freeing */
} cprof__http_delta_t;

/* The common parameters of a snapshot profile: debug=N (N >= 0) and
 * seconds=N (on an alias also duration=<Go duration>), *delta_ns = 0 when
 * absent. Answers 400 with a one-line reason, as Go does, for a bad value,
 * a duration above CPROF__HTTP_MAX_DELTA_S or seconds with debug != 0, and
 * returns -EINVAL then (the provider returns 0: the response is made). */
int cprof__http_profile_params(const cprof_http_request_t *req, cprof_http_response_t *r,
                               int *debug, int64_t *delta_ns);

/* Serves a delta over ns: takes the first snapshot, defers the rest.
 * arg is owned from here on (ops->free in every case). Returns 0 or a
 * negative errno (of the first snapshot, or of cprof_http_defer). */
int cprof__http_serve_delta(cprof_http_response_t *r, int64_t ns, const cprof__http_delta_t *ops,
                            void *arg);

#endif
