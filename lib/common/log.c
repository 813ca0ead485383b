/* Leveled logging. Each line is "2026-11-24T16:30:00.123Z INFO  prefix: text"
 * formatted into a stack buffer and written with one write(2) call, retried
 * on EINTR and short writes, so concurrent lines never interleave and no lock
 * is needed. The level is an atomic int read on every call. */

#include "common/log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int g_level = LOG_INFO;
static const char *g_prefix = "";

void log_set_level(log_level_t level) { __atomic_store_n(&g_level, (int)level, __ATOMIC_RELAXED); }

log_level_t log_get_level(void) { return (log_level_t)__atomic_load_n(&g_level, __ATOMIC_RELAXED); }

int log_parse_level(const char *s, log_level_t *out)
{
    static const char *names[] = {"debug", "info", "warn", "error"};
    for (int i = 0; i < 4; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = (log_level_t)i;
            return 0;
        }
    }
    return -EINVAL;
}

void log_set_prefix(const char *prefix) { g_prefix = prefix ? prefix : ""; }

void log_write(log_level_t level, const char *fmt, ...)
{
    static const char *tags[] = {"DEBUG", "INFO ", "WARN ", "ERROR"};
    if ((int)level < __atomic_load_n(&g_level, __ATOMIC_RELAXED))
        return;
    int saved = errno;
    char line[2048];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
    n += (size_t)snprintf(line + n, sizeof(line) - n, ".%03ldZ %s %s%s", ts.tv_nsec / 1000000,
                          tags[level], g_prefix, *g_prefix ? ": " : "");
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
    va_end(ap);
    if (m < 0)
        m = 0;
    n += (size_t)m;
    if (n > sizeof(line) - 2)
        n = sizeof(line) - 2;
    line[n++] = '\n';
    const char *p = line;
    while (n > 0) {
        ssize_t w = write(STDERR_FILENO, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        p += w;
        n -= (size_t)w;
    }
    errno = saved;
}
