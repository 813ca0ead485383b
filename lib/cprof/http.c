/* The /debug/pprof HTTP layer: dispatch, responses, deferred work, and the
 * small built-in endpoints (index, cmdline, symbol).
 *
 * Responses: a response is ready at once (most endpoints) or deferred:
 * cprof_http_defer starts a detached "cprof-http" thread that runs the
 * provider's work and then marks the response ready, writes its eventfd
 * and calls the server's ready callback. The response is reference
 * counted (server + worker), so a server may free a pending response (the
 * client went away): that cancels the work, whose sleeps return early, and
 * the worker frees it at the end. Every pending response is on a global
 * list so cprof_http_cancel_all can end them at server shutdown.
 *
 * Lock order: pending_mu before a response's mu. */

#include "cprof/http.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "cprof.h"
#include "cprof/http_int.h"

#define MAX_HEADERS 12
#define MAX_REGISTERED 64

struct cprof_http_response {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int status;
    cprof_http_header_t hdrs[MAX_HEADERS];
    size_t nhdrs;
    char *body;
    size_t len, cap;
    int refs;
    int efd;
    bool deferred, ready, canceled;
    void (*cb)(void *);
    void *cb_arg;
    struct cprof_http_response *next_pending;
    /* deferred work */
    int (*work)(cprof_http_response_t *, void *);
    void *work_arg;
};

static pthread_mutex_t pending_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pending_cv = PTHREAD_COND_INITIALIZER;
static cprof_http_response_t *pending;
static size_t npending;
static bool closing; /* cprof_http_cancel_all ran: new deferred work starts canceled */

static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static const cprof_http_provider_t *registered[MAX_REGISTERED];
static size_t nregistered;
static const char *flame_viewer; /* under reg_mu */

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- responses ------------------------------------------------------------ */

static cprof_http_response_t *response_new(void)
{
    cprof_http_response_t *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&r->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&r->mu, NULL);
    r->status = 200;
    r->refs = 1;
    r->efd = -1;
    r->ready = true;
    cprof_http_response_add_header(r, "X-Content-Type-Options", "nosniff");
    return r;
}

static void clear_headers(cprof_http_response_t *r)
{
    for (size_t i = 0; i < r->nhdrs; i++) {
        free((char *)r->hdrs[i].name);
        free((char *)r->hdrs[i].value);
    }
    r->nhdrs = 0;
}

static void destroy(cprof_http_response_t *r)
{
    clear_headers(r);
    free(r->body);
    if (r->efd >= 0)
        close(r->efd);
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cv);
    free(r);
}

static void unref(cprof_http_response_t *r)
{
    pthread_mutex_lock(&r->mu);
    bool last = --r->refs == 0;
    pthread_mutex_unlock(&r->mu);
    if (last)
        destroy(r);
}

void cprof_http_response_free(cprof_http_response_t *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->mu);
    r->canceled = true;
    r->cb = NULL; /* the server no longer wants to hear about it */
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    unref(r);
}

bool cprof_http_response_ready(const cprof_http_response_t *r)
{
    return __atomic_load_n(&r->ready, __ATOMIC_ACQUIRE);
}

int cprof_http_response_fd(cprof_http_response_t *r) { return r->efd; }

void cprof_http_response_on_ready(cprof_http_response_t *r, void (*cb)(void *arg), void *arg)
{
    pthread_mutex_lock(&r->mu);
    bool now = r->ready;
    if (!now) {
        r->cb = cb;
        r->cb_arg = arg;
    }
    pthread_mutex_unlock(&r->mu);
    if (now)
        cb(arg);
}

int cprof_http_response_status(const cprof_http_response_t *r) { return r->status; }

size_t cprof_http_response_headers(const cprof_http_response_t *r, const cprof_http_header_t **out)
{
    *out = r->hdrs;
    return r->nhdrs;
}

const char *cprof_http_response_header(const cprof_http_response_t *r, const char *name)
{
    for (size_t i = 0; i < r->nhdrs; i++)
        if (strcasecmp(r->hdrs[i].name, name) == 0)
            return r->hdrs[i].value;
    return NULL;
}

const void *cprof_http_response_body(const cprof_http_response_t *r, size_t *len)
{
    *len = r->len;
    return r->body ? r->body : "";
}

