/* HTTP listeners and the order API on libmicrohttpd.
 *
 * Each listener is an MHD daemon with its internal epoll thread(s) and
 * suspend/resume (for long profiles). We bind the socket ourselves so port 0
 * works and the bound port can be reported. A request's body is gathered
 * into a per-request buffer (req_t, in MHD's con_cls); a Content-Length over
 * 64 KiB is refused with 413 before the body is read, a chunked body is
 * refused once it passes the limit. The route runs once the body is
 * complete.
 *
 * POST /orders: parse -> store_insert (409 on duplicate) -> render the 201
 * body -> queue_push. The body is rendered before the push because once the
 * order is queued a worker may process it and the store may evict and free
 * it. A full queue removes the order again and answers 503 with
 * Retry-After: nothing is acknowledged that is not queued. */

#include "orderd/api.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/webassets.h"
#include "common/xalloc.h"
#include "cprof/http.h"
#include "cprof/trace.h"
#include "orderd/admin.h"
#include "orderd/leakwatch.h"
#include "orderd/live.h"
#include "orderd/prom.h"

typedef struct listener {
    api_t *api;
    bool admin;    /* the --admin-listen listener */
    bool loopback; /* bound to a loopback address */
    struct MHD_Daemon *daemon;
    int fd;
} listener_t;

struct api {
    app_t *app;
    listener_t main, admin;
};

typedef struct req {
    buf_t body;
    bool too_large;
    void *admin_ctx;
    bool admin_used;
} req_t;

/* ---- responses ----------------------------------------------------------- */

