#ifndef LAB_LABLIVE_H
#define LAB_LABLIVE_H

/* The lab workers' live window behind the dashboard at / (GET /api/live):
 * common/tseries' "live" thread samples the worker once per second into a
 * ring of 300 points (the last five minutes). Per point: tasks/s completed
 * and rejected as invalid, the task processing time p50 and p99 over that
 * second, tasks in queue, threads, heap in use (cprof_memstats), bytes
 * allocated per second (jemalloc only), RSS, CPU (% of one core), and the
 * cumulative task count. The JSON shape is common/tseries.h's, so the same
 * page as orderd's draws it.
 *
 * lablive_start/lablive_stop run on the main thread (the sampler thread
 * counts in the worker's threads while it runs: stop it before the final
 * count); lablive_render on any HTTP thread. */

#include "common/buf.h"

/* Starts the sampler; title names the program on the page. 0 or a
 * negative errno. */
int lablive_start(const char *title);
/* Stops and joins the sampler; safe when not started. */
void lablive_stop(void);
/* Appends the window as JSON (points with sequence number >= since; NULL
 * or invalid means all, with the series and chart descriptions), or
 * {"error":...} when the sampler is not running. */
void lablive_render(const char *since, buf_t *out);

#endif
