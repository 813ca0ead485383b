#ifndef ORDERD_LEAKWATCH_H
#define ORDERD_LEAKWATCH_H

/* Leak watch (the seed's "memory leak detection", done properly): a monitor
 * thread samples heap in use, RSS, threads and open fds every interval and
 * flags a resource whose growth persists over a window. */

#include <stddef.h>

#include "orderd/app.h"

int leakwatch_start(app_t *app);
void leakwatch_stop(void);
/* Writes a comma-separated list of suspected resources ("" if none) into out;
 * returns how many. Thread-safe. */
int leakwatch_suspects(char *out, size_t size);

#endif
