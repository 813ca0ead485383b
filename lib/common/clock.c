#include "common/clock.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int64_t read_clock(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t clock_mono_ns(void) { return read_clock(CLOCK_MONOTONIC); }
int64_t clock_wall_ns(void) { return read_clock(CLOCK_REALTIME); }
int64_t clock_process_cpu_ns(void) { return read_clock(CLOCK_PROCESS_CPUTIME_ID); }

size_t clock_format_rfc3339(int64_t wall_ns, char *out, size_t size)
{
    time_t sec = (time_t)(wall_ns / 1000000000);
    struct tm tm;
    gmtime_r(&sec, &tm);
    size_t n = strftime(out, size, "%Y-%m-%dT%H:%M:%S", &tm);
    int m = snprintf(out + n, size - n, ".%03dZ", (int)((wall_ns / 1000000) % 1000));
    return n + (m > 0 ? (size_t)m : 0);
}

void clock_sleep_ns(int64_t ns)
{
    if (ns <= 0)
        return;
    struct timespec ts = {.tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000};
    /* nanosleep returns EINTR on profiler signals even with SA_RESTART. */
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

int clock_parse_duration(const char *s, int64_t *out_ns)
{
    if (!s || !*s)
        return -EINVAL;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || end == s || !isfinite(v) || v < 0)
        return -EINVAL;
    double mult;
    if (*end == '\0' || strcmp(end, "s") == 0)
        mult = 1e9;
    else if (strcmp(end, "ms") == 0)
        mult = 1e6;
    else if (strcmp(end, "us") == 0)
        mult = 1e3;
    else if (strcmp(end, "ns") == 0)
        mult = 1;
    else if (strcmp(end, "m") == 0)
        mult = 60e9;
    else if (strcmp(end, "h") == 0)
        mult = 3600e9;
    else
        return -EINVAL;
    double ns = v * mult;
    if (ns > 9.2e18)
        return -EINVAL;
    *out_ns = (int64_t)ns;
    return 0;
}
