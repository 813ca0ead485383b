#ifndef ORDERD_LIVE_H
#define ORDERD_LIVE_H

/* The live window behind the dashboard (GET /api/live): a thread named
 * "live" samples the service once per second into a ring of 300 points (the
 * last five minutes), so a page opened now shows the recent past at once.
 * Per point: orders/s accepted, processed, failed and rejected; end-to-end
 * latency p50 and p99 per priority over that second; queue depth per
 * priority; busy workers and threads; heap in use and RSS; CPU (% of one
 * core); and the cumulative accepted/processed/rejected counts (which equal
 * /stats at the time of the sample). The JSON shape is common/tseries.h's.
 *
 * live_start/live_stop are called once from main (before the listeners
 * start, after they stop); live_render from any HTTP thread. */

#include <stdbool.h>

#include "common/buf.h"
#include "orderd/app.h"

/* Starts the sampler. 0 or a negative errno. */
int live_start(app_t *app);
/* Stops and joins the sampler; safe when not started. */
void live_stop(void);
/* Appends the window as JSON: points with sequence number >= since (the
 * "since" query parameter; NULL or invalid means all, with the series and
 * chart descriptions). profiling says whether the listener that asks
 * serves /debug/pprof (the dashboard disables its profile buttons if not).
 * Answers {"error":...} when the sampler is not running. */
void live_render(const char *since, bool profiling, buf_t *out);

#endif
