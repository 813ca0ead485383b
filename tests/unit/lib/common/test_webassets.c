/* lib/common/webassets: the embedded table, lookups and content types. */
#include <criterion/criterion.h>
#include <string.h>

#include "common/webassets.h"

Test(webassets, table_is_sorted_and_every_row_is_found)
{
    cr_assert_gt(webassets__count, 5, "expected the dashboard, uPlot and speedscope, got %zu",
                 webassets__count);
    for (size_t i = 0; i < webassets__count; i++) {
        const webasset_t *a = &webassets__table[i];
        if (i)
            cr_assert_lt(strcmp(webassets__table[i - 1].path, a->path), 0, "%s before %s",
                         webassets__table[i - 1].path, a->path);
        cr_assert_eq(webassets_find(a->path), a, "find(%s)", a->path);
        cr_assert_eq(a->data[a->len], '\0', "%s is not NUL-terminated", a->path);
        cr_assert(a->etag[0] == '"' && a->etag[strlen(a->etag) - 1] == '"', "etag %s", a->etag);
    }
}

Test(webassets, dashboard_uplot_and_speedscope_are_embedded)
{
    const webasset_t *d = webassets_find("/ui/index.html");
    cr_assert_not_null(d);
    cr_assert(strstr((const char *)d->data, "/ui/dashboard.js"), "dashboard page loads its script");
    cr_assert_eq(webassets_find("/ui/"), d, "a directory means its index.html");
    cr_assert_not_null(webassets_find("/ui/dashboard.js"));
    cr_assert_not_null(webassets_find("/ui/dashboard.css"));
    cr_assert_not_null(webassets_find("/ui/uplot/uPlot.iife.min.js"));
    cr_assert_not_null(webassets_find("/ui/uplot/uPlot.min.css"));
    const webasset_t *s = webassets_find("/debug/pprof/ui/");
    cr_assert_not_null(s, "speedscope's index.html");
    cr_assert(strstr((const char *)s->data, "speedscope"), "speedscope page: %s", s->data);
}

Test(webassets, unknown_and_traversal_paths_are_not_found)
{
    cr_assert_null(webassets_find("/ui/nope.js"));
    cr_assert_null(webassets_find("/ui/../ui/index.html"));
    cr_assert_null(webassets_find("/ui//index.html"));
    cr_assert_null(webassets_find(""));
    char longpath[400];
    memset(longpath, 'a', sizeof(longpath) - 2);
    longpath[0] = '/';
    longpath[sizeof(longpath) - 2] = '/';
    longpath[sizeof(longpath) - 1] = '\0';
    cr_assert_null(webassets_find(longpath));
}

Test(webassets, content_types)
{
    cr_assert_str_eq(webassets_content_type("/a/b.html"), "text/html; charset=utf-8");
    cr_assert_str_eq(webassets_content_type("x.js"), "text/javascript; charset=utf-8");
    cr_assert_str_eq(webassets_content_type("x.css"), "text/css; charset=utf-8");
    cr_assert_str_eq(webassets_content_type("x.svg"), "image/svg+xml");
    cr_assert_str_eq(webassets_content_type("x.png"), "image/png");
    cr_assert_str_eq(webassets_content_type("x.wasm"), "application/wasm");
    cr_assert_str_eq(webassets_content_type("x.json"), "application/json");
    cr_assert_str_eq(webassets_content_type("x.woff2"), "font/woff2");
    cr_assert_str_eq(webassets_content_type("noext"), "application/octet-stream");
    cr_assert_str_eq(webassets_content_type("/dir.js/file"), "application/octet-stream");
}

Test(webassets, owns)
{
    cr_assert(webassets_owns("/"));
    cr_assert(webassets_owns("/ui/x.js"));
    cr_assert(webassets_owns("/debug/pprof/ui"));
    cr_assert(webassets_owns("/debug/pprof/ui/"));
    cr_assert(webassets_owns("/debug/pprof/ui/speedscope.js"));
    cr_assert_not(webassets_owns("/debug/pprof/uix"));
    cr_assert_not(webassets_owns("/debug/pprof/"));
    cr_assert_not(webassets_owns("/ui"));
    cr_assert_not(webassets_owns("/stats"));
}