static enum MHD_Result send_buf(struct MHD_Connection *c, unsigned status, buf_t *b,
                                const char *type, const char *const *headers)
{
    size_t len;
    char *data = buf_steal(b, &len);
    struct MHD_Response *r = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    for (int i = 0; headers && headers[i]; i += 2)
        MHD_add_response_header(r, headers[i], headers[i + 1]);
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result send_error(struct MHD_Connection *c, unsigned status, const char *msg,
                                  const char *field, const char *const *headers)
{
    buf_t b;
    buf_init(&b, 128);
    buf_puts(&b, "{\"error\":");
    buf_json_str(&b, msg);
    if (field) {
        buf_puts(&b, ",\"field\":");
        buf_json_str(&b, field);
    }
    buf_puts(&b, "}\n");
    return send_buf(c, status, &b, "application/json", headers);
}

static enum MHD_Result send_405(struct MHD_Connection *c, const char *allow)
{
    const char *h[] = {MHD_HTTP_HEADER_ALLOW, allow, NULL};
    char msg[96];
    snprintf(msg, sizeof(msg), "method not allowed; allowed: %s", allow);
    return send_error(c, 405, msg, NULL, h);
}

static const char *const retry_after[] = {MHD_HTTP_HEADER_RETRY_AFTER, "1", NULL};

/* ---- routes -------------------------------------------------------------- */

static enum MHD_Result post_order(app_t *app, struct MHD_Connection *c, req_t *rq)
{
    stats_t *st = &app->stats;
    if (app_shutting_down(app)) {
        stats_add(&st->rejected[STATS_REJECT_SHUTDOWN], 1);
        return send_error(c, 503, "shutting down; not accepting orders", NULL, retry_after);
    }
    order_error_t err;
    order_t *o = order_parse(rq->body.data ? rq->body.data : "", rq->body.len, &err);
    if (!o) {
        stats_add(&st->rejected[STATS_REJECT_INVALID], 1);
        return send_error(c, 400, err.error, err.field, NULL);
    }
    if (store_insert(app->store, o) != 0) {
        char msg[ORDER_ID_MAX + 64];
        snprintf(msg, sizeof(msg), "an order with id '%s' already exists", o->id);
        order_free(o);
        stats_add(&st->rejected[STATS_REJECT_DUPLICATE], 1);
        return send_error(c, 409, msg, "id", NULL);
    }
    buf_t b;
    buf_init(&b, 512);
    order_to_json(o, &b);
    buf_putc(&b, '\n');
    int prio = o->priority;
    o->accepted_mono_ns = clock_mono_ns();
    /* Execution trace: the order's flow to its worker, and its queue wait. */
    o->trace_id = cprof_trace_flow_start("order");
    cprof_trace_async_begin("queue wait", o->trace_id);
    int rc = queue_push(app->queue, o);
    if (rc != 0) {
        store_remove(app->store, o);
        order_free(o);
        buf_destroy(&b);
        bool full = rc == -EAGAIN;
        stats_add(&st->rejected[full ? STATS_REJECT_FULL : STATS_REJECT_SHUTDOWN], 1);
        return send_error(
            c, 503, full ? "queue is full; retry later" : "shutting down; not accepting orders",
            NULL, retry_after);
    }
    stats_add(&st->accepted[prio - 1], 1);
    return send_buf(c, 201, &b, "application/json", NULL);
}

static enum MHD_Result get_order(app_t *app, struct MHD_Connection *c, const char *id)
{
    buf_t b;
    buf_init(&b, 1024);
    if (store_render(app->store, id, &b) != 0) {
        buf_destroy(&b);
        return send_error(c, 404, "order not found", "id", NULL);
    }
    buf_putc(&b, '\n');
    return send_buf(c, 200, &b, "application/json", NULL);
}

static void json_quantiles(buf_t *b, const hist_t *h)
{
    buf_puts(b, "{\"p50\":");
    buf_json_f64(b, (double)hist_quantile(h, 0.50) / 1e6, 3);
    buf_puts(b, ",\"p90\":");
    buf_json_f64(b, (double)hist_quantile(h, 0.90) / 1e6, 3);
    buf_puts(b, ",\"p99\":");
    buf_json_f64(b, (double)hist_quantile(h, 0.99) / 1e6, 3);
    buf_puts(b, ",\"p999\":");
    buf_json_f64(b, (double)hist_quantile(h, 0.999) / 1e6, 3);
    buf_puts(b, ",\"max\":");
    buf_json_f64(b, (double)h->max / 1e6, 3);
    buf_putc(b, '}');
}

static enum MHD_Result get_stats(app_t *app, struct MHD_Connection *c)
{
    stats_t *st = &app->stats;
    hist_t *proc = xmalloc(sizeof(hist_t)), *lat = xmalloc(sizeof(hist_t));
    hist_t *wait = xmalloc(sizeof(hist_t)), *one = xmalloc(sizeof(hist_t));
    hist_init(proc);
    hist_init(lat);
    hist_init(wait);
    uint64_t success = 0, errors = 0;
    for (int p = 0; p < 3; p++) {
        success += stats_get(&st->processed[p][0]);
        errors += stats_get(&st->processed[p][1]);
        hist_snapshot(&st->processing[p], one);
        hist_merge(proc, one);
        hist_snapshot(&st->latency[p], one);
        hist_merge(lat, one);
        hist_snapshot(&st->queue_wait[p], one);
        hist_merge(wait, one);
    }
    buf_t b;
    buf_init(&b, 2048);
    buf_printf(&b, "{\"total_processed\":%llu,\"success_count\":%llu,\"error_count\":%llu,",
               (unsigned long long)(success + errors), (unsigned long long)success,
               (unsigned long long)errors);
    buf_puts(&b, "\"average_process_time_ms\":");
    buf_json_f64(&b, hist_mean(proc) / 1e6, 3);
    buf_printf(&b, ",\"active_workers\":%lld,\"workers\":%d,\"queue_length\":%zu,",
               (long long)__atomic_load_n(&st->active_workers, __ATOMIC_RELAXED), app->cfg.workers,
               queue_length(app->queue, 0));
    buf_puts(&b, "\"uptime_seconds\":");
    buf_json_f64(&b, (double)(clock_mono_ns() - st->start_mono_ns) / 1e9, 3);
    buf_printf(&b, ",\"queue_capacity\":%zu,\"paused\":%s,\"aged\":%llu,\"in_flight\":%llu,",
               queue_capacity(app->queue), queue_paused(app->queue) ? "true" : "false",
               (unsigned long long)queue_aged(app->queue),
               (unsigned long long)pool_in_flight(app->pool));
    buf_printf(&b, "\"accepted\":%llu,\"rejected\":%llu,\"rejected_by_reason\":{",
               (unsigned long long)stats_total_accepted(st),
               (unsigned long long)stats_total_rejected(st));
    for (int r = 0; r < STATS_REJECT_N; r++)
        buf_printf(&b, "%s\"%s\":%llu", r ? "," : "", stats_reject_names[r],
                   (unsigned long long)stats_get(&st->rejected[r]));
    buf_puts(&b, "},\"by_priority\":{");
    for (int p = 0; p < 3; p++) {
        hist_snapshot(&st->latency[p], one);
        buf_printf(
            &b,
            "%s\"%d\":{\"accepted\":%llu,\"processed\":%llu,\"success\":%llu,"
            "\"error\":%llu,\"queue_length\":%zu,\"latency_ms\":",
            p ? "," : "", p + 1, (unsigned long long)stats_get(&st->accepted[p]),
            (unsigned long long)(stats_get(&st->processed[p][0]) + stats_get(&st->processed[p][1])),
            (unsigned long long)stats_get(&st->processed[p][0]),
            (unsigned long long)stats_get(&st->processed[p][1]), queue_length(app->queue, p + 1));
        json_quantiles(&b, one);
        buf_putc(&b, '}');
    }
    buf_puts(&b, "},\"latency_ms\":");
    json_quantiles(&b, lat);
    buf_puts(&b, ",\"queue_wait_ms\":");
    json_quantiles(&b, wait);
    buf_puts(&b, ",\"processing_ms\":");
    json_quantiles(&b, proc);
    hist_snapshot(&st->handoff, one);
    buf_puts(&b, ",\"result_handoff_ms\":");
    json_quantiles(&b, one);
    buf_puts(&b, "}\n");
    free(proc), free(lat), free(wait), free(one);
    return send_buf(c, 200, &b, "application/json", NULL);
}

static enum MHD_Result get_health(app_t *app, struct MHD_Connection *c)
{
    stats_t *st = &app->stats;
    int64_t now = clock_mono_ns();
    size_t qlen = queue_length(app->queue, 0), cap = queue_capacity(app->queue);
    bool full = qlen >= cap, down = app_shutting_down(app), stalled = false;
    if (qlen > 0 && app->cfg.stall_timeout_ns > 0) {
        int64_t last = __atomic_load_n(&st->last_progress_mono_ns, __ATOMIC_RELAXED);
        int64_t oldest = queue_oldest_ns(app->queue);
        stalled = now - last > app->cfg.stall_timeout_ns && oldest &&
                  now - oldest > app->cfg.stall_timeout_ns;
    }
    char leaks[128];
    int nleaks = leakwatch_suspects(leaks, sizeof(leaks));
    bool healthy = !full && !down && !stalled;
    char ts[40];
    clock_format_rfc3339(clock_wall_ns(), ts, sizeof(ts));
    buf_t b;
    buf_init(&b, 512);
    buf_printf(&b, "{\"status\":\"%s\",\"timestamp\":\"%s\",\"uptime_seconds\":",
               healthy ? "healthy" : "unhealthy", ts);
    buf_json_f64(&b, (double)(now - st->start_mono_ns) / 1e9, 3);
    buf_printf(&b,
               ",\"workers\":%d,\"active_workers\":%lld,\"queue_length\":%zu,"
               "\"queue_capacity\":%zu,\"checks\":{\"queue\":\"%s\",\"shutdown\":\"%s\","
               "\"workers\":\"%s\",\"leaks\":",
               app->cfg.workers, (long long)__atomic_load_n(&st->active_workers, __ATOMIC_RELAXED),
               qlen, cap, full ? "full" : "ok", down ? "draining" : "ok",
               stalled                    ? "stalled"
               : queue_paused(app->queue) ? "paused"
                                          : "ok");
    if (nleaks) {
        char msg[160];
        snprintf(msg, sizeof(msg), "suspected: %s", leaks);
        buf_json_str(&b, msg);
    } else {
        buf_puts(&b, "\"ok\"");
    }
    buf_puts(&b, "}}\n");
    return send_buf(c, healthy ? 200 : 503, &b, "application/json", NULL);
}

/* The dashboard's data (orderd/live.h); profiling tells the page whether
 * this listener serves /debug/pprof. */
static enum MHD_Result get_live(struct MHD_Connection *c, bool profiling)
{
    static const char *const no_store[] = {MHD_HTTP_HEADER_CACHE_CONTROL, "no-store", NULL};
    buf_t b;
    buf_init(&b, 16384);
    live_render(MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "since"), profiling, &b);
    buf_putc(&b, '\n');
    return send_buf(c, 200, &b, "application/json", no_store);
}

