#ifndef ORDERD_APP_H
#define ORDERD_APP_H

/* The running service: every module's state, owned by main.c and shared by
 * the HTTP handlers. Pointers are set before the listeners start and never
 * change afterwards. */

#include <stdbool.h>

#include "orderd/config.h"
#include "orderd/pool.h"
#include "orderd/queue.h"
#include "orderd/stats.h"
#include "orderd/store.h"

typedef struct app {
    config_t cfg;
    queue_t *queue;
    store_t *store;
    pool_t *pool;
    stats_t stats;
    int shutting_down; /* atomic: POST /orders answers 503 once set */
    bool api_loopback; /* the API listener is bound to a loopback address */
} app_t;

static inline bool app_shutting_down(const app_t *a)
{
    return __atomic_load_n(&a->shutting_down, __ATOMIC_ACQUIRE) != 0;
}

#endif
