/* The load engine: pacing math, counting and percentile summaries, JSON,
 * and real runs against a tiny in-test HTTP/1.1 keep-alive server (one
 * thread, poll, fixed response, optional per-request delay), so no orderd
 * is needed here. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/loadgen.h"

#define MS 1000000LL
#define SEC 1000000000LL

/* ---- tiny server ----------------------------------------------------- */

#define TS_MAX_CLIENTS 32

typedef struct tiny_server {
    int lfd, port;
    pthread_t thread;
    int stop;
    int64_t delay_ns;  /* before each response */
    int status;        /* response status */
    int every_nth_503; /* if > 0, every nth response is a 503 instead */
    uint64_t requests; /* read by the test after join */
    int connections;   /* accepted */
} tiny_server_t;

typedef struct client {
    int fd;
    char buf[8192];
    size_t len;
} client_t;

/* Returns the length of one complete request at the start of c->buf, or 0. */
static size_t complete_request(const client_t *c)
{
    const char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
    if (!end)
        return 0;
    size_t head = (size_t)(end - c->buf) + 4, body = 0;
    const char *cl = memmem(c->buf, head, "Content-Length:", 15);
    if (cl)
        body = strtoul(cl + 15, NULL, 10);
    return c->len >= head + body ? head + body : 0;
}

static void respond(tiny_server_t *s, client_t *c)
{
    size_t n;
    while ((n = complete_request(c)) > 0) {
        memmove(c->buf, c->buf + n, c->len - n);
        c->len -= n;
        s->requests++;
        if (s->delay_ns)
            clock_sleep_ns(s->delay_ns);
        int status = s->status;
        if (s->every_nth_503 > 0 && s->requests % (uint64_t)s->every_nth_503 == 0)
            status = 503;
        char out[128];
        int len = snprintf(out, sizeof(out),
                           "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
                           "Content-Length: 2\r\n\r\n{}",
                           status);
        ssize_t w;
        do
            w = write(c->fd, out, (size_t)len);
        while (w < 0 && errno == EINTR);
    }
}

static void *tiny_main(void *arg)
{
    tiny_server_t *s = arg;
    client_t *clients = calloc(TS_MAX_CLIENTS, sizeof(*clients));
    int n = 0;
    while (!__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE)) {
        struct pollfd pfd[TS_MAX_CLIENTS + 1];
        pfd[0] = (struct pollfd){.fd = s->lfd, .events = POLLIN};
        for (int i = 0; i < n; i++)
            pfd[i + 1] = (struct pollfd){.fd = clients[i].fd, .events = POLLIN};
        int r = poll(pfd, (nfds_t)n + 1, 20);
        if (r < 0 && errno == EINTR)
            continue;
        cr_assert_geq(r, 0);
        if ((pfd[0].revents & POLLIN) && n < TS_MAX_CLIENTS) {
            int fd = accept(s->lfd, NULL, NULL);
            if (fd >= 0) {
                clients[n++] = (client_t){.fd = fd};
                s->connections++;
            }
        }
        for (int i = 0; i < n; i++) {
            if (!pfd[i + 1].revents)
                continue;
            client_t *c = &clients[i];
            ssize_t got = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
            if (got < 0 && errno == EINTR)
                continue;
            if (got <= 0) {
                close(c->fd);
                clients[i--] = clients[--n];
                pfd[i + 2] = pfd[n + 1]; /* keep revents in step with the move */
                continue;
            }
            c->len += (size_t)got;
            respond(s, c);
        }
    }
    for (int i = 0; i < n; i++)
        close(clients[i].fd);
    free(clients);
    return NULL;
}

