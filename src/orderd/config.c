/* Flags, environment and defaults, from one table. Each option has a flag
 * name, a kind that says how to parse it, the offset of its field in
 * config_t, a default (parsed like user input, so --help shows exactly what
 * applies) and a help line. The environment variable is ORDERD_ plus the
 * flag name upper-cased with '-' -> '_'. Precedence: flag > env > default. */

#include "orderd/config.h"

#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "orderd/load.h"

typedef enum { K_STR, K_INT, K_SIZE, K_DUR, K_BOOL, K_WORK, K_LEVEL, K_LOAD } kind_t;

typedef struct option {
    const char *name;
    kind_t kind;
    size_t off;
    size_t size; /* for K_STR */
    const char *def;
    const char *help;
} option_t;

#define F(field) offsetof(config_t, field)
#define S(field) sizeof(((config_t *)0)->field)

static const option_t options[] = {
    {"listen", K_STR, F(listen), S(listen), "127.0.0.1:8080",
     "API listen address host:port (port 0 = any)"},
    {"admin-listen", K_STR, F(admin_listen), S(admin_listen), "",
     "separate listener for /metrics and profiling (ENABLE_PROFILING=true means 127.0.0.1:6060)"},
    {"http-threads", K_INT, F(http_threads), 0, "0",
     "HTTP threads (0 = one per core; 1 is best when a load generator shares a 2-core box)"},
    {"max-connections", K_INT, F(max_connections), 0, "1024", "maximum open HTTP connections"},
    {"max-connections-per-ip", K_INT, F(max_connections_per_ip), 0, "512",
     "maximum open HTTP connections from one client address"},
    {"conn-timeout", K_DUR, F(conn_timeout_ns), 0, "30s", "idle HTTP connection timeout"},
    {"workers", K_INT, F(workers), 0, "10", "worker threads"},
    {"results", K_INT, F(results_threads), 0, "1", "results-stage threads"},
    {"queue-capacity", K_SIZE, F(queue_capacity), 0, "65536",
     "orders the queue holds before answering 503"},
    {"results-capacity", K_SIZE, F(results_capacity), 0, "100000",
     "processed orders kept for GET /orders/{id} (oldest evicted)"},
    {"max-queue-wait", K_DUR, F(max_queue_wait_ns), 0, "5s",
     "an order waiting longer is served first, whatever its priority (0 = off)"},
    {"work", K_WORK, F(work), 0, "sleep", "simulated work: sleep | cpu | none"},
    {"work-ms", K_DUR, F(work_ns), 0, "10ms",
     "work per priority unit (priority x this; a bare number is ms)"},
    {"shutdown-timeout", K_DUR, F(shutdown_timeout_ns), 0, "30s",
     "longest graceful drain on SIGTERM/SIGINT"},
    {"stall-timeout", K_DUR, F(stall_timeout_ns), 0, "30s",
     "/health fails when orders wait and no worker progressed for this long"},
    {"summary-interval", K_DUR, F(summary_interval_ns), 0, "10s",
     "period of the summary log line (0 = off)"},
    {"log-results", K_BOOL, F(log_results), 0, "false", "log one line per processed order"},
    {"log-level", K_LEVEL, F(log_level), S(log_level), "info", "debug | info | warn | error"},
    {"paused", K_BOOL, F(paused), 0, "false",
     "start with workers paused (POST /debug/workers/resume)"},
    {"load", K_LOAD, F(load), S(load), "", "built-in load: normal | high | burst | mixed | all"},
    {"profiling", K_BOOL, F(profiling), 0, "true",
     "serve /debug/pprof and /metrics on the API listener when it is loopback"},
    {"heap-profile", K_BOOL, F(heap_profile), 0, "true",
     "sample allocations from the start for /debug/pprof/heap (jemalloc builds)"},
    {"heap-profile-rate", K_SIZE, F(heap_profile_rate), 0, "524288",
     "mean bytes between heap samples, rounded to a power of two"},
    {"mutex-profile-fraction", K_INT, F(mutex_profile_fraction), 0, "1",
     "record 1/N of lock contention events for /debug/pprof/mutex (0 = off)"},
    {"block-profile-rate", K_INT, F(block_profile_rate), 0, "1",
     "sample blocking events of N ns or more for /debug/pprof/block (0 = off, 1 = all)"},
    {"ready-fd", K_INT, F(ready_fd), 0, "-1",
     "write the bound port(s) and a newline to this fd when ready"},
    {"leak-interval", K_DUR, F(leak_interval_ns), 0, "10s",
     "leak watch: sample heap, RSS, threads and fds this often (0 = off)"},
    {"leak-window", K_INT, F(leak_window), 0, "6",
     "leak watch: growth over this many samples raises orderd_leak_suspected"},
    {"debug-leak", K_STR, F(debug_leak), S(debug_leak), "",
     "lab aid, off by default: leak deliberately every leak interval: threads | heap"},
};
#define NOPTIONS (sizeof(options) / sizeof(options[0]))

static void env_name(const option_t *o, char *out, size_t size)
{
    size_t n = (size_t)snprintf(out, size, "ORDERD_");
    for (const char *p = o->name; *p && n + 1 < size; p++)
        out[n++] = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
    out[n] = '\0';
}

