/* The built-in profile providers of /debug/pprof and the seed's aliases.
 * Adding a profile: define its provider in the module's own file, declare
 * it in http_int.h, add one line to each table here (the index page sorts
 * by name). Programs add their own with cprof_http_register. */

#include "cprof/http_int.h"

const cprof_http_provider_t *const cprof__http_builtin[] = {
    &cprof__http_cmdline,
    &cprof__http_profile,
    &cprof__http_symbol,
    &cprof__http_goroutine,
    &cprof__http_threadcreate,
    &cprof__http_mutex,
    &cprof__http_block,
    &cprof__http_trace,
    &cprof__http_heap,
    &cprof__http_allocs,
    &cprof__http_gc,
    NULL,
};

const cprof_http_alias_t cprof__http_aliases[] = {
    {"/profile/cpu", "profile"},
    {"/profile/goroutines", "goroutine"},
    {"/profile/mutex", "mutex"},
    {"/profile/block", "block"},
    {"/profile/trace", "trace"},
    {"/profile/memory", "heap"},
    {"/profile/gc", "gc"},
};
const size_t cprof__http_naliases = sizeof(cprof__http_aliases) / sizeof(cprof__http_aliases[0]);
