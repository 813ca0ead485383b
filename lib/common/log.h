#ifndef COMMON_LOG_H
#define COMMON_LOG_H

/* Leveled logging for the programs: one line per event on stderr, written
 * with a single write(2) so lines from different threads never interleave.
 * Thread-safe; not async-signal-safe (uses vsnprintf). */

#include <stdarg.h>

typedef enum { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR } log_level_t;

/* Sets the lowest level printed (default LOG_INFO). */
void log_set_level(log_level_t level);
log_level_t log_get_level(void);
/* Parses "debug", "info", "warn" or "error"; returns 0 or -EINVAL. */
int log_parse_level(const char *s, log_level_t *out);
/* Prefix for every line, e.g. the program name (not copied; keep it alive). */
void log_set_prefix(const char *prefix);

void log_write(log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_write(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_write(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_write(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_write(LOG_ERROR, __VA_ARGS__)

#endif
