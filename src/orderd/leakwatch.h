#ifndef ORDERD_LEAKWATCH_H
#define ORDERD_LEAKWATCH_H

/* Leak watch (the seed's "memory leak detection", done properly): a monitor
 * thread ("leakwatch") samples heap in use, RSS, threads and open fds every
 * --leak-interval and flags a resource whose growth persists over the last
 * --leak-window samples (after a first window of warm-up):
 * orderd_leak_suspected{resource} in /metrics, one
 * warning in the log when it is raised, and a detail in /health.
 *
 * --debug-leak threads|heap (a lab aid, off by default) leaks on purpose
 * from the same thread, once per interval, so the detection can be seen and
 * tested: a parked thread "leak-N", or a touched 1 MiB heap chunk. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "orderd/app.h"

typedef enum { LEAK_HEAP = 0, LEAK_RSS, LEAK_THREADS, LEAK_FDS, LEAK_N } leak_resource_t;

/* "heap", "rss", "threads", "fds". */
extern const char *const leakwatch_resource_names[LEAK_N];

/* Starts the monitor thread (nothing when the interval is 0). Call once, from
 * main, before the listeners start. 0 or a negative errno. */
int leakwatch_start(app_t *app);
/* Stops and joins the monitor thread promptly, and releases the parked
 * threads of --debug-leak threads. The leaked heap chunks stay (reachable).
 * Safe to call when not started. */
void leakwatch_stop(void);
/* Writes a comma-separated list of suspected resources ("" if none) into out;
 * returns how many. Thread-safe. */
int leakwatch_suspects(char *out, size_t size);
/* Whether resource r is suspected now. Thread-safe, lock-free. */
bool leakwatch_suspected(leak_resource_t r);
/* Samples taken since start (each one judged once the window is full).
 * Thread-safe, lock-free. */
uint64_t leakwatch_samples(void);

#endif
