#ifndef COMMON_XALLOC_H
#define COMMON_XALLOC_H

/* Allocation for the programs (never for cprof, which returns -ENOMEM):
 * out of memory aborts through one fatal hook that names file and line,
 * as Redis's zmalloc does. */

#include <stddef.h>

#define xmalloc(n) xalloc__malloc((n), __FILE__, __LINE__)
#define xcalloc(n, m) xalloc__calloc((n), (m), __FILE__, __LINE__)
#define xrealloc(p, n) xalloc__realloc((p), (n), __FILE__, __LINE__)
#define xstrdup(s) xalloc__strdup((s), __FILE__, __LINE__)

void *xalloc__malloc(size_t n, const char *file, int line);
void *xalloc__calloc(size_t n, size_t m, const char *file, int line);
void *xalloc__realloc(void *p, size_t n, const char *file, int line);
char *xalloc__strdup(const char *s, const char *file, int line);

/* Logs "fatal: <msg> at file:line" and aborts. */
void fatal(const char *file, int line, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 3, 4)));

#endif
