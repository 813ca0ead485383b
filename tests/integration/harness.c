/* See harness.h. The child gets the write end of a pipe as fd 3 and its
 * stderr in a temporary file; the parent polls the pipe (retrying EINTR)
 * until the child writes its port line or 30 s pass. */

#include "harness.h"

#include <criterion/criterion.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

const char *harness_bin(const char *name)
{
    static __thread char path[512];
    if (strchr(name, '/')) {
        snprintf(path, sizeof(path), "%s", name);
        return path;
    }
    const char *build = getenv("ORDERD_BUILD");
    snprintf(path, sizeof(path), "%s/bin/%s", build ? build : "build", name);
    return path;
}

const char *harness_fmt(const char *fmt, ...)
{
    static __thread char bufs[8][1024];
    static __thread int next;
    char *b = bufs[next++ % 8];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b, 1024, fmt, ap);
    va_end(ap);
    return b;
}

static long elapsed_ms(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

server_t *server_spawn(const char *const *argv, const char *ready_flag)
{
    server_t *s = calloc(1, sizeof(*s));
    cr_assert_not_null(s);
    snprintf(s->stderr_path, sizeof(s->stderr_path), "/tmp/orderd-test-%d-XXXXXX", getpid());
    int errfd = mkstemp(s->stderr_path);
    cr_assert(errfd >= 0, "mkstemp: %s", strerror(errno));
    int p[2];
    cr_assert(pipe2(p, O_CLOEXEC) == 0);

    const char *args[128];
    int n = 0;
    args[n++] = harness_bin(argv[0]);
    for (int i = 1; argv[i] && n < 120; i++)
        args[n++] = argv[i];
    if (ready_flag) {
        args[n++] = ready_flag;
        args[n++] = "3";
    }
    args[n] = NULL;

    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        /* A failed assertion ends the test process: take the server along. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(p[1], 3); /* dup2 clears FD_CLOEXEC on the new fd */
        dup2(errfd, 2);
        int devnull = open("/dev/null", O_RDWR);
        dup2(devnull, 0);
        execv(args[0], (char *const *)args);
        fprintf(stderr, "exec %s: %s\n", args[0], strerror(errno));
        _exit(127);
    }
    close(p[1]);
    close(errfd);
    s->pid = pid;
    if (!ready_flag) {
        close(p[0]);
        return s;
    }

    char line[128] = {0};
    size_t got = 0;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (!memchr(line, '\n', got)) {
        long left = 30000 - elapsed_ms(&t0);
        if (left <= 0)
            break;
        struct pollfd pfd = {.fd = p[0], .events = POLLIN};
        int r = poll(&pfd, 1, (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        ssize_t k = read(p[0], line + got, sizeof(line) - 1 - got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    close(p[0]);
    if (sscanf(line, "%d %d", &s->port, &s->admin_port) < 1) {
        char *err = server_stderr(s);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        harness_fail("%s did not report its port; stderr:\n%s", args[0], err ? err : "");
    }
    snprintf(s->base, sizeof(s->base), "http://127.0.0.1:%d", s->port);
    if (s->admin_port)
        snprintf(s->admin_base, sizeof(s->admin_base), "http://127.0.0.1:%d", s->admin_port);
    return s;
}

server_t *server_start(const char *const *args)
{
    const char *argv[128];
    int n = 0;
    argv[n++] = "orderd";
    argv[n++] = "--listen";
    argv[n++] = "127.0.0.1:0";
    for (int i = 0; args && args[i] && n < 120; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    return server_spawn(argv, "--ready-fd");
}

char *server_stderr(const server_t *s)
{
    FILE *f = fopen(s->stderr_path, "r");
    if (!f)
        return NULL;
    char *data = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&data, &len);
    char chunk[4096];
    size_t k;
    while ((k = fread(chunk, 1, sizeof(chunk), f)) > 0)
        fwrite(chunk, 1, k, m);
    fclose(f);
    fclose(m);
    return data;
}

int server_wait(server_t *s, int timeout_s)
{
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int status = 0;
    pid_t r;
    for (;;) {
        r = waitpid(s->pid, &status, WNOHANG);
        if (r == s->pid || (r < 0 && errno != EINTR))
            break;
        if (elapsed_ms(&t0) > timeout_s * 1000L)
            break;
        struct timespec ts = {0, 10 * 1000000};
        nanosleep(&ts, NULL);
    }
    char *err = server_stderr(s);
    if (r != s->pid) {
        kill(s->pid, SIGKILL);
        waitpid(s->pid, NULL, 0);
        harness_fail("process %d did not exit within %d s; stderr:\n%s", (int)s->pid, timeout_s,
                     err ? err : "");
    }
    if (err && (strstr(err, "AddressSanitizer") || strstr(err, "ThreadSanitizer") ||
                strstr(err, "LeakSanitizer") || strstr(err, "runtime error:")))
        harness_fail("sanitizer report in stderr:\n%s", err);
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (code != 0) /* kept in the test's log for when the caller expected 0 */
        fprintf(stderr, "process %d exited with %d; stderr:\n%s", (int)s->pid, code,
                err ? err : "");
    free(err);
    unlink(s->stderr_path);
    free(s);
    return code;
}

static size_t on_fetch_data(char *p, size_t sz, size_t n, void *arg)
{
    http_fetch_t *f = arg;
    char *b = realloc(f->body, f->len + sz * n + 1);
    if (!b)
        return 0;
    memcpy(b + f->len, p, sz * n);
    f->body = b;
    f->len += sz * n;
    f->body[f->len] = '\0';
    return sz * n;
}

static void *fetch_main(void *arg)
{
    http_fetch_t *f = arg;
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, f->url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_fetch_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, f);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &f->status);
    curl_easy_cleanup(c);
    __atomic_store_n(&f->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

void http_fetch_start(http_fetch_t *f, const char *url)
{
    memset(f, 0, sizeof(*f));
    snprintf(f->url, sizeof(f->url), "%s", url);
    curl_global_init(CURL_GLOBAL_DEFAULT); /* here, not racing in the new thread */
    if (pthread_create(&f->thread, NULL, fetch_main, f) != 0)
        harness_fail("cannot start a fetch thread");
}

bool http_fetch_done(const http_fetch_t *f) { return __atomic_load_n(&f->done, __ATOMIC_ACQUIRE); }

void http_fetch_join(http_fetch_t *f) { pthread_join(f->thread, NULL); }

static size_t discard(char *p, size_t sz, size_t n, void *arg)
{
    (void)p, (void)arg;
    return sz * n;
}

static void *load_main(void *arg)
{
    http_load_t *l = arg;
    CURL *c = curl_easy_init();
    struct curl_slist *hl = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_URL, l->url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        char body[160];
        snprintf(body, sizeof(body),
                 "{\"customer\":\"c\",\"amount\":5,\"items\":[\"i\"],\"address\":\"a\","
                 "\"priority\":%d}",
                 1 + l->sent % 3);
        curl_easy_setopt(c, CURLOPT_COPYPOSTFIELDS, body);
        long status = 0;
        if (curl_easy_perform(c) == CURLE_OK)
            curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        if (status != 201) {
            l->bad++;
            l->last_bad = status;
        }
        l->sent++;
        clock_gettime(CLOCK_MONOTONIC, &t);
    } while (!__atomic_load_n(&l->stop, __ATOMIC_ACQUIRE) && t.tv_sec - t0.tv_sec < 30);
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
    return NULL;
}

void http_load_start(http_load_t *l, const char *base)
{
    memset(l, 0, sizeof(*l));
    snprintf(l->url, sizeof(l->url), "%s/orders", base);
    curl_global_init(CURL_GLOBAL_DEFAULT); /* here, not racing in the new thread */
    if (pthread_create(&l->thread, NULL, load_main, l) != 0)
        harness_fail("cannot start a load thread");
}

void http_load_stop(http_load_t *l)
{
    __atomic_store_n(&l->stop, 1, __ATOMIC_RELEASE);
    pthread_join(l->thread, NULL);
}

bool harness_signal_stacks_exact(void)
{
    const char *san = getenv("SANITIZE");
    return !san || strcmp(san, "thread") != 0;
}

bool harness_cpu_profile_running(const char *base)
{
    http_resp_t r = http_get(harness_fmt("%s/debug/pprof/", base));
    bool on = r.body && strstr(r.body, "<tr><td>1</td><td><a href='profile?seconds=30'>");
    http_free(&r);
    return on;
}

void harness_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

int server_stop(server_t *s, int sig, int timeout_s)
{
    kill(s->pid, sig);
    return server_wait(s, timeout_s);
}

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
    fwrite(p, sz, n, (FILE *)ud);
    return sz * n;
}

http_resp_t http_do(const char *method, const char *url, const char *body, size_t body_len,
                    const char *const *extra_headers)
{
    http_resp_t r = {0};
    size_t hlen = 0;
    FILE *bf = open_memstream(&r.body, &r.len);
    FILE *hf = open_memstream(&r.headers, &hlen);
    CURL *c = curl_easy_init();
    struct curl_slist *hl = NULL;
    for (int i = 0; extra_headers && extra_headers[i]; i++)
        hl = curl_slist_append(hl, extra_headers[i]);
    hl = curl_slist_append(hl, "Expect:");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, bf);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, hf);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    }
    CURLcode rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
    fclose(bf);
    fclose(hf);
    cr_assert(rc == CURLE_OK, "%s %s: %s", method, url, curl_easy_strerror(rc));
    return r;
}

http_resp_t http_get(const char *url) { return http_do("GET", url, NULL, 0, NULL); }

http_resp_t http_post_json(const char *url, const char *json)
{
    const char *h[] = {"Content-Type: application/json", NULL};
    return http_do("POST", url, json, strlen(json), h);
}

char *http_header(const http_resp_t *r, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = r->headers; p && *p;) {
        const char *eol = strstr(p, "\r\n");
        if (!eol)
            break;
        if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
            const char *v = p + n + 1;
            while (*v == ' ')
                v++;
            return strndup(v, (size_t)(eol - v));
        }
        p = eol + 2;
    }
    return NULL;
}

void http_free(http_resp_t *r)
{
    free(r->body);
    free(r->headers);
    r->body = r->headers = NULL;
}
