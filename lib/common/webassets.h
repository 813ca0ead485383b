#ifndef COMMON_WEBASSETS_H
#define COMMON_WEBASSETS_H

/* The browser assets embedded in the binaries: the live dashboard (web/
 * dashboard, with uPlot) and speedscope's flame-graph viewer, both from
 * web/node_modules at build time (web/embed.sh, mk/web.mk). They are served
 * from memory, so `make run` works from any directory, an installed binary
 * needs no files beside it, and the pages always match the binary that
 * serves them; nothing is fetched at run time.
 *
 * URL layout (the same in every binary that serves them):
 *   /                    the dashboard (/ui/index.html)
 *   /ui/...              dashboard scripts and styles, uPlot at /ui/uplot/
 *   /debug/pprof/ui/     speedscope; open a profile with
 *                        /debug/pprof/ui/#profileURL=<url-encoded URL>
 *
 * The data is static and read-only: every function is thread-safe. */

#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>

/* speedscope's page, for cprof_http_set_flamegraph_viewer. */
#define WEBASSETS_FLAMEGRAPH "/debug/pprof/ui/"

typedef struct webasset {
    const char *path;          /* URL path, e.g. "/ui/dashboard.js" */
    const unsigned char *data; /* static; a NUL follows the last byte */
    size_t len;
    const char *etag; /* quoted strong validator (CRC and size) */
} webasset_t;

/* The asset at an exact URL path; a path ending in '/' means its
 * index.html. NULL when there is none. */
const webasset_t *webassets_find(const char *path);

/* Content-Type for a file name by its extension (html, js, css, svg, png,
 * ico, wasm, json, woff2, txt, md; anything else application/octet-stream). */
const char *webassets_content_type(const char *path);

/* True for the URLs webassets_respond serves: "/", "/ui/..." and
 * "/debug/pprof/ui" (with or without anything after it). */
bool webassets_owns(const char *url);

/* Answers a request for url (one webassets_owns accepts) from the embedded
 * assets: 200 with Content-Type, ETag and Cache-Control: no-cache (the
 * browser revalidates, a matching If-None-Match gets 304),
 * 301 from "/debug/pprof/ui" to "/debug/pprof/ui/" (speedscope loads its
 * files relative to the page), 405 for methods other than GET and HEAD,
 * 404 for unknown files. For libmicrohttpd's access handler. */
enum MHD_Result webassets_respond(struct MHD_Connection *c, const char *method, const char *url);

/* The generated table (web/embed.sh), sorted by path. */
extern const webasset_t webassets__table[];
extern const size_t webassets__count;

#endif