void *cprof_http_response_take_body(cprof_http_response_t *r, size_t *len)
{
    void *b = r->body;
    *len = r->len;
    if (!b)
        b = calloc(1, 1);
    r->body = NULL;
    r->len = r->cap = 0;
    return b;
}

void cprof_http_response_set_status(cprof_http_response_t *r, int status) { r->status = status; }

int cprof_http_response_add_header(cprof_http_response_t *r, const char *name, const char *value)
{
    for (size_t i = 0; i < r->nhdrs; i++) {
        if (strcasecmp(r->hdrs[i].name, name) == 0) {
            char *v = strdup(value);
            if (!v)
                return -ENOMEM;
            free((char *)r->hdrs[i].value);
            r->hdrs[i].value = v;
            return 0;
        }
    }
    if (r->nhdrs == MAX_HEADERS)
        return -ENOMEM;
    char *n = strdup(name), *v = strdup(value);
    if (!n || !v) {
        free(n);
        free(v);
        return -ENOMEM;
    }
    r->hdrs[r->nhdrs++] = (cprof_http_header_t){n, v};
    return 0;
}

void cprof_http_response_set_body(cprof_http_response_t *r, void *body, size_t len)
{
    free(r->body);
    r->body = body;
    r->len = r->cap = len;
}

/* Room for n more bytes and a NUL in the body (doubling). 0 or -ENOMEM. */
static int reserve(cprof_http_response_t *r, size_t n)
{
    if (r->len + n + 1 <= r->cap)
        return 0;
    size_t cap = r->cap ? r->cap : 256;
    while (cap < r->len + n + 1)
        cap *= 2;
    char *b = realloc(r->body, cap);
    if (!b)
        return -ENOMEM;
    r->body = b;
    r->cap = cap;
    return 0;
}

static int vappend(cprof_http_response_t *r, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return -EINVAL;
    if (reserve(r, (size_t)n) != 0)
        return -ENOMEM;
    vsnprintf(r->body + r->len, (size_t)n + 1, fmt, ap);
    r->len += (size_t)n;
    return 0;
}

int cprof_http_response_printf(cprof_http_response_t *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = vappend(r, fmt, ap);
    va_end(ap);
    return rc;
}

int cprof_http_response_error(cprof_http_response_t *r, int status, const char *fmt, ...)
{
    clear_headers(r);
    free(r->body);
    r->body = NULL;
    r->len = r->cap = 0;
    r->status = status;
    cprof_http_response_add_header(r, "X-Content-Type-Options", "nosniff");
    cprof_http_response_add_header(r, "Content-Type", "text/plain; charset=utf-8");
    cprof_http_response_add_header(r, "X-Go-Pprof", "1");
    va_list ap;
    va_start(ap, fmt);
    int rc = vappend(r, fmt, ap);
    va_end(ap);
    return rc ? rc : cprof_http_response_printf(r, "\n");
}

int cprof_http_response_attachment(cprof_http_response_t *r, const char *filename)
{
    char v[300];
    snprintf(v, sizeof(v), "attachment; filename=\"%s\"", filename);
    int rc = cprof_http_response_add_header(r, "Content-Type", "application/octet-stream");
    return rc ? rc : cprof_http_response_add_header(r, "Content-Disposition", v);
}

/* Runs write(arg, FILE *) into a text/plain body. */
int cprof__http_text_body(cprof_http_response_t *r, int (*write)(void *arg, FILE *f), void *arg)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return -ENOMEM;
    int rc = write(arg, f);
    if (fclose(f) != 0 && !rc)
        rc = -ENOMEM;
    if (rc) {
        free(text);
        return rc;
    }
    cprof_http_response_add_header(r, "Content-Type", "text/plain; charset=utf-8");
    cprof_http_response_set_body(r, text, len);
    return 0;
}

/* ---- deferred work ------------------------------------------------------- */

/* Takes r off the pending list and wakes cprof_http_cancel_all. */
static void pending_remove(cprof_http_response_t *r)
{
    pthread_mutex_lock(&pending_mu);
    for (cprof_http_response_t **p = &pending; *p; p = &(*p)->next_pending) {
        if (*p == r) {
            *p = r->next_pending;
            npending--;
            break;
        }
    }
    pthread_cond_broadcast(&pending_cv);
    pthread_mutex_unlock(&pending_mu);
}

