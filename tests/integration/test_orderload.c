/* orderload against the real orderd: its counts agree with /stats, each
 * scenario (shortened with --duration) achieves its rate and priority,
 * --max-error-rate decides the exit status, a closed port fails fast and
 * clearly, bad flags exit 2, and orderd's own --load runs and stops. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

typedef struct run {
    int status; /* exit code, 128+signal when killed */
    char *out, *err;
    double secs;
} run_t;

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f);
    char *data = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&data, &len);
    char chunk[4096];
    size_t k;
    while ((k = fread(chunk, 1, sizeof(chunk), f)) > 0)
        fwrite(chunk, 1, k, m);
    fclose(f);
    fclose(m);
    unlink(path);
    return data;
}

/* Runs orderload with args (NULL-terminated), capturing stdout and stderr;
 * fails the test if it runs longer than timeout_s. */
static run_t orderload(int timeout_s, const char *const *args)
{
    char outp[] = "/tmp/orderload-test-out-XXXXXX", errp[] = "/tmp/orderload-test-err-XXXXXX";
    int ofd = mkstemp(outp), efd = mkstemp(errp);
    cr_assert(ofd >= 0 && efd >= 0);
    const char *argv[64];
    int n = 0;
    argv[n++] = harness_bin("orderload");
    for (int i = 0; args[i] && n < 63; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    double t0 = now_s();
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        dup2(ofd, 1);
        dup2(efd, 2);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(ofd);
    close(efd);
    int st = 0;
    pid_t r;
    while ((r = waitpid(pid, &st, WNOHANG)) == 0 || (r < 0 && errno == EINTR)) {
        if (now_s() - t0 > timeout_s) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            char *e = slurp(errp);
            harness_fail("orderload still running after %d s; stderr:\n%s", timeout_s, e);
        }
        sleep_ms(10);
    }
    run_t res = {.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st),
                 .out = slurp(outp),
                 .err = slurp(errp),
                 .secs = now_s() - t0};
    if (strstr(res.err, "Sanitizer") || strstr(res.err, "runtime error:"))
        harness_fail("sanitizer report from orderload:\n%s", res.err);
    return res;
}

static void run_free(run_t *r)
{
    free(r->out);
    free(r->err);
}

static json_t *parse(const char *text)
{
    json_error_t je;
    json_t *j = json_loads(text, 0, &je);
    cr_assert_not_null(j, "not JSON (%s): %s", je.text, text);
    return j;
}

static json_t *get_json(const char *url)
{
    http_resp_t r = http_get(url);
    json_t *j = parse(r.body);
    http_free(&r);
    return j;
}

static long long jint(json_t *o, const char *path)
{
    /* "a.b.c" */
    char buf[128];
    snprintf(buf, sizeof(buf), "%s", path);
    json_t *v = o;
    for (char *save, *k = strtok_r(buf, ".", &save); k; k = strtok_r(NULL, ".", &save))
        v = json_object_get(v, k);
    cr_assert(json_is_integer(v), "%s is not an integer", path);
    return json_integer_value(v);
}

static long long code_count(json_t *o, const char *code)
{
    json_t *v = json_object_get(json_object_get(o, "codes"), code);
    return v ? json_integer_value(v) : 0;
}

/* Polls /stats until total_processed == want (30 s deadline). */
static void wait_processed(server_t *s, long long want)
{
    long long got = -1;
    for (int i = 0; i < 3000; i++) {
        json_t *j = get_json(harness_fmt("%s/stats", s->base));
        got = jint(j, "total_processed");
        json_decref(j);
        if (got == want)
            return;
        cr_assert_lt(got, want, "more orders processed (%lld) than acknowledged (%lld)", got, want);
        sleep_ms(10);
    }
    harness_fail("total_processed %lld, want %lld after 30 s", got, want);
}

