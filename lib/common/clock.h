#ifndef COMMON_CLOCK_H
#define COMMON_CLOCK_H

/* Clocks in nanoseconds. All functions are thread-safe and async-signal-safe
 * (clock_gettime is on the POSIX async-signal-safe list). */

#include <stddef.h>
#include <stdint.h>

/* Monotonic time, for durations. */
int64_t clock_mono_ns(void);
/* Wall-clock time since the Unix epoch. */
int64_t clock_wall_ns(void);
/* CPU time consumed by the whole process. */
int64_t clock_process_cpu_ns(void);
/* Formats a wall time as RFC 3339 UTC with milliseconds
 * ("2026-11-24T16:30:00.123Z") into out (at least 25 bytes); returns length. */
size_t clock_format_rfc3339(int64_t wall_ns, char *out, size_t size);
/* Sleeps for ns nanoseconds, resuming after signal interruptions. */
void clock_sleep_ns(int64_t ns);
/* Parses a duration such as "30s", "500ms", "2m", "1.5s", "250us" or a bare
 * number of seconds into nanoseconds. Returns 0 or -EINVAL. */
int clock_parse_duration(const char *s, int64_t *out_ns);

#endif
