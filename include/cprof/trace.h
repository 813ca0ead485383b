#ifndef CPROF_TRACE_H
#define CPROF_TRACE_H

/* Execution trace: what each thread did during a window, as Chrome Trace
 * Event JSON ({"traceEvents":[...]}) that Perfetto, chrome://tracing and
 * speedscope open.
 *
 * The program marks its own work: complete spans per thread (ph "X"),
 * flows that link a point on one thread to a span on another (ph "s"/"f"),
 * async spans that start on one thread and end on another (ph "b"/"e"), and
 * counters (ph "C"). The trace adds thread names (ph "M").
 *
 * Cost: when no trace runs every call is one predictable branch on a global
 * flag. While a trace runs, each thread appends to its own buffer (no lock
 * and no shared cache line on the hot path; a buffer is allocated on a
 * thread's first event of a trace). The buffers hold at most
 * cprof_trace_set_limit bytes together; later events are dropped and
 * counted. One trace at a time.
 *
 * Names and keys passed to the recording calls must be string literals (or
 * otherwise live for the whole process): only the pointer is stored.
 * Recording calls are thread-safe and not async-signal-safe. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---- recording ------------------------------------------------------------ */

extern int cprof__trace_on;

static inline bool cprof_trace_enabled(void)
{
    return __builtin_expect(__atomic_load_n(&cprof__trace_on, __ATOMIC_RELAXED), 0);
}

/* The trace clock: CLOCK_MONOTONIC in ns. */
int64_t cprof_trace_now(void);

void cprof__trace_span(int64_t t0, const char *name, const char *arg_key, int64_t arg);
uint64_t cprof__trace_flow_start(const char *name);
void cprof__trace_flow_end(const char *name, uint64_t id);
void cprof__trace_async(char ph, const char *name, uint64_t id);
void cprof__trace_counter(const char *name, const char *const *keys, const int64_t *values, int n);

/* A span: begin returns its start time (0 when no trace runs); end records
 * the span [begin, now] on the calling thread with one optional numeric
 * argument (arg_key NULL: none). Spans of a thread must nest (end them in
 * reverse order of their begin). */
static inline int64_t cprof_trace_begin(void)
{
    return cprof_trace_enabled() ? cprof_trace_now() : 0;
}

static inline void cprof_trace_end(int64_t t0, const char *name, const char *arg_key, int64_t arg)
{
    if (t0 && cprof_trace_enabled())
        cprof__trace_span(t0, name, arg_key, arg);
}

/* A flow: start records the origin point (inside the caller's current
 * span) and returns a nonzero id, or 0 when no trace runs. end, given that
 * id, records the arrival, bound to the span enclosing it on the calling
 * thread; ids of another trace (or 0) are ignored, so a flow is always
 * complete or visibly only started. */
static inline uint64_t cprof_trace_flow_start(const char *name)
{
    return cprof_trace_enabled() ? cprof__trace_flow_start(name) : 0;
}

static inline void cprof_trace_flow_end(const char *name, uint64_t id)
{
    if (id && cprof_trace_enabled())
        cprof__trace_flow_end(name, id);
}

/* An async span (e.g. the time an order waits in a queue): begins on one
 * thread, ends on another, matched by (name, id). */
static inline void cprof_trace_async_begin(const char *name, uint64_t id)
{
    if (id && cprof_trace_enabled())
        cprof__trace_async('b', name, id);
}

static inline void cprof_trace_async_end(const char *name, uint64_t id)
{
    if (id && cprof_trace_enabled())
        cprof__trace_async('e', name, id);
}

/* A counter sample: n (1..3) series values, keys[i] naming series i (the
 * array may be temporary, its strings not). */
static inline void cprof_trace_counter(const char *name, const char *const *keys,
                                       const int64_t *values, int n)
{
    if (cprof_trace_enabled())
        cprof__trace_counter(name, keys, values, n);
}

/* ---- control -------------------------------------------------------------- */

typedef struct cprof_trace cprof_trace_t;

/* Starts recording. 0, or -EBUSY when a trace is already running. */
int cprof_trace_start(void);
bool cprof_trace_running(void);
/* Stops recording and takes what was recorded. *out is owned by the caller
 * (cprof_trace_free). 0, -EINVAL (no trace running) or -ENOMEM. */
int cprof_trace_stop(cprof_trace_t **out);
void cprof_trace_free(cprof_trace_t *t);
size_t cprof_trace_event_count(const cprof_trace_t *t);
uint64_t cprof_trace_dropped(const cprof_trace_t *t);
/* Writes {"traceEvents":[...],"displayTimeUnit":"ms","otherData":{...}}.
 * Timestamps are microseconds since the start of the trace. 0 or a
 * negative errno from writing. */
int cprof_trace_write_json(const cprof_trace_t *t, FILE *out);
/* Bytes the event buffers may hold together (default 128 MiB; at least one
 * buffer chunk). */
void cprof_trace_set_limit(size_t bytes);

/* Stops the running trace and writes it as JSON into *out (malloc'ed, the
 * caller's). 0, -EINVAL (no trace running), -ENOMEM. */
int cprof_trace_stop_json(char **out, size_t *len);

/* Records a whole window: start, sleep ns (EINTR-safe), stop, JSON. *out
 * malloc'ed. 0, -EBUSY, -ENOMEM. */
int cprof_trace_record(int64_t ns, char **out, size_t *len);

#endif
