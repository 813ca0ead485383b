#ifndef LAB_LABCFG_H
#define LAB_LABCFG_H

/* Command-line flags of the lab workers (the seed's flags plus ours).
 * Every flag is accepted as -flag=value, -flag value, --flag=value and
 * --flag value. Not thread-safe (parse once, in main). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct labcfg {
    int64_t tasks;       /* -tasks: tasks to process (0 = unlimited) */
    int workers;         /* -workers: worker threads */
    int data_size;       /* -data-size: ints per task */
    int64_t duration_ns; /* -duration: longest run (0 = no limit) */
    double rate;         /* -rate: tasks per second the producer submits (0 = as fast as taken) */
    int leak_cap;        /* -leak-cap: most helper threads the bad worker leaks */
    char cpuprofile[1024];
    char memprofile[1024];
    int64_t memprofilerate; /* -memprofilerate: mean bytes between heap samples */
    int mutex_fraction;     /* -mutexprofilefraction: 1/N contentions recorded */
    int64_t block_rate;     /* -blockprofilerate: ns (0 = off) */
    char metrics_addr[128]; /* host:port, ":port", or "none" */
    int ready_fd;           /* -ready-fd: write "PORT\n" here once serving (-1: no) */
    bool quiet;             /* -quiet: no progress lines */
} labcfg_t;

/* Parses argv into cfg. worker_type ("bad" or "optimized") picks the
 * default metrics address (:9090 or :9091). Returns 0, 1 when --help was
 * printed, or -EINVAL with a one-line reason in err. */
int labcfg_parse(labcfg_t *cfg, const char *worker_type, int argc, char **argv, char *err,
                 size_t errlen);
/* Prints the usage text to f (a FILE *). */
void labcfg_usage(void *f, const char *prog, const char *worker_type);

#endif
