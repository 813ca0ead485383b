#ifndef TESTS_HARNESS_H
#define TESTS_HARNESS_H

/* Integration-test harness: starts a real binary of the project with a
 * readiness pipe, talks HTTP to it with libcurl, and stops it with a signal,
 * failing the test on an unexpected exit status or a sanitizer report in its
 * stderr. Binaries are found in $ORDERD_BUILD/bin (default build/bin). */

#include <stdbool.h>
#include <pthread.h>
#include <stddef.h>
#include <sys/types.h>

#include <criterion/criterion.h>

/* Fails the current test with a message and does not return. */
#define harness_fail(...)                                                                          \
    do {                                                                                           \
        cr_assert_fail(__VA_ARGS__);                                                               \
        __builtin_unreachable();                                                                   \
    } while (0)

typedef struct server {
    pid_t pid;
    int port;       /* first number the binary wrote on its ready fd */
    int admin_port; /* second number, or 0 */
    char base[64];  /* "http://127.0.0.1:PORT" */
    char admin_base[64];
    char stderr_path[256];
} server_t;

/* Path of a project binary, e.g. harness_bin("orderd"). Static storage. */
const char *harness_bin(const char *name);

/* Starts orderd with "--listen 127.0.0.1:0 --ready-fd 3" plus args
 * (NULL-terminated), waits for its port (fails the test after 30 s). */
server_t *server_start(const char *const *args);
/* Starts any binary: argv[0] is a name under bin/ or a path; ready_flag is
 * the flag that takes the ready fd (e.g. "--ready-fd"), or NULL to not wait. */
server_t *server_spawn(const char *const *argv, const char *ready_flag);
/* Sends sig, waits up to timeout_s, returns the exit code (128+signal if
 * killed by a signal). Fails the test if it does not exit in time or its
 * stderr holds a sanitizer report. Frees s. */
int server_stop(server_t *s, int sig, int timeout_s);
/* Waits for exit without sending a signal (same checks as server_stop). */
int server_wait(server_t *s, int timeout_s);
/* The server's stderr so far (malloc'ed; free it). */
char *server_stderr(const server_t *s);

typedef struct http_resp {
    long status;
    char *body; /* NUL-terminated; free with http_free */
    size_t len;
    char *headers; /* raw header block */
} http_resp_t;

/* Performs one request with a 60 s timeout. body may be NULL. extra_headers
 * is a NULL-terminated list like {"Content-Type: application/json", NULL}.
 * Transport errors fail the test. */
http_resp_t http_do(const char *method, const char *url, const char *body, size_t body_len,
                    const char *const *extra_headers);
http_resp_t http_get(const char *url);
http_resp_t http_post_json(const char *url, const char *json);
/* Value of a response header (case-insensitive name), malloc'ed, or NULL. */
char *http_header(const http_resp_t *r, const char *name);
void http_free(http_resp_t *r);

/* A GET in a thread of its own (own curl handle; it never asserts, since
 * only the test's thread may): http_fetch_start, poll http_fetch_done while
 * doing other requests, then http_fetch_join. body (NUL-terminated) is
 * malloc'ed: free it. */
typedef struct http_fetch {
    pthread_t thread;
    char url[256];
    char *body;
    size_t len;
    long status; /* 0 on a transport error */
    int done;
} http_fetch_t;
void http_fetch_start(http_fetch_t *f, const char *url);
bool http_fetch_done(const http_fetch_t *f);
void http_fetch_join(http_fetch_t *f);

/* A bounded order load in a thread of its own (own curl handle; it never
 * asserts): POSTs orders of priorities 1..3 to base/orders back to back
 * until http_load_stop, or for 30 s at most, counting the answers other
 * than 201 (status 0: a transport error). */
typedef struct http_load {
    char url[256];
    int stop; /* atomic */
    int sent, bad;
    long last_bad;
    pthread_t thread;
} http_load_t;
void http_load_start(http_load_t *l, const char *base);
void http_load_stop(http_load_t *l);

/* False for servers built with TSan (SANITIZE=thread, set by `make test`):
 * TSan runs an asynchronous signal's handler at the thread's next safe
 * point, so stacks taken in signal handlers (CPU profiles, thread dumps)
 * are not where the threads were. */
bool harness_signal_stacks_exact(void);

/* True while the /debug/pprof/ index at base counts a running CPU profile. */
bool harness_cpu_profile_running(const char *base);

/* Sleeps ms milliseconds (between polls of a bounded wait loop). */
void harness_sleep_ms(int ms);

/* printf into a static rotating buffer: harness_fmt("%s/orders/%s", base, id). */
const char *harness_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
