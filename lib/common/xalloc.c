#include "common/xalloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"

void fatal(const char *file, int line, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    log_error("fatal: %s at %s:%d", msg, file, line);
    abort();
}

void *xalloc__malloc(size_t n, const char *file, int line)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        fatal(file, line, "out of memory allocating %zu bytes", n);
    return p;
}

void *xalloc__calloc(size_t n, size_t m, const char *file, int line)
{
    void *p = calloc(n ? n : 1, m ? m : 1);
    if (!p)
        fatal(file, line, "out of memory allocating %zu x %zu bytes", n, m);
    return p;
}

void *xalloc__realloc(void *p, size_t n, const char *file, int line)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        fatal(file, line, "out of memory reallocating to %zu bytes", n);
    return q;
}

char *xalloc__strdup(const char *s, const char *file, int line)
{
    size_t n = strlen(s) + 1;
    char *p = xalloc__malloc(n, file, line);
    memcpy(p, s, n);
    return p;
}
