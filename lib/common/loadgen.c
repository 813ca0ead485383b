/* HTTP load engine over libcurl's multi interface.
 *
 * One thread owns a multi handle and a fixed set of slots, one per
 * connection: a slot holds a reusable easy handle, its request body and the
 * time its request was due. Idle slots sit on a stack. Each turn of the
 * loop starts requests on idle slots (open loop: those whose due time has
 * passed; closed loop: all), lets curl perform, collects the finished
 * transfers (counting them and returning their slots to the stack), and
 * then waits in curl_multi_poll for socket activity, the next due time, the
 * next progress tick or 100 ms (to notice the stop flag), whichever comes
 * first. Easy handles are removed and re-added, never recreated, so the
 * multi handle's connection cache keeps every connection alive.
 *
 * Due times need sub-millisecond precision at high rates, but
 * curl_multi_poll's timeout is in milliseconds: a timerfd armed at the
 * absolute due time is passed to it as an extra descriptor instead.
 * Profiler signals interrupt poll constantly; curl reports an interrupted
 * poll as a timeout (and older versions as CURLM_UNRECOVERABLE_POLL with
 * errno EINTR, which is retried here), so the loop simply goes round.
 *
 * Invariant: sent == responses + errors once the run returns; requests cut
 * off at the end (still in flight after the drain deadline) count as
 * timeouts. */
#include "common/loadgen.h"

#include <curl/curl.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/xalloc.h"

#define MS 1000000LL
#define SEC 1000000000LL
/* Only connection failures for this long after the last response: the
 * server is gone, stop instead of spinning. */
#define UNREACHABLE_NS (2 * SEC)

typedef struct slot {
    CURL *easy;
    buf_t body;
    int64_t due_ns; /* latency origin (monotonic) */
    char err[CURL_ERROR_SIZE];
} slot_t;

typedef struct run {
    const loadgen_config_t *cfg;
    loadgen_stats_t *st;
    CURLM *multi;
    struct curl_slist *headers;
    slot_t *slots;
    slot_t **idle;
    int nidle;
    int inflight;
    uint64_t rng;
    int64_t last_response_ns; /* last HTTP answer (monotonic), start before any */
    int64_t last_answer_ns;   /* last finished transfer of any kind */
} run_t;

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc;

static void global_init(void) { global_rc = curl_global_init(CURL_GLOBAL_DEFAULT); }

/* ---- pure helpers ---------------------------------------------------- */

int64_t loadgen_due_ns(double rate, uint64_t i) { return (int64_t)((double)i * 1e9 / rate); }

uint64_t loadgen_total(double rate, int64_t duration_ns)
{
    if (rate <= 0 || duration_ns <= 0)
        return 0;
    return (uint64_t)llround(rate * (double)duration_ns / 1e9);
}

uint64_t loadgen_due_count(double rate, int64_t elapsed_ns, uint64_t total)
{
    if (elapsed_ns < 0 || rate <= 0)
        return 0;
    /* Start from the estimate and correct it with the exact due times, so
     * the answer agrees with loadgen_due_ns despite rounding. */
    uint64_t n = (uint64_t)((double)elapsed_ns * rate / 1e9);
    while (n > 0 && loadgen_due_ns(rate, n - 1) > elapsed_ns)
        n--;
    while (loadgen_due_ns(rate, n) <= elapsed_ns && n < total)
        n++;
    return n < total ? n : total;
}

void loadgen_stats_init(loadgen_stats_t *st) { memset(st, 0, sizeof(*st)); }

void loadgen_record_response(loadgen_stats_t *st, long status, int64_t latency_ns)
{
    st->responses++;
    if (status >= 100 && status < LOADGEN_CODES) {
        st->by_code[status]++;
        st->by_class[status / 100]++;
    }
    hist_record(&st->latency, latency_ns > 0 ? (uint64_t)latency_ns : 0);
}

void loadgen_merge(loadgen_stats_t *dst, const loadgen_stats_t *src)
{
    dst->sent += src->sent;
    dst->responses += src->responses;
    dst->errors += src->errors;
    dst->unsent += src->unsent;
    dst->connect_errors += src->connect_errors;
    dst->timeouts += src->timeouts;
    for (int i = 0; i < 6; i++)
        dst->by_class[i] += src->by_class[i];
    for (int i = 0; i < LOADGEN_CODES; i++)
        dst->by_code[i] += src->by_code[i];
    dst->elapsed_ns += src->elapsed_ns;
    hist_merge(&dst->latency, &src->latency);
    dst->aborted = dst->aborted || src->aborted;
    if (!dst->first_error[0])
        memcpy(dst->first_error, src->first_error, sizeof(dst->first_error));
}

