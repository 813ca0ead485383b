#ifndef ORDERD_PROM_H
#define ORDERD_PROM_H

/* GET /metrics: the service's metrics in Prometheus text format 0.0.4
 * (process_*, orderd_* counters, gauges and histograms, heap, leak watch). */

#include "common/buf.h"
#include "common/metrics.h"
#include "orderd/app.h"

/* Appends the exposition to out. Thread-safe. */
void prom_render(app_t *app, buf_t *out);
/* The registry behind /metrics, built on first use (one per process, for
 * the one app_t): other modules may add their own families to it. The
 * registry lives until the process exits. Thread-safe. */
metrics_t *prom_registry(app_t *app);

#endif
