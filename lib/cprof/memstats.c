/* Memory statistics from jemalloc's mallctl (see include/cprof/memstats.h).
 *
 * Name lookups are the expensive part of mallctl (a string walk of the
 * control tree), so every name is translated to a MIB once (pthread_once)
 * and reads go through mallctlbymib with the per-class index patched in:
 * about 36 small bins + 196 large classes, two reads each, ~20 µs in all.
 *
 * jemalloc's statistics are a snapshot refreshed by writing "epoch"; the
 * refresh merges every arena under their locks, so cprof_memstats_read
 * refreshes at most once per REFRESH_NS across all callers (an atomic
 * timestamp; two racing callers may both refresh, which is harmless).
 *
 * Threads and open fds come from /proc/self/task and /proc/self/fd. */

#include "cprof/memstats.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cprof/heap_je.h"

#define REFRESH_NS 10000000LL
#define MIB_MAX 8

typedef struct mib {
    size_t v[MIB_MAX];
    size_t len;
} mib_t;

static struct {
    bool ok;
    unsigned nbins, nlextents;
    mib_t bin_size, bin_req, bin_cur;    /* index 2 (arenas.bin.<j>) / 4 */
    mib_t lext_size, lext_req, lext_cur; /* index 2 / 4 */
    mib_t allocated, active, mapped, resident, retained, metadata;
    mib_t dirty_npurge, muzzy_npurge, epoch;
    /* The class sizes never change: read once. */
    size_t *sizes; /* nbins + nlextents entries */
} je;

static pthread_once_t je_once = PTHREAD_ONCE_INIT;
static _Atomic int64_t last_refresh_ns = INT64_MIN / 2;

extern size_t __sanitizer_get_current_allocated_bytes(void) __attribute__((weak));

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static bool name_mib(const char *name, mib_t *m)
{
    m->len = MIB_MAX;
    return mallctlnametomib(name, m->v, &m->len) == 0;
}

#define ALL "4096" /* CPROF__JE_ARENAS_ALL */

static void je_init(void)
{
    if (!cprof__je_linked())
        return;
    size_t sz = sizeof(unsigned);
    if (mallctl("arenas.nbins", &je.nbins, &sz, NULL, 0) != 0 ||
        mallctl("arenas.nlextents", &je.nlextents, &sz, NULL, 0) != 0)
        return;
    bool ok = name_mib("arenas.bin.0.size", &je.bin_size) &&
              name_mib("stats.arenas." ALL ".bins.0.nrequests", &je.bin_req) &&
              name_mib("stats.arenas." ALL ".bins.0.curregs", &je.bin_cur) &&
              name_mib("arenas.lextent.0.size", &je.lext_size) &&
              name_mib("stats.arenas." ALL ".lextents.0.nrequests", &je.lext_req) &&
              name_mib("stats.arenas." ALL ".lextents.0.curlextents", &je.lext_cur) &&
              name_mib("stats.allocated", &je.allocated) && name_mib("stats.active", &je.active) &&
              name_mib("stats.mapped", &je.mapped) && name_mib("stats.resident", &je.resident) &&
              name_mib("stats.retained", &je.retained) &&
              name_mib("stats.metadata", &je.metadata) &&
              name_mib("stats.arenas." ALL ".dirty_npurge", &je.dirty_npurge) &&
              name_mib("stats.arenas." ALL ".muzzy_npurge", &je.muzzy_npurge) &&
              name_mib("epoch", &je.epoch);
    if (!ok)
        return;
    size_t n = (size_t)je.nbins + je.nlextents;
    /* Allocated once for the life of the process. */
    je.sizes = calloc(n, sizeof(size_t));
    if (!je.sizes)
        return;
    for (unsigned j = 0; j < je.nbins + je.nlextents; j++) {
        mib_t *m = j < je.nbins ? &je.bin_size : &je.lext_size;
        size_t mib[MIB_MAX];
        memcpy(mib, m->v, sizeof(mib));
        mib[2] = j < je.nbins ? j : j - je.nbins;
        sz = sizeof(size_t);
        if (mallctlbymib(mib, m->len, &je.sizes[j], &sz, NULL, 0) != 0)
            return;
    }
    je.ok = true;
}

static size_t read_size(const mib_t *m)
{
    size_t v = 0, sz = sizeof(v);
    if (mallctlbymib(m->v, m->len, &v, &sz, NULL, 0) != 0)
        return 0;
    return v;
}

