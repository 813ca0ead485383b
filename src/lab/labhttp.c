/* See labhttp.h. We bind the socket ourselves (port 0 works and the bound
 * port is known) and hand it to libmicrohttpd, which names its internal
 * thread "MHD-single". Bodies are built in a buf_t and handed over with
 * MHD_RESPMEM_MUST_FREE. */

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
#include "common/xalloc.h"
#include "cprof/heap.h"
#include "lab/labmetrics.h"

struct labhttp {
    struct MHD_Daemon *daemon;
    int fd;
    char title[64];
};

static enum MHD_Result send_buf(struct MHD_Connection *c, unsigned status, buf_t *b,
                                const char *type)
{
    size_t len;
    char *data = buf_steal(b, &len);
    struct MHD_Response *r = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result send_text(struct MHD_Connection *c, unsigned status, const char *text)
{
    buf_t b;
    buf_init(&b, strlen(text) + 1);
    buf_puts(&b, text);
    return send_buf(c, status, &b, "text/plain; charset=utf-8");
}

static enum MHD_Result serve_index(labhttp_t *h, struct MHD_Connection *c)
{
    buf_t b;
    buf_init(&b, 1024);
    buf_printf(&b,
               "<!doctype html><html><head><meta charset=\"utf-8\"><title>%s</title></head>"
               "<body><h1>%s</h1><ul>"
               "<li><a href=\"/metrics\">/metrics</a> (Prometheus)</li>"
               "<li><a href=\"/debug/pprof/\">/debug/pprof/</a> (profiles)</li>"
               "</ul></body></html>\n",
               h->title, h->title);
    return send_buf(c, 200, &b, "text/html; charset=utf-8");
}

static enum MHD_Result add_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                               const char *value)
{
    (void)kind;
    buf_t *q = cls;
    if (q->len)
        buf_putc(q, '&');
    buf_puts(q, key);
    buf_putc(q, '=');
    buf_puts(q, value ? value : "");
    return MHD_YES;
}

/* The profiling paths, through cprof's handlers. */
static enum MHD_Result serve_profile(struct MHD_Connection *c, const char *url)
{
    buf_t q;
    buf_init(&q, 64);
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, add_arg, &q);
    char *data = NULL;
    size_t len = 0;
    FILE *body = open_memstream(&data, &len);
    if (!body) {
        buf_destroy(&q);
        return send_text(c, 500, "out of memory\n");
    }
    cprof_heap_reply_t reply = {0};
    bool served = cprof_heap_http(url, q.data ? q.data : "", body, &reply);
    fclose(body);
    buf_destroy(&q);
    if (!served) {
        free(data);
        return send_text(c, 404,
                         "not found (this build serves /debug/pprof/heap, /allocs, "
                         "/profile/memory, /profile/gc)\n");
    }
    struct MHD_Response *r = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, reply.content_type);
    if (reply.disposition[0])
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_DISPOSITION, reply.disposition);
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)reply.status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    (void)version, (void)upload;
    labhttp_t *h = cls;
    if (!*con_cls) { /* first call: headers only */
        *con_cls = h;
        return MHD_YES;
    }
    if (*upload_size) { /* no route takes a body */
        *upload_size = 0;
        return MHD_YES;
    }
    bool get = !strcmp(method, "GET") || !strcmp(method, "HEAD");
    if (!strcmp(url, "/metrics")) {
        if (!get)
            return send_text(c, 405, "method not allowed\n");
        buf_t b;
        buf_init(&b, 8192);
        metrics_render(labm_registry(), &b);
        return send_buf(c, 200, &b, METRICS_CONTENT_TYPE);
    }
    if (!strncmp(url, "/debug/pprof", 12) || !strncmp(url, "/profile/", 9))
        return serve_profile(c, url);
    if (!strcmp(url, "/"))
        return get ? serve_index(h, c) : send_text(c, 405, "method not allowed\n");
    return send_text(c, 404, "not found\n");
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

labhttp_t *labhttp_start(const char *addr, const char *title, int *port, char *err, size_t errlen)
{
    int fd = bind_addr(addr, port, err, errlen);
    if (fd < 0)
        return NULL;
    labhttp_t *h = xcalloc(1, sizeof(*h));
    h->fd = fd;
    snprintf(h->title, sizeof(h->title), "%s", title);
    h->daemon =
        MHD_start_daemon(MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME, 0, NULL, NULL,
                         on_request, h, MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_LIMIT,
                         64U, MHD_OPTION_CONNECTION_TIMEOUT, 120U, MHD_OPTION_END);
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
    MHD_stop_daemon(h->daemon);
    close(h->fd);
    free(h);
}