static void *defer_main(void *arg)
{
    cprof_http_response_t *r = arg;
    pthread_setname_np(pthread_self(), "cprof-http");
    int rc = r->work(r, r->work_arg);
    if (rc < 0)
        cprof_http_response_error(r, 500, "%s", cprof_strerror(rc));

    pthread_mutex_lock(&r->mu);
    __atomic_store_n(&r->ready, true, __ATOMIC_RELEASE);
    void (*cb)(void *) = r->cb;
    void *cb_arg = r->cb_arg;
    r->cb = NULL;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    uint64_t one = 1;
    while (write(r->efd, &one, sizeof(one)) < 0 && errno == EINTR)
        ;
    if (cb)
        cb(cb_arg);
    /* Leaves the pending list only after the ready callback returned: once
     * cprof_http_cancel_all returns 0, every server has been told to resume. */
    pending_remove(r);
    unref(r);
    return NULL;
}

int cprof_http_defer(cprof_http_response_t *r, int (*work)(cprof_http_response_t *, void *),
                     void *arg)
{
    if (r->deferred)
        return -EINVAL;
    r->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (r->efd < 0)
        return -errno;
    r->work = work;
    r->work_arg = arg;
    r->deferred = true;
    r->ready = false;
    r->refs = 2;
    pthread_mutex_lock(&pending_mu);
    if (closing)
        r->canceled = true;
    r->next_pending = pending;
    pending = r;
    npending++;
    pthread_mutex_unlock(&pending_mu);

    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    pthread_t t;
    int rc = pthread_create(&t, &at, defer_main, r);
    pthread_attr_destroy(&at);
    if (rc == 0)
        return 0;
    pending_remove(r);
    close(r->efd);
    r->efd = -1;
    r->deferred = false;
    r->ready = true;
    r->refs = 1;
    return -rc;
}

bool cprof_http_response_canceled(const cprof_http_response_t *r)
{
    return __atomic_load_n(&r->canceled, __ATOMIC_ACQUIRE);
}

int cprof_http_response_sleep(cprof_http_response_t *r, int64_t ns)
{
    int64_t deadline = mono_ns() + ns;
    struct timespec ts = {.tv_sec = deadline / 1000000000, .tv_nsec = deadline % 1000000000};
    pthread_mutex_lock(&r->mu);
    while (!r->canceled && mono_ns() < deadline)
        pthread_cond_timedwait(&r->cv, &r->mu, &ts);
    bool canceled = r->canceled;
    pthread_mutex_unlock(&r->mu);
    return canceled ? -ECANCELED : 0;
}

int cprof_http_cancel_all(int64_t timeout_ns)
{
    int64_t deadline = mono_ns() + timeout_ns;
    struct timespec ts = {.tv_sec = deadline / 1000000000, .tv_nsec = deadline % 1000000000};
    pthread_mutex_lock(&pending_mu);
    closing = true;
    for (cprof_http_response_t *r = pending; r; r = r->next_pending) {
        pthread_mutex_lock(&r->mu);
        __atomic_store_n(&r->canceled, true, __ATOMIC_RELEASE);
        pthread_cond_broadcast(&r->cv);
        pthread_mutex_unlock(&r->mu);
    }
    /* pending_cv uses the default (realtime) clock: convert the deadline. */
    while (npending && mono_ns() < deadline) {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        int64_t left = deadline - mono_ns();
        int64_t step = left < 50000000 ? left : 50000000;
        int64_t t = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec + step;
        ts.tv_sec = t / 1000000000;
        ts.tv_nsec = t % 1000000000;
        pthread_cond_timedwait(&pending_cv, &pending_mu, &ts);
    }
    int left = (int)npending;
    pthread_mutex_unlock(&pending_mu);
    return left;
}

/* ---- query parameters ------------------------------------------------------- */

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* %-decodes [s, s+n) into out (NUL-terminated, truncated). */
static void unescape(const char *s, size_t n, char *out, size_t outlen)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 1 < outlen; i++) {
        if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
            out[o++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        } else {
            out[o++] = s[i] == '+' ? ' ' : s[i];
        }
    }
    if (outlen)
        out[o] = '\0';
}

