/* Flags, environment and defaults, from one table. Each option has a flag
 * name, a type that says how to parse it, the offset of its field in
 * config_t, a default (parsed like user input, so --help shows exactly what
 * applies) and a help line; common/flags parses it. The environment variable
 * is ORDERD_ plus the flag name upper-cased with '-' -> '_'. Precedence:
 * flag > env > default. orderd's own kinds (work mode, log level, load
 * scenario) are the custom types below; cross-field checks follow parsing. */

#include "orderd/config.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/flags.h"
#include "common/log.h"
#include "orderd/load.h"

/* A count: -1 may mean "none" (ready-fd); tighter limits per field are
 * checked in config_load after parsing. */
static const flags_type_t count = {.kind = FLAGS_INT, .min = -1, .max = 1000000};
static const flags_type_t positive_size = {.kind = FLAGS_SIZE, .min = 1, .max = 1LL << 32};

static int parse_work(const char *v, void *field, size_t size)
{
    (void)size;
    return pool_parse_work(v, field) == 0 ? 0 : -EINVAL;
}

static int parse_level(const char *v, void *field, size_t size)
{
    log_level_t lvl;
    if (strlen(v) >= size)
        return -E2BIG;
    if (log_parse_level(v, &lvl) != 0)
        return -EINVAL;
    memcpy(field, v, strlen(v) + 1);
    return 0;
}

static int parse_load(const char *v, void *field, size_t size)
{
    if (strlen(v) >= size)
        return -E2BIG;
    if (*v && !load_valid_scenario(v))
        return -EINVAL;
    memcpy(field, v, strlen(v) + 1);
    return 0;
}

static const flags_type_t work = {.kind = FLAGS_CUSTOM,
                                  .parse = parse_work,
                                  .bad = "expected sleep, cpu or none, got '%v'"};
static const flags_type_t level = {.kind = FLAGS_CUSTOM,
                                   .parse = parse_level,
                                   .bad = "expected debug, info, warn or error, got '%v'"};
static const flags_type_t load = {
    .kind = FLAGS_CUSTOM,
    .parse = parse_load,
    .bad = "unknown scenario '%v' (normal, high, burst, mixed, all)"};

#define F(field) offsetof(config_t, field), sizeof(((config_t *)0)->field)

static const flags_opt_t options[] = {
    {"listen", &flags_str, F(listen), "127.0.0.1:8080",
     "API listen address host:port (port 0 = any)"},
    {"admin-listen", &flags_str, F(admin_listen), "",
     "separate listener for /metrics and profiling (ENABLE_PROFILING=true means 127.0.0.1:6060)"},
    {"http-threads", &count, F(http_threads), "0",
     "HTTP threads (0 = one per core; 1 is best when a load generator shares a 2-core box)"},
    {"max-connections", &count, F(max_connections), "1024", "maximum open HTTP connections"},
    {"max-connections-per-ip", &count, F(max_connections_per_ip), "512",
     "maximum open HTTP connections from one client address"},
    {"conn-timeout", &flags_duration, F(conn_timeout_ns), "30s", "idle HTTP connection timeout"},
    {"workers", &count, F(workers), "10", "worker threads"},
    {"results", &count, F(results_threads), "1", "results-stage threads"},
    {"queue-capacity", &positive_size, F(queue_capacity), "65536",
     "orders the queue holds before answering 503"},
    {"results-capacity", &positive_size, F(results_capacity), "100000",
     "processed orders kept for GET /orders/{id} (oldest evicted)"},
    {"max-queue-wait", &flags_duration, F(max_queue_wait_ns), "5s",
     "an order waiting longer is served first, whatever its priority (0 = off)"},
    {"work", &work, F(work), "sleep", "simulated work: sleep | cpu | none"},
    {"work-ms", &flags_duration_ms, F(work_ns), "10ms",
     "work per priority unit (priority x this; a bare number is ms)"},
    {"shutdown-timeout", &flags_duration, F(shutdown_timeout_ns), "30s",
     "longest graceful drain on SIGTERM/SIGINT"},
    {"stall-timeout", &flags_duration, F(stall_timeout_ns), "30s",
     "/health fails when orders wait and no worker progressed for this long"},
    {"summary-interval", &flags_duration, F(summary_interval_ns), "10s",
     "period of the summary log line (0 = off)"},
    {"log-results", &flags_bool, F(log_results), "false", "log one line per processed order"},
    {"log-level", &level, F(log_level), "info", "debug | info | warn | error"},
    {"paused", &flags_bool, F(paused), "false",
     "start with workers paused (POST /debug/workers/resume)"},
    {"load", &load, F(load), "", "built-in load: normal | high | burst | mixed | all"},
    {"profiling", &flags_bool, F(profiling), "true",
     "serve /debug/pprof and /metrics on the API listener when it is loopback"},
    {"heap-profile", &flags_bool, F(heap_profile), "true",
     "sample allocations from the start for /debug/pprof/heap (jemalloc builds)"},
    {"heap-profile-rate", &positive_size, F(heap_profile_rate), "524288",
     "mean bytes between heap samples, rounded to a power of two"},
    {"mutex-profile-fraction", &count, F(mutex_profile_fraction), "1",
     "record 1/N of lock contention events for /debug/pprof/mutex (0 = off)"},
    {"block-profile-rate", &count, F(block_profile_rate), "1",
     "sample blocking events of N ns or more for /debug/pprof/block (0 = off, 1 = all)"},
    {"ready-fd", &count, F(ready_fd), "-1",
     "write the bound port(s) and a newline to this fd when ready"},
    {"leak-interval", &flags_duration, F(leak_interval_ns), "10s",
     "leak watch: sample heap, RSS, threads and fds this often (0 = off)"},
    {"leak-window", &count, F(leak_window), "6",
     "leak watch: growth over this many samples raises orderd_leak_suspected"},
    {"debug-leak", &flags_str, F(debug_leak), "",
     "lab aid, off by default: leak deliberately every leak interval: threads | heap"},
};
#define NOPTIONS (sizeof(options) / sizeof(options[0]))

