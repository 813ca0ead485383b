/* See labrun.h. Run sequence on the main thread:
 *
 *   parse flags -> block SIGINT/SIGTERM (signalfd) -> CPU profiler ready
 *   -> count threads (the baseline) -> live sampler and metrics server (+
 *   ready fd) -> CPU profile on -> impl start -> poll(signalfd, done
 *   eventfd) until done / -duration / signal -> impl stop -> CPU profile
 *   off and written, heap profile written -> server and sampler stopped ->
 *   memory statistics (cprof_memstats) and the final thread count ->
 *   report.
 *
 * The final count is taken after everything the frame itself started is
 * stopped, so it compares with the baseline: whatever remains is the
 * implementation's. */

#include "lab/labrun.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/procstat.h"
#include "cprof/memstats.h"
#include "lab/labhttp.h"
#include "lab/lablive.h"
#include "lab/labmetrics.h"
#include "lab/labprof.h"

/* Threads in the process now (/proc/self/task), or -1. */
static int64_t count_threads(void)
{
    uint64_t rss;
    int64_t threads;
    return procstat_rss_threads(&rss, &threads) == 0 ? threads : -1;
}

bool labrun_next(labrun_t *run, uint64_t *id)
{
    const labcfg_t *cfg = run->cfg;
    if (labrun_stopping(run))
        return false;
    if (cfg->tasks > 0 && run->next_id >= (uint64_t)cfg->tasks)
        return false;
    if (cfg->rate > 0) {
        int64_t due = run->start_ns + (int64_t)((double)run->next_id * 1e9 / cfg->rate);
        /* Sleep in slices so a stop request is seen promptly. */
        for (int64_t now; (now = clock_mono_ns()) < due;) {
            if (labrun_stopping(run))
                return false;
            clock_sleep_ns(due - now < 50000000 ? due - now : 50000000);
        }
    }
    *id = run->next_id++;
    return true;
}

void labrun_finished(labrun_t *run, bool error)
{
    if (error)
        __atomic_add_fetch(&run->errors, 1, __ATOMIC_RELAXED);
    uint64_t n = __atomic_add_fetch(&run->finished, 1, __ATOMIC_ACQ_REL);
    if (run->cfg->tasks > 0 && n == (uint64_t)run->cfg->tasks) {
        __atomic_store_n(&run->end_ns, clock_mono_ns(), __ATOMIC_RELEASE);
        uint64_t one = 1;
        ssize_t w;
        do
            w = write(run->done_fd, &one, sizeof(one));
        while (w < 0 && errno == EINTR);
    }
}

void labrun_progress(labrun_t *run)
{
    if (run->cfg->quiet)
        return;
    double secs = (double)(clock_mono_ns() - run->start_ns) / 1e9;
    uint64_t n = __atomic_load_n(&run->finished, __ATOMIC_RELAXED);
    fprintf(stderr, "progress: %llu tasks in %.1f s (%.0f tasks/s), queue %lld, threads %lld\n",
            (unsigned long long)n, secs, secs > 0 ? (double)n / secs : 0.0,
            (long long)labm_queue_length(), (long long)count_threads());
}

static void *warm_up(void *arg) { return arg; }

