/* See labhttp.h. We bind the socket ourselves (port 0 works and the bound
 * port is known) and hand it to libmicrohttpd, which names its internal
 * thread "MHD-single".
 *
 * Routes: /metrics from the lab's registry; /api/live from lab/lablive;
 * the dashboard and speedscope from the embedded assets (common/webassets);
 * /debug/pprof/... and the seed's /profile/... through cprofmhd, the same
 * glue and so the same set of profiles as orderd, with long profiles on a
 * suspended connection (the daemon allows suspend/resume). Each request
 * keeps a small state from MHD's first call (headers only) to its
 * completion callback, where cprofmhd's per-request state is freed. Only
 * the profile paths take a body (POST /debug/pprof/symbol, as in Go), up to
 * MAX_BODY; other uploads are discarded. */

#include "lab/labhttp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/webassets.h"
#include "common/xalloc.h"
#include "cprof/http.h"
#include "cprofmhd/cprofmhd.h"
#include "lab/lablive.h"
#include "lab/labmetrics.h"

struct labhttp {
    struct MHD_Daemon *daemon;
    int fd;
};

#define MAX_BODY (64 * 1024)

typedef struct lreq {
    void *prof;     /* cprofmhd's state, for profile paths */
    buf_t body;     /* a profile path's request body */
    bool too_large; /* the body exceeded MAX_BODY */
} lreq_t;

/* Sends b (its memory is handed to MHD). JSON is never cached; allow, when
 * not NULL, is the Allow header of a 405. */
static enum MHD_Result send_buf(struct MHD_Connection *c, unsigned status, buf_t *b,
                                const char *type, const char *allow)
{
    size_t len;
    char *data = buf_steal(b, &len);
    struct MHD_Response *r = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(data);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    if (!strcmp(type, "application/json"))
        MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (allow)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result send_text(struct MHD_Connection *c, unsigned status, const char *text,
                                 const char *allow)
{
    buf_t b;
    buf_init(&b, strlen(text) + 1);
    buf_puts(&b, text);
    return send_buf(c, status, &b, "text/plain; charset=utf-8", allow);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    (void)cls, (void)version;
    lreq_t *rq = *con_cls;
    if (!rq) { /* first call: headers only */
        *con_cls = xcalloc(1, sizeof(*rq));
        return MHD_YES;
    }
    if (*upload_size) {
        if (cprofmhd_owns(url) && rq->body.len + *upload_size <= MAX_BODY)
            buf_append(&rq->body, upload, *upload_size);
        else if (cprofmhd_owns(url))
            rq->too_large = true;
        *upload_size = 0;
        return MHD_YES;
    }
    if (rq->too_large)
        return send_text(c, 413, "request body is larger than 64 KiB\n", NULL);
    bool get = !strcmp(method, "GET") || !strcmp(method, "HEAD");
    if (!strcmp(url, "/metrics")) {
        if (!get)
            return send_text(c, 405, "method not allowed\n", "GET, HEAD");
        buf_t b;
        buf_init(&b, 8192);
        metrics_render(labm_registry(), &b);
        return send_buf(c, 200, &b, METRICS_CONTENT_TYPE, NULL);
    }
    if (!strcmp(url, "/api/live")) {
        if (!get)
            return send_text(c, 405, "method not allowed\n", "GET, HEAD");
        buf_t b;
        buf_init(&b, 16384);
        lablive_render(MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "since"), &b);
        buf_putc(&b, '\n');
        return send_buf(c, 200, &b, "application/json", NULL);
    }
    /* Before cprofmhd: speedscope lives under /debug/pprof/ui/. */
    if (webassets_owns(url))
        return webassets_respond(c, method, url);
    if (cprofmhd_owns(url))
        return cprofmhd_handle(c, method, url, rq->body.data ? rq->body.data : "", rq->body.len,
                               &rq->prof);
    return send_text(c, 404, "not found\n", NULL);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls, (void)c, (void)toe;
    lreq_t *rq = *con_cls;
    if (!rq)
        return;
    cprofmhd_request_done(rq->prof);
    buf_destroy(&rq->body);
    free(rq);
    *con_cls = NULL;
}

static int bind_addr(const char *addr, int *port, char *err, size_t errlen)
{
    char host[128];
    const char *colon = strrchr(addr, ':');
    if (!colon || (size_t)(colon - addr) >= sizeof(host) || !colon[1]) {
        snprintf(err, errlen, "metrics address '%s' must be host:port or :port", addr);
        return -EINVAL;
    }
    /* ":PORT" binds loopback only: metrics and profiles reveal internals. */
    if (colon == addr)
        strcpy(host, "127.0.0.1");
    else {
        memcpy(host, addr, (size_t)(colon - addr));
        host[colon - addr] = '\0';
    }
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
        snprintf(err, errlen, "metrics address '%s': %s", addr, gai_strerror(gai));
        return -EINVAL;
    }
    int one = 1, rc = 0;
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (fd < 0 || bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, 128) != 0) {
        rc = -errno;
        snprintf(err, errlen, "cannot listen on %s: %s", addr, strerror(errno));
        if (fd >= 0)
            close(fd);
        goto out;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    getsockname(fd, (struct sockaddr *)&ss, &sl);
    *port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                          : ((struct sockaddr_in6 *)&ss)->sin6_port);
    rc = fd;
out:
    freeaddrinfo(res);
    return rc;
}

labhttp_t *labhttp_start(const char *addr, int *port, char *err, size_t errlen)
{
    int fd = bind_addr(addr, port, err, errlen);
    if (fd < 0)
        return NULL;
    labhttp_t *h = xcalloc(1, sizeof(*h));
    h->fd = fd;
    /* The profile index links each profile to speedscope, served here. */
    cprof_http_set_flamegraph_viewer(WEBASSETS_FLAMEGRAPH);
    h->daemon =
        MHD_start_daemon(MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME, 0, NULL, NULL,
                         on_request, h, MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_LIMIT,
                         64U, MHD_OPTION_CONNECTION_TIMEOUT, 120U, MHD_OPTION_NOTIFY_COMPLETED,
                         on_completed, h, MHD_OPTION_END);
    if (!h->daemon) {
        snprintf(err, errlen, "cannot start the HTTP server on %s", addr);
        close(fd);
        free(h);
        return NULL;
    }
    return h;
}

void labhttp_stop(labhttp_t *h)
{
    if (!h)
        return;
    /* Pending profiles answer now with what they collected, so that no
     * connection is left suspended when the daemon stops. */
    cprof_http_cancel_all(5000000000LL);
    MHD_stop_daemon(h->daemon);
    close(h->fd);
    free(h);
}