void loadgen_summarize(const loadgen_stats_t *st, loadgen_summary_t *out)
{
    memset(out, 0, sizeof(*out));
    if (st->elapsed_ns > 0)
        out->rate = (double)st->responses * 1e9 / (double)st->elapsed_ns;
    if (st->sent > 0)
        out->error_rate = (double)(st->responses - st->by_class[2] + st->errors) / (double)st->sent;
    out->p50_ns = hist_quantile(&st->latency, 0.50);
    out->p90_ns = hist_quantile(&st->latency, 0.90);
    out->p99_ns = hist_quantile(&st->latency, 0.99);
    out->p999_ns = hist_quantile(&st->latency, 0.999);
    out->max_ns = st->latency.max;
    out->mean_ns = hist_mean(&st->latency);
}

static void json_u64(buf_t *out, const char *key, uint64_t v, bool *first)
{
    buf_json_key(out, key, first);
    buf_json_i64(out, (int64_t)v);
}

static void json_ms(buf_t *out, const char *key, double ns, bool *first)
{
    buf_json_key(out, key, first);
    buf_json_f64(out, ns / 1e6, 3);
}

void loadgen_json_fields(buf_t *out, const loadgen_stats_t *st, bool *first)
{
    loadgen_summary_t s;
    loadgen_summarize(st, &s);
    json_u64(out, "sent", st->sent, first);
    json_u64(out, "responses", st->responses, first);
    json_u64(out, "errors", st->errors, first);
    json_u64(out, "unsent", st->unsent, first);

    bool f = true;
    buf_json_key(out, "status", first);
    buf_putc(out, '{');
    for (int c = 1; c < 6; c++) {
        char key[4] = {(char)('0' + c), 'x', 'x', 0};
        json_u64(out, key, st->by_class[c], &f);
    }
    buf_putc(out, '}');

    f = true;
    buf_json_key(out, "codes", first);
    buf_putc(out, '{');
    for (int c = 0; c < LOADGEN_CODES; c++) {
        if (!st->by_code[c])
            continue;
        char key[8];
        snprintf(key, sizeof(key), "%d", c);
        json_u64(out, key, st->by_code[c], &f);
    }
    buf_putc(out, '}');

    f = true;
    buf_json_key(out, "transport_errors", first);
    buf_putc(out, '{');
    json_u64(out, "connect", st->connect_errors, &f);
    json_u64(out, "timeout", st->timeouts, &f);
    json_u64(out, "other", st->errors - st->connect_errors - st->timeouts, &f);
    buf_putc(out, '}');

    buf_json_key(out, "elapsed_s", first);
    buf_json_f64(out, (double)st->elapsed_ns / 1e9, 3);
    buf_json_key(out, "rate", first);
    buf_json_f64(out, s.rate, 2);
    buf_json_key(out, "error_rate", first);
    buf_json_f64(out, s.error_rate, 6);

    f = true;
    buf_json_key(out, "latency_ms", first);
    buf_putc(out, '{');
    json_ms(out, "p50", (double)s.p50_ns, &f);
    json_ms(out, "p90", (double)s.p90_ns, &f);
    json_ms(out, "p99", (double)s.p99_ns, &f);
    json_ms(out, "p99.9", (double)s.p999_ns, &f);
    json_ms(out, "max", (double)s.max_ns, &f);
    json_ms(out, "mean", s.mean_ns, &f);
    buf_putc(out, '}');

    buf_json_key(out, "aborted", first);
    buf_puts(out, st->aborted ? "true" : "false");
    buf_json_key(out, "first_error", first);
    buf_json_str(out, st->first_error[0] ? st->first_error : NULL);
}

/* ---- the engine -------------------------------------------------------- */

static size_t discard(char *p, size_t size, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return size * n;
}

static int slot_setup(run_t *r, slot_t *s)
{
    const loadgen_config_t *cfg = r->cfg;
    long timeout_ms = (long)(cfg->timeout_ns / MS);
    buf_init(&s->body, 1024);
    if (!(s->easy = curl_easy_init()))
        return -ENOMEM;
    CURL *e = s->easy;
    curl_easy_setopt(e, CURLOPT_URL, cfg->url);
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PROXY, ""); /* never through an environment proxy */
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms < 5000 ? timeout_ms : 5000L);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, s->err);
    curl_easy_setopt(e, CURLOPT_PRIVATE, s);
    return 0;
}

static void note_error(loadgen_stats_t *st, const char *msg)
{
    if (!st->first_error[0])
        snprintf(st->first_error, sizeof(st->first_error), "%.*s", (int)sizeof(st->first_error) - 1,
                 msg);
}