static void write_ready(int fd, int port)
{
    char line[32];
    int n = snprintf(line, sizeof(line), "%d\n", port);
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

/* Waits for the end of the run; returns why it ended. */
static const char *wait_end(labrun_t *run, int sfd)
{
    const labcfg_t *cfg = run->cfg;
    int64_t deadline = cfg->duration_ns > 0 ? run->start_ns + cfg->duration_ns : INT64_MAX;
    struct pollfd pfd[2] = {{.fd = sfd, .events = POLLIN}, {.fd = run->done_fd, .events = POLLIN}};
    for (;;) {
        int64_t left = deadline - clock_mono_ns();
        if (left <= 0)
            return "duration elapsed";
        int ms = left / 1000000 + 1 > 1000 ? 1000 : (int)(left / 1000000 + 1);
        int r = poll(pfd, 2, ms);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return "poll failed";
        if (pfd[1].revents)
            return "all tasks done";
        if (pfd[0].revents) {
            struct signalfd_siginfo si;
            ssize_t k = read(sfd, &si, sizeof(si));
            if (k < 0 && errno == EINTR)
                continue;
            return si.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM";
        }
    }
}

static void print_kb(const char *label, uint64_t bytes, bool known)
{
    if (known)
        printf("  %-16s %llu KB\n", label, (unsigned long long)(bytes / 1024));
    else
        printf("  %-16s n/a\n", label);
}

static void report(const lab_impl_t *impl, void *state, labrun_t *run, const char *why,
                   int64_t threads_start)
{
    int64_t end = __atomic_load_n(&run->end_ns, __ATOMIC_ACQUIRE);
    if (!end)
        end = clock_mono_ns();
    double secs = (double)(end - run->start_ns) / 1e9;
    uint64_t done = run->finished, errors = run->errors;
    /* _now: flushes this thread's allocation cache, so the main thread's
     * own allocations are counted too. */
    cprof_memstats_t m;
    cprof_memstats_read_now(&m);
    struct rusage ru;
    uint64_t peak_rss = getrusage(RUSAGE_SELF, &ru) == 0 ? (uint64_t)ru.ru_maxrss * 1024 : 0;
    printf("\nCompleted: %llu tasks (%llu ok, %llu errors) in %.3f s (%s)\n",
           (unsigned long long)done, (unsigned long long)(done - errors),
           (unsigned long long)errors, secs, why);
    printf("Rate: %.0f tasks/s\n", secs > 0 ? (double)done / secs : 0.0);
    printf("Checksum: %016llx\n", (unsigned long long)run->checksum);
    printf("\nMemory Stats (%s):\n", m.source ? m.source : "none");
    print_kb("In use:", m.alloc, true);
    print_kb("Total allocated:", m.total_alloc, m.has_allocator);
    if (m.has_allocator)
        printf("  %-16s %llu\n", "Allocations:", (unsigned long long)m.mallocs);
    else
        printf("  %-16s n/a\n", "Allocations:");
    print_kb("Mapped:", m.sys, m.sys > 0);
    print_kb("Peak RSS:", peak_rss, true);
    if (m.has_allocator)
        printf("  %-16s %llu\n", "Purges:", (unsigned long long)m.num_gc);
    else
        printf("  %-16s n/a\n", "Purges:");
    printf("  %-16s %lld\n", "Threads:", (long long)m.threads);
    if (impl->report)
        impl->report(state, run, stdout);
    printf("\n");
    if (!strcmp(impl->type, "bad")) {
        printf("Final thread count: %lld (should be ~%lld, but will be higher due to leaks)\n",
               (long long)m.threads, (long long)threads_start);
        if (m.threads > threads_start)
            printf("Note: Some threads are still running (demonstrating the leak)\n");
    } else {
        printf("Final thread count: %lld (should be ~%lld)\n", (long long)m.threads,
               (long long)threads_start);
        if (m.threads <= threads_start)
            printf("All threads properly cleaned up!\n");
        else
            printf("Warning: %lld threads still running\n", (long long)(m.threads - threads_start));
    }
    fflush(stdout);
}

int labrun_main(const lab_impl_t *impl, int argc, char **argv)
{
    static labcfg_t cfg;
    static labrun_t run;
    char err[512];
    log_set_prefix(impl->type[0] == 'b' ? "worker-bad" : "worker-optimized");
    int rc = labcfg_parse(&cfg, impl->type, argc, argv, err, sizeof(err));
    if (rc == 1)
        return 0;
    if (rc != 0) {
        fprintf(stderr, "%s: %s\n", argv[0], err);
        labcfg_usage(stderr, argv[0], impl->type);
        return 2;
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    int sfd = signalfd(-1, &set, SFD_CLOEXEC);
    run.cfg = &cfg;
    run.type = impl->type;
    run.done_fd = eventfd(0, EFD_CLOEXEC);
    if (sfd < 0 || run.done_fd < 0) {
        fprintf(stderr, "%s: signalfd/eventfd: %s\n", argv[0], strerror(errno));
        return 1;
    }
    /* Start and join one thread first: a runtime that starts a helper of
     * its own on the first pthread_create (ThreadSanitizer's background
     * thread) then has it in the baseline too. */
    labprof_init();
    pthread_t warm;
    if (pthread_create(&warm, NULL, warm_up, NULL) == 0)
        pthread_join(warm, NULL);
    int64_t threads_start = count_threads();

    labm_init(impl->type);
    labhttp_t *http = NULL;
    int port = 0;
    if (strcmp(cfg.metrics_addr, "none") != 0) {
        char title[96];
        snprintf(title, sizeof(title), "worker-%s", impl->type);
        if ((rc = lablive_start(title)) != 0)
            log_warn("no live dashboard data: %s", strerror(-rc));
        if (!(http = labhttp_start(cfg.metrics_addr, &port, err, sizeof(err)))) {
            fprintf(stderr, "%s: %s\n", argv[0], err);
            return 1;
        }
        log_info("dashboard, metrics and profiles on http://127.0.0.1:%d "
                 "(/, /metrics, /debug/pprof/)",
                 port);
    }
    if (cfg.ready_fd >= 0)
        write_ready(cfg.ready_fd, port);

    printf("=== %s ===\n", impl->title);
    printf("Tasks: %lld, Workers: %d, Data Size: %d\n", (long long)cfg.tasks, cfg.workers,
           cfg.data_size);
    fflush(stdout);
    labprof_start(&cfg);
    run.start_ns = clock_mono_ns();
    void *state = impl->start(&run);
    const char *why = wait_end(&run, sfd);
    __atomic_store_n(&run.stop, 1, __ATOMIC_RELEASE);
    impl->stop(state, &run);
    labprof_finish(&cfg);
    labhttp_stop(http);
    lablive_stop();
    report(impl, state, &run, why, threads_start);
    close(sfd);
    return 0;
}
