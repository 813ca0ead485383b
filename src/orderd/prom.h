#ifndef ORDERD_PROM_H
#define ORDERD_PROM_H

/* GET /metrics: the service's metrics in Prometheus text format 0.0.4. */

#include "common/buf.h"
#include "orderd/app.h"

/* Appends the exposition to out. Thread-safe. */
void prom_render(app_t *app, buf_t *out);

#endif
