/* The HTTP layer without a server: dispatch, parameters, Go's error
 * conventions, symbol/cmdline, the 409 of a second CPU profile, and
 * deferred responses (eventfd, callback, cancel by free). */

#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cprof.h"

static cprof_http_response_t *serve(const char *method, const char *path, const char *query,
                                    const char *body)
{
    cprof_http_response_t *r = NULL;
    int rc = cprof_http_serve(method, path, query, body, body ? strlen(body) : 0, &r);
    cr_assert_eq(rc, 0);
    cr_assert_not_null(r);
    return r;
}

static const char *body_of(cprof_http_response_t *r)
{
    size_t len;
    return cprof_http_response_body(r, &len);
}

/* Waits (bounded) for a pending response through its eventfd. */
static void wait_ready(cprof_http_response_t *r, int timeout_ms)
{
    int fd = cprof_http_response_fd(r);
    if (fd < 0)
        return;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int n;
    while ((n = poll(&p, 1, timeout_ms)) < 0 && errno == EINTR)
        ;
    cr_assert_eq(n, 1, "response not ready within %d ms", timeout_ms);
    cr_assert(cprof_http_response_ready(r));
}

Test(http, go_durations)
{
    static const struct {
        const char *s;
        int64_t ns;
    } ok[] = {{"30s", 30000000000LL},    {"500ms", 500000000LL}, {"1.5m", 90000000000LL},
              {"1h2m", 3720000000000LL}, {"10us", 10000LL},      {"0", 0}};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        int64_t ns = -1;
        cr_assert_eq(cprof_http_parse_go_duration(ok[i].s, &ns), 0, "%s rejected", ok[i].s);
        cr_assert_eq(ns, ok[i].ns, "%s: expected %lld, got %lld", ok[i].s, (long long)ok[i].ns,
                     (long long)ns);
    }
    static const char *bad[] = {"", "10", "s", "10x", "abc", "1.2.3s"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t ns;
        cr_assert_eq(cprof_http_parse_go_duration(bad[i], &ns), -EINVAL, "'%s' accepted", bad[i]);
    }
}

Test(http, query_parameters)
{
    char v[32];
    cr_assert_eq(cprof_http_query_get("seconds=5&hz=200", "hz", v, sizeof(v)), 1);
    cr_assert_str_eq(v, "200");
    cr_assert_eq(cprof_http_query_get("a=%41%2b+b&x", "a", v, sizeof(v)), 1);
    cr_assert_str_eq(v, "A+ b");
    cr_assert_eq(cprof_http_query_get("a=1&x", "x", v, sizeof(v)), 1);
    cr_assert_str_eq(v, "");
    cr_assert_eq(cprof_http_query_get("ab=1", "a", v, sizeof(v)), 0);
    cr_assert_eq(cprof_http_query_get("", "a", v, sizeof(v)), 0);
}

Test(http, index_lists_profiles)
{
    cprof_http_response_t *r = serve("GET", "/debug/pprof/", "", NULL);
    cr_assert_eq(cprof_http_response_status(r), 200);
    cr_assert(strstr(cprof_http_response_header(r, "Content-Type"), "text/html"));
    const char *b = body_of(r);
    cr_assert(strstr(b, "href='profile?seconds=30'"), "profile link expected:\n%s", b);
    cr_assert(strstr(b, ">cmdline<") && strstr(b, ">symbol<"));
    cprof_http_response_free(r);
    r = serve("GET", "/debug/pprof", "", NULL);
    cr_assert_eq(cprof_http_response_status(r), 200);
    cprof_http_response_free(r);
}