Test(orderload, counts_agree_with_stats)
{
    server_t *s = server_start((const char *const[]){"--work", "none", NULL});
    run_t r = orderload(30, (const char *const[]){"--url", s->base, "--rate", "300", "--duration",
                                                  "2s", "--json", "--quiet", NULL});
    cr_assert_eq(r.status, 0, "exit %d; stderr:\n%s", r.status, r.err);
    json_t *j = parse(r.out);
    cr_assert_eq(jint(j, "sent"), 600);
    cr_assert_eq(code_count(j, "201"), 600, "%s", r.out);
    cr_assert(json_is_true(json_object_get(j, "ok")));
    json_t *st = get_json(harness_fmt("%s/stats", s->base));
    cr_assert_eq(jint(st, "accepted"), 600, "orderd accepted %lld", jint(st, "accepted"));
    cr_assert_eq(jint(st, "by_priority.2.accepted"), 600, "--rate defaults to priority 2");
    wait_processed(s, 600);
    json_decref(st);
    json_decref(j);
    run_free(&r);
    cr_assert_eq(server_stop(s, SIGTERM, 30), 0);
}

Test(orderload, max_mode_counts_agree)
{
    server_t *s =
        server_start((const char *const[]){"--work", "none", "--http-threads", "1", NULL});
    run_t r = orderload(30, (const char *const[]){"--url", s->base, "--max", "--duration", "1s",
                                                  "--connections", "4", "--json", "--quiet",
                                                  "--priority", "3", NULL});
    cr_assert_eq(r.status, 0, "exit %d; stderr:\n%s", r.status, r.err);
    json_t *j = parse(r.out);
    long long ok = code_count(j, "201");
    cr_assert_gt(ok, 100, "only %lld orders in 1 s of --max", ok);
    cr_assert_eq(jint(j, "sent"), ok);
    json_t *st = get_json(harness_fmt("%s/stats", s->base));
    cr_assert_eq(jint(st, "accepted"), ok);
    cr_assert_eq(jint(st, "by_priority.3.accepted"), ok);
    wait_processed(s, ok);
    json_decref(st);
    json_decref(j);
    run_free(&r);
    cr_assert_eq(server_stop(s, SIGTERM, 30), 0);
}

/* Every scenario, shortened to 2 s: the order count is rate × 2 s exactly,
 * the achieved rate is within 10% of the target, and orderd saw the
 * scenario's priority. */
Test(orderload, scenarios_achieve_their_rate_and_priority)
{
    server_t *s = server_start((const char *const[]){"--work", "none", NULL});
    struct {
        const char *name;
        double rate;
        int prio; /* 0: mixed */
    } sc[] = {{"normal", 10, 2}, {"high", 50, 1}, {"burst", 100, 3}, {"mixed", 20, 0}};
    long long total = 0;
    for (size_t i = 0; i < sizeof(sc) / sizeof(sc[0]); i++) {
        json_t *before = get_json(harness_fmt("%s/stats", s->base));
        run_t r =
            orderload(30, (const char *const[]){"--url", s->base, "--scenario", sc[i].name,
                                                "--duration", "2s", "--json", "--quiet", NULL});
        cr_assert_eq(r.status, 0, "%s: exit %d; stderr:\n%s", sc[i].name, r.status, r.err);
        json_t *j = parse(r.out);
        long long want = (long long)(sc[i].rate * 2);
        cr_assert_eq(jint(j, "sent"), want, "%s sent %lld", sc[i].name, jint(j, "sent"));
        cr_assert_eq(code_count(j, "201"), want);
        double rate = json_number_value(json_object_get(j, "rate"));
        cr_assert(rate > sc[i].rate * 0.9 && rate < sc[i].rate * 1.1,
                  "%s: achieved %.2f/s, target %.0f/s", sc[i].name, rate, sc[i].rate);
        json_t *after = get_json(harness_fmt("%s/stats", s->base));
        if (sc[i].prio) {
            char key[64];
            snprintf(key, sizeof(key), "by_priority.%d.accepted", sc[i].prio);
            cr_assert_eq(jint(after, key) - jint(before, key), want, "%s: priority %d", sc[i].name,
                         sc[i].prio);
        } else {
            int used = 0;
            for (int p = 1; p <= 3; p++) {
                char key[64];
                snprintf(key, sizeof(key), "by_priority.%d.accepted", p);
                used += jint(after, key) > jint(before, key);
            }
            cr_assert_geq(used, 2, "mixed orders used only %d priorities", used);
        }
        total += want;
        json_decref(before);
        json_decref(after);
        json_decref(j);
        run_free(&r);
    }
    wait_processed(s, total);
    cr_assert_eq(server_stop(s, SIGTERM, 30), 0);
}