static void tiny_start(tiny_server_t *s)
{
    if (!s->status)
        s->status = 201;
    s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    cr_assert_geq(s->lfd, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    cr_assert_eq(bind(s->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    cr_assert_eq(listen(s->lfd, 64), 0);
    getsockname(s->lfd, (struct sockaddr *)&a, &alen);
    s->port = ntohs(a.sin_port);
    cr_assert_eq(pthread_create(&s->thread, NULL, tiny_main, s), 0);
}

static void tiny_stop(tiny_server_t *s)
{
    __atomic_store_n(&s->stop, 1, __ATOMIC_RELEASE);
    pthread_join(s->thread, NULL);
    close(s->lfd);
}

static void body(void *ctx, uint64_t *rng, buf_t *out)
{
    (void)ctx;
    buf_printf(out, "{\"n\":%llu}", (unsigned long long)(*rng)++);
}

static loadgen_config_t config(const char *url, double rate, int64_t dur, int conns)
{
    return (loadgen_config_t){
        .url = url, .rate = rate, .duration_ns = dur, .connections = conns, .body = body};
}

/* ---- pure functions -------------------------------------------------- */

Test(loadgen, pacing_math)
{
    cr_assert_eq(loadgen_due_ns(10, 0), 0);
    cr_assert_eq(loadgen_due_ns(10, 1), 100 * MS);
    cr_assert_eq(loadgen_due_ns(1000, 1500), 1500 * MS);
    cr_assert_eq(loadgen_total(10, 30 * SEC), 300);
    cr_assert_eq(loadgen_total(100, 10 * SEC), 1000);
    cr_assert_eq(loadgen_total(3, 500 * MS), 2); /* 1.5 rounds to 2 */
    cr_assert_eq(loadgen_total(0, SEC), 0);

    /* due_count agrees with due_ns at every boundary */
    const double rates[] = {1, 3, 7.5, 50, 100, 333.3, 12345};
    for (size_t r = 0; r < sizeof(rates) / sizeof(rates[0]); r++) {
        uint64_t total = loadgen_total(rates[r], 2 * SEC);
        for (uint64_t i = 0; i < total; i++) {
            int64_t t = loadgen_due_ns(rates[r], i);
            cr_assert_eq(loadgen_due_count(rates[r], t, total), i + 1,
                         "rate %.1f: at the due time of #%lu, %lu are due", rates[r],
                         (unsigned long)i, (unsigned long)(i + 1));
            if (t > 0)
                cr_assert_eq(loadgen_due_count(rates[r], t - 1, total), i);
        }
        cr_assert_eq(loadgen_due_count(rates[r], 100 * SEC, total), total);
    }
    cr_assert_eq(loadgen_due_count(10, -1, 300), 0);
}

Test(loadgen, counting_and_summary)
{
    loadgen_stats_t *st = calloc(1, sizeof(*st));
    for (int i = 1; i <= 1000; i++)
        loadgen_record_response(st, 201, i * 1000LL); /* 1 us .. 1 ms */
    for (int i = 0; i < 30; i++)
        loadgen_record_response(st, 503, 5000);
    for (int i = 0; i < 10; i++)
        loadgen_record_response(st, 400, 5000);
    st->sent = 1050;
    st->errors = 10;
    st->elapsed_ns = 2 * SEC;
    cr_assert_eq(st->responses, 1040);
    cr_assert_eq(st->by_class[2], 1000);
    cr_assert_eq(st->by_class[4], 10);
    cr_assert_eq(st->by_class[5], 30);
    cr_assert_eq(st->by_code[201], 1000);
    cr_assert_eq(st->by_code[503], 30);

    loadgen_summary_t s;
    loadgen_summarize(st, &s);
    cr_assert_float_eq(s.rate, 520.0, 1e-9);
    cr_assert_float_eq(s.error_rate, 50.0 / 1050.0, 1e-12, "error rate %f", s.error_rate);
    /* 1040 samples: p50 is the 520th (about 0.49 ms: 40 small ones first) */
    cr_assert(s.p50_ns > 450000 && s.p50_ns < 530000, "p50 %lu", (unsigned long)s.p50_ns);
    cr_assert(s.p99_ns > 920000 && s.p99_ns <= 1000000, "p99 %lu", (unsigned long)s.p99_ns);
    cr_assert_eq(s.max_ns, 1000000);
    cr_assert_leq(s.p50_ns, s.p90_ns);
    cr_assert_leq(s.p90_ns, s.p99_ns);
    cr_assert_leq(s.p99_ns, s.p999_ns);
    cr_assert_leq(s.p999_ns, s.max_ns);

    loadgen_stats_t *two = calloc(1, sizeof(*two));
    loadgen_merge(two, st);
    loadgen_merge(two, st);
    cr_assert_eq(two->sent, 2100);
    cr_assert_eq(two->by_code[503], 60);
    cr_assert_eq(two->latency.count, 2080);
    loadgen_summarize(two, &s);
    cr_assert_float_eq(s.error_rate, 50.0 / 1050.0, 1e-12);
    free(two);
    free(st);
}

Test(loadgen, empty_summary_is_zero)
{
    loadgen_stats_t *st = calloc(1, sizeof(*st));
    loadgen_summary_t s;
    loadgen_summarize(st, &s);
    cr_assert_eq(s.rate, 0);
    cr_assert_eq(s.error_rate, 0);
    cr_assert_eq(s.p99_ns, 0);
    free(st);
}

Test(loadgen, json_fields)
{
    loadgen_stats_t *st = calloc(1, sizeof(*st));
    loadgen_record_response(st, 201, 2 * MS);
    loadgen_record_response(st, 503, 1 * MS);
    st->sent = 3;
    st->errors = 1;
    st->connect_errors = 1;
    st->elapsed_ns = SEC;
    strcpy(st->first_error, "Failed to connect: \"refused\"");
    buf_t b;
    buf_init(&b, 256);
    bool first = true;
    buf_putc(&b, '{');
    loadgen_json_fields(&b, st, &first);
    buf_putc(&b, '}');
    json_error_t err;
    json_t *o = json_loads(b.data, 0, &err);
    cr_assert_not_null(o, "%s in %s", err.text, b.data);
    cr_assert_eq(json_integer_value(json_object_get(o, "sent")), 3);
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(o, "codes"), "201")), 1);
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(o, "codes"), "503")), 1);
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(o, "status"), "5xx")), 1);
    cr_assert_eq(
        json_integer_value(json_object_get(json_object_get(o, "transport_errors"), "connect")), 1);
    cr_assert_float_eq(json_number_value(json_object_get(o, "error_rate")), 2.0 / 3.0, 1e-5);
    cr_assert_str_eq(json_string_value(json_object_get(o, "first_error")),
                     "Failed to connect: \"refused\"");
    json_t *lat = json_object_get(o, "latency_ms");
    cr_assert(json_is_number(json_object_get(lat, "p99.9")));
    cr_assert_float_eq(json_number_value(json_object_get(lat, "max")), 2.0, 1e-9);
    json_decref(o);
    buf_destroy(&b);
    free(st);
}

