/* heap_ratio: a known allocation pattern for the heap e2e test.
 *
 *   heap_ratio OUTDIR [RATE]
 *
 * ratio_three allocates three times the bytes ratio_one does; ratio_three's
 * objects are freed, ratio_one's stay live. Then it writes OUTDIR/heap.txt
 * (legacy text, debug=1). The test reads them with go tool pprof: alloc_space
 * shows both functions 3:1, inuse_space only ratio_one. Then delta_fresh
 * allocates (and frees) as much as ratio_one inside the window of a
 * /debug/pprof/allocs?seconds=2 request served by cprof's HTTP layer (its
 * first snapshot is taken before cprof_http_serve returns, the second two
 * seconds later on a cprof-http thread), and OUTDIR/delta.pb.gz is that
 * response: only delta_fresh, no earlier allocation.
 * Also OUTDIR/heap.pb.gz and allocs.pb.gz (profile.proto, the same data
 * with inuse_space / alloc_space as the default sample type). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cprof/heap.h"
#include "cprof/http.h"
#include "cprof/memstats.h"

#define UNIT (64u << 20) /* ratio_one's bytes */
#define OBJ 8000

static void *live[UNIT / OBJ + 1];

__attribute__((noinline)) void ratio_three(void)
{
    for (size_t i = 0; i < 3 * (UNIT / OBJ); i++) {
        void *p = malloc(OBJ);
        __asm__ volatile("" ::"r"(p) : "memory");
        free(p);
    }
}

__attribute__((noinline)) void ratio_one(void)
{
    for (size_t i = 0; i < UNIT / OBJ; i++) {
        live[i] = malloc(OBJ);
        __asm__ volatile("" ::"r"(live[i]) : "memory");
    }
}

static int write_pprof(const char *dir, const char *name, const cprof_heap_t *h, bool allocs)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        return -errno;
    int rc = cprof_heap_write_pprof(h, allocs, f);
    if (fclose(f) != 0 && rc == 0)
        rc = -errno;
    return rc;
}

__attribute__((noinline)) void delta_fresh(void)
{
    for (size_t i = 0; i < UNIT / OBJ; i++) {
        void *p = malloc(OBJ);
        __asm__ volatile("" ::"r"(p) : "memory");
        free(p);
    }
}

/* The delta endpoint around delta_fresh, its body saved as NAME. */
static int write_delta(const char *dir, const char *name)
{
    cprof_http_response_t *r = NULL;
    int rc = cprof_http_serve("GET", "/debug/pprof/allocs", "seconds=2", NULL, 0, &r);
    if (rc == 0)
        delta_fresh();
    int fd = rc == 0 ? cprof_http_response_fd(r) : -1;
    while (fd >= 0 && !cprof_http_response_ready(r)) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, -1) < 0 && errno != EINTR) {
            rc = -errno;
            break;
        }
    }
    if (rc == 0 && cprof_http_response_status(r) != 200) {
        fprintf(stderr, "heap_ratio: delta answered %d\n", cprof_http_response_status(r));
        rc = -EIO;
    }
    size_t len = 0;
    const void *body = rc == 0 ? cprof_http_response_body(r, &len) : NULL;
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = rc == 0 ? fopen(path, "w") : NULL;
    if (rc == 0 && !f)
        rc = -errno;
    if (f && fwrite(body, 1, len, f) != len)
        rc = -EIO;
    if (f && fclose(f) != 0 && rc == 0)
        rc = -errno;
    cprof_http_response_free(r);
    return rc;
}

static int write_text(const char *dir, const char *name, const cprof_heap_t *h)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        return -errno;
    cprof_memstats_t ms;
    cprof_memstats_read_now(&ms);
    int rc = cprof_heap_write_text(h, &ms, f);
    if (fclose(f) != 0 && rc == 0)
        rc = -errno;
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: heap_ratio OUTDIR [RATE]\n");
        return 2;
    }
    const char *why = cprof_heap_unavailable();
    if (why) {
        fprintf(stderr, "heap_ratio: %s\n", why);
        return 77;
    }
    size_t rate = argc > 2 ? strtoull(argv[2], NULL, 10) : 65536;
    int rc = cprof_heap_start(rate);
    if (rc == 0) {
        ratio_three();
        ratio_one();
        cprof_heap_t *h = NULL;
        rc = cprof_heap_snapshot(&h);
        if (rc == 0)
            rc = write_text(argv[1], "heap.txt", h);
        if (rc == 0)
            rc = write_pprof(argv[1], "heap.pb.gz", h, false);
        if (rc == 0)
            rc = write_pprof(argv[1], "allocs.pb.gz", h, true);
        cprof_heap_free(h);
        /* A delta over delta_fresh's allocations only. */
        if (rc == 0)
            rc = write_delta(argv[1], "delta.pb.gz");
    }
    if (rc != 0) {
        fprintf(stderr, "heap_ratio: %s\n", strerror(-rc));
        return 1;
    }
    for (size_t i = 0; i < UNIT / OBJ; i++)
        free(live[i]);
    return 0;
}