static int set(config_t *cfg, const option_t *o, const char *v, char *err, size_t errlen)
{
    char *base = (char *)cfg, *end;
    switch (o->kind) {
    case K_STR:
    case K_LEVEL:
    case K_LOAD: {
        log_level_t lvl;
        if (strlen(v) >= o->size) {
            snprintf(err, errlen, "--%s: value too long", o->name);
            return -EINVAL;
        }
        if (o->kind == K_LEVEL && log_parse_level(v, &lvl) != 0) {
            snprintf(err, errlen, "--%s: expected debug, info, warn or error, got '%s'", o->name,
                     v);
            return -EINVAL;
        }
        if (o->kind == K_LOAD && *v && !load_valid_scenario(v)) {
            snprintf(err, errlen, "--%s: unknown scenario '%s' (normal, high, burst, mixed, all)",
                     o->name, v);
            return -EINVAL;
        }
        memcpy(base + o->off, v, strlen(v) + 1);
        return 0;
    }
    case K_INT: {
        errno = 0;
        long n = strtol(v, &end, 10);
        if (errno || end == v || *end || n < -1 || n > 1000000) {
            snprintf(err, errlen, "--%s: expected an integer, got '%s'", o->name, v);
            return -EINVAL;
        }
        *(int *)(void *)(base + o->off) = (int)n;
        return 0;
    }
    case K_SIZE: {
        errno = 0;
        unsigned long long n = strtoull(v, &end, 10);
        if (errno || end == v || *end || *v == '-' || n == 0 || n > (1ULL << 32)) {
            snprintf(err, errlen, "--%s: expected a positive integer, got '%s'", o->name, v);
            return -EINVAL;
        }
        *(size_t *)(void *)(base + o->off) = (size_t)n;
        return 0;
    }
    case K_DUR: {
        int64_t ns;
        /* work-ms takes a bare number as milliseconds. */
        char tmp[64];
        if (strcmp(o->name, "work-ms") == 0 && *v && strspn(v, "0123456789.") == strlen(v)) {
            snprintf(tmp, sizeof(tmp), "%sms", v);
            v = tmp;
        }
        if (clock_parse_duration(v, &ns) != 0) {
            snprintf(err, errlen, "--%s: expected a duration like 30s, 500ms or 2m, got '%s'",
                     o->name, v);
            return -EINVAL;
        }
        *(int64_t *)(void *)(base + o->off) = ns;
        return 0;
    }
    case K_BOOL: {
        bool b;
        if (!strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "yes") || !strcmp(v, "on"))
            b = true;
        else if (!strcmp(v, "false") || !strcmp(v, "0") || !strcmp(v, "no") || !strcmp(v, "off"))
            b = false;
        else {
            snprintf(err, errlen, "--%s: expected true or false, got '%s'", o->name, v);
            return -EINVAL;
        }
        *(bool *)(void *)(base + o->off) = b;
        return 0;
    }
    case K_WORK:
        if (pool_parse_work(v, (work_mode_t *)(void *)(base + o->off)) != 0) {
            snprintf(err, errlen, "--%s: expected sleep, cpu or none, got '%s'", o->name, v);
            return -EINVAL;
        }
        return 0;
    }
    return -EINVAL;
}

static const option_t *lookup(const char *name, size_t len)
{
    for (size_t i = 0; i < NOPTIONS; i++)
        if (strlen(options[i].name) == len && strncmp(options[i].name, name, len) == 0)
            return &options[i];
    return NULL;
}

void config_usage(FILE *out)
{
    fprintf(out, "Usage: orderd [flags]\n\n"
                 "A real-time order processor with built-in Go-compatible profiling.\n"
                 "Every flag can also be set in the environment (shown in brackets).\n\n");
    for (size_t i = 0; i < NOPTIONS; i++) {
        const option_t *o = &options[i];
        char env[64], left[64];
        env_name(o, env, sizeof(env));
        snprintf(left, sizeof(left), "--%s%s", o->name, o->kind == K_BOOL ? "[=BOOL]" : " VALUE");
        fprintf(out, "  %-31s %s\n  %-31s [%s, default: %s]\n", left, o->help, "", env,
                *o->def ? o->def : "none");
    }
    fprintf(out, "  %-31s %s\n\n", "-h, --help", "print this help and exit");
    fprintf(out, "Endpoints: POST /orders, GET /orders/{id}, GET /stats, GET /health,\n"
                 "GET /metrics, GET /debug/pprof/ (see README.md).\n");
}

int config_load(config_t *cfg, int argc, char **argv, char *err, size_t errlen)
{
    memset(cfg, 0, sizeof(*cfg));
    for (size_t i = 0; i < NOPTIONS; i++) {
        if (set(cfg, &options[i], options[i].def, err, errlen) != 0)
            return -EINVAL;
    }
    for (size_t i = 0; i < NOPTIONS; i++) {
        char env[64];
        env_name(&options[i], env, sizeof(env));
        const char *v = getenv(env);
        if (v && set(cfg, &options[i], v, err, errlen) != 0)
            return -EINVAL;
    }
    const char *ep = getenv("ENABLE_PROFILING");
    if (ep && strcmp(ep, "true") == 0 && !getenv("ORDERD_ADMIN_LISTEN"))
        snprintf(cfg->admin_listen, sizeof(cfg->admin_listen), "127.0.0.1:6060");

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            config_usage(stdout);
            return 1;
        }
        if (strncmp(a, "--", 2) != 0) {
            snprintf(err, errlen, "unexpected argument '%s' (see --help)", a);
            return -EINVAL;
        }
        const char *name = a + 2, *eq = strchr(name, '=');
        const option_t *o = lookup(name, eq ? (size_t)(eq - name) : strlen(name));
        if (!o) {
            snprintf(err, errlen, "unknown flag '%s' (see --help)", a);
            return -EINVAL;
        }
        const char *v;
        if (eq)
            v = eq + 1;
        else if (o->kind == K_BOOL)
            v = "true";
        else if (i + 1 < argc)
            v = argv[++i];
        else {
            snprintf(err, errlen, "--%s needs a value", o->name);
            return -EINVAL;
        }
        if (set(cfg, o, v, err, errlen) != 0)
            return -EINVAL;
    }

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