Test(orderload, all_runs_three_phases_with_text_summary)
{
    server_t *s = server_start((const char *const[]){"--work", "none", NULL});
    /* 64 s scaled to 3.2 s: normal 1.5 s (15), high 1 s (50), burst 0.5 s (50) */
    run_t r = orderload(30, (const char *const[]){"--url", s->base, "--scenario", "all",
                                                  "--duration", "3.2s", NULL});
    cr_assert_eq(r.status, 0, "exit %d; stderr:\n%s", r.status, r.err);
    cr_assert(strstr(r.out, "normal") && strstr(r.out, "high") && strstr(r.out, "burst"), "%s",
              r.out);
    cr_assert(strstr(r.out, "201: 115"), "summary lacks the 201 count:\n%s", r.out);
    cr_assert(strstr(r.out, "p99.9"), "%s", r.out);
    cr_assert(strstr(r.out, "error rate"), "%s", r.out);
    /* not a terminal: plain progress lines on stderr */
    cr_assert(strstr(r.err, "[high") && !strchr(r.err, '\r'), "progress:\n%s", r.err);
    json_t *st = get_json(harness_fmt("%s/stats", s->base));
    cr_assert_eq(jint(st, "by_priority.2.accepted"), 15);
    cr_assert_eq(jint(st, "by_priority.1.accepted"), 50);
    cr_assert_eq(jint(st, "by_priority.3.accepted"), 50);
    json_decref(st);
    run_free(&r);
    cr_assert_eq(server_stop(s, SIGTERM, 30), 0);
}

Test(orderload, max_error_rate_sets_the_exit_status)
{
    /* Workers paused and room for 10: of 100 orders, 90 get 503. */
    server_t *s = server_start(
        (const char *const[]){"--work", "none", "--paused", "--queue-capacity", "10", NULL});
    run_t r = orderload(30, (const char *const[]){"--url", s->base, "--rate", "200", "--duration",
                                                  "500ms", "--json", "--quiet", "--max-error-rate",
                                                  "0.95", NULL});
    cr_assert_eq(r.status, 0, "90%% errors within a 95%% limit must pass; stderr:\n%s", r.err);
    json_t *j = parse(r.out);
    cr_assert_eq(code_count(j, "201"), 10, "%s", r.out);
    cr_assert_eq(code_count(j, "503"), 90, "%s", r.out);
    cr_assert_float_eq(json_number_value(json_object_get(j, "error_rate")), 0.9, 1e-6);
    json_decref(j);
    run_free(&r);

    /* The queue is full now: every order is a 503, far above the default 1%. */
    r = orderload(30, (const char *const[]){"--url", s->base, "--rate", "100", "--duration",
                                            "300ms", "--quiet", NULL});
    cr_assert_eq(r.status, 1, "exit %d; stdout:\n%s", r.status, r.out);
    cr_assert(strstr(r.err, "error rate") && strstr(r.err, "above the limit"), "%s", r.err);
    cr_assert(strstr(r.out, "503: 30"), "%s", r.out);
    run_free(&r);

    http_resp_t resume =
        http_do("POST", harness_fmt("%s/debug/workers/resume", s->base), "", 0, NULL);
    cr_assert_lt(resume.status, 300, "resume: %ld", resume.status);
    http_free(&resume);
    json_t *st = get_json(harness_fmt("%s/stats", s->base));
    cr_assert_eq(jint(st, "accepted"), 10);
    json_decref(st);
    wait_processed(s, 10);
    cr_assert_eq(server_stop(s, SIGTERM, 30), 0);
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    getsockname(fd, (struct sockaddr *)&a, &alen);
    close(fd);
    return ntohs(a.sin_port);
}