static enum MHD_Result set_paused(app_t *app, struct MHD_Connection *c, bool paused)
{
    queue_set_paused(app->queue, paused);
    log_info("workers %s", paused ? "paused" : "resumed");
    buf_t b;
    buf_init(&b, 64);
    buf_printf(&b, "{\"paused\":%s}\n", queue_paused(app->queue) ? "true" : "false");
    return send_buf(c, 200, &b, "application/json", NULL);
}

static bool is(const char *method, const char *m) { return strcmp(method, m) == 0; }

static enum MHD_Result route(listener_t *l, struct MHD_Connection *c, const char *url,
                             const char *method, req_t *rq)
{
    app_t *app = l->api->app;
    bool get = is(method, "GET") || is(method, "HEAD");
    /* Internals are served on the admin listener, and on the API listener
     * only while it is bound to loopback. */
    bool internals = l->admin || (l->loopback && app->cfg.profiling);

    if (!l->admin) {
        if (strcmp(url, "/orders") == 0 && is(method, "POST")) {
            int64_t span = cprof_trace_begin();
            enum MHD_Result r = post_order(app, c, rq);
            cprof_trace_end(span, "POST /orders", NULL, 0);
            return r;
        }
        if (strcmp(url, "/orders") == 0)
            return send_405(c, "POST");
        if (strncmp(url, "/orders/", 8) == 0 && url[8] && get) {
            int64_t span = cprof_trace_begin();
            enum MHD_Result r = get_order(app, c, url + 8);
            cprof_trace_end(span, "GET /orders/{id}", NULL, 0);
            return r;
        }
        if (strncmp(url, "/orders/", 8) == 0 && url[8])
            return send_405(c, "GET, HEAD");
    }
    /* The dashboard (/, /ui/...), speedscope (/debug/pprof/ui/) and the
     * dashboard's data, on both listeners: the pages are static, and the
     * data is aggregate like /stats. */
    if (strcmp(url, "/api/live") == 0)
        return get ? get_live(c, internals) : send_405(c, "GET, HEAD");
    if (webassets_owns(url))
        return webassets_respond(c, method, url);
    if (strcmp(url, "/stats") == 0)
        return get ? get_stats(app, c) : send_405(c, "GET, HEAD");
    if (strcmp(url, "/health") == 0)
        return get ? get_health(app, c) : send_405(c, "GET, HEAD");
    if (internals) {
        if (strcmp(url, "/metrics") == 0) {
            if (!get)
                return send_405(c, "GET, HEAD");
            buf_t b;
            buf_init(&b, 16384);
            prom_render(app, &b);
            return send_buf(c, 200, &b, "text/plain; version=0.0.4; charset=utf-8", NULL);
        }
        if (strcmp(url, "/debug/workers/pause") == 0 || strcmp(url, "/debug/workers/resume") == 0)
            return is(method, "POST") ? set_paused(app, c, url[15] == 'p') : send_405(c, "POST");
        if (admin_owns(url)) {
            rq->admin_used = true;
            return admin_handle(app, c, method, url, rq->body.data ? rq->body.data : "",
                                rq->body.len, &rq->admin_ctx);
        }
    }
    return send_error(c, 404, "not found", NULL, NULL);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    (void)version;
    listener_t *l = cls;
    req_t *rq = *con_cls;
    if (!rq) {
        rq = xcalloc(1, sizeof(*rq));
        *con_cls = rq;
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
        if (cl && strtoull(cl, NULL, 10) > ORDER_MAX_BODY) {
            stats_add(&l->api->app->stats.rejected[STATS_REJECT_TOO_LARGE], 1);
            return send_error(c, 413, "request body is larger than 64 KiB", NULL, NULL);
        }
        return MHD_YES;
    }
    if (*upload_size) {
        if (!rq->too_large && rq->body.len + *upload_size <= ORDER_MAX_BODY)
            buf_append(&rq->body, upload, *upload_size);
        else
            rq->too_large = true;
        *upload_size = 0;
        return MHD_YES;
    }
    if (rq->too_large) {
        stats_add(&l->api->app->stats.rejected[STATS_REJECT_TOO_LARGE], 1);
        return send_error(c, 413, "request body is larger than 64 KiB", NULL, NULL);
    }
    return route(l, c, url, method, rq);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls, (void)c, (void)toe;
    req_t *rq = *con_cls;
    if (!rq)
        return;
    if (rq->admin_used)
        admin_request_done(rq->admin_ctx);
    buf_destroy(&rq->body);
    free(rq);
    *con_cls = NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    size_t n = strlen(msg);
    while (n && msg[n - 1] == '\n')
        msg[--n] = '\0';
    log_warn("http: %s", msg);
}

