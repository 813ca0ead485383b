/* The lab workers, run as real processes: same results, the thread leak and
 * its fix, the allocation difference, /metrics names, signals and flags.
 *
 * Workers that run to completion are started by run_worker (stdout and
 * stderr captured to a file, as the report is on stdout); workers that
 * serve HTTP are started with the harness's server_spawn. */

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

typedef struct run {
    int status; /* exit code, or 128 + signal */
    char *out;  /* stdout + stderr */
} run_t;

/* Runs a lab worker to completion (at most 120 s) with argv (NULL-ended). */
static run_t run_worker(const char *name, const char *const *argv)
{
    char path[] = "/tmp/lab-test-XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0, "mkstemp: %s", strerror(errno));
    const char *args[64];
    int n = 0;
    args[n++] = harness_bin(name);
    for (int i = 0; argv[i] && n < 62; i++)
        args[n++] = argv[i];
    args[n] = NULL;
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        dup2(fd, 1);
        dup2(fd, 2);
        execv(args[0], (char *const *)args);
        fprintf(stderr, "exec %s: %s\n", args[0], strerror(errno));
        _exit(127);
    }
    close(fd);
    int status = 0;
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            break;
        clock_gettime(CLOCK_MONOTONIC, &t);
        if (t.tv_sec - t0.tv_sec > 120) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            unlink(path);
            harness_fail("%s did not finish within 120 s", name);
        }
        struct timespec ts = {0, 10 * 1000000};
        nanosleep(&ts, NULL);
    }
    run_t res = {.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status)};
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f);
    size_t len = 0;
    FILE *m = open_memstream(&res.out, &len);
    char chunk[4096];
    size_t k;
    while ((k = fread(chunk, 1, sizeof(chunk), f)) > 0)
        fwrite(chunk, 1, k, m);
    fclose(f);
    fclose(m);
    unlink(path);
    if (strstr(res.out, "AddressSanitizer") || strstr(res.out, "ThreadSanitizer") ||
        strstr(res.out, "LeakSanitizer") || strstr(res.out, "runtime error:"))
        harness_fail("sanitizer report from %s:\n%s", name, res.out);
    return res;
}

/* The text right after `label` in a report (leading spaces skipped). */
static const char *after(const run_t *r, const char *label)
{
    const char *p = strstr(r->out, label);
    cr_assert_not_null(p, "no '%s' in the report:\n%s", label, r->out);
    p += strlen(label);
    while (*p == ' ')
        p++;
    return p;
}

static unsigned long long num(const run_t *r, const char *label)
{
    const char *p = after(r, label);
    char *end;
    unsigned long long v = strtoull(p, &end, 10);
    cr_assert(end != p, "'%s' is not followed by a number in:\n%s", label, r->out);
    return v;
}

static const char *const small[] = {"-tasks",         "3000", "-workers",  "8",
                                    "-data-size",     "64",   "-duration", "100s",
                                    "--metrics-addr", "none", "-quiet",    NULL};

Test(lab, same_tasks_give_identical_results)
{
    run_t b = run_worker("worker-bad", small), o = run_worker("worker-optimized", small);
    cr_assert_eq(b.status, 0, "worker-bad exited %d:\n%s", b.status, b.out);
    cr_assert_eq(o.status, 0, "worker-optimized exited %d:\n%s", o.status, o.out);
    cr_assert_eq(num(&b, "Completed:"), 3000, "bad:\n%s", b.out);
    cr_assert_eq(num(&o, "Completed:"), 3000, "optimized:\n%s", o.out);
    /* One task in TASK_ERROR_EVERY (500) is invalid: 6 of 3000. */
    cr_assert(strstr(b.out, "(2994 ok, 6 errors)"), "bad:\n%s", b.out);
    cr_assert(strstr(o.out, "(2994 ok, 6 errors)"), "optimized:\n%s", o.out);
    char cb[17] = {0}, co[17] = {0};
    memcpy(cb, after(&b, "Checksum:"), 16);
    memcpy(co, after(&o, "Checksum:"), 16);
    cr_assert_str_eq(cb, co, "checksums differ: bad %s, optimized %s", cb, co);
    free(b.out);
    free(o.out);
}