Test(loadgen, rejects_bad_config)
{
    loadgen_stats_t *st = calloc(1, sizeof(*st));
    loadgen_config_t c = config("http://127.0.0.1:1/x", 10, SEC, 0);
    cr_assert_eq(loadgen_run(&c, st), -EINVAL);
    c = config("http://127.0.0.1:1/x", -1, SEC, 1);
    cr_assert_eq(loadgen_run(&c, st), -EINVAL);
    c = config("http://127.0.0.1:1/x", 10, 0, 1);
    cr_assert_eq(loadgen_run(&c, st), -EINVAL);
    c = config(NULL, 10, SEC, 1);
    cr_assert_eq(loadgen_run(&c, st), -EINVAL);
    free(st);
}

/* ---- real runs ------------------------------------------------------- */

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    bind(fd, (struct sockaddr *)&a, sizeof(a));
    getsockname(fd, (struct sockaddr *)&a, &alen);
    close(fd); /* nothing listens there now */
    return ntohs(a.sin_port);
}

Test(loadgen, connection_refused_ends_the_run_at_once)
{
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/orders", free_port());
    loadgen_stats_t *st = calloc(1, sizeof(*st));
    for (int max = 0; max < 2; max++) {
        loadgen_config_t c = config(url, max ? 0 : 100, 30 * SEC, 4);
        int64_t t0 = clock_mono_ns();
        int rc = loadgen_run(&c, st);
        int64_t took = clock_mono_ns() - t0;
        cr_assert_eq(rc, -ECONNREFUSED, "%s loop: rc %d", max ? "closed" : "open", rc);
        cr_assert(st->aborted);
        cr_assert_lt(took, 5 * SEC, "a 30 s run against a closed port took %.1f s",
                     (double)took / 1e9);
        cr_assert_gt(st->connect_errors, 0);
        cr_assert_eq(st->responses, 0);
        cr_assert_eq(st->sent, st->errors, "sent %lu, errors %lu", (unsigned long)st->sent,
                     (unsigned long)st->errors);
        cr_assert(strstr(st->first_error, "onnect"), "first error: '%s'", st->first_error);
    }
    free(st);
}