/* ---- listeners ----------------------------------------------------------- */

static int bind_listener(const char *addr, listener_t *l, int *port, char *err, size_t errlen)
{
    char host[128];
    const char *colon = strrchr(addr, ':');
    if (!colon || colon == addr || (size_t)(colon - addr) >= sizeof(host)) {
        snprintf(err, errlen, "listen address '%s' must be host:port", addr);
        return -EINVAL;
    }
    memcpy(host, addr, (size_t)(colon - addr));
    host[colon - addr] = '\0';
    if (host[0] == '[' && host[strlen(host) - 1] == ']') {
        memmove(host, host + 1, strlen(host));
        host[strlen(host) - 1] = '\0';
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    int gai = getaddrinfo(host, colon + 1, &hints, &res);
    if (gai != 0) {
        snprintf(err, errlen, "listen address '%s': %s", addr, gai_strerror(gai));
        return -EINVAL;
    }
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd >= 0)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (fd < 0 || bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, 1024) != 0) {
        snprintf(err, errlen, "cannot listen on %s: %s", addr, strerror(errno));
        if (fd >= 0)
            close(fd);
        freeaddrinfo(res);
        return -errno;
    }
    freeaddrinfo(res);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    getsockname(fd, (struct sockaddr *)&ss, &sl);
    if (ss.ss_family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)&ss;
        *port = ntohs(in->sin_port);
        l->loopback = (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    } else {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
        *port = ntohs(in6->sin6_port);
        l->loopback = IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
    }
    l->fd = fd;
    return 0;
}

