/* orderload: the load generator for orderd (the seed's tools/load_test.go).
 *
 * Flags become a plan: a list of phases (one per scenario phase, or a
 * single --rate / --max phase), each run by the loadgen engine in turn with
 * the scenario's pauses between them. SIGINT/SIGTERM set the engine's stop
 * flag, so an interrupted run still prints the summary of what it did; a
 * second signal exits at once. Exit status: 0 when the error rate is within
 * --max-error-rate, 1 when it is not or the server could not be reached,
 * 2 for bad flags. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/loadgen.h"
#include "common/scenario.h"
#include "orderload/report.h"

#define DEFAULT_URL "http://127.0.0.1:8080"
#define DEFAULT_DURATION_NS (10 * 1000000000LL)
#define DEFAULT_MAX_ERROR_RATE 0.01

static int stop_flag;

typedef struct opts {
    const char *url;
    const char *scenario;
    double rate;
    bool max;
    int64_t duration_ns; /* 0 = not given */
    int connections;     /* 0 = not given */
    int priority;        /* 0 = not given */
    bool json, quiet;
    double max_error_rate;
    uint64_t seed;
    int64_t timeout_ns;
    uint64_t count; /* 0 = no limit */
} opts_t;

static void usage(FILE *out)
{
    fprintf(out,
            "usage: orderload [--url URL] [--scenario NAME | --rate R | --max] [--duration D]\n"
            "                 [--connections C] [--priority P] [--json] [--quiet]\n"
            "                 [--max-error-rate F] [--count N] [--seed N] [--timeout D]\n"
            "\n"
            "Sends orders to orderd's POST /orders and reports status counts, the achieved\n"
            "rate and latency percentiles (p50/p90/p99/p99.9/max).\n"
            "\n"
            "  --url URL            orderd base URL, or a full URL to POST to\n"
            "                       (default %s, env ORDERLOAD_URL; /orders is appended\n"
            "                       when the URL has no path)\n"
            "  --scenario NAME      one of: %s (default all)\n"
            "                       normal: 10/s for 30 s, priority 2; high: 50/s for 20 s,\n"
            "                       priority 1; burst: 100/s for 10 s, priority 3; mixed: 20/s\n"
            "                       for 30 s of random test orders; all: normal, high, burst\n"
            "  --rate R             constant rate in orders/s (open loop; latency counted from\n"
            "                       each order's scheduled send time)\n"
            "  --max                closed loop: as fast as the server answers, C in flight\n"
            "  --duration D         how long (30s, 500ms, 2m; default 10s); with --scenario it\n"
            "                       scales every phase and pause to a total of D\n"
            "  --connections C      keep-alive connections (default 8)\n"
            "  --priority P         1 (high) .. 3 (low) for every order (default: the\n"
            "                       scenario's; 2 with --rate/--max)\n"
            "  --max-error-rate F   exit 1 when (non-2xx + transport errors) / sent > F\n"
            "                       (default %.2f; 503 rejections count as errors)\n"
            "  --json               print the summary as one JSON object on stdout\n"
            "  --quiet              no progress lines\n"
            "  --count N            stop each phase after sending N orders (e.g. to fill a\n"
            "                       queue with exactly N)\n"
            "  --seed N             RNG seed for the order contents (default: time)\n"
            "  --timeout D          per-request timeout (default 10s)\n"
            "  --help               this text\n"
            "\n"
            "Exit status: 0 ok, 1 error rate above the limit or server unreachable, 2 bad flags.\n",
            DEFAULT_URL, scenario_names(), DEFAULT_MAX_ERROR_RATE);
}

__attribute__((format(printf, 1, 2))) static int bad(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "orderload: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n\n");
    usage(stderr);
    return 2;
}