Test(lab, bad_leaks_threads_optimized_cleans_up)
{
    run_t b = run_worker("worker-bad", small), o = run_worker("worker-optimized", small);
    unsigned long long bf = num(&b, "Final thread count:"), bs = num(&b, "(should be ~");
    unsigned long long of = num(&o, "Final thread count:"), os = num(&o, "(should be ~");
    cr_assert_gt(bf, bs, "bad: final %llu threads, started with %llu:\n%s", bf, bs, b.out);
    /* 3000 tasks with -leak-cap 1000: 1000 helpers + the monitor at least. */
    cr_assert_geq(bf, bs + 1001, "bad: final %llu threads:\n%s", bf, b.out);
    cr_assert(strstr(b.out, ", but will be higher due to leaks)"), "%s", b.out);
    cr_assert_eq(of, os, "optimized: final %llu threads, started with %llu:\n%s", of, os, o.out);
    cr_assert(strstr(o.out, "All threads properly cleaned up!"), "%s", o.out);
    free(b.out);
    free(o.out);
}

Test(lab, optimized_allocates_far_less)
{
    run_t b = run_worker("worker-bad", small), o = run_worker("worker-optimized", small);
    if (strstr(b.out, "Total allocated: n/a")) {
        free(b.out);
        free(o.out);
        cr_skip_test("no cumulative allocation statistics without jemalloc (sanitizer build)");
    }
    unsigned long long bb = num(&b, "Total allocated:"), ob = num(&o, "Total allocated:");
    unsigned long long bn = num(&b, "Allocations:"), on = num(&o, "Allocations:");
    /* The wide margin: at least 10x fewer bytes and 50x fewer allocations
     * (measured here: about 30x and 300x at these parameters). */
    cr_assert_geq(bb, 10 * ob, "total allocated: bad %llu KB, optimized %llu KB", bb, ob);
    cr_assert_geq(bn, 50 * on, "allocations: bad %llu, optimized %llu", bn, on);
    free(b.out);
    free(o.out);
}

/* The seed's metric names; the worker_type label value goes between the
 * two parts. */
static const char *const seed_metrics[][2] = {
    {"worker_tasks_processed_total{worker_type=\"", "\",operation=\"sum\"}"},
    {"worker_tasks_processed_total{worker_type=\"", "\",operation=\"filter\"}"},
    {"worker_task_errors_total{worker_type=\"", "\"}"},
    {"worker_tasks_in_queue{worker_type=\"", "\"}"},
    {"worker_task_processing_duration_seconds_bucket{worker_type=\"", "\",le="},
    {"worker_task_processing_duration_seconds_count{worker_type=\"", "\"}"},
    {"worker_threads_active{worker_type=\"", "\"}"},
    {"worker_memory_allocated_bytes{worker_type=\"", "\"}"},
    {"worker_allocated_bytes_total{worker_type=\"", "\"}"},
    {"worker_allocations_total{worker_type=\"", "\"}"},
    {"worker_allocator_purges_total{worker_type=\"", "\"}"},
    {"process_resident_memory_bytes", ""},
    {NULL, NULL}};

/* Polls /metrics until a task was processed (60 s at most: sanitizer
 * builds on a busy 2-core machine can be slow to start). */
static http_resp_t metrics_after_work(const server_t *s, const char *type)
{
    const char *probe = harness_fmt("worker_tasks_processed_total{worker_type=\"%s\","
                                    "operation=\"sum\"} ",
                                    type);
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        http_resp_t r = http_get(harness_fmt("%s/metrics", s->base));
        cr_assert_eq(r.status, 200);
        const char *p = strstr(r.body, probe);
        if (p && atoll(p + strlen(probe)) > 0)
            return r;
        http_free(&r);
        struct timespec ts = {0, 10 * 1000000};
        nanosleep(&ts, NULL);
        clock_gettime(CLOCK_MONOTONIC, &t);
    } while (t.tv_sec - t0.tv_sec < 60);
    harness_fail("%s: no task processed within 60 s", type);
}