static int start_listener(api_t *api, listener_t *l, const char *addr, bool admin, int *port,
                          char *err, size_t errlen)
{
    const config_t *cfg = &api->app->cfg;
    l->api = api;
    l->admin = admin;
    int rc = bind_listener(addr, l, port, err, errlen);
    if (rc)
        return rc;
    unsigned threads = admin ? 1 : (unsigned)cfg->http_threads;
    unsigned timeout = (unsigned)(cfg->conn_timeout_ns / 1000000000);
    l->daemon = MHD_start_daemon(
        MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG, 0, NULL, NULL,
        on_request, l, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL, MHD_OPTION_LISTEN_SOCKET,
        l->fd, MHD_OPTION_CONNECTION_LIMIT, (unsigned)cfg->max_connections,
        MHD_OPTION_CONNECTION_TIMEOUT, timeout ? timeout : 1, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)64 * 1024, MHD_OPTION_NOTIFY_COMPLETED, on_completed, l,
        /* A pool of one is MHD's single internal thread, and MHD warns
         * about a pool size of 0: the option is left out (the list ends). */
        threads > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END, threads, MHD_OPTION_END);
    if (!l->daemon) {
        snprintf(err, errlen, "cannot start the HTTP server on %s", addr);
        close(l->fd);
        return -EIO;
    }
    return 0;
}

api_t *api_start(app_t *app, int *port, int *admin_port, char *err, size_t errlen)
{
    api_t *api = xcalloc(1, sizeof(*api));
    api->app = app;
    *admin_port = 0;
    cprof_http_set_flamegraph_viewer(WEBASSETS_FLAMEGRAPH); /* served below, on every listener */
    if (start_listener(api, &api->main, app->cfg.listen, false, port, err, errlen) != 0)
        goto fail;
    app->api_loopback = api->main.loopback;
    if (app->cfg.admin_listen[0] && start_listener(api, &api->admin, app->cfg.admin_listen, true,
                                                   admin_port, err, errlen) != 0) {
        MHD_stop_daemon(api->main.daemon);
        close(api->main.fd);
        goto fail;
    }
    return api;
fail:
    free(api);
    return NULL;
}

void api_stop(api_t *api)
{
    if (!api)
        return;
    listener_t *ls[] = {&api->main, &api->admin};
    for (int i = 0; i < 2; i++) {
        if (!ls[i]->daemon)
            continue;
        MHD_stop_daemon(ls[i]->daemon);
        close(ls[i]->fd);
    }
    free(api);
}