int cprof_http_query_get(const char *query, const char *key, char *out, size_t outlen)
{
    size_t klen = strlen(key);
    const char *q = query ? query : "";
    while (*q) {
        size_t n = strcspn(q, "&;");
        const char *eq = memchr(q, '=', n);
        size_t kn = eq ? (size_t)(eq - q) : n;
        char k[64];
        unescape(q, kn, k, sizeof(k));
        if (strlen(k) == klen && memcmp(k, key, klen) == 0) {
            if (eq)
                unescape(eq + 1, n - kn - 1, out, outlen);
            else if (outlen)
                out[0] = '\0';
            return 1;
        }
        q += n;
        if (*q)
            q++;
    }
    return 0;
}

int cprof_http_parse_go_duration(const char *s, int64_t *ns)
{
    static const struct {
        const char *unit;
        double scale;
    } units[] = {{"ns", 1},   {"us", 1e3}, {"\xc2\xb5s", 1e3}, {"\xce\xbcs", 1e3},
                 {"ms", 1e6}, {"s", 1e9},  {"m", 60e9},        {"h", 3600e9}};
    const char *p = s;
    bool neg = false;
    if (*p == '-' || *p == '+')
        neg = *p++ == '-';
    if (strcmp(p, "0") == 0) {
        *ns = 0;
        return 0;
    }
    if (!*p)
        return -EINVAL;
    double total = 0;
    while (*p) {
        char *end;
        if (!((*p >= '0' && *p <= '9') || *p == '.'))
            return -EINVAL;
        double v = strtod(p, &end);
        if (end == p)
            return -EINVAL;
        p = end;
        size_t best = 0;
        double scale = 0;
        for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
            size_t ul = strlen(units[i].unit);
            if (strncmp(p, units[i].unit, ul) == 0 && ul > best) {
                best = ul;
                scale = units[i].scale;
            }
        }
        if (!best)
            return -EINVAL; /* Go requires a unit on every number */
        p += best;
        total += v * scale;
    }
    if (!isfinite(total) || total > 9.2e18)
        return -EINVAL;
    *ns = (int64_t)(neg ? -total : total);
    return 0;
}

int cprof_http_request_duration(const cprof_http_request_t *req, int64_t def_ns, int64_t max_ns,
                                int64_t *ns, char *err, size_t errlen)
{
    char v[64];
    *ns = def_ns;
    if (req->alias && cprof_http_query_get(req->query, "duration", v, sizeof(v))) {
        if (cprof_http_parse_go_duration(v, ns) != 0 || *ns <= 0) {
            snprintf(err, errlen, "invalid duration '%s': want a positive Go duration like 30s", v);
            return -EINVAL;
        }
    } else if (cprof_http_query_get(req->query, "seconds", v, sizeof(v))) {
        char *end;
        double s = strtod(v, &end);
        if (end == v || *end || !isfinite(s) || s <= 0) {
            snprintf(err, errlen, "invalid seconds '%s': want a positive number", v);
            return -EINVAL;
        }
        *ns = s * 1e9 > 9e18 ? INT64_MAX : (int64_t)(s * 1e9);
    }
    if (*ns > max_ns) {
        snprintf(err, errlen, "duration must be at most %lld seconds",
                 (long long)(max_ns / 1000000000));
        return -EINVAL;
    }
    return 0;
}

/* ---- providers --------------------------------------------------------------- */

int cprof_http_register(const cprof_http_provider_t *p)
{
    if (!p || !p->name || !p->serve)
        return -EINVAL;
    int rc = 0;
    pthread_mutex_lock(&reg_mu);
    size_t i = 0;
    while (i < nregistered && strcmp(registered[i]->name, p->name) != 0)
        i++;
    if (i < nregistered)
        registered[i] = p;
    else if (nregistered < MAX_REGISTERED)
        registered[nregistered++] = p;
    else
        rc = -ENOMEM;
    pthread_mutex_unlock(&reg_mu);
    return rc;
}

static const cprof_http_provider_t *find_provider(const char *name)
{
    const cprof_http_provider_t *found = NULL;
    pthread_mutex_lock(&reg_mu);
    for (size_t i = 0; i < nregistered && !found; i++)
        if (strcmp(registered[i]->name, name) == 0)
            found = registered[i];
    pthread_mutex_unlock(&reg_mu);
    for (size_t i = 0; !found && cprof__http_builtin[i]; i++)
        if (strcmp(cprof__http_builtin[i]->name, name) == 0)
            found = cprof__http_builtin[i];
    return found;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp((*(const cprof_http_provider_t *const *)a)->name,
                  (*(const cprof_http_provider_t *const *)b)->name);
}

