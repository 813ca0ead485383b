/* orderd's heap endpoints over real HTTP: /debug/pprof/heap and /allocs
 * (proto, debug=1 text, gc=1, seconds=N delta, bad parameters), the seed's
 * /profile/memory and /profile/gc. In builds without jemalloc (sanitizers)
 * orderd answers 501 with a one-line reason and these tests say skipped. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "harness.h"

static server_t *srv;

static void start(const char *const *args)
{
    srv = server_start(args);
    http_resp_t r = http_get(harness_fmt("%s/debug/pprof/heap", srv->base));
    if (r.status == 501) {
        cr_assert(r.len > 0 && strchr(r.body, '\n') == r.body + r.len - 1,
                  "501 reason is not one line: %s", r.body);
        char why[256];
        snprintf(why, sizeof(why), "%s", r.body);
        http_free(&r);
        server_stop(srv, SIGTERM, 30);
        cr_skip_test("heap profiling unavailable in this build: %s", why);
    }
    http_free(&r);
}

static void stop(void) { cr_expect_eq(server_stop(srv, SIGTERM, 30), 0); }

/* Gunzips a profile and checks for strings of its string table. */
static void expect_profile(const http_resp_t *r, const char *must_contain)
{
    cr_assert_eq(r->status, 200, "status %ld: %s", r->status, r->body);
    cr_assert(r->len > 2 && (unsigned char)r->body[0] == 0x1f && (unsigned char)r->body[1] == 0x8b,
              "not gzip");
    size_t cap = 1 << 22;
    unsigned char *out = malloc(cap);
    z_stream z = {0};
    cr_assert_eq(inflateInit2(&z, 15 + 16), Z_OK);
    z.next_in = (unsigned char *)r->body;
    z.avail_in = (uInt)r->len;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    cr_assert_eq(inflate(&z, Z_FINISH), Z_STREAM_END, "gzip stream incomplete");
    size_t n = cap - z.avail_out;
    inflateEnd(&z);
    static const char *always[] = {"alloc_objects", "alloc_space", "inuse_objects",
                                   "inuse_space",   "space",       "bytes"};
    for (size_t i = 0; i < sizeof(always) / sizeof(always[0]); i++)
        cr_expect(memmem(out, n, always[i], strlen(always[i])) != NULL, "no '%s' in profile",
                  always[i]);
    if (must_contain)
        cr_expect(memmem(out, n, must_contain, strlen(must_contain)) != NULL, "no '%s' in profile",
                  must_contain);
    free(out);
}

/* Sends some orders so that the service allocates. */
static void some_orders(void)
{
    for (int i = 0; i < 50; i++) {
        http_resp_t r = http_post_json(
            harness_fmt("%s/orders", srv->base),
            "{\"customer\":\"ada\",\"amount\":4.5,\"items\":[\"book\"],\"address\":\"1 Main\"}");
        cr_assert_eq(r.status, 201, "%ld %s", r.status, r.body);
        http_free(&r);
    }
}

Test(heap_http, profiles_text_and_parameters)
{
    start((const char *const[]){"--work", "none", NULL});
    some_orders();
    http_resp_t r = http_get(harness_fmt("%s/debug/pprof/heap", srv->base));
    expect_profile(&r, "xalloc");
    char *cd = http_header(&r, "Content-Disposition");
    cr_expect(cd && strstr(cd, "heap"), "Content-Disposition %s", cd ? cd : "(none)");
    free(cd);
    http_free(&r);

    r = http_get(harness_fmt("%s/debug/pprof/allocs?gc=1", srv->base));
    expect_profile(&r, NULL);
    http_free(&r);

    r = http_get(harness_fmt("%s/debug/pprof/heap?debug=1", srv->base));
    cr_assert_eq(r.status, 200);
    cr_expect(strncmp(r.body, "heap profile: ", 14) == 0, "text: %.80s", r.body);
    cr_expect(strstr(r.body, "@ heap/1048576") != NULL, "default rate 512 KiB: %.80s", r.body);
    cr_expect(strstr(r.body, "# TotalAlloc = ") != NULL, "no memstats footer");
    cr_expect(strstr(r.body, "\tlib/common/xalloc.c:") != NULL,
              "frames named with file:line by the symbolizer:\n%.2000s", r.body);
    http_free(&r);

    static const char *bad[] = {"debug=x", "seconds=-1", "seconds=1&debug=1", "seconds=99999"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        r = http_get(harness_fmt("%s/debug/pprof/heap?%s", srv->base, bad[i]));
        cr_expect_eq(r.status, 400, "?%s: %ld %s", bad[i], r.status, r.body);
        cr_expect(r.len > 0 && strchr(r.body, '\n') == r.body + r.len - 1, "one line: %s", r.body);
        http_free(&r);
    }
    stop();
}

Test(heap_http, delta_and_seed_aliases)
{
    /* Sampling off at start: the endpoint switches it on. */
    start((const char *const[]){"--work", "none", "--heap-profile=false", NULL});
    http_resp_t r = http_get(harness_fmt("%s/debug/pprof/allocs?seconds=1", srv->base));
    expect_profile(&r, NULL);
    char *cd = http_header(&r, "Content-Disposition");
    cr_expect(cd && strstr(cd, "delta-allocs"), "Content-Disposition %s", cd ? cd : "(none)");
    free(cd);
    http_free(&r);

    r = http_get(harness_fmt("%s/profile/memory", srv->base));
    expect_profile(&r, NULL);
    cd = http_header(&r, "Content-Disposition");
    /* Named like the CPU alias's attachment (a quoted file name). */
    cr_expect(cd && strstr(cd, "attachment; filename=\"memory_profile_") && strstr(cd, ".prof\""),
              "Content-Disposition %s", cd ? cd : "(none)");
    free(cd);
    http_free(&r);

    r = http_get(harness_fmt("%s/profile/gc", srv->base));
    cr_assert_eq(r.status, 200, "%ld %s", r.status, r.body);
    json_error_t je;
    json_t *j = json_loads(r.body, 0, &je);
    cr_assert_not_null(j, "not JSON: %s", r.body);
    static const char *fields[] = {"Alloc", "TotalAlloc", "Sys",          "Mallocs",
                                   "Frees", "NumGC",      "HeapReleased", "Threads"};
    for (int k = 0; k < 2; k++) {
        json_t *m = json_object_get(j, k ? "after" : "before");
        cr_assert(json_is_object(m), "no before/after: %s", r.body);
        for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
            cr_expect(json_is_integer(json_object_get(m, fields[i])), "no %s", fields[i]);
    }
    cr_expect(json_integer_value(json_object_get(json_object_get(j, "after"), "NumGC")) >
                  json_integer_value(json_object_get(json_object_get(j, "before"), "NumGC")),
              "a purge counts as a GC: %s", r.body);
    cr_expect(json_is_integer(json_object_get(j, "took_ns")));
    json_decref(j);
    http_free(&r);
    stop();
}