Test(orderload, connection_refused_is_quick_and_clear)
{
    const char *url = harness_fmt("http://127.0.0.1:%d", free_port());
    const char *modes[][3] = {{"--scenario", "normal", NULL}, {"--max", NULL, NULL}};
    for (int m = 0; m < 2; m++) {
        run_t r =
            orderload(10, (const char *const[]){"--url", url, modes[m][0], modes[m][1], NULL});
        cr_assert_eq(r.status, 1, "exit %d", r.status);
        cr_assert_lt(r.secs, 5, "took %.1f s to give up on a closed port", r.secs);
        cr_assert(strstr(r.err, "cannot reach") && strstr(r.err, "onnect"), "stderr:\n%s", r.err);
        run_free(&r);
    }
}

Test(orderload, bad_flags_exit_2_with_usage)
{
    struct {
        const char *args[6];
        const char *msg;
    } cases[] = {
        {{"--rate", "abc", NULL}, "--rate wants"},
        {{"--rate", "0", NULL}, "--rate wants"},
        {{"--duration", "soon", NULL}, "--duration wants"},
        {{"--scenario", "nope", NULL}, "unknown scenario 'nope'"},
        {{"--connections", "0", NULL}, "--connections wants"},
        {{"--priority", "4", NULL}, "--priority wants"},
        {{"--max-error-rate", "2", NULL}, "--max-error-rate wants"},
        {{"--bogus", NULL}, "unknown or incomplete flag '--bogus'"},
        {{"--rate", NULL}, "unknown or incomplete flag '--rate'"},
        {{"--rate", "10", "--max", NULL}, "exclude each other"},
        {{"--scenario", "all", "--rate", "10", NULL}, "multi-phase"},
        {{"--url", "localhost:8080", NULL}, "--url must start with http://"},
        {{"extra", NULL}, "unexpected argument 'extra'"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        run_t r = orderload(10, cases[i].args);
        cr_assert_eq(r.status, 2, "%s: exit %d", cases[i].msg, r.status);
        cr_assert(strstr(r.err, cases[i].msg), "want '%s' in stderr:\n%s", cases[i].msg, r.err);
        cr_assert(strstr(r.err, "usage: orderload"), "no usage in stderr:\n%s", r.err);
        cr_assert_eq(r.out[0], '\0', "stdout should be empty: %s", r.out);
        run_free(&r);
    }
    run_t r = orderload(10, (const char *const[]){"--help", NULL});
    cr_assert_eq(r.status, 0);
    cr_assert(strstr(r.out, "usage: orderload") && strstr(r.out, "--max-error-rate"));
    run_free(&r);
}

Test(orderload, builtin_load_runs_and_stops_on_sigterm)
{
    server_t *s = server_start((const char *const[]){"--work", "none", "--load", "normal", NULL});
    long long accepted = 0;
    for (int i = 0; i < 1000 && accepted < 5; i++) {
        json_t *st = get_json(harness_fmt("%s/stats", s->base));
        accepted = jint(st, "by_priority.2.accepted");
        json_decref(st);
        if (accepted < 5)
            sleep_ms(10);
    }
    cr_assert_geq(accepted, 5, "the built-in load sent %lld orders in 10 s", accepted);
    char *err = server_stderr(s);
    cr_assert(strstr(err, "load: phase 'normal'"), "stderr:\n%s", err);
    free(err);
    /* The scenario runs 30 s; SIGTERM must stop it and exit promptly. */
    double t0 = now_s();
    pid_t pid = s->pid;
    char path[256];
    snprintf(path, sizeof(path), "%s", s->stderr_path);
    int fd = open(path, O_RDONLY); /* server_stop unlinks it */
    cr_assert_eq(server_stop(s, SIGTERM, 20), 0, "orderd %d", (int)pid);
    cr_assert_lt(now_s() - t0, 10, "shutdown with --load took %.1f s", now_s() - t0);
    char log[16384] = {0};
    ssize_t n = pread(fd, log, sizeof(log) - 1, 0);
    close(fd);
    cr_assert_gt(n, 0);
    cr_assert(strstr(log, "load: scenario 'normal' stopped early"), "stderr:\n%s", log);
}
