/* The heap module's HTTP providers (lib/cprof/heap_http.c) in-process:
 * registered in the cprof HTTP layer (index with counts, aliases), the
 * profile and JSON bodies, and the one-line 501 of builds without jemalloc
 * (sanitizers), where the profile tests are skipped. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "cprof.h"

static cprof_http_response_t *get(const char *path, const char *query)
{
    cprof_http_response_t *r;
    cr_assert_eq(cprof_http_serve("GET", path, query, NULL, 0, &r), 0);
    cr_assert(cprof_http_response_ready(r), "%s?%s is answered at once", path, query);
    return r;
}

static const char *body_of(cprof_http_response_t *r, size_t *len)
{
    const char *b = cprof_http_response_body(r, len);
    return b ? b : "";
}

Test(heap_http, index_lists_heap_allocs_and_gc)
{
    cprof_http_response_t *r = get("/debug/pprof/", "");
    size_t len;
    const char *b = body_of(r, &len);
    static const char *links[] = {"<a href='heap'>heap</a>", "<a href='allocs'>allocs</a>",
                                  "<a href='gc'>gc</a>"};
    for (size_t i = 0; i < 3; i++)
        cr_expect(memmem(b, len, links[i], strlen(links[i])) != NULL, "no %s on the index",
                  links[i]);
    cprof_http_response_free(r);
}

Test(heap_http, without_jemalloc_every_endpoint_is_a_one_line_501)
{
    if (!cprof_heap_unavailable())
        cr_skip_test("jemalloc is the allocator here: the 501 path is for sanitizer builds");
    static const char *paths[] = {"/debug/pprof/heap", "/debug/pprof/allocs", "/debug/pprof/gc",
                                  "/profile/memory", "/profile/gc"};
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        cprof_http_response_t *r = get(paths[i], "");
        size_t len;
        const char *b = body_of(r, &len);
        cr_expect_eq(cprof_http_response_status(r), 501, "%s: %d", paths[i],
                     cprof_http_response_status(r));
        cr_expect(len > 1 && memchr(b, '\n', len) == b + len - 1, "%s: one line: %.*s", paths[i],
                  (int)len, b);
        cprof_http_response_free(r);
    }
}

static void skip_without_jemalloc(void)
{
    const char *why = cprof_heap_unavailable();
    if (why)
        cr_skip_test("heap profiling unavailable in this build: %s", why);
}

__attribute__((noinline)) void heap_http_test_allocator(void **keep, size_t n)
{
    for (size_t i = 0; i < n; i++)
        keep[i] = malloc(4096);
    __asm__ volatile("" ::"r"(keep) : "memory");
}

Test(heap_http, heap_profile_names_the_allocating_function)
{
    skip_without_jemalloc();
    cr_assert_eq(cprof_heap_start(4096), 0);
    static void *keep[2048];
    heap_http_test_allocator(keep, 2048);
    cprof_http_response_t *r = get("/debug/pprof/heap", "");
    cr_assert_eq(cprof_http_response_status(r), 200);
    size_t len;
    const char *b = body_of(r, &len);
    cprof_profile_t *p;
    cr_assert_eq(cprof_profile_decode(b, len, &p), 0);
    cr_expect_str_eq(p->default_sample_type, "inuse_space");
    cr_expect_str_eq(p->period_type.type, "space");
    int inuse = cprof_profile_sample_type(p, "inuse_space");
    cr_assert_geq(inuse, 0);
    int64_t bytes = 0;
    bool line = false;
    for (size_t i = 0; i < p->nsamples; i++) {
        const cprof_pp_sample_t *s = &p->samples[i];
        for (size_t k = 0; k < s->nlocations; k++) {
            const cprof_pp_location_t *l = cprof_profile_location(p, s->location_ids[k]);
            for (size_t j = 0; l && j < l->nlines; j++) {
                const cprof_pp_function_t *f = cprof_profile_function(p, l->lines[j].function_id);
                if (f && strcmp(f->name, "heap_http_test_allocator") == 0) {
                    bytes += s->values[inuse];
                    line |= l->lines[j].line > 0 && strstr(f->filename, "test_heap_http.c");
                    k = s->nlocations; /* count each sample once */
                    break;
                }
            }
        }
    }
    /* 8 MiB live, sampled every 4 KiB on average: the estimate is within a
     * few percent; 25% is far outside its spread. */
    cr_expect(bytes > 6 * 1024 * 1024 && bytes < 10 * 1024 * 1024,
              "in-use bytes of heap_http_test_allocator: %lld, expected ~8 MiB", (long long)bytes);
    cr_expect(line, "libdw gave the function its file and line");
    const char *cd = cprof_http_response_header(r, "Content-Disposition");
    cr_expect(cd && strstr(cd, "\"heap\""), "Content-Disposition %s", cd ? cd : "(none)");
    cprof_profile_free(p);
    cprof_http_response_free(r);
    for (size_t i = 0; i < 2048; i++)
        free(keep[i]);
}

Test(heap_http, gc_answers_stats_before_and_after)
{
    skip_without_jemalloc();
    cprof_http_response_t *r = get("/profile/gc", "");
    cr_assert_eq(cprof_http_response_status(r), 200);
    size_t len;
    const char *b = body_of(r, &len);
    json_error_t e;
    json_t *j = json_loadb(b, len, 0, &e);
    cr_assert_not_null(j, "not JSON: %.*s", (int)len, b);
    cr_expect(json_integer_value(json_object_get(json_object_get(j, "after"), "NumGC")) >
                  json_integer_value(json_object_get(json_object_get(j, "before"), "NumGC")),
              "the purge is counted");
    cr_expect(json_is_integer(json_object_get(j, "took_ns")));
    json_decref(j);
    cprof_http_response_free(r);
}
