/* orderd: start-up, the periodic summary line, and shutdown.
 *
 * SIGTERM and SIGINT are blocked in every thread (the mask is set before any
 * thread starts) and taken synchronously by the main thread with
 * sigtimedwait, which also paces the summary line. The first signal starts a
 * graceful shutdown: POST /orders answers 503, the built-in load stops, the
 * queue is closed, and the workers drain every accepted order; the HTTP
 * listeners stay up meanwhile so /stats and /health show the drain. A second
 * signal, or the shutdown timeout, exits at once and logs how many accepted
 * orders were left. */

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "cprof/heap.h"
#include "cprof/lock.h"
#include "orderd/admin.h"
#include "orderd/api.h"
#include "orderd/app.h"
#include "orderd/leakwatch.h"
#include "orderd/live.h"
#include "orderd/load.h"

static app_t g_app;

static void write_ready(int fd, int port, int admin_port)
{
    char line[64];
    int n = admin_port ? snprintf(line, sizeof(line), "%d %d\n", port, admin_port)
                       : snprintf(line, sizeof(line), "%d\n", port);
    const char *p = line;
    while (n > 0) {
        ssize_t w = write(fd, p, (size_t)n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        p += w;
        n -= (int)w;
    }
    close(fd);
}

static void log_summary(app_t *app, uint64_t *last_acc, uint64_t *last_proc, int64_t *last_ns)
{
    int64_t now = clock_mono_ns();
    uint64_t acc = stats_total_accepted(&app->stats), proc = stats_total_processed(&app->stats);
    double secs = (double)(now - *last_ns) / 1e9;
    hist_t *lat = calloc(1, sizeof(hist_t)), *one = calloc(1, sizeof(hist_t));
    if (lat && one) {
        for (int p = 0; p < 3; p++) {
            hist_snapshot(&app->stats.latency[p], one);
            hist_merge(lat, one);
        }
        log_info("summary: accepted=%llu (%.0f/s) processed=%llu (%.0f/s) rejected=%llu "
                 "queue=%zu active=%lld p50=%.1fms p99=%.1fms",
                 (unsigned long long)acc, secs > 0 ? (double)(acc - *last_acc) / secs : 0,
                 (unsigned long long)proc, secs > 0 ? (double)(proc - *last_proc) / secs : 0,
                 (unsigned long long)stats_total_rejected(&app->stats), queue_length(app->queue, 0),
                 (long long)__atomic_load_n(&app->stats.active_workers, __ATOMIC_RELAXED),
                 (double)hist_quantile(lat, 0.5) / 1e6, (double)hist_quantile(lat, 0.99) / 1e6);
    }
    free(lat);
    free(one);
    *last_acc = acc;
    *last_proc = proc;
    *last_ns = now;
}

/* Waits up to ns for SIGTERM/SIGINT; returns the signal or 0. */
static int wait_signal(const sigset_t *set, int64_t ns)
{
    int64_t deadline = clock_mono_ns() + ns;
    for (;;) {
        int64_t left = deadline - clock_mono_ns();
        if (left < 0)
            left = 0;
        struct timespec ts = {.tv_sec = left / 1000000000, .tv_nsec = left % 1000000000};
        int sig = sigtimedwait(set, NULL, &ts);
        if (sig > 0)
            return sig;
        if (errno == EAGAIN)
            return 0;
        /* EINTR (a thread-dump signal): wait for what is left. */
    }
}

static uint64_t left_over(app_t *app)
{
    return queue_length(app->queue, 0) + pool_in_flight(app->pool);
}

int main(int argc, char **argv)
{
    app_t *app = &g_app;
    char err[512];
    log_set_prefix("orderd");
    int rc = config_load(&app->cfg, argc, argv, err, sizeof(err));
    if (rc == 1)
        return 0;
    if (rc != 0) {
        fprintf(stderr, "orderd: %s\n", err);
        return 2;
    }
    log_level_t level;
    log_parse_level(app->cfg.log_level, &level);
    log_set_level(level);

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    const config_t *cfg = &app->cfg;
    /* Heap sampling first, so that start-up allocations are in the profile. */
    if (cfg->heap_profile && !cprof_heap_unavailable() &&
        (rc = cprof_heap_start(cfg->heap_profile_rate)) != 0)
        log_warn("heap profiling not started: %s", strerror(-rc));
    /* Mutex and block profiles on from the start, as the seed does. */
    cprof_set_mutex_profile_fraction(cfg->mutex_profile_fraction);
    cprof_set_block_profile_rate(cfg->block_profile_rate);
    cprof_lock_use_frame_pointers(true); /* the Makefile builds with -fno-omit-frame-pointer */
    stats_init(&app->stats);
    app->queue = queue_new(cfg->queue_capacity, cfg->max_queue_wait_ns);
    app->store = store_new(cfg->results_capacity);
    queue_set_paused(app->queue, cfg->paused);
    pool_config_t pc = {.workers = cfg->workers,
                        .results_threads = cfg->results_threads,
                        .work = cfg->work,
                        .work_ns = cfg->work_ns,
                        .log_results = cfg->log_results};
    app->pool = pool_new(&pc, app->queue, app->store, &app->stats);
    if ((rc = admin_init(app)) != 0) {
        log_error("cannot start profiling: %s", strerror(-rc));
        return 1;
    }
    if ((rc = pool_start(app->pool)) != 0) {
        log_error("cannot start workers: %s", strerror(-rc));
        return 1;
    }
    if ((rc = leakwatch_start(app)) != 0)
        log_warn("leak watch not started: %s", strerror(-rc));
    if ((rc = live_start(app)) != 0)
        log_warn("dashboard sampler not started: %s", strerror(-rc));

    int port = 0, admin_port = 0;
    api_t *api = api_start(app, &port, &admin_port, err, sizeof(err));
    if (!api) {
        log_error("%s", err);
        return 1;
    }
    log_info("listening on http://%s (port %d), %d workers, work=%s, queue capacity %zu%s",
             cfg->listen, port, cfg->workers, pool_work_name(cfg->work), cfg->queue_capacity,
             cfg->paused ? ", workers paused" : "");
    if (admin_port)
        log_info("admin listener (metrics, profiling) on port %d", admin_port);
    if (cfg->ready_fd >= 0)
        write_ready(cfg->ready_fd, port, admin_port);
    if (cfg->load[0]) {
        char url[64];
        snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
        if ((rc = load_start(cfg->load, url)) != 0)
            log_warn("built-in load '%s' not started: %s", cfg->load, strerror(-rc));
        else
            log_info("built-in load: scenario '%s'", cfg->load);
    }

    uint64_t last_acc = 0, last_proc = 0;
    int64_t last_ns = clock_mono_ns();
    int64_t period = cfg->summary_interval_ns > 0 ? cfg->summary_interval_ns : 3600000000000LL;
    int sig;
    while ((sig = wait_signal(&set, period)) == 0)
        if (cfg->summary_interval_ns > 0)
            log_summary(app, &last_acc, &last_proc, &last_ns);

    log_info("%s: shutting down; draining %llu accepted orders (a second signal exits at once)",
             strsignal(sig), (unsigned long long)left_over(app));
    __atomic_store_n(&app->shutting_down, 1, __ATOMIC_RELEASE);
    load_stop();
    queue_close(app->queue);
    int64_t deadline = clock_mono_ns() + cfg->shutdown_timeout_ns;
    uint64_t left;
    while ((left = pool_drain(app->pool, clock_mono_ns() + 100000000)) != 0) {
        if (wait_signal(&set, 0)) {
            log_error("second signal: exiting now; %llu accepted orders were not processed",
                      (unsigned long long)left_over(app));
            _exit(1);
        }
        if (clock_mono_ns() > deadline) {
            log_error("shutdown timeout: exiting; %llu accepted orders were not processed",
                      (unsigned long long)left_over(app));
            _exit(1);
        }
    }
    /* Ends pending profiles first: MHD cannot stop with suspended connections. */
    admin_shutdown(app);
    api_stop(api);
    live_stop();
    leakwatch_stop();
    log_summary(app, &last_acc, &last_proc, &last_ns);
    log_info("drained: %llu orders processed in total; bye",
             (unsigned long long)stats_total_processed(&app->stats));
    pool_free(app->pool);
    store_free(app->store);
    queue_free(app->queue);
    return 0;
}
