#ifndef CPROF_HTTP_H
#define CPROF_HTTP_H

/* The /debug/pprof HTTP layer, independent of any HTTP server library:
 * the embedding server hands over a request and sends back what
 * cprof_http_serve answers (status, headers, body).
 *
 * Long requests (a 30 s CPU profile) do not block the caller: their
 * response is "pending" and becomes ready later, on a library thread
 * ("cprof-http"). The server then either polls cprof_http_response_fd, or
 * registers a callback with cprof_http_response_on_ready (e.g. to resume a
 * suspended connection), and sends the response once ready.
 *
 * Profiles are served by providers, found by name (the path element after
 * /debug/pprof/). The built-in table is in lib/cprof/http_providers.c;
 * programs can add their own with cprof_http_register.
 *
 * Thread-safe. Not async-signal-safe. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct cprof_http_header {
    const char *name, *value;
} cprof_http_header_t;

typedef struct cprof_http_response cprof_http_response_t;

/* One request. path is the full path ("/debug/pprof/heap"), query the raw
 * query string without '?' ("" if none; %-escapes allowed). */
typedef struct cprof_http_request {
    const char *method, *path, *query;
    const void *body;
    size_t body_len;
    const char *name;  /* provider name ("profile", "heap", ...) */
    const char *alias; /* the seed's alias path used ("/profile/cpu"), else NULL */
} cprof_http_request_t;

/* Answers a request. *out is always set on 0 (404, 400... are responses
 * too) and owned by the caller (cprof_http_response_free). Returns 0 or
 * -ENOMEM. Paths outside /debug/pprof/ and the aliases answer 404. */
int cprof_http_serve(const char *method, const char *path, const char *query, const void *body,
                     size_t body_len, cprof_http_response_t **out);

/* True when the response can be sent. */
bool cprof_http_response_ready(const cprof_http_response_t *r);
/* An eventfd that becomes readable when the response is ready (it stays
 * readable), or -1 if it was ready at once. Owned by the response. */
int cprof_http_response_fd(cprof_http_response_t *r);
/* Calls cb(arg) once the response is ready: at once (in the caller's
 * thread) if it is, else from the library thread that completes it. At
 * most one callback per response. */
void cprof_http_response_on_ready(cprof_http_response_t *r, void (*cb)(void *arg), void *arg);

/* Once ready: status, headers, body (valid until free). */
int cprof_http_response_status(const cprof_http_response_t *r);
size_t cprof_http_response_headers(const cprof_http_response_t *r, const cprof_http_header_t **out);
const char *cprof_http_response_header(const cprof_http_response_t *r, const char *name);
const void *cprof_http_response_body(const cprof_http_response_t *r, size_t *len);
/* Takes the body: *len set, the buffer is malloc'ed and the caller's. */
void *cprof_http_response_take_body(cprof_http_response_t *r, size_t *len);

/* Frees a response. A pending one is canceled: its work (a CPU profile)
 * stops early and the library frees it when done. */
void cprof_http_response_free(cprof_http_response_t *r);

/* Cancels every pending response (their bodies hold what was collected so
 * far) and waits up to timeout_ns for them to become ready; deferred work
 * started afterwards starts canceled. For server shutdown (before the
 * server stops). Returns the number still pending. */
int cprof_http_cancel_all(int64_t timeout_ns);

/* ---- providers ------------------------------------------------------------ */

/* A provider fills resp through the setters below and returns 0, or a
 * negative errno (the layer then answers 500 with cprof_strerror). For a
 * long request it calls cprof_http_defer and returns; the work function
 * then runs on its own "cprof-http" thread and the response is ready when
 * it returns. */
typedef struct cprof_http_provider {
    const char *name;        /* path element: "profile" serves /debug/pprof/profile */
    const char *description; /* one sentence for the index page */
    const char *index_href;  /* link from the index, e.g. "profile?seconds=30"; NULL: name */
    int (*serve)(const cprof_http_request_t *req, cprof_http_response_t *resp);
    int64_t (*count)(void); /* live count for the index, or NULL */
    bool unlisted;          /* served but not on the index */
    bool not_pprof;         /* the body is not profile.proto: no flame-graph link */
} cprof_http_provider_t;

/* Adds a provider (the struct must outlive the process's HTTP use). A name
 * already present is replaced. Returns 0, -EINVAL or -ENOMEM. */
int cprof_http_register(const cprof_http_provider_t *p);

/* Where the program serves a flame-graph viewer that takes
 * `#profileURL=<url-encoded path>` (speedscope), as an absolute path such as
 * "/debug/pprof/ui/". Once set, the index links every profile.proto profile
 * to it with view=left-heavy. NULL (the default) removes the links. The
 * string must outlive the process's HTTP use. Thread-safe. */
void cprof_http_set_flamegraph_viewer(const char *path);

/* The seed's alias paths: "/profile/cpu" -> provider "profile". The
 * provider sees req->alias and reads its own parameters (e.g. duration). */
typedef struct cprof_http_alias {
    const char *path, *provider;
} cprof_http_alias_t;

/* Setters (provider side). status defaults to 200; header values copied. */
void cprof_http_response_set_status(cprof_http_response_t *r, int status);
int cprof_http_response_add_header(cprof_http_response_t *r, const char *name, const char *value);
/* Takes ownership of a malloc'ed body. */
void cprof_http_response_set_body(cprof_http_response_t *r, void *body, size_t len);
int cprof_http_response_printf(cprof_http_response_t *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Go's serveError: status, text/plain, X-Go-Pprof: 1, the message + "\n". */
int cprof_http_response_error(cprof_http_response_t *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Headers of a profile download: application/octet-stream and an
 * attachment file name. */
int cprof_http_response_attachment(cprof_http_response_t *r, const char *filename);

/* Makes resp pending and runs work(resp, arg) on a new "cprof-http" thread;
 * the response is ready when work returns (its return value as from
 * serve). Returns 0 or a negative errno (nothing runs then). */
int cprof_http_defer(cprof_http_response_t *resp,
                     int (*work)(cprof_http_response_t *resp, void *arg), void *arg);
/* For work functions: sleeps until ns have passed or the response is
 * canceled. Returns 0, or -ECANCELED. */
int cprof_http_response_sleep(cprof_http_response_t *r, int64_t ns);
bool cprof_http_response_canceled(const cprof_http_response_t *r);

/* Query helpers: copies the %-decoded value of key into out (NUL-
 * terminated, truncated). Returns 1 if present, 0 if absent. */
int cprof_http_query_get(const char *query, const char *key, char *out, size_t outlen);
/* Parses a Go duration ("30s", "1.5m", "500ms", "1h2m") into ns. Returns 0
 * or -EINVAL. */
int cprof_http_parse_go_duration(const char *s, int64_t *ns);
/* The duration parameter of a request: "seconds" (decimal seconds, Go's
 * /debug/pprof form) or, on an alias, "duration" (Go syntax). Absent: def.
 * Invalid, not positive or above max_ns: -EINVAL with a reason in err. */
int cprof_http_request_duration(const cprof_http_request_t *req, int64_t def_ns, int64_t max_ns,
                                int64_t *ns, char *err, size_t errlen);

#endif