static const flags_spec_t spec = {
    .opts = options, .nopts = NOPTIONS, .style = FLAGS_GNU, .env_prefix = "ORDERD_"};

void config_usage(FILE *out)
{
    fprintf(out, "Usage: orderd [flags]\n\n"
                 "A real-time order processor with built-in Go-compatible profiling.\n"
                 "Every flag can also be set in the environment (shown in brackets).\n\n");
    flags_usage(&spec, out);
    fprintf(out, "  %-31s %s\n\n", "-h, --help", "print this help and exit");
    fprintf(out, "Endpoints: POST /orders, GET /orders/{id}, GET /stats, GET /health,\n"
                 "GET /metrics, GET /debug/pprof/ (see README.md).\n");
}

int config_load(config_t *cfg, int argc, char **argv, char *err, size_t errlen)
{
    memset(cfg, 0, sizeof(*cfg));
    if (flags_defaults(&spec, cfg, err, errlen) != 0 || flags_env(&spec, cfg, err, errlen) != 0)
        return -EINVAL;
    const char *ep = getenv("ENABLE_PROFILING");
    if (ep && strcmp(ep, "true") == 0 && !getenv("ORDERD_ADMIN_LISTEN"))
        snprintf(cfg->admin_listen, sizeof(cfg->admin_listen), "127.0.0.1:6060");

    int rc = flags_args(&spec, cfg, argc, argv, err, errlen);
    if (rc == FLAGS_HELP) {
        config_usage(stdout);
        return 1;
    }
    if (rc != 0)
        return -EINVAL;

    if (cfg->http_threads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        cfg->http_threads = n > 0 ? (int)n : 1;
    }
    if (cfg->http_threads < 1 || cfg->workers < 1 || cfg->results_threads < 1 ||
        cfg->max_connections < 1 || cfg->max_connections_per_ip < 1) {
        snprintf(err, errlen,
                 "--http-threads, --workers, --results, --max-connections and "
                 "--max-connections-per-ip must be at least 1");
        return -EINVAL;
    }
    if (cfg->debug_leak[0] && strcmp(cfg->debug_leak, "threads") != 0 &&
        strcmp(cfg->debug_leak, "heap") != 0) {
        snprintf(err, errlen, "--debug-leak: expected threads or heap, got '%s'", cfg->debug_leak);
        return -EINVAL;
    }
    if (cfg->leak_window < 3 || cfg->leak_window > 1000) {
        snprintf(err, errlen, "--leak-window: expected 3 to 1000 samples, got %d",
                 cfg->leak_window);
        return -EINVAL;
    }
    if (cfg->workers > 1024 || cfg->results_threads > 64 || cfg->http_threads > 64) {
        snprintf(err, errlen, "at most 1024 workers, 64 results threads and 64 HTTP threads");
        return -EINVAL;
    }
    return 0;
}
