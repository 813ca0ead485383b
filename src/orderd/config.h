#ifndef ORDERD_CONFIG_H
#define ORDERD_CONFIG_H

/* orderd's settings: defaults, then ORDERD_* environment variables, then
 * command-line flags. config_usage prints every flag with its variable and
 * default. */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "orderd/pool.h"

typedef struct config {
    char listen[128];       /* host:port of the API */
    char admin_listen[128]; /* "" = none */
    int http_threads;
    int max_connections;
    int max_connections_per_ip;
    int64_t conn_timeout_ns;
    int workers;
    int results_threads;
    size_t queue_capacity;
    size_t results_capacity;
    int64_t max_queue_wait_ns;
    work_mode_t work;
    int64_t work_ns;
    int64_t shutdown_timeout_ns;
    int64_t stall_timeout_ns;
    int64_t summary_interval_ns;
    bool log_results;
    bool paused;
    char log_level[16];
    char load[32]; /* built-in load scenario, "" = none */
    int ready_fd;  /* -1 = none */
    /* leak watch */
    int64_t leak_interval_ns; /* 0 = off */
    int leak_window;          /* samples that must show growth */
    char debug_leak[16];      /* "" | "threads" | "heap": deliberate leak (lab aid) */
    /* profiling (cprof) */
    bool profiling; /* serve /debug/pprof on the API listener when loopback */
    bool heap_profile;        /* jemalloc allocation sampling on from the start */
    size_t heap_profile_rate; /* mean sampling interval, bytes (Go: MemProfileRate) */
    int mutex_profile_fraction; /* Go: SetMutexProfileFraction (0 = off) */
    int block_profile_rate;     /* Go: SetBlockProfileRate, ns (0 = off) */
} config_t;

/* Fills cfg from defaults, environment and argv. Returns 0, 1 when --help
 * was printed, or -EINVAL with a one-line message in err. */
int config_load(config_t *cfg, int argc, char **argv, char *err, size_t errlen);
void config_usage(FILE *out);

#endif