static void start_request(run_t *r, int64_t due_ns)
{
    slot_t *s = r->idle[--r->nidle];
    buf_reset(&s->body);
    r->cfg->body(r->cfg->body_ctx, &r->rng, &s->body);
    curl_easy_setopt(s->easy, CURLOPT_POSTFIELDS, s->body.data);
    curl_easy_setopt(s->easy, CURLOPT_POSTFIELDSIZE, (long)s->body.len);
    s->err[0] = '\0';
    s->due_ns = due_ns;
    r->st->sent++;
    CURLMcode mc = curl_multi_add_handle(r->multi, s->easy);
    if (mc != CURLM_OK) {
        r->st->errors++;
        note_error(r->st, curl_multi_strerror(mc));
        r->idle[r->nidle++] = s;
        return;
    }
    r->inflight++;
}

static void finish(run_t *r, CURL *e, CURLcode rc, int64_t now)
{
    slot_t *s = NULL;
    loadgen_stats_t *st = r->st;
    curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&s);
    if (rc == CURLE_OK) {
        long status = 0;
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
        loadgen_record_response(st, status, now - s->due_ns);
        r->last_response_ns = now;
    } else {
        st->errors++;
        if (rc == CURLE_COULDNT_CONNECT)
            st->connect_errors++;
        else if (rc == CURLE_OPERATION_TIMEDOUT)
            st->timeouts++;
        note_error(st, s->err[0] ? s->err : curl_easy_strerror(rc));
        if (rc == CURLE_COULDNT_CONNECT &&
            (st->responses == 0 || now - r->last_response_ns > UNREACHABLE_NS))
            st->aborted = true;
    }
    r->last_answer_ns = now;
    curl_multi_remove_handle(r->multi, e);
    r->idle[r->nidle++] = s;
    r->inflight--;
}

static void collect(run_t *r)
{
    CURLMsg *m;
    int left;
    int64_t now = clock_mono_ns();
    while ((m = curl_multi_info_read(r->multi, &left)))
        if (m->msg == CURLMSG_DONE)
            finish(r, m->easy_handle, m->data.result, now);
}

/* Requests still in flight at the drain deadline count as timeouts. */
static void cut_off(run_t *r)
{
    for (int i = 0; i < r->cfg->connections && r->inflight > 0; i++) {
        slot_t *s = &r->slots[i];
        bool idle = false;
        for (int j = 0; j < r->nidle && !idle; j++)
            idle = r->idle[j] == s;
        if (idle)
            continue;
        curl_multi_remove_handle(r->multi, s->easy);
        r->idle[r->nidle++] = s;
        r->inflight--;
        r->st->errors++;
        r->st->timeouts++;
        note_error(r->st, "request still in flight at the end of the run (cut off)");
    }
}

/* Arms the timer at an absolute monotonic time (0 disarms); skips the
 * syscall when nothing changed, which is every turn of a closed loop. */