Test(http, index_links_flame_graphs_once_a_viewer_is_set)
{
    cprof_http_response_t *r = serve("GET", "/debug/pprof/", "", NULL);
    cr_assert_null(strstr(body_of(r), "flame graph"), "no viewer, no links:\n%s", body_of(r));
    cprof_http_response_free(r);

    cprof_http_set_flamegraph_viewer("/debug/pprof/ui/");
    r = serve("GET", "/debug/pprof/", "", NULL);
    const char *b = body_of(r);
    cr_assert(strstr(b, "href='/debug/pprof/ui/#profileURL=%2Fdebug%2Fpprof%2Fprofile%3Fseconds%3D30"
                        "&amp;view=left-heavy'>flame graph</a>"),
              "CPU profile linked to the viewer:\n%s", b);
    cr_assert(strstr(b, "#profileURL=%2Fdebug%2Fpprof%2Fgoroutine"), "goroutine linked:\n%s", b);
    cr_assert_null(strstr(b, "profileURL=%2Fdebug%2Fpprof%2Ftrace"), "trace is JSON:\n%s", b);
    cr_assert_null(strstr(b, "profileURL=%2Fdebug%2Fpprof%2Fcmdline"), "cmdline is text:\n%s", b);
    cprof_http_response_free(r);
    cprof_http_set_flamegraph_viewer(NULL);
}

Test(http, unknown_profile_is_404)
{
    static const char *paths[] = {"/debug/pprof/nope", "/debug/pprofx", "/profile/nope", "/"};
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        cprof_http_response_t *r = serve("GET", paths[i], "", NULL);
        cr_assert_eq(cprof_http_response_status(r), 404, "%s: expected 404, got %d", paths[i],
                     cprof_http_response_status(r));
        cr_assert_str_eq(cprof_http_response_header(r, "X-Go-Pprof"), "1");
        cprof_http_response_free(r);
    }
}

Test(http, bad_parameters_are_400_with_one_line)
{
    static const struct {
        const char *path, *query;
    } bad[] = {{"/debug/pprof/profile", "seconds=abc"}, {"/debug/pprof/profile", "seconds=-1"},
               {"/debug/pprof/profile", "seconds=0"},   {"/debug/pprof/profile", "hz=0"},
               {"/debug/pprof/profile", "hz=100000"},   {"/debug/pprof/profile", "seconds=99999"},
               {"/profile/cpu", "duration=10"},         {"/profile/cpu", "duration=-5s"}};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cprof_http_response_t *r = serve("GET", bad[i].path, bad[i].query, NULL);
        cr_assert_eq(cprof_http_response_status(r), 400, "%s?%s: got %d", bad[i].path, bad[i].query,
                     cprof_http_response_status(r));
        const char *b = body_of(r);
        const char *nl = strchr(b, '\n');
        cr_assert(nl && nl[1] == '\0', "one line expected, got '%s'", b);
        cr_assert_not(cprof_cpu_running(), "a rejected request must not start the profiler");
        cprof_http_response_free(r);
    }
}

Test(http, cmdline_is_nul_separated)
{
    cprof_http_response_t *r = serve("GET", "/debug/pprof/cmdline", "", NULL);
    size_t len;
    const char *b = cprof_http_response_body(r, &len);
    cr_assert_gt(len, 0);
    char want[4096];
    FILE *f = fopen("/proc/self/cmdline", "r");
    cr_assert_not_null(f);
    size_t n = fread(want, 1, sizeof(want), f);
    fclose(f);
    cr_assert_eq(len, n - 1, "argv joined by NUL without the final NUL, as Go");
    cr_assert_eq(memcmp(b, want, len), 0);
    cprof_http_response_free(r);
}

__attribute__((noinline)) int cprof_test_symbol_target(int x) { return x + 1; }

Test(http, symbol_get_and_post)
{
    cprof_http_response_t *r = serve("GET", "/debug/pprof/symbol", "", NULL);
    cr_assert_str_eq(body_of(r), "num_symbols: 1\n");
    cprof_http_response_free(r);
    char req[128];
    unsigned long long pc = (unsigned long long)(uintptr_t)cprof_test_symbol_target;
    snprintf(req, sizeof(req), "%#llx+0x10", pc);
    r = serve("POST", "/debug/pprof/symbol", "", req);
    char want[128];
    snprintf(want, sizeof(want), "num_symbols: 1\n%#llx cprof_test_symbol_target\n", pc);
    cr_assert_str_eq(body_of(r), want);
    cprof_http_response_free(r);
}

