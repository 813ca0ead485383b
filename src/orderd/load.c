/* The built-in load generator (--load SCENARIO, the seed's generateLoad).
 *
 * One thread, named "load", runs the scenario's phases with the same engine
 * and order shapes as orderload (lib/common/loadgen, scenario), over real
 * HTTP against orderd's own listener, so CPU profiles taken during the demo
 * show the whole HTTP and JSON path rather than a shortcut into the queue.
 * Each phase ends with one summary log line, the scenario with another.
 *
 * load_start and load_stop are called from the main thread only; the stop
 * flag is the one piece of state the load thread reads concurrently (with
 * atomic loads), and load_stop joins before anything is reused. */
#include "orderd/load.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/loadgen.h"
#include "common/log.h"
#include "common/scenario.h"

/* A few keep-alive connections are plenty for the scenarios' 10-100/s. */
#define LOAD_CONNECTIONS 4

static struct {
    pthread_t thread;
    bool running;
    int stop;
    const scenario_t *scenario;
    char url[256];
} L;

int load_valid_scenario(const char *s) { return scenario_find(s) != NULL; }

static void body(void *ctx, uint64_t *rng, buf_t *out)
{
    const scenario_phase_t *p = ctx;
    scenario_order_json(out, rng, p->priority, p->mixed);
}

static bool stopping(void) { return __atomic_load_n(&L.stop, __ATOMIC_ACQUIRE) != 0; }

static void log_stats(const char *what, const char *name, const loadgen_stats_t *st)
{
    loadgen_summary_t s;
    loadgen_summarize(st, &s);
    log_info("load: %s '%s' %s: %llu sent, %llu 2xx, %llu 4xx, %llu 5xx, %llu errors, "
             "%.1f orders/s, latency p50 %.2f ms p99 %.2f ms max %.2f ms",
             what, name, stopping() ? "stopped early" : "done", (unsigned long long)st->sent,
             (unsigned long long)st->by_class[2], (unsigned long long)st->by_class[4],
             (unsigned long long)st->by_class[5], (unsigned long long)st->errors, s.rate,
             (double)s.p50_ns / 1e6, (double)s.p99_ns / 1e6, (double)s.max_ns / 1e6);
}

static void *load_main(void *arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "load");
    const scenario_t *sc = L.scenario;
    loadgen_stats_t *total = calloc(1, sizeof(*total)), *st = calloc(1, sizeof(*st));
    if (!total || !st) {
        log_error("load: out of memory");
        goto out;
    }
    for (int i = 0; i < sc->nphases && !stopping(); i++) {
        const scenario_phase_t *p = &sc->phases[i];
        loadgen_config_t cfg = {
            .url = L.url,
            .rate = p->rate,
            .duration_ns = p->duration_ns,
            .connections = LOAD_CONNECTIONS,
            .seed = (uint64_t)clock_wall_ns() + (uint64_t)i,
            .body = body,
            .body_ctx = (void *)p,
            .stop = &L.stop,
        };
        log_info("load: phase '%s': %.0f orders/s for %.0f s", p->name, p->rate,
                 (double)p->duration_ns / 1e9);
        int rc = loadgen_run(&cfg, st);
        loadgen_merge(total, st);
        if (rc) {
            log_warn("load: phase '%s' stopped: %s%s%s", p->name, strerror(-rc),
                     st->first_error[0] ? ": " : "", st->first_error);
            break;
        }
        if (sc->nphases > 1)
            log_stats("phase", p->name, st);
        int64_t until = clock_mono_ns() + p->pause_after_ns;
        while (i + 1 < sc->nphases && !stopping() && clock_mono_ns() < until)
            clock_sleep_ns(20000000);
    }
    log_stats("scenario", sc->name, total);
out:
    free(total);
    free(st);
    return NULL;
}

int load_start(const char *scenario, const char *base_url)
{
    const scenario_t *sc = scenario_find(scenario);
    if (!sc)
        return -EINVAL;
    if (L.running)
        return -EBUSY;
    if ((size_t)snprintf(L.url, sizeof(L.url), "%s/orders", base_url) >= sizeof(L.url))
        return -ENAMETOOLONG;
    L.scenario = sc;
    __atomic_store_n(&L.stop, 0, __ATOMIC_RELEASE);
    int rc = pthread_create(&L.thread, NULL, load_main, NULL);
    if (rc)
        return -rc;
    L.running = true;
    return 0;
}

void load_stop(void)
{
    if (!L.running)
        return;
    __atomic_store_n(&L.stop, 1, __ATOMIC_RELEASE);
    pthread_join(L.thread, NULL);
    L.running = false;
}