static void arm_timer(int tfd, int64_t at_ns, int64_t *armed)
{
    if (at_ns == *armed)
        return;
    *armed = at_ns;
    struct itimerspec its = {0};
    if (at_ns > 0) {
        its.it_value.tv_sec = at_ns / SEC;
        its.it_value.tv_nsec = at_ns % SEC;
    }
    timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

static bool stop_requested(const loadgen_config_t *cfg)
{
    return cfg->stop && __atomic_load_n(cfg->stop, __ATOMIC_ACQUIRE);
}

/* The main loop; see the design note at the top. */
static int run_loop(run_t *r, int tfd)
{
    const loadgen_config_t *cfg = r->cfg;
    loadgen_stats_t *st = r->st;
    const bool open = cfg->rate > 0;
    const int64_t interval = cfg->progress_interval_ns > 0 ? cfg->progress_interval_ns : SEC;
    const int64_t start = clock_mono_ns(), end = start + cfg->duration_ns;
    uint64_t total = open ? loadgen_total(cfg->rate, cfg->duration_ns) : UINT64_MAX;
    if (cfg->max_requests && cfg->max_requests < total)
        total = cfg->max_requests;
    uint64_t next = 0;
    bool sending = true;
    int64_t send_end = end, drain_deadline = 0, next_progress = start + interval, armed = 0;
    int rc = 0;
    r->last_response_ns = r->last_answer_ns = start;

    for (;;) {
        int64_t now = clock_mono_ns();
        if (sending) {
            bool early = stop_requested(cfg) || st->aborted;
            if (early || now >= end || next >= total) {
                sending = false;
                bool counted = cfg->max_requests && next >= cfg->max_requests;
                send_end = early || counted ? now : end;
                if (open && !st->aborted)
                    st->unsent = loadgen_due_count(cfg->rate, send_end - start, total) - next;
                /* Early stops wait briefly; the normal end waits for the
                 * request timeout, which every request carries anyway. */
                drain_deadline = now + (early ? (st->aborted ? 0 : SEC) : cfg->timeout_ns + SEC);
            } else if (open) {
                while (r->nidle > 0 && next < total &&
                       start + loadgen_due_ns(cfg->rate, next) <= now) {
                    start_request(r, start + loadgen_due_ns(cfg->rate, next));
                    next++;
                }
            } else {
                for (; r->nidle > 0 && next < total; next++)
                    start_request(r, now);
            }
        }

        int running;
        curl_multi_perform(r->multi, &running);
        collect(r);

        if (!sending && r->inflight == 0)
            break;
        if (!sending && now >= drain_deadline) {
            cut_off(r);
            break;
        }
        now = clock_mono_ns();
        if (cfg->progress && now >= next_progress) {
            st->elapsed_ns = now - start;
            cfg->progress(cfg->progress_ctx, st, now - start);
            next_progress += interval;
            if (next_progress <= now)
                next_progress = now + interval;
        }

        /* Work that can go out right now: skip the wait. */
        if (sending && r->nidle > 0 && next < total &&
            (!open || start + loadgen_due_ns(cfg->rate, next) <= now))
            continue;

        int64_t wake = now + 100 * MS;
        if (cfg->progress && next_progress < wake) /* without a callback it never advances */
            wake = next_progress;
        if (sending && wake > end)
            wake = end;
        if (!sending && wake > drain_deadline)
            wake = drain_deadline;
        bool timed = sending && open && r->nidle > 0 && next < total;
        arm_timer(tfd, timed ? start + loadgen_due_ns(cfg->rate, next) : 0, &armed);
        struct curl_waitfd wfd = {.fd = tfd, .events = CURL_WAIT_POLLIN};
        int timeout_ms = wake > now ? (int)((wake - now + MS - 1) / MS) : 0;
        CURLMcode mc = curl_multi_poll(r->multi, &wfd, 1, timeout_ms, NULL);
        if (mc != CURLM_OK && !(mc == CURLM_UNRECOVERABLE_POLL && errno == EINTR)) {
            note_error(st, curl_multi_strerror(mc));
            rc = -EIO;
            cut_off(r);
            break;
        }
        /* Clear a fired timer (non-blocking; it is re-armed every turn). */
        uint64_t expirations;
        if (wfd.revents)
            (void)!read(tfd, &expirations, sizeof(expirations));
    }

    int64_t last = r->last_answer_ns > send_end ? r->last_answer_ns : send_end;
    st->elapsed_ns = last - start;
    if (st->aborted)
        return -ECONNREFUSED;
    return rc;
}

int loadgen_run(const loadgen_config_t *cfg, loadgen_stats_t *st)
{
    loadgen_stats_init(st);
    if (!cfg->url || !cfg->body || cfg->duration_ns <= 0 || cfg->rate < 0 || cfg->connections < 1 ||
        cfg->connections > LOADGEN_MAX_CONNECTIONS)
        return -EINVAL;
    pthread_once(&global_once, global_init);
    if (global_rc != CURLE_OK)
        return -ENOMEM;

    loadgen_config_t c = *cfg;
    if (c.timeout_ns <= 0)
        c.timeout_ns = 10 * SEC;
    run_t r = {.cfg = &c, .st = st, .rng = cfg->seed};
    int rc = -ENOMEM, tfd = -1;
    r.slots = xcalloc((size_t)c.connections, sizeof(*r.slots));
    r.idle = xcalloc((size_t)c.connections, sizeof(*r.idle));
    r.headers = curl_slist_append(NULL, "Content-Type: application/json");
    r.headers = curl_slist_append(r.headers, "Expect:");
    if (!r.headers || !(r.multi = curl_multi_init()))
        goto out;
    curl_multi_setopt(r.multi, CURLMOPT_MAXCONNECTS, (long)c.connections);
    curl_multi_setopt(r.multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)c.connections);
    for (int i = 0; i < c.connections; i++) {
        if (slot_setup(&r, &r.slots[i]) != 0)
            goto out;
        r.idle[r.nidle++] = &r.slots[i];
    }
    if ((tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)) < 0) {
        rc = -errno;
        goto out;
    }
    rc = run_loop(&r, tfd);

out:
    if (tfd >= 0)
        close(tfd);
    for (int i = 0; i < c.connections; i++) {
        if (r.slots[i].easy) {
            if (r.multi)
                curl_multi_remove_handle(r.multi, r.slots[i].easy);
            curl_easy_cleanup(r.slots[i].easy);
        }
        buf_destroy(&r.slots[i].body);
    }
    if (r.multi)
        curl_multi_cleanup(r.multi);
    curl_slist_free_all(r.headers);
    free(r.slots);
    free(r.idle);
    return rc;
}