void cprof_http_set_flamegraph_viewer(const char *path)
{
    pthread_mutex_lock(&reg_mu);
    flame_viewer = path;
    pthread_mutex_unlock(&reg_mu);
}

/* Percent-encodes s for a URL fragment value into out (truncated). */
static void url_encode(const char *s, char *out, size_t outlen)
{
    size_t o = 0;
    for (; *s && o + 4 < outlen; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~')
            out[o++] = (char)c;
        else
            o += (size_t)snprintf(out + o, outlen - o, "%%%02X", c);
    }
    out[o] = '\0';
}

/* Go's index page: every profile with a live count and a link, then the
 * descriptions. With a flame-graph viewer set, each profile.proto profile
 * also links to it. */
static int serve_index(cprof_http_response_t *r)
{
    const cprof_http_provider_t *list[MAX_REGISTERED + 32];
    size_t n = 0;
    for (size_t i = 0; cprof__http_builtin[i] && n < 32; i++)
        list[n++] = cprof__http_builtin[i];
    pthread_mutex_lock(&reg_mu);
    for (size_t i = 0; i < nregistered; i++) {
        size_t j = 0;
        while (j < n && strcmp(list[j]->name, registered[i]->name) != 0)
            j++;
        list[j] = registered[i];
        if (j == n)
            n++;
    }
    const char *viewer = flame_viewer;
    pthread_mutex_unlock(&reg_mu);
    qsort(list, n, sizeof(list[0]), cmp_name);

    cprof_http_response_add_header(r, "Content-Type", "text/html; charset=utf-8");
    int rc = cprof_http_response_printf(
        r, "<html>\n<head>\n<title>/debug/pprof/</title>\n<style>\n"
           ".profile-name{display:inline-block;width:6rem;}\n</style>\n</head>\n<body>\n"
           "/debug/pprof/\n<br>\n<p>Set debug=1 as a query parameter to export in legacy text "
           "format</p>\n<br>\nTypes of profiles available:\n<table>\n"
           "<thead><td>Count</td><td>Profile</td></thead>\n");
    bool goroutine = false;
    for (size_t i = 0; i < n && !rc; i++) {
        if (list[i]->unlisted)
            continue;
        goroutine |= strcmp(list[i]->name, "goroutine") == 0;
        long long count = list[i]->count ? (long long)list[i]->count() : 0;
        const char *href = list[i]->index_href ? list[i]->index_href : list[i]->name;
        rc = cprof_http_response_printf(r, "<tr><td>%lld</td><td><a href='%s'>%s</a>", count,
                                        href, list[i]->name);
        if (viewer && !list[i]->not_pprof && !rc) {
            char url[256], enc[768];
            snprintf(url, sizeof(url), "/debug/pprof/%s", href);
            url_encode(url, enc, sizeof(enc));
            rc = cprof_http_response_printf(
                r, " (<a href='%s#profileURL=%s&amp;view=left-heavy'>flame graph</a>)", viewer, enc);
        }
        rc = rc ? rc : cprof_http_response_printf(r, "</td></tr>\n");
    }
    rc = rc ? rc : cprof_http_response_printf(r, "</table>\n");
    if (goroutine && !rc)
        rc = cprof_http_response_printf(
            r, "<a href='goroutine?debug=2'>full goroutine stack dump</a>\n<br>\n");
    rc = rc ? rc : cprof_http_response_printf(r, "<p>\nProfile Descriptions:\n<ul>\n");
    for (size_t i = 0; i < n && !rc; i++)
        if (!list[i]->unlisted)
            rc = cprof_http_response_printf(r, "<li><div class=profile-name>%s: </div> %s</li>\n",
                                            list[i]->name,
                                            list[i]->description ? list[i]->description : "");
    return rc ? rc : cprof_http_response_printf(r, "</ul>\n</p>\n</body>\n</html>\n");
}