static int progress_calls;
static void count_progress(void *ctx, const loadgen_stats_t *st, int64_t elapsed)
{
    (void)ctx;
    (void)st;
    cr_assert_gt(elapsed, 0);
    progress_calls++;
}

Test(loadgen, open_loop_sends_exactly_rate_times_duration)
{
    tiny_server_t s = {0};
    tiny_start(&s);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/orders", s.port);
    loadgen_stats_t *st = calloc(1, sizeof(*st));
    loadgen_config_t c = config(url, 200, 1200 * MS, 4);
    c.progress = count_progress;
    c.progress_interval_ns = 250 * MS;
    cr_assert_eq(loadgen_run(&c, st), 0, "first error: %s", st->first_error);
    tiny_stop(&s);
    cr_assert_eq(st->sent, 240);
    cr_assert_eq(st->responses, 240, "responses %lu", (unsigned long)st->responses);
    cr_assert_eq(st->by_code[201], 240);
    cr_assert_eq(st->errors + st->unsent, 0);
    cr_assert_eq(s.requests, 240);
    cr_assert_leq(s.connections, 4, "keep-alive: %d connections for 4 slots", s.connections);
    /* The run lasts the whole duration, so the achieved rate is the target. */
    cr_assert_geq(st->elapsed_ns, 1200 * MS);
    loadgen_summary_t sum;
    loadgen_summarize(st, &sum);
    cr_assert(sum.rate > 150 && sum.rate <= 200.0001, "rate %.1f", sum.rate);
    cr_assert_geq(progress_calls, 3, "progress called %d times in 1.2 s at 250 ms", progress_calls);
    free(st);
}

/* A slow open loop without a progress callback waits in poll between
 * requests: the loop's thread uses a small fraction of the run's wall time
 * (a busy loop uses all of it). */
Test(loadgen, slow_open_loop_does_not_spin)
{
    tiny_server_t s = {0};
    tiny_start(&s);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/orders", s.port);
    loadgen_stats_t *st = calloc(1, sizeof(*st));
    loadgen_config_t c = config(url, 20, 2500 * MS, 2);
    struct timespec t0, t1;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
    cr_assert_eq(loadgen_run(&c, st), 0, "first error: %s", st->first_error);
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
    tiny_stop(&s);
    cr_assert_eq(st->responses, 50);
    int64_t cpu = (t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec);
    cr_assert_lt(cpu, 500 * MS, "the loop used %.0f ms of CPU in a 2.5 s run", cpu / 1e6);
    free(st);
}

Test(loadgen, closed_loop_and_status_codes)
{
    tiny_server_t s = {.every_nth_503 = 4};
    tiny_start(&s);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/orders", s.port);
    loadgen_stats_t *st = calloc(1, sizeof(*st));
    loadgen_config_t c = config(url, 0, 500 * MS, 3);
    cr_assert_eq(loadgen_run(&c, st), 0, "first error: %s", st->first_error);
    tiny_stop(&s);
    cr_assert_gt(st->sent, 100, "closed loop sent only %lu in 0.5 s", (unsigned long)st->sent);
    cr_assert_eq(st->sent, st->responses + st->errors);
    cr_assert_eq(st->errors, 0, "first error: %s", st->first_error);
    cr_assert_eq(st->responses, s.requests);
    cr_assert_eq(st->by_code[503], s.requests / 4);
    cr_assert_eq(st->by_code[201] + st->by_code[503], st->responses);
    cr_assert_leq(s.connections, 3);
    loadgen_summary_t sum;
    loadgen_summarize(st, &sum);
    cr_assert_float_eq(sum.error_rate, (double)(s.requests / 4) / (double)st->sent, 1e-12);
    free(st);
}

