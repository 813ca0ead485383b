#ifndef COMMON_LOADGEN_H
#define COMMON_LOADGEN_H

/* HTTP load engine: POSTs request bodies to one URL over keep-alive
 * connections, from one thread, with libcurl's multi interface.
 *
 * Two modes:
 *  - open loop (rate > 0): request i is due at start + i/rate; a due
 *    request waits for a free connection if all are busy, and its latency
 *    is measured from the time it was DUE, not from when it could be sent,
 *    so a slow server cannot hide its stalls (no coordinated omission);
 *  - closed loop (rate == 0, "max"): every connection always has one
 *    request in flight; latency from the actual send.
 * Both stop at the duration, after max_requests, or when *stop becomes
 * non-zero, then wait for
 * the requests in flight (bounded by the request timeout).
 *
 * A server that cannot be reached ends the run at once: a connection
 * failure before any response, or only connection failures for 2 s, stops
 * sending and loadgen_run returns -ECONNREFUSED with the reason in
 * first_error.
 *
 * Ownership: the caller owns the config, the stats and everything they
 * point to. Thread safety: loadgen_run is reentrant (no global state apart
 * from libcurl's one-time global init, done under pthread_once); several
 * runs may proceed in parallel on different threads. The body and progress
 * callbacks are called on the thread that called loadgen_run. */

#include <stdbool.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/hist.h"

/* Exact status codes tracked: 0..LOADGEN_CODES-1. */
#define LOADGEN_CODES 600

typedef struct loadgen_stats {
    uint64_t sent;           /* requests started */
    uint64_t responses;      /* requests answered with an HTTP status */
    uint64_t errors;         /* requests that got no HTTP status (transport errors) */
    uint64_t unsent;         /* open loop: requests due before the end but never started */
    uint64_t connect_errors; /* part of errors: connection refused / failed */
    uint64_t timeouts;       /* part of errors: request timed out or cut off at the end */
    uint64_t by_class[6];    /* [k]: responses with status kxx */
    uint64_t by_code[LOADGEN_CODES];
    int64_t elapsed_ns;    /* start to the later of the end of the duration and the last answer */
    hist_t latency;        /* ns, every response (any status) */
    bool aborted;          /* stopped because the server could not be reached */
    char first_error[192]; /* first transport error, "" if none */
} loadgen_stats_t;

/* Appends one request body to out (which the engine has emptied). rng is
 * the engine's RNG state (seeded from the config). */
typedef void (*loadgen_body_fn)(void *ctx, uint64_t *rng, buf_t *out);
/* Called about once per progress interval with the statistics so far. */
typedef void (*loadgen_progress_fn)(void *ctx, const loadgen_stats_t *so_far, int64_t elapsed_ns);

typedef struct loadgen_config {
    const char *url;     /* receives every POST, e.g. "http://127.0.0.1:8080/orders" */
    double rate;         /* requests per second (open loop); 0 = closed loop */
    int64_t duration_ns; /* > 0 */
    int connections;     /* 1..LOADGEN_MAX_CONNECTIONS */
    uint64_t seed;       /* RNG seed for the bodies */
    loadgen_body_fn body;
    void *body_ctx;
    loadgen_progress_fn progress; /* optional */
    void *progress_ctx;
    int64_t progress_interval_ns; /* default 1 s */
    const int *stop;              /* optional; read atomically; non-zero stops the run */
    int64_t timeout_ns;           /* per request; default 10 s */
    uint64_t max_requests;        /* optional: stop after sending this many (0 = no limit) */
} loadgen_config_t;

#define LOADGEN_MAX_CONNECTIONS 4096

/* Zeroes st. */
void loadgen_stats_init(loadgen_stats_t *st);
/* Runs the load described by cfg and fills st (initialized here). Returns
 * 0, -EINVAL for a bad config, -ENOMEM when libcurl cannot start, or
 * -ECONNREFUSED when the server could not be reached (st is filled). */
int loadgen_run(const loadgen_config_t *cfg, loadgen_stats_t *st);

/* ---- pacing and summaries (pure functions, also used by tests) -------- */

/* Offset from the start at which open-loop request i is due. */
int64_t loadgen_due_ns(double rate, uint64_t i);
/* Number of requests an open loop sends in duration_ns (rate × duration). */
uint64_t loadgen_total(double rate, int64_t duration_ns);
/* Number of requests due by elapsed_ns (at most total). */
uint64_t loadgen_due_count(double rate, int64_t elapsed_ns, uint64_t total);

/* Counts one HTTP response (status, latency in ns). */
void loadgen_record_response(loadgen_stats_t *st, long status, int64_t latency_ns);
/* Adds src into dst (both owned by the caller). */
void loadgen_merge(loadgen_stats_t *dst, const loadgen_stats_t *src);

typedef struct loadgen_summary {
    double rate;       /* responses per second over elapsed */
    double error_rate; /* (non-2xx responses + transport errors) / sent; 0 when nothing sent */
    uint64_t p50_ns, p90_ns, p99_ns, p999_ns, max_ns;
    double mean_ns;
} loadgen_summary_t;

void loadgen_summarize(const loadgen_stats_t *st, loadgen_summary_t *out);
/* Appends the statistics as JSON object members ("sent":..,"latency_ms":{..})
 * to an object being written; *first as for buf_json_key. */
void loadgen_json_fields(buf_t *out, const loadgen_stats_t *st, bool *first);

#endif
