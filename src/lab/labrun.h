#ifndef LAB_LABRUN_H
#define LAB_LABRUN_H

/* The frame both lab workers share: flags, signals, the metrics server,
 * profiles, the run's end (all tasks done, -duration elapsed, or
 * SIGINT/SIGTERM) and the seed's end report. A worker implementation
 * supplies start/stop; everything it measures goes through labrun_t so the
 * two workers are compared on identical terms.
 *
 * Threads: labrun_main runs on the main thread and blocks SIGINT/SIGTERM
 * in every thread before any is created (taken with a signalfd). The
 * labrun_* functions below are thread-safe. */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "lab/labcfg.h"

typedef struct labrun {
    const labcfg_t *cfg;
    const char *type; /* "bad" or "optimized" */
    int stop;         /* set (atomically) when the run must end; workers poll it */
    int64_t start_ns; /* monotonic */
    int64_t end_ns;   /* when the last task finished (0 until then) */
    uint64_t next_id; /* producer only */
    uint64_t finished, errors;
    uint64_t checksum; /* set by the implementation's stop */
    int done_fd;       /* eventfd written when every task has finished */
} labrun_t;

typedef struct lab_impl {
    const char *type;  /* "bad" / "optimized": metric label, default port */
    const char *title; /* first report line, e.g. "Bad Worker (Problematic Version)" */
    /* Starts the worker's threads; returns its state (aborts on failure). */
    void *(*start)(labrun_t *run);
    /* Called once run->stop is set: stops what the implementation stops,
     * joins what it joins, and stores run->checksum. */
    void (*stop)(void *state, labrun_t *run);
    /* Optional extra report lines (e.g. what leaked). */
    void (*report)(void *state, labrun_t *run, FILE *out);
} lab_impl_t;

/* The whole program: returns the process exit status. */
int labrun_main(const lab_impl_t *impl, int argc, char **argv);

/* Producer: the next task id to submit, paced by -rate; false once every
 * task was submitted or the run is stopping. */
bool labrun_next(labrun_t *run, uint64_t *id);
/* A worker finished a task (error: it was invalid). */
void labrun_finished(labrun_t *run, bool error);
static inline bool labrun_stopping(const labrun_t *run)
{
    return __atomic_load_n(&run->stop, __ATOMIC_ACQUIRE) != 0;
}
/* Prints one progress line on stderr (unless -quiet). */
void labrun_progress(labrun_t *run);

#endif
