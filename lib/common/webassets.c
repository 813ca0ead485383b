/* Serving the embedded browser assets.
 *
 * The table is generated at build time (web/embed.sh): each file is linked
 * in as read-only data with the assembler's .incbin, so a response is
 * MHD_RESPMEM_PERSISTENT over that memory: no copy, no file I/O, no path
 * from the request ever reaches the file system. The table is sorted by
 * path and searched with bsearch. Validators come precomputed from the
 * generator; responses carry Cache-Control: no-cache so a page never mixes
 * assets of two builds, at the cost of one cheap 304 per file on reload. */
#include "common/webassets.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DASHBOARD "/ui/index.html"
#define UI_PREFIX "/debug/pprof/ui"

static int cmp_path(const void *key, const void *elem)
{
    return strcmp(key, ((const webasset_t *)elem)->path);
}

const webasset_t *webassets_find(const char *path)
{
    char tmp[256];
    size_t n = strlen(path);
    if (n && path[n - 1] == '/') {
        if (n + sizeof("index.html") > sizeof(tmp))
            return NULL;
        memcpy(tmp, path, n);
        memcpy(tmp + n, "index.html", sizeof("index.html"));
        path = tmp;
    }
    return bsearch(path, webassets__table, webassets__count, sizeof(webasset_t), cmp_path);
}

static const struct {
    const char *ext;
    const char *type;
} types[] = {
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".wasm", "application/wasm"},
    {".json", "application/json"},
    {".woff2", "font/woff2"},
    {".txt", "text/plain; charset=utf-8"},
    {".md", "text/markdown; charset=utf-8"},
};

const char *webassets_content_type(const char *path)
{
    const char *dot = strrchr(path, '.');
    if (dot && !strchr(dot, '/'))
        for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
            if (strcmp(dot, types[i].ext) == 0)
                return types[i].type;
    return "application/octet-stream";
}

bool webassets_owns(const char *url)
{
    return strcmp(url, "/") == 0 || strncmp(url, "/ui/", 4) == 0 ||
           (strncmp(url, UI_PREFIX, sizeof(UI_PREFIX) - 1) == 0 &&
            (url[sizeof(UI_PREFIX) - 1] == '\0' || url[sizeof(UI_PREFIX) - 1] == '/'));
}

static enum MHD_Result respond_text(struct MHD_Connection *c, unsigned status, const char *msg,
                                    const char *h1, const char *v1)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(msg), (void *)msg, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
    if (h1)
        MHD_add_response_header(r, h1, v1);
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

enum MHD_Result webassets_respond(struct MHD_Connection *c, const char *method, const char *url)
{
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return respond_text(c, 405, "method not allowed; allowed: GET, HEAD\n",
                            MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    if (strcmp(url, UI_PREFIX) == 0)
        return respond_text(c, 301, "moved to " UI_PREFIX "/\n", MHD_HTTP_HEADER_LOCATION,
                            UI_PREFIX "/");
    const webasset_t *a = webassets_find(strcmp(url, "/") == 0 ? DASHBOARD : url);
    if (!a)
        return respond_text(c, 404, "not found\n", NULL, NULL);

    const char *inm =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH);
    bool fresh = inm && strstr(inm, a->etag) != NULL;
    struct MHD_Response *r =
        fresh ? MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT)
              : MHD_create_response_from_buffer(a->len, (void *)a->data, MHD_RESPMEM_PERSISTENT);
    if (!fresh)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, webassets_content_type(a->path));
    MHD_add_response_header(r, MHD_HTTP_HEADER_ETAG, a->etag);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    enum MHD_Result ret = MHD_queue_response(c, fresh ? 304 : 200, r);
    MHD_destroy_response(r);
    return ret;
}