static uint64_t read_u64(const mib_t *m)
{
    uint64_t v = 0;
    size_t sz = sizeof(v);
    if (mallctlbymib(m->v, m->len, &v, &sz, NULL, 0) != 0)
        return 0;
    return v;
}

/* Reads one per-class counter: mib index 4 is the class. */
static uint64_t read_class(const mib_t *m, unsigned j, size_t width)
{
    size_t mib[MIB_MAX];
    memcpy(mib, m->v, sizeof(mib));
    mib[4] = j;
    uint64_t v64 = 0;
    size_t vsz = 0, sz = width;
    void *p = width == sizeof(uint64_t) ? (void *)&v64 : (void *)&vsz;
    if (mallctlbymib(mib, m->len, p, &sz, NULL, 0) != 0)
        return 0;
    return width == sizeof(uint64_t) ? v64 : vsz;
}

static int64_t count_dir(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return -1;
    int64_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

static void refresh(bool force)
{
    int64_t now = mono_ns();
    int64_t last = atomic_load_explicit(&last_refresh_ns, memory_order_relaxed);
    if (!force && now - last < REFRESH_NS)
        return;
    atomic_store_explicit(&last_refresh_ns, now, memory_order_relaxed);
    uint64_t epoch = 1;
    size_t sz = sizeof(epoch);
    mallctlbymib(je.epoch.v, je.epoch.len, &epoch, &sz, &epoch, sz);
}

static int read_stats(cprof_memstats_t *out, bool now)
{
    memset(out, 0, sizeof(*out));
    out->threads = count_dir("/proc/self/task");
    out->open_fds = count_dir("/proc/self/fd");
    if (out->open_fds > 0)
        out->open_fds--; /* opendir's own descriptor */
    pthread_once(&je_once, je_init);
    if (!je.ok) {
        if (__sanitizer_get_current_allocated_bytes) {
            out->alloc = __sanitizer_get_current_allocated_bytes();
            out->source = "sanitizer";
        } else {
            out->source = "none";
        }
        return cprof__je_linked() ? -EIO : -ENOTSUP;
    }
    if (now)
        mallctl("thread.tcache.flush", NULL, NULL, NULL, 0);
    refresh(now);
    out->has_allocator = true;
    out->source = "jemalloc";
    out->alloc = read_size(&je.allocated);
    out->heap_inuse = read_size(&je.active);
    out->mapped = read_size(&je.mapped);
    out->resident = read_size(&je.resident);
    out->retained = read_size(&je.retained);
    out->metadata = read_size(&je.metadata);
    out->sys = out->mapped + out->metadata;
    out->num_gc = read_u64(&je.dirty_npurge) + read_u64(&je.muzzy_npurge);
    uint64_t live = 0;
    for (unsigned j = 0; j < je.nbins; j++) {
        uint64_t req = read_class(&je.bin_req, j, sizeof(uint64_t));
        out->mallocs += req;
        out->total_alloc += req * je.sizes[j];
        live += read_class(&je.bin_cur, j, sizeof(size_t));
    }
    for (unsigned j = 0; j < je.nlextents; j++) {
        uint64_t req = read_class(&je.lext_req, j, sizeof(uint64_t));
        out->mallocs += req;
        out->total_alloc += req * je.sizes[je.nbins + j];
        live += read_class(&je.lext_cur, j, sizeof(size_t));
    }
    out->frees = out->mallocs > live ? out->mallocs - live : 0;
    return 0;
}

int cprof_memstats_read(cprof_memstats_t *out) { return read_stats(out, false); }

int cprof_memstats_read_now(cprof_memstats_t *out) { return read_stats(out, true); }

int cprof_memstats_gc(cprof_memstats_t *before, cprof_memstats_t *after, int64_t *took_ns)
{
    cprof_memstats_t tmp;
    int err = read_stats(before ? before : &tmp, true);
    if (err < 0)
        goto out;
    int64_t t0 = mono_ns();
    mallctl("thread.tcache.flush", NULL, NULL, NULL, 0);
    if (mallctl("arena." ALL ".purge", NULL, NULL, NULL, 0) != 0) {
        err = -EIO;
        goto out;
    }
    if (took_ns)
        *took_ns = mono_ns() - t0;
    err = read_stats(after ? after : &tmp, true);
out:
    return err;
}