static int parse_double(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

static int parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

/* Returns 0, or 2 after printing the problem and the usage. */
static int parse(int argc, char **argv, opts_t *o)
{
    enum {
        O_URL = 256,
        O_SCEN,
        O_RATE,
        O_MAX,
        O_DUR,
        O_CONN,
        O_PRIO,
        O_JSON,
        O_ERR,
        O_QUIET,
        O_SEED,
        O_TIMEOUT,
        O_COUNT,
        O_HELP
    };
    static const struct option longopts[] = {
        {"url", required_argument, 0, O_URL},
        {"scenario", required_argument, 0, O_SCEN},
        {"rate", required_argument, 0, O_RATE},
        {"max", no_argument, 0, O_MAX},
        {"duration", required_argument, 0, O_DUR},
        {"connections", required_argument, 0, O_CONN},
        {"priority", required_argument, 0, O_PRIO},
        {"json", no_argument, 0, O_JSON},
        {"max-error-rate", required_argument, 0, O_ERR},
        {"quiet", no_argument, 0, O_QUIET},
        {"seed", required_argument, 0, O_SEED},
        {"timeout", required_argument, 0, O_TIMEOUT},
        {"count", required_argument, 0, O_COUNT},
        {"help", no_argument, 0, O_HELP},
        {0, 0, 0, 0},
    };
    long l;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case O_URL:
            if (strncmp(optarg, "http://", 7) != 0 && strncmp(optarg, "https://", 8) != 0)
                return bad("--url must start with http:// or https:// (got '%s')", optarg);
            o->url = optarg;
            break;
        case O_SCEN:
            if (!scenario_find(optarg))
                return bad("unknown scenario '%s' (choose normal, high, burst, mixed or all)",
                           optarg);
            o->scenario = optarg;
            break;
        case O_RATE:
            if (parse_double(optarg, &o->rate) || o->rate <= 0 || o->rate > 10e6)
                return bad("--rate wants a number of orders/s above 0 (got '%s')", optarg);
            break;
        case O_MAX: o->max = true; break;
        case O_DUR:
            if (clock_parse_duration(optarg, &o->duration_ns) || o->duration_ns <= 0)
                return bad("--duration wants a positive duration like 30s or 500ms (got '%s')",
                           optarg);
            break;
        case O_CONN:
            if (parse_long(optarg, 1, LOADGEN_MAX_CONNECTIONS, &l))
                return bad("--connections wants a whole number from 1 to 4096 (got '%s')", optarg);
            o->connections = (int)l;
            break;
        case O_PRIO:
            if (parse_long(optarg, 1, 3, &l))
                return bad("--priority wants 1, 2 or 3 (got '%s')", optarg);
            o->priority = (int)l;
            break;
        case O_JSON: o->json = true; break;
        case O_ERR:
            if (parse_double(optarg, &o->max_error_rate) || o->max_error_rate < 0 ||
                o->max_error_rate > 1)
                return bad("--max-error-rate wants a fraction from 0 to 1 (got '%s')", optarg);
            break;
        case O_QUIET: o->quiet = true; break;
        case O_SEED:
            if (parse_long(optarg, 0, __LONG_MAX__, &l))
                return bad("--seed wants a non-negative whole number (got '%s')", optarg);
            o->seed = (uint64_t)l;
            break;
        case O_TIMEOUT:
            if (clock_parse_duration(optarg, &o->timeout_ns) || o->timeout_ns < 1000000)
                return bad("--timeout wants a duration of at least 1ms (got '%s')", optarg);
            break;
        case O_COUNT:
            if (parse_long(optarg, 1, __LONG_MAX__, &l))
                return bad("--count wants a whole number above 0 (got '%s')", optarg);
            o->count = (uint64_t)l;
            break;
        case O_HELP: usage(stdout); exit(0);
        default: return bad("unknown or incomplete flag '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return bad("unexpected argument '%s'", argv[optind]);
    if (o->max && o->rate > 0)
        return bad("%s", "--rate and --max exclude each other");
    const scenario_t *s = o->scenario ? scenario_find(o->scenario) : NULL;
    if (s && s->nphases > 1 && (o->max || o->rate > 0))
        return bad("--rate/--max cannot override the multi-phase scenario '%s'", s->name);
    return 0;
}

/* Builds the phase list from the options. */
static int plan(const opts_t *o, scenario_t *out)
{
    memset(out, 0, sizeof(*out));
    if (o->max || o->rate > 0) {
        const scenario_t *s = o->scenario ? scenario_find(o->scenario) : NULL;
        scenario_phase_t *p = &out->phases[0];
        out->name = s ? s->name : NULL;
        out->nphases = 1;
        if (s)
            *p = s->phases[0];
        else
            *p = (scenario_phase_t){.priority = 2};
        p->name = o->max ? "max" : s ? s->name : "rate";
        p->rate = o->max ? 0 : o->rate;
        p->duration_ns = o->duration_ns ? o->duration_ns : DEFAULT_DURATION_NS;
        p->pause_after_ns = 0;
    } else {
        const scenario_t *s = scenario_find(o->scenario ? o->scenario : "all");
        if (o->duration_ns)
            scenario_scale(s, o->duration_ns, out);
        else
            *out = *s;
    }
    for (int i = 0; i < out->nphases; i++)
        if (o->priority)
            out->phases[i].priority = o->priority;
    return 0;
}

static void body(void *ctx, uint64_t *rng, buf_t *out)
{
    const scenario_phase_t *p = ctx;
    scenario_order_json(out, rng, p->priority, p->mixed);
}

static void on_signal(int sig)
{
    if (__atomic_exchange_n(&stop_flag, 1, __ATOMIC_ACQ_REL)) {
        signal(sig, SIG_DFL);
        raise(sig);
    }
}

static void pause_for(int64_t ns)
{
    int64_t until = clock_mono_ns() + ns;
    while (!__atomic_load_n(&stop_flag, __ATOMIC_ACQUIRE)) {
        int64_t left = until - clock_mono_ns();
        if (left <= 0)
            break;
        clock_sleep_ns(left < 50000000 ? left : 50000000);
    }
}

/* Base URL -> the POST target: "/orders" is added when there is no path. */
static void target_url(const char *base, char *out, size_t size)
{
    const char *host = strstr(base, "://") + 3;
    const char *path = strchr(host, '/');
    if (!path || strcmp(path, "/") == 0)
        snprintf(out, size, "%.*s/orders", (int)(path ? path - base : (long)strlen(base)), base);
    else
        snprintf(out, size, "%s", base);
}

int main(int argc, char **argv)
{
    opts_t o = {.max_error_rate = DEFAULT_MAX_ERROR_RATE};
    o.url = getenv("ORDERLOAD_URL") ? getenv("ORDERLOAD_URL") : DEFAULT_URL;
    int rc = parse(argc, argv, &o);
    if (rc)
        return rc;
    if (strncmp(o.url, "http://", 7) != 0 && strncmp(o.url, "https://", 8) != 0)
        return bad("ORDERLOAD_URL must start with http:// (got '%s')", o.url);
    scenario_t sc;
    plan(&o, &sc);
    char url[1024];
    target_url(o.url, url, sizeof(url));

    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    report_phase_t phases[SCENARIO_MAX_PHASES];
    report_t r = {.url = url,
                  .scenario = o.scenario,
                  .connections = o.connections ? o.connections : 8,
                  .max_error_rate = o.max_error_rate,
                  .phases = phases};
    report_progress_t prog = {.out = stderr, .tty = isatty(STDERR_FILENO)};
    loadgen_stats_init(&r.total);
    uint64_t seed = o.seed ? o.seed : (uint64_t)clock_wall_ns();
    int64_t t0 = clock_mono_ns();
    int err = 0;

    for (int i = 0; i < sc.nphases && !__atomic_load_n(&stop_flag, __ATOMIC_ACQUIRE); i++) {
        scenario_phase_t *p = &sc.phases[i];
        report_phase_t *rp = &phases[r.nphases++];
        rp->name = p->name;
        rp->target_rate = p->rate;
        rp->duration_ns = p->duration_ns;
        loadgen_config_t cfg = {
            .url = url,
            .rate = p->rate,
            .duration_ns = p->duration_ns,
            .connections = r.connections,
            .seed = seed + (uint64_t)i * 0x9e3779b97f4a7c15ULL,
            .body = body,
            .body_ctx = p,
            .progress = o.quiet ? NULL : report_progress_cb,
            .progress_ctx = &prog,
            .stop = &stop_flag,
            .timeout_ns = o.timeout_ns,
            .max_requests = o.count,
        };
        if (!o.quiet)
            report_progress_phase(&prog, p->name);
        err = loadgen_run(&cfg, &rp->stats);
        if (!o.quiet) /* the phase's final counts */
            report_progress_cb(&prog, &rp->stats, rp->stats.elapsed_ns);
        loadgen_merge(&r.total, &rp->stats);
        if (err)
            break;
        if (p->pause_after_ns > 0 && i + 1 < sc.nphases)
            pause_for(p->pause_after_ns);
    }
    if (!o.quiet)
        report_progress_end(&prog);
    r.wall_ns = clock_mono_ns() - t0;

    if (o.json)
        report_json(&r, stdout);
    else
        report_text(&r, stdout);
    fflush(stdout);
    if (err == -ECONNREFUSED) {
        fprintf(stderr, "orderload: cannot reach %s: %s\n", url, r.total.first_error);
        return 1;
    }
    if (err) {
        fprintf(stderr, "orderload: load engine failed: %s%s%s\n", strerror(-err),
                r.total.first_error[0] ? ": " : "", r.total.first_error);
        return 1;
    }
    if (!report_ok(&r)) {
        loadgen_summary_t s;
        loadgen_summarize(&r.total, &s);
        fprintf(stderr, "orderload: error rate %.2f%% is above the limit of %.2f%%\n",
                s.error_rate * 100, o.max_error_rate * 100);
        return 1;
    }
    return 0;
}