typedef struct cb_state {
    int calls;
} cb_state_t;

static void on_ready(void *arg)
{
    __atomic_add_fetch(&((cb_state_t *)arg)->calls, 1, __ATOMIC_SEQ_CST);
}

Test(http, cpu_profile_deferred_and_409)
{
    cprof_http_response_t *r = serve("GET", "/debug/pprof/profile", "seconds=0.3&hz=200", NULL);
    cr_assert_not(cprof_http_response_ready(r), "a CPU profile is deferred");
    cr_assert_geq(cprof_http_response_fd(r), 0);
    cb_state_t st = {0};
    cprof_http_response_on_ready(r, on_ready, &st);

    /* A second profile at once: 409, X-Go-Pprof, one line. */
    cprof_http_response_t *r2 = serve("GET", "/profile/cpu", "duration=1s", NULL);
    cr_assert(cprof_http_response_ready(r2));
    cr_assert_eq(cprof_http_response_status(r2), 409);
    cr_assert_str_eq(cprof_http_response_header(r2, "X-Go-Pprof"), "1");
    cprof_http_response_free(r2);

    wait_ready(r, 10000);
    for (int i = 0; i < 1000 && !__atomic_load_n(&st.calls, __ATOMIC_SEQ_CST); i++)
        poll(NULL, 0, 1); /* the callback runs right after the eventfd write */
    cr_assert_eq(st.calls, 1, "ready callback called once");
    cr_assert_eq(cprof_http_response_status(r), 200);
    cr_assert_str_eq(cprof_http_response_header(r, "Content-Type"), "application/octet-stream");
    size_t len;
    void *body = cprof_http_response_take_body(r, &len);
    cprof_profile_t *p = NULL;
    cr_assert_eq(cprof_profile_decode(body, len, &p), 0);
    cr_assert_str_eq(p->sample_types[0].type, "samples");
    cr_assert_str_eq(p->sample_types[1].type, "cpu");
    cr_assert_str_eq(p->period_type.unit, "nanoseconds");
    cr_assert_eq(p->period, 5000000);
    cr_assert_geq(p->duration_nanos, 300000000);
    cprof_profile_free(p);
    free(body);
    cprof_http_response_free(r);
    cr_assert_not(cprof_cpu_running());
}

Test(http, alias_has_attachment_name)
{
    cprof_http_response_t *r = serve("GET", "/profile/cpu", "duration=200ms", NULL);
    wait_ready(r, 10000);
    cr_assert_eq(cprof_http_response_status(r), 200);
    const char *cd = cprof_http_response_header(r, "Content-Disposition");
    cr_assert(cd && strstr(cd, "attachment; filename=\"cpu_profile_") && strstr(cd, ".prof\""),
              "got %s", cd);
    cprof_http_response_free(r);
}

Test(http, freeing_a_pending_response_cancels_it)
{
    cprof_http_response_t *r = serve("GET", "/debug/pprof/profile", "seconds=60", NULL);
    cr_assert(cprof_cpu_running());
    cprof_http_response_free(r);
    /* The profile stops soon after, not in 60 s. */
    for (int i = 0; i < 5000 && cprof_cpu_running(); i++)
        poll(NULL, 0, 2);
    cr_assert_not(cprof_cpu_running(), "canceled profile still running");
}

static int custom_serve(const cprof_http_request_t *req, cprof_http_response_t *r)
{
    return cprof_http_response_printf(r, "custom %s %s\n", req->name, req->query);
}

Test(http, registered_provider)
{
    static const cprof_http_provider_t custom = {
        .name = "custom", .description = "a test profile", .serve = custom_serve};
    cr_assert_eq(cprof_http_register(&custom), 0);
    cprof_http_response_t *r = serve("GET", "/debug/pprof/custom", "debug=1", NULL);
    cr_assert_str_eq(body_of(r), "custom custom debug=1\n");
    cprof_http_response_free(r);
    r = serve("GET", "/debug/pprof/", "", NULL);
    cr_assert(strstr(body_of(r), ">custom<"));
    cprof_http_response_free(r);
}