Test(loadgen, stop_flag_ends_a_long_run)
{
    tiny_server_t s = {0};
    tiny_start(&s);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/orders", s.port);
    loadgen_stats_t *st = calloc(1, sizeof(*st));
    int stop = 1; /* already set: the run must end at once */
    loadgen_config_t c = config(url, 100, 60 * SEC, 2);
    c.stop = &stop;
    int64_t t0 = clock_mono_ns();
    cr_assert_eq(loadgen_run(&c, st), 0);
    cr_assert_lt(clock_mono_ns() - t0, 3 * SEC);
    cr_assert_lt(st->sent, 10);
    tiny_stop(&s);
    free(st);
}

/* A server that takes 20 ms per request on one connection can do 50/s; at
 * 100/s the requests queue up behind each other. Latency measured from the
 * due time must show that wait (hundreds of ms), not the 20 ms service time
 * a closed-loop tool would report. */
Test(loadgen, no_coordinated_omission)
{
    tiny_server_t s = {.delay_ns = 20 * MS};
    tiny_start(&s);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/orders", s.port);
    loadgen_stats_t *st = calloc(1, sizeof(*st));
    loadgen_config_t c = config(url, 100, SEC, 1);
    cr_assert_eq(loadgen_run(&c, st), 0, "first error: %s", st->first_error);
    tiny_stop(&s);
    loadgen_summary_t sum;
    loadgen_summarize(st, &sum);
    cr_assert_gt(sum.p50_ns, 60 * MS, "p50 %.1f ms hides the queueing", (double)sum.p50_ns / 1e6);
    cr_assert_gt(sum.max_ns, 300 * MS, "max %.1f ms", (double)sum.max_ns / 1e6);
    cr_assert_gt(st->unsent, 20, "only %lu due orders were left unsent", (unsigned long)st->unsent);
    cr_assert_eq(st->sent + st->unsent, 100);
    free(st);
}

/* Profilers interrupt every blocking call with signals (SIGPROF at 100 Hz
 * and more). A run pelted with a signal every 200 us on its own thread,
 * handler installed without SA_RESTART, must still send and count exactly. */
static void on_usr1(int sig) { (void)sig; }

typedef struct pelter {
    pthread_t target;
    int stop;
    int sent;
} pelter_t;

static void *pelt(void *arg)
{
    pelter_t *p = arg;
    while (!__atomic_load_n(&p->stop, __ATOMIC_ACQUIRE)) {
        pthread_kill(p->target, SIGUSR1);
        p->sent++;
        clock_sleep_ns(200000);
    }
    return NULL;
}

Test(loadgen, survives_signal_storms)
{
    struct sigaction sa = {.sa_handler = on_usr1}, old;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, &old);
    tiny_server_t s = {0};
    tiny_start(&s);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/orders", s.port);
    loadgen_stats_t *st = calloc(1, sizeof(*st));
    pelter_t p = {.target = pthread_self()};
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, pelt, &p), 0);
    loadgen_config_t c = config(url, 300, SEC, 2);
    int rc = loadgen_run(&c, st);
    __atomic_store_n(&p.stop, 1, __ATOMIC_RELEASE);
    pthread_join(t, NULL);
    tiny_stop(&s);
    sigaction(SIGUSR1, &old, NULL);
    cr_assert_eq(rc, 0, "first error: %s", st->first_error);
    cr_assert_gt(p.sent, 100, "only %d signals sent", p.sent);
    cr_assert_eq(st->sent, 300);
    cr_assert_eq(st->by_code[201], 300, "201s: %lu, errors %lu (%s)",
                 (unsigned long)st->by_code[201], (unsigned long)st->errors, st->first_error);
    free(st);
}