static void check_metrics_and_sigterm(const char *type, int sig)
{
    const char *bin = harness_fmt("worker-%s", type);
    const char *argv[] = {bin,         "-tasks", "0",      "-rate",          "300",
                          "-duration", "0",      "-quiet", "--metrics-addr", "127.0.0.1:0",
                          NULL};
    server_t *s = server_spawn(argv, "--ready-fd");
    cr_assert_gt(s->port, 0);
    http_resp_t r = metrics_after_work(s, type);
    char *ctype = http_header(&r, "Content-Type");
    cr_assert(ctype && strstr(ctype, "version=0.0.4"), "Content-Type: %s", ctype);
    free(ctype);
    for (int i = 0; seed_metrics[i][0]; i++) {
        const char *name = harness_fmt("%s%s%s", seed_metrics[i][0],
                                       seed_metrics[i][1][0] ? type : "", seed_metrics[i][1]);
        cr_assert(strstr(r.body, name), "%s /metrics lacks %s:\n%s", type, name, r.body);
    }
    http_free(&r);
    r = http_get(harness_fmt("%s/nope", s->base));
    cr_assert_eq(r.status, 404);
    http_free(&r);
    int rc = server_stop(s, sig, 30);
    cr_assert_eq(rc, 0, "%s exited %d after signal %d", type, rc, sig);
}

Test(lab, bad_metrics_and_sigterm) { check_metrics_and_sigterm("bad", SIGTERM); }
Test(lab, optimized_metrics_and_sigint) { check_metrics_and_sigterm("optimized", SIGINT); }

Test(lab, duration_ends_an_unbounded_run)
{
    const char *argv[] = {"-tasks",         "0",    "-rate",  "1000", "-duration", "300ms",
                          "--metrics-addr", "none", "-quiet", NULL};
    run_t o = run_worker("worker-optimized", argv);
    cr_assert_eq(o.status, 0, "%s", o.out);
    cr_assert(strstr(o.out, "(duration elapsed)"), "%s", o.out);
    cr_assert(strstr(o.out, "All threads properly cleaned up!"), "%s", o.out);
    free(o.out);
    run_t b = run_worker("worker-bad", argv);
    cr_assert_eq(b.status, 0, "%s", b.out);
    cr_assert(strstr(b.out, "(duration elapsed)"), "%s", b.out);
    free(b.out);
}

Test(lab, flag_forms_and_bad_flags)
{
    const char *forms[] = {"--tasks=20", "-workers",           "2",       "--data-size",
                           "8",          "-metrics-addr=none", "--quiet", NULL};
    run_t r = run_worker("worker-optimized", forms);
    cr_assert_eq(r.status, 0, "%s", r.out);
    cr_assert(strstr(r.out, "Tasks: 20, Workers: 2, Data Size: 8"), "%s", r.out);
    free(r.out);
    const char *bad1[] = {"-tasks", "many", NULL};
    const char *bad2[] = {"-nope", NULL};
    const char *bad3[] = {"-workers", NULL};
    const char *const *bads[] = {bad1, bad2, bad3};
    for (int i = 0; i < 3; i++) {
        r = run_worker("worker-bad", bads[i]);
        cr_assert_eq(r.status, 2, "case %d: exit %d:\n%s", i, r.status, r.out);
        cr_assert(strstr(r.out, "Usage:"), "%s", r.out);
        free(r.out);
    }
    const char *help[] = {"--help", NULL};
    r = run_worker("worker-bad", help);
    cr_assert_eq(r.status, 0);
    cr_assert(strstr(r.out, "-cpuprofile") && strstr(r.out, ":9090"), "%s", r.out);
    free(r.out);
}
