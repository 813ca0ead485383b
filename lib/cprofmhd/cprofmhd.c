/* See cprofmhd.h.
 *
 * A request is handed to cprof_http_serve on its first call. A response
 * that is ready at once is queued at once. A pending one (a CPU profile of
 * N seconds) suspends the connection, so the daemon's threads keep serving
 * everything else; the cprof-http thread that completes the response calls
 * on_ready, which resumes the connection; MHD then calls the handler again
 * for the same request, and the finished response is queued.
 *
 * Lifetime: the per-request state (*ctx) is freed in
 * cprofmhd_request_done; the ready callback only gets the connection, which
 * MHD keeps while it is suspended, never that state. */

#include "cprofmhd/cprofmhd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cprof/http.h"

typedef struct preq {
    cprof_http_response_t *resp;
} preq_t;

/* The query string rebuilt from MHD's parsed arguments (MHD does not keep
 * the raw one). */
typedef struct qbuf {
    char *s;
    size_t len, cap;
    bool oom;
} qbuf_t;

static void qput(qbuf_t *q, const char *p, size_t n)
{
    if (q->oom)
        return;
    if (q->len + n + 1 > q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 128;
        while (cap < q->len + n + 1)
            cap *= 2;
        char *s = realloc(q->s, cap);
        if (!s) {
            q->oom = true;
            return;
        }
        q->s = s;
        q->cap = cap;
    }
    memcpy(q->s + q->len, p, n);
    q->len += n;
    q->s[q->len] = '\0';
}

/* %-escapes what would change the meaning of a query string. */
static void qput_escaped(qbuf_t *q, const char *s)
{
    for (; s && *s; s++) {
        char e[4];
        if (*s == '&' || *s == '=' || *s == '%' || *s == '+' || *s == ';' || *s == '#' ||
            (unsigned char)*s < 0x20) {
            snprintf(e, sizeof(e), "%%%02X", (unsigned char)*s);
            qput(q, e, 3);
        } else {
            qput(q, s, 1);
        }
    }
}

static enum MHD_Result add_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                               const char *value)
{
    (void)kind;
    qbuf_t *q = cls;
    if (q->len)
        qput(q, "&", 1);
    qput_escaped(q, key);
    if (value) {
        qput(q, "=", 1);
        qput_escaped(q, value);
    }
    return MHD_YES;
}

static void on_ready(void *arg) { MHD_resume_connection(arg); }

static enum MHD_Result send_text(struct MHD_Connection *c, unsigned status, const char *msg)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(msg), (void *)msg, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result send_response(struct MHD_Connection *c, cprof_http_response_t *resp)
{
    size_t len;
    void *body = cprof_http_response_take_body(resp, &len);
    if (!body)
        return send_text(c, 500, "out of memory\n");
    struct MHD_Response *r = MHD_create_response_from_buffer_with_free_callback(len, body, free);
    if (!r) {
        free(body);
        return MHD_NO;
    }
    const cprof_http_header_t *h;
    size_t n = cprof_http_response_headers(resp, &h);
    for (size_t i = 0; i < n; i++)
        MHD_add_response_header(r, h[i].name, h[i].value);
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)cprof_http_response_status(resp), r);
    MHD_destroy_response(r);
    return ret;
}

bool cprofmhd_owns(const char *url)
{
    return strncmp(url, "/debug/pprof", 12) == 0 || strncmp(url, "/profile/", 9) == 0;
}

enum MHD_Result cprofmhd_handle(struct MHD_Connection *c, const char *method, const char *url,
                                const void *body, size_t body_len, void **ctx)
{
    preq_t *a = *ctx;
    if (a) /* resumed: the response is ready now */
        return send_response(c, a->resp);
    a = calloc(1, sizeof(*a));
    if (!a)
        return send_text(c, 500, "out of memory\n");
    *ctx = a;
    qbuf_t q = {0};
    qput(&q, "", 0);
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, add_arg, &q);
    int rc =
        q.oom ? -ENOMEM
              : cprof_http_serve(method, url, q.s ? q.s : "", body ? body : "", body_len, &a->resp);
    free(q.s);
    if (rc != 0) {
        cprof_http_response_free(a->resp);
        a->resp = NULL;
        return send_text(c, 500, "out of memory\n");
    }
    if (cprof_http_response_ready(a->resp))
        return send_response(c, a->resp);
    MHD_suspend_connection(c);
    cprof_http_response_on_ready(a->resp, on_ready, c);
    return MHD_YES;
}

void cprofmhd_request_done(void *ctx)
{
    preq_t *a = ctx;
    if (!a)
        return;
    cprof_http_response_free(a->resp);
    free(a);
}
