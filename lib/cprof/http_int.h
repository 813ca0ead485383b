#ifndef CPROF_HTTP_INT_H
#define CPROF_HTTP_INT_H

/* Internal: the built-in providers and aliases of the HTTP layer. Each
 * profile module defines its provider (const cprof_http_provider_t
 * cprof__http_<name>) in its own file and adds one line to the tables in
 * http_providers.c plus its declaration here. */

#include <stddef.h>

#include "cprof/http.h"

extern const cprof_http_provider_t cprof__http_cmdline;
extern const cprof_http_provider_t cprof__http_profile;
extern const cprof_http_provider_t cprof__http_symbol;
extern const cprof_http_provider_t cprof__http_goroutine;    /* threads_http.c */
extern const cprof_http_provider_t cprof__http_threadcreate; /* threads_http.c */
extern const cprof_http_provider_t cprof__http_mutex;        /* lock_http.c */
extern const cprof_http_provider_t cprof__http_block;        /* lock_http.c */
extern const cprof_http_provider_t cprof__http_trace;        /* trace_http.c */

/* NULL-terminated. */
extern const cprof_http_provider_t *const cprof__http_builtin[];
extern const cprof_http_alias_t cprof__http_aliases[];
extern const size_t cprof__http_naliases;

#endif
