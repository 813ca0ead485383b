#ifndef ORDERLOAD_REPORT_H
#define ORDERLOAD_REPORT_H

/* orderload's output: the live progress line and the final summary (text
 * table or JSON). Everything here runs on orderload's single thread. */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "common/loadgen.h"

/* One phase as it ran. */
typedef struct report_phase {
    const char *name;   /* scenario phase name, or "rate" / "max" */
    double target_rate; /* 0 for the closed loop */
    int64_t duration_ns;
    loadgen_stats_t stats;
} report_phase_t;

typedef struct report {
    const char *url;
    const char *scenario; /* NULL without --scenario */
    int connections;
    double max_error_rate;
    int64_t wall_ns; /* whole run including pauses */
    int nphases;
    report_phase_t *phases;
    loadgen_stats_t total; /* merge of the phases */
} report_t;

/* Progress printer state: pass as the loadgen progress context. */
typedef struct report_progress {
    FILE *out;
    bool tty;          /* rewrite one line with \r instead of printing lines */
    const char *phase; /* label of the running phase */
    uint64_t last_responses;
    int64_t last_elapsed_ns;
    bool line_open; /* a \r line is on screen and needs a newline */
} report_progress_t;

/* A loadgen_progress_fn; ctx is a report_progress_t. */
void report_progress_cb(void *ctx, const loadgen_stats_t *st, int64_t elapsed_ns);
/* Starts a new phase on the progress output. */
void report_progress_phase(report_progress_t *p, const char *phase);
/* Ends the progress output (newline after a \r line). */
void report_progress_end(report_progress_t *p);

/* Writes the human summary to out. */
void report_text(const report_t *r, FILE *out);
/* Writes the JSON summary (one object and a newline) to out. */
void report_json(const report_t *r, FILE *out);
/* True when the run passes: not aborted and the error rate is within the limit. */
bool report_ok(const report_t *r);

#endif