int cprof_http_serve(const char *method, const char *path, const char *query, const void *body,
                     size_t body_len, cprof_http_response_t **out)
{
    cprof_http_response_t *r = response_new();
    *out = r;
    if (!r)
        return -ENOMEM;
    cprof_http_request_t req = {.method = method ? method : "GET",
                                .path = path ? path : "/",
                                .query = query ? query : "",
                                .body = body,
                                .body_len = body_len};
    static const char prefix[] = "/debug/pprof";
    char name[64] = "";
    if (strncmp(req.path, prefix, sizeof(prefix) - 1) == 0) {
        const char *rest = req.path + sizeof(prefix) - 1;
        if (*rest == '/')
            rest++;
        else if (*rest)
            rest = NULL; /* "/debug/pprofX" */
        if (rest && (*rest == '\0')) {
            int rc = serve_index(r);
            return rc == -ENOMEM ? (cprof_http_response_error(r, 500, "out of memory"), 0) : 0;
        }
        if (rest && strlen(rest) < sizeof(name))
            snprintf(name, sizeof(name), "%s", rest);
    } else {
        for (size_t i = 0; i < cprof__http_naliases; i++) {
            if (strcmp(req.path, cprof__http_aliases[i].path) == 0) {
                req.alias = cprof__http_aliases[i].path;
                snprintf(name, sizeof(name), "%s", cprof__http_aliases[i].provider);
            }
        }
    }
    const cprof_http_provider_t *p = name[0] ? find_provider(name) : NULL;
    if (!p) {
        cprof_http_response_error(r, 404, "Unknown profile");
        return 0;
    }
    req.name = p->name;
    int rc = p->serve(&req, r);
    if (rc < 0 && !r->deferred)
        cprof_http_response_error(r, 500, "%s", cprof_strerror(rc));
    return 0;
}

/* ---- cmdline and symbol --------------------------------------------------- */

static int append(cprof_http_response_t *r, const void *p, size_t n)
{
    if (reserve(r, n) != 0)
        return -ENOMEM;
    memcpy(r->body + r->len, p, n);
    r->len += n;
    r->body[r->len] = '\0';
    return 0;
}

/* argv joined by NUL bytes, as Go writes strings.Join(os.Args, "\x00"). */
static int serve_cmdline(const cprof_http_request_t *req, cprof_http_response_t *r)
{
    (void)req;
    FILE *f = fopen("/proc/self/cmdline", "re");
    if (!f)
        return -errno;
    char buf[4096];
    size_t n;
    int rc = 0;
    while (!rc && (n = fread(buf, 1, sizeof(buf), f)) > 0)
        rc = append(r, buf, n);
    fclose(f);
    if (r->len && r->body[r->len - 1] == '\0')
        r->len--; /* the kernel ends every argument with NUL; Go only separates */
    cprof_http_response_add_header(r, "Content-Type", "text/plain; charset=utf-8");
    return rc;
}

/* Go's /debug/pprof/symbol: "num_symbols: 1", then for each address of the
 * POST body (or the query) separated by '+', "0x<addr> <name>". */
static int serve_symbol(const cprof_http_request_t *req, cprof_http_response_t *r)
{
    cprof_http_response_add_header(r, "Content-Type", "text/plain; charset=utf-8");
    int rc = cprof_http_response_printf(r, "num_symbols: 1\n");
    const char *in = req->query;
    size_t len = strlen(in);
    if (strcmp(req->method, "POST") == 0) {
        in = req->body ? req->body : "";
        len = req->body_len;
    }
    size_t i = 0;
    while (!rc && i < len) {
        size_t j = i;
        while (j < len && in[j] != '+')
            j++;
        char word[32];
        size_t n = j - i < sizeof(word) - 1 ? j - i : sizeof(word) - 1;
        memcpy(word, in + i, n);
        word[n] = '\0';
        char *end;
        unsigned long long pc = strtoull(word, &end, 0);
        if (pc != 0 && end != word) {
            cprof_frame_t f[8];
            char names[1024];
            int nf = cprof_symbolize(pc, CPROF_SYM_EXACT, f, 8, names, sizeof(names));
            /* The outermost frame is the real function at that address;
             * unknown addresses are left out, as Go does. */
            if (nf > 0 && strncmp(f[nf - 1].function, "0x", 2) != 0)
                rc = cprof_http_response_printf(r, "%#llx %s\n", pc, f[nf - 1].function);
        }
        i = j + 1;
    }
    return rc;
}

const cprof_http_provider_t cprof__http_cmdline = {
    .name = "cmdline",
    .description = "The command line invocation of the current program",
    .serve = serve_cmdline,
    .not_pprof = true,
};

const cprof_http_provider_t cprof__http_symbol = {
    .name = "symbol",
    .description = "Maps program counters to function names (POST 0x..+0x..)",
    .serve = serve_symbol,
    .not_pprof = true,
};
